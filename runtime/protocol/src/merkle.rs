//! The world-state trees (docs/protocol.md §3): an append-only Merkle tree (note hashes,
//! archive) and an indexed Merkle tree (nullifiers, public data) whose sorted linked leaves make
//! non-membership provable with one low leaf and one path.
//!
//! Nodes are kept sparsely in `BTreeMap`s keyed by (level, index); empty subtrees hash to
//! precomputed zero values, so a depth-32 tree costs memory only for what is filled.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use thiserror::Error;

use crate::poseidon::{domain, hash, hash2};

/// Depth of every tree (2^32 leaves).
pub const DEPTH: usize = 32;

/// Tree errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeError {
    /// No room left.
    #[error("tree is full")]
    Full,
    /// The value is already in an indexed tree.
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

/// Sparse node storage shared by both tree kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Nodes {
    // (level, index) → hash; level 0 holds leaves.
    map: BTreeMap<(u8, u64), Fr>,
}

impl Nodes {
    fn get(&self, level: usize, index: u64) -> Fr {
        self.map
            .get(&(level as u8, index))
            .copied()
            .unwrap_or(zeros()[level])
    }

    fn set_leaf(&mut self, index: u64, leaf: Fr) {
        self.map.insert((0, index), leaf);
        let mut i = index;
        for level in 0..DEPTH {
            let (l, r) = if i & 1 == 0 {
                (self.get(level, i), self.get(level, i + 1))
            } else {
                (self.get(level, i - 1), self.get(level, i))
            };
            i >>= 1;
            self.map.insert((level as u8 + 1, i), hash2(l, r));
        }
    }

    fn root(&self) -> Fr {
        self.get(DEPTH, 0)
    }

    fn path(&self, index: u64) -> Path {
        let siblings = (0..DEPTH)
            .map(|level| self.get(level, (index >> level) ^ 1))
            .collect();
        Path { index, siblings }
    }
}

/// Append-only tree of field elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendTree {
    nodes: Nodes,
    len: u64,
}

impl AppendTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf; returns its index.
    pub fn append(&mut self, leaf: Fr) -> Result<u64, TreeError> {
        if self.len >= 1u64 << DEPTH {
            return Err(TreeError::Full);
        }
        let i = self.len;
        self.nodes.set_leaf(i, leaf);
        self.len += 1;
        Ok(i)
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if no leaf was appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The leaf at `index` (zero beyond the end).
    pub fn leaf(&self, index: u64) -> Fr {
        self.nodes.get(0, index)
    }

    /// Root.
    pub fn root(&self) -> Fr {
        self.nodes.root()
    }

    /// Path of `index`.
    pub fn path(&self, index: u64) -> Path {
        self.nodes.path(index)
    }
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
    /// The leaf's hash in the tree.
    pub fn hash(&self) -> Fr {
        hash(
            domain::INDEXED_LEAF,
            &[
                self.value,
                self.payload,
                self.next_value,
                Fr::from(self.next_index),
            ],
        )
    }
}

fn key(x: &Fr) -> [u64; 4] {
    // Big-endian limb order so that BTreeMap order is numeric order.
    let b = x.into_bigint();
    let l = b.0;
    let _ = b.to_bytes_be();
    [l[3], l[2], l[1], l[0]]
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
        let below = key(&self.low.value) < key(&value);
        let above =
            self.low.next_value == Fr::from(0u64) || key(&value) < key(&self.low.next_value);
        below && above && self.path.root(self.low.hash()) == root
    }
}

/// Indexed Merkle tree: a sorted set (with payloads) committed by a Merkle root. Leaf 0 is the
/// sentinel (value 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTree {
    nodes: Nodes,
    leaves: Vec<IndexedLeaf>,
    // key → leaf index, for lookups and finding low leaves.
    by_value: BTreeMap<[u64; 4], u64>,
}

impl Default for IndexedTree {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexedTree {
    /// A tree holding only the zero sentinel.
    pub fn new() -> Self {
        let mut t = Self {
            nodes: Nodes::default(),
            leaves: Vec::new(),
            by_value: BTreeMap::new(),
        };
        let sentinel = IndexedLeaf::default();
        t.nodes.set_leaf(0, sentinel.hash());
        t.leaves.push(sentinel);
        t.by_value.insert(key(&Fr::from(0u64)), 0);
        t
    }

    /// Root.
    pub fn root(&self) -> Fr {
        self.nodes.root()
    }

    /// Number of leaves including the sentinel.
    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
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
        self.by_value
            .get(&key(value))
            .map(|i| self.leaves[*i as usize].payload)
    }

    /// True if `value` is present.
    pub fn contains(&self, value: &Fr) -> bool {
        self.get(value).is_some()
    }

    fn low_index(&self, value: &Fr) -> u64 {
        // The sentinel (key 0) is always below any non-zero value.
        self.by_value
            .range(..key(value))
            .next_back()
            .map(|(_, i)| *i)
            .unwrap_or(0)
    }

    /// Non-membership proof for an absent non-zero `value`.
    pub fn non_membership(&self, value: &Fr) -> Option<NonMembership> {
        if *value == Fr::from(0u64) || self.contains(value) {
            return None;
        }
        let i = self.low_index(value);
        Some(NonMembership {
            low: self.leaves[i as usize],
            path: self.nodes.path(i),
        })
    }

    /// Inserts a new key.
    pub fn insert(&mut self, value: Fr, payload: Fr) -> Result<u64, TreeError> {
        if value == Fr::from(0u64) {
            return Err(TreeError::Zero);
        }
        if self.contains(&value) {
            return Err(TreeError::Exists);
        }
        let new_index = self.leaves.len() as u64;
        if new_index >= 1u64 << DEPTH {
            return Err(TreeError::Full);
        }
        let low_i = self.low_index(&value);
        let low = self.leaves[low_i as usize];
        let new = IndexedLeaf {
            value,
            payload,
            next_value: low.next_value,
            next_index: low.next_index,
        };
        let updated_low = IndexedLeaf {
            next_value: value,
            next_index: new_index,
            ..low
        };
        self.leaves[low_i as usize] = updated_low;
        self.nodes.set_leaf(low_i, updated_low.hash());
        self.leaves.push(new);
        self.nodes.set_leaf(new_index, new.hash());
        self.by_value.insert(key(&value), new_index);
        Ok(new_index)
    }

    /// Inserts or updates the payload of `value`.
    pub fn upsert(&mut self, value: Fr, payload: Fr) -> Result<(), TreeError> {
        if let Some(&i) = self
            .by_value
            .get(&key(&value))
            .filter(|_| value != Fr::from(0u64))
        {
            let leaf = IndexedLeaf {
                payload,
                ..self.leaves[i as usize]
            };
            self.leaves[i as usize] = leaf;
            self.nodes.set_leaf(i, leaf.hash());
            return Ok(());
        }
        self.insert(value, payload).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
