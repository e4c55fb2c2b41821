//! The four pipeline stages as pure functions (docs/protocol.md §7). The node runs them natively
//! or through the components in `modules/`, which wrap exactly these functions.

use std::collections::{BTreeMap, BTreeSet};

use ark_bn254::Fr;
use thiserror::Error;

use crate::crypto::Crypto;
use crate::field::{fr_to_bytes, fr_to_hex, fr_to_raw};
use crate::groth16::{self, Proof, VerifyingKey};
use crate::poseidon::domain;
use crate::tx::{address_word, Tx};
use crate::vm::contracts::{sel, FEE_ADDRESS};
use crate::vm::interp::{public_slot, Call, Effects, Env, Programs, Vm, VmState};
use crate::vm::Word;

/// Fixed mana of every tx.
pub const INTRINSIC_GAS: u64 = 10_000;
/// Extra mana per private spend (proof verification, tree insertions).
pub const GAS_PER_SPEND: u64 = 50_000;
/// Extra mana per public call.
pub const GAS_PER_CALL: u64 = 2_000;
/// Largest gas limit a tx may ask for.
pub const MAX_TX_GAS: u64 = 10_000_000;
/// Spend statement: one note in, two out (the only statement so far).
pub const STATEMENT_NOTE_SPEND: u8 = 1;

/// What the block being built or checked looks like to its txs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// L1 chain id.
    pub chain_id: u64,
    /// Rollup version.
    pub rollup_version: u64,
    /// L2 block number.
    pub block_number: u64,
    /// Fee per mana charged in this block.
    pub fee_per_mana: u128,
    /// Receives the fees.
    pub coinbase: [u8; 20],
}

/// World-state reads the stages need, against a fixed snapshot.
pub trait StateView: VmState {
    /// The note-hash root recorded with a recent archive root, if it is recent enough.
    fn anchor_note_root(&self, anchor: &Fr) -> Option<Fr>;
    /// The registered verification key of a statement.
    fn verification_key(&self, statement: u8) -> Option<Vec<u8>>;
}

/// Why a tx is rejected. Each variant is a stable, typed reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// Not a canonical encoding.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Bound to another L1 chain.
    #[error("wrong chain id: tx {got}, node {expected}")]
    WrongChainId {
        /// Node's.
        expected: u64,
        /// Tx's.
        got: u64,
    },
    /// Bound to another rollup version.
    #[error("wrong rollup version: tx {got}, node {expected}")]
    WrongRollupVersion {
        /// Node's.
        expected: u64,
        /// Tx's.
        got: u64,
    },
    /// Past its expiry block.
    #[error("expired at block {expiry}, now {block}")]
    Expired {
        /// Last valid block.
        expiry: u64,
        /// Current block.
        block: u64,
    },
    /// Gas limit below the intrinsic cost or above the maximum.
    #[error("gas limit {limit} outside {min}..={max}")]
    BadGasLimit {
        /// Asked.
        limit: u64,
        /// Intrinsic cost.
        min: u64,
        /// Maximum.
        max: u64,
    },
    /// Max fee per mana below the block's fee.
    #[error("max fee per mana {max_fee} below the current {fee}")]
    FeeTooLow {
        /// Tx's cap.
        max_fee: u128,
        /// Block fee.
        fee: u128,
    },
    /// The fee payer cannot cover gas limit × fee.
    #[error("insufficient fee balance: has {balance}, needs {required}")]
    InsufficientFee {
        /// Balance.
        balance: String,
        /// Required.
        required: String,
    },
    /// Signature missing, malformed or not by the sender.
    #[error("bad signature")]
    BadSignature,
    /// Only the sender may pay its fee (paymasters are not supported yet).
    #[error("the fee payer must be the sender")]
    FeePayerNotSender,
    /// The anchor is not a recent archive root.
    #[error("unknown anchor {0}")]
    UnknownAnchor(String),
    /// A nullifier already in the tree, or twice in the tx.
    #[error("double spend: nullifier {0}")]
    DoubleSpend(String),
    /// No verification key for the statement.
    #[error("unknown statement {0}")]
    UnknownStatement(u8),
    /// A proof that does not verify.
    #[error("bad proof for spend {0}")]
    BadProof(usize),
    /// A public call reverted.
    #[error("{phase} call {index} reverted: {reason}")]
    Reverted {
        /// setup / app / teardown / fee.
        phase: String,
        /// Call index in the phase.
        index: usize,
        /// VM error text.
        reason: String,
    },
    /// Gas ran out.
    #[error("out of gas in {phase} (limit {limit})")]
    OutOfGas {
        /// Phase.
        phase: String,
        /// Tx gas limit.
        limit: u64,
    },
}

impl Rejection {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::WrongChainId { .. } => "wrong-chain-id",
            Rejection::WrongRollupVersion { .. } => "wrong-rollup-version",
            Rejection::Expired { .. } => "expired",
            Rejection::BadGasLimit { .. } => "bad-gas-limit",
            Rejection::FeeTooLow { .. } => "fee-too-low",
            Rejection::InsufficientFee { .. } => "insufficient-fee",
            Rejection::BadSignature => "bad-signature",
            Rejection::FeePayerNotSender => "fee-payer-not-sender",
            Rejection::UnknownAnchor(_) => "unknown-anchor",
            Rejection::DoubleSpend(_) => "double-spend",
            Rejection::UnknownStatement(_) => "unknown-statement",
            Rejection::BadProof(_) => "bad-proof",
            Rejection::Reverted { .. } => "vm-revert",
            Rejection::OutOfGas { .. } => "out-of-gas",
        }
    }
}

/// Intrinsic mana of a tx.
pub fn intrinsic_gas(tx: &Tx) -> u64 {
    let calls = tx.calls.setup.len() + tx.calls.app.len() + tx.calls.teardown.len();
    INTRINSIC_GAS + GAS_PER_SPEND * tx.spends.len() as u64 + GAS_PER_CALL * calls as u64
}

/// Public-data key of `payer`'s fee-juice balance (the fee contract's balance slot layout).
pub fn fee_balance_key(state: &dyn VmState, payer: &[u8; 20]) -> Fr {
    let inner = state.poseidon(
        domain::APP,
        &[
            Fr::from(1u64),
            address_word(payer).to_fr().unwrap_or_default(),
        ],
    );
    // FEE_ADDRESS and `inner` are field elements by construction.
    public_slot(state, &FEE_ADDRESS, &Word::from_fr(&inner)).unwrap_or_default()
}

fn fr_u128(x: &Fr) -> Option<u128> {
    let w = Word::from_fr(x);
    (w.0[2] == 0 && w.0[3] == 0).then(|| (u128::from(w.0[1]) << 64) | u128::from(w.0[0]))
}

/// A tx that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTx {
    /// The decoded tx.
    pub tx: Tx,
    /// Its hash.
    pub hash: [u8; 32],
    /// The note-hash root its spends prove against.
    pub note_root: Fr,
}

/// Stage 1, tx validation: format, binding, expiry, gas, fee, signature, anchor, nullifiers.
pub fn validate(
    bytes: &[u8],
    ctx: &BlockContext,
    state: &dyn StateView,
    crypto: &dyn Crypto,
) -> Result<ValidTx, Rejection> {
    let tx = Tx::decode(bytes).map_err(|e| Rejection::Malformed(e.to_string()))?;
    if tx.chain_id != ctx.chain_id {
        return Err(Rejection::WrongChainId {
            expected: ctx.chain_id,
            got: tx.chain_id,
        });
    }
    if tx.rollup_version != ctx.rollup_version {
        return Err(Rejection::WrongRollupVersion {
            expected: ctx.rollup_version,
            got: tx.rollup_version,
        });
    }
    if ctx.block_number > tx.expiry_block {
        return Err(Rejection::Expired {
            expiry: tx.expiry_block,
            block: ctx.block_number,
        });
    }
    let min = intrinsic_gas(&tx);
    if tx.gas.gas_limit < min || tx.gas.gas_limit > MAX_TX_GAS {
        return Err(Rejection::BadGasLimit {
            limit: tx.gas.gas_limit,
            min,
            max: MAX_TX_GAS,
        });
    }
    if tx.gas.max_fee_per_mana < ctx.fee_per_mana {
        return Err(Rejection::FeeTooLow {
            max_fee: tx.gas.max_fee_per_mana,
            fee: ctx.fee_per_mana,
        });
    }
    if tx.fee_payer != tx.sender {
        return Err(Rejection::FeePayerNotSender);
    }
    let hash = tx.hash();
    let mut sh = b"cairn.tx.v1".to_vec();
    sh.extend_from_slice(&hash);
    let signing = crypto.keccak256(&sh);
    if crypto.ecrecover(&signing, &tx.signature) != Some(tx.sender) {
        return Err(Rejection::BadSignature);
    }
    let note_root = state
        .anchor_note_root(&tx.anchor)
        .ok_or_else(|| Rejection::UnknownAnchor(fr_to_hex(&tx.anchor)))?;
    let mut seen = BTreeSet::new();
    let own = tx_nullifier(state, &hash);
    for n in std::iter::once(own).chain(tx.spends.iter().map(|s| s.nullifier)) {
        if !seen.insert(fr_to_raw(&n)) || state.nullifier_exists(&n) {
            return Err(Rejection::DoubleSpend(fr_to_hex(&n)));
        }
    }
    let required = u128::from(tx.gas.gas_limit).saturating_mul(ctx.fee_per_mana);
    let balance = state.public_read(&fee_balance_key(state, &tx.fee_payer));
    let enough = fr_u128(&balance).map(|b| b >= required).unwrap_or(true);
    if !enough {
        return Err(Rejection::InsufficientFee {
            balance: Word::from_fr(&balance).to_hex_min(),
            required: required.to_string(),
        });
    }
    Ok(ValidTx {
        tx,
        hash,
        note_root,
    })
}

/// Public inputs of a note-spend proof, in circuit order.
pub fn spend_inputs(note_root: Fr, spend: &crate::tx::Spend, binding: Fr) -> Vec<Fr> {
    vec![
        note_root,
        spend.nullifier,
        spend.note_hashes[0],
        spend.note_hashes[1],
        binding,
    ]
}

/// Stage 2, proof verification, over many txs at once: every spend proof is checked against
/// its statement's key, batched per statement; a failing batch is re-checked proof by proof
/// so that exactly the bad txs are rejected.
pub fn verify_proofs(
    txs: &[ValidTx],
    state: &dyn StateView,
    crypto: &dyn Crypto,
) -> Vec<Result<(), Rejection>> {
    let mut out: Vec<Result<(), Rejection>> = vec![Ok(()); txs.len()];
    // statement → (tx index, spend index, proof, inputs)
    // (tx index, spend index, proof, public inputs)
    type Item = (usize, usize, Proof, Vec<Fr>);
    let mut groups: BTreeMap<u8, Vec<Item>> = BTreeMap::new();
    for (ti, v) in txs.iter().enumerate() {
        let binding = v.tx.binding();
        for (si, s) in v.tx.spends.iter().enumerate() {
            groups.entry(s.statement).or_default().push((
                ti,
                si,
                Proof::from_bytes(&s.proof),
                spend_inputs(v.note_root, s, binding),
            ));
        }
    }
    for (statement, items) in groups {
        let vk = state
            .verification_key(statement)
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        let Some(vk) = vk else {
            for (ti, ..) in &items {
                out[*ti] = Err(Rejection::UnknownStatement(statement));
            }
            continue;
        };
        let batch: Vec<(Proof, Vec<Fr>)> =
            items.iter().map(|(_, _, p, i)| (*p, i.clone())).collect();
        if groth16::verify_batch(crypto, &vk, &batch) == Ok(true) {
            continue;
        }
        for (ti, si, p, inputs) in &items {
            if groth16::verify(crypto, &vk, p, inputs) != Ok(true) && out[*ti].is_ok() {
                out[*ti] = Err(Rejection::BadProof(*si));
            }
        }
    }
    out
}

/// What one tx changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxEffects {
    /// Tx hash.
    pub hash: [u8; 32],
    /// Mana used.
    pub gas_used: u64,
    /// Fee paid (gas used × fee per mana).
    pub fee: u128,
    /// State changes: private nullifiers and note hashes first (tx nullifier, then spends), then
    /// the public ones in execution order.
    pub effects: Effects,
}

impl TxEffects {
    /// Canonical bytes (for the block's effects hash and the differential tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.hash);
        v.extend_from_slice(&self.gas_used.to_be_bytes());
        v.extend_from_slice(&self.fee.to_be_bytes());
        v.extend_from_slice(&(self.effects.writes.len() as u32).to_be_bytes());
        // Writes are keyed by the slot's Montgomery form (cheap inside wasm); the encoding
        // carries canonical bytes, in that key order.
        for (k, val) in &self.effects.writes {
            let key = crate::field::fr_from_raw(k).unwrap_or_default();
            v.extend_from_slice(&fr_to_bytes(&key));
            v.extend_from_slice(&fr_to_bytes(val));
        }
        for list in [&self.effects.nullifiers, &self.effects.note_hashes] {
            v.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for x in list.iter() {
                v.extend_from_slice(&fr_to_bytes(x));
            }
        }
        v.extend_from_slice(&(self.effects.logs.len() as u32).to_be_bytes());
        for l in &self.effects.logs {
            v.extend_from_slice(&l.contract.to_be_bytes());
            v.extend_from_slice(&(l.data.len() as u32).to_be_bytes());
            for w in &l.data {
                v.extend_from_slice(&w.to_be_bytes());
            }
        }
        v.extend_from_slice(&(self.effects.l2_to_l1.len() as u32).to_be_bytes());
        for m in &self.effects.l2_to_l1 {
            v.extend_from_slice(&m.sender.to_be_bytes());
            v.extend_from_slice(&m.recipient.to_be_bytes());
            v.extend_from_slice(&m.content.to_be_bytes());
        }
        v
    }

    /// Parses [`encode`](Self::encode) output (a node stores effects and replays them on
    /// restart without re-executing). `None` if the bytes are not a canonical encoding.
    pub fn decode(b: &[u8]) -> Option<TxEffects> {
        struct R<'a>(&'a [u8]);
        impl R<'_> {
            fn take(&mut self, n: usize) -> Option<&[u8]> {
                if self.0.len() < n {
                    return None;
                }
                let (a, rest) = self.0.split_at(n);
                self.0 = rest;
                Some(a)
            }
            fn b32(&mut self) -> Option<[u8; 32]> {
                self.take(32)?.try_into().ok()
            }
            fn u32(&mut self) -> Option<usize> {
                Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize)
            }
            fn fr(&mut self) -> Option<Fr> {
                crate::field::fr_from_bytes(&self.b32()?)
            }
            fn word(&mut self) -> Option<crate::vm::Word> {
                Some(crate::vm::Word::from_be_bytes(&self.b32()?))
            }
            fn count(&mut self, min_each: usize) -> Option<usize> {
                let n = self.u32()?;
                // A count can never exceed what the remaining bytes could hold.
                (n.saturating_mul(min_each) <= self.0.len()).then_some(n)
            }
        }
        let mut r = R(b);
        let hash = r.b32()?;
        let gas_used = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let fee = u128::from_be_bytes(r.take(16)?.try_into().ok()?);
        let mut effects = Effects::default();
        for _ in 0..r.count(64)? {
            let key = r.fr()?;
            let val = r.fr()?;
            effects.writes.insert(crate::field::fr_to_raw(&key), val);
        }
        for _ in 0..r.count(32)? {
            effects.nullifiers.push(r.fr()?);
        }
        for _ in 0..r.count(32)? {
            effects.note_hashes.push(r.fr()?);
        }
        for _ in 0..r.count(36)? {
            let contract = r.word()?;
            let mut data = Vec::new();
            for _ in 0..r.count(32)? {
                data.push(r.word()?);
            }
            effects.logs.push(crate::vm::interp::Log { contract, data });
        }
        for _ in 0..r.count(96)? {
            effects.l2_to_l1.push(crate::vm::interp::L2ToL1 {
                sender: r.word()?,
                recipient: r.word()?,
                content: r.word()?,
            });
        }
        let out = TxEffects {
            hash,
            gas_used,
            fee,
            effects,
        };
        // Canonical only: re-encoding must give the same bytes (rejects trailing data and
        // write keys out of order).
        (r.0.is_empty() && out.encode() == b).then_some(out)
    }
}

/// A view of `base` plus the effects of the txs already executed in this block.
pub struct Overlay<'a> {
    base: &'a dyn StateView,
    writes: BTreeMap<[u8; 32], Fr>,
    nullifiers: BTreeSet<[u8; 32]>,
}

impl<'a> Overlay<'a> {
    /// An empty overlay.
    pub fn new(base: &'a dyn StateView) -> Self {
        Self {
            base,
            writes: BTreeMap::new(),
            nullifiers: BTreeSet::new(),
        }
    }

    /// Adds a tx's effects.
    pub fn apply(&mut self, e: &Effects) {
        for (k, v) in &e.writes {
            self.writes.insert(*k, *v);
        }
        for n in &e.nullifiers {
            self.nullifiers.insert(fr_to_raw(n));
        }
    }
}

impl VmState for Overlay<'_> {
    fn public_read(&self, slot: &Fr) -> Fr {
        self.writes
            .get(&fr_to_raw(slot))
            .copied()
            .unwrap_or_else(|| self.base.public_read(slot))
    }
    fn nullifier_exists(&self, n: &Fr) -> bool {
        self.nullifiers.contains(&fr_to_raw(n)) || self.base.nullifier_exists(n)
    }
    fn contract_code(&self, a: &Word) -> Option<Vec<u8>> {
        self.base.contract_code(a)
    }
    fn poseidon(&self, d: u64, i: &[Fr]) -> Fr {
        self.base.poseidon(d, i)
    }
}

impl StateView for Overlay<'_> {
    fn anchor_note_root(&self, a: &Fr) -> Option<Fr> {
        self.base.anchor_note_root(a)
    }
    fn verification_key(&self, s: u8) -> Option<Vec<u8>> {
        self.base.verification_key(s)
    }
}

/// The protocol's own account (caller 0) for fee calls.
const PROTOCOL: Word = Word::ZERO;

/// Stage 3, public execution of one tx: charge gas limit × fee up front (fee contract), run
/// setup, app and teardown calls as the sender, refund the unused gas. Any failure rejects the
/// tx and leaves no effect.
pub fn execute(
    v: &ValidTx,
    ctx: &BlockContext,
    state: &dyn VmState,
) -> Result<TxEffects, Rejection> {
    execute_with(v, ctx, state, &mut Programs::default())
}

fn execute_with(
    v: &ValidTx,
    ctx: &BlockContext,
    state: &dyn VmState,
    programs: &mut Programs,
) -> Result<TxEffects, Rejection> {
    let env = Env {
        block_number: ctx.block_number,
        chain_id: ctx.chain_id,
    };
    let mut vm = Vm::with_programs(state, env, std::mem::take(programs));
    let r = run_calls(v, ctx, &mut vm);
    let (effects, p) = vm.into_parts();
    *programs = p;
    let (used, fee) = r?;
    finish(v, state, used, fee, effects)
}

/// Fee precharge, the three phases, refund: returns (gas used, fee).
fn run_calls(v: &ValidTx, ctx: &BlockContext, vm: &mut Vm<'_>) -> Result<(u64, u128), Rejection> {
    let tx = &v.tx;
    let payer = address_word(&tx.fee_payer);
    let coinbase = address_word(&ctx.coinbase);
    let limit = tx.gas.gas_limit;
    let precharge = u128::from(limit) * ctx.fee_per_mana;
    let amount = |a: u128| Word::from_be_slice(&a.to_be_bytes());
    let fee_call = |selector: u32, a: u128| Call {
        contract: FEE_ADDRESS,
        selector,
        args: vec![payer, amount(a), coinbase],
    };
    // Protocol calls are not metered against the tx.
    let o = vm.call(PROTOCOL, &fee_call(sel::PAY_FEE, precharge), MAX_TX_GAS);
    if let Some(e) = o.error {
        return Err(Rejection::Reverted {
            phase: "fee".into(),
            index: 0,
            reason: e.to_string(),
        });
    }
    let mut used = intrinsic_gas(tx);
    let sender = address_word(&tx.sender);
    for (phase, calls) in [
        ("setup", &tx.calls.setup),
        ("app", &tx.calls.app),
        ("teardown", &tx.calls.teardown),
    ] {
        for (index, c) in calls.iter().enumerate() {
            let call = Call {
                contract: address_word(&c.contract),
                selector: c.selector,
                args: c.args.clone(),
            };
            let left = limit.saturating_sub(used);
            let o = vm.call(sender, &call, left);
            used += o.gas_used;
            match o.error {
                None => {}
                Some(crate::vm::VmError::OutOfGas) => {
                    return Err(Rejection::OutOfGas {
                        phase: phase.into(),
                        limit,
                    })
                }
                Some(e) => {
                    return Err(Rejection::Reverted {
                        phase: phase.into(),
                        index,
                        reason: e.to_string(),
                    })
                }
            }
        }
    }
    let fee = u128::from(used) * ctx.fee_per_mana;
    if precharge > fee {
        let o = vm.call(
            PROTOCOL,
            &fee_call(sel::REFUND, precharge - fee),
            MAX_TX_GAS,
        );
        if let Some(e) = o.error {
            return Err(Rejection::Reverted {
                phase: "fee".into(),
                index: 1,
                reason: e.to_string(),
            });
        }
    }
    Ok((used, fee))
}

/// Adds the private effects (tx nullifier, then each spend's) in front of the public ones.
fn finish(
    v: &ValidTx,
    state: &dyn VmState,
    used: u64,
    fee: u128,
    mut effects: Effects,
) -> Result<TxEffects, Rejection> {
    let tx = &v.tx;
    // Private effects first: the tx nullifier, then each spend's.
    let mut nullifiers = vec![tx_nullifier(state, &v.hash)];
    let mut notes = Vec::new();
    for s in &tx.spends {
        nullifiers.push(s.nullifier);
        notes.extend_from_slice(&s.note_hashes);
    }
    // Public nullifiers were checked against the state; private ones in validation, but a
    // public one may equal a private one of the same tx.
    let mut seen = BTreeSet::new();
    for n in nullifiers.iter().chain(&effects.nullifiers) {
        if !seen.insert(fr_to_raw(n)) {
            return Err(Rejection::DoubleSpend(fr_to_hex(n)));
        }
    }
    nullifiers.append(&mut effects.nullifiers);
    notes.append(&mut effects.note_hashes);
    effects.nullifiers = nullifiers;
    effects.note_hashes = notes;
    Ok(TxEffects {
        hash: v.hash,
        gas_used: used,
        fee,
        effects,
    })
}

/// The nullifier every tx emits, `hash(7, [0, tx hash mod r])`, so no tx is included twice;
/// Poseidon comes from the state's provider (a host call inside a component).
pub fn tx_nullifier(state: &dyn VmState, hash: &[u8; 32]) -> Fr {
    state.poseidon(
        domain::SILOED_NULLIFIER,
        &[
            Fr::from(0u64),
            ark_ff::PrimeField::from_be_bytes_mod_order(hash),
        ],
    )
}

/// Stage 3 over a block's txs in order, each seeing the effects of the ones before.
pub fn execute_block(
    txs: &[ValidTx],
    ctx: &BlockContext,
    state: &dyn StateView,
) -> Vec<Result<TxEffects, Rejection>> {
    let mut overlay = Overlay::new(state);
    let mut programs = Programs::default();
    let mut out = Vec::with_capacity(txs.len());
    for v in txs {
        // Nullifiers may have been spent by an earlier tx of this block.
        // Poseidon through the state's provider: a host call inside a component, where
        // computing it in wasm would cost more than the rest of the tx.
        let dup = std::iter::once(tx_nullifier(&overlay, &v.hash))
            .chain(v.tx.spends.iter().map(|s| s.nullifier))
            .find(|n| overlay.nullifier_exists(n));
        let r = match dup {
            Some(n) => Err(Rejection::DoubleSpend(fr_to_hex(&n))),
            None => execute_with(v, ctx, &overlay, &mut programs),
        };
        if let Ok(e) = &r {
            overlay.apply(&e.effects);
        }
        out.push(r);
    }
    out
}

/// Hash of a block's effects: keccak256 over each tx's [`TxEffects::encode`], in order.
pub fn effects_hash(crypto: &dyn Crypto, effects: &[TxEffects]) -> [u8; 32] {
    let mut all = Vec::new();
    for e in effects {
        all.extend_from_slice(&crypto.keccak256(&e.encode()));
    }
    crypto.keccak256(&all)
}

/// A block header: what a proposer commits to and the committee attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// L1 chain id.
    pub chain_id: u64,
    /// Rollup version.
    pub rollup_version: u64,
    /// Block number.
    pub block_number: u64,
    /// L2 slot.
    pub slot: u64,
    /// Fee per mana.
    pub fee_per_mana: u128,
    /// Coinbase.
    pub coinbase: [u8; 20],
    /// Archive root before this block.
    pub previous_archive: [u8; 32],
    /// Note-hash root after.
    pub note_root: [u8; 32],
    /// Nullifier root after.
    pub nullifier_root: [u8; 32],
    /// Public-data root after.
    pub public_data_root: [u8; 32],
    /// [`effects_hash`] of the block's txs.
    pub effects_hash: [u8; 32],
    /// Number of txs.
    pub tx_count: u32,
    /// Total mana.
    pub gas_used: u64,
}

impl BlockHeader {
    /// Length of [`encode`](Self::encode).
    pub const ENCODED_LEN: usize = 240;

    /// Canonical bytes (fixed 240 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(240);
        v.extend_from_slice(&self.chain_id.to_be_bytes());
        v.extend_from_slice(&self.rollup_version.to_be_bytes());
        v.extend_from_slice(&self.block_number.to_be_bytes());
        v.extend_from_slice(&self.slot.to_be_bytes());
        v.extend_from_slice(&self.fee_per_mana.to_be_bytes());
        v.extend_from_slice(&self.coinbase);
        for r in [
            &self.previous_archive,
            &self.note_root,
            &self.nullifier_root,
            &self.public_data_root,
            &self.effects_hash,
        ] {
            v.extend_from_slice(r);
        }
        v.extend_from_slice(&self.tx_count.to_be_bytes());
        v.extend_from_slice(&self.gas_used.to_be_bytes());
        v
    }

    /// Parses [`encode`](Self::encode) output.
    pub fn decode(b: &[u8]) -> Option<BlockHeader> {
        if b.len() != 240 {
            return None;
        }
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let h32 = |i: usize| -> [u8; 32] { b[i..i + 32].try_into().unwrap_or([0; 32]) };
        Some(BlockHeader {
            chain_id: u64_at(0),
            rollup_version: u64_at(8),
            block_number: u64_at(16),
            slot: u64_at(24),
            fee_per_mana: u128::from_be_bytes(b[32..48].try_into().unwrap_or([0; 16])),
            coinbase: b[48..68].try_into().unwrap_or([0; 20]),
            previous_archive: h32(68),
            note_root: h32(100),
            nullifier_root: h32(132),
            public_data_root: h32(164),
            effects_hash: h32(196),
            tx_count: u32::from_be_bytes(b[228..232].try_into().unwrap_or([0; 4])),
            gas_used: u64_at(232),
        })
    }
}

/// Why the attestation stage refuses to attest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttestError {
    /// The proposal does not parse.
    #[error("malformed proposal header")]
    Malformed,
    /// A field differs from the local re-execution.
    #[error("proposal {field} differs from re-execution")]
    Mismatch {
        /// The field.
        field: &'static str,
    },
}

/// Stage 4, attestation: compare the proposer's header with the one re-execution produced; if
/// they agree, return the digest the attester's key signs (by the host, never in a module).
pub fn attest(
    proposal: &[u8],
    local: &BlockHeader,
    crypto: &dyn Crypto,
) -> Result<[u8; 32], AttestError> {
    let p = BlockHeader::decode(proposal).ok_or(AttestError::Malformed)?;
    let checks: [(&'static str, bool); 10] = [
        ("chain id", p.chain_id == local.chain_id),
        ("rollup version", p.rollup_version == local.rollup_version),
        ("block number", p.block_number == local.block_number),
        (
            "previous archive",
            p.previous_archive == local.previous_archive,
        ),
        ("note root", p.note_root == local.note_root),
        ("nullifier root", p.nullifier_root == local.nullifier_root),
        (
            "public data root",
            p.public_data_root == local.public_data_root,
        ),
        ("effects hash", p.effects_hash == local.effects_hash),
        ("tx count", p.tx_count == local.tx_count),
        ("gas used", p.gas_used == local.gas_used),
    ];
    if let Some((field, _)) = checks.iter().find(|(_, ok)| !ok) {
        return Err(AttestError::Mismatch { field });
    }
    let mut payload = b"cairn.attestation.v1".to_vec();
    payload.extend_from_slice(&crypto.keccak256(proposal));
    Ok(crypto.keccak256(&payload))
}

#[cfg(test)]
mod effects_codec {
    use super::*;
    use crate::vm::interp::{L2ToL1, Log};

    fn sample() -> TxEffects {
        let mut effects = Effects::default();
        for i in 1..4u64 {
            effects
                .writes
                .insert(fr_to_raw(&Fr::from(i * 7)), Fr::from(i * 1000));
        }
        effects.nullifiers = vec![Fr::from(11u64), Fr::from(12u64)];
        effects.note_hashes = vec![Fr::from(21u64)];
        effects.logs = vec![Log {
            contract: Word::from(0xc0u64),
            data: vec![Word::from(1u64), Word::from(2u64)],
        }];
        effects.l2_to_l1 = vec![L2ToL1 {
            sender: Word::from(3u64),
            recipient: Word::from(4u64),
            content: Word::from(5u64),
        }];
        TxEffects {
            hash: [9; 32],
            gas_used: 12_345,
            fee: 678_910,
            effects,
        }
    }

    #[test]
    fn decode_inverts_encode() {
        let e = sample();
        assert_eq!(TxEffects::decode(&e.encode()), Some(e.clone()));
        let empty = TxEffects {
            hash: [0; 32],
            gas_used: 0,
            fee: 0,
            effects: Effects::default(),
        };
        assert_eq!(TxEffects::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn decode_rejects_truncated_trailing_and_huge_counts() {
        let b = sample().encode();
        for cut in [0, 31, 40, b.len() - 1] {
            assert_eq!(TxEffects::decode(&b[..cut]), None, "cut at {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(TxEffects::decode(&long), None);
        let mut huge = b.clone();
        huge[56..60].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(TxEffects::decode(&huge), None);
    }
}
