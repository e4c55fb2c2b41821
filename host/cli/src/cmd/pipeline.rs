//! `cairn vm`, `cairn module`, `cairn pipeline` and `cairn bench pipeline`: the L2 protocol's
//! tools, the stage components, and measurements of both.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use cairn_engine::{Engine, EngineConfig, Pipeline, Stage, TxOutcome};
use cairn_protocol::crypto::NativeCrypto;
use cairn_protocol::groth16::{self, Proof};
use cairn_protocol::stages::StateView;
use cairn_protocol::vm::asm;
use cairn_zk::scenario::Scenario;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::l1::print_json;

/// `cairn vm …`.
#[derive(Subcommand)]
pub enum VmCommand {
    /// Assemble VM source into bytecode (hex on stdout, or raw bytes to --out).
    Asm {
        /// Source file (`-` for stdin).
        file: PathBuf,
        /// Write raw bytecode here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Disassemble bytecode (raw file, or a file holding 0x-hex) into source.
    Disasm {
        /// Bytecode file.
        file: PathBuf,
    },
}

/// `cairn module …`.
#[derive(Subcommand)]
pub enum ModuleCommand {
    /// Wrap a core wasm module built with wit-bindgen (wasm32-unknown-unknown) as a component.
    Componentize {
        /// Core module.
        input: PathBuf,
        /// Component to write.
        output: PathBuf,
    },
    /// Load a component for a stage and print its identity (checks the world and WIT version).
    Inspect {
        /// Component.
        file: PathBuf,
        /// tx-validation, proof-verification, public-execution or attestation.
        #[arg(long)]
        stage: String,
    },
}

/// Where the stage components are.
#[derive(Args, Clone)]
pub struct ModulesArg {
    /// Directory with tx-validation.wasm, proof-verification.wasm, public-execution.wasm and
    /// attestation.wasm (scripts/build-modules.sh writes them); default: the components built
    /// into this binary.
    #[arg(long, value_name = "DIR", env = "CAIRN_MODULES")]
    modules: Option<PathBuf>,
}

impl ModulesArg {
    /// The component for `stage`: `DIR/<stage>.wasm`, or the one built into this binary.
    pub fn component(&self, stage: Stage) -> Result<Vec<u8>> {
        match &self.modules {
            Some(dir) => {
                let f = dir.join(format!("{}.wasm", stage.name()));
                std::fs::read(&f).with_context(|| {
                    format!(
                        "cannot read {}; build the components with scripts/build-modules.sh {}",
                        f.display(),
                        dir.display()
                    )
                })
            }
            None => cairn_stages::component(stage)
                .map_err(|e| anyhow!("the built-in {stage} component: {e}")),
        }
    }

    /// Loads every stage into `p` (with the self-check) and activates them.
    fn load_all(&self, p: &Pipeline) -> Result<()> {
        for s in Stage::ALL {
            p.load(s, &self.component(s)?)
                .map_err(|e| anyhow!("{s} component: {e}"))?;
        }
        p.block_boundary();
        Ok(())
    }
}

/// `cairn pipeline …`.
#[derive(Subcommand)]
pub enum PipelineCommand {
    /// Write a tx corpus (every valid and invalid class) against the deterministic scenario world.
    Corpus {
        /// Number of txs.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Accounts in the scenario world.
        #[arg(long, default_value_t = 24)]
        accounts: usize,
        /// Private spends to prove (the rest reuse them).
        #[arg(long, default_value_t = 16)]
        proofs: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Push a corpus through the stages natively and through the components; print per-stage
    /// and end-to-end throughput and latency, and check both give the same results.
    Run {
        /// Corpus file from `cairn pipeline corpus`.
        #[arg(long)]
        txs: PathBuf,
        #[command(flatten)]
        modules: ModulesArg,
        /// Txs per block.
        #[arg(long, default_value_t = 256)]
        block_size: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `cairn bench pipeline`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    modules: ModulesArg,
    /// Txs in the measured corpus.
    #[arg(long, default_value_t = 2048)]
    txs: usize,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Write the JSON report here as well as printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn read_code(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8_lossy(&raw);
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x") {
        if h.chars().all(|c| c.is_ascii_hexdigit()) {
            return hex::decode(h).map_err(|e| anyhow!("{}: bad hex: {e}", path.display()));
        }
    }
    Ok(raw)
}

/// Runs a `vm` subcommand.
pub fn vm(cmd: VmCommand) -> Result<()> {
    match cmd {
        VmCommand::Asm { file, out } => {
            let src = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let code = asm::assemble(&src).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            match out {
                Some(o) => std::fs::write(&o, &code)
                    .with_context(|| format!("cannot write {}", o.display()))?,
                None => println!("0x{}", hex::encode(&code)),
            }
            Ok(())
        }
        VmCommand::Disasm { file } => {
            let code = read_code(&file)?;
            print!(
                "{}",
                asm::disassemble(&code).map_err(|e| anyhow!("{}: {e}", file.display()))?
            );
            Ok(())
        }
    }
}

pub(crate) fn stage_arg(s: &str) -> Result<Stage> {
    Stage::parse(s).ok_or_else(|| anyhow!("unknown stage {s:?}: use tx-validation, proof-verification, public-execution or attestation"))
}

/// Runs a `module` subcommand.
pub fn module(cmd: ModuleCommand) -> Result<()> {
    match cmd {
        ModuleCommand::Componentize { input, output } => {
            let core = std::fs::read(&input)
                .with_context(|| format!("cannot read {}", input.display()))?;
            let comp = cairn_engine::componentize(&core)
                .map_err(|e| anyhow!("{}: {e}", input.display()))?;
            std::fs::write(&output, &comp)
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!(
                "{} ({} bytes, sha256 {})",
                output.display(),
                comp.len(),
                hex::encode(cairn_engine::content_hash(&comp))
            );
            Ok(())
        }
        ModuleCommand::Inspect { file, stage } => {
            let stage = stage_arg(&stage)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let e = Engine::new(EngineConfig::default())?;
            let m = e
                .load(stage, &bytes)
                .map_err(|err| anyhow!("{}: {err}", file.display()))?;
            print_json(&json!({
                "stage": m.identity.stage, "name": m.identity.name, "version": m.identity.version,
                "witVersion": m.identity.wit_version, "sha256": hex::encode(m.identity.hash),
            }));
            Ok(())
        }
    }
}

struct Corpus {
    scenario: Scenario,
    txs: Vec<Vec<u8>>,
}

fn read_corpus(path: &Path) -> Result<Corpus> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let accounts = v["accounts"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}: no `accounts`", path.display()))? as usize;
    if accounts == 0 || accounts > 10_000 {
        bail!("{}: accounts must be 1..=10000", path.display());
    }
    let txs = v["txs"]
        .as_array()
        .ok_or_else(|| anyhow!("{}: no `txs` array", path.display()))?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str()
                .and_then(|s| s.strip_prefix("0x"))
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| anyhow!("{}: tx {i} is not 0x-hex", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Corpus {
        scenario: Scenario::new(accounts),
        txs,
    })
}

/// Runs a `pipeline` subcommand.
pub fn pipeline(cmd: PipelineCommand) -> Result<()> {
    match cmd {
        PipelineCommand::Corpus {
            count,
            accounts,
            proofs,
            seed,
            out,
        } => {
            if accounts < 2 {
                bail!("--accounts must be at least 2");
            }
            let s = Scenario::new(accounts);
            let txs: Vec<String> = s
                .corpus(count, seed, proofs)
                .into_iter()
                .map(|(_, b)| format!("0x{}", hex::encode(b)))
                .collect();
            let doc = json!({"accounts": accounts, "seed": seed, "txs": txs});
            std::fs::write(&out, serde_json::to_string(&doc)? + "\n")
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {count} txs to {}", out.display());
            Ok(())
        }
        PipelineCommand::Run {
            txs,
            modules,
            block_size,
            json: as_json,
        } => {
            let c = read_corpus(&txs)?;
            let engine = Arc::new(Engine::new(EngineConfig::default())?);
            let st: Arc<dyn StateView + Send + Sync> = Arc::new(c.scenario.state.clone());
            let ctx = c.scenario.context();
            let check: Vec<Vec<u8>> = c.txs.iter().take(32).cloned().collect();
            let native = Pipeline::new(engine.clone(), st.clone(), ctx, check.clone());
            let wasm = Pipeline::new(engine, st.clone(), ctx, check);
            modules.load_all(&wasm)?;
            let mut report = Vec::new();
            let mut results = Vec::new();
            for (label, p) in [("native", &native), ("wasm", &wasm)] {
                let mut stage_time = [Duration::ZERO; 4];
                let mut latencies = Vec::new();
                let mut included = 0usize;
                let mut rejected = std::collections::BTreeMap::<String, usize>::new();
                let mut outcomes = Vec::new();
                let t0 = Instant::now();
                for block in c.txs.chunks(block_size.max(1)) {
                    let t = Instant::now();
                    let out = p.process_block(st.clone(), &ctx, block);
                    latencies.push(t.elapsed());
                    // A fault is answered by the native twin: results would still match, so
                    // a faulting module must not pass for a working one.
                    if let Some((s, m, f)) = out.faults.first() {
                        bail!("{s} ({m}) faulted and fell back to native code: {f}");
                    }
                    for (i, d) in out.timings.iter().enumerate() {
                        stage_time[i] += *d;
                    }
                    for o in &out.txs {
                        match o {
                            TxOutcome::Included(_) => included += 1,
                            TxOutcome::Rejected(s, r) => {
                                *rejected.entry(format!("{s}:{}", r.code)).or_insert(0) += 1
                            }
                        }
                    }
                    outcomes.extend(out.txs);
                }
                let total = t0.elapsed();
                latencies.sort();
                let n = c.txs.len() as f64;
                report.push(json!({
                    "backend": label,
                    "txs": c.txs.len(),
                    "included": included,
                    "rejected": rejected,
                    "endToEndTxPerSec": n / total.as_secs_f64(),
                    "blockLatencyMsP50": latencies.get(latencies.len() / 2).map(|d| d.as_secs_f64() * 1e3),
                    "blockLatencyMsMax": latencies.last().map(|d| d.as_secs_f64() * 1e3),
                    "stages": Stage::ALL[..3].iter().enumerate().map(|(i, s)| json!({
                        "stage": s.name(),
                        "seconds": stage_time[i].as_secs_f64(),
                        "txPerSec": n / stage_time[i].as_secs_f64().max(1e-9),
                    })).collect::<Vec<_>>(),
                }));
                results.push(outcomes);
            }
            let same = results[0] == results[1];
            let doc = json!({"identical": same, "runs": report});
            if as_json {
                print_json(&doc);
            } else {
                for r in &report {
                    println!(
                        "{:<6} {} txs: {} included, end to end {:.0} tx/s, block p50 {:.1} ms",
                        r["backend"].as_str().unwrap_or_default(),
                        r["txs"],
                        r["included"],
                        r["endToEndTxPerSec"].as_f64().unwrap_or_default(),
                        r["blockLatencyMsP50"].as_f64().unwrap_or_default()
                    );
                    for s in r["stages"].as_array().into_iter().flatten() {
                        println!(
                            "         {:<20} {:>10.0} tx/s",
                            s["stage"].as_str().unwrap_or_default(),
                            s["txPerSec"].as_f64().unwrap_or_default()
                        );
                    }
                }
                println!("native and wasm results identical: {same}");
            }
            if !same {
                bail!("the components and the native stages disagree on this corpus");
            }
            Ok(())
        }
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Medians of a native and a wasm run of the same work, alternated rep by rep so that both see
/// the same machine load and the same warm caches. Every run's results are compared: a module
/// that faults or answers differently fails the benchmark instead of being timed.
fn time_pair<T: PartialEq>(
    what: &str,
    reps: usize,
    mut native: impl FnMut() -> T,
    mut wasm: impl FnMut() -> Result<T, cairn_engine::Fault>,
) -> Result<(Duration, Duration)> {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    // The first pair warms caches and is not timed.
    for rep in 0..=reps.max(1) {
        let t = Instant::now();
        let want = native();
        let tn = t.elapsed();
        let t = Instant::now();
        let got = wasm().map_err(|f| anyhow!("{what}: the component faulted: {f}"))?;
        let tw = t.elapsed();
        if got != want {
            bail!("{what}: the component's results differ from the native stage's");
        }
        if rep > 0 {
            ta.push(tn);
            tb.push(tw);
        }
    }
    Ok((median(ta), median(tb)))
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> Duration {
    f(); // warm-up
    median(
        (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// `cairn bench pipeline`: the goals, measured on this machine, as a JSON report.
/// Proven statements behind the Groth16 figures (each with its own public inputs).
const STATEMENTS: usize = 32;
/// Fresh proofs per statement for the single-verification figure: 32 × 8 = 256 (median).
const REUSE: usize = 8;
/// Batches of 64 fresh proofs (2 per statement) for the batch figure (median).
const BATCHES: usize = 6;

pub fn bench(a: BenchArgs) -> Result<()> {
    use ark_bn254::{G1Affine, G2Affine};
    use ark_ec::AffineRepr;
    use ark_std::rand::Rng;
    let engine = Arc::new(Engine::new(EngineConfig::default())?);
    let s = Scenario::new(32);
    let st: Arc<dyn StateView + Send + Sync> = Arc::new(s.state.clone());
    let ctx = s.context();
    eprintln!("bench: building a corpus of {} txs …", a.txs);
    // Valid public txs for validation/execution; private spends for proofs.
    let public: Vec<Vec<u8>> = s.public_mix(a.txs);
    let mut rng = <ark_std::rand::rngs::StdRng as ark_std::rand::SeedableRng>::seed_from_u64(5);
    let spends: Vec<Vec<u8>> = (0..64)
        .map(|i| s.private_spend(i % 32, (i + 1) % 32, 1, &mut rng).encode())
        .collect();
    let load = |s: Stage| {
        engine
            .load(s, &a.modules.component(s)?)
            .map_err(|e| anyhow!("{s}: {e}"))
    };
    let m_val = load(Stage::Validation)?;
    let m_prf = load(Stage::Proofs)?;
    let m_exe = load(Stage::Execution)?;
    let root = |b: &Vec<u8>| {
        cairn_protocol::stages::validate(b, &ctx, &*st, &NativeCrypto)
            .map(|v| (b.clone(), v.note_root))
            .ok()
    };
    let pub_valid: Vec<(Vec<u8>, ark_bn254::Fr)> = public.iter().filter_map(root).collect();
    let spend_valid: Vec<(Vec<u8>, ark_bn254::Fr)> = spends.iter().filter_map(root).collect();
    if pub_valid.len() != public.len() || spend_valid.len() != spends.len() {
        bail!("bench corpus did not validate");
    }
    let reps = a.reps;
    let stage_pair = |name: &str, native: Duration, wasm: Duration, goal: f64, n: usize| {
        let overhead = wasm.as_secs_f64() / native.as_secs_f64() - 1.0;
        json!({"stage": name, "txs": n, "nativeMs": native.as_secs_f64() * 1e3, "wasmMs": wasm.as_secs_f64() * 1e3,
               "overheadPercent": overhead * 100.0, "goalPercent": goal * 100.0, "meetsGoal": overhead <= goal})
    };
    eprintln!("bench: validation …");
    let (v_nat, v_wasm) = time_pair(
        "tx-validation",
        reps,
        || cairn_engine::native::validate(&*st, &ctx, &public),
        || engine.validate(&m_val, st.clone(), &ctx, &public),
    )?;
    eprintln!("bench: execution …");
    let (e_nat, e_wasm) = time_pair(
        "public-execution",
        reps,
        || cairn_engine::native::execute(&*st, &ctx, &pub_valid),
        || engine.execute(&m_exe, st.clone(), &ctx, &pub_valid),
    )?;
    eprintln!("bench: proofs …");
    // Short runs (~30 ms): more of them, or the machine's noise dominates the 5 % goal.
    let (p_nat, p_wasm) = time_pair(
        "proof-verification",
        reps * 4,
        || cairn_engine::native::verify(&*st, &spend_valid),
        || engine.verify(&m_prf, st.clone(), &spend_valid),
    )?;
    // Groth16 as a node meets proofs: the key warm, every proof new to the process (a proof
    // seen before would find its points decoded) and its statement too (every spend has its
    // own nullifier and binding, so its own vk_x; a pair that recurs 64 times has its Miller
    // loop memoised). STATEMENTS proven spends, each re-randomised REUSE times: the proofs are
    // all new, and no vk_x recurs more than REUSE times, far below the memo's threshold.
    let root = s.state.notes.root();
    let spend = |from: usize, to: usize, rng: &mut ark_std::rand::rngs::StdRng| {
        let tx = s.private_spend(from, to, 2, rng);
        let inputs = cairn_protocol::stages::spend_inputs(root, &tx.spends[0], tx.binding());
        (Proof::from_bytes(&tx.spends[0].proof), inputs)
    };
    let vk = cairn_zk::keys().vk.clone();
    // Warm the key with a statement that is not measured.
    let (warm, warm_inputs) = spend(31, 5, &mut rng);
    for _ in 0..128 {
        let _ = groth16::verify(&NativeCrypto, &vk, &warm, &warm_inputs);
    }
    let statements: Vec<(Proof, Vec<ark_bn254::Fr>)> = (0..STATEMENTS)
        .map(|i| spend(i, (i + 3) % 32, &mut rng))
        .collect();
    let mut fresh = |(base, inputs): &(Proof, Vec<ark_bn254::Fr>)| {
        let r = ark_bn254::Fr::from(rng.gen::<u64>() | 1);
        let t = ark_bn254::Fr::from(rng.gen::<u64>());
        groth16::rerandomize(&vk, base, r, t)
            .map(|p| (p, inputs.clone()))
            .map_err(|e| anyhow!("{e}"))
    };
    let singles_pool = (0..REUSE)
        .flat_map(|_| statements.iter())
        .map(&mut fresh)
        .collect::<Result<Vec<_>>>()?;
    // Each batch: every statement twice, as new proofs.
    let batches = (0..BATCHES)
        .map(|_| {
            statements
                .iter()
                .chain(statements.iter())
                .map(&mut fresh)
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    // The yardstick: a plain 3-pair multi-pairing of affine points (the textbook cost of a
    // Groth16 check), by the same arkworks code. Runs alternate with the verifications so
    // that the machine's drift hits both sides.
    let g1s: Vec<G1Affine> = (1..=3u64)
        .map(|k| (G1Affine::generator() * ark_bn254::Fr::from(k + 10)).into())
        .collect();
    let g2s: Vec<G2Affine> = (1..=3u64)
        .map(|k| (G2Affine::generator() * ark_bn254::Fr::from(k + 20)).into())
        .collect();
    let (mut singles, mut threes) = (Vec::new(), Vec::new());
    for (p, inputs) in &singles_pool {
        let t = Instant::now();
        let ok = groth16::verify(&NativeCrypto, &vk, p, inputs) == Ok(true);
        singles.push(t.elapsed());
        if !ok {
            bail!("a fresh bench proof did not verify");
        }
        let t = Instant::now();
        let _ = cairn_protocol::crypto::multi_pairing_is_one(&g1s, &g2s);
        threes.push(t.elapsed());
    }
    let single = median(singles);
    let three = median(threes);
    let mut batch_times = Vec::new();
    for b in &batches {
        let t = Instant::now();
        let ok = groth16::verify_batch(&NativeCrypto, &vk, b) == Ok(true);
        batch_times.push(t.elapsed());
        if !ok {
            bail!("a fresh bench batch did not verify");
        }
    }
    let batch64 = median(batch_times);
    let singles64 = single * 64;
    // Instantiation from InstancePre and a precompiled hot swap.
    let inst = {
        let n = 200;
        let t = Instant::now();
        for _ in 0..n {
            engine
                .instantiate_only(&m_exe)
                .map_err(|e| anyhow!("{e}"))?;
        }
        t.elapsed() / n
    };
    let cache = tempfile_dir()?;
    let cached = Engine::new(EngineConfig {
        cache_dir: Some(cache.clone()),
        ..EngineConfig::default()
    })?;
    let exe = a.modules.component(Stage::Execution)?;
    cached
        .load(Stage::Execution, &exe)
        .map_err(|e| anyhow!("{e}"))?; // compiles and caches
    let mut load_err = None;
    let swap = time(reps, || {
        if let Err(e) = cached.load(Stage::Execution, &exe) {
            load_err = Some(e);
        }
    });
    if let Some(e) = load_err {
        bail!("loading the cached execution component failed: {e}");
    }
    let _ = std::fs::remove_dir_all(&cache);
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "commit": env!("CAIRN_COMMIT"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "stagesRan": "components (outputs checked against native on every run)",
        "stages": [
            stage_pair("tx-validation", v_nat, v_wasm, 0.10, public.len()),
            stage_pair("public-execution", e_nat, e_wasm, 0.10, pub_valid.len()),
            stage_pair("proof-verification", p_nat, p_wasm, 0.05, spend_valid.len()),
        ],
        "groth16": {
            "singleVerifyMs": single.as_secs_f64() * 1e3,
            "threePairMultiPairingMs": three.as_secs_f64() * 1e3,
            "singleProofs": STATEMENTS * REUSE,
            "statements": STATEMENTS,
            "batches": BATCHES,
            "singleAtOrBelowThreePairing": single <= three,
            "batch64Ms": batch64.as_secs_f64() * 1e3,
            "singles64Ms": singles64.as_secs_f64() * 1e3,
            "batchRatio": batch64.as_secs_f64() / singles64.as_secs_f64(),
            "batchUnder40Percent": batch64.as_secs_f64() < 0.40 * singles64.as_secs_f64(),
        },
        "instantiateFromInstancePreMicros": inst.as_secs_f64() * 1e6,
        "instantiateUnder20Micros": inst < Duration::from_micros(20),
        "hotSwapPrecompiledMs": swap.as_secs_f64() * 1e3,
        "hotSwapUnder50Ms": swap < Duration::from_millis(50),
    });
    print_json(&report);
    if let Some(out) = a.out {
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("cairn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
