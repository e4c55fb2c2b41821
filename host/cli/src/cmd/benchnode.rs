//! `cairn bench node`: throughput and latency through a running node (JSON report), plus the
//! cost of building a full block natively and through the stage components, against the slot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use cairn_engine::{Engine, EngineConfig, Pipeline, Stage};
use cairn_protocol::tx::PublicCall;
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
    /// Stage components for the offline measurement (default: skip the wasm figure).
    #[arg(long)]
    modules: Option<PathBuf>,
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

/// Builds a block of `n` txs through `pipeline`, returning the time (median of 3).
fn build_block(pipeline: &Pipeline, n: usize) -> Duration {
    let s = cairn_zk::scenario::Scenario::new(32);
    let txs: Vec<Vec<u8>> = s.public_mix(n);
    let st: Arc<dyn cairn_protocol::stages::StateView + Send + Sync> = Arc::new(s.state.clone());
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let _ = pipeline.process_block(st.clone(), &s.context(), &txs);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

/// Runs `cairn bench node`.
pub fn bench_node(a: BenchNodeArgs) -> Result<()> {
    if a.accounts < 2 || a.txs == 0 {
        bail!("need --accounts ≥ 2 and --txs ≥ 1");
    }
    let url = a.rpc.url.clone();
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
    eprintln!("bench node: sending …");
    let start = Instant::now();
    let mut sent: BTreeMap<String, Instant> = BTreeMap::new();
    let mut rejected = 0usize;
    for tx in &txs {
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
    let mut max_build_ms: f64 = 0.0;
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let mut last_inclusion = start;
    while included.len() + dropped < sent.len() && Instant::now() < deadline {
        let waiting: Vec<String> = sent
            .keys()
            .filter(|h| !included.contains_key(*h))
            .take(100)
            .cloned()
            .collect();
        let batch: Vec<Value> = waiting
            .iter()
            .enumerate()
            .map(|(i, h)| json!({"jsonrpc": "2.0", "id": i, "method": "node_getTxReceipt", "params": [h]}))
            .collect();
        let answers: Value = ureq::post(&url)
            .send_json(Value::Array(batch))
            .context("receipts")?
            .into_json()?;
        let now = Instant::now();
        for ans in answers.as_array().cloned().unwrap_or_default() {
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
        if let Some(b) = metric(&url, "cairn_sequencer_block_build_ms") {
            max_build_ms = max_build_ms.max(b);
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
    // Offline: a full block through the pipeline, natively and through the components.
    let engine = Arc::new(Engine::new(EngineConfig::default())?);
    let s = cairn_zk::scenario::Scenario::new(4);
    let check: Vec<Vec<u8>> = vec![s.transfer(0, 1, 1, 0).encode()];
    let native = Pipeline::new(
        engine.clone(),
        Arc::new(s.state.clone()),
        s.context(),
        check.clone(),
    );
    let native_ms = build_block(&native, a.block_txs).as_secs_f64() * 1e3;
    let wasm_ms = match &a.modules {
        Some(dir) => {
            let p = Pipeline::new(engine, Arc::new(s.state.clone()), s.context(), check);
            for st in [Stage::Validation, Stage::Proofs, Stage::Execution] {
                let f = dir.join(format!("{}.wasm", st.name()));
                let bytes =
                    std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
                p.load(st, &bytes)
                    .map_err(|e| anyhow!("{}: {e}", f.display()))?;
            }
            p.block_boundary();
            Some(build_block(&p, a.block_txs).as_secs_f64() * 1e3)
        }
        None => None,
    };
    let slot_ms = a.slot_seconds as f64 * 1e3;
    let report = json!({
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
        },
        "fullBlock": {
            "txs": a.block_txs,
            "nativeBuildMs": native_ms,
            "wasmBuildMs": wasm_ms,
            "slotMs": slot_ms,
            "buildShareOfSlotPercent": wasm_ms.unwrap_or(native_ms) / slot_ms * 100.0,
            "wasmOverheadOfSlotPercent": wasm_ms.map(|w| (w - native_ms) / slot_ms * 100.0),
            "goalWellInsideSlot": wasm_ms.unwrap_or(native_ms) < slot_ms / 4.0,
            "goalWasmOverheadUnder10PercentOfSlot": wasm_ms.map(|w| (w - native_ms) / slot_ms < 0.10),
        },
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
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
