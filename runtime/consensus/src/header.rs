//! The checkpoint header `propose` carries and its hash (`ProposedHeaderLib.hash`).
//!
//! The hash is `sha256ToField` of the fields packed in struct order, with the timestamp narrowed
//! to 8 bytes: five `bytes32`, slot (32), timestamp (8), coinbase (20), fee recipient (32), fee
//! per DA gas (16), fee per L2 gas (16), total mana used (32) — 316 bytes. It is the `headerHash`
//! inside the attestation payload and `getCheckpoint(n).headerHash`.

use alloy_primitives::{Address, B256, U256};
use thiserror::Error;

use crate::abi;

/// Length of [`ProposedHeader::packed`].
pub const PACKED_HEADER_LEN: usize = 316;

/// A checkpoint header, with integer fields in the widths L1 can actually accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProposedHeader {
    /// Archive root of the parent checkpoint (`archiveAt(pending)`).
    pub last_archive_root: B256,
    /// Hash of the checkpoint's L2 block headers.
    pub block_headers_hash: B256,
    /// `crate::blob::blobs_hash` of the checkpoint's versioned blob hashes.
    pub blobs_hash: B256,
    /// Inbox root consumed (`Inbox.getRoot(checkpointNumber)`).
    pub in_hash: B256,
    /// Root of the checkpoint's L2→L1 messages.
    pub out_hash: B256,
    /// Slot of the L1 block that includes the proposal (encoded as `uint256`).
    pub slot_number: u64,
    /// Start of that slot (hashed as `uint64`, encoded in calldata as `uint256`).
    pub timestamp: u64,
    /// Non-zero L1 address of the sequencer.
    pub coinbase: Address,
    /// L2 fee recipient.
    pub fee_recipient: B256,
    /// Fee per DA gas; L1 requires 0.
    pub fee_per_da_gas: u128,
    /// Fee per L2 gas; L1 requires `getManaMinFeeAt(inclusion time, true)`.
    pub fee_per_l2_gas: u128,
    /// Mana used by the checkpoint (encoded as `uint256`).
    pub total_mana_used: u128,
}

/// Why an ABI header does not fit [`ProposedHeader`]'s field widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// A `uint256` field holds a value above the Rust field's range.
    #[error("header field {field} is out of range")]
    FieldOutOfRange {
        /// Solidity name of the field.
        field: &'static str,
    },
}

impl ProposedHeader {
    /// The 316-byte `abi.encodePacked` preimage of [`Self::hash`].
    pub fn packed(&self) -> [u8; PACKED_HEADER_LEN] {
        let mut out = [0u8; PACKED_HEADER_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(self.last_archive_root.as_slice());
        put(self.block_headers_hash.as_slice());
        put(self.blobs_hash.as_slice());
        put(self.in_hash.as_slice());
        put(self.out_hash.as_slice());
        put(&U256::from(self.slot_number).to_be_bytes::<32>());
        put(&self.timestamp.to_be_bytes());
        put(self.coinbase.as_slice());
        put(self.fee_recipient.as_slice());
        put(&self.fee_per_da_gas.to_be_bytes());
        put(&self.fee_per_l2_gas.to_be_bytes());
        put(&U256::from(self.total_mana_used).to_be_bytes::<32>());
        debug_assert_eq!(at, PACKED_HEADER_LEN);
        out
    }

    /// Reads [`packed`](Self::packed) back; the inverse for every header it can produce (the
    /// `uint256` fields must fit their Rust types).
    pub fn from_packed(b: &[u8; PACKED_HEADER_LEN]) -> Result<Self, HeaderError> {
        let word = |at: usize| B256::from_slice(&b[at..at + 32]);
        let fits = |at: usize, bytes: usize, field: &'static str| {
            if b[at..at + 32 - bytes].iter().all(|x| *x == 0) {
                Ok(())
            } else {
                Err(HeaderError::FieldOutOfRange { field })
            }
        };
        let be = |at: usize, n: usize| {
            b[at..at + n]
                .iter()
                .fold(0u128, |acc, x| acc << 8 | u128::from(*x))
        };
        fits(160, 8, "slotNumber")?;
        fits(284, 16, "totalManaUsed")?;
        Ok(ProposedHeader {
            last_archive_root: word(0),
            block_headers_hash: word(32),
            blobs_hash: word(64),
            in_hash: word(96),
            out_hash: word(128),
            slot_number: be(184, 8) as u64,
            timestamp: be(192, 8) as u64,
            coinbase: Address::from_slice(&b[200..220]),
            fee_recipient: word(220),
            fee_per_da_gas: be(252, 16),
            fee_per_l2_gas: be(268, 16),
            total_mana_used: be(300, 16),
        })
    }

    /// The header hash: `sha256ToField(packed())`.
    pub fn hash(&self) -> B256 {
        crate::sha256_to_field(&self.packed())
    }

    /// The ABI struct for `propose`'s `ProposeArgs.header`.
    pub fn to_sol(&self) -> abi::ProposedHeader {
        abi::ProposedHeader {
            lastArchiveRoot: self.last_archive_root,
            blockHeadersHash: self.block_headers_hash,
            blobsHash: self.blobs_hash,
            inHash: self.in_hash,
            outHash: self.out_hash,
            slotNumber: U256::from(self.slot_number),
            timestamp: U256::from(self.timestamp),
            coinbase: self.coinbase,
            feeRecipient: self.fee_recipient,
            gasFees: abi::GasFees {
                feePerDaGas: self.fee_per_da_gas,
                feePerL2Gas: self.fee_per_l2_gas,
            },
            totalManaUsed: U256::from(self.total_mana_used),
        }
    }
}

impl From<&ProposedHeader> for abi::ProposedHeader {
    fn from(header: &ProposedHeader) -> Self {
        header.to_sol()
    }
}

impl TryFrom<&abi::ProposedHeader> for ProposedHeader {
    type Error = HeaderError;

    /// Narrows the `uint256` fields; fails rather than truncating a value L1 would hash whole.
    fn try_from(h: &abi::ProposedHeader) -> Result<Self, HeaderError> {
        let narrow = |v: U256, field: &'static str| -> Result<u64, HeaderError> {
            u64::try_from(v).map_err(|_| HeaderError::FieldOutOfRange { field })
        };
        Ok(Self {
            last_archive_root: h.lastArchiveRoot,
            block_headers_hash: h.blockHeadersHash,
            blobs_hash: h.blobsHash,
            in_hash: h.inHash,
            out_hash: h.outHash,
            slot_number: narrow(h.slotNumber, "slotNumber")?,
            timestamp: narrow(h.timestamp, "timestamp")?,
            coinbase: h.coinbase,
            fee_recipient: h.feeRecipient,
            fee_per_da_gas: h.gasFees.feePerDaGas,
            fee_per_l2_gas: h.gasFees.feePerL2Gas,
            total_mana_used: u128::try_from(h.totalManaUsed).map_err(|_| {
                HeaderError::FieldOutOfRange {
                    field: "totalManaUsed",
                }
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::{EMPTY_EPOCH_OUT_HASH, EMPTY_INBOX_ROOT};
    use alloy_primitives::{address, b256};
    use alloy_sol_types::SolValue;
    use proptest::prelude::*;

    fn sample() -> ProposedHeader {
        ProposedHeader {
            last_archive_root: B256::with_last_byte(1),
            block_headers_hash: B256::with_last_byte(2),
            blobs_hash: B256::with_last_byte(3),
            in_hash: EMPTY_INBOX_ROOT,
            out_hash: EMPTY_EPOCH_OUT_HASH,
            slot_number: 98,
            timestamp: 1_795_241_000,
            coinbase: address!("5555555555555555555555555555555555555555"),
            fee_recipient: B256::with_last_byte(6),
            fee_per_da_gas: 0,
            fee_per_l2_gas: 295_838_900_000,
            total_mana_used: 150_000_000,
        }
    }

    #[test]
    fn hash_known_answer() {
        // From tests/data/kat.js (hand-packed bytes, Node's sha256).
        assert_eq!(
            sample().hash(),
            b256!("0026fa20279b83dbbf6282ae26c7fb14108a40d2b8432d3de3b81ec249c0c7ec")
        );
    }

    #[test]
    fn packed_layout() {
        let h = sample();
        let p = h.packed();
        assert_eq!(&p[..32], h.last_archive_root.as_slice());
        assert_eq!(&p[128..160], EMPTY_EPOCH_OUT_HASH.as_slice());
        assert_eq!(&p[160..192], &U256::from(98u64).to_be_bytes::<32>());
        assert_eq!(&p[192..200], &1_795_241_000u64.to_be_bytes());
        assert_eq!(&p[200..220], h.coinbase.as_slice());
        assert_eq!(&p[220..252], h.fee_recipient.as_slice());
        assert_eq!(&p[252..268], &[0u8; 16]);
        assert_eq!(&p[268..284], &295_838_900_000u128.to_be_bytes());
        assert_eq!(&p[284..], &U256::from(150_000_000u64).to_be_bytes::<32>());
    }

    #[test]
    fn packed_is_encode_packed_with_a_narrow_timestamp() {
        // Same bytes as alloy's encodePacked over the ABI struct's fields, except the timestamp,
        // which ProposedHeaderLib narrows to uint64.
        let h = sample();
        let s = h.to_sol();
        let expected = [
            (
                s.lastArchiveRoot,
                s.blockHeadersHash,
                s.blobsHash,
                s.inHash,
                s.outHash,
                s.slotNumber,
            )
                .abi_encode_packed(),
            h.timestamp.abi_encode_packed(),
            (
                s.coinbase,
                s.feeRecipient,
                s.gasFees.feePerDaGas,
                s.gasFees.feePerL2Gas,
                s.totalManaUsed,
            )
                .abi_encode_packed(),
        ]
        .concat();
        assert_eq!(h.packed().as_slice(), expected.as_slice());
    }

    #[test]
    fn out_of_range_abi_fields_are_rejected() {
        let mut s = sample().to_sol();
        s.timestamp = U256::from(u64::MAX) + U256::from(1u8);
        assert_eq!(
            ProposedHeader::try_from(&s),
            Err(HeaderError::FieldOutOfRange { field: "timestamp" })
        );
        let mut s = sample().to_sol();
        s.totalManaUsed = U256::MAX;
        assert_eq!(
            ProposedHeader::try_from(&s),
            Err(HeaderError::FieldOutOfRange {
                field: "totalManaUsed"
            })
        );
        let mut s = sample().to_sol();
        s.slotNumber = U256::MAX;
        assert!(ProposedHeader::try_from(&s).is_err());
    }

    fn arb_header() -> impl Strategy<Value = ProposedHeader> {
        (
            any::<[[u8; 32]; 6]>(),
            any::<(u64, u64, [u8; 20])>(),
            any::<(u128, u128, u128)>(),
        )
            .prop_map(|(h, (slot, ts, cb), (da, l2, mana))| ProposedHeader {
                last_archive_root: h[0].into(),
                block_headers_hash: h[1].into(),
                blobs_hash: h[2].into(),
                in_hash: h[3].into(),
                out_hash: h[4].into(),
                slot_number: slot,
                timestamp: ts,
                coinbase: cb.into(),
                fee_recipient: h[5].into(),
                fee_per_da_gas: da,
                fee_per_l2_gas: l2,
                total_mana_used: mana,
            })
    }

    proptest! {
        #[test]
        fn abi_round_trip(h in arb_header()) {
            prop_assert_eq!(ProposedHeader::try_from(&abi::ProposedHeader::from(&h)), Ok(h));
        }

        #[test]
        fn hash_is_a_field_element(h in arb_header()) {
            prop_assert_eq!(h.hash()[0], 0);
        }

        #[test]
        fn packed_round_trip(h in arb_header()) {
            prop_assert_eq!(ProposedHeader::from_packed(&h.packed()), Ok(h));
        }
    }

    #[test]
    fn packed_uint256_fields_must_fit() {
        let mut b = sample().packed();
        b[183] = 1; // slotNumber above u64
        assert_eq!(
            ProposedHeader::from_packed(&b),
            Err(HeaderError::FieldOutOfRange {
                field: "slotNumber"
            })
        );
        let mut b = sample().packed();
        b[299] = 1; // totalManaUsed above u128
        assert_eq!(
            ProposedHeader::from_packed(&b),
            Err(HeaderError::FieldOutOfRange {
                field: "totalManaUsed"
            })
        );
    }
}
