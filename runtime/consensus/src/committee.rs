//! Committee sampling, the epoch seed and the proposer choice (`SampleLib`,
//! `ValidatorSelectionLib`).
//!
//! L1 samples each epoch's committee from the attester set as of [`Timing::sample_time`] with a
//! partial Fisher–Yates shuffle keyed by the epoch seed, then picks one committee member per slot
//! as proposer. Committee indices returned here index that attester set; the host maps them to
//! addresses (or simply reads `getEpochCommittee`, which this must agree with).
//!
//! [`Timing::sample_time`]: crate::time::Timing::sample_time

use std::collections::BTreeMap;

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;
use thiserror::Error;

/// Why a committee could not be sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CommitteeError {
    /// The attester set is smaller than the target committee size
    /// (`ValidatorSelection__InsufficientValidatorSetSize(have, want)`).
    #[error("insufficient validator set size: have {have}, want {want}")]
    InsufficientValidatorSetSize {
        /// Attesters in the set at the sample time.
        have: usize,
        /// Target committee size.
        want: usize,
    },
}

/// `SampleLib.computeSampleIndex`: `keccak256(abi.encodePacked(seed, uint256 i)) % index_count`,
/// or 0 when `index_count <= 1`.
pub fn sample_index(seed: B256, i: usize, index_count: usize) -> usize {
    if index_count <= 1 {
        return 0;
    }
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(seed.as_slice());
    preimage[32..].copy_from_slice(&U256::from(i).to_be_bytes::<32>());
    reduce(keccak256(preimage), index_count)
}

/// `SampleLib.computeCommittee(size, set_size, seed)`: `size` distinct indices into an attester
/// set of `set_size`, in sampled order.
///
/// A partial Fisher–Yates shuffle: with `upper = set_size − 1`, step `i` draws
/// `s = sample_index(seed, i, upper + 1)`, takes `value(s)` and, while `upper > 0`, moves
/// `value(upper)` into position `s` and decrements `upper`. `value(x)` is `x` unless position `x`
/// has been overwritten. A size of 0 is an empty committee (L1's "anyone may propose").
///
/// The seed is the epoch seed as bytes; `B256::from(seed_u256)` converts a `getSampleSeedAt` value.
pub fn sample_committee(
    size: usize,
    set_size: usize,
    seed: B256,
) -> Result<Vec<usize>, CommitteeError> {
    if set_size < size {
        return Err(CommitteeError::InsufficientValidatorSetSize {
            have: set_size,
            want: size,
        });
    }
    if size == 0 {
        return Ok(Vec::new());
    }
    // Positions whose value has been swapped in from the top. L1 keeps these in transient storage
    // and treats a stored 0 as "no override"; a 0 can never be stored (only `value(upper)` with
    // `upper > 0` is written, and index 0 never moves), so the two readings agree.
    let mut moved: BTreeMap<usize, usize> = BTreeMap::new();
    let value = |moved: &BTreeMap<usize, usize>, x: usize| moved.get(&x).copied().unwrap_or(x);
    let mut upper = set_size - 1;
    let mut out = Vec::with_capacity(size);
    for i in 0..size {
        let s = sample_index(seed, i, upper + 1);
        out.push(value(&moved, s));
        if upper > 0 {
            let top = value(&moved, upper);
            moved.insert(s, top);
            upper -= 1;
        }
    }
    Ok(out)
}

/// The epoch's sample seed (`getSampleSeed`): `keccak256(abi.encode(uint256 epoch,
/// uint256 randao))`, where `randao` is the `uint224` prevrandao stored for the sample time.
///
/// Returned as the `uint256` that `getSampleSeedAt` reports.
pub fn epoch_seed(epoch: u64, randao: U256) -> U256 {
    let hash = keccak256((U256::from(epoch), randao).abi_encode_params());
    U256::from_be_bytes(hash.0)
}

/// `computeProposerIndex`: `uint256(keccak256(abi.encode(uint256 epoch, uint256 slot,
/// uint256 seed))) % committee_size`, or `None` for an empty committee (anyone may propose).
pub fn proposer_index(epoch: u64, slot: u64, seed: U256, committee_size: usize) -> Option<usize> {
    if committee_size == 0 {
        return None;
    }
    let hash = keccak256((U256::from(epoch), U256::from(slot), seed).abi_encode_params());
    Some(reduce(hash, committee_size))
}

/// The proposer of `slot`: `committee[proposer_index(..)]`, or `None` for an empty committee.
pub fn proposer(epoch: u64, slot: u64, seed: U256, committee: &[Address]) -> Option<Address> {
    proposer_index(epoch, slot, seed, committee.len()).and_then(|i| committee.get(i).copied())
}

/// The stored committee commitment: `keccak256(abi.encode(address[] committee))`.
///
/// A single dynamic argument, so the encoding starts with the offset `0x20`.
pub fn committee_commitment(committee: &[Address]) -> B256 {
    keccak256(committee.abi_encode())
}

/// Signatures a checkpoint of an `n`-member committee needs to be provable:
/// `floor(2n / 3) + 1` (`verifyAttestations`).
///
/// For `n = 0` this is 0: L1 skips attestation checks entirely when the committee is empty.
pub const fn attestation_threshold(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    // floor(2n/3) without overflowing 2n.
    2 * (n / 3) + (2 * (n % 3)) / 3 + 1
}

/// `uint256(hash) % n` for `n >= 1`, as a `usize`.
fn reduce(hash: B256, n: usize) -> usize {
    let rem = U256::from_be_bytes(hash.0) % U256::from(n);
    // rem < n <= usize::MAX, so it lives entirely in the lowest limb and the cast is exact.
    rem.as_limbs()[0] as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, hex};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// `keccak256("cairn committee seed")`; the expected committees below were computed with an
    /// independent JavaScript port of `SampleLib` in tests/data/kat.js (js-sha3, hand-packed
    /// preimages).
    const SEED: B256 = b256!("5d7f6a3bb9814d44f8543477ef8b10f950e0d13e5c8502ebb6db57f23a2cb8ed");

    #[test]
    fn known_committees() {
        assert_eq!(keccak256(b"cairn committee seed"), SEED);
        assert_eq!(sample_committee(4, 4, SEED), Ok(vec![0, 1, 2, 3]));
        assert_eq!(sample_committee(4, 10, SEED), Ok(vec![6, 1, 3, 2]));
        assert_eq!(
            sample_committee(5, 1000, SEED),
            Ok(vec![916, 46, 461, 820, 275])
        );
        assert_eq!(
            sample_committee(48, 100, SEED),
            Ok(vec![
                16, 10, 59, 46, 95, 25, 93, 73, 97, 90, 19, 17, 66, 36, 39, 24, 94, 5, 54, 11, 61,
                76, 33, 22, 72, 32, 42, 43, 51, 8, 57, 26, 29, 28, 12, 79, 74, 70, 38, 92, 88, 18,
                63, 30, 35, 86, 81, 15
            ])
        );
    }

    #[test]
    fn too_small_a_set_is_the_l1_error() {
        assert_eq!(
            sample_committee(4, 0, SEED),
            Err(CommitteeError::InsufficientValidatorSetSize { have: 0, want: 4 })
        );
        assert_eq!(
            sample_committee(4, 3, SEED).unwrap_err().to_string(),
            "insufficient validator set size: have 3, want 4"
        );
    }

    #[test]
    fn empty_committee() {
        assert_eq!(sample_committee(0, 0, SEED), Ok(vec![]));
        assert_eq!(sample_committee(0, 7, SEED), Ok(vec![]));
        assert_eq!(sample_committee(1, 1, SEED), Ok(vec![0]));
    }

    #[test]
    fn seed_and_proposer_known_answers() {
        // randao = 0xabab…ab (28 bytes, a uint224), epoch 3; values from tests/data/kat.js.
        let randao = U256::from_be_slice(&[0xab; 28]);
        let seed = epoch_seed(3, randao);
        assert_eq!(
            B256::from(seed),
            b256!("d9bce7be38172855a6533464be2d4de2ee8e42ce3329e59407ec2a467ee4a166")
        );
        let expected = [
            (96, 32, 0),
            (97, 22, 2),
            (98, 15, 3),
            (99, 5, 1),
            (127, 37, 1),
        ];
        for (slot, of48, of4) in expected {
            assert_eq!(proposer_index(3, slot, seed, 48), Some(of48), "slot {slot}");
            assert_eq!(proposer_index(3, slot, seed, 4), Some(of4), "slot {slot}");
        }
        assert_eq!(proposer_index(3, 98, seed, 0), None);
        assert_eq!(proposer_index(3, 98, seed, 1), Some(0));
    }

    #[test]
    fn proposer_picks_from_the_committee() {
        let committee = [
            address!("1111111111111111111111111111111111111111"),
            address!("2222222222222222222222222222222222222222"),
            address!("3333333333333333333333333333333333333333"),
            address!("4444444444444444444444444444444444444444"),
        ];
        let seed = epoch_seed(3, U256::from_be_slice(&[0xab; 28]));
        assert_eq!(proposer(3, 98, seed, &committee), Some(committee[3]));
        assert_eq!(proposer(3, 98, seed, &[]), None);
    }

    #[test]
    fn commitment_known_answers() {
        let committee = [
            address!("1111111111111111111111111111111111111111"),
            address!("2222222222222222222222222222222222222222"),
            address!("3333333333333333333333333333333333333333"),
            address!("4444444444444444444444444444444444444444"),
        ];
        assert_eq!(
            committee_commitment(&committee),
            b256!("b55eb80b5be30465bfe05a2f89c542aa3137872de048a8d8ba0af3ca0c880f13")
        );
        // abi.encode(new address[](0)) = offset 0x20, length 0.
        assert_eq!(
            committee_commitment(&[]),
            keccak256(hex!(
                "0000000000000000000000000000000000000000000000000000000000000020"
                "0000000000000000000000000000000000000000000000000000000000000000"
            ))
        );
    }

    #[test]
    fn thresholds() {
        assert_eq!(attestation_threshold(48), 33);
        assert_eq!(attestation_threshold(4), 3);
        assert_eq!(attestation_threshold(3), 3);
        assert_eq!(attestation_threshold(1), 1);
        assert_eq!(attestation_threshold(0), 0);
        for n in 1..10_000usize {
            assert_eq!(attestation_threshold(n), n * 2 / 3 + 1, "n = {n}");
        }
        assert_eq!(attestation_threshold(usize::MAX), usize::MAX / 3 * 2 + 1);
    }

    proptest! {
        #[test]
        fn committee_is_a_duplicate_free_subset(
            seed in any::<[u8; 32]>(),
            set_size in 0usize..300,
            size in 0usize..64,
        ) {
            let seed = B256::from(seed);
            match sample_committee(size, set_size, seed) {
                Ok(committee) => {
                    prop_assert!(size <= set_size);
                    prop_assert_eq!(committee.len(), size);
                    prop_assert!(committee.iter().all(|&i| i < set_size));
                    let distinct: BTreeSet<_> = committee.iter().collect();
                    prop_assert_eq!(distinct.len(), size);
                }
                Err(e) => {
                    prop_assert!(size > set_size);
                    prop_assert_eq!(
                        e,
                        CommitteeError::InsufficientValidatorSetSize { have: set_size, want: size }
                    );
                }
            }
        }

        #[test]
        fn full_size_is_a_permutation(seed in any::<[u8; 32]>(), n in 1usize..128) {
            let mut committee = sample_committee(n, n, B256::from(seed)).expect("n <= n");
            committee.sort_unstable();
            prop_assert_eq!(committee, (0..n).collect::<Vec<_>>());
        }

        #[test]
        fn proposer_index_is_in_range(
            epoch in any::<u64>(),
            slot in any::<u64>(),
            seed in any::<[u8; 32]>(),
            size in 1usize..1000,
        ) {
            let i = proposer_index(epoch, slot, U256::from_be_bytes(seed), size);
            prop_assert!(matches!(i, Some(i) if i < size));
        }
    }
}
