//! Typed ABI bindings for the parts of the Rollup and Inbox a sequencer calls or watches.
//!
//! Struct layouts, field types and function signatures follow the published ABI
//! (`l1-contracts/out/Rollup.sol/Rollup.json` and `Inbox.sol/Inbox.json` in
//! `@aztec/l1-artifacts@4.1.2`); `tests/l1_abi.rs` checks every declaration here against those
//! files when they are present. Host code encodes calls with [`alloy_sol_types::SolCall`] and
//! decodes logs with [`alloy_sol_types::SolEvent`].

use alloy_sol_types::sol;

sol! {
    #![sol(all_derives)]

    /// `OracleInput`: the proposer's vote on the fee-asset price.
    struct OracleInput {
        /// Signed price change in basis points; `|x| <= 100`.
        int256 feeAssetPriceModifier;
    }

    /// `GasFees`: the checkpoint's fees per unit of gas.
    struct GasFees {
        /// Fee per DA gas; must be 0 on v4.
        uint128 feePerDaGas;
        /// Fee per L2 gas (mana); must equal `getManaMinFeeAt(inclusion time, true)`.
        uint128 feePerL2Gas;
    }

    /// `ProposedHeader`: the checkpoint header `propose` carries (hash: `crate::header`).
    struct ProposedHeader {
        /// Archive root of the parent checkpoint.
        bytes32 lastArchiveRoot;
        /// Hash of the checkpoint's L2 block headers.
        bytes32 blockHeadersHash;
        /// `sha256ToField` of the concatenated versioned blob hashes.
        bytes32 blobsHash;
        /// Inbox root consumed by this checkpoint.
        bytes32 inHash;
        /// Root of the checkpoint's L2→L1 messages.
        bytes32 outHash;
        /// Slot of the block that includes the proposal.
        uint256 slotNumber;
        /// Start of that slot (`getTimestampForSlot`); hashed as a `uint64`.
        uint256 timestamp;
        /// Non-zero L1 address of the sequencer.
        address coinbase;
        /// L2 fee recipient.
        bytes32 feeRecipient;
        /// Fees per unit of gas.
        GasFees gasFees;
        /// Mana used by the checkpoint; at most `getManaLimit()`.
        uint256 totalManaUsed;
    }

    /// `ProposeArgs`: the first argument of `propose`.
    struct ProposeArgs {
        /// Archive root after this checkpoint.
        bytes32 archive;
        /// Fee-asset price vote.
        OracleInput oracleInput;
        /// The checkpoint header.
        ProposedHeader header;
    }

    /// `ProposePayload`: what attesters sign, under domain 1 (see `crate::attest::payload_digest`).
    struct ProposePayload {
        /// Archive root after this checkpoint.
        bytes32 archive;
        /// Fee-asset price vote.
        OracleInput oracleInput;
        /// `ProposedHeader` hash.
        bytes32 headerHash;
    }

    /// `CommitteeAttestations`: the packed attestations (see `crate::attest`).
    struct CommitteeAttestations {
        /// Bitmap, MSB first, of the committee indices that carry a signature.
        bytes signatureIndices;
        /// Per committee index: 65-byte `v‖r‖s` if signed, else the 20-byte address.
        bytes signaturesOrAddresses;
    }

    /// `Signature`: an ECDSA signature with `v` in {27, 28}.
    struct Signature {
        /// Recovery id plus 27.
        uint8 v;
        /// The `r` scalar.
        bytes32 r;
        /// The `s` scalar.
        bytes32 s;
    }

    /// `PublicInputArgs`: the epoch proof's claimed public inputs.
    struct PublicInputArgs {
        /// `archiveAt(start − 1)`.
        bytes32 previousArchive;
        /// `archiveAt(end)`.
        bytes32 endArchive;
        /// The stored `outHash` of checkpoint `end`.
        bytes32 outHash;
        /// Any address; one submission per prover and epoch length.
        address proverId;
    }

    /// `SubmitEpochRootProofArgs`: the single argument of `submitEpochRootProof`.
    struct SubmitEpochRootProofArgs {
        /// First checkpoint proven; the first of its epoch.
        uint256 start;
        /// Last checkpoint proven, in the same epoch.
        uint256 end;
        /// Claimed public inputs.
        PublicInputArgs args;
        /// At least 64 entries: recipient, amount per checkpoint from `start`.
        bytes32[] fees;
        /// Exactly the attestations checkpoint `end` was proposed with.
        CommitteeAttestations attestations;
        /// 192-byte point-evaluation input: versioned hash, z, y, commitment, proof.
        bytes blobInputs;
        /// The proof bytes.
        bytes proof;
    }

    /// `ChainTips`: pending and proven checkpoint numbers, as `getTips()` returns them.
    struct ChainTips {
        /// Latest proposed checkpoint (raw storage; may be prunable).
        uint256 pending;
        /// Latest proven checkpoint.
        uint256 proven;
    }

    /// `FeeHeader`: the fee state stored with each checkpoint.
    struct FeeHeader {
        /// Mana above target carried forward.
        uint256 excessMana;
        /// Mana used by the checkpoint.
        uint256 manaUsed;
        /// ETH per fee asset, scaled by 1e12.
        uint256 ethPerFeeAsset;
        /// Congestion component of the fee.
        uint256 congestionCost;
        /// Prover component of the fee.
        uint256 proverCost;
    }

    /// `CheckpointLog`: what the Rollup stores per checkpoint, as `getCheckpoint(n)` returns it.
    struct CheckpointLog {
        /// Archive root after the checkpoint.
        bytes32 archive;
        /// `ProposedHeader` hash.
        bytes32 headerHash;
        /// Epoch-chained hash of the blob commitments.
        bytes32 blobCommitmentsHash;
        /// The header's out hash.
        bytes32 outHash;
        /// `keccak256(abi.encode(attestations))`.
        bytes32 attestationsHash;
        /// The attestation payload digest.
        bytes32 payloadDigest;
        /// The checkpoint's slot.
        uint256 slotNumber;
        /// The checkpoint's fee state.
        FeeHeader feeHeader;
    }

    /// The Rollup v4 entry points, views and events a sequencer node uses.
    interface IRollupConsensus {
        /// A checkpoint was accepted as pending.
        event CheckpointProposed(
            uint256 indexed checkpointNumber,
            bytes32 indexed archive,
            bytes32[] versionedBlobHashes,
            bytes32 payloadDigest,
            bytes32 attestationsHash
        );
        /// An epoch proof advanced the proven tip to `checkpointNumber`.
        event L2ProofVerified(uint256 indexed checkpointNumber, address indexed proverId);
        /// The pending chain was rolled back to the proven tip.
        event PrunedPending(uint256 provenCheckpointNumber, uint256 pendingCheckpointNumber);
        /// A badly attested checkpoint (and everything after it) was removed.
        event CheckpointInvalidated(uint256 indexed checkpointNumber);

        /// Proposes a checkpoint; must be sent in an EIP-4844 tx carrying its blobs.
        function propose(
            ProposeArgs calldata _args,
            CommitteeAttestations calldata _attestations,
            address[] calldata _signers,
            Signature calldata _attestationsAndSignersSignature,
            bytes calldata _blobInput
        ) external;
        /// Proves checkpoints `start..=end` of one epoch.
        function submitEpochRootProof(SubmitEpochRootProofArgs calldata _args) external;
        /// Removes a pending checkpoint whose attestations carry too few signatures.
        function invalidateInsufficientAttestations(
            uint256 _checkpointNumber,
            CommitteeAttestations calldata _attestations,
            address[] calldata _committee
        ) external;
        /// Removes a pending checkpoint whose signature at `_invalidIndex` is bad.
        function invalidateBadAttestation(
            uint256 _checkpointNumber,
            CommitteeAttestations calldata _attestations,
            address[] calldata _committee,
            uint256 _invalidIndex
        ) external;
        /// Rolls the pending chain back to the proven tip once the proof window has passed.
        function prune() external;

        /// The Rollup's genesis timestamp.
        function getGenesisTime() external view returns (uint256);
        /// Seconds per L2 slot.
        function getSlotDuration() external view returns (uint256);
        /// Slots per epoch.
        function getEpochDuration() external view returns (uint256);
        /// Target committee size.
        function getTargetCommitteeSize() external view returns (uint256);
        /// The first second of a slot.
        function getTimestampForSlot(uint256 _slotNumber) external view returns (uint256);
        /// Committee of an epoch, in sampled order (nonpayable: read with `eth_call`).
        function getEpochCommittee(uint256 _epoch) external returns (address[] memory);
        /// Committee of the epoch containing `_ts`, in sampled order.
        function getCommitteeAt(uint256 _ts) external returns (address[] memory);
        /// Sample seed of the epoch containing `_ts`.
        function getSampleSeedAt(uint256 _ts) external view returns (uint256);
        /// Proposer of the slot containing `_ts`.
        function getProposerAt(uint256 _ts) external returns (address);
        /// Reverts unless `_who` may propose on `_archive` at `_ts`; else (slot, next checkpoint).
        function canProposeAtTime(uint256 _ts, bytes32 _archive, address _who)
            external
            returns (uint256 slot, uint256 checkpointNumber);
        /// Minimum `feePerL2Gas` for a proposal included at `_timestamp`.
        function getManaMinFeeAt(uint256 _timestamp, bool _inFeeAsset) external view returns (uint256);
        /// Maximum `totalManaUsed`.
        function getManaLimit() external view returns (uint256);
        /// Pending and proven tips (raw storage).
        function getTips() external view returns (ChainTips memory);
        /// Archive root of the pending tip (raw storage).
        function archive() external view returns (bytes32);
        /// Archive root of a checkpoint.
        function archiveAt(uint256 _checkpointNumber) external view returns (bytes32);
        /// The stored log of a checkpoint.
        function getCheckpoint(uint256 _checkpointNumber) external view returns (CheckpointLog memory);
        /// Epoch of a checkpoint.
        function getEpochForCheckpoint(uint256 _checkpointNumber) external view returns (uint256);
        /// Whether the pending chain is prunable at `_ts`.
        function canPruneAtTime(uint256 _ts) external view returns (bool);
        /// Address of the Inbox.
        function getInbox() external view returns (address);
    }

    /// The Inbox view a proposer needs for `inHash`.
    interface IInbox {
        /// Root of the L1→L2 message tree of a checkpoint.
        function getRoot(uint256 _checkpointNumber) external view returns (bytes32);
    }
}

#[cfg(test)]
mod tests {
    use super::IRollupConsensus::*;
    use alloy_sol_types::{SolCall, SolEvent};

    #[test]
    fn selectors_from_the_notes() {
        assert_eq!(proposeCall::SELECTOR, [0x85, 0xb9, 0x8f, 0xd8]);
        assert_eq!(
            proposeCall::SIGNATURE,
            "propose((bytes32,(int256),(bytes32,bytes32,bytes32,bytes32,bytes32,uint256,uint256,\
             address,bytes32,(uint128,uint128),uint256)),(bytes,bytes),address[],\
             (uint8,bytes32,bytes32),bytes)"
        );
        assert_eq!(submitEpochRootProofCall::SELECTOR, [0xd8, 0xea, 0x42, 0x77]);
        assert_eq!(
            submitEpochRootProofCall::SIGNATURE,
            "submitEpochRootProof((uint256,uint256,(bytes32,bytes32,bytes32,address),bytes32[],\
             (bytes,bytes),bytes,bytes))"
        );
        assert_eq!(
            invalidateInsufficientAttestationsCall::SELECTOR,
            [0xaf, 0x58, 0x4d, 0xd3]
        );
        assert_eq!(pruneCall::SELECTOR, [0x9f, 0x2b, 0x31, 0x54]);
    }

    #[test]
    fn event_topics_from_the_notes() {
        assert!(
            CheckpointProposed::SIGNATURE_HASH.starts_with(&0x6ff492bf2b4ca1b9u64.to_be_bytes())
        );
        assert!(L2ProofVerified::SIGNATURE_HASH.starts_with(&0x034dd13d657aeb14u64.to_be_bytes()));
        assert!(PrunedPending::SIGNATURE_HASH.starts_with(&0xc78a70f3b27748d5u64.to_be_bytes()));
        assert_eq!(
            CheckpointInvalidated::SIGNATURE,
            "CheckpointInvalidated(uint256)"
        );
    }
}
