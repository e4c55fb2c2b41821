//! `cairn bench node`: throughput and latency through a running node (JSON report), plus the
//! cost of building a full block natively and through the stage components, against the slot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use cairn_engine::{Engine, EngineConfig, Pipeline, Stage, TxOutcome};
use cairn_protocol::tx::{PublicCall, Tx};
use cairn_protocol::vm::contracts::{sel, COUNTER_ADDRESS};
use clap::Args;
use serde_json::{json, Value};

use super::l1::print_json;
use super::wallet::{build_with, head_and_fees, rpc, send, transfer_call, RpcArg};

/// Flags of `cairn bench node`.
#[derive(Args)]
pub struct BenchNodeArgs {
    #[command(flatten)]
    rpc: RpcArg,
    /// Txs to push through the node.
    #[arg(long, default_value_t = 1000)]
    txs: usize,
    /// Devnet accounts to send from.
    #[arg(long, default_value_t = 16)]
    accounts: usize,
    /// Give up waiting for receipts after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Txs in the offline full-block build measurement (the node's --max-txs-per-block).
    #[arg(long = "block-txs", default_value_t = 512)]
    block_txs: usize,
    #[command(flatten)]
    modules: super::pipeline::ModulesArg,
    /// A stage component to hot-swap into the node while the txs stream in (for example the
    /// v1.1.0 public-execution stage from scripts/build-modules.sh), through the admin API.
    #[arg(long = "swap-module", value_name = "FILE", requires = "admin_url")]
    swap_module: Option<PathBuf>,
    /// The stage --swap-module is for.
    #[arg(long = "swap-stage", default_value = "public-execution", value_parser = super::pipeline::stage_arg)]
    swap_stage: Stage,
    /// The node's admin API (for --swap-module).
    #[arg(long = "admin-url")]
    admin_url: Option<String>,
    /// The admin API key.
    #[arg(
        long = "admin-api-key",
        env = "CAIRN_ADMIN_API_KEY",
        hide_env_values = true
    )]
    admin_key: Option<String>,
    /// Slot duration of the network (seconds), for the block-time share.
    #[arg(long = "slot-seconds", default_value_t = 12)]
    slot_seconds: u64,
    /// Also write the report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn metric(url: &str, name: &str) -> Option<f64> {
    let text = ureq::get(&format!("{url}/metrics"))
        .call()
        .ok()?
        .into_string()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.trim().parse().ok()))
}

/// Builds a block of `n` txs through `pipeline` three times: the median time and the
/// outcomes. A module fault fails the measurement (the native twin would have answered).
fn build_block(pipeline: &Pipeline, n: usize) -> Result<(Duration, Vec<TxOutcome>)> {
    let s = cairn_zk::scenario::Scenario::new(32);
    let txs: Vec<Vec<u8>> = s.public_mix(n);
    let st: Arc<dyn cairn_protocol::stages::StateView + Send + Sync> = Arc::new(s.state.clone());
    let mut times = Vec::new();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = pipeline.process_block(st.clone(), &s.context(), &txs);
        times.push(t.elapsed());
        if let Some((stage, m, f)) = out.faults.first() {
            bail!("{stage} ({m}) faulted while building the block: {f}");
        }
        if !outcomes.is_empty() && outcomes != out.txs {
            bail!("the same block built twice gave different results");
        }
        outcomes = out.txs;
    }
    times.sort();
    Ok((times[1], outcomes))
}

/// One admin JSON-RPC call.
fn admin(url: &str, key: Option<&str>, method: &str, params: Value) -> Result<Value> {
    let mut req = ureq::post(url);
    if let Some(k) = key {
        req = req.set("x-api-key", k);
    }
    let v: Value = req
        .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .with_context(|| format!("{method} on {url}"))?
        .into_json()?;
    match v.get("error") {
        Some(e) => bail!("{method}: {e}"),
        None => Ok(v["result"].clone()),
    }
}

/// The node's stage modules (`node_getNodeInfo`): stage → (module, first block it ran for).
fn node_stages(url: &str) -> Result<BTreeMap<String, (String, Option<u64>)>> {
    let info = rpc(url, "node_getNodeInfo", json!([]))?;
    Ok(info["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s["stage"].as_str()?.to_string(),
                (s["module"].as_str()?.to_string(), s["sinceBlock"].as_u64()),
            ))
        })
        .collect())
}

/// Sum of `cairn_pipeline_native_fallbacks_total` over the stages.
fn fallbacks(url: &str) -> Result<f64> {
    let text = ureq::get(&format!("{url}/metrics"))
        .call()
        .context("/metrics")?
        .into_string()?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("cairn_pipeline_native_fallbacks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// A hot swap as an operator does it: the file sent to the admin API, load and self-check
/// until the call returns, activation at the next block boundary, and that block landing.
struct Swap {
    file: PathBuf,
    stage: String,
    module: String,
    requested: Instant,
    call_ms: f64,
    report: Value,
    activated_block: Option<u64>,
    first_block_landed_ms: Option<f64>,
}

impl Swap {
    fn start(
        admin_url: &str,
        key: Option<&str>,
        stage: Stage,
        file: &std::path::Path,
    ) -> Result<Swap> {
        // The node reads the file itself, as an operator's call would have it do.
        let file = file
            .canonicalize()
            .with_context(|| format!("cannot read {}", file.display()))?;
        let requested = Instant::now();
        let report = admin(
            admin_url,
            key,
            "nodeAdmin_loadModule",
            json!([stage.name(), file.display().to_string()]),
        )?;
        Ok(Swap {
            file,
            stage: stage.name().to_string(),
            module: report["module"].as_str().unwrap_or_default().to_string(),
            call_ms: requested.elapsed().as_secs_f64() * 1e3,
            requested,
            report,
            activated_block: None,
            first_block_landed_ms: None,
        })
    }

    /// Checks whether the swapped module has built a block that is now on L1.
    fn poll(&mut self, url: &str) -> Result<()> {
        if self.first_block_landed_ms.is_some() {
            return Ok(());
        }
        if self.activated_block.is_none() {
            if let Some((m, since)) = node_stages(url)?.get(&self.stage) {
                if *m == self.module {
                    self.activated_block = *since;
                }
            }
        }
        if let Some(b) = self.activated_block {
            let tip = rpc(url, "node_getBlockNumber", json!([]))?
                .as_u64()
                .unwrap_or(0);
            if tip >= b {
                self.first_block_landed_ms = Some(self.requested.elapsed().as_secs_f64() * 1e3);
            }
        }
        Ok(())
    }

    fn json(&self) -> Value {
        json!({
            "file": self.file.display().to_string(),
            "stage": self.stage,
            "module": self.module,
            "adminCallMs": self.call_ms,
            "loadMs": self.report["loadMs"],
            "selfCheckMs": self.report["selfCheckMs"],
            "activatedAtBlock": self.activated_block,
            "requestToFirstBlockOnL1Ms": self.first_block_landed_ms,
        })
    }
}

/// The chain's rate while the node had more txs than a block takes, against the L1 data
/// ceiling (the txs of this mix that one checkpoint's six blobs carry, per slot). The window
/// is the blocks holding benchmark txs but the first (the ramp: txs still arriving, and the
/// builder's first block after a start is untimed) and the last (it takes what was left);
/// every slot of the window counts, built or missed.
fn at_ceiling(
    url: &str,
    txs: &[Tx],
    sent: &BTreeMap<String, Instant>,
    slot_s: u64,
) -> Result<Value> {
    // The benchmark's txs in turn, just past what six blobs carry.
    let mut bytes = 0;
    let bodies: Vec<Vec<u8>> = txs
        .iter()
        .cycle()
        .map(Tx::encode)
        .take_while(|b| {
            let fits = bytes <= cairn_consensus::blob::MAX_PAYLOAD_LEN;
            bytes += 4 + b.len();
            fits
        })
        .collect();
    let per_block = cairn_node::chain::txs_fitting_blobs(0, &bodies);
    let ceiling = per_block as f64 / slot_s as f64;
    let tip = rpc(url, "node_getBlockNumber", json!([]))?
        .as_u64()
        .unwrap_or(0);
    let mut blocks = Vec::new();
    for n in (1..=tip).rev() {
        let b = rpc(url, "node_getBlock", json!([n]))?;
        let ours = b["txHashes"]
            .as_array()
            .map(|h| {
                h.iter()
                    .filter(|h| h.as_str().is_some_and(|h| sent.contains_key(h)))
                    .count()
            })
            .unwrap_or(0);
        if ours == 0 {
            if !blocks.is_empty() {
                break;
            }
            continue;
        }
        blocks.push((
            n,
            b["slot"].as_u64().unwrap_or(0),
            b["txCount"].as_u64().unwrap_or(0),
        ));
    }
    blocks.reverse();
    let window = blocks.get(1..blocks.len().saturating_sub(1)).unwrap_or(&[]);
    let sustained = match (window.first(), window.last()) {
        (Some(first), Some(last)) => {
            let slots = last.1.saturating_sub(first.1) + 1;
            let txs: u64 = window.iter().map(|b| b.2).sum();
            Some(txs as f64 / (slots * slot_s) as f64)
        }
        _ => None,
    };
    Ok(json!({
        "txsPerBlockAtBlobLimit": per_block,
        "ceilingTxPerSec": ceiling,
        "sustainedTxPerSec": sustained,
        "percentOfCeiling": sustained.map(|s| s / ceiling * 100.0),
        "goal80PercentMet": sustained.map(|s| s >= 0.8 * ceiling),
        "blocks": blocks.iter().map(|(n, slot, txs)| json!({"number": n, "slot": slot, "txs": txs})).collect::<Vec<_>>(),
    }))
}

/// Receipts asked for per poll (in batches of 100, the node's limit).
const RECEIPTS_PER_POLL: usize = 1000;

/// Runs `cairn bench node`.
pub fn bench_node(a: BenchNodeArgs) -> Result<()> {
    if a.accounts < 2 || a.txs == 0 {
        bail!("need --accounts ≥ 2 and --txs ≥ 1");
    }
    let url = a.rpc.url.clone();
    let stages_before = node_stages(&url)?;
    let fallbacks_before = fallbacks(&url)?;
    eprintln!("bench node: building {} txs …", a.txs);
    let (head, fees) = head_and_fees(&url)?;
    let salt0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 1000
        * 100;
    let txs = (0..a.txs)
        .map(|i| {
            let from = i % a.accounts;
            let call = if i % 2 == 0 {
                transfer_call((from + 1) % a.accounts, 1)
            } else {
                PublicCall {
                    contract: cairn_zk::scenario::addr(COUNTER_ADDRESS),
                    selector: sel::INCREMENT,
                    args: vec![],
                }
            };
            build_with(&head, &fees, from, vec![call], salt0 + i as u64)
        })
        .collect::<Result<Vec<_>>>()?;
    let misses_before = metric(&url, "cairn_sequencer_block_deadline_misses_total");
    eprintln!("bench node: sending …");
    let start = Instant::now();
    let mut sent: BTreeMap<String, Instant> = BTreeMap::new();
    let mut rejected = 0usize;
    let mut swap = None;
    for (i, tx) in txs.iter().enumerate() {
        // Mid-stream: the swap happens while txs are arriving and blocks are being built.
        if i == txs.len() / 2 {
            if let (Some(file), Some(admin_url)) = (&a.swap_module, &a.admin_url) {
                eprintln!("bench node: hot-swapping {} …", file.display());
                swap = Some(Swap::start(
                    admin_url,
                    a.admin_key.as_deref(),
                    a.swap_stage,
                    file,
                )?);
            }
        }
        match send(&url, tx) {
            Ok(h) => {
                sent.insert(h, Instant::now());
            }
            Err(e) => {
                rejected += 1;
                if rejected <= 3 {
                    eprintln!("bench node: rejected: {e:#}");
                }
            }
        }
    }
    let submit_secs = start.elapsed().as_secs_f64();
    eprintln!("bench node: waiting for receipts …");
    let mut included: BTreeMap<String, f64> = BTreeMap::new();
    let mut dropped = 0usize;
    let (mut max_build_ms, mut max_checkpoint_ms): (f64, f64) = (0.0, 0.0);
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let mut last_inclusion = start;
    while included.len() + dropped < sent.len() && Instant::now() < deadline {
        let waiting: Vec<String> = sent
            .keys()
            .filter(|h| !included.contains_key(*h))
            .take(RECEIPTS_PER_POLL)
            .cloned()
            .collect();
        // The node takes batches of up to 100 calls.
        let mut answers = Vec::new();
        for (c, chunk) in waiting.chunks(100).enumerate() {
            let batch: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| json!({"jsonrpc": "2.0", "id": c * 100 + i, "method": "node_getTxReceipt", "params": [h]}))
                .collect();
            let got: Value = ureq::post(&url)
                .send_json(Value::Array(batch))
                .context("receipts")?
                .into_json()?;
            match got {
                Value::Array(a) => answers.extend(a),
                other => bail!("the node refused a batch of receipt calls: {other}"),
            }
        }
        let now = Instant::now();
        for ans in answers {
            let i = ans["id"].as_u64().unwrap_or(u64::MAX) as usize;
            let Some(h) = waiting.get(i) else { continue };
            match ans["result"]["status"].as_str() {
                Some("checkpointed") => {
                    let t0 = sent[h];
                    included.insert(h.clone(), (now - t0).as_secs_f64());
                    last_inclusion = now;
                }
                Some("dropped") => {
                    dropped += 1;
                    included.insert(h.clone(), f64::NAN);
                }
                _ => {}
            }
        }
        if let Some(b) = metric(&url, "cairn_sequencer_block_build_seconds") {
            max_build_ms = max_build_ms.max(b * 1000.0);
        }
        if let Some(b) = metric(&url, "cairn_sequencer_checkpoint_build_seconds") {
            max_checkpoint_ms = max_checkpoint_ms.max(b * 1000.0);
        }
        if let Some(sw) = swap.as_mut() {
            sw.poll(&url)?;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut lat: Vec<f64> = included
        .values()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    let n_incl = lat.len();
    let span = (last_inclusion - start).as_secs_f64().max(1e-9);
    let swap_deadline = Instant::now() + Duration::from_secs(a.timeout);
    while let Some(sw) = swap.as_mut() {
        sw.poll(&url)?;
        if sw.first_block_landed_ms.is_some() || Instant::now() > swap_deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let ceiling = at_ceiling(&url, &txs, &sent, a.slot_seconds)?;
    let fallbacks_during = fallbacks(&url)? - fallbacks_before;
    // Offline: the same full block through the native stages and through the components; the
    // outcomes must be identical, and the overhead is against native for the same work.
    let engine = Arc::new(Engine::new(EngineConfig::default())?);
    let s = cairn_zk::scenario::Scenario::new(4);
    let check: Vec<Vec<u8>> = vec![s.transfer(0, 1, 1, 0).encode()];
    let native = Pipeline::new(
        engine.clone(),
        Arc::new(s.state.clone()),
        s.context(),
        check.clone(),
    );
    let wasm = Pipeline::new(engine, Arc::new(s.state.clone()), s.context(), check);
    for st in [Stage::Validation, Stage::Proofs, Stage::Execution] {
        wasm.load(st, &a.modules.component(st)?)
            .map_err(|e| anyhow!("{st} component: {e}"))?;
    }
    wasm.block_boundary();
    let (native_t, native_out) = build_block(&native, a.block_txs)?;
    let (wasm_t, wasm_out) = build_block(&wasm, a.block_txs)?;
    if native_out != wasm_out {
        bail!("the components and the native stages built different blocks");
    }
    let (native_ms, wasm_ms) = (native_t.as_secs_f64() * 1e3, wasm_t.as_secs_f64() * 1e3);
    let slot_ms = a.slot_seconds as f64 * 1e3;
    let components = stages_before.values().all(|(m, _)| m != "native");
    let report = json!({
        "commit": env!("CAIRN_COMMIT"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "method": {
            "txsOffered": a.txs,
            "offeredAs": "all at once, one node_sendTx each, then receipts polled (up to 1000, in batches of 100) every 250 ms",
            "accounts": a.accounts,
            "nodeStages": stages_before.iter().map(|(s, (m, _))| json!({"stage": s, "module": m})).collect::<Vec<_>>(),
            "nodeRanComponents": components,
            "nativeFallbacksDuringRun": fallbacks_during,
        },
        "node": {
            "txs": a.txs,
            "accepted": sent.len(),
            "rejectedAtSubmit": rejected,
            "included": n_incl,
            "dropped": dropped,
            "submitSeconds": submit_secs,
            "submitTxPerSec": sent.len() as f64 / submit_secs.max(1e-9),
            "firstSendToLastInclusionSeconds": span,
            "sustainedTxPerSec": n_incl as f64 / span,
            "submitToReceiptSeconds": {"p50": percentile(&lat, 0.5), "p95": percentile(&lat, 0.95), "max": percentile(&lat, 1.0)},
            "maxBlockBuildMs": max_build_ms,
            "maxCheckpointBuildMs": max_checkpoint_ms,
            "blockDeadlineMisses": misses_before.zip(metric(&url, "cairn_sequencer_block_deadline_misses_total")).map(|(a, b)| b - a),
        },
        "atCeiling": ceiling,
        "hotSwap": swap.as_ref().map(Swap::json),
        "fullBlock": {
            "txs": a.block_txs,
            "nativeBuildMs": native_ms,
            "wasmBuildMs": wasm_ms,
            "outcomesIdentical": true,
            "wasmOverheadPercent": (wasm_ms / native_ms - 1.0) * 100.0,
            "slotMs": slot_ms,
            "wasmBuildShareOfSlotPercent": wasm_ms / slot_ms * 100.0,
            "goalWellInsideSlot": wasm_ms < slot_ms / 4.0,
        },
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if fallbacks_during > 0.0 {
        bail!("{fallbacks_during} stage calls fell back to native code during the run: the figures above do not measure the components");
    }
    if let Some(sw) = &swap {
        if sw.first_block_landed_ms.is_none() {
            bail!("the swapped module never built a block that landed");
        }
    }
    // Fail loudly on a node that took nothing in.
    if n_incl == 0 {
        bail!(
            "no tx was included within {} s; is the node proposing? ({})",
            a.timeout,
            rpc(&url, "node_getL2Tips", json!([]))?
        );
    }
    Ok(())
}
