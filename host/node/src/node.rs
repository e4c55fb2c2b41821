//! The node: shared state, the slot loop, the archiver and the epoch prover.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, Bytes, B256, I256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, SolValue};
use cairn_consensus::abi::{self as cabi, IInbox, IRollupConsensus as R};
use cairn_consensus::{attest, blob, committee, constants, header::ProposedHeader, time::Timing};
use cairn_crypto::EthSecretKey;
use cairn_engine::{Pipeline, TxOutcome};
use cairn_l1::blob::BlobBundle;
use cairn_l1::{L1Error, L1};
use cairn_protocol::crypto::NativeCrypto;
use cairn_protocol::stages::{self, BlockContext, BlockHeader, StateView, TxEffects};
use cairn_protocol::state::WorldState;
use cairn_protocol::tx::Tx;
use serde_json::{json, Value};

use crate::chain::{decode_body, encode_body, Block, Chain, Status};
use crate::consensus::{Consensus, PUBLISH_RESERVE};
use crate::store::{Duty, DutyKind, Guard, Store};

/// Which parts of the node run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Follow L1 (always on when the sequencer is).
    pub archiver: bool,
    /// Propose and attest.
    pub sequencer: bool,
    /// Submit epoch proofs (devnet: the mock verifier accepts any proof bytes).
    pub prover: bool,
}

/// A local attester.
#[derive(Clone)]
pub struct Attester {
    /// Its key (signs attestations; the host signs, never a module).
    pub key: EthSecretKey,
    /// L1 coinbase.
    pub coinbase: Address,
    /// L2 fee recipient.
    pub fee_recipient: B256,
}

/// Everything the node is configured with (typed; `cairn start` fills it from flags and env).
#[derive(Clone)]
pub struct NodeConfig {
    /// `DATA_DIRECTORY`.
    pub data_dir: PathBuf,
    /// Roles.
    pub roles: Roles,
    /// Local attesters (from `KEY_STORE_DIRECTORY`).
    pub attesters: Vec<Attester>,
    /// Publisher keys, tried in order (rotation on failure or low balance).
    pub publishers: Vec<PrivateKeySigner>,
    /// Prover identity and publisher.
    pub prover: Option<PrivateKeySigner>,
    /// The Rollup.
    pub rollup: Address,
    /// The Rollup's version (reported by the node).
    pub rollup_version: u64,
    /// `AZTEC_PORT` (JSON-RPC, `/status`, `/metrics`); 0 picks a free port.
    pub port: u16,
    /// `AZTEC_ADMIN_PORT`; 0 picks a free port.
    pub admin_port: u16,
    /// Bind address.
    pub bind: String,
    /// SHA-256 of the admin API key; `None` disables the admin API.
    pub admin_key_sha256: Option<[u8; 32]>,
    /// Most txs per block.
    pub max_txs_per_block: usize,
    /// How often the loops poll L1.
    pub poll: Duration,
    /// Publisher balance below which a warning is raised and the next publisher is used (wei).
    pub min_publisher_balance: U256,
    /// The genesis L2 state.
    pub genesis: WorldState,
    /// `P2P_MIN_PEERS`: fewer connected peers make the node unhealthy (0: never).
    pub min_peers: usize,
    /// `P2P_MAX_PENDING_TX_COUNT`: the pool's bound; a full pool evicts its lowest-fee tx for
    /// a higher-fee one and refuses the rest.
    pub max_pending_txs: usize,
    /// Beacon API URLs for blob sidecars (`L1_CONSENSUS_HOST_URLS`); empty: the L1 node serves
    /// blobs itself (anvil).
    pub beacon_urls: Vec<String>,
}

/// The node's view of the p2p service: the narrow interface it needs, so this crate does not
/// depend on libp2p (`cairn start` plugs the service in).
pub trait Network: Send + Sync {
    /// Gossips a tx this node accepted from its own RPC (gossiped txs travel on through the
    /// service's validation instead).
    fn announce_tx(&self, tx: &[u8]);
    /// Gossips a consensus message this node made (a proposal or an attestation); never
    /// blocks (a full queue drops it with a log line).
    fn publish(&self, topic: cairn_wire::Topic, data: Vec<u8>);
    /// This node's peer id.
    fn peer_id(&self) -> String;
    /// The addresses it listens on.
    fn listen_addrs(&self) -> Vec<String>;
    /// The connected peers (`p2p_getPeers`): id, address, direction, score.
    fn peers(&self) -> Vec<Value>;
    /// Blocks `from ..` (at most `count`) from the peer with the highest tip, as stored block
    /// encodings; unverified (the caller re-executes them).
    fn fetch_blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>, NetworkError>;
    /// What this node announces in status handshakes.
    fn set_status(&self, tip: u64, tip_archive: B256, proven: u64);
}

/// A request to peers that got no usable answer.
#[derive(Debug, thiserror::Error)]
#[error("p2p: {0}")]
pub struct NetworkError(pub String);

/// Counters and gauges exported on `/metrics` (names documented in docs/node.md).
#[derive(Default)]
pub struct Metrics {
    /// `cairn_sequencer_blocks_proposed_total`.
    pub proposed: AtomicU64,
    /// `cairn_sequencer_slots_missed_total`: our slot, no checkpoint landed.
    pub missed: AtomicU64,
    /// `cairn_sequencer_attestations_required`.
    pub att_required: AtomicU64,
    /// `cairn_sequencer_attestations_collected`.
    pub att_collected: AtomicU64,
    /// `cairn_l1_publisher_balance_wei` (first publisher).
    pub publisher_balance: Mutex<U256>,
    /// `cairn_archiver_checkpoint_height`.
    pub checkpointed: AtomicU64,
    /// `cairn_archiver_proven_height`.
    pub proven: AtomicU64,
    /// `cairn_prover_epoch_proofs_total`.
    pub proofs: AtomicU64,
    /// `cairn_txpool_received_total`.
    pub txs_received: AtomicU64,
    /// `cairn_block_build_seconds` of the last block.
    pub last_build_ms: AtomicU64,
    /// `cairn_consensus_proposals_received_total`: gossiped proposals from the slot's proposer.
    pub proposals_received: AtomicU64,
    /// `cairn_consensus_attestations_received_total`: gossiped attestations from committee members.
    pub attestations_received: AtomicU64,
    /// `cairn_consensus_attestations_made_total`: attestations local attesters signed for
    /// other nodes' proposals.
    pub attestations_made: AtomicU64,
    /// `cairn_consensus_equivocations_total`: slots whose proposer signed two proposals.
    pub equivocations: AtomicU64,
    /// `cairn_sequencer_attestation_round_seconds`: the last round, proposal to quorum or deadline.
    pub attestation_round_ms: AtomicU64,
    /// `cairn_p2p_blocks_received_total`: blocks appended from peers' req/resp answers.
    pub blocks_from_peers: AtomicU64,
}

/// Why the node is unhealthy.
#[derive(Default)]
pub struct Health {
    /// Last L1 error and when.
    pub l1_error: Mutex<Option<(Instant, String)>>,
    /// Last successful L1 read.
    pub l1_ok: Mutex<Option<Instant>>,
    /// The last proposal of this node that did not reach quorum, and when (cleared by one
    /// that does).
    pub quorum: Mutex<Option<(Instant, String)>>,
}

/// A running node.
pub struct Node {
    /// Configuration (hot-settable parts behind the admin API).
    pub cfg: RwLock<NodeConfig>,
    /// Storage.
    pub store: Store,
    /// The chain.
    pub chain: RwLock<Chain>,
    /// Pipeline stages.
    pub pipeline: Pipeline,
    /// L1.
    pub l1: L1,
    /// Slot timing read from the Rollup.
    pub timing: Timing,
    /// Metrics.
    pub metrics: Metrics,
    /// Health.
    pub health: Health,
    /// Archiver paused by the admin API.
    pub sync_paused: AtomicBool,
    /// Stop flag.
    pub stop: AtomicBool,
    /// Proven checkpoint on L1.
    pub proven: AtomicU64,
    /// Bound addresses (rpc, admin).
    pub bound: Mutex<(String, String)>,
    committees: Mutex<BTreeMap<u64, Vec<Address>>>,
    last_slot: AtomicU64,
    activated: Mutex<BTreeMap<cairn_engine::Stage, u64>>,
    /// The p2p service, once started (`P2P_ENABLED`).
    pub network: std::sync::OnceLock<Box<dyn Network>>,
    /// Proposals and attestations seen on the network.
    pub(crate) consensus: Consensus,
    /// Serialises the pool-bound check and the insert.
    admitting: Mutex<()>,
}

/// What went wrong inside the node, typed to the edge (logs, `/status`, JSON-RPC answers).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An L1 read or transaction failed (never read as "false" or "0").
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Peers could not serve what was asked.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A block that does not apply to the local state.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// A thread panicked while holding the chain or a cache.
    #[error("internal state poisoned by a crashed thread; restart the node")]
    Poisoned,
    /// Data from L1, a peer or a stage that does not reproduce what it claims.
    #[error("{0}")]
    Invalid(String),
    /// A duty this node could not complete, and why.
    #[error("{0}")]
    Duty(String),
    /// A stage module could not be loaded or rolled back.
    #[error("module: {0}")]
    Module(String),
    /// The data directory (module registry files).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<&str> for NodeError {
    fn from(s: &str) -> Self {
        NodeError::Invalid(s.to_string())
    }
}

impl From<String> for NodeError {
    /// Reasons from the pure crates (chain, blobs) are invalid data.
    fn from(s: String) -> Self {
        NodeError::Invalid(s)
    }
}

/// The node's error for start-up problems.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// L1 not reachable or not the expected contracts.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The next block's context: txs bind the L1 chain id and the Rollup's version.
fn context(
    block_number: u64,
    chain_id: u64,
    rollup_version: u64,
    fee: u128,
    coinbase: [u8; 20],
) -> BlockContext {
    BlockContext {
        chain_id,
        rollup_version,
        block_number,
        fee_per_mana: fee,
        coinbase,
    }
}

/// A block's txs after the pipeline: the included ones with their effects, and the rejected.
pub(crate) struct Run {
    pub(crate) txs: Vec<Vec<u8>>,
    pub(crate) effects: Vec<TxEffects>,
    pub(crate) effect_bytes: Vec<Vec<u8>>,
    pub(crate) rejected: Vec<(Vec<u8>, cairn_engine::Stage, cairn_engine::Reject)>,
}

/// Applies a block's effects to a copy of `state`: the header with its effects hash and roots
/// filled, and the archive root after it.
pub(crate) fn seal(
    state: &WorldState,
    mut header: BlockHeader,
    effects: &[TxEffects],
) -> (BlockHeader, B256) {
    header.effects_hash = stages::effects_hash(&NativeCrypto, effects);
    let mut fork = state.clone();
    let h = fork.apply_block(header, effects);
    (h, Chain::archive_root(&fork))
}

impl Node {
    /// Runs `txs` through validation, proofs and execution on `state`.
    pub(crate) fn run_block(
        &self,
        state: &Arc<WorldState>,
        ctx: &BlockContext,
        txs: &[Vec<u8>],
    ) -> Result<Run, NodeError> {
        let out = self.pipeline.process_block(state.clone(), ctx, txs);
        let mut run = Run {
            txs: Vec::new(),
            effects: Vec::new(),
            effect_bytes: Vec::new(),
            rejected: Vec::new(),
        };
        for (bytes, o) in txs.iter().zip(out.txs) {
            match o {
                TxOutcome::Included(b) => {
                    run.effects.push(
                        TxEffects::decode(&b)
                            .ok_or("a stage returned effects that do not decode")?,
                    );
                    run.effect_bytes.push(b);
                    run.txs.push(bytes.clone());
                }
                TxOutcome::Rejected(stage, r) => run.rejected.push((bytes.clone(), stage, r)),
            }
        }
        Ok(run)
    }

    /// Opens storage, replays the stored chain, connects the pipeline and reads the Rollup's
    /// timing. Does not start threads (see [`run`](Self::run)).
    pub fn open(cfg: NodeConfig, l1: L1, pipeline: Pipeline) -> Result<Arc<Node>, StartError> {
        let store = Store::open(&cfg.data_dir)?;
        let genesis = l1.call(cfg.rollup, &R::getGenesisTimeCall {})?;
        let slot = l1.call(cfg.rollup, &R::getSlotDurationCall {})?;
        let epoch = l1.call(cfg.rollup, &R::getEpochDurationCall {})?;
        let timing = Timing::new(
            genesis.try_into().unwrap_or(0),
            slot.try_into().unwrap_or(0),
            epoch.try_into().unwrap_or(0),
        )
        .map_err(|e| StartError::Other(format!("the Rollup's timing is unusable: {e}")))?;
        let mut chain = Chain::new(cfg.genesis.clone());
        for (n, bytes) in store.blocks()? {
            let b = Block::decode(&bytes)
                .ok_or_else(|| StartError::Other(format!("stored block {n} does not decode; the database is damaged: move DATA_DIRECTORY away and resync from L1")))?;
            let e = b.tx_effects().ok_or_else(|| {
                StartError::Other(format!("stored block {n} has undecodable effects"))
            })?;
            chain
                .push(b, &e)
                .map_err(|e| StartError::Other(e.to_string()))?;
        }
        tracing::info!(tip = chain.tip(), "chain replayed from storage");
        let node = Arc::new(Node {
            cfg: RwLock::new(cfg),
            store,
            chain: RwLock::new(chain),
            pipeline,
            l1,
            timing,
            metrics: Metrics::default(),
            health: Health::default(),
            sync_paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            proven: AtomicU64::new(0),
            bound: Mutex::new((String::new(), String::new())),
            committees: Mutex::new(BTreeMap::new()),
            last_slot: AtomicU64::new(0),
            activated: Mutex::new(BTreeMap::new()),
            network: std::sync::OnceLock::new(),
            consensus: Consensus::default(),
            admitting: Mutex::new(()),
        });
        node.restore_modules()?;
        Ok(node)
    }

    /// Loads a stage module (link, identity, self-check; active from the next block) and
    /// records it in the module registry under `DATA_DIRECTORY/modules`, so a restart runs it
    /// again.
    pub fn load_module(
        &self,
        stage: cairn_engine::Stage,
        bytes: &[u8],
    ) -> Result<cairn_engine::SwapReport, NodeError> {
        let report = self
            .pipeline
            .load(stage, bytes)
            .map_err(|e| NodeError::Module(e.to_string()))?;
        let dir = self.config().data_dir.join("modules");
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{}-{}.wasm",
            stage.name(),
            hex::encode(&cairn_engine::content_hash(bytes)[..8])
        );
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(&name))?;
        let mut list = self.module_history(stage);
        list.push(name);
        self.save_module_history(stage, &list)?;
        Ok(report)
    }

    /// Rolls a stage back to its previous module and updates the registry.
    pub fn rollback_module(&self, stage: cairn_engine::Stage) -> Result<String, NodeError> {
        let label = self
            .pipeline
            .rollback(stage)
            .map_err(|e| NodeError::Module(e.to_string()))?;
        let mut list = self.module_history(stage);
        list.pop();
        self.save_module_history(stage, &list)?;
        Ok(label)
    }

    fn save_module_history(
        &self,
        stage: cairn_engine::Stage,
        list: &[String],
    ) -> Result<(), NodeError> {
        self.store
            .set_meta(
                &format!("modules.{}", stage.name()),
                &serde_json::to_vec(list).unwrap_or_default(),
            )
            .map_err(NodeError::from)
    }

    fn module_history(&self, stage: cairn_engine::Stage) -> Vec<String> {
        self.store
            .meta(&format!("modules.{}", stage.name()))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Re-loads the modules the registry records (the newest per stage) and activates them.
    fn restore_modules(&self) -> Result<(), StartError> {
        let dir = self.config().data_dir.join("modules");
        for stage in cairn_engine::Stage::ALL {
            if let Some(name) = self.module_history(stage).last() {
                let bytes = std::fs::read(dir.join(name)).map_err(|e| {
                    StartError::Other(format!("module registry: cannot read {name}: {e}; roll it back or restore the file"))
                })?;
                let r = self.pipeline.load(stage, &bytes).map_err(|e| {
                    StartError::Other(format!("module registry: {name} no longer loads: {e}"))
                })?;
                tracing::info!(stage = %stage, module = %r.module, "restored module from the registry");
            }
        }
        let next = self.chain.read().map(|c| c.tip() + 1).unwrap_or(1);
        self.block_boundary(next);
        Ok(())
    }

    /// Activates pending stage modules before block `n` is built or re-executed, and records
    /// which block each stage's module first ran for (`node_getNodeInfo`'s `sinceBlock`).
    pub(crate) fn block_boundary(&self, n: u64) {
        let swapped = self.pipeline.block_boundary();
        if swapped.is_empty() {
            return;
        }
        if let Ok(mut a) = self.activated.lock() {
            for s in &swapped {
                a.insert(*s, n);
            }
        }
        tracing::info!(stages = ?swapped, block = n, "activated new stage modules at the block boundary");
    }

    /// The active module of each stage and the first block it ran for (`None`: since start,
    /// before any block).
    pub fn stages(&self) -> Vec<(cairn_engine::Stage, String, Option<u64>)> {
        let activated = self.activated.lock().map(|a| a.clone()).unwrap_or_default();
        self.pipeline
            .active()
            .into_iter()
            .map(|(s, m)| (s, m, activated.get(&s).copied()))
            .collect()
    }

    /// A snapshot of the configuration.
    pub fn config(&self) -> NodeConfig {
        self.cfg
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn rollup(&self) -> Address {
        self.config().rollup
    }

    fn l1_ok(&self) {
        if let Ok(mut g) = self.health.l1_ok.lock() {
            *g = Some(Instant::now());
        }
        if let Ok(mut g) = self.health.l1_error.lock() {
            *g = None;
        }
    }

    fn l1_err(&self, e: &dyn std::fmt::Display) {
        tracing::warn!(error = %e, "L1 request failed");
        if let Ok(mut g) = self.health.l1_error.lock() {
            *g = Some((Instant::now(), e.to_string()));
        }
    }

    /// Starts the loops and servers; returns their threads.
    pub fn run(self: &Arc<Self>) -> Result<Vec<std::thread::JoinHandle<()>>, StartError> {
        let mut threads = crate::rpc::serve(self.clone())?;
        let roles = self.config().roles;
        if roles.archiver || roles.sequencer {
            let n = self.clone();
            threads.push(spawn("archiver", move || n.archiver_loop()));
        }
        if roles.sequencer {
            let n = self.clone();
            threads.push(spawn("sequencer", move || n.sequencer_loop()));
        }
        if roles.prover {
            let n = self.clone();
            threads.push(spawn("prover", move || n.prover_loop()));
        }
        Ok(threads)
    }

    fn sleep(&self) {
        std::thread::sleep(self.config().poll);
    }

    // ----- archiver -----

    fn archiver_loop(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            if !self.sync_paused.load(Ordering::Relaxed) {
                match self.sync_once() {
                    Ok(()) => self.l1_ok(),
                    Err(e) => self.l1_err(&e),
                }
            } else if let Err(e) = self.sync_from_peers() {
                tracing::warn!(error = %e, "catching up from peers failed");
            }
            if let Some(net) = self.network.get() {
                let (tip, archive) = match self.chain.read() {
                    Ok(c) => (c.tip(), c.archive_at(c.tip())),
                    Err(p) => (p.get_ref().tip(), p.get_ref().archive_at(p.get_ref().tip())),
                };
                net.set_status(tip, archive, self.proven.load(Ordering::Relaxed).min(tip));
            }
            self.sleep();
        }
    }

    /// One archiver pass: rolls back what L1 no longer has, appends what it has that we do
    /// not, and marks proven blocks.
    pub fn sync_once(&self) -> Result<(), NodeError> {
        let rollup = self.rollup();
        // Our tip before L1's: the sequencer appends a checkpoint only after L1 has mined it, so
        // whatever we hold now is covered by the L1 reading below. Read the other way round, a
        // checkpoint appended in between would look like one L1 had dropped and be rolled back.
        let local = self.chain.read().map_err(|_| NodeError::Poisoned)?.tip();
        let tips = self.l1.call(rollup, &R::getTipsCall {})?;
        let pending: u64 = tips.pending.try_into().unwrap_or(0);
        let proven: u64 = tips.proven.try_into().unwrap_or(0);
        let now = self.l1.latest_timestamp()?;
        // After the proof window passes, L1 treats the unproven checkpoints as gone even
        // before anyone calls prune().
        let prunable = self
            .l1
            .call(
                rollup,
                &R::canPruneAtTimeCall {
                    _ts: U256::from(now),
                },
            )
            .unwrap_or(false);
        let effective = if prunable { proven } else { pending };
        // Reorg/prune: walk back while our archive differs from L1's.
        let mut keep = local.min(effective);
        while keep > 0 {
            let on_l1 = self.l1.call(
                rollup,
                &R::archiveAtCall {
                    _checkpointNumber: U256::from(keep),
                },
            )?;
            if on_l1
                == self
                    .chain
                    .read()
                    .map_err(|_| NodeError::Poisoned)?
                    .archive_at(keep)
            {
                break;
            }
            keep -= 1;
        }
        if keep < local {
            self.rollback(keep)?;
        }
        for n in keep + 1..=effective {
            self.fetch_checkpoint(n)?;
        }
        self.proven.store(proven, Ordering::Relaxed);
        self.metrics.proven.store(proven, Ordering::Relaxed);
        self.metrics
            .checkpointed
            .store(effective, Ordering::Relaxed);
        // Mark proven blocks (persisted so a restart reports the same tips).
        let mut chain = self.chain.write().map_err(|_| NodeError::Poisoned)?;
        for b in chain.blocks.iter_mut() {
            if b.header.block_number <= proven && b.status != Status::Proven {
                b.status = Status::Proven;
                self.store.put_block(b.header.block_number, &b.encode())?;
            }
        }
        Ok(())
    }

    fn rollback(&self, to: u64) -> Result<(), NodeError> {
        let mut chain = self.chain.write().map_err(|_| NodeError::Poisoned)?;
        let dropped = chain.truncate(to);
        self.store.truncate_blocks(to)?;
        // Their txs go back to the pool: nothing acknowledged is lost.
        let back: Vec<([u8; 32], Vec<u8>)> = dropped
            .iter()
            .flat_map(|b| b.txs.iter())
            .filter_map(|t| Tx::decode(t).ok().map(|tx| (tx.hash(), t.clone())))
            .collect();
        self.store.unsettle(&back)?;
        tracing::warn!(to, dropped = dropped.len(), "rolled back to L1");
        Ok(())
    }

    /// Fetches checkpoint `n` from L1 (event, calldata, blobs), re-executes it and appends it.
    fn fetch_checkpoint(&self, n: u64) -> Result<(), NodeError> {
        let rollup = self.rollup();
        let topic = B256::from(U256::from(n));
        let logs = self.l1.logs(
            rollup,
            R::CheckpointProposed::SIGNATURE_HASH,
            Some(topic),
            0,
            None,
            100_000,
        )?;
        let archive = self.l1.call(
            rollup,
            &R::archiveAtCall {
                _checkpointNumber: U256::from(n),
            },
        )?;
        // The newest event for n whose archive is the one L1 holds now (numbers are reused
        // after a prune).
        let (log, ev) = logs
            .iter()
            .rev()
            .filter_map(|l| l.decode::<R::CheckpointProposed>().map(|e| (l, e)))
            .find(|(_, e)| e.archive == archive)
            .ok_or_else(|| format!("no CheckpointProposed event for checkpoint {n}"))?;
        let (_, input) = self.l1.transaction_input(log.tx_hash)?;
        let call = R::proposeCall::abi_decode(&input)
            .map_err(|e| format!("checkpoint {n}: propose calldata does not decode: {e}"))?;
        let beacon_urls = self.config().beacon_urls;
        let blobs = if beacon_urls.is_empty() {
            self.l1.blobs_of_tx(log.tx_hash)?
        } else {
            let (_, ts) = self.l1.block_at(log.block_number)?;
            cairn_l1::beacon::Beacon::new(&beacon_urls)
                .blobs_at(ts, &ev.versionedBlobHashes)
                .map_err(|e| format!("checkpoint {n}: {e}"))?
        };
        if blobs.len() != ev.versionedBlobHashes.len() {
            return Err(format!(
                "checkpoint {n}: {} blobs for {} hashes",
                blobs.len(),
                ev.versionedBlobHashes.len()
            )
            .into());
        }
        for (b, h) in blobs.iter().zip(&ev.versionedBlobHashes) {
            BlobBundle::verify_blob(b, h).map_err(|e| format!("checkpoint {n}: {e}"))?;
        }
        let refs: Vec<&blob::Blob> = blobs.iter().map(|b| &**b).collect();
        let body = blob::decode_blobs(&refs).map_err(|e| format!("checkpoint {n}: {e}"))?;
        let (header, txs) = decode_body(&body)
            .ok_or_else(|| format!("checkpoint {n}: blob body does not parse"))?;
        if self.append_verified(
            n,
            header,
            txs,
            archive,
            log.tx_hash,
            call._attestations.abi_encode(),
        )? {
            tracing::info!(checkpoint = n, "synced checkpoint from L1");
        }
        Ok(())
    }

    /// Re-executes checkpoint `n` (its header and txs) on the tip's state and appends it if it
    /// reproduces the header and `archive`; false if the tip moved past it meanwhile.
    fn append_verified(
        &self,
        n: u64,
        header: BlockHeader,
        txs: Vec<Vec<u8>>,
        archive: B256,
        l1_tx: B256,
        attestations: Vec<u8>,
    ) -> Result<bool, NodeError> {
        let mut chain = self.chain.write().map_err(|_| NodeError::Poisoned)?;
        if chain.tip() + 1 != n {
            return Ok(false); // the sequencer appended it meanwhile
        }
        let ctx = BlockContext {
            chain_id: header.chain_id,
            rollup_version: header.rollup_version,
            block_number: header.block_number,
            fee_per_mana: header.fee_per_mana,
            coinbase: header.coinbase,
        };
        self.block_boundary(n);
        let run = self.run_block(&chain.state, &ctx, &txs)?;
        if let Some((_, stage, r)) = run.rejected.first() {
            return Err(format!(
                "checkpoint {n} holds a tx this node rejects at {stage}: {}",
                r.message
            )
            .into());
        }
        let (rebuilt, rebuilt_archive) = seal(&chain.state, header.clone(), &run.effects);
        if rebuilt != header || rebuilt_archive != archive {
            return Err(format!(
                "checkpoint {n}: re-execution does not reproduce the posted header/archive"
            )
            .into());
        }
        let effects = run.effects;
        let block = Block {
            header,
            txs,
            effects: run.effect_bytes,
            archive,
            l1_tx,
            status: Status::Checkpointed,
            attestations,
        };
        self.store.put_block(n, &block.encode())?;
        let receipts = receipts_for(&block, "checkpointed");
        chain.push(block, &effects)?;
        self.store.settle(&receipts)?;
        Ok(true)
    }

    /// Catches up with the checkpoints on L1: from L1 itself, or, while the L1 archiver is
    /// paused (`nodeAdmin_pauseSync`), from peers over req/resp.
    pub(crate) fn catch_up(&self) -> Result<(), NodeError> {
        if self.sync_paused.load(Ordering::Relaxed) && self.network.get().is_some() {
            self.sync_from_peers().map(|_| ())
        } else {
            self.sync_once()
        }
    }

    /// Fetches blocks after the tip from the best peer, re-executes each and appends it when it
    /// reproduces the archive root L1 holds for that checkpoint (a peer cannot make this node
    /// accept anything L1 does not hold). Returns how many were appended.
    pub fn sync_from_peers(&self) -> Result<usize, NodeError> {
        let Some(net) = self.network.get() else {
            return Ok(0);
        };
        let l1_tip: u64 = self
            .l1
            .call(self.rollup(), &R::getTipsCall {})?
            .pending
            .try_into()
            .unwrap_or(0);
        let mut added = 0;
        loop {
            let tip = self.chain.read().map_err(|_| NodeError::Poisoned)?.tip();
            if tip >= l1_tip {
                return Ok(added);
            }
            let count =
                (l1_tip - tip).min(u64::from(cairn_wire::reqresp::MAX_BLOCKS_PER_REQUEST)) as u32;
            let blocks = net.fetch_blocks(tip + 1, count)?;
            if blocks.is_empty() {
                return Ok(added);
            }
            for (i, bytes) in blocks.iter().enumerate() {
                let n = tip + 1 + i as u64;
                let b = Block::decode(bytes)
                    .ok_or_else(|| format!("block {n} from a peer does not decode"))?;
                if b.header.block_number != n {
                    return Err(
                        format!("a peer answered block {} for {n}", b.header.block_number).into(),
                    );
                }
                let on_l1 = self.l1.call(
                    self.rollup(),
                    &R::archiveAtCall {
                        _checkpointNumber: U256::from(n),
                    },
                )?;
                if on_l1 != b.archive {
                    return Err(
                        format!("block {n} from a peer is not the checkpoint L1 holds").into(),
                    );
                }
                if self.append_verified(n, b.header, b.txs, b.archive, b.l1_tx, b.attestations)? {
                    added += 1;
                    self.metrics
                        .blocks_from_peers
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(checkpoint = n, "synced checkpoint from a peer");
                }
            }
        }
    }

    /// Answers a peer's request for blocks or txs.
    pub fn serve(&self, request: &cairn_wire::reqresp::Request) -> cairn_wire::reqresp::Response {
        use cairn_wire::reqresp::{Request, Response};
        match request {
            Request::BlocksByNumber { from, count } => {
                let chain = match self.chain.read() {
                    Ok(c) => c,
                    Err(p) => p.into_inner(),
                };
                let blocks = (*from..from.saturating_add(u64::from(*count)))
                    .take_while(|n| *n >= 1 && *n <= chain.tip())
                    .map(|n| chain.blocks[n as usize - 1].encode())
                    .collect();
                Response::Blocks(blocks)
            }
            Request::TxsByHash(hashes) => Response::Txs(
                hashes
                    .iter()
                    .filter_map(|h| self.store.pool_get(h).ok().flatten())
                    .collect(),
            ),
            Request::Status(_) => Response::Error("status is answered by the p2p service".into()),
        }
    }

    // ----- sequencer -----

    fn sequencer_loop(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            // Health follows the archiver (L1 reads); a failed proposal is counted and logged.
            if let Err(e) = self.slot_once() {
                tracing::warn!(error = %e, "slot not proposed");
            }
            self.sleep();
        }
    }

    pub(crate) fn committee(&self, epoch: u64) -> Result<Vec<Address>, NodeError> {
        if let Some(c) = self
            .committees
            .lock()
            .map_err(|_| NodeError::Poisoned)?
            .get(&epoch)
        {
            return Ok(c.clone());
        }
        let c = self.l1.call(
            self.rollup(),
            &R::getEpochCommitteeCall {
                _epoch: U256::from(epoch),
            },
        )?;
        let mut m = self.committees.lock().map_err(|_| NodeError::Poisoned)?;
        m.insert(epoch, c.clone());
        while m.len() > 12 {
            let first = *m.keys().next().unwrap_or(&0);
            m.remove(&first);
        }
        Ok(c)
    }

    /// The Rollup's sampling seed at `ts` (picks a slot's proposer).
    pub(crate) fn sample_seed(&self, ts: u64) -> Result<U256, NodeError> {
        self.l1
            .call(
                self.rollup(),
                &R::getSampleSeedAtCall {
                    _ts: U256::from(ts),
                },
            )
            .map_err(NodeError::from)
    }

    /// One pass of the slot loop: if a local attester proposes in the slot the next L1 block
    /// falls in, build, attest and publish.
    pub fn slot_once(&self) -> Result<(), NodeError> {
        let now = self.l1.latest_timestamp()?;
        let slot = self.timing.slot_at(now);
        if slot <= self.last_slot.load(Ordering::Relaxed) {
            return Ok(());
        }
        let slot_start = self.timing.slot_start(slot).unwrap_or(now);
        // Too late in the slot to land a transaction inside it.
        if now + 2 >= slot_start + self.timing.slot_duration() {
            return Ok(());
        }
        self.last_slot.store(slot, Ordering::Relaxed);
        let epoch = self.timing.epoch_of_slot(slot);
        let cfg = self.config();
        let committee = match self.committee(epoch) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(epoch, error = %e, "no committee yet");
                return Ok(());
            }
        };
        let proposer = if committee.is_empty() {
            cfg.attesters
                .first()
                .map(|a| Address::from(a.key.address().0))
        } else {
            self.slot_proposer(slot)?.1
        };
        let Some(proposer) = proposer else {
            return Ok(());
        };
        let Some(me) = cfg
            .attesters
            .iter()
            .find(|a| Address::from(a.key.address().0) == proposer)
            .cloned()
        else {
            return Ok(());
        };
        // Synced: our tip is L1's effective pending tip.
        self.catch_up()?;
        if self.store.signed_slot(slot)? {
            tracing::warn!(
                slot,
                "already signed a proposal for this slot (restart?); not proposing again"
            );
            return Ok(());
        }
        if self.consensus.equivocated(slot) {
            tracing::error!(
                slot,
                proposer = %proposer,
                "two different proposals signed with this node's proposer key for this slot were seen on the network: the key may be compromised; not proposing"
            );
            self.metrics.missed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        match self.propose(slot, epoch, &committee, &me, &cfg) {
            Ok(n) => {
                self.metrics.proposed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(slot, checkpoint = n, "proposed");
                Ok(())
            }
            Err(e) => {
                self.metrics.missed.fetch_add(1, Ordering::Relaxed);
                Err(NodeError::Duty(format!("slot {slot}: {e}")))
            }
        }
    }

    fn propose(
        &self,
        slot: u64,
        epoch: u64,
        committee: &[Address],
        me: &Attester,
        cfg: &NodeConfig,
    ) -> Result<u64, NodeError> {
        let rollup = cfg.rollup;
        let t0 = Instant::now();
        let slot_start = self.timing.slot_start(slot).unwrap_or(0);
        // Views at `latest` must see a block inside the slot.
        let waited = Instant::now();
        while self.l1.latest_timestamp()? < slot_start {
            if waited.elapsed() > Duration::from_secs(self.timing.slot_duration()) {
                return Err(NodeError::Duty(
                    "L1 time is not advancing (no new L1 block for a whole slot)".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let fee = self.current_min_fee()?;
        // Only a snapshot of the state and the parent's archive are needed.
        let (state, n, last_archive) = {
            let c = self.chain.read().map_err(|_| NodeError::Poisoned)?;
            (c.state.clone(), c.tip() + 1, c.archive_at(c.tip()))
        };
        // Modules loaded through the admin API become active here, between blocks.
        self.block_boundary(n);
        let coinbase: [u8; 20] = me.coinbase.0 .0;
        let ctx = context(n, self.l1.chain_id(), cfg.rollup_version, fee, coinbase);
        // Build from the pool, oldest hash order (deterministic), through the pipeline.
        let pool = self.store.pool()?;
        let candidates: Vec<Vec<u8>> = pool
            .iter()
            .take(cfg.max_txs_per_block)
            .map(|(_, t)| t.clone())
            .collect();
        let run = self.run_block(&state, &ctx, &candidates)?;
        let dropped: Vec<([u8; 32], Vec<u8>)> = run
            .rejected
            .iter()
            .map(|(bytes, stage, r)| {
                let hash = Tx::decode(bytes).map(|t| t.hash()).unwrap_or([0; 32]);
                let receipt = json!({"status": "dropped", "stage": stage.name(), "code": r.code, "error": r.message});
                (hash, serde_json::to_vec(&receipt).unwrap_or_default())
            })
            .collect();
        let (txs, effects, eff_bytes) = (run.txs, run.effects, run.effect_bytes);
        let header0 = BlockHeader {
            chain_id: ctx.chain_id,
            rollup_version: ctx.rollup_version,
            block_number: n,
            slot,
            fee_per_mana: fee,
            coinbase,
            previous_archive: [0; 32],
            note_root: [0; 32],
            nullifier_root: [0; 32],
            public_data_root: [0; 32],
            effects_hash: [0; 32],
            tx_count: 0,
            gas_used: 0,
        };
        let (header, archive) = seal(&state, header0.clone(), &effects);
        self.metrics
            .last_build_ms
            .store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);

        // Re-execution for the committee: the block again on the parent state, then the
        // attestation stage compares headers.
        let again = self.run_block(&state, &ctx, &txs)?;
        let (local, _) = seal(&state, header0, &again.effects);
        // A module fault is counted and logged by the pipeline; the native twin gave the verdict.
        let (verdict, _) = self.pipeline.attest(&header.encode(), &local);
        verdict.map_err(|e| format!("re-execution disagrees with the built block: {e}"))?;

        // The L1 header.
        let body = encode_body(&header, &txs);
        let blobs = blob::encode_blobs(&body).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let bundle = BlobBundle::new(blobs)?;
        let in_hash = self.in_hash(n)?;
        let ph = ProposedHeader {
            last_archive_root: last_archive,
            block_headers_hash: cairn_consensus::sha256_to_field(&header.encode()),
            blobs_hash: blob::blobs_hash(&bundle.versioned_hashes),
            in_hash,
            out_hash: constants::EMPTY_EPOCH_OUT_HASH,
            slot_number: slot,
            timestamp: slot_start,
            coinbase: me.coinbase,
            fee_recipient: me.fee_recipient,
            fee_per_da_gas: 0,
            fee_per_l2_gas: fee,
            total_mana_used: header.gas_used as u128,
        };
        let payload = cairn_wire::SignedPayload {
            header: ph,
            archive,
            fee_asset_price_modifier: I256::ZERO,
        };
        let digest = payload.digest();
        // Slashing protection before any signature exists: the proposal, and an attestation
        // for every local committee member (the proposer's own included).
        let duty = |kind, who: Address| Duty {
            slot,
            kind,
            block_index: 0,
            validator: who.0 .0,
        };
        let me_addr = Address::from(me.key.address().0);
        match self
            .store
            .guard(&duty(DutyKind::CheckpointProposal, me_addr), &digest.0)?
        {
            Guard::Conflict => {
                return Err(NodeError::Duty(
                    "slashing protection: another proposal was signed for this slot".into(),
                ))
            }
            Guard::Recorded | Guard::Same => {}
        }
        let mut sigs: Vec<Option<attest::RawSignature>> = Vec::with_capacity(committee.len());
        for m in committee {
            let Some(a) = cfg
                .attesters
                .iter()
                .find(|a| Address::from(a.key.address().0) == *m)
            else {
                sigs.push(None);
                continue;
            };
            let guard = self
                .store
                .guard(&duty(DutyKind::Attestation, *m), &digest.0)?;
            sigs.push(match guard {
                Guard::Conflict => {
                    tracing::warn!(slot, attester = %m, "slashing protection: already attested to another payload for this slot");
                    None
                }
                Guard::Recorded | Guard::Same => Some(payload.sign(&a.key)),
            });
        }
        fault_point("after-guard-record", slot, n, &digest);
        let proposer_sig = payload.sign(&me.key);
        let needed = committee::attestation_threshold(committee.len());
        let local = sigs.iter().filter(|s| s.is_some()).count();
        self.metrics
            .att_required
            .store(needed as u64, Ordering::Relaxed);
        if local < needed {
            if let Some(net) = self.network.get() {
                let proposal = cairn_wire::CheckpointProposal {
                    payload,
                    checkpoint: n,
                    block: body.clone(),
                    signature: proposer_sig,
                };
                net.publish(cairn_wire::Topic::CheckpointProposal, proposal.encode());
                // Collect until quorum or the last moment that still lands inside the slot.
                let now = self.l1.latest_timestamp()?;
                let slot_end = slot_start + self.timing.slot_duration();
                let left = Duration::from_secs(slot_end.saturating_sub(now))
                    .saturating_sub(PUBLISH_RESERVE);
                tracing::info!(
                    slot,
                    checkpoint = n,
                    needed,
                    local,
                    "proposal gossiped; collecting attestations"
                );
                fault_point("in-attestation-round", slot, n, &digest);
                self.collect_attestations(
                    slot,
                    digest,
                    committee,
                    &mut sigs,
                    needed,
                    Instant::now() + left,
                );
                tracing::info!(
                    slot,
                    checkpoint = n,
                    txs = txs.len(),
                    collected = sigs.iter().filter(|s| s.is_some()).count(),
                    needed,
                    ms = self.metrics.attestation_round_ms.load(Ordering::Relaxed),
                    "attestation round over"
                );
            }
        }
        let collected = sigs.iter().filter(|s| s.is_some()).count();
        self.metrics
            .att_collected
            .store(collected as u64, Ordering::Relaxed);
        if let Ok(mut q) = self.health.quorum.lock() {
            *q = (collected < needed).then(|| {
                (
                    Instant::now(),
                    format!("slot {slot}: {collected} of {needed} attestations"),
                )
            });
        }
        if collected < needed {
            let net = if self.network.get().is_some() {
                format!("{} from the network by the deadline", collected - local)
            } else {
                "p2p is off (P2P_ENABLED), so only local attesters sign".to_string()
            };
            return Err(NodeError::Duty(format!(
                "only {collected} of {needed} attestations (this node holds {local} of the {} committee members; {net}); not publishing an under-attested checkpoint",
                committee.len()
            )));
        }
        let (att, signers) =
            attest::pack(committee, &sigs).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let as_digest = attest::attestations_and_signers_digest(&att, &signers);
        if self.store.guard(
            &duty(DutyKind::AttestationsAndSigners, me_addr),
            &as_digest.0,
        )? == Guard::Conflict
        {
            return Err(NodeError::Duty(
                "slashing protection: other attestations were already signed for publishing in this slot".into(),
            ));
        }
        let as_sig = {
            let s = me.key.sign_message(&as_digest.0).0; // EIP-191, r ‖ s ‖ v
            let mut out = [0u8; 65];
            out[0] = s[64];
            out[1..].copy_from_slice(&s[..64]);
            out
        };
        let call = R::proposeCall {
            _args: cabi::ProposeArgs {
                archive,
                oracleInput: cabi::OracleInput {
                    feeAssetPriceModifier: I256::ZERO,
                },
                header: ph.to_sol(),
            },
            _attestations: att.to_sol(),
            _signers: signers,
            _attestationsAndSignersSignature: attest::signature_to_sol(&as_sig),
            _blobInput: Bytes::from(
                blob::blob_input(&bundle.commitments)
                    .map_err(|e| NodeError::Invalid(e.to_string()))?,
            ),
        };
        let data = call.abi_encode();
        // A propose that is not mined within the slot is worth nothing: wait at most that long.
        let l1 = self
            .l1
            .clone()
            .with_receipt_timeout(Duration::from_secs(self.timing.slot_duration()));
        let mut receipt = None;
        let mut last_err = String::new();
        for publisher in self.publishers_by_preference(cfg)? {
            l1.dry_run_blob(
                "propose (dry run)",
                publisher.address(),
                rollup,
                &data,
                &bundle.versioned_hashes,
            )?;
            tracing::debug!(slot, checkpoint = n, publisher = %publisher.address(), "sending propose");
            match l1.send_blob_tx(
                &publisher,
                "propose",
                rollup,
                data.clone(),
                3_000_000,
                &bundle,
            ) {
                Ok(r) => {
                    receipt = Some(r);
                    break;
                }
                // Mined and reverted: another publisher would revert the same way.
                Err(e @ L1Error::TxFailed { .. }) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(publisher = %publisher.address(), error = %e, "publisher failed; rotating to the next one");
                    last_err = e.to_string();
                }
            }
        }
        let receipt = receipt.ok_or(last_err)?;
        fault_point("after-publish", slot, n, &digest);
        let block = Block {
            header,
            txs,
            effects: eff_bytes,
            archive,
            l1_tx: receipt.hash,
            status: Status::Checkpointed,
            attestations: call._attestations.abi_encode(),
        };
        let mut receipts = receipts_for(&block, "checkpointed");
        receipts.extend(dropped);
        let mut chain = self.chain.write().map_err(|_| NodeError::Poisoned)?;
        if chain.tip() + 1 == n {
            self.store.put_block(n, &block.encode())?;
            chain.push(block, &effects)?;
            self.store.settle(&receipts)?;
        }
        tracing::info!(
            slot,
            epoch,
            checkpoint = n,
            attestations = collected,
            gas = receipt.gas_used,
            "checkpoint proposed"
        );
        Ok(n)
    }

    pub(crate) fn in_hash(&self, n: u64) -> Result<B256, NodeError> {
        let inbox = self.l1.call(self.rollup(), &R::getInboxCall {})?;
        let root = self.l1.call(
            inbox,
            &IInbox::getRootCall {
                _checkpointNumber: U256::from(n),
            },
        )?;
        Ok(if root == B256::ZERO {
            constants::EMPTY_INBOX_ROOT
        } else {
            root
        })
    }

    /// Publishers with enough balance, in configured order (the first is the preferred one).
    fn publishers_by_preference(
        &self,
        cfg: &NodeConfig,
    ) -> Result<Vec<PrivateKeySigner>, NodeError> {
        let mut last = String::from("no publisher key configured");
        let mut out = Vec::new();
        for (i, p) in cfg.publishers.iter().enumerate() {
            match self.l1.balance(p.address()) {
                Ok(b) => {
                    if i == 0 {
                        if let Ok(mut m) = self.metrics.publisher_balance.lock() {
                            *m = b;
                        }
                    }
                    if b >= cfg.min_publisher_balance {
                        out.push(p.clone());
                        continue;
                    }
                    tracing::warn!(publisher = %p.address(), balance = %b, "publisher balance low; trying the next one");
                    last = format!(
                        "publisher {} balance {b} wei is below the minimum; top it up",
                        p.address()
                    );
                }
                Err(e) => last = e.to_string(),
            }
        }
        if out.is_empty() {
            Err(last.into())
        } else {
            Ok(out)
        }
    }

    // ----- prover -----

    fn prover_loop(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            if let Err(e) = self.prove_once() {
                tracing::warn!(error = %e, "epoch proof not submitted");
            }
            std::thread::sleep(self.config().poll * 4);
        }
    }

    /// Proves the longest provable prefix of the oldest unproven epoch (mock verifier: the
    /// proof bytes are empty; every public input is real and checked by the Rollup).
    pub fn prove_once(&self) -> Result<(), NodeError> {
        let Some(prover) = self.config().prover else {
            return Ok(());
        };
        let rollup = self.rollup();
        let tips = self.l1.call(rollup, &R::getTipsCall {})?;
        let pending: u64 = tips.pending.try_into().unwrap_or(0);
        let proven: u64 = tips.proven.try_into().unwrap_or(0);
        if pending <= proven {
            return Ok(());
        }
        let chain = self.chain.read().map_err(|_| NodeError::Poisoned)?.clone();
        if chain.tip() < pending {
            return Ok(()); // the archiver has not caught up
        }
        let epoch_of = |n: u64| -> u64 {
            chain
                .blocks
                .get(n as usize - 1)
                .map(|b| self.timing.epoch_of_slot(b.header.slot))
                .unwrap_or(0)
        };
        let e = epoch_of(proven + 1);
        let mut start = proven + 1;
        while start > 1 && epoch_of(start - 1) == e {
            start -= 1;
        }
        let mut end = proven + 1;
        while end < pending && epoch_of(end + 1) == e {
            end += 1;
        }
        let last = &chain.blocks[end as usize - 1];
        let stored = self.l1.call(
            rollup,
            &R::getCheckpointCall {
                _checkpointNumber: U256::from(end),
            },
        )?;
        let att = <cabi::CommitteeAttestations as SolValue>::abi_decode(&last.attestations)
            .map_err(|e| format!("stored attestations of {end} do not decode: {e}"))?;
        let mut fees = vec![B256::ZERO; constants::PROOF_FEES_ENTRIES];
        for i in start..=end {
            let b = &chain.blocks[i as usize - 1];
            let k = 2 * (i - start) as usize;
            if k < fees.len() {
                let mut w = [0u8; 32];
                w[12..].copy_from_slice(&b.header.coinbase);
                fees[k] = B256::from(w);
            }
        }
        let body = encode_body(&last.header, &last.txs);
        let bundle = BlobBundle::new(
            blob::encode_blobs(&body).map_err(|e| NodeError::Invalid(e.to_string()))?,
        )?;
        let call = R::submitEpochRootProofCall {
            _args: cabi::SubmitEpochRootProofArgs {
                start: U256::from(start),
                end: U256::from(end),
                args: cabi::PublicInputArgs {
                    previousArchive: chain.archive_at(start - 1),
                    endArchive: chain.archive_at(end),
                    outHash: stored.outHash,
                    proverId: prover.address(),
                },
                fees,
                attestations: att,
                blobInputs: Bytes::from(bundle.point_evaluation_input(0, [0u8; 32])?),
                proof: Bytes::new(),
            },
        };
        let r = self.l1.send(
            &prover,
            "submitEpochRootProof",
            cairn_l1::TxRequest {
                to: Some(rollup),
                data: call.abi_encode(),
                value: U256::ZERO,
                gas: Some(3_000_000),
            },
        )?;
        self.metrics.proofs.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            start,
            end,
            epoch = e,
            gas = r.gas_used,
            "epoch proof accepted"
        );
        Ok(())
    }

    /// Accepts a tx from this node's RPC into the pool (see [`admit_tx`](Self::admit_tx)) and
    /// gossips it.
    pub fn submit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], (String, String)> {
        let hash = self.admit_tx(bytes)?;
        if let Some(n) = self.network.get() {
            n.announce_tx(bytes);
        }
        Ok(hash)
    }

    /// Accepts a tx into the pool after the validation and proof stages against the current
    /// state; persisted before this returns. A gossiped tx comes in here directly: the p2p
    /// service forwards it only once this accepted it.
    pub fn admit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], (String, String)> {
        let tx = Tx::decode(bytes).map_err(|e| ("malformed".to_string(), e.to_string()))?;
        let hash = tx.hash();
        if self.store.pool_get(&hash).ok().flatten().is_some()
            || self.store.receipt(&hash).ok().flatten().is_some()
        {
            return Err(("duplicate".into(), "tx already known".into()));
        }
        let chain = self
            .chain
            .read()
            .map_err(|_| ("internal".to_string(), "lock".to_string()))?;
        let ctx = context(
            chain.tip() + 1,
            self.l1.chain_id(),
            self.config().rollup_version,
            0,
            [0; 20],
        );
        // A snapshot: the next block copies the state only if this call is still running.
        let st: Arc<dyn StateView + Send + Sync> = chain.state.clone();
        drop(chain);
        self.pipeline
            .admit(st, &ctx, bytes)
            .map_err(|(_, r)| (r.code, r.message))?;
        let internal = |e: crate::store::StoreError| ("internal".to_string(), e.to_string());
        // One admission at a time past this point, so the bound holds.
        let _admitting = self
            .admitting
            .lock()
            .map_err(|_| ("internal".to_string(), "lock".to_string()))?;
        let max = self.config().max_pending_txs.max(1);
        if self.store.pool_len().map_err(internal)? as usize >= max {
            let fee = tx.gas.max_fee_per_mana;
            let lowest = self
                .store
                .pool()
                .map_err(internal)?
                .into_iter()
                .filter_map(|(h, b)| Tx::decode(&b).ok().map(|t| (t.gas.max_fee_per_mana, h)))
                .min();
            match lowest {
                Some((low, victim)) if low < fee => {
                    let receipt = json!({"status": "dropped", "code": "evicted", "error": format!("the pool is full (P2P_MAX_PENDING_TX_COUNT = {max}) and a tx paying a higher fee per mana arrived; resend with a higher max fee")});
                    self.store
                        .settle(&[(victim, serde_json::to_vec(&receipt).unwrap_or_default())])
                        .map_err(internal)?;
                    tracing::debug!(evicted = %hex::encode(victim), "pool full: lowest-fee tx evicted");
                }
                _ => {
                    return Err((
                        "pool-full".into(),
                        format!("the pool holds {max} txs (P2P_MAX_PENDING_TX_COUNT) paying at least this fee per mana; retry later or with a higher max fee"),
                    ))
                }
            }
        }
        self.store.pool_add(&hash, bytes).map_err(internal)?;
        self.metrics.txs_received.fetch_add(1, Ordering::Relaxed);
        Ok(hash)
    }

    /// `node_getL2Tips` in the v2 shape (one block per checkpoint: latest = proposed).
    pub fn tips(&self) -> Value {
        let chain = match self.chain.read() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        let tip = chain.tip();
        let proven = self.proven.load(Ordering::Relaxed).min(tip);
        let hash = |n: u64| format!("{:#x}", chain.archive_at(n));
        json!({
            "latest": {"number": tip, "hash": hash(tip)},
            "proven": {"number": proven, "hash": hash(proven)},
            "finalized": {"number": proven, "hash": hash(proven)},
        })
    }

    /// The Rollup's current mana min fee (the fee per mana of the next block).
    pub fn current_min_fee(&self) -> Result<u128, NodeError> {
        let ts = self.l1.latest_timestamp()?;
        self.l1
            .call(
                self.rollup(),
                &R::getManaMinFeeAtCall {
                    _timestamp: U256::from(ts),
                    _inFeeAsset: true,
                },
            )?
            .try_into()
            .map_err(|_| NodeError::Invalid("mana min fee out of range".into()))
    }

    /// Health reasons (empty: healthy).
    pub fn unhealthy(&self) -> Vec<String> {
        let mut r = Vec::new();
        if let Ok(g) = self.health.l1_error.lock() {
            if let Some((at, e)) = &*g {
                if at.elapsed() < Duration::from_secs(30) {
                    r.push(format!("L1 unreachable or failing: {e}"));
                }
            }
        }
        if let Ok(g) = self.health.quorum.lock() {
            if let Some((at, why)) = &*g {
                // Unhealthy until a proposal of this node reaches quorum, or for two slots.
                if at.elapsed() < Duration::from_secs(2 * self.timing.slot_duration()) {
                    r.push(format!(
                        "the last proposal missed quorum ({why}): too few committee members are reachable over p2p"
                    ));
                }
            }
        }
        if let Some(net) = self.network.get() {
            let min = self.config().min_peers;
            let peers = net.peers().len();
            if peers < min {
                r.push(format!(
                    "{peers} p2p peers, fewer than P2P_MIN_PEERS ({min})"
                ));
            }
        }
        if let Ok(g) = self.health.l1_ok.lock() {
            match *g {
                None => r.push("not synced with L1 yet".into()),
                Some(t) if t.elapsed() > Duration::from_secs(60) => r.push(format!(
                    "no successful L1 read for {} s",
                    t.elapsed().as_secs()
                )),
                _ => {}
            }
        }
        r
    }
}

fn receipts_for(block: &Block, status: &str) -> Vec<([u8; 32], Vec<u8>)> {
    block
        .txs
        .iter()
        .zip(&block.effects)
        .filter_map(|(t, e)| {
            let tx = Tx::decode(t).ok()?;
            let eff = TxEffects::decode(e)?;
            let r = json!({
                "status": status,
                "txHash": format!("0x{}", hex::encode(tx.hash())),
                "blockNumber": block.header.block_number,
                "l1Tx": format!("{:#x}", block.l1_tx),
                "gasUsed": eff.gas_used,
                "fee": eff.fee.to_string(),
            });
            Some((tx.hash(), serde_json::to_vec(&r).ok()?))
        })
        .collect()
}

/// The fixed points in a duty where a test can crash the node (feature `fault-injection`).
pub const FAULT_POINTS: [&str; 3] = [
    "after-guard-record",
    "in-attestation-round",
    "after-publish",
];

#[cfg(feature = "fault-injection")]
static ARMED_FAULT: Mutex<Option<String>> = Mutex::new(None);

/// Arms one of [`FAULT_POINTS`] (test builds only, through `nodeAdmin_armFaultPoint`): the
/// next duty that reaches it logs that it got there and parks its thread for good, so the test
/// can kill -9 the process exactly at that point. `false` for an unknown point.
#[cfg(feature = "fault-injection")]
pub fn arm_fault_point(point: &str) -> bool {
    if !FAULT_POINTS.contains(&point) {
        return false;
    }
    if let Ok(mut a) = ARMED_FAULT.lock() {
        *a = Some(point.to_string());
    }
    true
}

/// Without the `fault-injection` feature this is empty and compiles away.
fn fault_point(point: &str, slot: u64, checkpoint: u64, digest: &B256) {
    #[cfg(feature = "fault-injection")]
    if ARMED_FAULT
        .lock()
        .is_ok_and(|a| a.as_deref() == Some(point))
    {
        tracing::error!(point, slot, checkpoint, digest = %digest, "fault point reached; waiting to be killed");
        loop {
            std::thread::park();
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = (point, slot, checkpoint, digest);
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot start the {name} thread: {e}"))
}
