//! An in-memory world state: the four trees, contract code, verification keys and the recent
//! anchors. Pure data; the node persists it, forks it by cloning, and serves it to components.

use std::collections::{BTreeMap, VecDeque};

use ark_bn254::Fr;

use crate::field::fr_to_bytes;
use crate::merkle::{AppendTree, IndexedTree};
use crate::poseidon::{domain, hash};
use crate::stages::{BlockHeader, StateView, TxEffects};
use crate::vm::contracts;
use crate::vm::interp::{public_slot, VmState};
use crate::vm::Word;

/// How many recent archive roots a tx may anchor to.
pub const ANCHOR_WINDOW: usize = 64;

/// The world state.
#[derive(Debug, Clone)]
pub struct WorldState {
    /// Note hashes.
    pub notes: AppendTree,
    /// Nullifiers.
    pub nullifiers: IndexedTree,
    /// Public data (key → value).
    pub public_data: IndexedTree,
    /// Block header hashes.
    pub archive: AppendTree,
    /// Contract code by address.
    pub contracts: BTreeMap<Word, Vec<u8>>,
    /// Verification keys by statement.
    pub vks: BTreeMap<u8, Vec<u8>>,
    /// (archive root, note root) of the last blocks, newest last.
    pub anchors: VecDeque<(Fr, Fr)>,
    /// Number of the last block applied.
    pub block_number: u64,
}

impl Default for WorldState {
    fn default() -> Self {
        Self::new()
    }
}

/// Genesis balances and notes.
#[derive(Debug, Clone, Default)]
pub struct Genesis {
    /// Admin of the token and fee contracts.
    pub admin: [u8; 20],
    /// Fee-juice balances.
    pub fee_balances: Vec<([u8; 20], u128)>,
    /// Token balances.
    pub token_balances: Vec<([u8; 20], u128)>,
    /// Note hashes in the note tree from the start.
    pub notes: Vec<Fr>,
    /// Verification keys by statement.
    pub vks: Vec<(u8, Vec<u8>)>,
}

impl WorldState {
    /// Empty trees, no contracts.
    pub fn new() -> Self {
        let mut s = Self {
            notes: AppendTree::new(),
            nullifiers: IndexedTree::new(),
            public_data: IndexedTree::new(),
            archive: AppendTree::new(),
            contracts: BTreeMap::new(),
            vks: BTreeMap::new(),
            anchors: VecDeque::new(),
            block_number: 0,
        };
        s.push_anchor();
        s
    }

    /// The built-in contracts, balances, notes and keys; the genesis archive root is an anchor.
    pub fn genesis(g: &Genesis) -> Self {
        let mut s = Self::new();
        s.contracts
            .insert(contracts::FEE_ADDRESS, contracts::fee().to_vec());
        s.contracts
            .insert(contracts::TOKEN_ADDRESS, contracts::token().to_vec());
        s.contracts
            .insert(contracts::COUNTER_ADDRESS, contracts::counter().to_vec());
        let admin = Word::from_be_slice(&g.admin);
        for c in [contracts::FEE_ADDRESS, contracts::TOKEN_ADDRESS] {
            s.write_slot(&c, &Word::ZERO, &admin);
            let list = if c == contracts::FEE_ADDRESS {
                &g.fee_balances
            } else {
                &g.token_balances
            };
            for (who, amount) in list {
                let inner = hash(
                    domain::APP,
                    &[
                        Fr::from(1u64),
                        Word::from_be_slice(who).to_fr().unwrap_or_default(),
                    ],
                );
                s.write_slot(
                    &c,
                    &Word::from_fr(&inner),
                    &Word::from_be_slice(&amount.to_be_bytes()),
                );
            }
        }
        for n in &g.notes {
            let _ = s.notes.append(*n);
        }
        for (id, vk) in &g.vks {
            s.vks.insert(*id, vk.clone());
        }
        // Leaf 0 of the archive commits to all of the above, so the archive root the Rollup
        // is deployed with names the genesis state (block 1 is leaf 1, as in Aztec's archive).
        let _ = s.archive.append(header_hash(&genesis_header(&s)));
        s.anchors.clear();
        s.push_anchor();
        s
    }

    fn write_slot(&mut self, contract: &Word, slot: &Word, value: &Word) {
        if let (Ok(k), Some(v)) = (public_slot(self, contract, slot), value.to_fr()) {
            let _ = self.public_data.upsert(k, v);
        }
    }

    /// Reads a contract's slot.
    pub fn read_slot(&self, contract: &Word, slot: &Word) -> Fr {
        public_slot(self, contract, slot)
            .map(|k| self.public_read(&k))
            .unwrap_or_default()
    }

    /// Fee-juice or token balance (`contract`'s layout) of `who`.
    pub fn balance(&self, contract: &Word, who: &[u8; 20]) -> u128 {
        let w = Word::from_fr(&self.read_slot(contract, &balance_slot(who)));
        (u128::from(w.0[1]) << 64) | u128::from(w.0[0])
    }

    fn push_anchor(&mut self) {
        self.anchors
            .push_back((self.archive.root(), self.notes.root()));
        while self.anchors.len() > ANCHOR_WINDOW {
            self.anchors.pop_front();
        }
    }

    /// The newest anchor (archive root) a wallet should use.
    pub fn latest_anchor(&self) -> Fr {
        self.anchors.back().map(|a| a.0).unwrap_or_default()
    }

    /// Applies a block's effects and header: trees updated, the header hash appended to the
    /// archive, the new archive root becomes an anchor. Returns the header with roots filled.
    ///
    /// Each tree takes the block's leaves as one batch, with the same result as applying them
    /// tx by tx (a nullifier already present, or zero, is skipped; a slot written twice keeps
    /// its last value). On native targets the three trees update on their own threads.
    pub fn apply_block(&mut self, mut header: BlockHeader, effects: &[TxEffects]) -> BlockHeader {
        header.previous_archive = fr_to_bytes(&self.archive.root());
        let writes: Vec<(Fr, Fr)> = effects
            .iter()
            .flat_map(|e| &e.effects.writes)
            .filter_map(|(k, v)| crate::field::fr_from_raw(k).map(|k| (k, *v)))
            .filter(|(k, _)| *k != Fr::from(0u64))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        let fresh: Vec<Fr> = effects
            .iter()
            .flat_map(|e| &e.effects.nullifiers)
            .filter(|n| **n != Fr::from(0u64) && seen.insert(fr_to_bytes(n)))
            .copied()
            .collect();
        // One stored lookup each: shared over the cores, as the tree's own lookups are.
        let present = crate::merkle::par_map(&fresh, crate::merkle::PER_THREAD_MIN, |n| {
            self.nullifiers.contains(n)
        });
        let nullifiers: Vec<(Fr, Fr)> = fresh
            .into_iter()
            .zip(present)
            .filter(|(_, present)| !present)
            .map(|(n, _)| (n, Fr::from(0u64)))
            .collect();
        let notes: Vec<Fr> = effects
            .iter()
            .flat_map(|e| e.effects.note_hashes.iter().copied())
            .collect();
        let (nt, nf, pd) = (&mut self.notes, &mut self.nullifiers, &mut self.public_data);
        // Each batch was checked above; the only refusal left is a full tree (2^32 leaves),
        // which the roots in the header then show.
        let mut update_notes = move || drop(nt.append_batch(&notes));
        let mut update_nullifiers = move || drop(nf.insert_batch(&nullifiers));
        let mut update_public = move || drop(pd.upsert_batch(&writes));
        if cfg!(target_family = "wasm") || effects.len() < PARALLEL_FROM_TXS {
            update_notes();
            update_nullifiers();
            update_public();
        } else {
            std::thread::scope(|s| {
                s.spawn(update_nullifiers);
                s.spawn(update_public);
                update_notes();
            });
        }
        header.note_root = fr_to_bytes(&self.notes.root());
        header.nullifier_root = fr_to_bytes(&self.nullifiers.root());
        header.public_data_root = fr_to_bytes(&self.public_data.root());
        header.tx_count = effects.len() as u32;
        header.gas_used = effects.iter().map(|e| e.gas_used).sum();
        let leaf = header_hash(&header);
        let _ = self.archive.append(leaf);
        self.block_number = header.block_number;
        self.push_anchor();
        header
    }
}

/// Blocks smaller than this update their trees on one thread: starting threads costs more than
/// the hashing they would share.
const PARALLEL_FROM_TXS: usize = 16;

/// The storage slot of `who`'s balance in the token and fee contracts (map at slot 1).
pub fn balance_slot(who: &[u8; 20]) -> Word {
    let inner = hash(
        domain::APP,
        &[
            Fr::from(1u64),
            Word::from_be_slice(who).to_fr().unwrap_or_default(),
        ],
    );
    Word::from_fr(&inner)
}

/// The genesis header (block 0): every field zero but the three tree roots of the genesis
/// state and, in place of the effects hash, [`genesis_code_hash`]. Chain id and rollup version
/// stay zero: the Rollup's version is derived from its deployment, which takes this archive.
pub fn genesis_header(state: &WorldState) -> BlockHeader {
    BlockHeader {
        chain_id: 0,
        rollup_version: 0,
        block_number: 0,
        slot: 0,
        fee_per_mana: 0,
        coinbase: [0; 20],
        previous_archive: [0; 32],
        note_root: fr_to_bytes(&state.notes.root()),
        nullifier_root: fr_to_bytes(&state.nullifiers.root()),
        public_data_root: fr_to_bytes(&state.public_data.root()),
        effects_hash: fr_to_bytes(&genesis_code_hash(state)),
        tx_count: 0,
        gas_used: 0,
    }
}

/// Commitment to the state outside the trees: for each contract by address, address ‖ u32
/// length ‖ code, then for each verification key by statement, id ‖ u32 length ‖ key; the bytes
/// in 31-byte chunks under the genesis-code domain.
pub fn genesis_code_hash(state: &WorldState) -> Fr {
    use ark_ff::PrimeField;
    let mut bytes = Vec::new();
    for (address, code) in &state.contracts {
        bytes.extend_from_slice(&address.to_be_bytes());
        bytes.extend_from_slice(&(code.len() as u32).to_be_bytes());
        bytes.extend_from_slice(code);
    }
    for (id, vk) in &state.vks {
        bytes.push(*id);
        bytes.extend_from_slice(&(vk.len() as u32).to_be_bytes());
        bytes.extend_from_slice(vk);
    }
    let chunks: Vec<Fr> = bytes.chunks(31).map(Fr::from_be_bytes_mod_order).collect();
    hash(domain::GENESIS_CODE, &chunks)
}

/// The archive leaf of a header: Poseidon over the header bytes in 31-byte chunks.
pub fn header_hash(h: &BlockHeader) -> Fr {
    use ark_ff::PrimeField;
    let bytes = h.encode();
    let chunks: Vec<Fr> = bytes.chunks(31).map(Fr::from_be_bytes_mod_order).collect();
    hash(domain::BLOCK_HEADER, &chunks)
}

impl VmState for WorldState {
    fn public_read(&self, slot: &Fr) -> Fr {
        self.public_data.get(slot).unwrap_or_default()
    }
    fn nullifier_exists(&self, n: &Fr) -> bool {
        self.nullifiers.contains(n)
    }
    fn contract_code(&self, a: &Word) -> Option<Vec<u8>> {
        self.contracts.get(a).cloned()
    }
}

impl StateView for WorldState {
    fn anchor_note_root(&self, anchor: &Fr) -> Option<Fr> {
        self.anchors
            .iter()
            .rev()
            .find(|(a, _)| a == anchor)
            .map(|(_, n)| *n)
    }
    fn verification_key(&self, s: u8) -> Option<Vec<u8>> {
        self.vks.get(&s).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> WorldState {
        WorldState::genesis(&Genesis {
            admin: [1; 20],
            fee_balances: vec![([1; 20], 1 << 60)],
            token_balances: vec![([2; 20], 5)],
            notes: vec![Fr::from(9u64)],
            vks: vec![(1, vec![7; 40])],
        })
    }

    #[test]
    fn the_genesis_archive_holds_the_genesis_header_and_block_1_builds_on_it() {
        let mut s = genesis();
        let mut empty = AppendTree::new();
        let _ = empty.append(header_hash(&genesis_header(&s)));
        assert_eq!(s.archive.root(), empty.root());
        assert_eq!(s.latest_anchor(), s.archive.root());
        let genesis_archive = fr_to_bytes(&s.archive.root());
        let h = s.apply_block(
            BlockHeader {
                chain_id: 1,
                rollup_version: 1,
                block_number: 1,
                slot: 1,
                fee_per_mana: 1,
                coinbase: [0; 20],
                previous_archive: [0; 32],
                note_root: [0; 32],
                nullifier_root: [0; 32],
                public_data_root: [0; 32],
                effects_hash: [0; 32],
                tx_count: 0,
                gas_used: 0,
            },
            &[],
        );
        assert_eq!(h.previous_archive, genesis_archive);
    }

    #[test]
    fn the_genesis_archive_commits_to_balances_notes_code_and_keys() {
        let base = genesis();
        let root = |s: &WorldState| s.archive.root();
        let mut g = Genesis {
            admin: [1; 20],
            fee_balances: vec![([1; 20], 1 << 60)],
            token_balances: vec![([2; 20], 6)],
            notes: vec![Fr::from(9u64)],
            vks: vec![(1, vec![7; 40])],
        };
        assert_ne!(root(&WorldState::genesis(&g)), root(&base), "a balance");
        g.token_balances = vec![([2; 20], 5)];
        g.notes = vec![Fr::from(10u64)];
        assert_ne!(root(&WorldState::genesis(&g)), root(&base), "a note");
        g.notes = vec![Fr::from(9u64)];
        g.vks = vec![(1, vec![8; 40])];
        assert_ne!(root(&WorldState::genesis(&g)), root(&base), "a key");
        g.vks = vec![(1, vec![7; 40])];
        assert_eq!(root(&WorldState::genesis(&g)), root(&base));
        let mut code = base.clone();
        code.contracts.insert(Word::ONE, vec![1]);
        assert_ne!(genesis_code_hash(&code), genesis_code_hash(&base), "code");
    }
}
