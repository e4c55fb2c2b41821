//! The chain/world-state service: the one writer of the chain (blocks, world state, proven
//! tip) and of the block table in the store.
//!
//! Builders (the sequencer), the archiver and peers' blocks all execute off this service, on a
//! snapshot, and hand in the block with the state it leads to; the service checks that it
//! still extends the tip, commits it (block, receipts and pool removal in one store
//! transaction), then publishes a new snapshot. Readers (JSON-RPC, the validator client, the
//! prover, the p2p server) take a snapshot: an `Arc` clone, never a lock held across work, and
//! no copy of the state or the block list.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, RwLock};

use alloy_primitives::B256;
use cairn_protocol::stages::TxEffects;
use cairn_protocol::state::WorldState;
use cairn_protocol::tx::Tx;
use serde_json::json;

use cairn_protocol::field::fr_to_bytes;

use crate::chain::{Block, Chain, Status};
use crate::error::{NodeError, StartError};
use crate::statedb::{StateSnapshot, Unwind, STATE_VERSION, UNDO_WINDOW};
use crate::store::{Entry, Store};

/// A write the service was asked for, with where to send the outcome.
enum Command {
    Append {
        block: Box<Block>,
        state: Box<WorldState>,
        parent: B256,
        extra_receipts: Vec<Entry>,
        reply: SyncSender<Result<bool, NodeError>>,
    },
    RollBack {
        to: u64,
        reason: String,
        reply: SyncSender<Result<usize, NodeError>>,
    },
    Checkpointed {
        checkpoint: u64,
        l1_tx: B256,
        attestations: Vec<u8>,
        reply: SyncSender<Result<usize, NodeError>>,
    },
    Proven {
        upto: u64,
        reply: SyncSender<Result<(), NodeError>>,
    },
    Stop,
}

/// A handle on the chain service: snapshots for readers, writes through the service's queue.
/// Cheap to clone; the service stops when the last handle is dropped.
#[derive(Clone)]
pub struct ChainHandle {
    current: Arc<RwLock<Arc<Chain>>>,
    commands: Sender<Command>,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl ChainHandle {
    /// Opens the chain: the stored blocks and the stored world state (read in place, not
    /// replayed; only blocks the state lacks are applied), checked against the tip's roots, and
    /// starts the service's thread.
    pub fn open(genesis: WorldState, store: Arc<Store>) -> Result<ChainHandle, StartError> {
        let genesis = Arc::new(genesis);
        let tip = store.last_block()?;
        let proven = proven_tip(&store, tip)?;
        let (state, snap) = open_state(&genesis, &store, tip, proven)?;
        let chain = Chain::stored(genesis.clone(), snap, state, tip, proven);
        tracing::info!(tip = chain.tip(), "chain and world state opened");
        let current = Arc::new(RwLock::new(Arc::new(chain.clone())));
        let (commands, queue) = mpsc::channel();
        let service = Service {
            chain,
            store,
            genesis,
            current: current.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("chain".into())
            .spawn(move || service.run(queue))
            .map_err(|e| StartError::Other(format!("cannot start the chain service: {e}")))?;
        Ok(ChainHandle {
            current,
            commands,
            thread: Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    /// The latest committed chain.
    pub fn snapshot(&self) -> Arc<Chain> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The tip's number.
    pub fn tip(&self) -> u64 {
        self.snapshot().tip()
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(SyncSender<Result<T, NodeError>>) -> Command,
    ) -> Result<T, NodeError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.commands
            .send(make(reply))
            .map_err(|_| NodeError::Stopped)?;
        answer.recv().map_err(|_| NodeError::Stopped)?
    }

    /// Appends `block` (executed on the chain whose tip archive is `parent`, leading to
    /// `state`) with its txs' receipts and `extra_receipts` (txs dropped while building it).
    /// `Ok(false)`: the chain moved meanwhile (another writer appended or rolled back), so the
    /// block no longer extends the tip and nothing was written.
    pub fn append(
        &self,
        block: Block,
        state: WorldState,
        parent: B256,
        extra_receipts: Vec<Entry>,
    ) -> Result<bool, NodeError> {
        self.ask(|reply| Command::Append {
            block: Box::new(block),
            state: Box::new(state),
            parent,
            extra_receipts,
            reply,
        })
    }

    /// Drops the blocks above `to` (their checkpoint missed L1, or L1 pruned or reorged them);
    /// their txs go back to the pool with a pending receipt that names the block and `reason`.
    /// Returns how many blocks were dropped.
    pub fn roll_back(&self, to: u64, reason: &str) -> Result<usize, NodeError> {
        self.ask(|reply| Command::RollBack {
            to,
            reason: reason.to_string(),
            reply,
        })
    }

    /// Marks checkpoint `checkpoint`'s proposed blocks checkpointed (L1 accepted it in
    /// `l1_tx`, with `attestations`), their receipts too. Returns how many blocks changed.
    pub fn mark_checkpointed(
        &self,
        checkpoint: u64,
        l1_tx: B256,
        attestations: Vec<u8>,
    ) -> Result<usize, NodeError> {
        self.ask(|reply| Command::Checkpointed {
            checkpoint,
            l1_tx,
            attestations,
            reply,
        })
    }

    /// Stops the service after the writes queued before this one, and waits for it (the last
    /// step of a shutdown, once the tasks that write have stopped). Later writes through any
    /// handle fail with [`NodeError::Stopped`]; snapshots stay readable.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Stop);
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Marks blocks up to `upto` proven (persisted, so a restart reports the same tips).
    pub fn mark_proven(&self, upto: u64) -> Result<(), NodeError> {
        self.ask(|reply| Command::Proven { upto, reply })
    }
}

/// The service's own state: nothing else holds a mutable reference to it.
struct Service {
    chain: Chain,
    store: Arc<Store>,
    genesis: Arc<WorldState>,
    current: Arc<RwLock<Arc<Chain>>>,
}

impl Service {
    fn run(mut self, queue: Receiver<Command>) {
        // Ends when every handle is gone (the node shut down). Each command is one store
        // transaction, so stopping between two leaves the store consistent.
        while let Ok(cmd) = queue.recv() {
            match cmd {
                Command::Append {
                    block,
                    state,
                    parent,
                    extra_receipts,
                    reply,
                } => {
                    let _ = reply.send(self.append(*block, *state, parent, extra_receipts));
                }
                Command::RollBack { to, reason, reply } => {
                    let _ = reply.send(self.roll_back(to, &reason));
                }
                Command::Checkpointed {
                    checkpoint,
                    l1_tx,
                    attestations,
                    reply,
                } => {
                    let _ = reply.send(self.mark_checkpointed(checkpoint, l1_tx, attestations));
                }
                Command::Proven { upto, reply } => {
                    let _ = reply.send(self.mark_proven(upto));
                }
                Command::Stop => break,
            }
        }
        tracing::debug!("chain service stopped");
    }

    fn publish(&self) {
        let next = Arc::new(self.chain.clone());
        match self.current.write() {
            Ok(mut c) => *c = next,
            Err(p) => *p.into_inner() = next,
        }
    }

    fn append(
        &mut self,
        block: Block,
        state: WorldState,
        parent: B256,
        extra_receipts: Vec<Entry>,
    ) -> Result<bool, NodeError> {
        let n = block.header.block_number;
        let tip = self.chain.tip();
        if n != tip + 1 || self.chain.archive_at(tip) != parent {
            return Ok(false);
        }
        if Chain::archive_root(&state) != block.archive {
            return Err(crate::chain::ChainError::RootsDiffer(n).into());
        }
        // A read that failed while the block was executed read as "absent": its effects
        // cannot be trusted, so nothing executed on this snapshot is committed.
        if let Some(f) = self.chain.stored.as_ref().and_then(|s| s.failure()) {
            return Err(self
                .store
                .err(format!("reading the world state failed: {f}"))
                .into());
        }
        let mut receipts = receipts_for(&block, block.status.name());
        receipts.extend(extra_receipts);
        self.store.commit_block_with_state(
            n,
            block.checkpoint,
            &block.encode(),
            &receipts,
            &state,
            undo_floor(n, self.chain.proven),
        )?;
        crate::sequencer::fault_point("after-block-commit", n, n, &Default::default());
        let snap = current_state(&self.store)?;
        let world = snap.world(&self.genesis);
        self.chain.stored = Some(snap);
        self.chain.push_with_state(block, world)?;
        self.publish();
        Ok(true)
    }

    fn roll_back(&mut self, to: u64, reason: &str) -> Result<usize, NodeError> {
        if to >= self.chain.tip() {
            return Ok(0);
        }
        let tip = self.chain.tip();
        let mut back: Vec<Entry> = Vec::new();
        let mut notes: Vec<Entry> = Vec::new();
        for b in self.chain.blocks(to + 1, tip) {
            for t in &b.txs {
                let Ok(tx) = Tx::decode(t) else { continue };
                let note = json!({
                    "status": "pending",
                    "txHash": format!("0x{}", hex::encode(tx.hash())),
                    "rolledBack": {
                        "blockNumber": b.header.block_number,
                        "checkpoint": b.checkpoint,
                        "reason": reason,
                    },
                });
                if let Ok(bytes) = serde_json::to_vec(&note) {
                    notes.push((tx.hash(), bytes));
                }
                back.push((tx.hash(), t.clone()));
            }
        }
        // Store first: if the write fails, memory still matches the store.
        if let Unwind::NoHistory(n) = self.store.roll_back_with_state(to, &back, &notes)? {
            tracing::warn!(
                block = n,
                "no undo record for block {n}: rebuilding the world state from genesis"
            );
            self.store.roll_back(to, &back, &notes)?;
            replay(
                &self.genesis,
                &self.store,
                None,
                to,
                self.chain.proven.min(to),
            )?;
        }
        self.reopen(to, self.chain.proven.min(to))?;
        self.publish();
        Ok((tip - to) as usize)
    }

    fn mark_checkpointed(
        &mut self,
        checkpoint: u64,
        l1_tx: B256,
        attestations: Vec<u8>,
    ) -> Result<usize, NodeError> {
        let mut blocks = Vec::new();
        let mut receipts = Vec::new();
        for b in self.chain.proposed() {
            if b.checkpoint != checkpoint {
                continue;
            }
            let mut b = (*b).clone();
            b.status = Status::Checkpointed;
            b.l1_tx = l1_tx;
            b.attestations = attestations.clone();
            receipts.extend(receipts_for(&b, b.status.name()));
            blocks.push((b.header.block_number, b.encode()));
        }
        if blocks.is_empty() {
            return Ok(0);
        }
        self.store.put_blocks_settled(&blocks, &receipts)?;
        self.reopen(self.chain.tip(), self.chain.proven)?;
        self.publish();
        Ok(blocks.len())
    }

    fn mark_proven(&mut self, upto: u64) -> Result<(), NodeError> {
        let upto = upto.min(self.chain.tip());
        if upto == self.chain.proven {
            return Ok(());
        }
        // Memory follows only once the store has it: it never runs ahead.
        let changed: Vec<(u64, Vec<u8>)> = self
            .chain
            .blocks(self.chain.proven + 1, upto)
            .filter(|b| b.status != Status::Proven)
            .map(|b| {
                let mut b = (*b).clone();
                b.status = Status::Proven;
                (b.header.block_number, b.encode())
            })
            .collect();
        self.store
            .mark_proven(&changed, upto, undo_floor(self.chain.tip(), upto))?;
        self.reopen(self.chain.tip(), upto)?;
        self.publish();
        Ok(())
    }

    /// Points the chain at a fresh snapshot of the store, after a write.
    fn reopen(&mut self, tip: u64, proven: u64) -> Result<(), NodeError> {
        let snap = current_state(&self.store)?;
        let world = Arc::new(snap.world(&self.genesis));
        self.chain = Chain::stored(self.genesis.clone(), snap, world, tip, proven);
        Ok(())
    }
}

/// Undo records of blocks up to this are dropped when block `n` commits: proven blocks are
/// final (kept only while in the anchor window), and deeper unwinds than the window rebuild
/// instead.
fn undo_floor(n: u64, proven: u64) -> u64 {
    // Proven blocks stay as long as they are in the anchor window: their records serve the
    // witnesses a wallet anchored there asks for.
    let anchors = n.saturating_sub(cairn_protocol::state::ANCHOR_WINDOW as u64);
    proven.min(anchors).max(n.saturating_sub(UNDO_WINDOW))
}

fn current_state(store: &Store) -> Result<Arc<StateSnapshot>, NodeError> {
    store
        .state_snapshot()?
        .map(Arc::new)
        .ok_or_else(|| NodeError::Invalid("the world state disappeared from the database".into()))
}

/// Applies the stored blocks up to `to` to the stored state, from the block after its head
/// (`from_head`), or from genesis with `None`, committing each block's state as it goes.
fn replay(
    genesis: &Arc<WorldState>,
    store: &Store,
    from_head: Option<u64>,
    to: u64,
    proven: u64,
) -> Result<(), NodeError> {
    let start = match from_head {
        Some(h) => h,
        None => {
            store.put_state(genesis)?;
            0
        }
    };
    for n in start + 1..=to {
        let b = store
            .block(n)?
            .and_then(|b| Block::decode(&b))
            .ok_or_else(|| {
                NodeError::Invalid(format!("stored block {n} is missing or does not decode"))
            })?;
        let mut world = current_state(store)?.world(genesis);
        let effects = b.tx_effects().ok_or_else(|| {
            NodeError::Invalid(format!("stored block {n} has undecodable effects"))
        })?;
        let h = world.apply_block(b.header.clone(), &effects);
        if h != b.header || Chain::archive_root(&world) != b.archive {
            return Err(crate::chain::ChainError::RootsDiffer(n).into());
        }
        store.put_replayed_state(n, &world, undo_floor(n, proven))?;
    }
    Ok(())
}

/// The proven tip: as recorded, or (a data directory from an earlier version) from the blocks'
/// statuses, once, and then recorded.
fn proven_tip(store: &Store, tip: u64) -> Result<u64, StartError> {
    if let Some(p) = store.proven_tip()? {
        return Ok(p.min(tip));
    }
    let mut proven = 0;
    for (n, bytes) in store.blocks()? {
        if Block::decode(&bytes).is_some_and(|b| b.status == Status::Proven) {
            proven = n;
        }
    }
    store.mark_proven(&[], proven, undo_floor(tip, proven))?;
    Ok(proven)
}

/// Rebuilds the stored world state from genesis and the stored blocks (`cairn db rebuild`):
/// the way back from a state that fails its checks. Returns the block it is after.
pub fn rebuild_state(genesis: WorldState, store: &Store) -> Result<u64, StartError> {
    let genesis = Arc::new(genesis);
    let tip = store.last_block()?;
    let proven = proven_tip(store, tip)?;
    store.clear_state()?;
    replay(&genesis, store, None, tip, proven).map_err(|e| StartError::Other(e.to_string()))?;
    Ok(tip)
}

/// The stored state, brought up to the stored tip and checked against it.
fn open_state(
    genesis: &Arc<WorldState>,
    store: &Store,
    tip: u64,
    proven: u64,
) -> Result<(Arc<WorldState>, Arc<StateSnapshot>), StartError> {
    let damaged = |what: String| {
        StartError::Other(format!(
            "the world state in DATA_DIRECTORY {what}: the database is damaged. \
             Run `cairn db rebuild` with the same DATA_DIRECTORY to rebuild it from the stored \
             blocks (or move DATA_DIRECTORY away and resync from L1)"
        ))
    };
    let head = store
        .state_head()
        .map_err(|e| damaged(format!("cannot be read ({e})")))?;
    let from = match head {
        Some(h) if h.version != STATE_VERSION => {
            tracing::info!(
                stored = h.version,
                current = STATE_VERSION,
                "world state layout changed: rebuilding it from the stored blocks"
            );
            None
        }
        Some(h) if h.block > tip => {
            return Err(damaged(format!(
                "is after block {} but the stored blocks end at {tip}",
                h.block
            )))
        }
        Some(h) if h.block < tip => {
            tracing::info!(
                from = h.block + 1,
                to = tip,
                "the world state lacks the last blocks: applying them from the stored blocks"
            );
            Some(h.block)
        }
        Some(h) => Some(h.block),
        None => {
            if tip > 0 {
                tracing::info!(
                    tip,
                    "no stored world state: building it from the stored blocks"
                );
            }
            None
        }
    };
    if from != Some(tip) {
        if from.is_none() {
            store.clear_state()?;
        }
        replay(genesis, store, from, tip, proven)
            .map_err(|e| damaged(format!("does not apply the stored blocks ({e})")))?;
    }
    let snap = current_state(store).map_err(|e| damaged(e.to_string()))?;
    let world = snap.world(genesis);
    let roots_match = if tip == 0 {
        Chain::archive_root(&world) == Chain::archive_root(genesis)
    } else {
        match snap.block(tip) {
            Some(b) => {
                let h = &b.header;
                Chain::archive_root(&world) == b.archive
                    && fr_to_bytes(&world.notes.root()) == h.note_root
                    && fr_to_bytes(&world.nullifiers.root()) == h.nullifier_root
                    && fr_to_bytes(&world.public_data.root()) == h.public_data_root
            }
            None => false,
        }
    };
    if let Some(f) = snap.failure() {
        return Err(damaged(format!("cannot be read ({f})")));
    }
    if !roots_match {
        return Err(damaged(format!(
            "does not match block {tip} (its roots differ from the block's header)"
        )));
    }
    Ok((Arc::new(world), snap))
}

/// The receipts a block's txs get, with its status (`proposed`, then `checkpointed` once on L1).
fn receipts_for(block: &Block, status: &str) -> Vec<Entry> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tests::{empty_block_on, header};

    /// The next empty block on `chain`, its post-state and its parent's archive.
    fn next(chain: &Chain) -> (Block, WorldState, B256) {
        let n = chain.tip() + 1;
        let mut s = (*chain.state).clone();
        let block = empty_block_on(&mut s, n, n);
        (block, s, chain.archive_at(n - 1))
    }

    /// The next block on `chain` with `txs` txs that each add a nullifier and a note and write
    /// public slots (some shared between txs and blocks, so payload updates happen too).
    fn busy(chain: &Chain, txs: u64) -> (Block, WorldState, B256) {
        use ark_bn254::Fr;
        use cairn_protocol::field::fr_to_raw;
        let n = chain.tip() + 1;
        let effects: Vec<TxEffects> = (0..txs)
            .map(|i| {
                let mut e = cairn_protocol::vm::interp::Effects::default();
                e.nullifiers.push(Fr::from(1_000_000 * n + i + 1));
                e.note_hashes.push(Fr::from(7 * n + i));
                e.writes
                    .insert(fr_to_raw(&Fr::from(i % 5 + 1)), Fr::from(n));
                e.writes
                    .insert(fr_to_raw(&Fr::from(100 * n + i)), Fr::from(i));
                TxEffects {
                    hash: [i as u8; 32],
                    gas_used: 1,
                    fee: 1,
                    effects: e,
                }
            })
            .collect();
        let mut s = (*chain.state).clone();
        let h = s.apply_block(header(n), &effects);
        let block = Block {
            header: h,
            txs: vec![],
            effects: effects.iter().map(TxEffects::encode).collect(),
            archive: Chain::archive_root(&s),
            l1_tx: B256::ZERO,
            status: Status::Checkpointed,
            attestations: vec![],
            checkpoint: n,
        };
        (block, s, chain.archive_at(n - 1))
    }

    /// Appends three busy blocks, closes the chain and returns the roots it ended with.
    fn three_busy_blocks(chain: &ChainHandle) -> [ark_bn254::Fr; 4] {
        for _ in 0..3 {
            let (b, s, p) = busy(&chain.snapshot(), 5);
            assert!(chain.append(b, s, p, vec![]).unwrap());
        }
        let r = roots(&chain.snapshot().state);
        chain.close();
        r
    }

    /// The four roots of a state.
    fn roots(s: &WorldState) -> [ark_bn254::Fr; 4] {
        [
            s.notes.root(),
            s.nullifiers.root(),
            s.public_data.root(),
            s.archive.root(),
        ]
    }

    #[test]
    fn the_state_is_stored_with_its_block_and_reopens_without_a_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = Vec::new();
        let mut memory = Chain::new(WorldState::new());
        {
            let (chain, store) = open(dir.path());
            history.push(roots(&chain.snapshot().state));
            for _ in 0..6 {
                let (b, s, p) = busy(&chain.snapshot(), 20);
                memory.push(b.clone(), &b.tx_effects().unwrap()).unwrap();
                assert!(chain.append(b, s, p, vec![]).unwrap());
                history.push(roots(&chain.snapshot().state));
            }
            // The stored state is the one applying every block in memory gives.
            assert_eq!(roots(&memory.state), history[6]);
            assert_eq!(store.state_head().unwrap().unwrap().block, 6);
            chain.close();
        }
        let (chain, store) = open(dir.path());
        let c = chain.snapshot();
        assert_eq!(c.tip(), 6);
        assert_eq!(roots(&c.state), history[6]);
        // Reads go to the database: a nullifier of block 3 is there, one never added is not.
        assert!(c
            .state
            .nullifiers
            .contains(&ark_bn254::Fr::from(3_000_001u64)));
        assert!(!c
            .state
            .nullifiers
            .contains(&ark_bn254::Fr::from(3_000_999u64)));
        // Unwinding restores the roots recorded then, for one block and for several.
        assert_eq!(chain.roll_back(5, "test").unwrap(), 1);
        assert_eq!(roots(&chain.snapshot().state), history[5]);
        assert_eq!(chain.roll_back(2, "test").unwrap(), 3);
        assert_eq!(roots(&chain.snapshot().state), history[2]);
        assert_eq!(store.state_head().unwrap().unwrap().block, 2);
        // And the chain goes on from there as a fresh one would.
        let (b, s, p) = busy(&chain.snapshot(), 3);
        assert!(chain.append(b, s, p, vec![]).unwrap());
        let mut fresh = Chain::new(WorldState::new());
        let c = chain.snapshot();
        for blk in c.blocks(1, c.tip()) {
            fresh
                .push((*blk).clone(), &blk.tx_effects().unwrap())
                .unwrap();
        }
        assert_eq!(roots(&chain.snapshot().state), roots(&fresh.state));
    }

    #[test]
    fn older_witnesses_and_unwinds_reach_back_as_far_as_the_undo_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, store) = open(dir.path());
        let mut history = vec![roots(&chain.snapshot().state)];
        let mut anchors = vec![chain.snapshot().state.latest_anchor()];
        for _ in 0..70 {
            let (b, s, p) = busy(&chain.snapshot(), 1);
            assert!(chain.append(b, s, p, vec![]).unwrap());
            history.push(roots(&chain.snapshot().state));
            anchors.push(chain.snapshot().state.latest_anchor());
        }
        // A witness against the state after block 40: the note root and anchor of then, and a
        // path that proves a note of block 40 against that root.
        let c = chain.snapshot();
        let snap = c.stored.clone().unwrap();
        use crate::statedb::TreeId;
        let all = [
            TreeId::Notes,
            TreeId::Nullifiers,
            TreeId::PublicData,
            TreeId::Archive,
        ];
        let then = snap.world_at(40, &c.state, &all).unwrap();
        assert_eq!(roots(&then), history[40]);
        assert_eq!(then.latest_anchor(), anchors[40]);
        let notes = &then.notes;
        let last = notes.len() - 1;
        assert_eq!(notes.path(last).root(notes.leaf(last)), history[40][0]);
        assert_eq!(notes.leaf(last), ark_bn254::Fr::from(7 * 40u64));
        // The indexed trees of then: block 41's nullifier is absent (its low leaf proves it
        // against the root of then) while block 40's is there; slot 1 held 40, not today's 70,
        // and the slot block 41 created did not exist.
        use ark_bn254::Fr;
        let later = Fr::from(1_000_000 * 41 + 1u64);
        assert!(c.state.nullifiers.contains(&later));
        let proof = then.nullifiers.non_membership(&later).unwrap();
        assert!(proof.verify(history[40][1], later));
        let at40 = Fr::from(1_000_000 * 40 + 1u64);
        let i = then.nullifiers.index_of(&at40).unwrap();
        let leaf = then.nullifiers.leaf(i).unwrap();
        assert_eq!(then.nullifiers.path(i).root(leaf.hash()), history[40][1]);
        assert_eq!(then.public_data.get(&Fr::from(1u64)), Some(Fr::from(40u64)));
        assert_eq!(
            c.state.public_data.get(&Fr::from(1u64)),
            Some(Fr::from(70u64))
        );
        assert!(!then.public_data.contains(&Fr::from(100 * 41u64)));
        assert!(then.public_data.contains(&Fr::from(100 * 40u64)));
        // A call pays only for the trees it asks for; the others are empty, not today's.
        let notes_only = snap.world_at(40, &c.state, &[TreeId::Notes]).unwrap();
        assert_eq!(notes_only.notes.root(), history[40][0]);
        assert_eq!(notes_only.public_data.len(), 0);
        // Proving blocks up to 68 drops the records older than the anchor window (64 blocks).
        chain.mark_proven(68).unwrap();
        let snap = chain.snapshot().stored.clone().unwrap();
        assert!(snap.world_at(5, &c.state, &all).is_none());
        assert!(snap.world_at(6, &c.state, &all).is_some());
        assert_eq!(
            store.roll_back_with_state(0, &[], &[]).unwrap(),
            Unwind::NoHistory(6)
        );
        assert_eq!(store.state_head().unwrap().unwrap().block, 70);
        // The chain service falls back to a rebuild when asked to go below them anyway.
        assert_eq!(chain.roll_back(3, "test").unwrap(), 67);
        assert_eq!(roots(&chain.snapshot().state), history[3]);
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_damaged_state_is_refused_with_the_way_out_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let tip_roots;
        {
            let (chain, store) = open(dir.path());
            tip_roots = three_busy_blocks(&chain);
            // Flip the nullifier tree's root node, as a bad disk would.
            store
                .write(|w| {
                    let mut t = w.open_table(crate::statedb::NODES)?;
                    t.insert((1u8, 32u8, 0u64), [7u8; 32])?;
                    Ok(())
                })
                .unwrap();
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let err = ChainHandle::open(WorldState::new(), store.clone())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("does not match block 3"), "{err}");
        assert!(err.contains("cairn db rebuild"), "{err}");
        assert_eq!(rebuild_state(WorldState::new(), &store).unwrap(), 3);
        let chain = ChainHandle::open(WorldState::new(), store).unwrap();
        assert_eq!(roots(&chain.snapshot().state), tip_roots);
    }

    #[test]
    fn a_data_directory_with_blocks_but_no_state_builds_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let tip_roots;
        {
            let (chain, store) = open(dir.path());
            tip_roots = three_busy_blocks(&chain);
            // What an earlier version left: blocks only.
            store.clear_state().unwrap();
        }
        let (chain, store) = open(dir.path());
        assert_eq!(roots(&chain.snapshot().state), tip_roots);
        assert_eq!(store.state_head().unwrap().unwrap().block, 3);
    }

    fn open(dir: &std::path::Path) -> (ChainHandle, Arc<Store>) {
        let store = Arc::new(Store::open(dir).unwrap());
        (
            ChainHandle::open(WorldState::new(), store.clone()).unwrap(),
            store,
        )
    }

    #[test]
    fn appends_publish_snapshots_that_readers_keep() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, _) = open(dir.path());
        let before = chain.snapshot();
        let (b1, s1, p1) = next(&before);
        assert!(chain.append(b1.clone(), s1, p1, vec![]).unwrap());
        let after = chain.snapshot();
        assert_eq!(after.tip(), 1);
        assert_eq!(after.archive_at(1), b1.archive);
        // The reader's earlier snapshot is untouched.
        assert_eq!(before.tip(), 0);
        assert_ne!(
            Chain::archive_root(&before.state),
            Chain::archive_root(&after.state)
        );
    }

    #[test]
    fn a_block_that_no_longer_extends_the_tip_is_refused_without_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, store) = open(dir.path());
        let base = chain.snapshot();
        let (b1, s1, p1) = next(&base);
        assert!(chain.append(b1.clone(), s1.clone(), p1, vec![]).unwrap());
        // The same block again (the archiver and the sequencer racing): a no-op.
        assert!(!chain.append(b1, s1, p1, vec![]).unwrap());
        // A block 2 executed on a parent that is no longer the tip's.
        let (mut b2, s2, _) = next(&chain.snapshot());
        assert!(!chain
            .append(b2.clone(), s2.clone(), B256::repeat_byte(9), vec![])
            .unwrap());
        assert_eq!(store.blocks().unwrap().len(), 1);
        // A state that does not lead to the block's archive is an error, not a commit.
        b2.archive = B256::repeat_byte(1);
        let parent = chain.snapshot().archive_at(1);
        assert!(chain.append(b2, s2, parent, vec![]).is_err());
        assert_eq!(chain.tip(), 1);
        assert_eq!(store.blocks().unwrap().len(), 1);
    }

    #[test]
    fn roll_back_and_proven_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (chain, store) = open(dir.path());
            for _ in 0..3 {
                let (b, s, p) = next(&chain.snapshot());
                assert!(chain.append(b, s, p, vec![]).unwrap());
            }
            chain.mark_proven(1).unwrap();
            // Past the tip: marks what is there.
            chain.mark_proven(9).unwrap();
            assert_eq!(chain.snapshot().proven, 3);
            assert_eq!(chain.roll_back(2, "test").unwrap(), 1);
            assert_eq!(chain.roll_back(5, "test").unwrap(), 0);
            let c = chain.snapshot();
            assert_eq!((c.tip(), c.proven), (2, 2));
            assert_eq!(store.blocks().unwrap().len(), 2);
            chain.close();
            assert!(matches!(
                chain.roll_back(0, "test"),
                Err(NodeError::Stopped)
            ));
            assert_eq!(chain.snapshot().tip(), 2);
        }
        // Reopening replays the same chain.
        let (chain, _) = open(dir.path());
        let c = chain.snapshot();
        assert_eq!((c.tip(), c.proven), (2, 2));
        assert!(c.blocks(1, 2).all(|b| b.status == Status::Proven));
    }

    /// `k` blocks of checkpoint `cp` on `chain`'s tip, each built on the state after the one
    /// before before any is appended (as the sequencer builds a checkpoint).
    fn checkpoint(chain: &Chain, cp: u64, k: u64) -> Vec<(Block, WorldState, B256)> {
        let mut state = (*chain.state).clone();
        let mut parent = chain.archive_at(chain.tip());
        (0..k)
            .map(|i| {
                let block = empty_block_on(&mut state, chain.tip() + 1 + i, cp);
                let archive = block.archive;
                let out = (block, state.clone(), parent);
                parent = archive;
                out
            })
            .collect()
    }

    #[test]
    fn checkpoints_of_several_blocks_are_stored_found_rolled_back_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let mut after_cp2 = None;
        {
            let (chain, store) = open(dir.path());
            // Checkpoint 1: three blocks, checkpoint 2: one, checkpoint 3: two.
            for (cp, k) in [(1, 3), (2, 1), (3, 2)] {
                for (b, s, p) in checkpoint(&chain.snapshot(), cp, k) {
                    assert!(chain.append(b, s, p, vec![]).unwrap());
                }
                if cp == 2 {
                    after_cp2 = Some(roots(&chain.snapshot().state));
                }
            }
            let c = chain.snapshot();
            assert_eq!((c.tip(), c.checkpoint_tip()), (6, 3));
            let ends: Vec<_> = (0..=4).map(|cp| c.last_block_of(cp)).collect();
            assert_eq!(ends, [Some(0), Some(3), Some(4), Some(6), None]);
            assert_eq!(store.checkpoint_end(1).unwrap(), Some(3));
            // A stacked block's state is committed like any other: the tip's roots are those
            // of the same blocks applied one at a time.
            let mut replay = WorldState::new();
            for b in c.blocks(1, 6) {
                replay.apply_block(b.header.clone(), &[]);
            }
            assert_eq!(roots(&c.state), roots(&replay));
            // Back to the end of checkpoint 2: checkpoint 3 is gone, in the store too.
            assert_eq!(chain.roll_back(4, "test").unwrap(), 2);
            let c = chain.snapshot();
            assert_eq!((c.tip(), c.checkpoint_tip()), (4, 2));
            assert_eq!(c.last_block_of(3), None);
            assert_eq!(store.checkpoint_end(3).unwrap(), None);
            assert_eq!(Some(roots(&c.state)), after_cp2);
            chain.close();
        }
        let (chain, _) = open(dir.path());
        let c = chain.snapshot();
        assert_eq!((c.tip(), c.checkpoint_tip()), (4, 2));
        assert_eq!(c.last_block_of(1), Some(3));
        assert_eq!(c.checkpoint_blocks(1).len(), 3);
        assert_eq!(Some(roots(&c.state)), after_cp2);
        // The next checkpoint builds on it.
        for (b, s, p) in checkpoint(&c, 3, 2) {
            assert!(chain.append(b, s, p, vec![]).unwrap());
        }
        assert_eq!(chain.snapshot().last_block_of(3), Some(6));
    }

    #[test]
    #[allow(clippy::result_large_err)] // redb's error, in a test's store closure
    fn a_data_directory_from_one_block_checkpoints_reads_its_numbers_as_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, store) = open(dir.path());
        for _ in 0..3 {
            let (b, s, p) = next(&chain.snapshot());
            assert!(chain.append(b, s, p, vec![]).unwrap());
        }
        // As an earlier version wrote it: no checkpoint index.
        store
            .write(|w| {
                let mut t = w.open_table(crate::store::CHECKPOINTS)?;
                for c in 1..=3u64 {
                    t.remove(c)?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(store.checkpoint_end(2).unwrap(), Some(2));
        // New checkpoints of several blocks follow.
        for (b, s, p) in checkpoint(&chain.snapshot(), 4, 2) {
            assert!(chain.append(b, s, p, vec![]).unwrap());
        }
        let c = chain.snapshot();
        assert_eq!(
            (1..=5).map(|cp| c.last_block_of(cp)).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3), Some(5), None]
        );
    }
}
