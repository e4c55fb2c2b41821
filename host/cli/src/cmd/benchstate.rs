//! `cairn bench state`: the world state's cost (JSON report): the tree update of a block of the
//! benchmark's tx mix and of a block at the blob limit, against the hashing floor measured in
//! the same run, and restart time and memory for a store of a few blocks and of many.
//!
//! Stores are built directly (blocks of the mix applied and committed through the node's own
//! store code), not by running a devnet for hours. Each block's txs have the effects real txs
//! of the mix have (taken from the native pipeline once), with fresh nullifiers and notes and
//! public writes spread over a large account population, so the trees grow as a busy chain's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use ark_bn254::Fr;
use ark_ff::PrimeField;
use cairn_engine::{Engine, EngineConfig, Pipeline, TxOutcome};
use cairn_node::chain::{encode_body, Block, Status};
use cairn_node::store::Store;
use cairn_node::world::ChainHandle;
use cairn_protocol::field::{fr_from_raw, fr_to_raw};
use cairn_protocol::stages::{BlockHeader, TxEffects};
use cairn_protocol::state::WorldState;
use clap::Args;
use serde_json::{json, Value};

use super::l1::print_json;

/// Flags of `cairn bench state`.
#[derive(Args)]
pub struct BenchStateArgs {
    /// Blocks in the large store.
    #[arg(long, default_value_t = 2000)]
    blocks: u64,
    /// Blocks in the small store.
    #[arg(long = "small-blocks", default_value_t = 10)]
    small_blocks: u64,
    /// Txs per block (the node's default --max-txs-per-block).
    #[arg(long = "block-txs", default_value_t = 512)]
    block_txs: usize,
    /// Updates of a block at the blob limit to time on the large store.
    #[arg(long, default_value_t = 9)]
    reps: usize,
    /// Restarts timed per store, the stores taking turns (median reported).
    #[arg(long, default_value_t = 15)]
    restarts: usize,
    /// Where to build the stores (default: a temporary directory, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The database's page cache, as the node's `--db-cache-mb`.
    #[arg(long = "db-cache-mb", default_value_t = cairn_node::store::DEFAULT_CACHE_MB)]
    db_cache_mb: u64,
    /// Tuning: add this many blocks to the large store already in --dir, print their update
    /// times, exit (no report).
    #[arg(long, hide = true, value_name = "BLOCKS", requires = "dir")]
    extend: Option<u64>,
    /// Internal: open the node's chain in DIR, print open time and resident memory, exit.
    #[arg(long, hide = true, value_name = "DIR")]
    probe: Option<PathBuf>,
    /// Internal: commit once to the store in DIR, say so, and wait to be killed.
    #[arg(long = "crash-probe", hide = true, value_name = "DIR")]
    crash_probe: Option<PathBuf>,
    /// Internal: the crash probe commits with quick repair.
    #[arg(long = "crash-quick-repair", hide = true)]
    crash_quick_repair: bool,
}

/// Accounts whose balances the synthetic blocks write (public-data keys).
const ACCOUNTS: u64 = 50_000;
/// Genesis accounts of the benchmark's L2 (as the node's default).
const GENESIS_ACCOUNTS: usize = 32;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn genesis() -> WorldState {
    cairn_zk::scenario::Scenario::new(GENESIS_ACCOUNTS).state
}

/// A field element derived from `parts` (keccak, reduced): spread over the field like hashes.
fn derive(parts: &[u64]) -> Fr {
    let mut b = Vec::with_capacity(8 * parts.len());
    for p in parts {
        b.extend_from_slice(&p.to_be_bytes());
    }
    Fr::from_be_bytes_mod_order(alloy_primitives::keccak256(&b).as_slice())
}

/// The mix's txs and their effects, from the native pipeline.
fn template(n: usize) -> Result<(Vec<Vec<u8>>, Vec<TxEffects>)> {
    let s = cairn_zk::scenario::Scenario::new(GENESIS_ACCOUNTS);
    let txs = s.public_mix(n);
    let engine = Arc::new(Engine::new(EngineConfig::default())?);
    let p = Pipeline::new(engine, Arc::new(s.state.clone()), s.context(), vec![]);
    let out = p.process_block(Arc::new(s.state.clone()), &s.context(), &txs);
    let mut kept = Vec::new();
    let mut effects = Vec::new();
    for (tx, o) in txs.into_iter().zip(out.txs) {
        if let TxOutcome::Included(b) = o {
            effects.push(TxEffects::decode(&b).ok_or_else(|| anyhow!("effects do not decode"))?);
            kept.push(tx);
        }
    }
    if effects.is_empty() {
        bail!("the native pipeline included none of the mix's txs");
    }
    Ok((kept, effects))
}

/// Block `n`'s effects: the template's shape, fresh nullifiers and notes, writes to accounts
/// drawn from a large population.
fn synth(template: &[TxEffects], n: u64, txs: usize) -> Vec<TxEffects> {
    (0..txs)
        .map(|i| {
            let mut e = template[i % template.len()].clone();
            let id = n * 1_000_000 + i as u64;
            for (j, x) in e.effects.nullifiers.iter_mut().enumerate() {
                *x = derive(&[1, id, j as u64]);
            }
            for (j, x) in e.effects.note_hashes.iter_mut().enumerate() {
                *x = derive(&[2, id, j as u64]);
            }
            let account = derive(&[3, id]).into_bigint().0[0] % ACCOUNTS;
            e.effects.writes = e
                .effects
                .writes
                .iter()
                .map(|(k, v)| {
                    let k0 = fr_from_raw(k).map(|k| k.into_bigint().0[0]).unwrap_or(0);
                    (fr_to_raw(&derive(&[4, k0, account])), *v + Fr::from(n))
                })
                .collect();
            e.hash = alloy_primitives::keccak256(id.to_be_bytes()).0;
            e
        })
        .collect()
}

fn header(n: u64) -> BlockHeader {
    BlockHeader {
        chain_id: 31337,
        rollup_version: 1,
        block_number: n,
        slot: n,
        fee_per_mana: 1,
        coinbase: [0; 20],
        previous_archive: [0; 32],
        note_root: [0; 32],
        nullifier_root: [0; 32],
        public_data_root: [0; 32],
        effects_hash: [0; 32],
        tx_count: 0,
        gas_used: 0,
    }
}

/// One block's update on a fork of the stored state: (ms, permutations).
fn update(
    state: &WorldState,
    n: u64,
    effects: &[TxEffects],
) -> (f64, u64, WorldState, BlockHeader, f64) {
    let mut fork = state.clone();
    let p0 = cairn_protocol::poseidon::permutations();
    let c0 = cpu_ms();
    let t = Instant::now();
    let h = fork.apply_block(header(n), effects);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu_ms() - c0;
    (
        ms,
        cairn_protocol::poseidon::permutations() - p0,
        fork,
        h,
        cpu,
    )
}

/// CPU time of this process so far (all its threads, ended ones included), from
/// `/proc/self/stat` in clock ticks of 10 ms: only sums over many updates mean anything.
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks * 10.0)
        })
        .unwrap_or(f64::NAN)
}

struct Built {
    update_ms: Vec<f64>,
    hashes: Vec<u64>,
    commit_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
}

/// Builds a store of `blocks` blocks of `txs` txs in `dir`, timing each block's update.
fn build(
    dir: &Path,
    blocks: std::ops::RangeInclusive<u64>,
    txs: &[Vec<u8>],
    template: &[TxEffects],
    per_block: usize,
    cache_mb: u64,
) -> Result<Built> {
    let genesis = genesis();
    let store = Store::open_with_cache(dir, cache_mb).map_err(|e| anyhow!("{e}"))?;
    if *blocks.start() == 1 {
        store.put_state(&genesis).map_err(|e| anyhow!("{e}"))?;
    }
    let mut built = Built {
        update_ms: Vec::new(),
        hashes: Vec::new(),
        commit_ms: Vec::new(),
        cpu_ms: Vec::new(),
    };
    let block_txs: Vec<Vec<u8>> = (0..per_block).map(|i| txs[i % txs.len()].clone()).collect();
    for n in blocks {
        let snap = store
            .state_snapshot()
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("no state stored"))?;
        let world = snap.world(&genesis);
        let effects = synth(template, n, per_block);
        let (ms, perms, state, h, cpu) = update(&world, n, &effects);
        built.update_ms.push(ms);
        built.cpu_ms.push(cpu);
        built.hashes.push(perms);
        let block = Block {
            header: h,
            txs: block_txs.clone(),
            effects: effects.iter().map(TxEffects::encode).collect(),
            archive: cairn_node::chain::Chain::archive_root(&state),
            l1_tx: Default::default(),
            status: Status::Checkpointed,
            attestations: vec![],
            checkpoint: n,
        };
        let t = Instant::now();
        store
            .commit_block_with_state(n, n, &block.encode(), &[], &state, n.saturating_sub(64))
            .map_err(|e| anyhow!("{e}"))?;
        built.commit_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if n % 100 == 0 {
            eprintln!("  {} blocks: last update {ms:.0} ms", n);
        }
    }
    Ok(built)
}

/// Runs the restart probe (`--probe dir`) in a fresh process; its JSON answer.
fn run_probe(exe: &Path, dir: &Path, cache_mb: u64) -> Result<Value> {
    let out = Command::new(exe)
        .args(["bench", "state", "--db-cache-mb"])
        .arg(cache_mb.to_string())
        .arg("--probe")
        .arg(dir)
        .output()
        .context("running the restart probe")?;
    if !out.status.success() {
        bail!(
            "restart probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("probe output")
}

/// Open time and resident memory (medians) of fresh processes opening the chain in each of
/// `dirs`. The stores take turns, so a noisy spell on the machine falls on all of them alike
/// rather than on whichever store was being timed then.
fn restarts(dirs: &[&Path], times: usize, cache_mb: u64) -> Result<Vec<(f64, f64)>> {
    let exe = std::env::current_exe()?;
    let mut opens = vec![Vec::new(); dirs.len()];
    let mut rss = vec![Vec::new(); dirs.len()];
    for _ in 0..times.max(1) {
        for (i, dir) in dirs.iter().enumerate() {
            let v = run_probe(&exe, dir, cache_mb)?;
            opens[i].push(v["open_ms"].as_f64().unwrap_or(f64::NAN));
            rss[i].push(v["rss_mb"].as_f64().unwrap_or(f64::NAN));
        }
    }
    Ok(opens
        .into_iter()
        .zip(rss)
        .map(|(o, r)| (percentile(&sorted(o), 0.5), percentile(&sorted(r), 0.5)))
        .collect())
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// `--extend`: `k` more blocks on the large store already built, for comparing builds of the
/// state code on one store without rebuilding it.
fn extend(
    dir: &Path,
    k: u64,
    txs: &[Vec<u8>],
    tpl: &[TxEffects],
    a: &BenchStateArgs,
    hash_us: f64,
) -> Result<()> {
    let head = Store::open_with_cache(dir, a.db_cache_mb)
        .map_err(|e| anyhow!("{e}"))?
        .state_head()
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("no state stored in {}", dir.display()))?
        .block;
    let b = build(
        dir,
        head + 1..=head + k,
        txs,
        tpl,
        a.block_txs,
        a.db_cache_mb,
    )?;
    let cores_used = b.cpu_ms.iter().sum::<f64>() / b.update_ms.iter().sum::<f64>();
    let upd = sorted(b.update_ms);
    let floor =
        percentile(&sorted(b.hashes.iter().map(|h| *h as f64).collect()), 0.5) * hash_us / 1e3;
    let p50 = percentile(&upd, 0.5);
    print_json(&json!({
        "from_block": head + 1,
        "blocks": k,
        "db_cache_mb": a.db_cache_mb,
        "update_p50_ms": p50,
        "update_p95_ms": percentile(&upd, 0.95),
        "over_floor": p50 / floor.max(1e-9),
        "commit_p50_ms": percentile(&sorted(b.commit_ms), 0.5),
        "hash_us": hash_us,
        "update_cores_used": cores_used,
        "update_cpu_over_floor": b.cpu_ms.iter().sum::<f64>() / b.cpu_ms.len().max(1) as f64 / floor.max(1e-9),
    }));
    Ok(())
}

/// Open time of the store in `dir` right after a process was killed (SIGKILL) just after a
/// commit to it, and whether the open had to check the whole file: the median of `times`.
fn restart_after_crash(
    dir: &Path,
    times: usize,
    cache_mb: u64,
    quick: bool,
) -> Result<(f64, bool)> {
    use std::io::BufRead;
    let exe = std::env::current_exe()?;
    let mut opens = Vec::new();
    let mut repaired = false;
    for _ in 0..times.max(1) {
        let mut child = Command::new(&exe)
            .args(["bench", "state", "--db-cache-mb"])
            .arg(cache_mb.to_string())
            .args(quick.then_some("--crash-quick-repair"))
            .arg("--crash-probe")
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("running the crash probe")?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        child.kill().context("killing the crash probe")?;
        child.wait()?;
        if line.trim() != "committed" {
            bail!("the crash probe did not commit");
        }
        let v = run_probe(&exe, dir, cache_mb).context("after a crash")?;
        opens.push(v["open_ms"].as_f64().unwrap_or(f64::NAN));
        repaired |= v["full_repair"].as_bool().unwrap_or(true);
    }
    Ok((percentile(&sorted(opens), 0.5), repaired))
}

/// The crash probe: one commit through the node's store, then wait for the kill.
fn crash_probe(dir: &Path, cache_mb: u64, quick: bool) -> Result<()> {
    let store = Store::open_with_cache(dir, cache_mb)
        .map_err(|e| anyhow!("{e}"))?
        .with_quick_repair(quick);
    store
        .set_meta("bench-crash-probe", &[1])
        .map_err(|e| anyhow!("{e}"))?;
    println!("committed");
    loop {
        std::thread::park();
    }
}

/// Median time of `n` small commits (one pool-sized record each, as the pool commits every
/// accepted tx) to the store in `dir`, without and with quick repair.
fn small_commits(dir: &Path, n: usize, cache_mb: u64) -> Result<(f64, f64)> {
    let tx = vec![7u8; 251];
    let mut out = [0.0; 2];
    for (i, quick) in [false, true].into_iter().enumerate() {
        let store = Store::open_with_cache(dir, cache_mb)
            .map_err(|e| anyhow!("{e}"))?
            .with_quick_repair(quick);
        let mut ms = Vec::with_capacity(n);
        for k in 0..n {
            let t = Instant::now();
            store
                .set_meta(&format!("bench-small-commit-{k}"), &tx)
                .map_err(|e| anyhow!("{e}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        out[i] = percentile(&sorted(ms), 0.5);
    }
    Ok((out[0], out[1]))
}

fn probe(dir: &Path, cache_mb: u64) -> Result<()> {
    let genesis = genesis();
    let t = Instant::now();
    let store = Arc::new(Store::open_with_cache(dir, cache_mb).map_err(|e| anyhow!("{e}"))?);
    let full_repair = store.opened_with_full_repair();
    let chain = ChainHandle::open(genesis, store).map_err(|e| anyhow!("{e}"))?;
    let c = chain.snapshot();
    // A read that reaches the trees, as the first RPC after a restart would.
    let _ = c.state.notes.path(c.state.notes.len().saturating_sub(1));
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{}",
        json!({"open_ms": open_ms, "rss_mb": rss_mb(), "tip": c.tip(), "full_repair": full_repair})
    );
    chain.close();
    Ok(())
}

/// The cost of one Merkle node hash (one permutation), in µs: batched as the update hashes a
/// level (the unit of the hashing floor), and one at a time, each hash waiting for the last.
fn hash_costs() -> (f64, f64) {
    use cairn_protocol::poseidon::{hash2, hash2_many};
    let mut pairs: Vec<[Fr; 2]> = (0..1024u64)
        .map(|i| [Fr::from(i), Fr::from(i + 1)])
        .collect();
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        let hashes = hash2_many(&pairs);
        for (p, h) in pairs.iter_mut().zip(hashes) {
            p[0] = h;
        }
    }
    let batched = t.elapsed().as_secs_f64() * 1e6 / (rounds * pairs.len()) as f64;
    let mut x = Fr::from(1u64);
    let t = Instant::now();
    let k = 20_000u32;
    for _ in 0..k {
        x = hash2(x, x);
    }
    let single = t.elapsed().as_secs_f64() * 1e6 / k as f64;
    std::hint::black_box((x, pairs));
    (batched, single)
}

/// Runs the benchmark.
pub fn bench_state(a: BenchStateArgs) -> Result<()> {
    if let Some(dir) = a.probe {
        return probe(&dir, a.db_cache_mb);
    }
    if let Some(dir) = a.crash_probe {
        return crash_probe(&dir, a.db_cache_mb, a.crash_quick_repair);
    }
    let tmp;
    let root = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let (hash_us, hash_single_us) = hash_costs();

    eprintln!("taking the mix's effects from the native pipeline…");
    let (txs, tpl) = template(a.block_txs)?;
    let per_tx = |f: &dyn Fn(&TxEffects) -> usize| {
        tpl.iter().map(f).sum::<usize>() as f64 / tpl.len() as f64
    };
    let mix = json!({
        "txs": "cairn_zk::scenario::public_mix: token transfers and counter increments alternating",
        "nullifiersPerTx": per_tx(&|e| e.effects.nullifiers.len()),
        "notesPerTx": per_tx(&|e| e.effects.note_hashes.len()),
        "publicWritesPerTx": per_tx(&|e| e.effects.writes.len()),
        "accountsWritten": ACCOUNTS,
    });
    // The blob limit: how many of the mix's txs a checkpoint's blobs carry.
    let body = encode_body(&header(1), &txs);
    let per_tx_bytes = (body.len() as f64 / txs.len() as f64).max(1.0);
    let max_block_txs =
        ((cairn_consensus::blob::MAX_PAYLOAD_LEN - 256) as f64 / per_tx_bytes) as usize;

    let small_dir = root.join("small");
    let large_dir = root.join("large");
    if let Some(k) = a.extend {
        return extend(&large_dir, k, &txs, &tpl, &a, hash_us);
    }
    for d in [&small_dir, &large_dir] {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
    }
    eprintln!("building a store of {} blocks…", a.small_blocks);
    build(
        &small_dir,
        1..=a.small_blocks,
        &txs,
        &tpl,
        a.block_txs,
        a.db_cache_mb,
    )?;
    eprintln!(
        "building a store of {} blocks of {} txs…",
        a.blocks, a.block_txs
    );
    let t = Instant::now();
    let large = build(
        &large_dir,
        1..=a.blocks,
        &txs,
        &tpl,
        a.block_txs,
        a.db_cache_mb,
    )?;
    let build_s = t.elapsed().as_secs_f64();

    // Blocks at the blob limit, on forks of the large store (discarded: forks are overlays).
    let store = Store::open_with_cache(&large_dir, a.db_cache_mb).map_err(|e| anyhow!("{e}"))?;
    let world = store
        .state_snapshot()
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("no state"))?
        .world(&genesis());
    let mut max_ms = Vec::new();
    let mut max_hashes = Vec::new();
    for r in 0..a.reps.max(1) {
        let effects = synth(&tpl, a.blocks + 1 + r as u64, max_block_txs);
        let (ms, perms, ..) = update(&world, a.blocks + 1, &effects);
        max_ms.push(ms);
        max_hashes.push(perms as f64);
    }
    drop(world);
    drop(store);

    let timed = restarts(&[&small_dir, &large_dir], a.restarts, a.db_cache_mb)?;
    let ((restart_small, rss_small), (restart_large, rss_large)) = (timed[0], timed[1]);
    let (crash_large, crash_repaired) = restart_after_crash(&large_dir, 3, a.db_cache_mb, false)?;
    let (crash_quick, crash_quick_repaired) =
        restart_after_crash(&large_dir, 3, a.db_cache_mb, true)?;
    let (small_commit, small_commit_quick) = small_commits(&large_dir, 200, a.db_cache_mb)?;

    let upd = sorted(large.update_ms.clone());
    let hashes = sorted(large.hashes.iter().map(|h| *h as f64).collect());
    let commit = sorted(large.commit_ms.clone());
    let hashes_512 = percentile(&hashes, 0.5);
    let floor_ms = hashes_512 * hash_us / 1e3;
    let p50 = percentile(&upd, 0.5);
    let report = json!({
        "commit": env!("CAIRN_COMMIT"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "update_512_p50_ms": p50,
        "update_512_p95_ms": percentile(&upd, 0.95),
        "update_max_p50_ms": percentile(&sorted(max_ms), 0.5),
        "max_block_txs": max_block_txs,
        "hashes_512": hashes_512,
        "hash_us": hash_us,
        "restart_10_ms": restart_small,
        "restart_2000_ms": restart_large,
        "rss_10_mb": rss_small,
        "rss_2000_mb": rss_large,
        "method": {
            "blockTxs": a.block_txs,
            "dbCacheMb": a.db_cache_mb,
            "smallStoreBlocks": a.small_blocks,
            "largeStoreBlocks": a.blocks,
            "mix": mix,
            "update": "WorldState::apply_block on a fork of the stored state (the trees on their own threads, each tree's dirty subtrees shared over the cores), every block of the large store's build",
            "updateCpu": "process CPU time (/proc/self/stat, 10 ms ticks) over the updates' wall time, summed over the large store's build",
            "hashes": "Poseidon permutations per update (a Merkle node is one, an indexed leaf two)",
            "hash": format!("one Merkle node hash, batched as the update hashes a tree level (poseidon::hash2_many over 1024 pairs: {}); hashSingleUs is the same hash one at a time, each waiting for the last", if cairn_protocol::poseidon::vectorised() { "eight permutations at a time with AVX-512 IFMA" } else { "one permutation at a time, this CPU has no AVX-512 IFMA" }),
            "blobLimit": format!("{} payload bytes over {per_tx_bytes:.0} bytes per tx in a block body", cairn_consensus::blob::MAX_PAYLOAD_LEN),
            "restart": "a fresh process opens the store and the chain (ChainHandle::open) and reads one witness; median of runs, the two stores taking turns; resident memory from /proc/self/status",
            "restartAfterCrash": "the same open on the large store right after a process that had just committed to it was killed (SIGKILL); median of 3, with the node's default commits and with --db-quick-repair",
            "smallCommit": "one 251-byte record per commit to the large store (as the pool commits each accepted tx), median of 200, without and with quick repair",
        },
        "derived": {
            "hashingFloor512Ms": floor_ms,
            "hashSingleUs": hash_single_us,
            "update512OverFloor": p50 / floor_ms.max(1e-9),
            "update512LastHundredP50Ms": percentile(&sorted(large.update_ms.iter().rev().take(100).copied().collect()), 0.5),
            "commit512P50Ms": percentile(&commit, 0.5),
            "commit512P95Ms": percentile(&commit, 0.95),
            "updateMaxHashesP50": percentile(&sorted(max_hashes), 0.5),
            "restartRatio": restart_large / restart_small.max(1e-9),
            "rssRatio": rss_large / rss_small.max(1e-9),
            "restartAfterCrash2000Ms": crash_large,
            "fullRepairAfterCrash": crash_repaired,
            "restartAfterCrashQuickRepair2000Ms": crash_quick,
            "fullRepairAfterCrashQuickRepair": crash_quick_repaired,
            "smallCommitP50Ms": small_commit,
            "smallCommitQuickRepairP50Ms": small_commit_quick,
            "update512CoresUsed": large.cpu_ms.iter().sum::<f64>() / large.update_ms.iter().sum::<f64>().max(1e-9),
            "largeStoreBuildSeconds": build_s,
        },
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}
