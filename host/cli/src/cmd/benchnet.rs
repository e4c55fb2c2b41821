//! `cairn bench network`: a committee spread over local nodes, measured. Starts its own devnets
//! (`cairn devnet up --nodes N`, then one node holding every validator for the baseline), and
//! reports the attestation round (proposal gossiped → quorum) for empty and full blocks, tx
//! gossip latency to every pool at a fixed offered load, and sustained throughput with N nodes
//! against one. Run by hand (release build); CI does not run it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::l1::print_json;
use super::wallet::{build_with, head_and_fees, rpc, send, transfer_call};

/// Flags of `cairn bench network`.
#[derive(Args)]
pub struct BenchNetworkArgs {
    /// Nodes in the network (one validator each).
    #[arg(long, default_value_t = 4)]
    nodes: u16,
    /// Attestation rounds of empty blocks to time.
    #[arg(long = "empty-rounds", default_value_t = 6)]
    empty_rounds: usize,
    /// Attestation rounds of full blocks to time.
    #[arg(long = "full-rounds", default_value_t = 3)]
    full_rounds: usize,
    /// Txs in a full block (the nodes' SEQ_MAX_TX_PER_BLOCK).
    #[arg(long = "block-txs", default_value_t = 512)]
    block_txs: usize,
    /// Offered load for the gossip latency, txs per second.
    #[arg(long = "gossip-rate", default_value_t = 20.0)]
    gossip_rate: f64,
    /// Txs sent for the gossip latency.
    #[arg(long = "gossip-txs", default_value_t = 200)]
    gossip_txs: usize,
    /// Txs offered at once for the throughput comparison.
    #[arg(long = "throughput-txs", default_value_t = 1500)]
    throughput_txs: usize,
    /// Genesis accounts to send from.
    #[arg(long, default_value_t = 16)]
    accounts: usize,
    /// First of the ports the devnets use (L1, then +100 JSON-RPC, +200 admin, +300 p2p).
    #[arg(long = "base-port", default_value_t = 19000)]
    base_port: u16,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Also write the report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Directory holding the L1 tools (as for `cairn devnet up`).
    #[arg(long = "tools-dir", env = "CAIRN_TOOLS_DIR")]
    tools_dir: Option<PathBuf>,
}

pub(crate) fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    s[((s.len() - 1) as f64 * p).round() as usize]
}

/// An attestation round as the proposer logged it: (slot, txs, ms, collected, needed).
type Round = (u64, u64, f64, u64, u64);

/// A `cairn devnet up` child, stopped with SIGTERM when dropped.
pub(crate) struct Devnet {
    child: Child,
    dir: PathBuf,
    pub(crate) rpcs: Vec<String>,
}

impl Devnet {
    fn up(a: &BenchNetworkArgs, nodes: u16, validators: u16, dir: &Path) -> Result<Devnet> {
        // One block per checkpoint: the rounds measured are those of full checkpoints.
        Devnet::start(
            a.base_port,
            a.tools_dir.as_deref(),
            nodes,
            validators,
            dir,
            0,
        )
    }

    /// `cairn devnet up` with `nodes` nodes holding `validators` validators, its ports from
    /// `base_port` (L1, then +100 JSON-RPC, +200 admin, +300 p2p), a block every
    /// `block_duration_ms` (0: one block per checkpoint).
    pub(crate) fn start(
        base_port: u16,
        tools_dir: Option<&Path>,
        nodes: u16,
        validators: u16,
        dir: &Path,
        block_duration_ms: u64,
    ) -> Result<Devnet> {
        let exe = std::env::current_exe()?;
        let p = |off: u16| (base_port + off).to_string();
        let mut cmd = Command::new(exe);
        cmd.args(["devnet", "up", "--dashboard-port", "0", "--bot-rate", "0"])
            .args(["--block-duration", &block_duration_ms.to_string()])
            .args(["--nodes", &nodes.to_string()])
            .args(["--validators", &validators.to_string()])
            .args(["--port", &p(0), "--rpc-port", &p(100)])
            .args(["--admin-port", &p(200), "--p2p-port", &p(300)])
            .arg("--dir")
            .arg(dir)
            // Room for the whole offered load: the pool's bound is not what is measured.
            .env("P2P_MAX_PENDING_TX_COUNT", "5000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(t) = tools_dir {
            cmd.arg("--tools-dir").arg(t);
        }
        let mut child = cmd.spawn().context("starting cairn devnet up")?;
        let out = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(out).lines();
        let mut seen = String::new();
        let ready = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if l.contains("cairn devnet is up") {
                        break true;
                    }
                    seen.push_str(&l);
                    seen.push('\n');
                }
                _ => break false,
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let net = Devnet {
            child,
            dir: dir.to_path_buf(),
            rpcs: (0..nodes)
                .map(|i| format!("http://127.0.0.1:{}", base_port + 100 + i))
                .collect(),
        };
        if !ready {
            bail!("cairn devnet up did not come up:\n{seen}");
        }
        Ok(net)
    }

    /// The Rollup's slot duration, in ms.
    fn slot_ms(&self) -> Result<f64> {
        let m: Value = serde_json::from_slice(&std::fs::read(self.dir.join("manifest.json"))?)?;
        let rollup: alloy_primitives::Address = m["addresses"]["rollup"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("manifest without a rollup"))?;
        let url = m["rpcUrl"].as_str().unwrap_or_default().to_string();
        let l1 = cairn_l1::L1::connect(cairn_l1::RpcClient::new(&[url])?, None)?;
        let secs: u64 = l1
            .call(
                rollup,
                &cairn_consensus::abi::IRollupConsensus::getSlotDurationCall {},
            )?
            .try_into()
            .unwrap_or(0);
        Ok(secs as f64 * 1e3)
    }

    /// Every attestation round in the nodes' logs.
    fn rounds(&self) -> Vec<Round> {
        let mut out = Vec::new();
        for i in 0..self.rpcs.len() {
            let log =
                std::fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default();
            for l in log.lines().filter(|l| l.contains("attestation round over")) {
                let f = |k: &str| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse::<f64>().ok())
                };
                if let (Some(s), Some(t), Some(ms), Some(c), Some(n)) =
                    (f("slot"), f("txs"), f("ms"), f("collected"), f("needed"))
                {
                    out.push((s as u64, t as u64, ms, c as u64, n as u64));
                }
            }
        }
        out.sort_by_key(|r| r.0);
        out
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signed transfers, `n` of them, round-robin over the genesis accounts.
pub(crate) fn txs(
    url: &str,
    n: usize,
    accounts: usize,
    salt: u64,
) -> Result<Vec<cairn_protocol::tx::Tx>> {
    let (head, fees) = head_and_fees(url)?;
    (0..n)
        .map(|i| {
            let from = i % accounts;
            build_with(
                &head,
                &fees,
                from,
                vec![transfer_call((from + 1) % accounts, 1)],
                salt + i as u64,
            )
        })
        .collect()
}

/// Statuses of `hashes` at `url` (batched `node_getTxReceipt`).
pub(crate) fn statuses(url: &str, hashes: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(hashes.len());
    for chunk in hashes.chunks(100) {
        let batch: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| json!({"jsonrpc": "2.0", "id": i, "method": "node_getTxReceipt", "params": [h]}))
            .collect();
        let answers: Value = ureq::post(url)
            .send_json(Value::Array(batch))
            .context("receipts")?
            .into_json()?;
        let mut got = vec![String::new(); chunk.len()];
        for a in answers.as_array().cloned().unwrap_or_default() {
            if let Some(i) = a["id"].as_u64() {
                if let Some(slot) = got.get_mut(i as usize) {
                    *slot = a["result"]["status"].as_str().unwrap_or("").to_string();
                }
            }
        }
        out.extend(got);
    }
    Ok(out)
}

/// Offers `n` txs at once to `url` and waits until each has a receipt: included txs per second
/// from the first send to the last inclusion.
fn throughput(url: &str, n: usize, accounts: usize, salt: u64, timeout: u64) -> Result<Value> {
    let txs = txs(url, n, accounts, salt)?;
    let start = Instant::now();
    let mut hashes = Vec::new();
    for tx in &txs {
        if let Ok(h) = send(url, tx) {
            hashes.push(h);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut last = start;
    let mut included = 0;
    loop {
        let st = statuses(url, &hashes)?;
        let done = st
            .iter()
            .filter(|s| *s == "checkpointed" || *s == "proven")
            .count();
        if done > included {
            included = done;
            last = Instant::now();
        }
        let dropped = st.iter().filter(|s| *s == "dropped").count();
        if done + dropped >= hashes.len() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let span = (last - start).as_secs_f64().max(1e-9);
    Ok(
        json!({"offered": n, "accepted": hashes.len(), "included": included, "seconds": span, "txPerSec": included as f64 / span}),
    )
}

/// Runs the benchmark.
pub fn bench_network(a: BenchNetworkArgs) -> Result<()> {
    if a.nodes < 2 {
        bail!("--nodes must be at least 2 (one node has no network to measure)");
    }
    let tmp = std::env::temp_dir().join(format!("cairn-bench-network-{}", std::process::id()));
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() % 1000 * 1_000_000)
        .unwrap_or(0);
    eprintln!("bench network: starting {} nodes …", a.nodes);
    let net = Devnet::up(&a, a.nodes, a.nodes, &tmp.join("multi"))?;
    let url = net.rpcs[0].clone();
    let wait_rounds = |what: &str, want: &dyn Fn(&[Round]) -> bool| -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(a.timeout);
        while !want(&net.rounds()) {
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(())
    };

    eprintln!(
        "bench network: {} empty attestation rounds …",
        a.empty_rounds
    );
    wait_rounds("empty rounds", &|r| {
        r.iter().filter(|x| x.1 == 0 && x.3 >= x.4).count() >= a.empty_rounds
    })?;
    let empty: Vec<f64> = net
        .rounds()
        .iter()
        .filter(|x| x.1 == 0 && x.3 >= x.4)
        .map(|x| x.2)
        .collect();

    eprintln!(
        "bench network: tx gossip at {} tx/s ({} txs) …",
        a.gossip_rate, a.gossip_txs
    );
    let gossip_txs = txs(&url, a.gossip_txs, a.accounts, salt)?;
    let gap = Duration::from_secs_f64(1.0 / a.gossip_rate.max(0.1));
    let mut sent: Vec<(String, Instant)> = Vec::new();
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    let t0 = Instant::now();
    let mut next = t0;
    let mut i = 0;
    let deadline = t0 + Duration::from_secs(a.timeout);
    while (i < gossip_txs.len() || seen.len() < sent.len()) && Instant::now() < deadline {
        if i < gossip_txs.len() && Instant::now() >= next {
            let h = send(&url, &gossip_txs[i])?;
            sent.push((h, Instant::now()));
            i += 1;
            next += gap;
        }
        // Every other node must hold it (pending, or already in a block).
        let waiting: Vec<&(String, Instant)> =
            sent.iter().filter(|(h, _)| !seen.contains_key(h)).collect();
        if !waiting.is_empty() {
            let hashes: Vec<String> = waiting.iter().map(|(h, _)| h.clone()).collect();
            let mut everywhere = vec![true; hashes.len()];
            for other in &net.rpcs[1..] {
                for (k, s) in statuses(other, &hashes)?.iter().enumerate() {
                    everywhere[k] &= matches!(
                        s.as_str(),
                        "pending" | "proposed" | "checkpointed" | "proven"
                    );
                }
            }
            let now = Instant::now();
            for ((h, at), ok) in waiting.iter().zip(everywhere) {
                if ok {
                    seen.insert(h.clone(), (now - *at).as_secs_f64() * 1e3);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let gossip: Vec<f64> = seen.values().copied().collect();
    if gossip.len() < sent.len() {
        bail!(
            "{} of {} txs never reached every node's pool",
            sent.len() - gossip.len(),
            sent.len()
        );
    }

    eprintln!("bench network: {} full blocks …", a.full_rounds);
    let before = net.rounds().len();
    // Keep two blocks' worth waiting in the pool (it is bounded) until enough full rounds ran.
    let full_enough = |r: &[Round]| {
        r[before.min(r.len())..]
            .iter()
            .filter(|x| x.1 as usize >= a.block_txs && x.3 >= x.4)
            .count()
            >= a.full_rounds
    };
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let mut wave = 0u64;
    while !full_enough(&net.rounds()) {
        if Instant::now() > deadline {
            bail!("timed out waiting for full rounds");
        }
        let pending = rpc(&url, "node_getPendingTxCount", json!([]))?
            .as_u64()
            .unwrap_or(0) as usize;
        if pending < 2 * a.block_txs {
            wave += 1;
            for tx in txs(
                &url,
                a.block_txs,
                a.accounts,
                salt + 500_000 + wave * 10_000,
            )? {
                let _ = send(&url, &tx);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let full: Vec<f64> = net.rounds()[before..]
        .iter()
        .filter(|x| x.1 as usize >= a.block_txs && x.3 >= x.4)
        .map(|x| x.2)
        .collect();
    // Drain what is left before the throughput run.
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    while rpc(&url, "node_getPendingTxCount", json!([]))?
        .as_u64()
        .unwrap_or(0)
        > 0
    {
        if Instant::now() > deadline {
            bail!("the pool never drained");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "bench network: throughput, {} nodes ({} txs) …",
        a.nodes, a.throughput_txs
    );
    let tps_n = throughput(
        &url,
        a.throughput_txs,
        a.accounts,
        salt + 700_000,
        a.timeout,
    )?;
    let slot_ms = net.slot_ms()?;
    drop(net);

    eprintln!("bench network: throughput, 1 node holding every validator …");
    let single = Devnet::up(&a, 1, a.nodes, &tmp.join("single"))?;
    let tps_1 = throughput(
        &single.rpcs[0],
        a.throughput_txs,
        a.accounts,
        salt + 900_000,
        a.timeout,
    )?;
    drop(single);
    let _ = std::fs::remove_dir_all(&tmp);

    let (t1, tn) = (
        tps_1["txPerSec"].as_f64().unwrap_or(0.0),
        tps_n["txPerSec"].as_f64().unwrap_or(0.0),
    );
    let report = json!({
        "commit": env!("CAIRN_COMMIT"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "slot_ms": slot_ms,
        "nodes": a.nodes,
        "quorum_empty_p50_ms": percentile(&empty, 0.5),
        "quorum_empty_p95_ms": percentile(&empty, 0.95),
        "quorum_full_p50_ms": percentile(&full, 0.5),
        "quorum_full_p95_ms": percentile(&full, 0.95),
        "full_block_txs": a.block_txs,
        "tx_gossip_p50_ms": percentile(&gossip, 0.5),
        "tx_gossip_p95_ms": percentile(&gossip, 0.95),
        "tps_1_node": t1,
        "tps_4_nodes": tn,
        "method": {
            "quorum": "per proposal: from gossiping it to the last attestation needed (⌊2n/3⌋+1), as the proposer logs it; rounds that reached quorum",
            "emptyRounds": empty.len(),
            "fullRounds": full.len(),
            "txGossip": format!("{} txs at {} tx/s to node 0; time until every other node's pool holds it (receipts polled every ~10 ms)", sent.len(), a.gossip_rate),
            "throughput": format!("{} txs offered at once to node 0; included txs per second from the first send to the last inclusion; baseline: one node holding all {} validators", a.throughput_txs, a.nodes),
            "throughputNodes": tps_n,
            "throughputSingle": tps_1,
        },
        "goals": {
            "quorumFullWithinThirdOfSlot": percentile(&full, 0.95) <= slot_ms / 3.0,
            "txGossipP95Under250ms": percentile(&gossip, 0.95) < 250.0,
            "multiNodeThroughputAtLeast80Percent": tn >= 0.8 * t1,
        },
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}
