//! The wasmtime engine: configuration, loading (compile or precompiled cache), linking, module
//! identity, and calling a stage with fuel, a deadline and limits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::stages::{BlockContext, StateView};
use sha2::{Digest, Sha256};
use thiserror::Error;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder, Trap,
};

use crate::bindings::{
    self, attestation::AttestationStagePre, execution::PublicExecutionPre,
    proofs::ProofVerificationPre, TxValidationPre,
};
use crate::host::{GasExhausted, HostData};
use crate::{Reject, Stage, Validated, WIT_VERSION};

/// Engine limits and budgets.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Fuel (≈ wasm instructions) per stage call: the deterministic bound.
    pub fuel: u64,
    /// Host-call gas per stage call.
    pub host_gas: u64,
    /// Wall-clock watchdog: epoch ticks of `tick` each before a call is interrupted.
    pub deadline_ticks: u64,
    /// Epoch tick.
    pub tick: Duration,
    /// Largest linear memory of an instance.
    pub max_memory: usize,
    /// Wasm stack size.
    pub max_stack: usize,
    /// Pooled instance slots.
    pub pool_instances: u32,
    /// Where precompiled artifacts are cached (by content hash); `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            fuel: 20_000_000_000,
            host_gas: 5_000_000_000,
            deadline_ticks: 500,
            tick: Duration::from_millis(10),
            max_memory: 256 << 20,
            max_stack: 1 << 20,
            pool_instances: 32,
            cache_dir: None,
        }
    }
}

/// Why a module could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Not a component, or fails validation/compilation.
    #[error("not a valid component: {0}")]
    Invalid(String),
    /// It does not export the stage's world (or imports something the host does not provide).
    #[error("does not implement the {stage} world of cairn:pipeline@{WIT_VERSION}: {detail}")]
    WrongWorld {
        /// The slot's stage.
        stage: Stage,
        /// The linker's explanation.
        detail: String,
    },
    /// It imports something other than cairn:pipeline's host interfaces, typically WASI
    /// because it was built for wasm32-wasip2: a stage must not reach a clock, entropy or files.
    #[error(
        "imports `{import}`: a stage may import only cairn:pipeline's host interfaces (no WASI: \
         no clock, entropy or files); build it for wasm32-unknown-unknown and wrap it with \
         `cairn module componentize` (docs/pipeline.md)"
    )]
    ForbiddenImport {
        /// The first import outside cairn:pipeline.
        import: String,
    },
    /// Identity says another stage or WIT version.
    #[error("identity mismatch: {0}")]
    Identity(String),
    /// It failed while reporting its identity.
    #[error("identity call failed: {0}")]
    Fault(Fault),
    /// The artifact cache could not be used.
    #[error("artifact cache: {0}")]
    Cache(String),
}

/// How a stage call failed inside the module. The node contains it: the call's result is
/// discarded, the module is reported, and the node continues.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Fault {
    /// Fuel exhausted (deterministic).
    #[error("out of fuel")]
    OutOfFuel,
    /// The wall-clock watchdog fired.
    #[error("deadline exceeded")]
    Deadline,
    /// A memory grow beyond the limit.
    #[error("memory limit exceeded")]
    Memory,
    /// Wasm stack exhausted.
    #[error("stack overflow")]
    StackOverflow,
    /// Host-call gas exhausted.
    #[error("host-call gas exhausted")]
    HostGas,
    /// Any other trap.
    #[error("trap: {0}")]
    Trap(String),
    /// The module returned a result of the wrong shape (e.g. wrong count).
    #[error("bad result: {0}")]
    BadResult(String),
}

impl Fault {
    /// Stable name for metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Fault::OutOfFuel => "out-of-fuel",
            Fault::Deadline => "deadline",
            Fault::Memory => "memory",
            Fault::StackOverflow => "stack-overflow",
            Fault::HostGas => "host-gas",
            Fault::Trap(_) => "trap",
            Fault::BadResult(_) => "bad-result",
        }
    }

    fn of(e: wasmtime::Error) -> Fault {
        if let Some(t) = e.downcast_ref::<Trap>() {
            return match t {
                Trap::OutOfFuel => Fault::OutOfFuel,
                Trap::Interrupt => Fault::Deadline,
                Trap::StackOverflow => Fault::StackOverflow,
                other => Fault::Trap(other.to_string()),
            };
        }
        if e.downcast_ref::<GasExhausted>().is_some() {
            return Fault::HostGas;
        }
        let text = format!("{e:#}");
        if text.contains("grow") || text.contains("memory") && text.contains("limit") {
            return Fault::Memory;
        }
        Fault::Trap(text)
    }
}

/// A module's identity as it reports it, plus its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stage.
    pub stage: String,
    /// Crate name.
    pub name: String,
    /// semver.
    pub version: String,
    /// WIT package version.
    pub wit_version: String,
    /// sha-256 of the component bytes.
    pub hash: [u8; 32],
}

impl Identity {
    /// `(major, minor, patch)`, if `version` is semver.
    pub fn semver(&self) -> Option<(u64, u64, u64)> {
        let core = self.version.split(['-', '+']).next()?;
        let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
        Some((it.next()??, it.next()??, it.next()??))
    }
}

pub(crate) enum Pre {
    Validation(TxValidationPre<HostData>),
    Proofs(ProofVerificationPre<HostData>),
    Execution(PublicExecutionPre<HostData>),
    Attestation(AttestationStagePre<HostData>),
}

/// A loaded, linked component for one stage.
pub struct Module {
    /// Identity.
    pub identity: Identity,
    pre: Pre,
}

/// One wasmtime engine and linker for every stage and module version.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<HostData>,
    cfg: EngineConfig,
    stop: Arc<AtomicBool>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Wraps a core wasm module built by wit-bindgen (wasm32-unknown-unknown) into a component.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, LoadError> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| LoadError::Invalid(format!("{e:#}")))
}

/// sha-256 of bytes.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Engine {
    /// An engine with `cfg`; starts the epoch ticker thread.
    pub fn new(cfg: EngineConfig) -> anyhow::Result<Engine> {
        let mut c = Config::new();
        c.wasm_component_model(true);
        c.consume_fuel(true);
        c.epoch_interruption(true);
        c.max_wasm_stack(cfg.max_stack);
        c.cranelift_nan_canonicalization(true);
        c.memory_init_cow(true);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(cfg.pool_instances);
        pool.total_core_instances(cfg.pool_instances * 2);
        pool.total_memories(cfg.pool_instances * 2);
        pool.total_tables(cfg.pool_instances * 2);
        pool.max_memory_size(cfg.max_memory);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine =
            wasmtime::Engine::new(&c).map_err(|e| anyhow::anyhow!("wasmtime engine: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        bindings::TxValidation::add_to_linker::<HostData, wasmtime::component::HasSelf<HostData>>(
            &mut linker,
            |h| h,
        )
        .map_err(|e| anyhow::anyhow!("linking host imports: {e:#}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (e, stop, tick) = (engine.clone(), stop.clone(), cfg.tick);
            std::thread::Builder::new()
                .name("cairn-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        e.increment_epoch();
                    }
                })?;
        }
        Ok(Engine {
            engine,
            linker,
            cfg,
            stop,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    fn compile(&self, bytes: &[u8], hash: &[u8; 32]) -> Result<Component, LoadError> {
        let Some(dir) = &self.cfg.cache_dir else {
            return Component::new(&self.engine, bytes)
                .map_err(|e| LoadError::Invalid(format!("{e:#}")));
        };
        let path = dir.join(format!("{}.cwasm", hex::encode(hash)));
        // Read into memory rather than mmap: a cache file changed in place under a mapping
        // would take the process down with SIGBUS.
        let file = std::fs::read(&path).ok();
        if let Some(art) = file.as_deref().and_then(verified_artifact) {
            // SAFETY: `verified_artifact` checked the sha-256 this engine wrote in front of the
            // artifact when it serialized it, so these are bytes wasmtime produced (in a 0700
            // directory the node owns, named by the source's hash); wasmtime additionally
            // refuses artifacts from another version or configuration.
            #[allow(unsafe_code)]
            let c = unsafe { Component::deserialize(&self.engine, art) };
            match c {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unusable cached artifact")
                }
            }
        } else if path.exists() {
            tracing::warn!(path = %path.display(), "ignoring a cached artifact whose checksum does not match");
        }
        let c = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        write_cache(dir, &path, &c).map_err(LoadError::Cache)?;
        Ok(c)
    }

    /// Loads `bytes` (a component) for `stage`: compiles (or reuses the cached artifact), links
    /// against the stage's world, and asks the module who it is.
    pub fn load(&self, stage: Stage, bytes: &[u8]) -> Result<Module, LoadError> {
        let hash = content_hash(bytes);
        let component = self.compile(bytes, &hash)?;
        // Checked before linking so the operator learns what is wrong and what to do, not
        // just which WASI resource the linker missed.
        if let Some(import) = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name)
            .find(|name| !name.starts_with("cairn:pipeline/"))
        {
            return Err(LoadError::ForbiddenImport {
                import: import.to_string(),
            });
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WrongWorld {
                stage,
                detail: format!("{e:#}"),
            })?;
        let wrong = |e: wasmtime::Error| LoadError::WrongWorld {
            stage,
            detail: format!("{e:#}"),
        };
        let pre = match stage {
            Stage::Validation => Pre::Validation(TxValidationPre::new(pre).map_err(wrong)?),
            Stage::Proofs => Pre::Proofs(ProofVerificationPre::new(pre).map_err(wrong)?),
            Stage::Execution => Pre::Execution(PublicExecutionPre::new(pre).map_err(wrong)?),
            Stage::Attestation => Pre::Attestation(AttestationStagePre::new(pre).map_err(wrong)?),
        };
        let mut m = Module {
            identity: Identity {
                stage: String::new(),
                name: String::new(),
                version: String::new(),
                wit_version: String::new(),
                hash,
            },
            pre,
        };
        let id = self.identity(&m).map_err(LoadError::Fault)?;
        if id.stage != stage.name() {
            return Err(LoadError::Identity(format!(
                "module says it is a {} stage, loaded as {}",
                id.stage,
                stage.name()
            )));
        }
        if id.wit_version != WIT_VERSION {
            return Err(LoadError::Identity(format!(
                "built against WIT {}, the node speaks {WIT_VERSION}",
                id.wit_version
            )));
        }
        if (Identity {
            version: id.version.clone(),
            ..m.identity.clone()
        })
        .semver()
        .is_none()
        {
            return Err(LoadError::Identity(format!(
                "version {:?} is not semver",
                id.version
            )));
        }
        m.identity = Identity { hash, ..id };
        Ok(m)
    }

    fn store(&self, state: Option<Arc<dyn StateView + Send + Sync>>) -> Store<HostData> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.cfg.max_memory)
            .instances(16)
            .tables(16)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.engine,
            HostData {
                state,
                gas_used: 0,
                gas_limit: self.cfg.host_gas,
                limits,
                logs: Vec::new(),
                calls: 0,
            },
        );
        store.limiter(|h| &mut h.limits);
        // Fuel is enabled in the config, so setting it cannot fail.
        let _ = store.set_fuel(self.cfg.fuel);
        store.set_epoch_deadline(self.cfg.deadline_ticks);
        store
    }

    fn identity(&self, m: &Module) -> Result<Identity, Fault> {
        let mut store = self.store(None);
        let id = match &m.pre {
            Pre::Validation(p) => p
                .instantiate(&mut store)
                .and_then(|i| i.cairn_pipeline_identity().call_identity(&mut store)),
            Pre::Proofs(p) => p
                .instantiate(&mut store)
                .and_then(|i| i.cairn_pipeline_identity().call_identity(&mut store)),
            Pre::Execution(p) => p
                .instantiate(&mut store)
                .and_then(|i| i.cairn_pipeline_identity().call_identity(&mut store)),
            Pre::Attestation(p) => p
                .instantiate(&mut store)
                .and_then(|i| i.cairn_pipeline_identity().call_identity(&mut store)),
        }
        .map_err(Fault::of)?;
        Ok(Identity {
            stage: id.stage,
            name: id.name,
            version: id.version,
            wit_version: id.wit_version,
            hash: m.identity.hash,
        })
    }

    /// Instantiates `m` once and drops it (for benchmarks of instantiation alone).
    pub fn instantiate_only(&self, m: &Module) -> Result<(), Fault> {
        let mut store = self.store(None);
        match &m.pre {
            Pre::Validation(p) => p.instantiate(&mut store).map(|_| ()),
            Pre::Proofs(p) => p.instantiate(&mut store).map(|_| ()),
            Pre::Execution(p) => p.instantiate(&mut store).map(|_| ()),
            Pre::Attestation(p) => p.instantiate(&mut store).map(|_| ()),
        }
        .map_err(Fault::of)
    }

    /// Runs the validation stage of `m` on `txs`.
    pub fn validate(
        &self,
        m: &Module,
        state: Arc<dyn StateView + Send + Sync>,
        ctx: &BlockContext,
        txs: &[Vec<u8>],
    ) -> Result<Vec<Result<Validated, Reject>>, Fault> {
        let Pre::Validation(p) = &m.pre else {
            return Err(Fault::BadResult("not a validation module".into()));
        };
        let mut store = self.store(Some(state));
        let inst = p.instantiate(&mut store).map_err(Fault::of)?;
        let out = inst
            .cairn_pipeline_validation()
            .call_validate(&mut store, &wit_ctx(ctx), txs)
            .map_err(Fault::of)?;
        check_len(out.len(), txs.len())?;
        out.into_iter()
            .map(|r| match r {
                Ok(v) => {
                    let hash = <[u8; 32]>::try_from(v.hash.as_slice())
                        .map_err(|_| Fault::BadResult("hash is not 32 bytes".into()))?;
                    let root = <[u8; 32]>::try_from(v.note_root.as_slice())
                        .ok()
                        .and_then(|b| cairn_protocol::field::fr_from_raw(&b))
                        .ok_or_else(|| {
                            Fault::BadResult("note root is not a field element".into())
                        })?;
                    Ok(Ok(Validated {
                        hash,
                        note_root: root,
                    }))
                }
                Err(e) => Ok(Err(Reject {
                    code: e.code,
                    message: e.message,
                })),
            })
            .collect()
    }

    /// Runs the proof-verification stage of `m`.
    pub fn verify(
        &self,
        m: &Module,
        state: Arc<dyn StateView + Send + Sync>,
        txs: &[(Vec<u8>, ark_bn254::Fr)],
    ) -> Result<Vec<Result<(), Reject>>, Fault> {
        let Pre::Proofs(p) = &m.pre else {
            return Err(Fault::BadResult("not a proof-verification module".into()));
        };
        let mut store = self.store(Some(state));
        let inst = p.instantiate(&mut store).map_err(Fault::of)?;
        let input: Vec<bindings::cairn::pipeline::types::TxIn> = txs
            .iter()
            .map(|(b, r)| bindings::cairn::pipeline::types::TxIn {
                bytes: b.clone(),
                note_root: cairn_protocol::field::fr_to_raw(r).to_vec(),
            })
            .collect();
        let out = inst
            .cairn_pipeline_proofs()
            .call_verify(&mut store, &input)
            .map_err(Fault::of)?;
        check_len(out.len(), txs.len())?;
        Ok(out
            .into_iter()
            .map(|r| {
                r.map_err(|e| Reject {
                    code: e.code,
                    message: e.message,
                })
            })
            .collect())
    }

    /// Runs the public-execution stage of `m` over a block's txs.
    pub fn execute(
        &self,
        m: &Module,
        state: Arc<dyn StateView + Send + Sync>,
        ctx: &BlockContext,
        txs: &[(Vec<u8>, ark_bn254::Fr)],
    ) -> Result<Vec<Result<Vec<u8>, Reject>>, Fault> {
        let Pre::Execution(p) = &m.pre else {
            return Err(Fault::BadResult("not a public-execution module".into()));
        };
        let mut store = self.store(Some(state));
        let inst = p.instantiate(&mut store).map_err(Fault::of)?;
        let input: Vec<bindings::cairn::pipeline::types::TxIn> = txs
            .iter()
            .map(|(b, r)| bindings::cairn::pipeline::types::TxIn {
                bytes: b.clone(),
                note_root: cairn_protocol::field::fr_to_raw(r).to_vec(),
            })
            .collect();
        let out = inst
            .cairn_pipeline_execution()
            .call_execute(&mut store, &wit_ctx(ctx), &input)
            .map_err(Fault::of)?;
        tracing::debug!(
            host_calls = store.data().calls,
            fuel_left = store.get_fuel().unwrap_or(0),
            "execute"
        );
        check_len(out.len(), txs.len())?;
        Ok(out
            .into_iter()
            .map(|r| {
                r.map_err(|e| Reject {
                    code: e.code,
                    message: e.message,
                })
            })
            .collect())
    }

    /// Runs the attestation stage of `m`.
    pub fn attest(
        &self,
        m: &Module,
        proposal: &[u8],
        local: &[u8],
    ) -> Result<Result<[u8; 32], String>, Fault> {
        let Pre::Attestation(p) = &m.pre else {
            return Err(Fault::BadResult("not an attestation module".into()));
        };
        let mut store = self.store(None);
        let inst = p.instantiate(&mut store).map_err(Fault::of)?;
        let out = inst
            .cairn_pipeline_attestation()
            .call_attest(&mut store, proposal, local)
            .map_err(Fault::of)?;
        Ok(match out {
            Ok(d) => Ok(<[u8; 32]>::try_from(d.as_slice())
                .map_err(|_| Fault::BadResult("digest is not 32 bytes".into()))?),
            Err(e) => Err(e),
        })
    }
}

fn check_len(got: usize, want: usize) -> Result<(), Fault> {
    if got != want {
        return Err(Fault::BadResult(format!("{got} results for {want} inputs")));
    }
    Ok(())
}

fn wit_ctx(c: &BlockContext) -> bindings::cairn::pipeline::types::BlockContext {
    bindings::cairn::pipeline::types::BlockContext {
        chain_id: c.chain_id,
        rollup_version: c.rollup_version,
        block_number: c.block_number,
        fee_per_mana_hi: (c.fee_per_mana >> 64) as u64,
        fee_per_mana_lo: c.fee_per_mana as u64,
        coinbase: c.coinbase.to_vec(),
    }
}

fn write_cache(dir: &Path, path: &Path, c: &Component) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let art = c.serialize().map_err(|e| e.to_string())?;
    let mut bytes = content_hash(&art).to_vec();
    bytes.extend_from_slice(&art);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The artifact inside a cache file (`sha256(artifact) ‖ artifact`), if the checksum matches.
fn verified_artifact(file: &[u8]) -> Option<&[u8]> {
    let (sum, art) = file.split_at_checked(32)?;
    (content_hash(art)[..] == *sum).then_some(art)
}
