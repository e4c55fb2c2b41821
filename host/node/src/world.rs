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

use crate::chain::{Block, Chain, Status};
use crate::error::{NodeError, StartError};
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
    /// Replays the stored blocks from `genesis` and starts the service's thread.
    pub fn open(genesis: WorldState, store: Arc<Store>) -> Result<ChainHandle, StartError> {
        let mut chain = Chain::new(genesis);
        for (n, bytes) in store.blocks()? {
            let b = Block::decode(&bytes).ok_or_else(|| {
                StartError::Other(format!(
                    "stored block {n} does not decode; the database is damaged: move DATA_DIRECTORY away and resync from L1"
                ))
            })?;
            let e = b.tx_effects().ok_or_else(|| {
                StartError::Other(format!("stored block {n} has undecodable effects"))
            })?;
            if b.status == Status::Proven {
                chain.proven = n;
            }
            chain
                .push(b, &e)
                .map_err(|e| StartError::Other(e.to_string()))?;
        }
        tracing::info!(tip = chain.tip(), "chain replayed from storage");
        let current = Arc::new(RwLock::new(Arc::new(chain.clone())));
        let (commands, queue) = mpsc::channel();
        let service = Service {
            chain,
            store,
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

    /// Drops the blocks above `to` (L1 pruned or reorged them); their txs go back to the pool.
    /// Returns how many blocks were dropped.
    pub fn roll_back(&self, to: u64) -> Result<usize, NodeError> {
        self.ask(|reply| Command::RollBack { to, reply })
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
                Command::RollBack { to, reply } => {
                    let _ = reply.send(self.roll_back(to));
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
        let mut receipts = receipts_for(&block, "checkpointed");
        receipts.extend(extra_receipts);
        self.store.commit_block(n, &block.encode(), &receipts)?;
        self.chain.push_with_state(block, state)?;
        self.publish();
        Ok(true)
    }

    fn roll_back(&mut self, to: u64) -> Result<usize, NodeError> {
        if to >= self.chain.tip() {
            return Ok(0);
        }
        let back: Vec<Entry> = self
            .chain
            .blocks
            .iter()
            .skip(to as usize)
            .flat_map(|b| b.txs.iter())
            .filter_map(|t| Tx::decode(t).ok().map(|tx| (tx.hash(), t.clone())))
            .collect();
        // Store first: if the write fails, memory still matches the store.
        self.store.roll_back(to, &back)?;
        let dropped = self.chain.truncate(to);
        self.publish();
        Ok(dropped.len())
    }

    fn mark_proven(&mut self, upto: u64) -> Result<(), NodeError> {
        let upto = upto.min(self.chain.tip());
        if upto == self.chain.proven {
            return Ok(());
        }
        // A new list, installed only once the store has it: memory never runs ahead.
        let mut blocks = (*self.chain.blocks).clone();
        let mut changed = Vec::new();
        for b in blocks.iter_mut().take(upto as usize) {
            if b.status != Status::Proven {
                let b = Arc::make_mut(b);
                b.status = Status::Proven;
                changed.push((b.header.block_number, b.encode()));
            }
        }
        self.store.put_blocks(&changed)?;
        self.chain.blocks = Arc::new(blocks);
        self.chain.proven = upto;
        self.publish();
        Ok(())
    }
}

/// The receipts a block's txs get once it is on L1.
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
    use crate::chain::tests::header;

    /// The next empty block on `chain`, its post-state and its parent's archive.
    fn next(chain: &Chain) -> (Block, WorldState, B256) {
        let n = chain.tip() + 1;
        let mut s = (*chain.state).clone();
        let h = s.apply_block(header(n), &[]);
        let block = Block {
            header: h,
            txs: vec![],
            effects: vec![],
            archive: Chain::archive_root(&s),
            l1_tx: B256::ZERO,
            status: Status::Checkpointed,
            attestations: vec![],
        };
        (block, s, chain.archive_at(n - 1))
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
            assert_eq!(chain.roll_back(2).unwrap(), 1);
            assert_eq!(chain.roll_back(5).unwrap(), 0);
            let c = chain.snapshot();
            assert_eq!((c.tip(), c.proven), (2, 2));
            assert_eq!(store.blocks().unwrap().len(), 2);
            chain.close();
            assert!(matches!(chain.roll_back(0), Err(NodeError::Stopped)));
            assert_eq!(chain.snapshot().tip(), 2);
        }
        // Reopening replays the same chain.
        let (chain, _) = open(dir.path());
        let c = chain.snapshot();
        assert_eq!((c.tip(), c.proven), (2, 2));
        assert!(c.blocks.iter().all(|b| b.status == Status::Proven));
    }
}
