//! The world-state trees (docs/protocol.md §3): an append-only Merkle tree (note hashes,
//! archive) and an indexed Merkle tree (nullifiers, public data) whose sorted linked leaves make
//! non-membership provable with one low leaf and one path.
//!
//! A tree is a [`Layer`] of writes over a committed base ([`TreeStore`]): the node's database,
//! another frozen layer, or nothing. Forking a tree copies only its own (usually empty) layer,
//! so speculative building and re-execution never copy the state, and what a block wrote is
//! exactly the layer the node persists ([`Layer::writes`]). Empty subtrees hash to precomputed
//! zero values and are never stored.
//!
//! Updates come in batches: a block's leaves are set first, then every dirty node is hashed
//! once, level by level, so a subtree shared by many new leaves is hashed once instead of once
//! per leaf. For the same inputs the roots, leaves and paths are exactly those of inserting the
//! leaves one by one (the property tests compare both).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use ark_bn254::Fr;
use thiserror::Error;

use crate::field::{fr_from_bytes, fr_to_bytes};
use crate::poseidon::{domain, hash, hash2, hash2_many, hash_many};

/// Depth of every tree (2^32 leaves).
pub const DEPTH: usize = 32;

/// Tree errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeError {
    /// No room left.
    #[error("tree is full")]
    Full,
    /// The value is already in an indexed tree (or twice in one batch).
    #[error("value already present")]
    Exists,
    /// An indexed-tree value must be non-zero (zero is the sentinel).
    #[error("zero is reserved")]
    Zero,
}

/// Roots of empty subtrees: `zeros()[0]` is an empty leaf, `zeros()[DEPTH]` an empty tree.
pub fn zeros() -> &'static [Fr; DEPTH + 1] {
    static Z: OnceLock<[Fr; DEPTH + 1]> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = [Fr::from(0u64); DEPTH + 1];
        for i in 1..=DEPTH {
            z[i] = hash2(z[i - 1], z[i - 1]);
        }
        z
    })
}

/// A Merkle path: siblings from the leaf up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Leaf index.
    pub index: u64,
    /// `DEPTH` siblings, leaf level first.
    pub siblings: Vec<Fr>,
}

impl Path {
    /// The root this path gives for `leaf`.
    pub fn root(&self, leaf: Fr) -> Fr {
        let mut acc = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            acc = if (self.index >> level) & 1 == 0 {
                hash2(acc, *sib)
            } else {
                hash2(*sib, acc)
            };
        }
        acc
    }
}

/// An indexed-tree value in the tree's order: its canonical big-endian bytes, so byte order is
/// numeric order (in memory and in the node's database alike).
pub type Key = [u8; 32];

/// The [`Key`] of a value.
pub fn key_of(x: &Fr) -> Key {
    fr_to_bytes(x)
}

/// One indexed-tree leaf: a value, and the next larger value in the tree (0 = none) with its
/// index. The payload is carried by public-data leaves (the slot's value); nullifiers use 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexedLeaf {
    /// The key.
    pub value: Fr,
    /// Data stored with the key.
    pub payload: Fr,
    /// Next larger key (0 if this is the largest).
    pub next_value: Fr,
    /// Index of that leaf.
    pub next_index: u64,
}

impl IndexedLeaf {
    /// Size of [`to_bytes`](Self::to_bytes).
    pub const BYTES: usize = 104;

    /// The leaf's hash in the tree.
    pub fn hash(&self) -> Fr {
        hash(domain::INDEXED_LEAF, &self.inputs())
    }

    /// [`hash`](Self::hash) of each leaf, the permutations batched.
    pub fn hash_many(leaves: &[IndexedLeaf]) -> Vec<Fr> {
        let inputs: Vec<[Fr; 4]> = leaves.iter().map(IndexedLeaf::inputs).collect();
        hash_many(domain::INDEXED_LEAF, &inputs)
    }

    fn inputs(&self) -> [Fr; 4] {
        [
            self.value,
            self.payload,
            self.next_value,
            Fr::from(self.next_index),
        ]
    }

    /// Storage form: value, payload and next value (32 bytes big-endian each), next index (u64
    /// big-endian).
    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut b = [0u8; Self::BYTES];
        b[..32].copy_from_slice(&fr_to_bytes(&self.value));
        b[32..64].copy_from_slice(&fr_to_bytes(&self.payload));
        b[64..96].copy_from_slice(&fr_to_bytes(&self.next_value));
        b[96..].copy_from_slice(&self.next_index.to_be_bytes());
        b
    }

    /// Parses [`to_bytes`](Self::to_bytes); `None` unless every field is canonical.
    pub fn from_bytes(b: &[u8]) -> Option<IndexedLeaf> {
        if b.len() != Self::BYTES {
            return None;
        }
        let fr = |r: std::ops::Range<usize>| fr_from_bytes(b[r].try_into().ok()?);
        Some(IndexedLeaf {
            value: fr(0..32)?,
            payload: fr(32..64)?,
            next_value: fr(64..96)?,
            next_index: u64::from_be_bytes(b[96..].try_into().ok()?),
        })
    }
}

/// Read access to a committed tree: the node's database (a consistent snapshot of it), a frozen
/// [`Layer`], or [`Empty`]. Implementations answer from one fixed version of the tree.
pub trait TreeStore: Send + Sync {
    /// Number of leaves.
    fn size(&self) -> u64;
    /// A node (level 0 holds leaf hashes); `None` for an empty subtree.
    fn node(&self, level: u8, index: u64) -> Option<Fr>;
    /// An indexed tree's leaf.
    fn leaf(&self, index: u64) -> Option<IndexedLeaf>;
    /// Index of the indexed-tree leaf holding exactly `key`.
    fn find(&self, key: &Key) -> Option<u64>;
    /// The largest key strictly below `key`, with its leaf index.
    fn below(&self, key: &Key) -> Option<(Key, u64)>;
}

/// A tree with nothing committed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl TreeStore for Empty {
    fn size(&self) -> u64 {
        0
    }
    fn node(&self, _: u8, _: u64) -> Option<Fr> {
        None
    }
    fn leaf(&self, _: u64) -> Option<IndexedLeaf> {
        None
    }
    fn find(&self, _: &Key) -> Option<u64> {
        None
    }
    fn below(&self, _: &Key) -> Option<(Key, u64)> {
        None
    }
}

/// A write a checkpoint can take back: the layer's previous entry (`None`: it had none).
#[derive(Debug, Clone)]
enum Undo {
    Node((u8, u64), Option<Fr>),
    Leaf(u64, Option<IndexedLeaf>),
    Key(Key, Option<u64>),
    Size(u64),
}

/// Marks a point a [`Layer`] can be reverted to ([`Layer::revert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a checkpoint is released or reverted"]
pub struct Checkpoint(usize);

/// Writes over a committed base. Reads see the layer's writes first, then the base.
#[derive(Clone)]
pub struct Layer {
    base: Arc<dyn TreeStore>,
    size: u64,
    nodes: BTreeMap<(u8, u64), Fr>,
    leaves: BTreeMap<u64, IndexedLeaf>,
    keys: BTreeMap<Key, u64>,
    // Some while a checkpoint is open: the entries to restore, oldest first.
    journal: Option<Vec<Undo>>,
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("size", &self.size)
            .field("nodes_written", &self.nodes.len())
            .field("leaves_written", &self.leaves.len())
            .finish_non_exhaustive()
    }
}

impl Layer {
    /// An empty layer over `base`.
    pub fn over(base: Arc<dyn TreeStore>) -> Layer {
        Layer {
            size: base.size(),
            base,
            nodes: BTreeMap::new(),
            leaves: BTreeMap::new(),
            keys: BTreeMap::new(),
            journal: None,
        }
    }

    /// Number of leaves, with this layer's.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Nodes this layer wrote, (level, index) → hash.
    pub fn written_nodes(&self) -> &BTreeMap<(u8, u64), Fr> {
        &self.nodes
    }

    /// Indexed-tree leaves this layer wrote.
    pub fn written_leaves(&self) -> &BTreeMap<u64, IndexedLeaf> {
        &self.leaves
    }

    /// Indexed-tree keys this layer added.
    pub fn written_keys(&self) -> &BTreeMap<Key, u64> {
        &self.keys
    }

    /// Opens a checkpoint: [`revert`](Self::revert) takes back every write made after it.
    pub fn checkpoint(&mut self) -> Checkpoint {
        Checkpoint(self.journal.get_or_insert_with(Vec::new).len())
    }

    /// Takes back the writes made since `cp` (and closes checkpoints opened after it).
    pub fn revert(&mut self, cp: Checkpoint) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let back: Vec<Undo> = journal.drain(cp.0.min(journal.len())..).collect();
        for u in back.into_iter().rev() {
            match u {
                Undo::Node(k, v) => restore(&mut self.nodes, k, v),
                Undo::Leaf(k, v) => restore(&mut self.leaves, k, v),
                Undo::Key(k, v) => restore(&mut self.keys, k, v),
                Undo::Size(s) => self.size = s,
            }
        }
        if cp.0 == 0 {
            self.journal = None;
        }
    }

    /// Keeps the writes made since `cp`; the outermost release stops recording.
    pub fn release(&mut self, cp: Checkpoint) {
        if cp.0 == 0 {
            self.journal = None;
        }
    }

    fn get_node(&self, level: usize, index: u64) -> Fr {
        self.nodes
            .get(&(level as u8, index))
            .copied()
            .or_else(|| self.base.node(level as u8, index))
            .unwrap_or(zeros()[level])
    }

    fn set_node(&mut self, level: usize, index: u64, h: Fr) {
        let prev = self.nodes.insert((level as u8, index), h);
        if let Some(j) = self.journal.as_mut() {
            j.push(Undo::Node((level as u8, index), prev));
        }
    }

    fn get_leaf(&self, index: u64) -> Option<IndexedLeaf> {
        self.leaves
            .get(&index)
            .copied()
            .or_else(|| self.base.leaf(index))
    }

    /// Sets an indexed leaf; its hash (level 0) is computed by [`rehash_leaves`](Self::rehash_leaves).
    fn set_leaf(&mut self, index: u64, leaf: IndexedLeaf) {
        let prev = self.leaves.insert(index, leaf);
        if let Some(j) = self.journal.as_mut() {
            j.push(Undo::Leaf(index, prev));
        }
    }

    fn add_key(&mut self, key: Key, index: u64) {
        let prev = self.keys.insert(key, index);
        if let Some(j) = self.journal.as_mut() {
            j.push(Undo::Key(key, prev));
        }
    }

    fn set_size(&mut self, size: u64) {
        if let Some(j) = self.journal.as_mut() {
            j.push(Undo::Size(self.size));
        }
        self.size = size;
    }

    fn get_below(&self, key: &Key) -> Option<(Key, u64)> {
        let mine = self.keys.range(..*key).next_back().map(|(k, i)| (*k, *i));
        match (mine, self.base.below(key)) {
            (Some(a), Some(b)) => Some(if a.0 > b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Hashes the `dirty` indexed leaves, then every node above them.
    fn rehash_leaves(&mut self, dirty: Vec<u64>) {
        self.rehash_from(dirty, true);
    }

    /// Hashes every node above the `dirty` leaves once.
    fn rehash(&mut self, dirty: Vec<u64>) {
        self.rehash_from(dirty, false);
    }

    /// Hashes every node above the `dirty` leaves once (with `leaves`, first the indexed
    /// leaves themselves).
    ///
    /// The lower levels are hashed per subtree: the dirty leaves are grouped by the subtree
    /// they fall in below a split level, and each group is hashed on one core from its leaves
    /// to the split level, the cores taking the next group as they finish. Groups share no
    /// node, so no core waits for another until the split level, and uneven groups even out.
    /// The few nodes above the split level are then hashed level by level.
    fn rehash_from(&mut self, mut dirty: Vec<u64>, leaves: bool) {
        dirty.sort_unstable();
        dirty.dedup();
        let threads = cores();
        let split = split_level(&dirty, threads * GROUPS_PER_CORE);
        if leaves && split == 0 {
            let hashes = par_chunks(&dirty, |chunk| {
                let leaves: Vec<IndexedLeaf> = chunk
                    .iter()
                    .map(|&i| self.get_leaf(i).unwrap_or_default())
                    .collect();
                IndexedLeaf::hash_many(&leaves)
            });
            for (&i, h) in dirty.iter().zip(hashes) {
                self.set_node(0, i, h);
            }
        }
        if split > 0 {
            let mut groups: Vec<&[u64]> = Vec::new();
            let mut rest = &dirty[..];
            while let Some(&first) = rest.first() {
                let n = rest
                    .iter()
                    .position(|&i| i >> split != first >> split)
                    .unwrap_or(rest.len());
                let (g, r) = rest.split_at(n);
                groups.push(g);
                rest = r;
            }
            let this = &*self;
            let hashed = par_map(&groups, 1, |g| this.hash_subtree(g, split, leaves));
            for nodes in hashed {
                for (level, index, h) in nodes {
                    self.set_node(level, index, h);
                }
            }
            dirty = parents_at(&dirty, split);
        }
        for level in split..DEPTH {
            let parents = parents_at(&dirty, 1);
            let hashes = par_chunks(&parents, |chunk| {
                let pairs: Vec<[Fr; 2]> = chunk
                    .iter()
                    .map(|&p| [self.get_node(level, 2 * p), self.get_node(level, 2 * p + 1)])
                    .collect();
                hash2_many(&pairs)
            });
            for (&p, h) in parents.iter().zip(hashes) {
                self.set_node(level + 1, p, h);
            }
            dirty = parents;
        }
    }

    /// The nodes from the `dirty` leaves of one subtree up to level `top`, (level, index,
    /// hash) in the order they are computed; reads only.
    fn hash_subtree(&self, dirty: &[u64], top: usize, leaves: bool) -> Vec<(usize, u64, Fr)> {
        let mut out = Vec::with_capacity(2 * dirty.len() + top);
        let mut row: Vec<(u64, Fr)> = if leaves {
            let leaves: Vec<IndexedLeaf> = dirty
                .iter()
                .map(|&i| self.get_leaf(i).unwrap_or_default())
                .collect();
            let hashes = IndexedLeaf::hash_many(&leaves);
            out.extend(dirty.iter().zip(&hashes).map(|(&i, &h)| (0, i, h)));
            dirty.iter().copied().zip(hashes).collect()
        } else {
            dirty.iter().map(|&i| (i, self.get_node(0, i))).collect()
        };
        // A level at a time, so the row's hashes go through the permutation as one batch.
        let mut pairs: Vec<[Fr; 2]> = Vec::with_capacity(row.len());
        let mut parents: Vec<u64> = Vec::with_capacity(row.len());
        for level in 0..top {
            pairs.clear();
            parents.clear();
            let mut k = 0;
            while k < row.len() {
                let (i, h) = row[k];
                let pair = if i & 1 == 0 {
                    match row.get(k + 1).filter(|(j, _)| *j == i + 1) {
                        Some(&(_, r)) => {
                            k += 1;
                            [h, r]
                        }
                        None => [h, self.get_node(level, i + 1)],
                    }
                } else {
                    [self.get_node(level, i - 1), h]
                };
                k += 1;
                pairs.push(pair);
                parents.push(i >> 1);
            }
            let hashes = hash2_many(&pairs);
            out.extend(
                parents
                    .iter()
                    .zip(&hashes)
                    .map(|(&p, &h)| (level + 1, p, h)),
            );
            row = parents.iter().copied().zip(hashes).collect();
        }
        out
    }

    fn root(&self) -> Fr {
        self.get_node(DEPTH, 0)
    }

    fn path(&self, index: u64) -> Path {
        let siblings = (0..DEPTH)
            .map(|level| self.get_node(level, (index >> level) ^ 1))
            .collect();
        Path { index, siblings }
    }
}

/// Below this many items per core a batch is worked through on the calling thread: starting
/// a thread costs about as much as a few permutations.
pub(crate) const PER_THREAD_MIN: usize = 16;

/// Subtree groups per core that [`Layer::rehash_from`] aims for: enough that cores finishing
/// early find more work.
const GROUPS_PER_CORE: usize = 16;

/// Items per piece of [`par_chunks`]: two vector batches of permutations.
const CHUNK: usize = 16;

/// `f` over `items` a [`CHUNK`] at a time, shared over the cores as [`par_map`] does, the
/// results concatenated in order; `f` returns one result per item. A core is started for every
/// two chunks: batched, a chunk hashes in about the time it takes to start a thread.
fn par_chunks<I: Sync, T: Send>(items: &[I], f: impl Fn(&[I]) -> Vec<T> + Sync) -> Vec<T> {
    let chunks: Vec<&[I]> = items.chunks(CHUNK).collect();
    par_map(&chunks, 2, |c| f(c))
        .into_iter()
        .flatten()
        .collect()
}

/// The distinct parents `levels` levels above the sorted `dirty` nodes, sorted.
fn parents_at(dirty: &[u64], levels: usize) -> Vec<u64> {
    let mut parents: Vec<u64> = Vec::with_capacity(dirty.len() / 2 + 1);
    for &i in dirty {
        if parents.last() != Some(&(i >> levels)) {
            parents.push(i >> levels);
        }
    }
    parents
}

/// The highest level below which the sorted `dirty` leaves fall into at least `groups`
/// subtrees; 0 (no grouping) on one core or for a batch too small to share.
fn split_level(dirty: &[u64], groups: usize) -> usize {
    if cores() == 1 || dirty.len() < 2 * PER_THREAD_MIN {
        return 0;
    }
    (1..DEPTH)
        .rev()
        .find(|&level| parents_at(dirty, level).len() >= groups)
        .unwrap_or(0)
}

/// `f` of every item, in order. On native targets, with at least `per_thread` items per
/// core, the cores take the items a chunk at a time as they go, so a core held up (by the other
/// tree's work, a slow read) leaves the rest to the others.
pub(crate) fn par_map<I: Sync, T: Send>(
    items: &[I],
    per_thread: usize,
    f: impl Fn(&I) -> T + Sync,
) -> Vec<T> {
    let threads = cores().min(items.len() / per_thread.max(1)).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads * 8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let work = move || {
        let mut done: Vec<(usize, Vec<T>)> = Vec::new();
        loop {
            let start = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * chunk;
            if start >= items.len() {
                return done;
            }
            let part = &items[start..(start + chunk).min(items.len())];
            done.push((start, part.iter().map(f).collect()));
        }
    };
    let mut parts: Vec<(usize, Vec<T>)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in others {
            match h.join() {
                Ok(v) => all.extend(v),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    parts.sort_unstable_by_key(|p| p.0);
    parts.into_iter().flat_map(|p| p.1).collect()
}

/// Cores to hash on: one in wasm (no threads), else what the machine offers (at most 8).
fn cores() -> usize {
    if cfg!(target_family = "wasm") {
        return 1;
    }
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().min(8))
            .unwrap_or(1)
    })
}

fn restore<K: Ord, V>(m: &mut BTreeMap<K, V>, k: K, v: Option<V>) {
    match v {
        Some(v) => m.insert(k, v),
        None => m.remove(&k),
    };
}

impl TreeStore for Layer {
    fn size(&self) -> u64 {
        self.size
    }
    fn node(&self, level: u8, index: u64) -> Option<Fr> {
        self.nodes
            .get(&(level, index))
            .copied()
            .or_else(|| self.base.node(level, index))
    }
    fn leaf(&self, index: u64) -> Option<IndexedLeaf> {
        self.get_leaf(index)
    }
    fn find(&self, key: &Key) -> Option<u64> {
        self.keys.get(key).copied().or_else(|| self.base.find(key))
    }
    fn below(&self, key: &Key) -> Option<(Key, u64)> {
        self.get_below(key)
    }
}

const CAPACITY: u64 = 1u64 << DEPTH;

/// Append-only tree of field elements.
#[derive(Debug, Clone)]
pub struct AppendTree {
    layer: Layer,
}

impl Default for AppendTree {
    fn default() -> Self {
        Self::new()
    }
}

impl AppendTree {
    /// An empty tree (in memory).
    pub fn new() -> Self {
        Self::over(Arc::new(Empty))
    }

    /// The tree `base` holds, with an empty layer for new writes.
    pub fn over(base: Arc<dyn TreeStore>) -> Self {
        AppendTree {
            layer: Layer::over(base),
        }
    }

    /// Appends a leaf; returns its index.
    pub fn append(&mut self, leaf: Fr) -> Result<u64, TreeError> {
        self.append_batch(&[leaf])
    }

    /// Appends `leaves` in order, hashing each new node once; returns the first one's index.
    /// A batch that does not fit changes nothing.
    pub fn append_batch(&mut self, leaves: &[Fr]) -> Result<u64, TreeError> {
        let start = self.layer.size;
        let end = start
            .checked_add(leaves.len() as u64)
            .filter(|e| *e <= CAPACITY)
            .ok_or(TreeError::Full)?;
        if leaves.is_empty() {
            return Ok(start);
        }
        for (i, leaf) in (start..).zip(leaves) {
            self.layer.set_node(0, i, *leaf);
        }
        self.layer.set_size(end);
        self.layer.rehash((start..end).collect());
        Ok(start)
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.layer.size
    }

    /// True if no leaf was appended.
    pub fn is_empty(&self) -> bool {
        self.layer.size == 0
    }

    /// The leaf at `index` (zero beyond the end).
    pub fn leaf(&self, index: u64) -> Fr {
        self.layer.get_node(0, index)
    }

    /// Root.
    pub fn root(&self) -> Fr {
        self.layer.root()
    }

    /// Path of `index`.
    pub fn path(&self, index: u64) -> Path {
        self.layer.path(index)
    }

    /// The writes over the committed base.
    pub fn layer(&self) -> &Layer {
        &self.layer
    }

    /// The writes over the committed base, for checkpoints.
    pub fn layer_mut(&mut self) -> &mut Layer {
        &mut self.layer
    }
}

/// A proof that `value` is not in an indexed tree: the low leaf (largest key below `value`,
/// whose next key is above it or 0) and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonMembership {
    /// The low leaf.
    pub low: IndexedLeaf,
    /// Its path.
    pub path: Path,
}

impl NonMembership {
    /// Checks the proof against `root`.
    pub fn verify(&self, root: Fr, value: Fr) -> bool {
        let below = key_of(&self.low.value) < key_of(&value);
        let above =
            self.low.next_value == Fr::from(0u64) || key_of(&value) < key_of(&self.low.next_value);
        below && above && self.path.root(self.low.hash()) == root
    }
}

/// Indexed Merkle tree: a sorted set (with payloads) committed by a Merkle root. Leaf 0 is the
/// sentinel (value 0).
#[derive(Debug, Clone)]
pub struct IndexedTree {
    layer: Layer,
}

impl Default for IndexedTree {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexedTree {
    /// A tree holding only the zero sentinel (in memory).
    pub fn new() -> Self {
        let mut layer = Layer::over(Arc::new(Empty));
        layer.set_leaf(0, IndexedLeaf::default());
        layer.add_key(key_of(&Fr::from(0u64)), 0);
        layer.set_size(1);
        layer.rehash_leaves(vec![0]);
        IndexedTree { layer }
    }

    /// The tree `base` holds (which has its sentinel), with an empty layer for new writes.
    pub fn over(base: Arc<dyn TreeStore>) -> Self {
        IndexedTree {
            layer: Layer::over(base),
        }
    }

    /// Root.
    pub fn root(&self) -> Fr {
        self.layer.root()
    }

    /// Number of leaves including the sentinel.
    pub fn len(&self) -> u64 {
        self.layer.size
    }

    /// Always false: the sentinel is there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The payload of `value`, if present.
    pub fn get(&self, value: &Fr) -> Option<Fr> {
        if *value == Fr::from(0u64) {
            return None;
        }
        let i = self.layer.find(&key_of(value))?;
        self.layer.get_leaf(i).map(|l| l.payload)
    }

    /// The leaf index of `value`, if present.
    pub fn index_of(&self, value: &Fr) -> Option<u64> {
        if *value == Fr::from(0u64) {
            return None;
        }
        self.layer.find(&key_of(value))
    }

    /// True if `value` is present.
    pub fn contains(&self, value: &Fr) -> bool {
        self.get(value).is_some()
    }

    /// The leaf at `index`.
    pub fn leaf(&self, index: u64) -> Option<IndexedLeaf> {
        self.layer.get_leaf(index)
    }

    fn low_index(&self, value: &Fr) -> u64 {
        // The sentinel (key 0) is below any non-zero value.
        self.layer
            .get_below(&key_of(value))
            .map(|(_, i)| i)
            .unwrap_or(0)
    }

    /// Non-membership proof for an absent non-zero `value`.
    pub fn non_membership(&self, value: &Fr) -> Option<NonMembership> {
        if *value == Fr::from(0u64) || self.contains(value) {
            return None;
        }
        let i = self.low_index(value);
        Some(NonMembership {
            low: self.layer.get_leaf(i)?,
            path: self.layer.path(i),
        })
    }

    /// Path of the leaf at `index`.
    pub fn path(&self, index: u64) -> Path {
        self.layer.path(index)
    }

    /// Inserts a new key.
    pub fn insert(&mut self, value: Fr, payload: Fr) -> Result<u64, TreeError> {
        self.insert_batch(&[(value, payload)])
    }

    /// Inserts new keys, indexed in the order given; returns the first one's index. Refuses the
    /// whole batch, changing nothing, if a key is zero, present, or given twice.
    pub fn insert_batch(&mut self, items: &[(Fr, Fr)]) -> Result<u64, TreeError> {
        let start = self.layer.size;
        let keys: Vec<Key> = items.iter().map(|(v, _)| key_of(v)).collect();
        let present = par_map(&keys, PER_THREAD_MIN, |k| self.layer.find(k).is_some());
        let mut seen = std::collections::BTreeSet::new();
        for (((v, _), k), present) in items.iter().zip(&keys).zip(present) {
            if *v == Fr::from(0u64) {
                return Err(TreeError::Zero);
            }
            if !seen.insert(*k) || present {
                return Err(TreeError::Exists);
            }
        }
        let dirty = self.insert_new(items)?;
        self.layer.rehash_leaves(dirty);
        Ok(start)
    }

    /// Inserts or updates the payload of `value`.
    pub fn upsert(&mut self, value: Fr, payload: Fr) -> Result<(), TreeError> {
        self.upsert_batch(&[(value, payload)])
    }

    /// Writes each (key, payload) in order: an existing key's payload is replaced, a new key is
    /// inserted where it first appears; a key given twice keeps the last payload. Refuses the
    /// whole batch, changing nothing, if a key is zero or the tree would overflow.
    pub fn upsert_batch(&mut self, items: &[(Fr, Fr)]) -> Result<(), TreeError> {
        if items.iter().any(|(v, _)| *v == Fr::from(0u64)) {
            return Err(TreeError::Zero);
        }
        // key → position in `latest` (first appearance), payload updated to the last write.
        let mut at: BTreeMap<Key, usize> = BTreeMap::new();
        let mut latest: Vec<(Key, Fr, Fr)> = Vec::with_capacity(items.len());
        for (v, p) in items {
            let k = key_of(v);
            match at.get(&k) {
                Some(&i) => latest[i].2 = *p,
                None => {
                    at.insert(k, latest.len());
                    latest.push((k, *v, *p));
                }
            }
        }
        // Each key's leaf, if it has one (distinct keys: no write below changes another's).
        let found = par_map(&latest, PER_THREAD_MIN, |(k, ..)| {
            self.layer.find(k).map(|i| (i, self.layer.get_leaf(i)))
        });
        let mut updates = Vec::new();
        let mut new = Vec::new();
        for ((_, v, p), found) in latest.into_iter().zip(found) {
            match found {
                Some((i, Some(leaf))) => updates.push((i, IndexedLeaf { payload: p, ..leaf })),
                // A key without its leaf: a damaged store, which the snapshot records.
                Some((_, None)) => {}
                None => new.push((v, p)),
            }
        }
        if self.layer.size + new.len() as u64 > CAPACITY {
            return Err(TreeError::Full);
        }
        let mut dirty = Vec::with_capacity(updates.len() + 2 * new.len());
        for (i, leaf) in updates {
            self.layer.set_leaf(i, leaf);
            dirty.push(i);
        }
        dirty.extend(self.insert_new(&new)?);
        self.layer.rehash_leaves(dirty);
        Ok(())
    }

    /// Adds distinct, absent, non-zero keys as new leaves (indexed in the given order) and
    /// relinks their low leaves. Returns the leaves to rehash.
    fn insert_new(&mut self, items: &[(Fr, Fr)]) -> Result<Vec<u64>, TreeError> {
        let start = self.layer.size;
        let end = start
            .checked_add(items.len() as u64)
            .filter(|e| *e <= CAPACITY)
            .ok_or(TreeError::Full)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // In key order, each with its low leaf among the keys present before the batch: new
        // keys sharing a low leaf form a run that slots in between it and its old next.
        let mut sorted: Vec<(Key, u64, Fr, Fr)> = (start..)
            .zip(items)
            .map(|(i, (v, p))| (key_of(v), i, *v, *p))
            .collect();
        sorted.sort_unstable_by_key(|a| a.0);
        let lows: Vec<u64> = par_map(&sorted, PER_THREAD_MIN, |(k, ..)| {
            self.layer.get_below(k).map(|(_, i)| i).unwrap_or(0)
        });
        let mut dirty = Vec::with_capacity(2 * items.len());
        let mut j = 0;
        while j < sorted.len() {
            let low_i = lows[j];
            let mut run_end = j;
            while run_end + 1 < sorted.len() && lows[run_end + 1] == low_i {
                run_end += 1;
            }
            let low = self.layer.get_leaf(low_i).unwrap_or_default();
            self.layer.set_leaf(
                low_i,
                IndexedLeaf {
                    next_value: sorted[j].2,
                    next_index: sorted[j].1,
                    ..low
                },
            );
            dirty.push(low_i);
            for r in j..=run_end {
                let (next_value, next_index) = match sorted.get(r + 1).filter(|_| r < run_end) {
                    Some(n) => (n.2, n.1),
                    None => (low.next_value, low.next_index),
                };
                let (k, i, value, payload) = sorted[r];
                self.layer.set_leaf(
                    i,
                    IndexedLeaf {
                        value,
                        payload,
                        next_value,
                        next_index,
                    },
                );
                self.layer.add_key(k, i);
                dirty.push(i);
            }
            j = run_end + 1;
        }
        self.layer.set_size(end);
        Ok(dirty)
    }

    /// The writes over the committed base.
    pub fn layer(&self) -> &Layer {
        &self.layer
    }

    /// The writes over the committed base, for checkpoints.
    pub fn layer_mut(&mut self) -> &mut Layer {
        &mut self.layer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The one-leaf-at-a-time trees this module had before batches, kept as the reference the
    /// batch code must match exactly.
    mod reference {
        use super::super::{zeros, IndexedLeaf, Path, DEPTH};
        use crate::field::fr_to_bytes;
        use crate::poseidon::hash2;
        use ark_bn254::Fr;
        use std::collections::BTreeMap;

        #[derive(Default, Clone)]
        pub struct Nodes(BTreeMap<(u8, u64), Fr>);
        impl Nodes {
            fn get(&self, level: usize, i: u64) -> Fr {
                self.0
                    .get(&(level as u8, i))
                    .copied()
                    .unwrap_or(zeros()[level])
            }
            pub fn set_leaf(&mut self, index: u64, leaf: Fr) {
                self.0.insert((0, index), leaf);
                let mut i = index;
                for level in 0..DEPTH {
                    let (l, r) = if i & 1 == 0 {
                        (self.get(level, i), self.get(level, i + 1))
                    } else {
                        (self.get(level, i - 1), self.get(level, i))
                    };
                    i >>= 1;
                    self.0.insert((level as u8 + 1, i), hash2(l, r));
                }
            }
            pub fn root(&self) -> Fr {
                self.get(DEPTH, 0)
            }
            pub fn path(&self, index: u64) -> Path {
                Path {
                    index,
                    siblings: (0..DEPTH).map(|l| self.get(l, (index >> l) ^ 1)).collect(),
                }
            }
        }

        #[derive(Clone)]
        pub struct Indexed {
            pub nodes: Nodes,
            pub leaves: Vec<IndexedLeaf>,
            by: BTreeMap<[u8; 32], u64>,
        }
        impl Indexed {
            pub fn new() -> Self {
                let mut t = Indexed {
                    nodes: Nodes::default(),
                    leaves: vec![IndexedLeaf::default()],
                    by: BTreeMap::new(),
                };
                t.nodes.set_leaf(0, IndexedLeaf::default().hash());
                t.by.insert([0; 32], 0);
                t
            }
            pub fn insert(&mut self, value: Fr, payload: Fr) -> bool {
                let k = fr_to_bytes(&value);
                if value == Fr::from(0u64) || self.by.contains_key(&k) {
                    return false;
                }
                let new_index = self.leaves.len() as u64;
                let low_i = *self.by.range(..k).next_back().unwrap().1;
                let low = self.leaves[low_i as usize];
                let new = IndexedLeaf {
                    value,
                    payload,
                    next_value: low.next_value,
                    next_index: low.next_index,
                };
                let up = IndexedLeaf {
                    next_value: value,
                    next_index: new_index,
                    ..low
                };
                self.leaves[low_i as usize] = up;
                self.nodes.set_leaf(low_i, up.hash());
                self.leaves.push(new);
                self.nodes.set_leaf(new_index, new.hash());
                self.by.insert(k, new_index);
                true
            }
            pub fn upsert(&mut self, value: Fr, payload: Fr) {
                if let Some(&i) = self
                    .by
                    .get(&fr_to_bytes(&value))
                    .filter(|_| value != Fr::from(0u64))
                {
                    let leaf = IndexedLeaf {
                        payload,
                        ..self.leaves[i as usize]
                    };
                    self.leaves[i as usize] = leaf;
                    self.nodes.set_leaf(i, leaf.hash());
                } else {
                    self.insert(value, payload);
                }
            }
        }
    }

    #[test]
    fn append_tree_paths_prove_leaves() {
        let mut t = AppendTree::new();
        assert_eq!(t.root(), zeros()[DEPTH]);
        for i in 0..10u64 {
            t.append(Fr::from(i + 100)).unwrap();
        }
        for i in 0..10u64 {
            assert_eq!(t.path(i).root(Fr::from(i + 100)), t.root());
            assert_ne!(t.path(i).root(Fr::from(i + 101)), t.root());
        }
        // Empty slots are provably empty.
        assert_eq!(t.path(10).root(Fr::from(0u64)), t.root());
    }

    #[test]
    fn indexed_tree_membership_and_non_membership() {
        let mut t = IndexedTree::new();
        for v in [50u64, 10, 30, 70] {
            t.insert(Fr::from(v), Fr::from(0u64)).unwrap();
        }
        assert_eq!(
            t.insert(Fr::from(30u64), Fr::from(0u64)),
            Err(TreeError::Exists)
        );
        assert_eq!(
            t.insert(Fr::from(0u64), Fr::from(0u64)),
            Err(TreeError::Zero)
        );
        for absent in [5u64, 20, 40, 60, 80] {
            let p = t.non_membership(&Fr::from(absent)).unwrap();
            assert!(p.verify(t.root(), Fr::from(absent)), "{absent}");
            // The same proof does not show another value absent if it lies outside the gap.
            assert!(!p.verify(t.root(), Fr::from(absent + 1000)) || absent == 80);
        }
        assert!(t.non_membership(&Fr::from(30u64)).is_none());
        let mut u = IndexedTree::new();
        u.upsert(Fr::from(7u64), Fr::from(1u64)).unwrap();
        let r1 = u.root();
        u.upsert(Fr::from(7u64), Fr::from(2u64)).unwrap();
        assert_ne!(u.root(), r1);
        assert_eq!(u.get(&Fr::from(7u64)), Some(Fr::from(2u64)));
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn a_refused_batch_changes_nothing() {
        let mut t = IndexedTree::new();
        t.insert_batch(&[(Fr::from(5u64), Fr::from(0u64))]).unwrap();
        let (root, len) = (t.root(), t.len());
        let z = Fr::from(0u64);
        for bad in [
            vec![(Fr::from(6u64), z), (Fr::from(5u64), z)],
            vec![(Fr::from(6u64), z), (Fr::from(6u64), z)],
            vec![(Fr::from(6u64), z), (z, z)],
        ] {
            assert!(t.insert_batch(&bad).is_err());
            assert_eq!((t.root(), t.len()), (root, len));
        }
        assert_eq!(
            t.upsert_batch(&[(Fr::from(9u64), z), (z, z)]),
            Err(TreeError::Zero)
        );
        assert_eq!((t.root(), t.len()), (root, len));
        // Empty batches are no-ops.
        t.insert_batch(&[]).unwrap();
        t.upsert_batch(&[]).unwrap();
        let mut a = AppendTree::new();
        a.append_batch(&[]).unwrap();
        assert_eq!(a.root(), zeros()[DEPTH]);
        assert_eq!((t.root(), t.len()), (root, len));
    }

    /// A committed tree that claims to be nearly full (its nodes are all empty).
    struct NearlyFull(u64);
    impl TreeStore for NearlyFull {
        fn size(&self) -> u64 {
            self.0
        }
        fn node(&self, _: u8, _: u64) -> Option<Fr> {
            None
        }
        fn leaf(&self, _: u64) -> Option<IndexedLeaf> {
            None
        }
        fn find(&self, _: &Key) -> Option<u64> {
            None
        }
        fn below(&self, _: &Key) -> Option<(Key, u64)> {
            None
        }
    }

    #[test]
    fn a_nearly_full_tree_takes_what_fits_and_refuses_the_rest() {
        let mut t = AppendTree::over(Arc::new(NearlyFull(CAPACITY - 3)));
        assert_eq!(t.append_batch(&[Fr::from(1u64); 4]), Err(TreeError::Full));
        assert_eq!(t.len(), CAPACITY - 3);
        assert_eq!(
            t.append_batch(&[Fr::from(1u64), Fr::from(2u64)]),
            Ok(CAPACITY - 3)
        );
        assert_eq!(t.append(Fr::from(3u64)), Ok(CAPACITY - 1));
        assert_eq!(t.append(Fr::from(4u64)), Err(TreeError::Full));
        assert_eq!(t.path(CAPACITY - 1).root(Fr::from(3u64)), t.root());
        assert_eq!(t.path(CAPACITY - 3).root(Fr::from(1u64)), t.root());
    }

    #[test]
    fn a_fork_writes_only_its_layer_and_checkpoints_take_writes_back() {
        let mut base = IndexedTree::new();
        base.insert(Fr::from(10u64), Fr::from(1u64)).unwrap();
        let base_root = base.root();
        let frozen: Arc<dyn TreeStore> = Arc::new(base.layer().clone());
        let mut fork = IndexedTree::over(frozen.clone());
        assert_eq!(fork.root(), base_root);
        fork.upsert(Fr::from(10u64), Fr::from(2u64)).unwrap();
        fork.insert(Fr::from(20u64), Fr::from(0u64)).unwrap();
        assert_ne!(fork.root(), base_root);
        // The base did not see the fork's writes; a fork of the base still sees the old state.
        assert_eq!(IndexedTree::over(frozen.clone()).root(), base_root);
        assert_eq!(frozen.size(), 2);
        // Per-tx checkpoints.
        let after_two = fork.root();
        let cp = fork.layer_mut().checkpoint();
        fork.insert(Fr::from(15u64), Fr::from(0u64)).unwrap();
        let inner = fork.layer_mut().checkpoint();
        fork.upsert(Fr::from(20u64), Fr::from(9u64)).unwrap();
        let with_both = fork.root();
        fork.layer_mut().revert(inner);
        assert_ne!(fork.root(), with_both);
        assert!(fork.contains(&Fr::from(15u64)));
        assert_eq!(fork.get(&Fr::from(20u64)), Some(Fr::from(0u64)));
        fork.layer_mut().revert(cp);
        assert_eq!(fork.root(), after_two);
        assert_eq!(fork.len(), 3);
        assert!(!fork.contains(&Fr::from(15u64)));
        // A kept checkpoint keeps its writes.
        let cp = fork.layer_mut().checkpoint();
        fork.insert(Fr::from(15u64), Fr::from(0u64)).unwrap();
        fork.layer_mut().release(cp);
        assert!(fork.contains(&Fr::from(15u64)));
        let mut direct = IndexedTree::new();
        direct
            .upsert_batch(&[
                (Fr::from(10u64), Fr::from(2u64)),
                (Fr::from(20u64), Fr::from(0u64)),
                (Fr::from(15u64), Fr::from(0u64)),
            ])
            .unwrap();
        assert_eq!(fork.root(), direct.root());
    }

    #[test]
    fn leaves_round_trip_through_storage_bytes() {
        let l = IndexedLeaf {
            value: Fr::from(7u64),
            payload: -Fr::from(1u64),
            next_value: Fr::from(9u64),
            next_index: u64::MAX,
        };
        assert_eq!(IndexedLeaf::from_bytes(&l.to_bytes()), Some(l));
        let mut bad = l.to_bytes();
        bad[0] = 0xff;
        assert_eq!(IndexedLeaf::from_bytes(&bad), None);
        assert_eq!(IndexedLeaf::from_bytes(&bad[1..]), None);
    }

    fn small() -> impl Strategy<Value = Fr> {
        // A small domain makes duplicates and shared low leaves common.
        (1u64..60).prop_map(Fr::from)
    }

    fn wide() -> impl Strategy<Value = Fr> {
        any::<[u8; 32]>().prop_map(|b| {
            use ark_ff::PrimeField;
            Fr::from_be_bytes_mod_order(&b)
        })
    }

    fn value() -> impl Strategy<Value = Fr> {
        prop_oneof![small(), wide()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn append_batches_match_one_by_one(
            sizes in proptest::collection::vec(0usize..40, 1..5),
        ) {
            let mut batch = AppendTree::new();
            let mut seq = reference::Nodes::default();
            let mut n = 0u64;
            for s in sizes {
                let leaves: Vec<Fr> = (0..s as u64).map(|i| Fr::from(1000 + n + i)).collect();
                let at = batch.append_batch(&leaves).unwrap();
                prop_assert_eq!(at, n);
                for l in leaves {
                    seq.set_leaf(n, l);
                    n += 1;
                }
                prop_assert_eq!(batch.root(), seq.root());
            }
            prop_assert_eq!(batch.len(), n);
            for i in (0..n.max(1)).step_by(7).chain([n]) {
                prop_assert_eq!(batch.path(i), seq.path(i));
            }
        }

        #[test]
        fn indexed_batches_match_one_by_one(
            batches in proptest::collection::vec(
                proptest::collection::vec((value(), small()), 0..12), 1..5),
        ) {
            let mut batch = IndexedTree::new();
            let mut seq = reference::Indexed::new();
            for items in batches {
                let before = (batch.root(), batch.len());
                let distinct: std::collections::BTreeSet<Key> = items.iter().map(|(v, _)| key_of(v)).collect();
                let fresh = distinct.len() == items.len() && items.iter().all(|(v, _)| !batch.contains(v));
                match batch.insert_batch(&items) {
                    Ok(_) => {
                        prop_assert!(fresh);
                        for (v, p) in &items {
                            prop_assert!(seq.insert(*v, *p));
                        }
                    }
                    Err(e) => {
                        prop_assert!(!fresh, "{e}");
                        prop_assert_eq!((batch.root(), batch.len()), before);
                    }
                }
                prop_assert_eq!(batch.root(), seq.nodes.root());
            }
            for (i, leaf) in seq.leaves.iter().enumerate() {
                prop_assert_eq!(batch.leaf(i as u64), Some(*leaf));
                prop_assert_eq!(batch.path(i as u64), seq.nodes.path(i as u64));
            }
        }

        #[test]
        fn upsert_batches_match_one_by_one(
            batches in proptest::collection::vec(
                proptest::collection::vec((small(), small()), 0..16), 1..5),
        ) {
            let mut batch = IndexedTree::new();
            let mut seq = reference::Indexed::new();
            for items in batches {
                batch.upsert_batch(&items).unwrap();
                for (v, p) in &items {
                    seq.upsert(*v, *p);
                }
                prop_assert_eq!(batch.root(), seq.nodes.root());
                prop_assert_eq!(batch.len(), seq.leaves.len() as u64);
            }
            for (i, leaf) in seq.leaves.iter().enumerate() {
                prop_assert_eq!(batch.leaf(i as u64), Some(*leaf));
            }
            for v in 1u64..64 {
                let v = Fr::from(v);
                if let Some(p) = batch.non_membership(&v) {
                    prop_assert!(p.verify(batch.root(), v));
                }
            }
        }

        #[test]
        fn large_batches_on_a_fork_match_one_by_one(
            first in proptest::collection::vec((wide(), small()), 40..90),
            again in proptest::collection::vec((0usize..90, small()), 20..60),
            fresh in proptest::collection::vec((wide(), small()), 20..60),
            appended in 60usize..140,
        ) {
            // Batches this large are hashed per subtree on several cores, and the second one
            // runs on a fork, reading what it does not write from the frozen first.
            let mut base = IndexedTree::new();
            let mut seq = reference::Indexed::new();
            base.upsert_batch(&first).unwrap();
            for (v, p) in &first {
                seq.upsert(*v, *p);
            }
            let mut fork = IndexedTree::over(Arc::new(base.layer().clone()));
            let mut second: Vec<(Fr, Fr)> = again.iter().map(|(i, p)| (first[i % first.len()].0, *p)).collect();
            second.extend(fresh.iter().copied());
            fork.upsert_batch(&second).unwrap();
            for (v, p) in &second {
                seq.upsert(*v, *p);
            }
            prop_assert_eq!(fork.root(), seq.nodes.root());
            for (i, leaf) in seq.leaves.iter().enumerate() {
                prop_assert_eq!(fork.leaf(i as u64), Some(*leaf));
                prop_assert_eq!(fork.path(i as u64), seq.nodes.path(i as u64));
            }

            let mut nf = IndexedTree::over(Arc::new(fork.layer().clone()));
            let new: Vec<(Fr, Fr)> = (0..appended as u64).map(|i| (hash2(Fr::from(i), Fr::from(7u64)), Fr::from(0u64))).collect();
            if new.iter().all(|(v, _)| !fork.contains(v)) {
                nf.insert_batch(&new).unwrap();
                for (v, p) in &new {
                    prop_assert!(seq.insert(*v, *p));
                }
                prop_assert_eq!(nf.root(), seq.nodes.root());
                for (i, leaf) in seq.leaves.iter().enumerate().step_by(5) {
                    prop_assert_eq!(nf.leaf(i as u64), Some(*leaf));
                    prop_assert_eq!(nf.path(i as u64), seq.nodes.path(i as u64));
                }
            }

            let mut notes = AppendTree::new();
            let mut nseq = reference::Nodes::default();
            let leaves: Vec<Fr> = (0..appended as u64).map(|i| Fr::from(1000 + i)).collect();
            notes.append_batch(&leaves[..7]).unwrap();
            let mut notes = AppendTree::over(Arc::new(notes.layer().clone()));
            notes.append_batch(&leaves[7..]).unwrap();
            for (i, l) in leaves.iter().enumerate() {
                nseq.set_leaf(i as u64, *l);
            }
            prop_assert_eq!(notes.root(), nseq.root());
            for i in (0..appended as u64).step_by(3) {
                prop_assert_eq!(notes.path(i), nseq.path(i));
            }
        }

        #[test]
        fn a_discarded_fork_leaves_its_base_untouched(
            base_items in proptest::collection::vec((small(), small()), 1..10),
            fork_items in proptest::collection::vec((small(), small()), 1..10),
        ) {
            let mut base = IndexedTree::new();
            base.upsert_batch(&base_items).unwrap();
            let root = base.root();
            let frozen: Arc<dyn TreeStore> = Arc::new(base.layer().clone());
            let mut fork = IndexedTree::over(frozen.clone());
            fork.upsert_batch(&fork_items).unwrap();
            drop(fork);
            prop_assert_eq!(IndexedTree::over(frozen).root(), root);
            prop_assert_eq!(base.root(), root);
        }
    }
}
