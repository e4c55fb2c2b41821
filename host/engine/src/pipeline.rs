//! Stage slots with hot swap, the native twins, and block processing through the pipeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ark_bn254::Fr;
use cairn_protocol::crypto::NativeCrypto;
use cairn_protocol::stages::{self, BlockContext, StateView, ValidTx};
use cairn_protocol::tx::Tx;
use thiserror::Error;

use crate::engine::{Engine, Fault, LoadError, Module};
use crate::{Reject, Stage, Validated};

/// What runs a stage.
pub enum Backend {
    /// `cairn_protocol::stages` in this process.
    Native,
    /// A component.
    Wasm(Module),
}

impl Backend {
    /// `native` or `name@version`.
    pub fn label(&self) -> String {
        match self {
            Backend::Native => "native".into(),
            Backend::Wasm(m) => format!("{}@{}", m.identity.name, m.identity.version),
        }
    }
}

struct Slot {
    active: RwLock<Arc<Backend>>,
    pending: Mutex<Option<Arc<Backend>>>,
    previous: Mutex<Option<Arc<Backend>>>,
}

/// Why a module was not accepted for a slot.
#[derive(Debug, Error)]
pub enum SwapError {
    /// Load failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Not newer than the active module.
    #[error("refusing {new}: not newer than the active {active} (use rollback to go back)")]
    Downgrade {
        /// Candidate version.
        new: String,
        /// Active version.
        active: String,
    },
    /// Same version, different code.
    #[error("refusing {0}: the active module has the same version with different code")]
    VersionReuse(String),
    /// The self-check disagreed with the native twin or faulted.
    #[error("self-check failed: {0}")]
    SelfCheck(String),
    /// Nothing to roll back to.
    #[error("no previous module for {0}")]
    NothingToRollBack(Stage),
}

/// Timing of a load (→ pending) and of the activation at the next block boundary.
#[derive(Debug, Clone)]
pub struct SwapReport {
    /// Stage.
    pub stage: Stage,
    /// New module's label.
    pub module: String,
    /// Load (compile or cache) + link + identity.
    pub load: Duration,
    /// Self-check against the native twin.
    pub self_check: Duration,
}

/// One tx's way through the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutcome {
    /// Included: canonical effects bytes.
    Included(Vec<u8>),
    /// Rejected at a stage.
    Rejected(Stage, Reject),
}

/// A block's result.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    /// Per tx, in input order.
    pub txs: Vec<TxOutcome>,
    /// Faults contained while processing (stage, module, fault); the native twin re-ran them.
    pub faults: Vec<(Stage, String, Fault)>,
    /// Time per stage.
    pub timings: [Duration; 4],
}

/// The four stage slots over one engine.
pub struct Pipeline {
    engine: Arc<Engine>,
    slots: [Slot; 4],
    check_state: Arc<dyn StateView + Send + Sync>,
    check_ctx: BlockContext,
    check_txs: Vec<Vec<u8>>,
    fallbacks: [AtomicU64; 4],
}

fn slot() -> Slot {
    Slot {
        active: RwLock::new(Arc::new(Backend::Native)),
        pending: Mutex::new(None),
        previous: Mutex::new(None),
    }
}

fn internal(message: &str) -> Reject {
    Reject {
        code: "internal".into(),
        message: message.into(),
    }
}

/// Native twin of the validation stage.
pub fn native_validate(
    state: &dyn StateView,
    ctx: &BlockContext,
    txs: &[Vec<u8>],
) -> Vec<Result<Validated, Reject>> {
    txs.iter()
        .map(|b| {
            stages::validate(b, ctx, state, &NativeCrypto)
                .map(|v| Validated {
                    hash: v.hash,
                    note_root: v.note_root,
                })
                .map_err(Reject::from)
        })
        .collect()
}

fn decode_valid(txs: &[(Vec<u8>, Fr)]) -> Vec<Option<ValidTx>> {
    txs.iter()
        .map(|(b, r)| {
            Tx::decode(b).ok().map(|tx| ValidTx {
                hash: tx.hash(),
                note_root: *r,
                tx,
            })
        })
        .collect()
}

/// Native twin of the proof stage.
pub fn native_verify(state: &dyn StateView, txs: &[(Vec<u8>, Fr)]) -> Vec<Result<(), Reject>> {
    let d = decode_valid(txs);
    let ok: Vec<ValidTx> = d.iter().flatten().cloned().collect();
    let mut v = stages::verify_proofs(&ok, state, &NativeCrypto).into_iter();
    d.iter()
        .map(|x| match x {
            None => Err(Reject {
                code: "malformed".into(),
                message: "malformed: not a canonical tx".into(),
            }),
            Some(_) => v.next().unwrap_or(Ok(())).map_err(Reject::from),
        })
        .collect()
}

/// Native twin of the execution stage.
pub fn native_execute(
    state: &dyn StateView,
    ctx: &BlockContext,
    txs: &[(Vec<u8>, Fr)],
) -> Vec<Result<Vec<u8>, Reject>> {
    let d = decode_valid(txs);
    let ok: Vec<ValidTx> = d.iter().flatten().cloned().collect();
    let mut r = stages::execute_block(&ok, ctx, state).into_iter();
    d.iter()
        .map(|x| match x {
            None => Err(Reject {
                code: "malformed".into(),
                message: "malformed: not a canonical tx".into(),
            }),
            Some(_) => match r.next() {
                Some(Ok(e)) => Ok(e.encode()),
                Some(Err(e)) => Err(e.into()),
                None => Err(Reject {
                    code: "internal".into(),
                    message: "missing result".into(),
                }),
            },
        })
        .collect()
}

impl Pipeline {
    /// All stages native. `check_*` is the self-check corpus every candidate module must
    /// process exactly like the native twin before it can be activated.
    pub fn new(
        engine: Arc<Engine>,
        check_state: Arc<dyn StateView + Send + Sync>,
        check_ctx: BlockContext,
        check_txs: Vec<Vec<u8>>,
    ) -> Pipeline {
        Pipeline {
            engine,
            slots: [slot(), slot(), slot(), slot()],
            check_state,
            check_ctx,
            check_txs,
            fallbacks: Default::default(),
        }
    }

    /// Calls per stage (pipeline order) whose module faulted, so the native twin answered
    /// instead: `cairn_pipeline_native_fallbacks_total`. Non-zero means the node is not running
    /// the code it reports as active.
    pub fn fallbacks(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.fallbacks[i].load(Ordering::Relaxed))
    }

    fn fell_back(&self, stage: Stage, module: &str, fault: &Fault) {
        self.fallbacks[stage.index()].fetch_add(1, Ordering::Relaxed);
        tracing::warn!(stage = %stage, module = %module, fault = %fault, "module fault contained; the native twin answered instead");
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The backend a block should use for `stage` (held for the whole block).
    pub fn backend(&self, stage: Stage) -> Arc<Backend> {
        self.slots[stage.index()]
            .active
            .read()
            .map(|a| a.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Labels of the active backends.
    pub fn active(&self) -> Vec<(Stage, String)> {
        Stage::ALL
            .iter()
            .map(|s| (*s, self.backend(*s).label()))
            .collect()
    }

    /// Loads a candidate for `stage`: link, identity and upgrade rules, self-check against the
    /// native twin. On success it is pending until the next [`block_boundary`](Self::block_boundary).
    pub fn load(&self, stage: Stage, bytes: &[u8]) -> Result<SwapReport, SwapError> {
        let t0 = Instant::now();
        let m = self.engine.load(stage, bytes)?;
        let load = t0.elapsed();
        if let Backend::Wasm(active) = &*self.backend(stage) {
            match (m.identity.semver(), active.identity.semver()) {
                (Some(n), Some(a)) if n < a => {
                    return Err(SwapError::Downgrade {
                        new: m.identity.version.clone(),
                        active: active.identity.version.clone(),
                    })
                }
                (Some(n), Some(a)) if n == a && m.identity.hash != active.identity.hash => {
                    return Err(SwapError::VersionReuse(m.identity.version.clone()))
                }
                _ => {}
            }
        }
        let t1 = Instant::now();
        self.self_check(stage, &m)?;
        let self_check = t1.elapsed();
        let report = SwapReport {
            stage,
            module: format!("{}@{}", m.identity.name, m.identity.version),
            load,
            self_check,
        };
        if let Ok(mut p) = self.slots[stage.index()].pending.lock() {
            *p = Some(Arc::new(Backend::Wasm(m)));
        }
        Ok(report)
    }

    fn self_check(&self, stage: Stage, m: &Module) -> Result<(), SwapError> {
        let state = self.check_state.clone();
        let ctx = self.check_ctx;
        let native_v = native_validate(&*state, &ctx, &self.check_txs);
        let valid: Vec<(Vec<u8>, Fr)> = self
            .check_txs
            .iter()
            .zip(&native_v)
            .filter_map(|(b, v)| v.as_ref().ok().map(|v| (b.clone(), v.note_root)))
            .collect();
        let fault = |f: Fault| SwapError::SelfCheck(format!("the module faulted: {f}"));
        let same = match stage {
            Stage::Validation => {
                self.engine
                    .validate(m, state.clone(), &ctx, &self.check_txs)
                    .map_err(fault)?
                    == native_v
            }
            Stage::Proofs => {
                self.engine
                    .verify(m, state.clone(), &valid)
                    .map_err(fault)?
                    == native_verify(&*state, &valid)
            }
            Stage::Execution => {
                self.engine
                    .execute(m, state.clone(), &ctx, &valid)
                    .map_err(fault)?
                    == native_execute(&*state, &ctx, &valid)
            }
            Stage::Attestation => {
                let h = stages::BlockHeader {
                    chain_id: ctx.chain_id,
                    rollup_version: ctx.rollup_version,
                    block_number: ctx.block_number,
                    slot: 1,
                    fee_per_mana: ctx.fee_per_mana,
                    coinbase: ctx.coinbase,
                    previous_archive: [1; 32],
                    note_root: [2; 32],
                    nullifier_root: [3; 32],
                    public_data_root: [4; 32],
                    effects_hash: [5; 32],
                    tx_count: 1,
                    gas_used: 1,
                };
                let mut other = h.clone();
                other.note_root = [9; 32];
                let ok = self
                    .engine
                    .attest(m, &h.encode(), &h.encode())
                    .map_err(fault)?
                    == stages::attest(&h.encode(), &h, &NativeCrypto).map_err(|e| e.to_string());
                let bad = self
                    .engine
                    .attest(m, &other.encode(), &h.encode())
                    .map_err(fault)?
                    == stages::attest(&other.encode(), &h, &NativeCrypto)
                        .map_err(|e| e.to_string());
                ok && bad
            }
        };
        if !same {
            return Err(SwapError::SelfCheck(
                "results differ from the native twin on the self-check corpus".into(),
            ));
        }
        Ok(())
    }

    /// Makes `m` pending without the upgrade rules or the self-check: for tests that need a
    /// misbehaving module in a slot, and for an operator's explicit override.
    pub fn activate_unchecked(&self, stage: Stage, m: Module) {
        if let Ok(mut p) = self.slots[stage.index()].pending.lock() {
            *p = Some(Arc::new(Backend::Wasm(m)));
        }
    }

    /// Activates pending modules; call between blocks. Returns the stages that changed.
    pub fn block_boundary(&self) -> Vec<Stage> {
        let mut changed = Vec::new();
        for s in Stage::ALL {
            let slot = &self.slots[s.index()];
            let next = slot.pending.lock().ok().and_then(|mut p| p.take());
            if let Some(next) = next {
                if let Ok(mut a) = slot.active.write() {
                    let old = std::mem::replace(&mut *a, next);
                    if let Ok(mut prev) = slot.previous.lock() {
                        *prev = Some(old);
                    }
                    changed.push(s);
                }
            }
        }
        changed
    }

    /// Puts the previous backend of `stage` back (effective immediately for the next block).
    pub fn rollback(&self, stage: Stage) -> Result<String, SwapError> {
        let slot = &self.slots[stage.index()];
        let prev = slot
            .previous
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .ok_or(SwapError::NothingToRollBack(stage))?;
        let label = prev.label();
        if let Ok(mut a) = slot.active.write() {
            *a = prev;
        }
        Ok(label)
    }

    /// Runs a block's txs through validation, proofs and execution with the backends active at
    /// its start. A module fault is contained: the stage re-runs natively for this block and
    /// the fault is reported.
    pub fn process_block(
        &self,
        state: Arc<dyn StateView + Send + Sync>,
        ctx: &BlockContext,
        txs: &[Vec<u8>],
    ) -> BlockOutcome {
        let backends = [
            self.backend(Stage::Validation),
            self.backend(Stage::Proofs),
            self.backend(Stage::Execution),
        ];
        let mut faults = Vec::new();
        let mut timings = [Duration::ZERO; 4];
        let mut out: Vec<Option<TxOutcome>> = vec![None; txs.len()];

        let t = Instant::now();
        let (validated, f) = self.run_stage(
            Stage::Validation,
            &backends[0],
            || native_validate(&*state, ctx, txs),
            |m| self.engine.validate(m, state.clone(), ctx, txs),
        );
        faults.extend(f);
        timings[0] = t.elapsed();
        let mut live: Vec<(usize, Vec<u8>, Fr)> = Vec::new();
        for (i, v) in validated.into_iter().enumerate() {
            match v {
                Ok(v) => live.push((i, txs[i].clone(), v.note_root)),
                Err(r) => out[i] = Some(TxOutcome::Rejected(Stage::Validation, r)),
            }
        }

        let t = Instant::now();
        let input: Vec<(Vec<u8>, Fr)> = live.iter().map(|(_, b, r)| (b.clone(), *r)).collect();
        let (verified, f) = self.run_stage(
            Stage::Proofs,
            &backends[1],
            || native_verify(&*state, &input),
            |m| self.engine.verify(m, state.clone(), &input),
        );
        faults.extend(f);
        timings[1] = t.elapsed();
        let mut exec_in = Vec::new();
        let mut exec_idx = Vec::new();
        for ((i, b, r), v) in live.into_iter().zip(verified) {
            match v {
                Ok(()) => {
                    exec_in.push((b, r));
                    exec_idx.push(i);
                }
                Err(rej) => out[i] = Some(TxOutcome::Rejected(Stage::Proofs, rej)),
            }
        }

        let t = Instant::now();
        let (executed, f) = self.run_stage(
            Stage::Execution,
            &backends[2],
            || native_execute(&*state, ctx, &exec_in),
            |m| self.engine.execute(m, state.clone(), ctx, &exec_in),
        );
        faults.extend(f);
        timings[2] = t.elapsed();
        for (i, e) in exec_idx.into_iter().zip(executed) {
            out[i] = Some(match e {
                Ok(bytes) => TxOutcome::Included(bytes),
                Err(r) => TxOutcome::Rejected(Stage::Execution, r),
            });
        }
        BlockOutcome {
            txs: out
                .into_iter()
                .map(|o| {
                    o.unwrap_or(TxOutcome::Rejected(
                        Stage::Validation,
                        Reject {
                            code: "internal".into(),
                            message: "no outcome".into(),
                        },
                    ))
                })
                .collect(),
            faults,
            timings,
        }
    }

    /// Runs the attestation stage with the active backend (native on a fault, counted).
    pub fn attest(
        &self,
        proposal: &[u8],
        local: &stages::BlockHeader,
    ) -> (Result<[u8; 32], String>, Option<Fault>) {
        let (r, fault) = self.run_stage(
            Stage::Attestation,
            &self.backend(Stage::Attestation),
            || stages::attest(proposal, local, &NativeCrypto).map_err(|e| e.to_string()),
            |m| self.engine.attest(m, proposal, &local.encode()),
        );
        (r, fault.map(|(_, _, f)| f))
    }

    /// Admission of one tx into a pool: the validation and proof stages with the active
    /// backends against `state` (the tip the next block builds on). The same code paths as a
    /// block, so a module that would reject a tx in a block rejects it here too.
    pub fn admit(
        &self,
        state: Arc<dyn StateView + Send + Sync>,
        ctx: &BlockContext,
        tx: &[u8],
    ) -> Result<Validated, (Stage, Reject)> {
        let txs = [tx.to_vec()];
        let (v, _) = self.run_stage(
            Stage::Validation,
            &self.backend(Stage::Validation),
            || native_validate(&*state, ctx, &txs),
            |m| self.engine.validate(m, state.clone(), ctx, &txs),
        );
        let valid = match v.into_iter().next() {
            Some(Ok(v)) => v,
            Some(Err(r)) => return Err((Stage::Validation, r)),
            None => return Err((Stage::Validation, internal("no validation result"))),
        };
        let input = [(tx.to_vec(), valid.note_root)];
        let (p, _) = self.run_stage(
            Stage::Proofs,
            &self.backend(Stage::Proofs),
            || native_verify(&*state, &input),
            |m| self.engine.verify(m, state.clone(), &input),
        );
        match p.into_iter().next() {
            Some(Ok(())) => Ok(valid),
            Some(Err(r)) => Err((Stage::Proofs, r)),
            None => Err((Stage::Proofs, internal("no proof result"))),
        }
    }

    /// Runs `stage` on its active backend. A module fault is contained: counted, logged, and
    /// the native twin answers instead; the fault is returned for the caller's report.
    fn run_stage<T>(
        &self,
        stage: Stage,
        backend: &Backend,
        native: impl FnOnce() -> T,
        wasm: impl FnOnce(&Module) -> Result<T, Fault>,
    ) -> (T, Option<(Stage, String, Fault)>) {
        match backend {
            Backend::Native => (native(), None),
            Backend::Wasm(m) => match wasm(m) {
                Ok(t) => (t, None),
                Err(fault) => {
                    let label = backend.label();
                    self.fell_back(stage, &label, &fault);
                    (native(), Some((stage, label, fault)))
                }
            },
        }
    }
}
