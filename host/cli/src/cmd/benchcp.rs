//! `cairn bench checkpoints`: what several blocks per checkpoint buy a user. Starts its own
//! devnets (one node holding every validator), one building a block every `--block-duration`
//! and one building one block per checkpoint (the baseline), offers both the same fixed load,
//! well below capacity, and reports submit → proposed and submit → checkpointed latency.
//! Receipts are polled every `--poll-ms`, which bounds the latencies' resolution. Run by hand
//! (release build); CI does not run it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Value};

use super::benchnet::{percentile, statuses, txs, Devnet};
use super::l1::print_json;
use super::wallet::{rpc, send};

/// Flags of `cairn bench checkpoints`.
#[derive(Args)]
pub struct BenchCheckpointsArgs {
    /// The block duration of the multi-block devnet (ms).
    #[arg(long = "block-duration", default_value_t = 2000)]
    block_duration_ms: u64,
    /// Offered load, txs per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// How long the load is offered (s).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Validators (all on the one node).
    #[arg(long, default_value_t = 4)]
    validators: u16,
    /// Genesis accounts to send from.
    #[arg(long, default_value_t = 16)]
    accounts: usize,
    /// Receipt polling interval (ms).
    #[arg(long = "poll-ms", default_value_t = 100)]
    poll_ms: u64,
    /// First of the ports the devnets use (L1, then +100 JSON-RPC, +200 admin, +300 p2p).
    #[arg(long = "base-port", default_value_t = 19500)]
    base_port: u16,
    /// Give up waiting for receipts after this many seconds past the load.
    #[arg(long, default_value_t = 180)]
    timeout: u64,
    /// Also write the report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Directory holding the L1 tools (as for `cairn devnet up`).
    #[arg(long = "tools-dir", env = "CAIRN_TOOLS_DIR")]
    tools_dir: Option<PathBuf>,
}

/// One tx's timeline: when it was sent and when each status was first seen.
#[derive(Default, Clone)]
struct Seen {
    proposed: Option<f64>,
    checkpointed: Option<f64>,
    dropped: bool,
}

/// One devnet's run: latencies in ms and the checkpoints the txs went into.
struct Run {
    to_proposed: Vec<f64>,
    to_checkpointed: Vec<f64>,
    dropped: usize,
    blocks_per_checkpoint: Vec<usize>,
}

/// Offers `a.rate` tx/s for `a.seconds` to `url` and follows every receipt.
fn load(a: &BenchCheckpointsArgs, url: &str, salt: u64) -> Result<Run> {
    let n = (a.rate * a.seconds as f64).round().max(1.0) as usize;
    let txs = txs(url, n, a.accounts, salt)?;
    let every = Duration::from_secs_f64(1.0 / a.rate.max(0.001));
    let start = Instant::now();
    let mut sent: Vec<(String, Instant)> = Vec::with_capacity(n);
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut next_poll = start;
    let deadline = start + Duration::from_secs(a.seconds + a.timeout);
    let mut i = 0;
    loop {
        let now = Instant::now();
        // Sends that are due (the schedule, not the previous send, sets the pace).
        while i < txs.len() && start + every.mul_f64(i as f64) <= now {
            match send(url, &txs[i]) {
                Ok(h) => {
                    sent.push((h.clone(), Instant::now()));
                    seen.insert(h, Seen::default());
                }
                Err(e) => eprintln!("  send failed: {e}"),
            }
            i += 1;
        }
        if now >= next_poll {
            next_poll = now + Duration::from_millis(a.poll_ms);
            let open: Vec<(String, Instant)> = sent
                .iter()
                .filter(|(h, _)| {
                    seen.get(h)
                        .is_some_and(|s| s.checkpointed.is_none() && !s.dropped)
                })
                .cloned()
                .collect();
            let hashes: Vec<String> = open.iter().map(|(h, _)| h.clone()).collect();
            let st = statuses(url, &hashes)?;
            let at = Instant::now();
            for ((h, t0), status) in open.iter().zip(st) {
                let ms = (at - *t0).as_secs_f64() * 1e3;
                let s = seen.entry(h.clone()).or_default();
                match status.as_str() {
                    "proposed" => {
                        s.proposed.get_or_insert(ms);
                    }
                    // Proposed and checkpointed between two polls: both now.
                    "checkpointed" | "proven" => {
                        s.proposed.get_or_insert(ms);
                        s.checkpointed = Some(ms);
                    }
                    "dropped" => s.dropped = true,
                    _ => {}
                }
            }
        }
        let done = i >= txs.len() && seen.values().all(|s| s.checkpointed.is_some() || s.dropped);
        if done {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "timed out: receipts still pending {} s after the load",
                a.timeout
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // The checkpoints the txs landed in, and how many blocks each had.
    let mut checkpoints: BTreeMap<u64, usize> = BTreeMap::new();
    let mut blocks: Vec<u64> = Vec::new();
    for chunk in sent.chunks(100) {
        for (h, _) in chunk {
            let r = rpc(url, "node_getTxReceipt", json!([h]))?;
            if let Some(b) = r["blockNumber"].as_u64() {
                blocks.push(b);
            }
        }
    }
    blocks.sort_unstable();
    blocks.dedup();
    let (first, last) = (
        blocks.first().copied().unwrap_or(0),
        blocks.last().copied().unwrap_or(0),
    );
    for b in first..=last {
        let block = rpc(url, "node_getBlock", json!([b]))?;
        if let Some(c) = block["checkpoint"].as_u64() {
            *checkpoints.entry(c).or_default() += 1;
        }
    }
    let to_proposed = seen.values().filter_map(|s| s.proposed).collect();
    let to_checkpointed = seen.values().filter_map(|s| s.checkpointed).collect();
    Ok(Run {
        to_proposed,
        to_checkpointed,
        dropped: seen.values().filter(|s| s.dropped).count(),
        blocks_per_checkpoint: checkpoints.into_values().collect(),
    })
}

fn summary(r: &Run) -> Value {
    let mean = if r.blocks_per_checkpoint.is_empty() {
        f64::NAN
    } else {
        r.blocks_per_checkpoint.iter().sum::<usize>() as f64 / r.blocks_per_checkpoint.len() as f64
    };
    json!({
        "txs": r.to_checkpointed.len() + r.dropped,
        "dropped": r.dropped,
        "submitToProposedP50Ms": percentile(&r.to_proposed, 0.5),
        "submitToProposedP95Ms": percentile(&r.to_proposed, 0.95),
        "submitToCheckpointedP50Ms": percentile(&r.to_checkpointed, 0.5),
        "submitToCheckpointedP95Ms": percentile(&r.to_checkpointed, 0.95),
        "checkpoints": r.blocks_per_checkpoint.len(),
        "blocksPerCheckpointMean": mean,
    })
}

/// Runs the benchmark.
pub fn bench_checkpoints(a: BenchCheckpointsArgs) -> Result<()> {
    if a.rate <= 0.0 || a.seconds == 0 {
        bail!("--rate and --seconds must be positive");
    }
    let tmp = std::env::temp_dir().join(format!("cairn-bench-checkpoints-{}", std::process::id()));
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() % 1000 * 1_000_000)
        .unwrap_or(0);
    let mut runs = Vec::new();
    for (label, block_ms) in [("blocks", a.block_duration_ms), ("baseline", 0)] {
        eprintln!("bench checkpoints: {label} devnet …");
        let net = Devnet::start(
            a.base_port,
            a.tools_dir.as_deref(),
            1,
            a.validators,
            &tmp.join(label),
            block_ms,
        )?;
        let url = net.rpcs[0].clone();
        // Load only once checkpoints land: the first slots of a devnet set up the committee.
        let deadline = Instant::now() + Duration::from_secs(a.timeout);
        loop {
            let tips = rpc(&url, "node_getL2Tips", json!([])).ok();
            if tips.is_some_and(|t| t["latest"]["number"].as_u64().unwrap_or(0) >= 2) {
                break;
            }
            if Instant::now() > deadline {
                return Err(anyhow!("{label}: no checkpoint within {} s", a.timeout));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        eprintln!(
            "bench checkpoints: {label}: {} tx/s for {} s …",
            a.rate, a.seconds
        );
        let run = load(&a, &url, salt + runs.len() as u64 * 100_000)?;
        drop(net);
        runs.push(run);
    }
    let (multi, base) = (&runs[0], &runs[1]);
    let m = summary(multi);
    let b = summary(base);
    let p50 = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let report = json!({
        "commit": env!("CAIRN_COMMIT"),
        "block_duration_ms": a.block_duration_ms,
        "offered_tx_per_s": a.rate,
        "seconds": a.seconds,
        "poll_ms": a.poll_ms,
        "submit_to_proposed_p50_ms": p50(&m, "submitToProposedP50Ms"),
        "submit_to_proposed_p95_ms": p50(&m, "submitToProposedP95Ms"),
        "submit_to_checkpointed_p50_ms": p50(&m, "submitToCheckpointedP50Ms"),
        "submit_to_checkpointed_p95_ms": p50(&m, "submitToCheckpointedP95Ms"),
        "blocks_per_checkpoint_mean": p50(&m, "blocksPerCheckpointMean"),
        "baseline_submit_to_checkpointed_p50_ms": p50(&b, "submitToCheckpointedP50Ms"),
        "baseline_submit_to_checkpointed_p95_ms": p50(&b, "submitToCheckpointedP95Ms"),
        "baseline_submit_to_proposed_p50_ms": p50(&b, "submitToProposedP50Ms"),
        "goals": {
            "proposedWithinBlockPlus1s": p50(&m, "submitToProposedP50Ms") <= a.block_duration_ms as f64 + 1000.0,
            // Receipts are seen at most one poll late, in either run: a difference smaller
            // than the polling interval is not a measured difference.
            "checkpointedNoWorseThanBaseline": p50(&m, "submitToCheckpointedP50Ms") <= p50(&b, "submitToCheckpointedP50Ms") + a.poll_ms as f64,
        },
        "checkpointed_p50_minus_baseline_ms": p50(&m, "submitToCheckpointedP50Ms") - p50(&b, "submitToCheckpointedP50Ms"),
        "blocks": m,
        "baseline": b,
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}
