//! The node: the handles its services share. Each piece of mutable state has one owner:
//!
//! - the chain, the world state and the block table: the chain service ([`crate::world`]);
//! - the pool's admission: [`crate::pool`];
//! - proposals and attestations seen, equivocations: the validator client
//!   ([`crate::consensus`]);
//! - the slashing guard: the store's duty table, written only through `Store::guard`;
//! - the swarm and its peers: the p2p service, behind [`crate::network::Network`].
//!
//! The tasks in [`crate::service`] drive them: the archiver ([`crate::archiver`]), the
//! sequencer ([`crate::sequencer`]), the prover ([`crate::prover`]) and the HTTP servers
//! ([`crate::rpc`], written against the traits in [`crate::api`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use cairn_consensus::abi::{IInbox, IRollupConsensus as R};
use cairn_consensus::{constants, time::Timing};
use cairn_engine::{Pipeline, TxOutcome};
use cairn_l1::L1;
use cairn_protocol::crypto::NativeCrypto;
use cairn_protocol::stages::{self, BlockContext, BlockHeader, TxEffects};
use cairn_protocol::state::WorldState;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::chain::Chain;
use crate::config::NodeConfig;
use crate::consensus::Consensus;
use crate::error::{NodeError, StartError};
use crate::metrics::{Health, Metrics};
use crate::network::Network;
use crate::pool::TxPool;
use crate::store::Store;
use crate::world::ChainHandle;

/// A running node's shared handles (see the module doc for who owns what).
pub struct Node {
    /// Configuration (hot-settable parts through the admin API).
    cfg: RwLock<NodeConfig>,
    /// The database (tables written by their owners: blocks and receipts by the chain service,
    /// the pool by the pool, duties by the signers' guard).
    pub store: Arc<Store>,
    /// The chain service: snapshots and writes.
    pub chain: ChainHandle,
    /// The tx pool.
    pub pool: TxPool,
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
    /// Archiver paused by the admin API (the node follows peers instead).
    pub sync_paused: AtomicBool,
    /// Cancelled once to stop every task (Ctrl-C, SIGTERM).
    shutdown: CancellationToken,
    /// Bound addresses (rpc, admin).
    pub bound: Mutex<(String, String)>,
    committees: Mutex<BTreeMap<u64, Vec<Address>>>,
    pub(crate) last_slot: AtomicU64,
    pub(crate) activated: Mutex<BTreeMap<cairn_engine::Stage, u64>>,
    /// The p2p service, once started (`P2P_ENABLED`).
    pub network: std::sync::OnceLock<Box<dyn Network>>,
    /// Proposals and attestations seen on the network.
    pub(crate) consensus: Consensus,
    /// The HA signing table, when HA signing is on (see [`crate::duties`]).
    pub(crate) ha: Option<cairn_ha::HaSigner>,
    /// What a tx costs this node to build: the block size that fits the slot's build time.
    pub(crate) build_cost: crate::chain::BuildCost,
}

/// The next block's context: txs bind the L1 chain id and the Rollup's version.
pub(crate) fn context(
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
/// filled, the archive root after it, and the state after it (what the chain service installs
/// when the block commits, so the block is applied once).
pub(crate) fn seal(
    state: &WorldState,
    mut header: BlockHeader,
    effects: &[TxEffects],
) -> (BlockHeader, B256, WorldState) {
    header.effects_hash = stages::effects_hash(&NativeCrypto, effects);
    let mut fork = state.clone();
    let h = fork.apply_block(header, effects);
    let archive = Chain::archive_root(&fork);
    (h, archive, fork)
}

/// A block re-executed on its parent: what the chain service appends.
pub(crate) struct Replayed {
    /// The block, as re-executed (status, L1 transaction and attestations for the caller).
    pub(crate) block: crate::chain::Block,
    /// The state after it.
    pub(crate) state: WorldState,
    /// Its parent's archive.
    pub(crate) parent: B256,
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

    /// Re-executes a checkpoint's `blocks` in order on `chain`'s tip: each must be the next
    /// block number, hold only txs this node accepts, and reproduce its header exactly (the
    /// attestation stage compares). `Err(NodeError::Invalid)` says which block and why.
    pub(crate) fn replay_checkpoint(
        &self,
        chain: &Chain,
        checkpoint: u64,
        blocks: Vec<(BlockHeader, Vec<Vec<u8>>)>,
    ) -> Result<Vec<Replayed>, NodeError> {
        let mut state = chain.state.clone();
        let mut parent = chain.archive_at(chain.tip());
        let mut out: Vec<Replayed> = Vec::with_capacity(blocks.len());
        for (i, (header, txs)) in blocks.into_iter().enumerate() {
            let n = chain.tip() + 1 + i as u64;
            let invalid = |why: String| {
                NodeError::Invalid(format!("checkpoint {checkpoint}, block {n}: {why}"))
            };
            if header.block_number != n {
                return Err(invalid(format!(
                    "the header says block {}",
                    header.block_number
                )));
            }
            if let Some(first) = out.first() {
                let g = &first.block.header;
                if (header.slot, header.fee_per_mana, header.coinbase)
                    != (g.slot, g.fee_per_mana, g.coinbase)
                {
                    return Err(invalid(
                        "its slot, fee or coinbase differ from the checkpoint's first block".into(),
                    ));
                }
            }
            let ctx = BlockContext {
                chain_id: header.chain_id,
                rollup_version: header.rollup_version,
                block_number: n,
                fee_per_mana: header.fee_per_mana,
                coinbase: header.coinbase,
            };
            self.block_boundary(n);
            let run = self.run_block(&state, &ctx, &txs)?;
            if let Some((_, stage, r)) = run.rejected.first() {
                return Err(invalid(format!(
                    "holds a tx this node rejects at {}: {}",
                    stage.name(),
                    r.message
                )));
            }
            // `seal` recomputes every derived field (roots, effects hash, counts).
            let (local, archive, post) = seal(&state, header.clone(), &run.effects);
            let (verdict, _) = self.pipeline.attest(&header.encode(), &local);
            verdict.map_err(|e| invalid(format!("re-execution disagrees: {e}")))?;
            if local != header {
                return Err(invalid("re-execution gives another header".into()));
            }
            let block = crate::chain::Block {
                header,
                txs,
                effects: run.effect_bytes,
                archive,
                l1_tx: B256::ZERO,
                status: crate::chain::Status::Checkpointed,
                attestations: Vec::new(),
                checkpoint,
            };
            let next_parent = archive;
            state = Arc::new(post);
            out.push(Replayed {
                block,
                state: WorldState::clone(&state),
                parent,
            });
            parent = next_parent;
        }
        Ok(out)
    }

    /// Opens storage, starts the chain service (which replays the stored chain), connects the
    /// pipeline and reads the Rollup's timing. Starts no task (see [`crate::service::start`]).
    pub fn open(cfg: NodeConfig, l1: L1, pipeline: Pipeline) -> Result<Arc<Node>, StartError> {
        // Before anything is written: a node that would propose or attest must be on a Rollup
        // deployed for its own L2.
        if cfg.roles.sequencer || !cfg.attesters.is_empty() {
            check_genesis(&l1, cfg.rollup, &cfg.genesis)?;
        }
        // Then the HA table, also before anything is written here.
        let ha = cfg.ha.clone().map(|c| open_ha(c, cfg.rollup)).transpose()?;
        let store = Arc::new(
            Store::open_with_cache(&cfg.data_dir, cfg.db_cache_mb)?
                .with_quick_repair(cfg.db_quick_repair),
        );
        let genesis = l1.call(cfg.rollup, &R::getGenesisTimeCall {})?;
        let slot = l1.call(cfg.rollup, &R::getSlotDurationCall {})?;
        let epoch = l1.call(cfg.rollup, &R::getEpochDurationCall {})?;
        let number = |what: &str, v: U256| {
            u64::try_from(v).map_err(|_| {
                StartError::Other(format!("the Rollup's {what} ({v}) is out of range"))
            })
        };
        let timing = Timing::new(
            number("genesis time", genesis)?,
            number("slot duration", slot)?,
            number("epoch duration", epoch)?,
        )
        .map_err(|e| StartError::Other(format!("the Rollup's timing is unusable: {e}")))?;
        let chain = ChainHandle::open(cfg.genesis.clone(), store.clone())?;
        let node = Arc::new(Node {
            ha,
            sync_paused: AtomicBool::new(cfg.sync_paused),
            cfg: RwLock::new(cfg),
            pool: TxPool::new(store.clone()),
            store,
            chain,
            pipeline,
            l1,
            timing,
            metrics: Metrics::default(),
            health: Health::default(),
            shutdown: CancellationToken::new(),
            bound: Mutex::new((String::new(), String::new())),
            committees: Mutex::new(BTreeMap::new()),
            last_slot: AtomicU64::new(0),
            activated: Mutex::new(BTreeMap::new()),
            network: std::sync::OnceLock::new(),
            consensus: Consensus::default(),
            build_cost: Default::default(),
        });
        node.restore_modules()?;
        Ok(node)
    }

    /// The token every task watches; cancelling it stops the node.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Asks every task to stop after the duty it is in.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Changes the hot-settable configuration (admin API); tasks read it on their next pass.
    pub fn update_config(&self, f: impl FnOnce(&mut NodeConfig)) {
        let mut c = self.cfg.write().unwrap_or_else(|p| p.into_inner());
        f(&mut c);
    }

    /// A snapshot of the configuration.
    pub fn config(&self) -> NodeConfig {
        self.cfg
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn rollup(&self) -> Address {
        self.config().rollup
    }

    pub(crate) fn l1_ok(&self) {
        if let Ok(mut g) = self.health.l1_ok.lock() {
            *g = Some(Instant::now());
        }
        if let Ok(mut g) = self.health.l1_error.lock() {
            *g = None;
        }
    }

    pub(crate) fn l1_err(&self, e: &dyn std::fmt::Display) {
        tracing::warn!(error = %e, "L1 request failed");
        if let Ok(mut g) = self.health.l1_error.lock() {
            *g = Some((Instant::now(), e.to_string()));
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

    /// The Rollup's mana limit: the most a checkpoint's `totalManaUsed` may be (above it,
    /// `propose` reverts).
    pub fn mana_limit(&self) -> Result<u128, NodeError> {
        let limit = self.l1.call(self.rollup(), &R::getManaLimitCall {})?;
        // A limit past u128 is no limit a block could reach.
        Ok(limit.try_into().unwrap_or(u128::MAX))
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
        if let Ok(g) = self.health.signer.lock() {
            if let Some((_, e)) = &*g {
                r.push(format!("signing failed: {e}"));
            }
        }
        if let Ok(g) = self.health.ha.lock() {
            if let Some((_, e)) = &*g {
                r.push(format!("HA signing: {e}"));
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

/// The tips of `chain` as `node_getL2Tips` answers them: `latest`, `proven` and `finalized`
/// keep their meaning (blocks on L1, `{number, hash}`: what existing clients and the operator
/// guide read); Aztec v5's `proposed` adds the blocks of a checkpoint still in its slot, and
/// `checkpointed` names the checkpoint of `latest`.
pub(crate) fn tips_json(chain: &Chain) -> Value {
    let tip = chain.tip();
    let latest = chain.checkpointed_tip();
    let proven = chain.proven.min(latest);
    let hash = |n: u64| format!("{:#x}", chain.archive_at(n));
    let block = |n: u64| json!({"number": n, "hash": hash(n)});
    let cp = chain.block(latest).map_or(0, |b| b.checkpoint);
    json!({
        "latest": block(latest),
        "proposed": block(tip),
        "checkpointed": {"block": block(latest), "checkpoint": {"number": cp, "hash": hash(latest)}},
        "proven": block(proven),
        "finalized": block(proven),
    })
}

/// Connects to the HA signing table at start: the database must answer and hold the current
/// schema (a start that could not sign is better found now than at the first duty). Rows of
/// other rollups (an old deployment) and this node's own rows left `signing` by a crash are
/// deleted.
fn open_ha(cfg: cairn_ha::HaConfig, rollup: Address) -> Result<cairn_ha::HaSigner, StartError> {
    let ha = cairn_ha::HaSigner::connect(cfg)?;
    let other = ha.cleanup_other_rollups(rollup)?;
    let stuck = ha.cleanup_own_stuck()?;
    tracing::info!(
        node_id = ha.node_id(),
        other_rollups = other,
        stuck,
        "HA signing on: every duty is claimed in the shared table before it is signed"
    );
    Ok(ha)
}

/// Refuses a Rollup whose `archiveAt(0)` is not the archive of `genesis` (an L1 failure is an
/// error, never a pass).
pub fn check_genesis(l1: &L1, rollup: Address, genesis: &WorldState) -> Result<(), StartError> {
    let found = l1.call(
        rollup,
        &R::archiveAtCall {
            _checkpointNumber: U256::ZERO,
        },
    )?;
    let expected = Chain::archive_root(genesis);
    if found == expected {
        return Ok(());
    }
    Err(StartError::ForeignGenesis {
        rollup,
        found,
        known: cairn_consensus::constants::known_genesis(&found)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default(),
        expected,
    })
}
