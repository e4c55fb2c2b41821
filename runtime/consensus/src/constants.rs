//! Protocol constants of Rollup v4 (`ConstantsGen.sol`, `AttestationLib.sol`, `FeeLib.sol`).

use alloy_primitives::{b256, B256};

/// Inbox root of a checkpoint with no L1→L2 messages: the empty `sha256ToField` Merkle tree of
/// height `L1_TO_L2_MSG_SUBTREE_HEIGHT` (10). Every checkpoint's `inHash` when no messages exist.
pub const EMPTY_INBOX_ROOT: B256 =
    b256!("00de7b349d2306334734e4f58b1302a6ed5a6c796a706f6597a5641b6d468223");

/// `Constants.EMPTY_EPOCH_OUT_HASH`: the out hash of an epoch with no L2→L1 messages (the empty
/// `sha256ToField` tree of height 5, one leaf per checkpoint of a full epoch).
pub const EMPTY_EPOCH_OUT_HASH: B256 =
    b256!("00c95e0ceb41951039e1592745ec2faea9866f6eaf01bf189a4463b4143af093");

/// `Constants.GENESIS_ARCHIVE_ROOT`, also `DeployAlpha`'s `MAINNET_GENESIS_ARCHIVE_ROOT`: the
/// archive at checkpoint 0 of Aztec's own L2. A Rollup with it runs Aztec's L2, not cairn's.
pub const AZTEC_GENESIS_ARCHIVE_ROOT: B256 =
    b256!("15684c8c3d2106918d3860f777e50555b7166adff47df13cc652e2e5a50bf5c7");

/// What a Rollup's `archiveAt(0)` says about the L2 it was deployed for, when it is one we know.
pub fn known_genesis(archive: &B256) -> Option<&'static str> {
    if *archive == AZTEC_GENESIS_ARCHIVE_ROOT {
        Some("Aztec's genesis: this Rollup runs Aztec's L2")
    } else if archive.is_zero() {
        Some("zero: the Rollup was deployed without a genesis archive")
    } else {
        None
    }
}

/// `Constants.L1_TO_L2_MSG_SUBTREE_HEIGHT`: height of each checkpoint's Inbox message tree.
pub const L1_TO_L2_MSG_SUBTREE_HEIGHT: u32 = 10;

/// `Constants.MAX_CHECKPOINTS_PER_EPOCH`: the most checkpoints one epoch proof may cover.
pub const MAX_CHECKPOINTS_PER_EPOCH: usize = 32;

/// Minimum length of `submitEpochRootProof`'s `fees` array (`2 · MAX_CHECKPOINTS_PER_EPOCH`):
/// entry `2i` is checkpoint `start + i`'s recipient, `2i + 1` its amount. Fewer entries panic on L1.
pub const PROOF_FEES_ENTRIES: usize = 2 * MAX_CHECKPOINTS_PER_EPOCH;

/// `SignatureDomainSeparator.checkpointAttestation`: the domain of the payload attesters sign.
pub const CHECKPOINT_ATTESTATION_DOMAIN: u8 = 1;

/// `SignatureDomainSeparator.attestationsAndSigners`: the domain of the proposer's extra signature.
pub const ATTESTATIONS_AND_SIGNERS_DOMAIN: u8 = 2;

/// `FeeLib.MAX_FEE_ASSET_PRICE_MODIFIER_BPS`: the largest `|feeAssetPriceModifier|` `propose` accepts.
pub const MAX_FEE_ASSET_PRICE_MODIFIER_BPS: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256_to_field;

    /// Root of a height-`height` tree of zero leaves hashed pairwise with `sha256ToField`.
    fn empty_root(height: u32) -> B256 {
        (0..height).fold(B256::ZERO, |node, _| {
            sha256_to_field(&[node.as_slice(), node.as_slice()].concat())
        })
    }

    #[test]
    fn empty_roots_are_empty_sha256_trees() {
        assert_eq!(empty_root(L1_TO_L2_MSG_SUBTREE_HEIGHT), EMPTY_INBOX_ROOT);
        assert_eq!(
            1usize << 5,
            MAX_CHECKPOINTS_PER_EPOCH,
            "out hash tree has a leaf per checkpoint"
        );
        assert_eq!(empty_root(5), EMPTY_EPOCH_OUT_HASH);
    }

    #[test]
    fn sizes() {
        assert_eq!(PROOF_FEES_ENTRIES, 64);
        assert_eq!(
            (
                CHECKPOINT_ATTESTATION_DOMAIN,
                ATTESTATIONS_AND_SIGNERS_DOMAIN
            ),
            (1, 2)
        );
    }
}
