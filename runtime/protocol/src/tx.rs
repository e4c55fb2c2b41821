//! The transaction format and its canonical encoding (docs/protocol.md §4).
//!
//! Encoding: fixed-width big-endian integers, 32-byte field elements (canonical, below r),
//! 20-byte addresses, one-byte counts; nothing optional, nothing left over. Decoding accepts
//! exactly the bytes encoding produces, so the tx hash is a function of the tx.

use ark_bn254::Fr;
use sha3::{Digest, Keccak256};
use thiserror::Error;

use crate::field::{fr_from_bytes, fr_to_bytes};
use crate::vm::Word;

/// Format version.
pub const TX_VERSION: u8 = 1;
/// Most spends per tx.
pub const MAX_SPENDS: usize = 4;
/// Most public calls per phase.
pub const MAX_CALLS: usize = 8;
/// Most arguments per call.
pub const MAX_ARGS: usize = 16;
/// Largest encoded tx.
pub const MAX_TX_BYTES: usize = 16 * 1024;
/// Length of an encoded Groth16 proof (A, C compressed G1; B compressed G2).
pub const PROOF_BYTES: usize = 128;

/// A 20-byte account or contract address.
pub type Address = [u8; 20];

/// Address → VM word.
pub fn address_word(a: &Address) -> Word {
    Word::from_be_slice(a)
}

/// Gas settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasSettings {
    /// Most mana the tx may use (intrinsic + public execution).
    pub gas_limit: u64,
    /// Highest fee per mana the sender accepts.
    pub max_fee_per_mana: u128,
}

/// A private note spend: effects plus the Groth16 proof that binds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// Statement the proof is for (verification key id).
    pub statement: u8,
    /// Nullifier of the spent note.
    pub nullifier: Fr,
    /// The two new note hashes.
    pub note_hashes: [Fr; 2],
    /// The proof.
    pub proof: [u8; PROOF_BYTES],
}

/// One public call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicCall {
    /// Contract.
    pub contract: Address,
    /// Selector.
    pub selector: u32,
    /// Arguments.
    pub args: Vec<Word>,
}

/// Public calls by phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicCalls {
    /// Non-revertible setup.
    pub setup: Vec<PublicCall>,
    /// App logic.
    pub app: Vec<PublicCall>,
    /// Teardown.
    pub teardown: Vec<PublicCall>,
}

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// L1 chain id it is bound to.
    pub chain_id: u64,
    /// Rollup version it is bound to.
    pub rollup_version: u64,
    /// Last L2 block it may be included in.
    pub expiry_block: u64,
    /// Gas settings.
    pub gas: GasSettings,
    /// Signer; the caller of every public call.
    pub sender: Address,
    /// Who pays the fee (its fee-juice balance).
    pub fee_payer: Address,
    /// A recent archive root the spends prove against.
    pub anchor: Fr,
    /// Private spends.
    pub spends: Vec<Spend>,
    /// Public calls.
    pub calls: PublicCalls,
    /// secp256k1 signature (r ‖ s ‖ v) by `sender` over [`Tx::signing_hash`].
    pub signature: [u8; 65],
}

/// Why bytes are not a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Ran out of bytes.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// Bytes left after the tx.
    #[error("{0} trailing byte(s)")]
    Trailing(usize),
    /// Unknown version.
    #[error("unsupported version {0}")]
    Version(u8),
    /// A field element not below r.
    #[error("non-canonical field element at byte {0}")]
    Field(usize),
    /// A count above its limit.
    #[error("{what}: {n} exceeds the limit {max}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// Count.
        n: usize,
        /// Limit.
        max: usize,
    },
    /// Too large.
    #[error("{0} bytes exceeds the limit {MAX_TX_BYTES}")]
    TooLarge(usize),
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v)
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes())
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_be_bytes())
    }
    fn fr(&mut self, v: &Fr) {
        self.0.extend_from_slice(&fr_to_bytes(v))
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b)
    }
}

struct R<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or(DecodeError::Truncated(self.at))?;
        self.at += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.arr()?))
    }
    fn fr(&mut self) -> Result<Fr, DecodeError> {
        let at = self.at;
        fr_from_bytes(&self.arr()?).ok_or(DecodeError::Field(at))
    }
    fn count(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.u8()? as usize;
        if n > max {
            return Err(DecodeError::Limit { what, n, max });
        }
        Ok(n)
    }
}

fn encode_calls(w: &mut W, calls: &[PublicCall]) {
    w.u8(calls.len() as u8);
    for c in calls {
        w.bytes(&c.contract);
        w.u32(c.selector);
        w.u8(c.args.len() as u8);
        for a in &c.args {
            w.bytes(&a.to_be_bytes());
        }
    }
}

fn decode_calls(r: &mut R, phase: &'static str) -> Result<Vec<PublicCall>, DecodeError> {
    let n = r.count(phase, MAX_CALLS)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let contract = r.arr()?;
        let selector = r.u32()?;
        let argc = r.count("call arguments", MAX_ARGS)?;
        let mut args = Vec::with_capacity(argc);
        for _ in 0..argc {
            args.push(Word::from_be_bytes(&r.arr()?));
        }
        out.push(PublicCall {
            contract,
            selector,
            args,
        });
    }
    Ok(out)
}

impl Tx {
    fn encode_body(&self, w: &mut W, with_proofs: bool) {
        w.u8(TX_VERSION);
        w.u64(self.chain_id);
        w.u64(self.rollup_version);
        w.u64(self.expiry_block);
        w.u64(self.gas.gas_limit);
        w.u128(self.gas.max_fee_per_mana);
        w.bytes(&self.sender);
        w.bytes(&self.fee_payer);
        w.fr(&self.anchor);
        w.u8(self.spends.len() as u8);
        for s in &self.spends {
            w.u8(s.statement);
            w.fr(&s.nullifier);
            w.fr(&s.note_hashes[0]);
            w.fr(&s.note_hashes[1]);
            if with_proofs {
                w.bytes(&s.proof);
            } else {
                w.bytes(&[0u8; PROOF_BYTES]);
            }
        }
        encode_calls(w, &self.calls.setup);
        encode_calls(w, &self.calls.app);
        encode_calls(w, &self.calls.teardown);
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(Vec::with_capacity(512));
        self.encode_body(&mut w, true);
        w.bytes(&self.signature);
        w.0
    }

    /// Decodes canonical bytes.
    pub fn decode(b: &[u8]) -> Result<Tx, DecodeError> {
        if b.len() > MAX_TX_BYTES {
            return Err(DecodeError::TooLarge(b.len()));
        }
        let mut r = R { b, at: 0 };
        let v = r.u8()?;
        if v != TX_VERSION {
            return Err(DecodeError::Version(v));
        }
        let chain_id = r.u64()?;
        let rollup_version = r.u64()?;
        let expiry_block = r.u64()?;
        let gas = GasSettings {
            gas_limit: r.u64()?,
            max_fee_per_mana: r.u128()?,
        };
        let sender = r.arr()?;
        let fee_payer = r.arr()?;
        let anchor = r.fr()?;
        let n = r.count("spends", MAX_SPENDS)?;
        let mut spends = Vec::with_capacity(n);
        for _ in 0..n {
            let statement = r.u8()?;
            let nullifier = r.fr()?;
            let note_hashes = [r.fr()?, r.fr()?];
            let proof = r.arr()?;
            spends.push(Spend {
                statement,
                nullifier,
                note_hashes,
                proof,
            });
        }
        let calls = PublicCalls {
            setup: decode_calls(&mut r, "setup calls")?,
            app: decode_calls(&mut r, "app calls")?,
            teardown: decode_calls(&mut r, "teardown calls")?,
        };
        let signature = r.arr()?;
        if r.at != b.len() {
            return Err(DecodeError::Trailing(b.len() - r.at));
        }
        Ok(Tx {
            chain_id,
            rollup_version,
            expiry_block,
            gas,
            sender,
            fee_payer,
            anchor,
            spends,
            calls,
            signature,
        })
    }

    /// The tx hash: keccak256 of the encoding without the signature.
    pub fn hash(&self) -> [u8; 32] {
        let mut w = W(Vec::with_capacity(512));
        self.encode_body(&mut w, true);
        Keccak256::digest(&w.0).into()
    }

    /// What the sender signs: keccak256("cairn.tx.v1" ‖ tx hash).
    pub fn signing_hash(&self) -> [u8; 32] {
        let mut h = Keccak256::new();
        h.update(b"cairn.tx.v1");
        h.update(self.hash());
        h.finalize().into()
    }

    /// The value every spend proof binds to (a public input): the tx without proofs or
    /// signature, hashed into the field. A proof cannot be moved to a different tx.
    pub fn binding(&self) -> Fr {
        use ark_ff::PrimeField;
        let mut w = W(Vec::with_capacity(512));
        self.encode_body(&mut w, false);
        let mut h = Keccak256::new();
        h.update(b"cairn.binding.v1");
        h.update(&w.0);
        Fr::from_be_bytes_mod_order(&h.finalize())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Tx {
        Tx {
            chain_id: 31337,
            rollup_version: 7,
            expiry_block: 100,
            gas: GasSettings {
                gas_limit: 200_000,
                max_fee_per_mana: 10,
            },
            sender: [1; 20],
            fee_payer: [1; 20],
            anchor: Fr::from(42u64),
            spends: vec![Spend {
                statement: 1,
                nullifier: Fr::from(5u64),
                note_hashes: [Fr::from(6u64), Fr::from(7u64)],
                proof: [9; PROOF_BYTES],
            }],
            calls: PublicCalls {
                setup: vec![],
                app: vec![PublicCall {
                    contract: [0xc0; 20],
                    selector: 1,
                    args: vec![Word::from(3)],
                }],
                teardown: vec![],
            },
            signature: [2; 65],
        }
    }

    #[test]
    fn round_trip_and_strictness() {
        let tx = sample();
        let b = tx.encode();
        assert_eq!(Tx::decode(&b).unwrap(), tx);
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(Tx::decode(&longer), Err(DecodeError::Trailing(1)));
        assert!(matches!(
            Tx::decode(&b[..b.len() - 1]),
            Err(DecodeError::Truncated(_))
        ));
        let mut bad = b.clone();
        bad[0] = 2;
        assert_eq!(Tx::decode(&bad), Err(DecodeError::Version(2)));
        // The signature is not part of the hash; the proofs are not part of the binding.
        let mut t2 = tx.clone();
        t2.signature = [3; 65];
        assert_eq!(t2.hash(), tx.hash());
        t2.spends[0].proof = [0; PROOF_BYTES];
        assert_ne!(t2.hash(), tx.hash());
        assert_eq!(t2.binding(), tx.binding());
        t2.gas.gas_limit += 1;
        assert_ne!(t2.binding(), tx.binding());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(tx) = Tx::decode(&data) {
                proptest::prop_assert_eq!(tx.encode(), data);
            }
        }
    }
}
