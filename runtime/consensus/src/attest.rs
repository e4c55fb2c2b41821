//! What committee members sign and how their signatures travel to L1 (`ProposeLib.digest`,
//! `AttestationLib`, `ValidatorSelectionLib.verifyProposer`).
//!
//! Each member signs [`payload_digest`] as an EIP-191 personal message
//! ([`eth_signed_message_hash`]) with its attester key, `v` in {27, 28}. The proposer packs the
//! signatures in committee (sampled) order with [`pack`], and additionally signs
//! [`attestations_and_signers_digest`] over the packed result. L1 stores
//! [`attestations_hash`] and checks the full set only at proof time or on invalidation.

use alloy_primitives::{keccak256, Address, Bytes, B256, I256};
use alloy_sol_types::{sol_data, SolType, SolValue};
use thiserror::Error;

use crate::abi;
use crate::constants::{ATTESTATIONS_AND_SIGNERS_DOMAIN, CHECKPOINT_ATTESTATION_DOMAIN};

/// Length of a packed signature, `v‖r‖s`.
pub const SIGNATURE_LEN: usize = 65;

/// Length of a packed non-signer address.
pub const ADDRESS_LEN: usize = 20;

/// A 65-byte ECDSA signature in `v‖r‖s` order, `v` in {27, 28}.
pub type RawSignature = [u8; SIGNATURE_LEN];

/// The EIP-191 prefix for a 32-byte message.
const EIP191_PREFIX_32: &[u8] = b"\x19Ethereum Signed Message:\n32";

/// Packed attestations of one checkpoint, as `propose` and `submitEpochRootProof` carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CommitteeAttestations {
    /// Bitmap of `ceil(n / 8)` bytes, MSB first: bit 7 of byte 0 is committee index 0.
    pub signature_indices: Vec<u8>,
    /// Per committee index, in order: the 65-byte signature if signed, else the 20-byte address.
    pub signatures_or_addresses: Vec<u8>,
}

/// Why attestations could not be packed or unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AttestError {
    /// `pack` got a different number of signature slots than committee members.
    #[error("committee has {committee} members but {signatures} signature slots were given")]
    LengthMismatch {
        /// Committee members.
        committee: usize,
        /// Signature slots.
        signatures: usize,
    },
    /// A signature's `v` is not 27 or 28; L1 rejects it with `ECDSAInvalidSignature()`.
    #[error("signature at committee index {index} has v = {v}, expected 27 or 28")]
    InvalidRecoveryId {
        /// Committee index of the signature.
        index: usize,
        /// The offending `v`.
        v: u8,
    },
    /// The bitmap is not `ceil(n / 8)` bytes (`AttestationLib__SignatureIndicesSizeMismatch`).
    #[error("signature indices are {got} bytes, expected {expected}")]
    SignatureIndicesSizeMismatch {
        /// `ceil(n / 8)`.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The packed data does not match the bitmap
    /// (`AttestationLib__SignaturesOrAddressesSizeMismatch`).
    #[error("signatures/addresses are {got} bytes, the bitmap implies {expected}")]
    SignaturesOrAddressesSizeMismatch {
        /// Size implied by the bitmap.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The signer list does not have one entry per set bit (`AttestationLib__SignersSizeMismatch`).
    #[error("bitmap has {expected} signatures but {got} signers were given")]
    SignersSizeMismatch {
        /// Set bits in the bitmap.
        expected: usize,
        /// Signers given.
        got: usize,
    },
}

impl CommitteeAttestations {
    /// Whether committee index `index` carries a signature (`AttestationLib.isSignature`);
    /// false for an index beyond the bitmap.
    pub fn is_signed(&self, index: usize) -> bool {
        self.signature_indices
            .get(index / 8)
            .is_some_and(|byte| (byte >> (7 - index % 8)) & 1 == 1)
    }

    /// Number of signatures among the first `committee_size` indices.
    pub fn signature_count(&self, committee_size: usize) -> usize {
        (0..committee_size).filter(|&i| self.is_signed(i)).count()
    }

    /// The ABI struct for `propose` and `submitEpochRootProof`.
    pub fn to_sol(&self) -> abi::CommitteeAttestations {
        abi::CommitteeAttestations {
            signatureIndices: Bytes::copy_from_slice(&self.signature_indices),
            signaturesOrAddresses: Bytes::copy_from_slice(&self.signatures_or_addresses),
        }
    }
}

impl From<&CommitteeAttestations> for abi::CommitteeAttestations {
    fn from(att: &CommitteeAttestations) -> Self {
        att.to_sol()
    }
}

impl From<&abi::CommitteeAttestations> for CommitteeAttestations {
    fn from(att: &abi::CommitteeAttestations) -> Self {
        Self {
            signature_indices: att.signatureIndices.to_vec(),
            signatures_or_addresses: att.signaturesOrAddresses.to_vec(),
        }
    }
}

/// The digest attesters sign (before EIP-191): `keccak256(abi.encode(uint8 1, (bytes32 archive,
/// (int256 feeAssetPriceModifier), bytes32 headerHash)))`, four static words.
///
/// Equals `getCheckpoint(n).payloadDigest` and the `CheckpointProposed` event's `payloadDigest`.
pub fn payload_digest(archive: B256, fee_asset_price_modifier: I256, header_hash: B256) -> B256 {
    let payload = abi::ProposePayload {
        archive,
        oracleInput: abi::OracleInput {
            feeAssetPriceModifier: fee_asset_price_modifier,
        },
        headerHash: header_hash,
    };
    let encoded = <(sol_data::Uint<8>, abi::ProposePayload)>::abi_encode_params(&(
        CHECKPOINT_ATTESTATION_DOMAIN,
        payload,
    ));
    keccak256(encoded)
}

/// EIP-191 personal-message hash of a 32-byte digest:
/// `keccak256("\x19Ethereum Signed Message:\n32" ‖ digest)` (`toEthSignedMessageHash`).
pub fn eth_signed_message_hash(digest: B256) -> B256 {
    let mut preimage = [0u8; EIP191_PREFIX_32.len() + 32];
    preimage[..EIP191_PREFIX_32.len()].copy_from_slice(EIP191_PREFIX_32);
    preimage[EIP191_PREFIX_32.len()..].copy_from_slice(digest.as_slice());
    keccak256(preimage)
}

/// Packs attestations in committee order, returning them with the signers `propose` needs.
///
/// `signatures[i]` is committee member `i`'s signature, if it attested. The result's bitmap has a
/// bit per member, and the signers are the attesting members' addresses in committee order.
pub fn pack(
    committee: &[Address],
    signatures: &[Option<RawSignature>],
) -> Result<(CommitteeAttestations, Vec<Address>), AttestError> {
    if committee.len() != signatures.len() {
        return Err(AttestError::LengthMismatch {
            committee: committee.len(),
            signatures: signatures.len(),
        });
    }
    let signed = signatures.iter().filter(|s| s.is_some()).count();
    let mut att = CommitteeAttestations {
        signature_indices: vec![0; committee.len().div_ceil(8)],
        signatures_or_addresses: Vec::with_capacity(
            signed * SIGNATURE_LEN + (committee.len() - signed) * ADDRESS_LEN,
        ),
    };
    let mut signers = Vec::with_capacity(signed);
    for (index, (member, signature)) in committee.iter().zip(signatures).enumerate() {
        match signature {
            Some(sig) => {
                let v = sig[0];
                if v != 27 && v != 28 {
                    return Err(AttestError::InvalidRecoveryId { index, v });
                }
                att.signature_indices[index / 8] |= 0x80 >> (index % 8);
                att.signatures_or_addresses.extend_from_slice(sig);
                signers.push(*member);
            }
            None => att
                .signatures_or_addresses
                .extend_from_slice(member.as_slice()),
        }
    }
    Ok((att, signers))
}

/// Rebuilds the committee and per-member signatures from packed attestations and their signers
/// (`AttestationLib.reconstructCommitteeFromSigners`), the inverse of [`pack`].
///
/// Each signature slot takes the next address from `signers`; each address slot is read in place.
/// As on L1, bitmap bits past `committee_size` are ignored and `v` is not checked here.
pub fn unpack(
    att: &CommitteeAttestations,
    signers: &[Address],
    committee_size: usize,
) -> Result<(Vec<Address>, Vec<Option<RawSignature>>), AttestError> {
    let bitmap_len = committee_size.div_ceil(8);
    if att.signature_indices.len() != bitmap_len {
        return Err(AttestError::SignatureIndicesSizeMismatch {
            expected: bitmap_len,
            got: att.signature_indices.len(),
        });
    }
    let signed = att.signature_count(committee_size);
    let expected = signed * SIGNATURE_LEN + (committee_size - signed) * ADDRESS_LEN;
    if att.signatures_or_addresses.len() != expected {
        return Err(AttestError::SignaturesOrAddressesSizeMismatch {
            expected,
            got: att.signatures_or_addresses.len(),
        });
    }
    if signers.len() != signed {
        return Err(AttestError::SignersSizeMismatch {
            expected: signed,
            got: signers.len(),
        });
    }

    let mut committee = Vec::with_capacity(committee_size);
    let mut signatures = Vec::with_capacity(committee_size);
    let mut data = att.signatures_or_addresses.as_slice();
    let mut next_signer = signers.iter();
    for index in 0..committee_size {
        // The size checks above guarantee every split below is in bounds and every signature
        // slot has a signer; `split_first_chunk` keeps that local instead of panicking.
        if att.is_signed(index) {
            let (sig, rest) = data.split_first_chunk::<SIGNATURE_LEN>().ok_or(
                AttestError::SignaturesOrAddressesSizeMismatch {
                    expected,
                    got: att.signatures_or_addresses.len(),
                },
            )?;
            let signer = next_signer.next().ok_or(AttestError::SignersSizeMismatch {
                expected: signed,
                got: signers.len(),
            })?;
            committee.push(*signer);
            signatures.push(Some(*sig));
            data = rest;
        } else {
            let (addr, rest) = data.split_first_chunk::<ADDRESS_LEN>().ok_or(
                AttestError::SignaturesOrAddressesSizeMismatch {
                    expected,
                    got: att.signatures_or_addresses.len(),
                },
            )?;
            committee.push(Address::from(*addr));
            signatures.push(None);
            data = rest;
        }
    }
    Ok((committee, signatures))
}

/// The stored attestations hash: `keccak256(abi.encode(CommitteeAttestations))`.
///
/// One dynamic tuple, so the encoding starts with the offset `0x20`. `submitEpochRootProof` must
/// carry attestations whose hash equals checkpoint `end`'s stored value.
pub fn attestations_hash(att: &CommitteeAttestations) -> B256 {
    keccak256(att.to_sol().abi_encode())
}

/// What the proposer signs (before EIP-191) to bind itself to the posted attestations:
/// `keccak256(abi.encode(uint8 2, (bytes, bytes) attestations, address[] signers))`.
pub fn attestations_and_signers_digest(att: &CommitteeAttestations, signers: &[Address]) -> B256 {
    type Params = (
        sol_data::Uint<8>,
        abi::CommitteeAttestations,
        sol_data::Array<sol_data::Address>,
    );
    let encoded =
        Params::abi_encode_params(&(ATTESTATIONS_AND_SIGNERS_DOMAIN, att.to_sol(), signers));
    keccak256(encoded)
}

/// Splits a `v‖r‖s` signature into the ABI `Signature` (`propose`'s
/// `_attestationsAndSignersSignature`).
pub fn signature_to_sol(sig: &RawSignature) -> abi::Signature {
    let (v, rs) = sig.split_at(1);
    let (r, s) = rs.split_at(32);
    abi::Signature {
        v: v[0],
        r: B256::from_slice(r),
        s: B256::from_slice(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, hex};
    use proptest::prelude::*;

    const A: [Address; 4] = [
        address!("1111111111111111111111111111111111111111"),
        address!("2222222222222222222222222222222222222222"),
        address!("3333333333333333333333333333333333333333"),
        address!("4444444444444444444444444444444444444444"),
    ];

    /// A syntactically valid signature: `v`, then 32 × `fill`, then 32 × `fill + 1`.
    fn sig(v: u8, fill: u8) -> RawSignature {
        let mut s = [fill; SIGNATURE_LEN];
        s[0] = v;
        s[33..].fill(fill + 1);
        s
    }

    /// A sample header hash (see `header::tests::hash_known_answer`).
    const HEADER_HASH: B256 =
        b256!("0026fa20279b83dbbf6282ae26c7fb14108a40d2b8432d3de3b81ec249c0c7ec");

    #[test]
    fn payload_digest_known_answers() {
        // From tests/data/kat.js (hand-encoded words, js-sha3).
        let archive = B256::with_last_byte(0x0a);
        let cases = [
            (
                0i64,
                b256!("2b7c06f01bd2e43180d40826547e694e9a31ecd80db739355b4746c8f565cd60"),
            ),
            (
                100,
                b256!("a0046086d5a620868a78cc7fca717bd1c8bb5047ef76ae6df98a3f75efa62c82"),
            ),
            (
                -100,
                b256!("5311e0c5385c8fd818dfce62531b768d1772cb19fcfb9bfe19fe2414bd0902db"),
            ),
        ];
        for (modifier, expected) in cases {
            let m = I256::try_from(modifier).expect("fits");
            assert_eq!(
                payload_digest(archive, m, HEADER_HASH),
                expected,
                "{modifier}"
            );
        }
    }

    #[test]
    fn payload_is_four_static_words() {
        let archive = B256::with_last_byte(0x0a);
        let m = I256::try_from(-1i64).expect("fits");
        let mut preimage = Vec::new();
        preimage.extend_from_slice(&B256::with_last_byte(1).0);
        preimage.extend_from_slice(&archive.0);
        preimage.extend_from_slice(&[0xff; 32]);
        preimage.extend_from_slice(&HEADER_HASH.0);
        assert_eq!(payload_digest(archive, m, HEADER_HASH), keccak256(preimage));
    }

    #[test]
    fn eip191_known_answer() {
        let digest = b256!("2b7c06f01bd2e43180d40826547e694e9a31ecd80db739355b4746c8f565cd60");
        assert_eq!(
            eth_signed_message_hash(digest),
            b256!("71f725a289fd5fdb759cb5bd83c9f14181f2b97871b59073f5b112c5e7a49749")
        );
        // The same as alloy's generic EIP-191 over a 32-byte message.
        assert_eq!(
            eth_signed_message_hash(digest),
            alloy_primitives::eip191_hash_message(digest)
        );
    }

    #[test]
    fn all_four_signed() {
        let sigs: Vec<_> = (0..4).map(|i| Some(sig(27 + i % 2, 16 * i))).collect();
        let (att, signers) = pack(&A, &sigs).expect("valid");
        assert_eq!(att.signature_indices, [0xf0]);
        assert_eq!(att.signatures_or_addresses.len(), 260);
        assert_eq!(signers, A);
        assert_eq!(att.signature_count(4), 4);
    }

    #[test]
    fn only_index_zero_signed() {
        let (att, signers) = pack(&A, &[Some(sig(27, 1)), None, None, None]).expect("valid");
        assert_eq!(att.signature_indices, [0x80]);
        assert_eq!(att.signatures_or_addresses.len(), 125);
        assert_eq!(&att.signatures_or_addresses[65..85], A[1].as_slice());
        assert_eq!(&att.signatures_or_addresses[105..], A[3].as_slice());
        assert_eq!(signers, [A[0]]);
        assert!(att.is_signed(0) && !att.is_signed(1) && !att.is_signed(8));
    }

    #[test]
    fn bitmap_spans_bytes_msb_first() {
        let committee: Vec<_> = (0..10u8).map(|i| Address::repeat_byte(i + 1)).collect();
        let mut sigs = vec![None; 10];
        sigs[1] = Some(sig(28, 1));
        sigs[8] = Some(sig(27, 2));
        sigs[9] = Some(sig(27, 3));
        let (att, signers) = pack(&committee, &sigs).expect("valid");
        assert_eq!(att.signature_indices, [0b0100_0000, 0b1100_0000]);
        assert_eq!(signers, [committee[1], committee[8], committee[9]]);
        assert_eq!(att.signatures_or_addresses.len(), 3 * 65 + 7 * 20);
    }

    #[test]
    fn hashes_known_answers() {
        // Indices 0 and 2 signed; from tests/data/kat.js (hand-encoded ABI, js-sha3).
        let sigs = [Some(sig(27, 0x10)), None, Some(sig(28, 0x20)), None];
        let (att, signers) = pack(&A, &sigs).expect("valid");
        assert_eq!(att.signature_indices, [0xa0]);
        assert_eq!(att.signatures_or_addresses.len(), 170);
        assert_eq!(
            attestations_hash(&att),
            b256!("27338d22ddac89acca4db6e625a7cd5812d01ed6ae9ac8e4dbeedf86784e23dd")
        );
        assert_eq!(
            attestations_and_signers_digest(&att, &signers),
            b256!("3c72cef2f2ea47e1c79352dd5844ba88d8640b6383877eeba8ff436264fbc4a7")
        );
        assert_eq!(
            attestations_hash(&CommitteeAttestations::default()),
            b256!("bfab9e5d42c7aba8bf7d9f4048849f571a93b95e188cdec14fb8f555c1746550")
        );
    }

    #[test]
    fn attestations_encoding_starts_with_an_offset() {
        let enc = CommitteeAttestations::default().to_sol().abi_encode();
        assert_eq!(
            enc,
            hex!(
                "0000000000000000000000000000000000000000000000000000000000000020"
                "0000000000000000000000000000000000000000000000000000000000000040"
                "0000000000000000000000000000000000000000000000000000000000000060"
                "0000000000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000000000"
            )
        );
    }

    #[test]
    fn pack_rejects_bad_input() {
        assert_eq!(
            pack(&A, &[None, None]),
            Err(AttestError::LengthMismatch {
                committee: 4,
                signatures: 2
            })
        );
        assert_eq!(
            pack(&A, &[None, Some(sig(1, 5)), None, None]),
            Err(AttestError::InvalidRecoveryId { index: 1, v: 1 })
        );
        assert_eq!(
            pack(&[], &[]),
            Ok((CommitteeAttestations::default(), vec![]))
        );
    }

    #[test]
    fn unpack_rejects_what_l1_rejects() {
        let (att, signers) = pack(&A, &[Some(sig(27, 1)), None, None, None]).expect("valid");
        assert_eq!(
            unpack(&att, &signers, 9),
            Err(AttestError::SignatureIndicesSizeMismatch {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            unpack(&att, &[], 4),
            Err(AttestError::SignersSizeMismatch {
                expected: 1,
                got: 0
            })
        );
        let mut short = att.clone();
        short.signatures_or_addresses.pop();
        assert_eq!(
            unpack(&short, &signers, 4),
            Err(AttestError::SignaturesOrAddressesSizeMismatch {
                expected: 125,
                got: 124
            })
        );
        let mut lying = att.clone();
        lying.signature_indices[0] = 0xc0;
        assert_eq!(
            unpack(&lying, &signers, 4),
            Err(AttestError::SignaturesOrAddressesSizeMismatch {
                expected: 2 * 65 + 2 * 20,
                got: 125
            })
        );
        // Padding bits past the committee are ignored, as on L1.
        let mut padded = att.clone();
        padded.signature_indices[0] |= 0x0f;
        assert_eq!(unpack(&padded, &signers, 4), unpack(&att, &signers, 4));
    }

    #[test]
    fn signature_split() {
        let s = signature_to_sol(&sig(28, 7));
        assert_eq!(s.v, 28);
        assert_eq!(s.r, B256::repeat_byte(7));
        assert_eq!(s.s, B256::repeat_byte(8));
    }

    fn arb_committee() -> impl Strategy<Value = (Vec<Address>, Vec<Option<RawSignature>>)> {
        prop::collection::vec(
            (
                any::<[u8; 20]>(),
                prop::option::of((27u8..=28, any::<[u8; 64]>())),
            ),
            0..60,
        )
        .prop_map(|members| {
            members
                .into_iter()
                .map(|(addr, sig)| {
                    let sig = sig.map(|(v, rs)| {
                        let mut s = [v; SIGNATURE_LEN];
                        s[1..].copy_from_slice(&rs);
                        s
                    });
                    (Address::from(addr), sig)
                })
                .unzip()
        })
    }

    proptest! {
        #[test]
        fn unpack_inverts_pack((committee, sigs) in arb_committee()) {
            let (att, signers) = pack(&committee, &sigs).expect("valid");
            prop_assert_eq!(att.signature_indices.len(), committee.len().div_ceil(8));
            prop_assert_eq!(att.signature_count(committee.len()), signers.len());
            let back = unpack(&att, &signers, committee.len()).expect("consistent");
            prop_assert_eq!(back, (committee, sigs));
        }

        #[test]
        fn sol_round_trip((committee, sigs) in arb_committee()) {
            let (att, _) = pack(&committee, &sigs).expect("valid");
            prop_assert_eq!(CommitteeAttestations::from(&att.to_sol()), att);
        }
    }
}
