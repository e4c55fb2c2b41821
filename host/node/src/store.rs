//! The node's database under `DATA_DIRECTORY` (redb: copy-on-write B-trees, every commit
//! fsynced), holding what must survive a crash: blocks with their effects, the tx pool and
//! receipts, and the slashing-protection record that makes signing twice for a slot impossible.
//!
//! The world state's trees live here too (`statedb.rs`), committed with their block. The chain
//! service (`world.rs`) is the only writer of the block and state tables.

// redb's error enum is large; it is built once per failed database call, never in a loop.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use thiserror::Error;

pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Checkpoint number → its last block's number. Absent for the checkpoints of a data directory
/// from before checkpoints held several blocks, whose checkpoint numbers are their block
/// numbers (see [`checkpoint_end`]).
pub(crate) const CHECKPOINTS: TableDefinition<u64, u64> = TableDefinition::new("checkpoints");
const POOL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pool");
const RECEIPTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("receipts");
/// Before duties: one digest per slot for the whole node (read for data directories written
/// by earlier versions, never written).
const LEGACY_SIGNED: TableDefinition<u64, &[u8]> = TableDefinition::new("signed_slots");
/// The slashing guard, keyed by duty (`Duty::key`), valued by the signed digest.
const DUTIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("signing_duties");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// META key of the proven tip (u64 big-endian).
const PROVEN: &str = "proven";

/// redb's page cache when the operator sets none (`--db-cache-mb`), in MiB.
pub const DEFAULT_CACHE_MB: u64 = 64;

/// Removes txs from the pool and records their receipts, inside `w`.
/// Checkpoint `c`'s last block in `t`. A checkpoint without an entry below the first one
/// recorded (or with none recorded) is from a data directory written when each checkpoint was
/// one block: its last block is block `c`. The caller checks `c` against its tip.
pub(crate) fn checkpoint_end(
    t: &impl redb::ReadableTable<u64, u64>,
    c: u64,
) -> Result<Option<u64>, redb::Error> {
    if let Some(v) = t.get(c)? {
        return Ok(Some(v.value()));
    }
    let first = t.first()?.map(|(k, _)| k.value());
    Ok(match first {
        Some(f) if c > f => None,
        _ => Some(c),
    })
}

fn settle_in(w: &redb::WriteTransaction, receipts: &[Entry]) -> Result<(), redb::Error> {
    let mut pool = w.open_table(POOL)?;
    let mut rec = w.open_table(RECEIPTS)?;
    for (h, r) in receipts {
        pool.remove(&h[..])?;
        rec.insert(&h[..], r.as_slice())?;
    }
    Ok(())
}

/// A storage failure.
#[derive(Debug, Error)]
#[error("database {path}: {detail}")]
pub struct StoreError {
    path: String,
    detail: String,
}

#[cfg(test)]
impl StoreError {
    /// A failure to answer with in tests of the layers above.
    pub(crate) fn for_test(detail: &str) -> StoreError {
        StoreError {
            path: "test.redb".into(),
            detail: detail.into(),
        }
    }
}

/// A tx hash with bytes (a tx, or a receipt).
pub type Entry = ([u8; 32], Vec<u8>);

/// What the slashing guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Nothing was signed for this slot before; the record is now written.
    Recorded,
    /// The same payload was already signed for this slot (re-signing it is harmless).
    Same,
    /// A different payload was signed for this slot: signing again would equivocate.
    Conflict,
}

/// What a signature is for, as Aztec's `validator_duties` table names it: at most one payload
/// is ever signed per (slot, duty, block index, validator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyKind {
    /// A block proposal (one per block of a checkpoint).
    BlockProposal = 0,
    /// The proposer's signature over a checkpoint proposal.
    CheckpointProposal = 1,
    /// A committee member's attestation to a checkpoint.
    Attestation = 2,
    /// The proposer's signature over the packed attestations and signers it publishes.
    AttestationsAndSigners = 3,
}

impl DutyKind {
    /// The name in logs and in Aztec's table (`duty_type`).
    pub fn name(self) -> &'static str {
        match self {
            DutyKind::BlockProposal => "BLOCK_PROPOSAL",
            DutyKind::CheckpointProposal => "CHECKPOINT_PROPOSAL",
            DutyKind::Attestation => "ATTESTATION",
            DutyKind::AttestationsAndSigners => "ATTESTATIONS_AND_SIGNERS",
        }
    }
}

/// One signing duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duty {
    /// The L2 slot.
    pub slot: u64,
    /// What is signed.
    pub kind: DutyKind,
    /// Block index within the checkpoint (0 for checkpoint-level duties).
    pub block_index: u32,
    /// The signing validator (attester address).
    pub validator: [u8; 20],
}

impl Duty {
    /// Big-endian so that a slot's duties sort together (a range scan finds them).
    fn key(&self) -> [u8; 33] {
        let mut k = [0u8; 33];
        k[..8].copy_from_slice(&self.slot.to_be_bytes());
        k[8] = self.kind as u8;
        k[9..13].copy_from_slice(&self.block_index.to_be_bytes());
        k[13..].copy_from_slice(&self.validator);
        k
    }
}

/// A recorded duty: kind, block index, validator, signed digest.
pub type SignedDuty = (DutyKind, u32, [u8; 20], [u8; 32]);

/// The database.
pub struct Store {
    db: Database,
    path: String,
    full_repair: bool,
    quick_repair: bool,
}

impl Store {
    /// Opens (or creates) `dir/node.redb` with the default page cache.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, DEFAULT_CACHE_MB)
    }

    /// Opens (or creates) `dir/node.redb` with a page cache of `cache_mb` MiB.
    pub fn open_with_cache(dir: &Path, cache_mb: u64) -> Result<Store, StoreError> {
        let path = dir.join("node.redb");
        let err = |d: String| StoreError {
            path: path.display().to_string(),
            detail: d,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        // redb calls this only when it must walk the whole file: the last commit before a crash
        // did not save the allocator state (redb's default; see `with_quick_repair`).
        let repairing = Arc::new(AtomicBool::new(false));
        let seen = repairing.clone();
        let shown = path.display().to_string();
        let on_repair = move |_: &mut redb::RepairSession| {
            if !seen.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    path = %shown,
                    "the store was not closed cleanly: checking the whole file once (time grows with its size)"
                );
            }
        };
        // The trees are read through the page cache, so its size bounds the node's memory more
        // than anything else does.
        let db = Database::builder()
            .set_cache_size(usize::try_from(cache_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX))
            .set_repair_callback(on_repair)
            .create(&path)
            .map_err(|e| {
                err(format!(
                    "{e}; is another cairn node using this DATA_DIRECTORY?"
                ))
            })?;
        let s = Store {
            db,
            path: path.display().to_string(),
            full_repair: repairing.load(Ordering::Relaxed),
            quick_repair: false,
        };
        // Create the tables so that readers never see "table does not exist".
        s.write(|w| {
            w.open_table(BLOCKS)?;
            w.open_table(CHECKPOINTS)?;
            w.open_table(POOL)?;
            w.open_table(RECEIPTS)?;
            w.open_table(LEGACY_SIGNED)?;
            w.open_table(DUTIES)?;
            w.open_table(META)?;
            Store::create_state_tables(w)
        })?;
        Ok(s)
    }

    /// Whether opening had to check the whole file: a crash (kill -9, power loss) after a
    /// commit made without quick repair.
    pub fn opened_with_full_repair(&self) -> bool {
        self.full_repair
    }

    /// Commits from now on with redb's quick repair (`--db-quick-repair`): each commit also
    /// saves the allocator state, in two phases, so reopening after a crash takes milliseconds
    /// instead of a walk over the whole file. Off by default: it makes a small commit 1–2 ms
    /// slower (1.1 and 1.7 ms in the recorded runs), and the pool commits every tx it accepts
    /// (docs/node.md, "Storage").
    pub fn with_quick_repair(mut self, on: bool) -> Store {
        self.quick_repair = on;
        self
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let mut w = self.db.begin_write().map_err(|e| self.err(e))?;
        w.set_quick_repair(self.quick_repair);
        let out = f(&w).map_err(|e| self.err(e))?;
        w.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        f(&r).map_err(|e| self.err(e))
    }

    /// Every block in order.
    pub fn blocks(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read(|r| {
            let t = r.open_table(BLOCKS)?;
            let mut out = Vec::new();
            for e in t.iter()? {
                let (k, v) = e?;
                out.push((k.value(), v.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// Stores block `n` of checkpoint `checkpoint`, removes its txs from the pool and records
    /// their receipts, in one transaction: a crash leaves either the block with its receipts or
    /// neither.
    pub fn commit_block(
        &self,
        n: u64,
        checkpoint: u64,
        bytes: &[u8],
        receipts: &[Entry],
    ) -> Result<(), StoreError> {
        self.write(|w| self.commit_block_in(w, n, checkpoint, bytes, receipts))
    }

    pub(crate) fn commit_block_in(
        &self,
        w: &redb::WriteTransaction,
        n: u64,
        checkpoint: u64,
        bytes: &[u8],
        receipts: &[Entry],
    ) -> Result<(), redb::Error> {
        w.open_table(BLOCKS)?.insert(n, bytes)?;
        w.open_table(CHECKPOINTS)?.insert(checkpoint, n)?;
        settle_in(w, receipts)
    }

    /// The number of the last stored block (0: none).
    pub fn last_block(&self) -> Result<u64, StoreError> {
        self.read(|r| {
            Ok(r.open_table(BLOCKS)?
                .last()?
                .map(|(k, _)| k.value())
                .unwrap_or(0))
        })
    }

    /// The number of checkpoint `c`'s last block, as stored (see [`checkpoint_end`]).
    pub fn checkpoint_end(&self, c: u64) -> Result<Option<u64>, StoreError> {
        self.read(|r| checkpoint_end(&r.open_table(CHECKPOINTS)?, c))
    }

    /// Block `n`'s bytes.
    pub fn block(&self, n: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| Ok(r.open_table(BLOCKS)?.get(n)?.map(|v| v.value().to_vec())))
    }

    /// The proven tip as last recorded (`None`: never recorded, a data directory from an
    /// earlier version).
    pub fn proven_tip(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta(PROVEN)?
            .and_then(|b| b.try_into().ok().map(u64::from_be_bytes)))
    }

    /// Rewrites blocks that became proven, records the proven tip and drops the undo records
    /// up to `drop_undo_upto`, in one transaction.
    pub fn mark_proven(
        &self,
        blocks: &[(u64, Vec<u8>)],
        upto: u64,
        drop_undo_upto: u64,
    ) -> Result<(), StoreError> {
        self.write(|w| {
            let mut t = w.open_table(BLOCKS)?;
            for (n, b) in blocks {
                t.insert(*n, b.as_slice())?;
            }
            w.open_table(META)?
                .insert(PROVEN, &upto.to_be_bytes()[..])?;
            crate::statedb::prune_undo(&mut w.open_table(crate::statedb::UNDO)?, drop_undo_upto)
        })
    }

    /// Rewrites blocks whose status changed and records their txs' new receipts, in one
    /// transaction.
    pub fn put_blocks_settled(
        &self,
        blocks: &[(u64, Vec<u8>)],
        receipts: &[Entry],
    ) -> Result<(), StoreError> {
        self.write(|w| {
            let mut t = w.open_table(BLOCKS)?;
            for (n, b) in blocks {
                t.insert(*n, b.as_slice())?;
            }
            drop(t);
            settle_in(w, receipts)
        })
    }

    /// Rewrites several blocks (status changes) in one transaction.
    pub fn put_blocks(&self, blocks: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        self.write(|w| {
            let mut t = w.open_table(BLOCKS)?;
            for (n, b) in blocks {
                t.insert(*n, b.as_slice())?;
            }
            Ok(())
        })
    }

    /// Removes blocks above `n` and puts their txs back into the pool, each with a pending
    /// receipt that says why (`notes`, by hash; a tx without one gets none), in one transaction
    /// (a checkpoint that missed L1, a prune or a reorg: nothing acknowledged is lost).
    pub fn roll_back(&self, n: u64, txs: &[Entry], notes: &[Entry]) -> Result<(), StoreError> {
        self.write(|w| self.roll_back_in(w, n, txs, notes))
    }

    pub(crate) fn roll_back_in(
        &self,
        w: &redb::WriteTransaction,
        n: u64,
        txs: &[Entry],
        notes: &[Entry],
    ) -> Result<(), redb::Error> {
        {
            let mut t = w.open_table(BLOCKS)?;
            let above: Vec<u64> = t
                .range(n + 1..)?
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for k in above {
                t.remove(k)?;
            }
            // Checkpoints end where their blocks do: those that ended above `n` are gone (a
            // roll back stops at a checkpoint's end).
            let mut c = w.open_table(CHECKPOINTS)?;
            let gone: Vec<u64> = c
                .iter()?
                .rev()
                .map(|e| e.map(|(k, v)| (k.value(), v.value())))
                .take_while(|e| e.as_ref().map_or(true, |(_, last)| *last > n))
                .map(|e| e.map(|(k, _)| k))
                .collect::<Result<_, _>>()?;
            for k in gone {
                c.remove(k)?;
            }
            let mut pool = w.open_table(POOL)?;
            let mut rec = w.open_table(RECEIPTS)?;
            for (h, tx) in txs {
                rec.remove(&h[..])?;
                pool.insert(&h[..], tx.as_slice())?;
            }
            for (h, note) in notes {
                rec.insert(&h[..], note.as_slice())?;
            }
            // The proven tip never moves back, but a record above the new tip would be stale.
            let mut meta = w.open_table(META)?;
            let proven = meta
                .get(PROVEN)?
                .and_then(|v| <[u8; 8]>::try_from(v.value()).ok().map(u64::from_be_bytes));
            if proven.is_some_and(|p| p > n) {
                meta.insert(PROVEN, &n.to_be_bytes()[..])?;
            }
        }
        Ok(())
    }

    /// Adds a tx to the pool; committed before the sender is told it was accepted.
    pub fn pool_add(&self, hash: &[u8; 32], tx: &[u8]) -> Result<(), StoreError> {
        self.write(|w| {
            w.open_table(POOL)?.insert(&hash[..], tx)?;
            Ok(())
        })
    }

    /// Pool contents in hash order.
    pub fn pool(&self) -> Result<Vec<Entry>, StoreError> {
        self.read(|r| {
            let t = r.open_table(POOL)?;
            let mut out = Vec::new();
            for e in t.iter()? {
                let (k, v) = e?;
                let mut h = [0u8; 32];
                if k.value().len() == 32 {
                    h.copy_from_slice(k.value());
                    out.push((h, v.value().to_vec()));
                }
            }
            Ok(out)
        })
    }

    /// Number of pooled txs.
    pub fn pool_len(&self) -> Result<u64, StoreError> {
        self.read(|r| Ok(r.open_table(POOL)?.len()?))
    }

    /// A pooled tx.
    pub fn pool_get(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| {
            Ok(r.open_table(POOL)?
                .get(&hash[..])?
                .map(|v| v.value().to_vec()))
        })
    }

    /// Removes txs from the pool and records their receipts, atomically.
    pub fn settle(&self, receipts: &[Entry]) -> Result<(), StoreError> {
        self.write(|w| settle_in(w, receipts))
    }

    /// A tx's receipt (JSON bytes).
    pub fn receipt(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| {
            Ok(r.open_table(RECEIPTS)?
                .get(&hash[..])?
                .map(|v| v.value().to_vec()))
        })
    }

    /// The slashing guard: records `digest` as signed for `duty` unless another payload was.
    /// The record is committed (fsynced) before this returns, so a signature can only exist
    /// after its record does, across crashes.
    pub fn guard(&self, duty: &Duty, digest: &[u8; 32]) -> Result<Guard, StoreError> {
        self.write(|w| {
            let mut t = w.open_table(DUTIES)?;
            let key = duty.key();
            let prev = t.get(&key[..])?.map(|v| v.value().to_vec());
            // Data written by a version that kept one digest per slot binds every duty of it.
            let legacy = w
                .open_table(LEGACY_SIGNED)?
                .get(duty.slot)?
                .map(|v| v.value().to_vec());
            Ok(match prev.or(legacy) {
                Some(p) if p == digest => Guard::Same,
                Some(_) => Guard::Conflict,
                None => {
                    t.insert(&key[..], &digest[..])?;
                    Guard::Recorded
                }
            })
        })
    }

    /// Whether anything was signed for `slot`.
    pub fn signed_slot(&self, slot: u64) -> Result<bool, StoreError> {
        Ok(!self.signed_digests(slot)?.is_empty())
    }

    /// Every distinct payload digest the guard recorded as signed for `slot`, any duty (an
    /// honest node has at most one).
    pub fn signed_digests(&self, slot: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(|r| {
            let mut out: Vec<Vec<u8>> = Vec::new();
            let from = slot.to_be_bytes();
            let to = (slot + 1).to_be_bytes();
            for e in r.open_table(DUTIES)?.range(&from[..]..&to[..])? {
                let (_, v) = e?;
                let v = v.value().to_vec();
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            if let Some(v) = r.open_table(LEGACY_SIGNED)?.get(slot)? {
                let v = v.value().to_vec();
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(out)
        })
    }

    /// The duties recorded for `slot`.
    pub fn duties(&self, slot: u64) -> Result<Vec<SignedDuty>, StoreError> {
        self.read(|r| {
            let mut out = Vec::new();
            let from = slot.to_be_bytes();
            let to = (slot + 1).to_be_bytes();
            for e in r.open_table(DUTIES)?.range(&from[..]..&to[..])? {
                let (k, v) = e?;
                let (k, v) = (k.value(), v.value());
                if k.len() != 33 || v.len() != 32 {
                    continue;
                }
                let kind = match k[8] {
                    0 => DutyKind::BlockProposal,
                    1 => DutyKind::CheckpointProposal,
                    2 => DutyKind::Attestation,
                    _ => DutyKind::AttestationsAndSigners,
                };
                let mut index = [0u8; 4];
                index.copy_from_slice(&k[9..13]);
                let mut validator = [0u8; 20];
                validator.copy_from_slice(&k[13..]);
                let mut digest = [0u8; 32];
                digest.copy_from_slice(v);
                out.push((kind, u32::from_be_bytes(index), validator, digest));
            }
            Ok(out)
        })
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| Ok(r.open_table(META)?.get(key)?.map(|v| v.value().to_vec())))
    }

    /// Sets a metadata value.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(|w| {
            w.open_table(META)?.insert(key, value)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duty(slot: u64, kind: DutyKind, index: u32, v: u8) -> Duty {
        Duty {
            slot,
            kind,
            block_index: index,
            validator: [v; 20],
        }
    }

    /// Set in the child process of the crash test: its store directory and how it commits.
    const CRASH_CHILD: &str = "CAIRN_TEST_STORE_CRASH_CHILD";

    /// Commits one block in `dir` through the store's write path (with or without quick
    /// repair), then kills itself (SIGKILL: no destructor runs, no core is dumped).
    fn commit_and_die(dir: &Path, quick: bool) -> ! {
        let s = Store::open(dir).unwrap().with_quick_repair(quick);
        s.write(|w| {
            w.open_table(BLOCKS)?.insert(7, &b"block seven"[..])?;
            Ok(())
        })
        .unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        loop {
            std::thread::park();
        }
    }

    /// Runs this test binary's crash test in a child that commits and is killed.
    fn crash_child(dir: &Path, mode: &str) {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::a_crash_after_a_commit_reopens_with_the_block_and_quick_repair_skips_the_walk",
                "--nocapture",
            ])
            .env(CRASH_CHILD, format!("{mode}:{}", dir.display()))
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child was meant to be killed");
    }

    #[test]
    fn a_crash_after_a_commit_reopens_with_the_block_and_quick_repair_skips_the_walk() {
        if let Ok(v) = std::env::var(CRASH_CHILD) {
            let (mode, dir) = v.split_once(':').unwrap();
            commit_and_die(Path::new(dir), mode == "quick");
        }
        let block = |s: &Store| {
            s.read(|r| Ok(r.open_table(BLOCKS)?.get(7)?.map(|v| v.value().to_vec())))
                .unwrap()
        };
        // With quick repair the crash leaves nothing to repair, and the block is there.
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        crash_child(dir.path(), "quick");
        let s = Store::open(dir.path()).unwrap();
        assert!(!s.opened_with_full_repair());
        assert_eq!(block(&s).as_deref(), Some(&b"block seven"[..]));
        // By default the same crash is repaired by walking the file: nothing is lost either.
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        crash_child(dir.path(), "default");
        let s = Store::open(dir.path()).unwrap();
        assert!(s.opened_with_full_repair());
        assert_eq!(block(&s).as_deref(), Some(&b"block seven"[..]));
        drop(s);
        // A clean close after the repair leaves nothing to repair either.
        assert!(!Store::open(dir.path()).unwrap().opened_with_full_repair());
    }

    #[test]
    fn guard_refuses_a_second_payload_for_a_duty_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let att = |slot, v| duty(slot, DutyKind::Attestation, 0, v);
        {
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(s.guard(&att(7, 1), &[1; 32]).unwrap(), Guard::Recorded);
            assert_eq!(s.guard(&att(7, 1), &[1; 32]).unwrap(), Guard::Same);
        }
        let s = Store::open(dir.path()).unwrap();
        assert!(s.signed_slot(7).unwrap());
        assert!(!s.signed_slot(6).unwrap());
        assert_eq!(s.guard(&att(7, 1), &[2; 32]).unwrap(), Guard::Conflict);
        // Other validators, duties, block indices and slots are separate duties.
        assert_eq!(s.guard(&att(7, 2), &[2; 32]).unwrap(), Guard::Recorded);
        let prop = duty(7, DutyKind::BlockProposal, 1, 1);
        assert_eq!(s.guard(&prop, &[3; 32]).unwrap(), Guard::Recorded);
        assert_eq!(s.guard(&att(8, 1), &[2; 32]).unwrap(), Guard::Recorded);
        assert_eq!(s.signed_digests(7).unwrap().len(), 3);
        assert_eq!(s.duties(7).unwrap().len(), 3);
        assert_eq!(
            s.duties(8).unwrap(),
            vec![(DutyKind::Attestation, 0, [1; 20], [2; 32])]
        );
    }

    #[test]
    fn a_slot_signed_by_an_earlier_version_binds_every_duty_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.write(|w| {
            w.open_table(LEGACY_SIGNED)?.insert(9u64, &[5u8; 32][..])?;
            Ok(())
        })
        .unwrap();
        assert!(s.signed_slot(9).unwrap());
        let d = duty(9, DutyKind::Attestation, 0, 4);
        assert_eq!(s.guard(&d, &[6; 32]).unwrap(), Guard::Conflict);
        assert_eq!(s.guard(&d, &[5; 32]).unwrap(), Guard::Same);
    }

    #[test]
    fn blocks_commit_with_their_receipts_and_roll_back_into_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.pool_add(&[1; 32], b"tx1").unwrap();
        s.pool_add(&[2; 32], b"tx2").unwrap();
        assert_eq!(s.pool_len().unwrap(), 2);
        s.settle(&[([2; 32], b"{\"status\":\"dropped\"}".to_vec())])
            .unwrap();
        assert_eq!(s.pool_len().unwrap(), 1);
        for n in 1..=5 {
            let receipts = if n == 4 {
                vec![([1; 32], b"{}".to_vec())]
            } else {
                vec![]
            };
            s.commit_block(n, n, &[n as u8], &receipts).unwrap();
        }
        assert_eq!(s.pool_len().unwrap(), 0);
        assert_eq!(s.receipt(&[1; 32]).unwrap(), Some(b"{}".to_vec()));
        s.put_blocks(&[(2, vec![20]), (3, vec![30])]).unwrap();
        s.roll_back(3, &[([1; 32], b"tx1".to_vec())], &[]).unwrap();
        let b: Vec<(u64, Vec<u8>)> = s.blocks().unwrap();
        assert_eq!(b, vec![(1, vec![1]), (2, vec![20]), (3, vec![30])]);
        assert_eq!(s.pool_get(&[1; 32]).unwrap(), Some(b"tx1".to_vec()));
        assert_eq!(s.receipt(&[1; 32]).unwrap(), None);
    }
}
