//! The node's database under `DATA_DIRECTORY` (redb: copy-on-write B-trees, every commit
//! fsynced), holding what must survive a crash: blocks with their effects, the tx pool and
//! receipts, and the slashing-protection record that makes signing twice for a slot impossible.
//!
//! World state is not stored as trees: it is a pure function of the genesis and the blocks'
//! effects, rebuilt in memory on start (forks for speculative building are clones).

// redb's error enum is large; it is built once per failed database call, never in a loop.
#![allow(clippy::result_large_err)]

use std::path::Path;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use thiserror::Error;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const POOL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pool");
const RECEIPTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("receipts");
const SIGNED: TableDefinition<u64, &[u8]> = TableDefinition::new("signed_slots");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// A storage failure.
#[derive(Debug, Error)]
#[error("database {path}: {detail}")]
pub struct StoreError {
    path: String,
    detail: String,
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

/// The database.
pub struct Store {
    db: Database,
    path: String,
}

impl Store {
    /// Opens (or creates) `dir/node.redb`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("node.redb");
        let err = |d: String| StoreError {
            path: path.display().to_string(),
            detail: d,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let db = Database::create(&path).map_err(|e| {
            err(format!(
                "{e}; is another cairn node using this DATA_DIRECTORY?"
            ))
        })?;
        let s = Store {
            db,
            path: path.display().to_string(),
        };
        // Create the tables so that readers never see "table does not exist".
        s.write(|w| {
            w.open_table(BLOCKS)?;
            w.open_table(POOL)?;
            w.open_table(RECEIPTS)?;
            w.open_table(SIGNED)?;
            w.open_table(META)?;
            Ok(())
        })?;
        Ok(s)
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        let out = f(&w).map_err(|e| self.err(e))?;
        w.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        f(&r).map_err(|e| self.err(e))
    }

    /// Stores block `n` (replacing any block with that number).
    pub fn put_block(&self, n: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(|w| {
            w.open_table(BLOCKS)?.insert(n, bytes)?;
            Ok(())
        })
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

    /// Removes blocks above `n` (a prune or a reorg on L1).
    pub fn truncate_blocks(&self, n: u64) -> Result<(), StoreError> {
        self.write(|w| {
            let mut t = w.open_table(BLOCKS)?;
            let above: Vec<u64> = t
                .range(n + 1..)?
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for k in above {
                t.remove(k)?;
            }
            Ok(())
        })
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
        self.write(|w| {
            let mut pool = w.open_table(POOL)?;
            let mut rec = w.open_table(RECEIPTS)?;
            for (h, r) in receipts {
                pool.remove(&h[..])?;
                rec.insert(&h[..], r.as_slice())?;
            }
            Ok(())
        })
    }

    /// Puts txs back into the pool and forgets their receipts (their block was pruned).
    pub fn unsettle(&self, txs: &[Entry]) -> Result<(), StoreError> {
        self.write(|w| {
            let mut pool = w.open_table(POOL)?;
            let mut rec = w.open_table(RECEIPTS)?;
            for (h, tx) in txs {
                rec.remove(&h[..])?;
                pool.insert(&h[..], tx.as_slice())?;
            }
            Ok(())
        })
    }

    /// A tx's receipt (JSON bytes).
    pub fn receipt(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| {
            Ok(r.open_table(RECEIPTS)?
                .get(&hash[..])?
                .map(|v| v.value().to_vec()))
        })
    }

    /// The slashing guard: records `digest` as signed for `slot` unless something else was.
    /// The record is committed (fsynced) before this returns, so a signature can only exist
    /// after its record does, across crashes.
    pub fn guard_slot(&self, slot: u64, digest: &[u8; 32]) -> Result<Guard, StoreError> {
        self.write(|w| {
            let mut t = w.open_table(SIGNED)?;
            let prev = t.get(slot)?.map(|v| v.value().to_vec());
            Ok(match prev {
                Some(p) if p == digest => Guard::Same,
                Some(_) => Guard::Conflict,
                None => {
                    t.insert(slot, &digest[..])?;
                    Guard::Recorded
                }
            })
        })
    }

    /// Whether anything was signed for `slot`.
    pub fn signed_slot(&self, slot: u64) -> Result<bool, StoreError> {
        Ok(self.signed_digest(slot)?.is_some())
    }

    /// The payload digest the guard recorded as signed for `slot`.
    pub fn signed_digest(&self, slot: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|r| Ok(r.open_table(SIGNED)?.get(slot)?.map(|v| v.value().to_vec())))
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

    #[test]
    fn guard_refuses_a_second_payload_for_a_slot_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(s.guard_slot(7, &[1; 32]).unwrap(), Guard::Recorded);
            assert_eq!(s.guard_slot(7, &[1; 32]).unwrap(), Guard::Same);
        }
        let s = Store::open(dir.path()).unwrap();
        assert!(s.signed_slot(7).unwrap());
        assert_eq!(s.guard_slot(7, &[2; 32]).unwrap(), Guard::Conflict);
        assert_eq!(s.guard_slot(8, &[2; 32]).unwrap(), Guard::Recorded);
    }

    #[test]
    fn pool_settle_unsettle_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.pool_add(&[1; 32], b"tx1").unwrap();
        s.pool_add(&[2; 32], b"tx2").unwrap();
        assert_eq!(s.pool_len().unwrap(), 2);
        s.settle(&[([1; 32], b"{}".to_vec())]).unwrap();
        assert_eq!(s.pool_len().unwrap(), 1);
        assert_eq!(s.receipt(&[1; 32]).unwrap(), Some(b"{}".to_vec()));
        s.unsettle(&[([1; 32], b"tx1".to_vec())]).unwrap();
        assert_eq!(s.pool_len().unwrap(), 2);
        assert_eq!(s.receipt(&[1; 32]).unwrap(), None);
        for n in 1..=5 {
            s.put_block(n, &[n as u8]).unwrap();
        }
        s.truncate_blocks(3).unwrap();
        let b: Vec<u64> = s.blocks().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(b, vec![1, 2, 3]);
    }
}
