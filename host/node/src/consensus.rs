//! The validator client: validates and re-executes gossiped checkpoint proposals on a chain
//! snapshot, attests to them through the slashing guard, and keeps the pool of attestations the
//! sequencer collects (the only state it owns).
//!
//! The p2p service hands every consensus message to [`Node::on_proposal`] or
//! [`Node::on_attestation`] (on a blocking thread: re-execution is CPU work) and turns the
//! result into a gossip verdict: `Ok` relays it, a [`GossipError`] that
//! [`penalises`](GossipError::penalises) rejects it (the sender's score drops), any other
//! error ignores it (not relayed, no penalty).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use cairn_consensus::attest::RawSignature;
use cairn_consensus::{blob, constants};
use cairn_wire::{BlockProposal, CheckpointAttestation, CheckpointProposal, Topic, WireError};

use cairn_protocol::stages::BlockHeader;
use cairn_protocol::tx::Tx;

use crate::chain::{block_headers_hash, encode_checkpoint_body};
use crate::duties::Skip;
use crate::node::Node;
use crate::store::{Duty, DutyKind};

/// How far (seconds of L1 time) ahead of the current slot a message may be and still count
/// for the next slot: L1's latest block can lag the proposer's clock by a block interval.
pub const SLOT_TOLERANCE_SECS: u64 = 2;

/// How many recent slots of proposals and attestations are kept.
const KEEP_SLOTS: u64 = 16;

/// Why a gossiped consensus message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    /// The bytes are not a message of this version.
    #[error("undecodable: {0}")]
    Undecodable(#[from] WireError),
    /// The message is for a slot other than the current one.
    #[error("for slot {slot}, but the current slot is {current}")]
    WrongSlot {
        /// The message's slot.
        slot: u64,
        /// The slot L1 time is in.
        current: u64,
    },
    /// Signed by someone other than the slot's proposer.
    #[error("signed by {signer}, but the proposer of slot {slot} is {expected}")]
    WrongProposer {
        /// The slot.
        slot: u64,
        /// Who signed.
        signer: Address,
        /// Who should have.
        expected: String,
    },
    /// An attestation by someone outside the slot's committee.
    #[error("attester {0} is not in the committee of slot {1}")]
    NotInCommittee(Address, u64),
    /// The proposal's block does not re-execute to what it claims.
    #[error("invalid checkpoint {checkpoint}: {reason}")]
    InvalidBlock {
        /// The checkpoint number.
        checkpoint: u64,
        /// What differs.
        reason: String,
    },
    /// Already seen (gossip dedups by id too; this catches re-encodings).
    #[error("already seen")]
    Duplicate,
    /// This node cannot judge it now (not synced to its parent, L1 unreachable, too old).
    #[error("cannot check it now: {0}")]
    NotReady(String),
}

impl GossipError {
    /// Whether the peer that sent it is at fault (the message is rejected and the peer
    /// penalised) rather than the message merely being of no use to this node now. Honest nodes
    /// relay only proposals that re-executed (an equivocating proposer's second proposal
    /// included), so a peer that forwards an invalid block is at fault.
    pub fn penalises(&self) -> bool {
        matches!(
            self,
            GossipError::Undecodable(_)
                | GossipError::WrongProposer { .. }
                | GossipError::NotInCommittee(..)
                | GossipError::InvalidBlock { .. }
        )
    }
}

/// Attestations of one slot: digest → attester → signature.
type SlotAttestations = BTreeMap<B256, BTreeMap<Address, RawSignature>>;
/// A slot's committee and proposer.
type SlotDuty = (Vec<Address>, Option<Address>);
/// The first proposal seen from a signer for a slot: its digest and encoding.
type SeenProposal = (B256, Vec<u8>);

/// Consensus state shared between the p2p handlers and the sequencer: the only writers are
/// [`Node::on_proposal`], [`Node::on_attestation`] and the sequencer's own signatures.
#[derive(Default)]
pub struct Consensus {
    /// (slot, proposer) → the digest and encoding of the first proposal seen.
    proposals: Mutex<BTreeMap<(u64, Address), SeenProposal>>,
    /// Slots whose proposer signed two different proposals: attested by no one.
    equivocations: Mutex<BTreeSet<u64>>,
    /// slot → digest → attester → signature (verified on insertion).
    attestations: Mutex<BTreeMap<u64, SlotAttestations>>,
    arrived: Condvar,
    /// slot → proposer (None: no committee) with its committee, read once from L1.
    proposers: Mutex<BTreeMap<u64, SlotDuty>>,
    /// Slots whose proposer gossiped a signed block that does not re-execute, and why: their
    /// checkpoint gets no attestation from this node, whatever its proposal holds.
    bad_blocks: Mutex<BTreeMap<u64, String>>,
    /// (slot, index) → digest of the block proposals seen (dedup of re-encodings).
    blocks_seen: Mutex<BTreeSet<(u64, u32, B256)>>,
    /// Block proposals that arrived before the block they follow, by (slot, index), with
    /// their signer: judged once that block is kept (gossip does not keep order).
    early_blocks: Mutex<BTreeMap<(u64, u32), (BlockProposal, Address)>>,
}

/// How many early block proposals are held at most (a proposer makes a few per slot).
const MAX_EARLY_BLOCKS: usize = 32;

impl Consensus {
    fn prune<V>(map: &mut BTreeMap<u64, V>, newest: u64) {
        while map.len() as u64 > KEEP_SLOTS {
            match map.keys().next() {
                Some(&k) if k + KEEP_SLOTS < newest || map.len() as u64 > 4 * KEEP_SLOTS => {
                    map.remove(&k);
                }
                _ => break,
            }
        }
    }

    /// Adds a verified attestation; false if it was already there.
    pub fn add_attestation(
        &self,
        slot: u64,
        digest: B256,
        who: Address,
        sig: RawSignature,
    ) -> bool {
        let mut m = match self.attestations.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let fresh = m
            .entry(slot)
            .or_default()
            .entry(digest)
            .or_default()
            .insert(who, sig)
            .is_none();
        Consensus::prune(&mut m, slot);
        drop(m);
        if fresh {
            self.arrived.notify_all();
        }
        fresh
    }

    /// Waits until `enough` says the attestations for (slot, digest) suffice, or `deadline`;
    /// returns what is there then.
    pub fn wait_for(
        &self,
        slot: u64,
        digest: B256,
        deadline: Instant,
        enough: impl Fn(&BTreeMap<Address, RawSignature>) -> bool,
    ) -> BTreeMap<Address, RawSignature> {
        let mut m = match self.attestations.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        loop {
            let have = m
                .get(&slot)
                .and_then(|d| d.get(&digest))
                .cloned()
                .unwrap_or_default();
            let now = Instant::now();
            if enough(&have) || now >= deadline {
                return have;
            }
            m = match self.arrived.wait_timeout(m, deadline - now) {
                Ok((m, _)) => m,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Whether the proposer of `slot` equivocated.
    pub fn equivocated(&self, slot: u64) -> bool {
        self.equivocations
            .lock()
            .map(|e| e.contains(&slot))
            .unwrap_or(true)
    }
}

impl Node {
    /// The committee of `slot`'s epoch and its proposer (None when the committee is empty),
    /// cached per slot.
    pub(crate) fn slot_proposer(&self, slot: u64) -> Result<SlotDuty, crate::error::NodeError> {
        if let Some(p) = self
            .consensus
            .proposers
            .lock()
            .map_err(|_| crate::error::NodeError::Poisoned)?
            .get(&slot)
        {
            return Ok(p.clone());
        }
        let epoch = self.timing.epoch_of_slot(slot);
        let committee = self.committee(epoch)?;
        let proposer = if committee.is_empty() {
            None
        } else {
            let start = self.timing.slot_start(slot).unwrap_or(0);
            let seed = self.sample_seed(start)?;
            cairn_consensus::committee::proposer(epoch, slot, seed, &committee)
        };
        let mut m = self
            .consensus
            .proposers
            .lock()
            .map_err(|_| crate::error::NodeError::Poisoned)?;
        m.insert(slot, (committee.clone(), proposer));
        Consensus::prune(&mut m, slot);
        Ok((committee, proposer))
    }

    /// The slot a message for `slot` may be for now: the current one, or the next one within
    /// [`SLOT_TOLERANCE_SECS`] of its start.
    fn check_slot(&self, slot: u64) -> Result<(), GossipError> {
        let now = self
            .l1
            .latest_timestamp()
            .map_err(|e| GossipError::NotReady(format!("L1: {e}")))?;
        let current = self.timing.slot_at(now);
        let next_soon = slot == current + 1
            && self
                .timing
                .slot_start(slot)
                .is_some_and(|s| s <= now + SLOT_TOLERANCE_SECS);
        if slot == current || next_soon {
            Ok(())
        } else {
            Err(GossipError::WrongSlot { slot, current })
        }
    }

    /// Checks that a message is for a current slot and that `signer` is that slot's proposer;
    /// the slot's committee.
    fn check_proposer(&self, slot: u64, signer: Address) -> Result<Vec<Address>, GossipError> {
        self.check_slot(slot)?;
        let (committee, expected) = self
            .slot_proposer(slot)
            .map_err(|e| GossipError::NotReady(e.to_string()))?;
        if expected != Some(signer) {
            return Err(GossipError::WrongProposer {
                slot,
                signer,
                expected: expected.map_or("nobody (empty committee)".into(), |a| a.to_string()),
            });
        }
        Ok(committee)
    }

    /// A gossiped block proposal: checks slot, proposer and signature, re-executes the block on
    /// the proposed blocks of its checkpoint this node holds and keeps it as proposed. A
    /// signed block that does not re-execute marks its slot: this node attests to no
    /// checkpoint of that slot. `Ok` means relay it.
    pub fn on_block_proposal(&self, bytes: &[u8]) -> Result<(), GossipError> {
        let p = BlockProposal::decode(bytes)?;
        let signer = p.signer()?;
        self.check_proposer(p.slot, signer)?;
        {
            let mut seen = self
                .consensus
                .blocks_seen
                .lock()
                .map_err(|_| GossipError::NotReady("lock".into()))?;
            if !seen.insert((p.slot, p.index, p.digest())) {
                return Err(GossipError::Duplicate);
            }
            while seen
                .first()
                .is_some_and(|(s, _, _)| s + KEEP_SLOTS < p.slot)
            {
                seen.pop_first();
            }
        }
        self.metrics
            .block_proposals_received
            .fetch_add(1, Ordering::Relaxed);
        let verdict = self.judge_block_proposal(&p, signer);
        if verdict.is_ok() {
            self.judge_early_blocks(p.slot, p.index + 1);
        }
        verdict
    }

    /// Judges the early block proposals that follow block `index` of `slot`, in order, while
    /// each is kept (they were not relayed when they came; their verdict is only logged).
    fn judge_early_blocks(&self, slot: u64, mut index: u32) {
        loop {
            let next = self
                .consensus
                .early_blocks
                .lock()
                .ok()
                .and_then(|mut e| e.remove(&(slot, index)));
            let Some((p, signer)) = next else { return };
            match self.judge_block_proposal(&p, signer) {
                Ok(()) => {
                    tracing::info!(
                        slot,
                        index,
                        "early block proposal re-executed once its predecessor came"
                    );
                    index += 1;
                }
                Err(e) => {
                    tracing::info!(slot, index, error = %e, "early block proposal not kept");
                    return;
                }
            }
        }
    }

    /// Re-executes and keeps one block proposal; a signed block that does not re-execute
    /// marks its slot.
    fn judge_block_proposal(&self, p: &BlockProposal, signer: Address) -> Result<(), GossipError> {
        match self.keep_block_proposal(p, signer) {
            Err(GossipError::InvalidBlock { checkpoint, reason }) => {
                let why = format!("block {} of checkpoint {checkpoint}: {reason}", p.index);
                tracing::warn!(slot = p.slot, proposer = %signer, reason = %why, "the proposer gossiped a block that does not re-execute; no attestation for this slot");
                if let Ok(mut bad) = self.consensus.bad_blocks.lock() {
                    bad.insert(p.slot, why);
                    Consensus::prune(&mut bad, p.slot);
                }
                Err(GossipError::InvalidBlock { checkpoint, reason })
            }
            other => other,
        }
    }

    /// The txs `refs` name, in order and with the bytes the proposer included: from this
    /// node's pool, the rest fetched from peers by hash. A tx no peer has is not this
    /// proposal's fault as far as this node can tell (`NotReady`).
    fn resolve_txs(
        &self,
        checkpoint: u64,
        refs: &[cairn_wire::TxRef],
    ) -> Result<Vec<Vec<u8>>, GossipError> {
        let mut txs: Vec<Option<Vec<u8>>> = refs
            .iter()
            .map(|r| self.store.pool_get(&r.hash).ok().flatten())
            .collect();
        let missing: Vec<[u8; 32]> = refs
            .iter()
            .zip(&txs)
            .filter(|(_, t)| t.is_none())
            .map(|(r, _)| r.hash)
            .collect();
        if !missing.is_empty() {
            let fetched = self
                .network
                .get()
                .map(|n| n.fetch_txs(&missing))
                .unwrap_or_default();
            let by_hash: BTreeMap<[u8; 32], Vec<u8>> = fetched.into_iter().collect();
            self.metrics
                .txs_fetched
                .fetch_add(by_hash.len() as u64, Ordering::Relaxed);
            for (t, r) in txs.iter_mut().zip(refs) {
                if t.is_none() {
                    *t = by_hash.get(&r.hash).cloned();
                }
            }
            tracing::info!(
                checkpoint,
                missing = missing.len(),
                fetched = by_hash.len(),
                "fetched txs a proposal named from peers"
            );
        }
        let lacking = txs.iter().filter(|t| t.is_none()).count();
        if lacking > 0 {
            return Err(GossipError::NotReady(format!(
                "{lacking} of the {} txs of a block of checkpoint {checkpoint} are in no pool this node or its peers hold",
                refs.len()
            )));
        }
        txs.into_iter()
            .flatten()
            .zip(refs)
            .map(|(t, r)| {
                if t.ends_with(&r.signature) {
                    return Ok(t);
                }
                // The same tx under the signature the proposer included.
                let mut tx = Tx::decode(&t).map_err(|e| GossipError::NotReady(e.to_string()))?;
                tx.signature = r.signature;
                Ok(tx.encode())
            })
            .collect()
    }

    fn keep_block_proposal(&self, p: &BlockProposal, signer: Address) -> Result<(), GossipError> {
        let n = p.checkpoint;
        let invalid = |reason: String| GossipError::InvalidBlock {
            checkpoint: n,
            reason,
        };
        let mut chain = self.chain.snapshot();
        let mut proposed = chain.proposed();
        let on_l1 = |proposed: &[std::sync::Arc<crate::chain::Block>], c: &crate::chain::Chain| {
            proposed
                .first()
                .map_or(c.checkpoint_tip(), |b| b.checkpoint - 1)
        };
        if on_l1(&proposed, &chain) + 1 < n {
            // Behind: the parent checkpoint may be on L1 already (or the blocks held of it
            // checkpointed there); then this block can be kept after all.
            drop(chain);
            self.catch_up()
                .map_err(|e| GossipError::NotReady(e.to_string()))?;
            chain = self.chain.snapshot();
            proposed = chain.proposed();
        }
        let on_l1 = on_l1(&proposed, &chain);
        if on_l1 + 1 == n && proposed.len() < p.index as usize {
            // Came before a block it follows: judged when that one is kept.
            if let Ok(mut early) = self.consensus.early_blocks.lock() {
                early.insert((p.slot, p.index), (p.clone(), signer));
                while early.len() > MAX_EARLY_BLOCKS {
                    early.pop_first();
                }
            }
            return Err(GossipError::NotReady(format!(
                "block {} of checkpoint {n} came before block {}; held until it comes",
                p.index,
                proposed.len()
            )));
        }
        if on_l1 + 1 != n || proposed.len() != p.index as usize {
            return Err(GossipError::NotReady(format!(
                "block {} of checkpoint {n}, this node holds {} proposed blocks after checkpoint {on_l1}",
                p.index,
                proposed.len()
            )));
        }
        if p.parent_archive != chain.archive_at(chain.tip()) {
            return Err(GossipError::NotReady(
                "builds on another archive than this node's tip".into(),
            ));
        }
        let header = BlockHeader::decode(&p.block.header)
            .ok_or_else(|| invalid("the block header does not parse".into()))?;
        let cfg = self.config();
        let first = proposed.first().map(|b| &b.header).unwrap_or(&header);
        if header.slot != p.slot
            || header.chain_id != self.l1.chain_id()
            || header.rollup_version != cfg.rollup_version
            || (header.fee_per_mana, header.coinbase) != (first.fee_per_mana, first.coinbase)
        {
            return Err(invalid(
                "its slot, chain, version, fee or coinbase are not the checkpoint's".into(),
            ));
        }
        let txs = self.resolve_txs(n, &p.block.txs)?;
        let mut replayed = self
            .replay_checkpoint(&chain, n, vec![(header, txs)])
            .map_err(|e| invalid(e.to_string()))?;
        drop(chain);
        let r = replayed.remove(0);
        if r.block.archive != p.archive {
            return Err(invalid("re-execution gives another archive root".into()));
        }
        let mut block = r.block;
        block.status = crate::chain::Status::Proposed;
        let number = block.header.block_number;
        // False if the checkpoint proposal's re-execution appended it first.
        if self
            .chain
            .append(block, r.state, r.parent, Vec::new())
            .map_err(|e| GossipError::NotReady(e.to_string()))?
        {
            tracing::info!(
                slot = p.slot,
                checkpoint = n,
                block = number,
                "block proposal re-executed; held as proposed"
            );
        }
        Ok(())
    }

    /// A gossiped checkpoint proposal: checks slot, proposer and signature, records
    /// equivocation, re-executes the block on this node's state and attests with every local
    /// committee member the guard allows. `Ok` means relay it.
    pub fn on_proposal(&self, bytes: &[u8]) -> Result<(), GossipError> {
        let p = CheckpointProposal::decode(bytes)?;
        let signer = p.signer()?;
        let slot = p.payload.slot();
        let committee = self.check_proposer(slot, signer)?;
        self.metrics
            .proposals_received
            .fetch_add(1, Ordering::Relaxed);
        let digest = p.payload.digest();
        {
            let mut seen = self
                .consensus
                .proposals
                .lock()
                .map_err(|_| GossipError::NotReady("lock".into()))?;
            match seen.get(&(slot, signer)) {
                Some((d, _)) if *d == digest => return Err(GossipError::Duplicate),
                Some((_, first)) => {
                    // The signer is at fault, not the relaying peer: recorded, nobody here
                    // attests to this slot any more, and the proposal is relayed if its block
                    // is valid, so every node sees the equivocation.
                    let first = first.clone();
                    drop(seen);
                    self.record_equivocation(slot, signer, &first, bytes);
                    return self.reexecute(&p);
                }
                None => {
                    seen.insert((slot, signer), (digest, bytes.to_vec()));
                    let newest = slot;
                    while seen.len() > 4 * KEEP_SLOTS as usize {
                        match seen.keys().next().copied() {
                            Some(k) if k.0 + KEEP_SLOTS < newest => {
                                seen.remove(&k);
                            }
                            _ => break,
                        }
                    }
                }
            }
        }
        self.reexecute(&p)?;
        if self.consensus.equivocated(slot) {
            return Ok(());
        }
        // The proposer's own signature counts as its attestation.
        self.consensus
            .add_attestation(slot, digest, signer, p.signature);
        self.attest(&p, &committee);
        Ok(())
    }

    fn record_equivocation(&self, slot: u64, signer: Address, first: &[u8], second: &[u8]) {
        let fresh = self
            .consensus
            .equivocations
            .lock()
            .map(|mut e| e.insert(slot))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        self.metrics.equivocations.fetch_add(1, Ordering::Relaxed);
        let mut both = (first.len() as u32).to_be_bytes().to_vec();
        both.extend_from_slice(first);
        both.extend_from_slice(second);
        let key = format!("equivocation/{slot}/{signer}");
        if let Err(e) = self.store.set_meta(&key, &both) {
            tracing::error!(error = %e, "cannot record an equivocation");
        }
        tracing::warn!(
            slot,
            proposer = %signer,
            "the proposer signed two different checkpoint proposals for this slot; both are recorded and no local attester will attest to this slot"
        );
    }

    /// Re-executes a proposal's blocks on this node's state: every field the proposer claims
    /// must come out the same, for every block of the checkpoint.
    fn reexecute(&self, p: &CheckpointProposal) -> Result<(), GossipError> {
        let n = p.checkpoint;
        let invalid = |reason: String| GossipError::InvalidBlock {
            checkpoint: n,
            reason,
        };
        if self.chain.snapshot().checkpoint_tip() + 1 < n {
            // Behind: the parent may be on L1 already.
            self.catch_up()
                .map_err(|e| GossipError::NotReady(e.to_string()))?;
        }
        if let Some(why) = self
            .consensus
            .bad_blocks
            .lock()
            .ok()
            .and_then(|b| b.get(&p.payload.slot()).cloned())
        {
            return Err(invalid(format!(
                "its proposer gossiped a block that does not re-execute ({why})"
            )));
        }
        let mut chain = self.chain.snapshot();
        // Proposed blocks held from another checkpoint: L1 may have taken them meanwhile (the
        // sync marks them checkpointed); otherwise they are stale and this proposal replaces
        // them.
        if chain.proposed().first().is_some_and(|b| b.checkpoint != n) {
            drop(chain);
            self.catch_up()
                .map_err(|e| GossipError::NotReady(e.to_string()))?;
            chain = self.chain.snapshot();
        }
        if let Some(first) = chain.proposed().first().filter(|b| b.checkpoint != n) {
            let to = first.header.block_number - 1;
            drop(chain);
            self.chain
                .roll_back(to, &format!("replaced by the proposal for checkpoint {n}"))
                .map_err(|e| GossipError::NotReady(e.to_string()))?;
            chain = self.chain.snapshot();
        }
        let held = chain.proposed();
        let base = chain.checkpointed_tip();
        let (tip, parent) = (
            chain.block(base).map_or(0, |b| b.checkpoint),
            chain.archive_at(base),
        );
        if tip + 1 != n {
            return Err(GossipError::NotReady(format!(
                "proposal for checkpoint {n}, this node's tip is checkpoint {tip}"
            )));
        }
        let ph = &p.payload.header;
        if ph.last_archive_root != parent {
            return Err(invalid(format!(
                "builds on archive {}, but checkpoint {tip} has {parent}",
                ph.last_archive_root
            )));
        }
        let headers = p
            .blocks
            .iter()
            .map(|b| BlockHeader::decode(&b.header))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("a block header does not parse".into()))?;
        let Some(first) = headers.first() else {
            return Err(invalid("no block".into()));
        };
        let cfg = self.config();
        let slot_start = self.timing.slot_start(ph.slot_number).unwrap_or(0);
        let mana: u128 = headers.iter().map(|h| u128::from(h.gas_used)).sum();
        let globals =
            |h: &cairn_protocol::stages::BlockHeader| (h.slot, h.fee_per_mana, h.coinbase);
        let checks: [(&str, bool); 12] = [
            (
                "blocks' slot, fee or coinbase",
                headers.iter().all(|h| globals(h) == globals(first)),
            ),
            ("first block number", first.block_number == base + 1),
            ("slot", first.slot == ph.slot_number),
            ("chain id", first.chain_id == self.l1.chain_id()),
            ("rollup version", first.rollup_version == cfg.rollup_version),
            ("timestamp", ph.timestamp == slot_start),
            ("coinbase", first.coinbase == ph.coinbase.0 .0),
            ("fee", first.fee_per_mana == ph.fee_per_l2_gas),
            ("mana", mana == ph.total_mana_used),
            ("DA fee", ph.fee_per_da_gas == 0),
            ("out hash", ph.out_hash == constants::EMPTY_EPOCH_OUT_HASH),
            (
                "block headers hash",
                ph.block_headers_hash == block_headers_hash(&headers),
            ),
        ];
        if let Some((what, _)) = checks.iter().find(|(_, ok)| !ok) {
            return Err(invalid(format!(
                "the header's {what} does not match its blocks"
            )));
        }
        let in_hash = self
            .in_hash(n)
            .map_err(|e| GossipError::NotReady(e.to_string()))?;
        if ph.in_hash != in_hash {
            return Err(invalid("in hash differs from the Inbox's".into()));
        }
        // The blocks this node holds from the slot's block proposals were re-executed as they
        // came: they must be the checkpoint's first blocks, exactly. The rest it takes from its
        // pool or fetches from peers.
        if held.len() > p.blocks.len()
            || held
                .iter()
                .zip(&p.blocks)
                .any(|(h, r)| crate::chain::block_ref(&h.header, &h.txs).as_ref() != Some(r))
        {
            return Err(invalid(
                "its blocks differ from the block proposals of the slot".into(),
            ));
        }
        let rest = p.blocks[held.len()..]
            .iter()
            .zip(&headers[held.len()..])
            .map(|(r, h)| Ok((h.clone(), self.resolve_txs(n, &r.txs)?)))
            .collect::<Result<Vec<_>, GossipError>>()?;
        let body = encode_checkpoint_body(
            held.iter()
                .map(|b| (&b.header, b.txs.as_slice()))
                .chain(rest.iter().map(|(h, t)| (h, t.as_slice()))),
        );
        // The blobs this node encodes from the body must be the ones committed to: each
        // proof opens its commitment to the blob (pure Rust, `cairn_consensus::kzg`), and the
        // commitments' versioned hashes give the header's blobs hash.
        let blobs = blob::encode_blobs(&body).map_err(|e| invalid(e.to_string()))?;
        let refs: Vec<&blob::Blob> = blobs.iter().map(|b| &**b).collect();
        let (commitments, proofs): (Vec<_>, Vec<_>) = p.blob_proofs.iter().copied().unzip();
        cairn_consensus::kzg::verify_blob_proofs(&refs, &commitments, &proofs)
            .map_err(|e| invalid(format!("blob commitments: {e}")))?;
        let versioned: Vec<B256> = commitments.iter().map(blob::versioned_hash).collect();
        if ph.blobs_hash != blob::blobs_hash(&versioned) {
            return Err(invalid(
                "blobs hash does not commit to the checkpoint body".into(),
            ));
        }
        // The rest are re-executed now, each on the one before (sharing the first's slot, fee
        // and coinbase), each header compared by the attestation stage, and kept as proposed
        // too.
        let replayed = self
            .replay_checkpoint(&chain, n, rest)
            .map_err(|e| invalid(e.to_string()))?;
        drop(chain);
        let archive = replayed
            .last()
            .map(|r| r.block.archive)
            .or_else(|| held.last().map(|b| b.archive));
        if archive != Some(p.payload.archive) {
            return Err(invalid("re-execution gives another archive root".into()));
        }
        for r in replayed {
            let mut block = r.block;
            block.status = crate::chain::Status::Proposed;
            // False if a block proposal's re-execution appended it first.
            self.chain
                .append(block, r.state, r.parent, Vec::new())
                .map_err(|e| GossipError::NotReady(e.to_string()))?;
        }
        Ok(())
    }

    /// Signs an attestation for every local committee member the guard allows and gossips it.
    fn attest(&self, p: &CheckpointProposal, committee: &[Address]) {
        let slot = p.payload.slot();
        let digest = p.payload.digest();
        let cfg = self.config();
        for a in &cfg.attesters {
            let who = a.signer.address();
            if !committee.contains(&who) {
                continue;
            }
            let duty = Duty {
                slot,
                kind: DutyKind::Attestation,
                block_index: 0,
                validator: who.0 .0,
            };
            let signature = match self.sign_duty(duty, p.checkpoint, digest, &a.signer) {
                Ok(s) => s,
                Err(skip @ (Skip::SignedElsewhere { .. } | Skip::HeldElsewhere { .. })) => {
                    tracing::info!(slot, attester = %who, reason = %skip, "not attesting");
                    continue;
                }
                Err(skip) => {
                    tracing::warn!(slot, attester = %who, reason = %skip, "not attesting");
                    continue;
                }
            };
            self.consensus.add_attestation(slot, digest, who, signature);
            let msg = CheckpointAttestation {
                payload: p.payload,
                signature,
                proposer_signature: p.signature,
            };
            if let Some(net) = self.network.get() {
                net.publish(Topic::CheckpointAttestation, msg.encode());
            }
            self.metrics
                .attestations_made
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(slot, checkpoint = p.checkpoint, attester = %who, "attested");
        }
    }

    /// A gossiped attestation: from a committee member, answering the slot's proposer. Kept
    /// for the proposer's collection; `Ok` means relay it.
    pub fn on_attestation(&self, bytes: &[u8]) -> Result<(), GossipError> {
        let a = CheckpointAttestation::decode(bytes)?;
        let who = a.signer()?;
        let proposer = a.proposer()?;
        let slot = a.payload.slot();
        let committee = self.check_proposer(slot, proposer)?;
        if !committee.contains(&who) {
            return Err(GossipError::NotInCommittee(who, slot));
        }
        self.metrics
            .attestations_received
            .fetch_add(1, Ordering::Relaxed);
        if !self
            .consensus
            .add_attestation(slot, a.payload.digest(), who, a.signature)
        {
            return Err(GossipError::Duplicate);
        }
        Ok(())
    }

    /// The proposer's attestation round: waits for attestations to `digest` from the network
    /// until `needed` committee members (local ones included in `sigs`) signed or `deadline`.
    pub(crate) fn collect_attestations(
        &self,
        slot: u64,
        digest: B256,
        committee: &[Address],
        sigs: &mut [Option<RawSignature>],
        needed: usize,
        deadline: Instant,
    ) {
        let local: Vec<Address> = committee
            .iter()
            .zip(sigs.iter())
            .filter(|(_, s)| s.is_some())
            .map(|(m, _)| *m)
            .collect();
        let count = |have: &BTreeMap<Address, RawSignature>| {
            local.len()
                + have
                    .keys()
                    .filter(|a| committee.contains(a) && !local.contains(a))
                    .count()
        };
        let t0 = Instant::now();
        let have = self
            .consensus
            .wait_for(slot, digest, deadline, |h| count(h) >= needed);
        self.metrics
            .attestation_round_ms
            .store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        for (m, s) in committee.iter().zip(sigs.iter_mut()) {
            if s.is_none() {
                *s = have.get(m).copied();
            }
        }
    }
}

/// How long before the end of its slot the proposer stops collecting attestations to leave
/// time to publish (L1 mines within a block interval on the devnet).
pub const PUBLISH_RESERVE: Duration = Duration::from_secs(3);
