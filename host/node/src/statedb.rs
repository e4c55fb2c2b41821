//! The world state in the node's database: the four trees' nodes, indexed leaves and keys,
//! committed in the same redb transaction as the block that produced them, so a crash leaves
//! both or neither. Opening the state reads one small record ([`Head`]), whatever the chain's
//! length; reads then go to the database through a snapshot (a redb read transaction), which
//! stays consistent while the chain service commits newer blocks.
//!
//! Each block also stores what it overwrote (`state_undo`), so unwinding blocks (an L1 prune or
//! reorg) restores the earlier state without a replay, and the note tree of an older block (a
//! witness against an older anchor) is today's with those entries over it. Undo records are
//! kept for blocks above the proven tip or inside the anchor window, and at most
//! [`UNDO_WINDOW`] blocks back; an unwind deeper than that rebuilds the state from genesis and
//! the stored blocks.

// redb's error enum is large; it is built once per failed database call, never in a loop.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use ark_bn254::Fr;
use cairn_protocol::field::{fr_from_bytes, fr_to_bytes};
use cairn_protocol::merkle::{AppendTree, Empty, IndexedLeaf, IndexedTree, Key, Layer, TreeStore};
use cairn_protocol::state::WorldState;
use redb::{ReadOnlyTable, ReadableTable, TableDefinition, WriteTransaction};

use crate::store::{Store, StoreError};

/// (tree, level, index) → node hash, canonical big-endian.
pub(crate) const NODES: TableDefinition<(u8, u8, u64), [u8; 32]> =
    TableDefinition::new("state_nodes");
/// (tree, index) → indexed leaf ([`IndexedLeaf::to_bytes`]).
pub(crate) const LEAVES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("state_leaves");
/// (tree, key) → leaf index.
pub(crate) const KEYS: TableDefinition<(u8, [u8; 32]), u64> = TableDefinition::new("state_keys");
/// "head" → [`Head`].
pub(crate) const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state_meta");
/// Block number → what that block overwrote.
pub(crate) const UNDO: TableDefinition<u64, &[u8]> = TableDefinition::new("state_undo");

/// Layout version of the state tables; a database with another is rebuilt, not misread.
pub const STATE_VERSION: u32 = 1;

/// How many blocks below the tip keep their undo records (beyond the proven tip).
pub const UNDO_WINDOW: u64 = 256;

const NOTES: u8 = 0;
const NULLIFIERS: u8 = 1;
const PUBLIC_DATA: u8 = 2;
const ARCHIVE: u8 = 3;

/// The stored state's summary: which block it is after, tree sizes and the anchor window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Layout version.
    pub version: u32,
    /// The last block applied (0: genesis).
    pub block: u64,
    /// Leaves in notes, nullifiers, public data, archive.
    pub sizes: [u64; 4],
    /// (archive root, note root) of the last blocks, newest last.
    pub anchors: Vec<(Fr, Fr)>,
}

impl Head {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48 + 64 * self.anchors.len());
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.block.to_be_bytes());
        for s in self.sizes {
            v.extend_from_slice(&s.to_be_bytes());
        }
        v.extend_from_slice(&(self.anchors.len() as u32).to_be_bytes());
        for (a, n) in &self.anchors {
            v.extend_from_slice(&fr_to_bytes(a));
            v.extend_from_slice(&fr_to_bytes(n));
        }
        v
    }

    fn decode(b: &[u8]) -> Option<Head> {
        let mut r = Reader(b);
        let version = u32::from_be_bytes(r.array()?);
        let block = u64::from_be_bytes(r.array()?);
        let mut sizes = [0u64; 4];
        for s in &mut sizes {
            *s = u64::from_be_bytes(r.array()?);
        }
        let n = u32::from_be_bytes(r.array()?) as usize;
        if n > cairn_protocol::state::ANCHOR_WINDOW {
            return None;
        }
        let mut anchors = Vec::with_capacity(n);
        for _ in 0..n {
            anchors.push((fr_from_bytes(&r.array()?)?, fr_from_bytes(&r.array()?)?));
        }
        r.0.is_empty().then_some(Head {
            version,
            block,
            sizes,
            anchors,
        })
    }

    fn of(state: &WorldState) -> Head {
        Head {
            version: STATE_VERSION,
            block: state.block_number,
            sizes: [
                state.notes.len(),
                state.nullifiers.len(),
                state.public_data.len(),
                state.archive.len(),
            ],
            anchors: state.anchors.iter().copied().collect(),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// The open tables of one read transaction, shared by the four trees of a snapshot.
struct Tables {
    blocks: ReadOnlyTable<u64, &'static [u8]>,
    checkpoints: ReadOnlyTable<u64, u64>,
    undo: ReadOnlyTable<u64, &'static [u8]>,
    nodes: ReadOnlyTable<(u8, u8, u64), [u8; 32]>,
    leaves: ReadOnlyTable<(u8, u64), &'static [u8]>,
    keys: ReadOnlyTable<(u8, [u8; 32]), u64>,
    // The first read that failed. Reads cannot return errors through the VM's state
    // interface, so a failure reads as "absent" and is recorded here; the chain service
    // refuses to commit anything executed on a snapshot that has one.
    failure: OnceLock<String>,
}

impl Tables {
    fn failed<T>(&self, e: impl std::fmt::Display) -> Option<T> {
        let _ = self.failure.set(e.to_string());
        None
    }
}

/// One tree of a snapshot.
struct StoredTree {
    id: u8,
    size: u64,
    tables: Arc<Tables>,
}

impl TreeStore for StoredTree {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u8, index: u64) -> Option<Fr> {
        match self.tables.nodes.get((self.id, level, index)) {
            Ok(v) => {
                let b = v?.value();
                fr_from_bytes(&b).or_else(|| self.tables.failed("a stored node is not canonical"))
            }
            Err(e) => self.tables.failed(e),
        }
    }

    fn leaf(&self, index: u64) -> Option<IndexedLeaf> {
        match self.tables.leaves.get((self.id, index)) {
            Ok(v) => IndexedLeaf::from_bytes(v?.value())
                .or_else(|| self.tables.failed("a stored leaf does not decode")),
            Err(e) => self.tables.failed(e),
        }
    }

    fn find(&self, key: &Key) -> Option<u64> {
        match self.tables.keys.get((self.id, *key)) {
            Ok(v) => Some(v?.value()),
            Err(e) => self.tables.failed(e),
        }
    }

    fn below(&self, key: &Key) -> Option<(Key, u64)> {
        let range = self
            .tables
            .keys
            .range((self.id, [0u8; 32])..(self.id, *key));
        match range.map(|mut r| r.next_back()) {
            Ok(None) => None,
            Ok(Some(Ok((k, v)))) => Some((k.value().1, v.value())),
            Ok(Some(Err(e))) | Err(e) => self.tables.failed(e),
        }
    }
}

/// The four trees, as [`StateSnapshot::world_at`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeId {
    /// Note hashes.
    Notes = NOTES as isize,
    /// Nullifiers.
    Nullifiers = NULLIFIERS as isize,
    /// Public data.
    PublicData = PUBLIC_DATA as isize,
    /// Block header hashes.
    Archive = ARCHIVE as isize,
}

/// A consistent read view of the stored state.
pub struct StateSnapshot {
    head: Head,
    tables: Arc<Tables>,
}

impl StateSnapshot {
    /// The world state this snapshot holds, with `genesis`'s contracts and keys (which no
    /// block changes). Cheap: the trees read through to the database.
    pub fn world(&self, genesis: &WorldState) -> WorldState {
        let tree = |id: u8| -> Arc<dyn TreeStore> {
            Arc::new(StoredTree {
                id,
                size: self.head.sizes[id as usize],
                tables: self.tables.clone(),
            })
        };
        WorldState {
            notes: AppendTree::over(tree(NOTES)),
            nullifiers: IndexedTree::over(tree(NULLIFIERS)),
            public_data: IndexedTree::over(tree(PUBLIC_DATA)),
            archive: AppendTree::over(tree(ARCHIVE)),
            contracts: genesis.contracts.clone(),
            vks: genesis.vks.clone(),
            anchors: self.head.anchors.iter().copied().collect(),
            block_number: self.head.block,
        }
    }

    /// The last block of checkpoint `c` as stored when the snapshot was taken (the caller
    /// checks `c` against its tip).
    pub fn last_block_of(&self, c: u64) -> Option<u64> {
        crate::store::checkpoint_end(&self.tables.checkpoints, c)
            .unwrap_or_else(|e| self.tables.failed(e))
    }

    /// Block `n` as stored when the snapshot was taken.
    pub fn block(&self, n: u64) -> Option<crate::chain::Block> {
        match self.tables.blocks.get(n) {
            Ok(v) => crate::chain::Block::decode(v?.value()).or_else(|| {
                self.tables
                    .failed(format!("stored block {n} does not decode"))
            }),
            Err(e) => self.tables.failed(e),
        }
    }

    /// The world state as it was after block `at`, for witnesses and reads against an older
    /// anchor: each tree in `wanted` reads today's stored nodes, leaves and keys under what the
    /// blocks after `at` overwrote (their undo records); the other trees are empty, so a call
    /// only pays for the trees it reads. `None` past the blocks whose undo records are kept (at
    /// least the anchor window) or if a record is damaged.
    pub fn world_at(&self, at: u64, genesis: &WorldState, wanted: &[TreeId]) -> Option<WorldState> {
        let wants = |id: u8| wanted.iter().any(|t| *t as u8 == id);
        if at > self.head.block {
            return None;
        }
        let mut past: [Past; 4] = Default::default();
        let mut head = self.head.clone();
        // Newest block first, so the entry kept for a node is the one from before block at+1.
        for n in (at + 1..=self.head.block).rev() {
            let record = self.tables.undo.get(n).ok()??;
            let (prev_head, entries) = parse_undo(record.value())?;
            for e in entries {
                match e {
                    Prior::Node((id, ..), _) | Prior::Leaf((id, _), _) | Prior::Key((id, _), _)
                        if !wants(id) => {}
                    Prior::Node((id, level, index), prev) => {
                        let prev = match prev {
                            Some(b) => Some(fr_from_bytes(&b)?),
                            None => None,
                        };
                        past.get_mut(id as usize)?
                            .nodes
                            .insert((level, index), prev);
                    }
                    Prior::Leaf((id, index), prev) => {
                        let prev = match prev {
                            Some(b) => Some(IndexedLeaf::from_bytes(b)?),
                            None => None,
                        };
                        past.get_mut(id as usize)?.leaves.insert(index, prev);
                    }
                    // Keys are only ever added: one without a prior entry came after `at`.
                    Prior::Key((id, key), None) => {
                        past.get_mut(id as usize)?.hidden.insert(key);
                    }
                    Prior::Key(_, Some(_)) => {}
                }
            }
            head = Head::decode(prev_head)?;
        }
        let mut trees = past
            .into_iter()
            .enumerate()
            .map(|(id, p)| -> Arc<dyn TreeStore> {
                if !wants(id as u8) {
                    return Arc::new(Empty);
                }
                Arc::new(Historical {
                    size: head.sizes[id],
                    past: p,
                    now: StoredTree {
                        id: id as u8,
                        size: self.head.sizes[id],
                        tables: self.tables.clone(),
                    },
                })
            });
        let mut next = || trees.next();
        Some(WorldState {
            notes: AppendTree::over(next()?),
            nullifiers: IndexedTree::over(next()?),
            public_data: IndexedTree::over(next()?),
            archive: AppendTree::over(next()?),
            contracts: genesis.contracts.clone(),
            vks: genesis.vks.clone(),
            anchors: head.anchors.iter().copied().collect(),
            block_number: head.block,
        })
    }

    /// The first read through this snapshot that failed, if any.
    pub fn failure(&self) -> Option<&str> {
        self.tables.failure.get().map(String::as_str)
    }
}

fn layers(state: &WorldState) -> [(u8, &Layer); 4] {
    [
        (NOTES, state.notes.layer()),
        (NULLIFIERS, state.nullifiers.layer()),
        (PUBLIC_DATA, state.public_data.layer()),
        (ARCHIVE, state.archive.layer()),
    ]
}

/// Writes `state`'s layers and head inside `w`; with `undo`, first records what they overwrite.
fn write_state(
    w: &WriteTransaction,
    state: &WorldState,
    mut undo: Option<&mut Vec<u8>>,
) -> Result<(), redb::Error> {
    let mut nodes = w.open_table(NODES)?;
    let mut leaves = w.open_table(LEAVES)?;
    let mut keys = w.open_table(KEYS)?;
    let mut meta = w.open_table(STATE)?;
    if let Some(u) = undo.as_deref_mut() {
        let prev = meta
            .get("head")?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        u.extend_from_slice(&(prev.len() as u32).to_be_bytes());
        u.extend_from_slice(&prev);
    }
    for (t, layer) in layers(state) {
        for (&(level, index), h) in layer.written_nodes() {
            let prev = nodes.insert((t, level, index), fr_to_bytes(h))?;
            if let Some(u) = undo.as_deref_mut() {
                u.extend_from_slice(&[0, t, level]);
                u.extend_from_slice(&index.to_be_bytes());
                match prev {
                    Some(p) => {
                        u.push(1);
                        u.extend_from_slice(&p.value());
                    }
                    None => u.push(0),
                }
            }
        }
        for (&index, leaf) in layer.written_leaves() {
            let prev = leaves.insert((t, index), &leaf.to_bytes()[..])?;
            if let Some(u) = undo.as_deref_mut() {
                u.extend_from_slice(&[1, t]);
                u.extend_from_slice(&index.to_be_bytes());
                match prev {
                    Some(p) if p.value().len() == IndexedLeaf::BYTES => {
                        u.push(1);
                        u.extend_from_slice(p.value());
                    }
                    _ => u.push(0),
                }
            }
        }
        for (key, &index) in layer.written_keys() {
            let prev = keys.insert((t, *key), index)?;
            if let Some(u) = undo.as_deref_mut() {
                u.extend_from_slice(&[2, t]);
                u.extend_from_slice(key);
                match prev {
                    Some(p) => {
                        u.push(1);
                        u.extend_from_slice(&p.value().to_be_bytes());
                    }
                    None => u.push(0),
                }
            }
        }
    }
    meta.insert("head", Head::of(state).encode().as_slice())?;
    Ok(())
}

/// One entry of an undo record: what a block overwrote (`None`: the entry did not exist).
enum Prior<'a> {
    Node((u8, u8, u64), Option<[u8; 32]>),
    Leaf((u8, u64), Option<&'a [u8]>),
    Key((u8, [u8; 32]), Option<u64>),
}

/// Parses an undo record: the head before the block (empty: none) and the entries; `None` if
/// the record is damaged.
fn parse_undo(record: &[u8]) -> Option<(&[u8], Vec<Prior<'_>>)> {
    let mut r = Reader(record);
    let n = u32::from_be_bytes(r.array::<4>()?) as usize;
    let prev_head = r.take(n)?;
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let [tag, t] = r.array::<2>()?;
        out.push(match tag {
            0 => {
                let [level] = r.array::<1>()?;
                let index = u64::from_be_bytes(r.array::<8>()?);
                let [has] = r.array::<1>()?;
                let prev = if has == 1 {
                    Some(r.array::<32>()?)
                } else {
                    None
                };
                Prior::Node((t, level, index), prev)
            }
            1 => {
                let index = u64::from_be_bytes(r.array::<8>()?);
                let [has] = r.array::<1>()?;
                let prev = if has == 1 {
                    Some(r.take(IndexedLeaf::BYTES)?)
                } else {
                    None
                };
                Prior::Leaf((t, index), prev)
            }
            2 => {
                let k = r.array::<32>()?;
                let [has] = r.array::<1>()?;
                let prev = if has == 1 {
                    Some(u64::from_be_bytes(r.array::<8>()?))
                } else {
                    None
                };
                Prior::Key((t, k), prev)
            }
            _ => return None,
        });
    }
    Some((prev_head, out))
}

/// Applies one undo record inside `w`; `None` if the record is damaged.
fn apply_undo(w: &WriteTransaction, record: &[u8]) -> Result<Option<()>, redb::Error> {
    let Some((prev_head, entries)) = parse_undo(record) else {
        return Ok(None);
    };
    let mut nodes = w.open_table(NODES)?;
    let mut leaves = w.open_table(LEAVES)?;
    let mut keys = w.open_table(KEYS)?;
    let mut meta = w.open_table(STATE)?;
    for e in entries {
        match e {
            Prior::Node(k, Some(h)) => drop(nodes.insert(k, h)?),
            Prior::Node(k, None) => drop(nodes.remove(k)?),
            Prior::Leaf(k, Some(l)) => drop(leaves.insert(k, l)?),
            Prior::Leaf(k, None) => drop(leaves.remove(k)?),
            Prior::Key(k, Some(i)) => drop(keys.insert(k, i)?),
            Prior::Key(k, None) => drop(keys.remove(k)?),
        }
    }
    if prev_head.is_empty() {
        meta.remove("head")?;
    } else {
        meta.insert("head", prev_head)?;
    }
    Ok(Some(()))
}

/// What the blocks after some block overwrote in one tree.
#[derive(Default)]
struct Past {
    nodes: BTreeMap<(u8, u64), Option<Fr>>,
    leaves: BTreeMap<u64, Option<IndexedLeaf>>,
    /// Keys added after that block.
    hidden: BTreeSet<Key>,
}

/// A stored tree as it was some blocks back: what those blocks overwrote, over today's.
struct Historical {
    size: u64,
    past: Past,
    now: StoredTree,
}

impl TreeStore for Historical {
    fn size(&self) -> u64 {
        self.size
    }
    fn node(&self, level: u8, index: u64) -> Option<Fr> {
        match self.past.nodes.get(&(level, index)) {
            Some(v) => *v,
            None => self.now.node(level, index),
        }
    }
    fn leaf(&self, index: u64) -> Option<IndexedLeaf> {
        match self.past.leaves.get(&index) {
            Some(v) => *v,
            None => self.now.leaf(index),
        }
    }
    fn find(&self, key: &Key) -> Option<u64> {
        if self.past.hidden.contains(key) {
            return None;
        }
        self.now.find(key)
    }
    fn below(&self, key: &Key) -> Option<(Key, u64)> {
        let mut key = *key;
        loop {
            let (k, i) = self.now.below(&key)?;
            if !self.past.hidden.contains(&k) {
                return Some((k, i));
            }
            key = k;
        }
    }
}

/// Why the stored state cannot be unwound in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwind {
    /// Done: the state is after the requested block.
    Done,
    /// Undo records below this block were pruned (or are damaged): rebuild instead.
    NoHistory(u64),
}

impl Store {
    /// Creates the state tables (called by [`Store::open`]).
    pub(crate) fn create_state_tables(w: &WriteTransaction) -> Result<(), redb::Error> {
        w.open_table(NODES)?;
        w.open_table(LEAVES)?;
        w.open_table(KEYS)?;
        w.open_table(STATE)?;
        w.open_table(UNDO)?;
        Ok(())
    }

    /// The stored state's head: `Ok(None)` if no state is stored, an error if it does not
    /// decode.
    pub fn state_head(&self) -> Result<Option<Head>, StoreError> {
        let bytes = self.read(|r| {
            Ok(r.open_table(STATE)?
                .get("head")?
                .map(|v| v.value().to_vec()))
        })?;
        match bytes {
            None => Ok(None),
            Some(b) => Head::decode(&b)
                .map(Some)
                .ok_or_else(|| self.err("the world state's head record does not decode")),
        }
    }

    /// A read view of the stored state (`Ok(None)`: none stored yet).
    pub fn state_snapshot(&self) -> Result<Option<StateSnapshot>, StoreError> {
        let r = self.db().begin_read().map_err(|e| self.err(e))?;
        let head = r
            .open_table(STATE)
            .and_then(|t| Ok(t.get("head")?.map(|v| v.value().to_vec())))
            .map_err(|e| self.err(e))?;
        let Some(head) = head else {
            return Ok(None);
        };
        let head = Head::decode(&head)
            .ok_or_else(|| self.err("the world state's head record does not decode"))?;
        let tables = (|| -> Result<Tables, redb::Error> {
            Ok(Tables {
                blocks: r.open_table(crate::store::BLOCKS)?,
                checkpoints: r.open_table(crate::store::CHECKPOINTS)?,
                undo: r.open_table(UNDO)?,
                nodes: r.open_table(NODES)?,
                leaves: r.open_table(LEAVES)?,
                keys: r.open_table(KEYS)?,
                failure: OnceLock::new(),
            })
        })()
        .map_err(|e| self.err(e))?;
        Ok(Some(StateSnapshot {
            head,
            tables: Arc::new(tables),
        }))
    }

    /// Writes a whole state built in memory (genesis, or a rebuild's start) as the stored
    /// state, replacing any other, without undo.
    pub fn put_state(&self, state: &WorldState) -> Result<(), StoreError> {
        self.write(|w| {
            clear_state_in(w)?;
            write_state(w, state, None)
        })
    }

    /// Deletes the stored state and its history (a rebuild's first step).
    pub fn clear_state(&self) -> Result<(), StoreError> {
        self.write(clear_state_in)
    }

    /// Commits block `n` with the state it leads to (`state`'s layers over the stored state),
    /// its receipts and pool removal, and what it overwrote, in one transaction; undo records
    /// older than the window are dropped.
    pub fn commit_block_with_state(
        &self,
        n: u64,
        checkpoint: u64,
        bytes: &[u8],
        receipts: &[crate::store::Entry],
        state: &WorldState,
        keep_undo_above: u64,
    ) -> Result<(), StoreError> {
        self.write(|w| {
            self.commit_block_in(w, n, checkpoint, bytes, receipts)?;
            let mut undo = Vec::new();
            write_state(w, state, Some(&mut undo))?;
            let mut t = w.open_table(UNDO)?;
            t.insert(n, undo.as_slice())?;
            prune_undo(&mut t, keep_undo_above)?;
            crate::sequencer::fault_point("mid-block-commit", n, n, &Default::default());
            Ok(())
        })
    }

    /// Writes the state after a replayed block `n` (whose block is already stored).
    pub fn put_replayed_state(
        &self,
        n: u64,
        state: &WorldState,
        keep_undo_above: u64,
    ) -> Result<(), StoreError> {
        self.write(|w| {
            let mut undo = Vec::new();
            write_state(w, state, Some(&mut undo))?;
            let mut t = w.open_table(UNDO)?;
            t.insert(n, undo.as_slice())?;
            prune_undo(&mut t, keep_undo_above)
        })
    }

    /// Drops the blocks above `to` and unwinds the state to after block `to` with the undo
    /// records, returning their txs to the pool, in one transaction. With
    /// [`Unwind::NoHistory`] nothing was written.
    pub fn roll_back_with_state(
        &self,
        to: u64,
        txs: &[crate::store::Entry],
        notes: &[crate::store::Entry],
    ) -> Result<Unwind, StoreError> {
        self.write(|w| {
            let head = w
                .open_table(STATE)?
                .get("head")?
                .and_then(|v| Head::decode(v.value()));
            let Some(head) = head else {
                return Ok(Unwind::NoHistory(to + 1));
            };
            let mut records = Vec::new();
            {
                let t = w.open_table(UNDO)?;
                for n in (to + 1..=head.block).rev() {
                    match t.get(n)? {
                        Some(v) => records.push(v.value().to_vec()),
                        None => return Ok(Unwind::NoHistory(n)),
                    }
                }
            }
            for (i, rec) in records.iter().enumerate() {
                if apply_undo(w, rec)?.is_none() {
                    return Err(redb::Error::Corrupted(format!(
                        "the undo record of block {} is damaged",
                        head.block - i as u64
                    )));
                }
            }
            let mut t = w.open_table(UNDO)?;
            for n in to + 1..=head.block {
                t.remove(n)?;
            }
            drop(t);
            self.roll_back_in(w, to, txs, notes)?;
            Ok(Unwind::Done)
        })
    }
}

pub(crate) fn prune_undo(
    t: &mut redb::Table<u64, &[u8]>,
    keep_above: u64,
) -> Result<(), redb::Error> {
    let old: Vec<u64> = t
        .range(..=keep_above)?
        .map(|e| e.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()?;
    for k in old {
        t.remove(k)?;
    }
    Ok(())
}

fn clear_state_in(w: &WriteTransaction) -> Result<(), redb::Error> {
    w.delete_table(NODES)?;
    w.delete_table(LEAVES)?;
    w.delete_table(KEYS)?;
    w.delete_table(STATE)?;
    w.delete_table(UNDO)?;
    Store::create_state_tables(w)
}

#[cfg(feature = "fault-injection")]
impl Store {
    /// Overwrites the nullifier tree's root node, as a bad disk would (tests of the
    /// damaged-state path; test builds only).
    pub fn damage_state_for_test(&self) -> Result<(), StoreError> {
        self.write(|w| {
            w.open_table(NODES)?
                .insert((NULLIFIERS, 32u8, 0u64), [7u8; 32])?;
            Ok(())
        })
    }
}
