//! The L2 chain as the node holds it: blocks (one or more per L1 checkpoint), the world state
//! they lead to, and the encodings used in the database and in blobs.

use std::sync::Arc;

use alloy_primitives::B256;
use cairn_protocol::field::fr_to_bytes;
use cairn_protocol::stages::{BlockHeader, TxEffects};
use cairn_protocol::state::WorldState;
use cairn_protocol::tx::Tx;

/// How far L1 has taken a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Built (or re-executed) inside its slot; its checkpoint is not on L1 yet. Only the blocks
    /// of the newest checkpoint can be proposed; they are rolled back if it misses L1.
    Proposed = 0,
    /// In a `propose` accepted by the Rollup.
    Checkpointed = 1,
    /// Covered by an epoch proof.
    Proven = 2,
}

impl Status {
    /// The name receipts and `node_getBlock` use.
    pub fn name(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Checkpointed => "checkpointed",
            Status::Proven => "proven",
        }
    }
}

/// One L2 block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Header with every root filled.
    pub header: BlockHeader,
    /// Included txs, canonical bytes, in order.
    pub txs: Vec<Vec<u8>>,
    /// Each tx's effects (canonical bytes), in order.
    pub effects: Vec<Vec<u8>>,
    /// The archive root after this block, as posted to L1.
    pub archive: B256,
    /// The L1 transaction that proposed it.
    pub l1_tx: B256,
    /// L1 status.
    pub status: Status,
    /// The attestations posted with it (`CommitteeAttestations` ABI bytes), for the epoch proof.
    pub attestations: Vec<u8>,
    /// The L1 checkpoint that carries it (every block of a checkpoint shares its slot, L1
    /// transaction and attestations; the checkpoint's archive is its last block's).
    pub checkpoint: u64,
}

struct R<'a>(&'a [u8]);

impl R<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    fn list(&mut self) -> Option<Vec<Vec<u8>>> {
        let n = self.u32()?;
        if n > self.0.len() / 4 {
            return None;
        }
        (0..n)
            .map(|_| {
                let len = self.u32()?;
                Some(self.take(len)?.to_vec())
            })
            .collect()
    }
}

fn put_list(v: &mut Vec<u8>, items: &[Vec<u8>]) {
    v.extend_from_slice(&(items.len() as u32).to_be_bytes());
    for t in items {
        v.extend_from_slice(&(t.len() as u32).to_be_bytes());
        v.extend_from_slice(t);
    }
}

/// What goes into the blobs: the header and the txs. Effects are not posted; anyone
/// re-executes the txs to get them and checks the roots against the header.
pub fn encode_body(header: &BlockHeader, txs: &[Vec<u8>]) -> Vec<u8> {
    let mut v = header.encode();
    put_list(&mut v, txs);
    v
}

/// How a proposal names a block: its encoded header and each tx's hash and signature (the
/// signature is the last [`cairn_wire::TX_SIGNATURE_LEN`] bytes of a tx's canonical encoding).
/// `None` if a tx does not decode, which a block this node built or re-executed never holds.
pub fn block_ref(header: &BlockHeader, txs: &[Vec<u8>]) -> Option<cairn_wire::BlockRef> {
    let txs = txs
        .iter()
        .map(|t| {
            let tx = Tx::decode(t).ok()?;
            Some(cairn_wire::TxRef {
                hash: tx.hash(),
                signature: tx.signature,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(cairn_wire::BlockRef {
        header: header.encode(),
        txs,
    })
}

/// What a checkpoint's blobs carry: its blocks' bodies ([`encode_body`]) one after another.
/// Each body delimits itself (a fixed-length header, then a counted list), so a checkpoint of
/// one block is exactly that block's body.
pub fn encode_checkpoint_body<'a>(
    blocks: impl IntoIterator<Item = (&'a BlockHeader, &'a [Vec<u8>])>,
) -> Vec<u8> {
    let mut v = Vec::new();
    for (h, txs) in blocks {
        v.extend_from_slice(&h.encode());
        put_list(&mut v, txs);
    }
    v
}

/// Parses [`encode_checkpoint_body`]: at least one block, nothing left over.
pub fn decode_checkpoint_body(b: &[u8]) -> Option<Vec<(BlockHeader, Vec<Vec<u8>>)>> {
    let mut r = R(b);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let header = BlockHeader::decode(r.take(BlockHeader::ENCODED_LEN)?)?;
        out.push((header, r.list()?));
    }
    (!out.is_empty()).then_some(out)
}

/// The checkpoint header's `blockHeadersHash`: `sha256ToField` over the encoded headers of
/// its blocks, in order (docs/protocol.md §8). For one block it is that header's hash, as
/// before checkpoints held several.
pub fn block_headers_hash<'a>(headers: impl IntoIterator<Item = &'a BlockHeader>) -> B256 {
    let mut v = Vec::new();
    for h in headers {
        v.extend_from_slice(&h.encode());
    }
    cairn_consensus::sha256_to_field(&v)
}

/// The bytes one more block with no txs adds to a checkpoint body.
pub const BLOCK_BODY_OVERHEAD: usize = BlockHeader::ENCODED_LEN + 4;

/// How many of `txs`, in order, a block body can carry within one checkpoint's blobs
/// (`MAX_BLOBS_PER_CHECKPOINT`) when the checkpoint's earlier blocks already take `used`
/// bytes: the builder's data budget, whatever the operator's tx cap.
pub fn txs_fitting_blobs(used: usize, txs: &[Vec<u8>]) -> usize {
    let mut used = used + BLOCK_BODY_OVERHEAD;
    if used > cairn_consensus::blob::MAX_PAYLOAD_LEN {
        return 0;
    }
    txs.iter()
        .take_while(|t| {
            used += 4 + t.len();
            used <= cairn_consensus::blob::MAX_PAYLOAD_LEN
        })
        .count()
}

/// How many of a block's executed txs, in order, stay within `limit` mana in total (the
/// Rollup's mana limit).
pub fn txs_within_mana(effects: &[TxEffects], limit: u128) -> usize {
    let mut used: u128 = 0;
    effects
        .iter()
        .take_while(|e| {
            used = used.saturating_add(u128::from(e.gas_used));
            used <= limit
        })
        .count()
}

/// The share of a slot the proposer may spend building its block (execution, sealing and its
/// own re-execution check). The rest of the slot is for signatures, attestations, the blob
/// transaction landing on L1 and the commit (docs/node.md, "Block size").
pub const BUILD_SHARE_OF_SLOT: f64 = 0.4;

/// Txs a block may take before the builder has timed a block of its own.
pub const UNTIMED_BLOCK_TXS: usize = 512;

/// Blocks with fewer txs do not update [`BuildCost`]: their fixed costs would make every tx look
/// expensive and shrink the next blocks for nothing.
const MIN_TIMED_TXS: usize = 64;

/// The builder's running estimate of one tx's cost to build (execution, sealing, the
/// re-execution check, the commit), from the blocks it built: how many txs fit the slot's build
/// time. Written by the sequencer only.
///
/// A block is sized by the mean plus twice the mean deviation, as TCP sizes its retransmission
/// timeout: on a shared 2-core machine one block's cost per tx moved ±20 % around the mean in
/// the ceiling benchmark, and a block sized by the mean alone finished after its deadline.
#[derive(Debug, Default)]
pub struct BuildCost {
    // Nanoseconds per tx, an average that halves the weight of older blocks; 0: none timed.
    ns_per_tx: std::sync::atomic::AtomicU64,
    // Mean deviation from that average, a quarter of each new block's weight.
    dev_ns: std::sync::atomic::AtomicU64,
}

impl BuildCost {
    /// Records a block of `txs` txs that took `took` to build.
    pub fn record(&self, txs: usize, took: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        if txs < MIN_TIMED_TXS {
            return;
        }
        let now = u64::try_from(took.as_nanos() / txs as u128).unwrap_or(u64::MAX);
        let before = self.ns_per_tx.load(Relaxed);
        let next = if before == 0 {
            now
        } else {
            let dev = self.dev_ns.load(Relaxed);
            self.dev_ns
                .store(dev / 4 * 3 + now.abs_diff(before) / 4, Relaxed);
            before / 2 + now / 2
        };
        self.ns_per_tx.store(next.max(1), Relaxed);
    }

    /// Txs a block can take within `budget` at the current estimate.
    pub fn txs_within(&self, budget: std::time::Duration) -> usize {
        match self.per_tx() {
            None => UNTIMED_BLOCK_TXS,
            Some(cost) => usize::try_from(budget.as_nanos() / cost.as_nanos().max(1))
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }

    /// The cost a block is sized by (mean plus twice the deviation), if a block was timed.
    pub fn per_tx(&self) -> Option<std::time::Duration> {
        use std::sync::atomic::Ordering::Relaxed;
        match self.ns_per_tx.load(Relaxed) {
            0 => None,
            ns => Some(std::time::Duration::from_nanos(
                ns.saturating_add(self.dev_ns.load(Relaxed).saturating_mul(2)),
            )),
        }
    }
}

/// Txs the builder takes from the pool for a block it may spend `budget` building: what that
/// allows at `cost`'s estimate, within the operator's cap if one is set. The blob and mana
/// budgets are applied to the txs themselves ([`txs_fitting_blobs`], [`txs_within_mana`]).
pub fn build_limit(cap: Option<usize>, cost: &BuildCost, budget: std::time::Duration) -> usize {
    let by_time = cost.txs_within(budget);
    cap.map_or(by_time, |c| c.min(by_time)).max(1)
}

/// Parses [`encode_body`].
pub fn decode_body(b: &[u8]) -> Option<(BlockHeader, Vec<Vec<u8>>)> {
    let mut r = R(b);
    let header = BlockHeader::decode(r.take(BlockHeader::ENCODED_LEN)?)?;
    let txs = r.list()?;
    r.0.is_empty().then_some((header, txs))
}

impl Block {
    /// Database encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = encode_body(&self.header, &self.txs);
        put_list(&mut v, &self.effects);
        v.extend_from_slice(self.archive.as_slice());
        v.extend_from_slice(self.l1_tx.as_slice());
        v.push(self.status as u8);
        put_list(&mut v, std::slice::from_ref(&self.attestations));
        // Blocks stored before checkpoints held several have no checkpoint field: theirs is
        // their number. Written only when it differs, so every encoding is canonical.
        if self.checkpoint != self.header.block_number {
            v.extend_from_slice(&self.checkpoint.to_be_bytes());
        }
        v
    }

    /// Parses [`encode`](Self::encode).
    pub fn decode(b: &[u8]) -> Option<Block> {
        let mut r = R(b);
        let header = BlockHeader::decode(r.take(BlockHeader::ENCODED_LEN)?)?;
        let txs = r.list()?;
        let effects = r.list()?;
        let archive = B256::from_slice(r.take(32)?);
        let l1_tx = B256::from_slice(r.take(32)?);
        let status = match r.take(1)?[0] {
            0 => Status::Proposed,
            1 => Status::Checkpointed,
            2 => Status::Proven,
            _ => return None,
        };
        let mut att = r.list()?;
        if att.len() != 1 {
            return None;
        }
        let checkpoint = match r.0.len() {
            0 => header.block_number,
            8 => {
                let c = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
                if c == header.block_number {
                    return None;
                }
                c
            }
            _ => return None,
        };
        Some(Block {
            checkpoint,
            header,
            txs,
            effects,
            archive,
            l1_tx,
            status,
            attestations: att.remove(0),
        })
    }

    /// Decoded effects.
    pub fn tx_effects(&self) -> Option<Vec<TxEffects>> {
        self.effects.iter().map(|e| TxEffects::decode(e)).collect()
    }
}

/// A block that cannot join the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Its effects do not lead to the roots its header states.
    #[error("block {0} does not apply to the local state (roots differ)")]
    RootsDiffer(u64),
}

/// Genesis state plus the blocks applied to it. Cloning is cheap (shared pointers): the chain
/// service publishes each new version as an immutable snapshot, and readers keep theirs for as
/// long as they need a consistent view.
///
/// A node's chain reads its blocks and its state from one database snapshot (`stored`), so
/// memory does not grow with the chain and a reader never sees a block committed after its
/// snapshot; a chain built in memory (tests, tools) keeps its blocks in a list.
#[derive(Clone)]
pub struct Chain {
    genesis: Arc<WorldState>,
    /// The database snapshot `state` and the blocks read through (`None` for a chain held in
    /// memory).
    pub(crate) stored: Option<Arc<crate::statedb::StateSnapshot>>,
    /// World state after the tip.
    pub state: Arc<WorldState>,
    // Blocks 1..=n of a chain held in memory.
    mem: Arc<Vec<Arc<Block>>>,
    tip: u64,
    tip_block: Option<Arc<Block>>,
    /// The newest block covered by an epoch proof on L1 (≤ tip).
    pub proven: u64,
}

impl Chain {
    /// A chain at genesis, held in memory.
    pub fn new(genesis: WorldState) -> Chain {
        Chain::new_shared(Arc::new(genesis))
    }

    /// A chain at `genesis`, shared with its owner, held in memory.
    pub fn new_shared(genesis: Arc<WorldState>) -> Chain {
        Chain {
            state: genesis.clone(),
            stored: None,
            genesis,
            mem: Arc::new(Vec::new()),
            tip: 0,
            tip_block: None,
            proven: 0,
        }
    }

    /// The chain a database snapshot holds: `state` read through `snap`, whose last block is
    /// `tip`.
    pub(crate) fn stored(
        genesis: Arc<WorldState>,
        snap: Arc<crate::statedb::StateSnapshot>,
        state: Arc<WorldState>,
        tip: u64,
        proven: u64,
    ) -> Chain {
        let tip_block = snap.block(tip).map(Arc::new);
        Chain {
            genesis,
            stored: Some(snap),
            state,
            mem: Arc::new(Vec::new()),
            tip,
            tip_block,
            proven,
        }
    }

    /// Number of the latest block (0 at genesis).
    pub fn tip(&self) -> u64 {
        self.tip
    }

    /// Block `n` (1-based), if held. A stored block is read and decoded on each call (except
    /// the tip's), so callers that need several fields keep the `Arc`.
    pub fn block(&self, n: u64) -> Option<Arc<Block>> {
        if n == 0 || n > self.tip {
            return None;
        }
        if n == self.tip {
            return self.tip_block.clone();
        }
        match &self.stored {
            Some(s) => s.block(n).map(Arc::new),
            None => self.mem.get(n as usize - 1).cloned(),
        }
    }

    /// Blocks `from..=to` that are held, in order.
    pub fn blocks(&self, from: u64, to: u64) -> impl Iterator<Item = Arc<Block>> + '_ {
        (from.max(1)..=to.min(self.tip)).filter_map(move |n| self.block(n))
    }

    /// The checkpoint of the tip block (0 at genesis): the chain holds whole checkpoints only.
    pub fn checkpoint_tip(&self) -> u64 {
        self.tip_block.as_ref().map_or(0, |b| b.checkpoint)
    }

    /// The newest block on L1 (checkpointed or proven): the tip without the proposed blocks of
    /// a checkpoint still in its slot.
    pub fn checkpointed_tip(&self) -> u64 {
        let mut n = self.tip;
        while n > 0 && self.block(n).is_some_and(|b| b.status == Status::Proposed) {
            n -= 1;
        }
        n
    }

    /// The proposed blocks above [`checkpointed_tip`](Self::checkpointed_tip), oldest first
    /// (empty when every block held is on L1).
    pub fn proposed(&self) -> Vec<Arc<Block>> {
        self.blocks(self.checkpointed_tip() + 1, self.tip).collect()
    }

    /// The number of checkpoint `c`'s last block (0 for checkpoint 0), if held.
    pub fn last_block_of(&self, c: u64) -> Option<u64> {
        if c == 0 {
            return Some(0);
        }
        if c > self.checkpoint_tip() {
            return None;
        }
        if c == self.checkpoint_tip() {
            return Some(self.tip);
        }
        match &self.stored {
            Some(s) => s.last_block_of(c),
            None => {
                // Checkpoints only grow along the list: the first block past `c`, minus one.
                let after = self.mem.partition_point(|b| b.checkpoint <= c);
                (after > 0 && self.mem[after - 1].checkpoint == c).then_some(after as u64)
            }
        }
    }

    /// The archive L1 holds for checkpoint `c` (its last block's; genesis for 0), if held.
    pub fn checkpoint_archive(&self, c: u64) -> Option<B256> {
        self.last_block_of(c).map(|n| self.archive_at(n))
    }

    /// The blocks of checkpoint `c`, in order (empty if it is not held).
    pub fn checkpoint_blocks(&self, c: u64) -> Vec<Arc<Block>> {
        let (Some(last), Some(before)) = (
            self.last_block_of(c),
            c.checked_sub(1).and_then(|p| self.last_block_of(p)),
        ) else {
            return Vec::new();
        };
        self.blocks(before + 1, last).collect()
    }

    /// The archive posted for block `n`; for 0 the genesis archive, which a Rollup for this L2
    /// was deployed with (`archiveAt(0)`).
    pub fn archive_at(&self, n: u64) -> B256 {
        if n == 0 {
            return self.genesis_archive();
        }
        self.block(n).map(|b| b.archive).unwrap_or_default()
    }

    /// The archive root of the genesis state: what `cairn devnet l1` deploys the Rollup with,
    /// and what the node compares with `archiveAt(0)` before it sequences.
    pub fn genesis_archive(&self) -> B256 {
        Chain::archive_root(&self.genesis)
    }

    /// The archive root of the current state (what the next block's L1 `archive` will be
    /// computed from).
    pub fn archive_root(state: &WorldState) -> B256 {
        B256::from(fr_to_bytes(&state.archive.root()))
    }

    /// Appends a block by applying its effects to the in-memory state.
    pub fn push(&mut self, block: Block, effects: &[TxEffects]) -> Result<(), ChainError> {
        let mut state = (*self.state).clone();
        let h = state.apply_block(block.header.clone(), effects);
        if h != block.header {
            return Err(ChainError::RootsDiffer(block.header.block_number));
        }
        self.push_with_state(block, state)
    }

    /// Appends a block whose post-state the caller already computed (building or
    /// re-executing it); the state must lead to the block's archive.
    pub fn push_with_state(&mut self, block: Block, state: WorldState) -> Result<(), ChainError> {
        if Chain::archive_root(&state) != block.archive {
            return Err(ChainError::RootsDiffer(block.header.block_number));
        }
        self.state = Arc::new(state);
        let block = Arc::new(block);
        if self.stored.is_none() {
            Arc::make_mut(&mut self.mem).push(block.clone());
        }
        self.tip += 1;
        self.tip_block = Some(block);
        Ok(())
    }

    /// Drops blocks above `n` and rebuilds the in-memory state from genesis.
    pub fn truncate(&mut self, n: u64) -> Vec<Arc<Block>> {
        if n >= self.tip() || self.stored.is_some() {
            return Vec::new();
        }
        let dropped = Arc::make_mut(&mut self.mem).split_off(n as usize);
        let mut state = (*self.genesis).clone();
        for b in self.mem.iter() {
            let e = b.tx_effects().unwrap_or_default();
            state.apply_block(b.header.clone(), &e);
        }
        self.state = Arc::new(state);
        self.tip = n;
        self.tip_block = self.mem.last().cloned();
        self.proven = self.proven.min(n);
        dropped
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An empty block header for block `n` (shared by the chain service's tests).
    pub(crate) fn header(n: u64) -> BlockHeader {
        BlockHeader {
            chain_id: 31337,
            rollup_version: 1,
            block_number: n,
            slot: 40 + n,
            fee_per_mana: 7,
            coinbase: [3; 20],
            previous_archive: [0; 32],
            note_root: [0; 32],
            nullifier_root: [0; 32],
            public_data_root: [0; 32],
            effects_hash: [0; 32],
            tx_count: 0,
            gas_used: 0,
        }
    }

    /// Applies empty block `n` of `checkpoint` to `state`: the block as the chain stores it.
    pub(crate) fn empty_block_on(state: &mut WorldState, n: u64, checkpoint: u64) -> Block {
        let header = state.apply_block(header(n), &[]);
        Block {
            header,
            txs: vec![],
            effects: vec![],
            archive: Chain::archive_root(state),
            l1_tx: B256::ZERO,
            status: Status::Checkpointed,
            attestations: vec![],
            checkpoint,
        }
    }

    #[test]
    fn the_blob_budget_takes_what_six_blobs_carry() {
        let max = cairn_consensus::blob::MAX_PAYLOAD_LEN;
        let tx = vec![7u8; 1000];
        let n = (max - BlockHeader::ENCODED_LEN - 4) / 1004;
        let txs = vec![tx; n + 5];
        assert_eq!(txs_fitting_blobs(0, &txs), n);
        // A checkpoint's earlier blocks share the budget.
        assert_eq!(txs_fitting_blobs(1004 * 3, &txs), n - 3);
        assert_eq!(txs_fitting_blobs(max, &txs), 0);
        let body = encode_body(&header(1), &txs[..n]);
        assert!(body.len() <= max);
        assert!(cairn_consensus::blob::encode_blobs(&body).is_ok());
        let over = encode_body(&header(1), &txs[..n + 1]);
        assert!(cairn_consensus::blob::encode_blobs(&over).is_err());
        assert_eq!(txs_fitting_blobs(0, &txs[..3]), 3);
        assert_eq!(txs_fitting_blobs(0, &[]), 0);
    }

    #[test]
    fn the_mana_budget_stops_before_the_tx_that_would_pass_the_limit() {
        let e = |gas| TxEffects {
            hash: [0; 32],
            gas_used: gas,
            fee: 0,
            effects: Default::default(),
        };
        let effects = [e(10), e(20), e(30), e(1)];
        assert_eq!(txs_within_mana(&effects, 1000), 4);
        assert_eq!(txs_within_mana(&effects, 60), 3);
        assert_eq!(txs_within_mana(&effects, 59), 2);
        assert_eq!(txs_within_mana(&effects, 9), 0);
        assert_eq!(txs_within_mana(&[], 0), 0);
    }

    #[test]
    fn the_time_budget_follows_the_measured_cost_within_the_operators_cap() {
        use std::time::Duration;
        let slot = Duration::from_secs(12).mul_f64(BUILD_SHARE_OF_SLOT);
        let cost = BuildCost::default();
        // Nothing timed yet: a block of the conservative size.
        assert_eq!(build_limit(None, &cost, slot), UNTIMED_BLOCK_TXS);
        assert_eq!(build_limit(Some(100), &cost, slot), 100);
        // Small blocks are not timed: their fixed costs say nothing about a tx's.
        cost.record(10, Duration::from_secs(1));
        assert_eq!(cost.per_tx(), None);
        // 512 txs in 512 ms: 1 ms a tx, 4.8 s of a 12 s slot for building.
        cost.record(512, Duration::from_millis(512));
        assert_eq!(cost.per_tx(), Some(Duration::from_millis(1)));
        assert_eq!(build_limit(None, &cost, slot), 4800);
        assert_eq!(build_limit(Some(3000), &cost, slot), 3000);
        // A slower block halves its weight into the mean (2 ms) and shows the spread: sized
        // by the mean plus twice the deviation (|3 - 1| / 4 = 0.5 ms).
        cost.record(1000, Duration::from_secs(3));
        assert_eq!(cost.per_tx(), Some(Duration::from_millis(3)));
        assert_eq!(build_limit(None, &cost, slot), 1600);
        // Steady blocks wear the deviation down: back towards budget / cost.
        for _ in 0..40 {
            cost.record(1000, Duration::from_secs(2));
        }
        assert!(build_limit(None, &cost, slot) > 2390, "{:?}", cost.per_tx());
        // However slow, a block can take one tx.
        cost.record(100, Duration::from_secs(1000));
        cost.record(100, Duration::from_secs(1000));
        assert_eq!(build_limit(None, &cost, slot), 1);
        assert_eq!(build_limit(Some(0), &BuildCost::default(), slot), 1);
    }

    #[test]
    fn block_and_body_round_trip() {
        let b = Block {
            header: header(1),
            txs: vec![vec![1, 2, 3], vec![]],
            effects: vec![vec![9; 80]],
            archive: B256::repeat_byte(5),
            l1_tx: B256::repeat_byte(6),
            status: Status::Proven,
            attestations: vec![1, 2],
            checkpoint: 1,
        };
        assert_eq!(Block::decode(&b.encode()), Some(b.clone()));
        // The second block of checkpoint 1 carries its checkpoint; the number alone would not
        // encode canonically.
        let mut second = b.clone();
        second.header.block_number = 2;
        let bytes = second.encode();
        assert_eq!(bytes.len(), b.encode().len() + 8);
        assert_eq!(Block::decode(&bytes), Some(second));
        let mut twice = b.encode();
        twice.extend_from_slice(&1u64.to_be_bytes());
        assert_eq!(Block::decode(&twice), None);
        let body = encode_body(&b.header, &b.txs);
        assert_eq!(decode_body(&body), Some((b.header.clone(), b.txs.clone())));
        assert_eq!(decode_body(&body[..body.len() - 1]), None);
        let mut long = body.clone();
        long.push(0);
        assert_eq!(decode_body(&long), None);
    }

    #[test]
    fn a_checkpoint_body_is_its_blocks_bodies_and_one_block_is_the_old_body() {
        let t1 = vec![vec![1u8, 2], vec![3u8]];
        let t2: Vec<Vec<u8>> = vec![];
        let t3 = vec![vec![9u8; 40]];
        let (h1, h2, h3) = (header(4), header(5), header(6));
        let body = encode_checkpoint_body([
            (&h1, t1.as_slice()),
            (&h2, t2.as_slice()),
            (&h3, t3.as_slice()),
        ]);
        let blocks = decode_checkpoint_body(&body).unwrap();
        assert_eq!(
            blocks,
            vec![(h1.clone(), t1.clone()), (h2.clone(), t2), (h3.clone(), t3)]
        );
        // One block: byte for byte the body checkpoints carried before (L1 history decodes).
        let one = encode_checkpoint_body([(&h1, t1.as_slice())]);
        assert_eq!(one, encode_body(&h1, &t1));
        assert_eq!(decode_checkpoint_body(&one), Some(vec![(h1.clone(), t1)]));
        assert_eq!(decode_checkpoint_body(&[]), None);
        assert_eq!(decode_checkpoint_body(&body[..body.len() - 1]), None);
        // The headers hash: one header's is the hash the L1 header always carried.
        assert_eq!(
            block_headers_hash([&h1]),
            cairn_consensus::sha256_to_field(&h1.encode())
        );
        let mut all = h1.encode();
        all.extend_from_slice(&h2.encode());
        assert_eq!(
            block_headers_hash([&h1, &h2]),
            cairn_consensus::sha256_to_field(&all)
        );
        assert_ne!(
            block_headers_hash([&h2, &h1]),
            block_headers_hash([&h1, &h2])
        );
    }

    #[test]
    fn checkpoints_of_several_blocks_are_found_by_number() {
        let mut c = Chain::new(WorldState::new());
        // Checkpoint 1: blocks 1, 2, 3; checkpoint 2: block 4; checkpoint 3: blocks 5, 6.
        for (n, cp) in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3), (6, 3)] {
            let mut s = (*c.state).clone();
            let b = empty_block_on(&mut s, n, cp);
            c.push_with_state(b, s).unwrap();
        }
        assert_eq!(c.checkpoint_tip(), 3);
        let ends: Vec<_> = (0..=4).map(|cp| c.last_block_of(cp)).collect();
        assert_eq!(ends, [Some(0), Some(3), Some(4), Some(6), None]);
        assert_eq!(c.checkpoint_archive(1), Some(c.archive_at(3)));
        assert_eq!(c.checkpoint_archive(0), Some(c.genesis_archive()));
        let numbers = |cp| -> Vec<u64> {
            c.checkpoint_blocks(cp)
                .iter()
                .map(|b| b.header.block_number)
                .collect()
        };
        assert_eq!(numbers(1), [1, 2, 3]);
        assert_eq!(numbers(3), [5, 6]);
        assert!(numbers(0).is_empty() && numbers(4).is_empty());
    }

    proptest::proptest! {
        // Stored blocks and blob bodies may be damaged: decoding never panics, and whatever
        // decodes re-encodes to the same bytes.
        #[test]
        fn decoders_never_panic_and_are_canonical(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Some(b) = Block::decode(&bytes) {
                proptest::prop_assert_eq!(b.encode(), bytes.clone());
            }
            if let Some((h, txs)) = decode_body(&bytes) {
                proptest::prop_assert_eq!(encode_body(&h, &txs), bytes.clone());
            }
            if let Some(blocks) = decode_checkpoint_body(&bytes) {
                let again = encode_checkpoint_body(blocks.iter().map(|(h, t)| (h, t.as_slice())));
                proptest::prop_assert_eq!(again, bytes);
            }
        }
    }

    #[test]
    fn empty_blocks_chain_and_truncate() {
        let mut c = Chain::new(WorldState::new());
        for n in 1..=3 {
            let mut s = (*c.state).clone();
            c.push(empty_block_on(&mut s, n, n), &[]).unwrap();
        }
        let root3 = Chain::archive_root(&c.state);
        assert_eq!(c.archive_at(3), root3);
        let before = c.state.archive.root();
        let dropped = c.truncate(1);
        assert_eq!(dropped.len(), 2);
        assert_eq!(c.tip(), 1);
        assert_ne!(c.state.archive.root(), before);
        assert_eq!(Chain::archive_root(&c.state), c.archive_at(1));
    }
}
