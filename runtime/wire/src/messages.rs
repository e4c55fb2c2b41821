//! The gossiped consensus messages: a proposer's checkpoint and the committee's attestations.
//! Authenticity is the application's ECDSA signature over the same payload digest L1 checks
//! (`cairn_consensus::attest::payload_digest`, EIP-191), never libp2p's message signing.

use cairn_consensus::attest::{self, RawSignature, SIGNATURE_LEN};
use cairn_consensus::blob::{KzgCommitment, MAX_BLOBS_PER_CHECKPOINT};
use cairn_consensus::header::{ProposedHeader, PACKED_HEADER_LEN};
use cairn_consensus::kzg::KzgProof;
use cairn_consensus::{Address, B256, I256};
use cairn_crypto::{EthSecretKey, EthSignature};

use crate::codec::{Reader, WireError, Writer};

/// Version byte in front of every encoded message (2: checkpoint proposals carry their blobs'
/// KZG commitments and proofs; block proposals. 3: proposals name their txs by [`TxRef`]
/// instead of carrying them).
const MESSAGE_VERSION: u8 = 3;

/// Longest encoded L2 block header a [`BlockRef`] may carry (the header is opaque here; the
/// node's is 300-odd bytes).
pub const MAX_BLOCK_HEADER: usize = 1024;
/// Most blocks one checkpoint proposal may name (a 72 s slot of 100 ms blocks stays below).
pub const MAX_BLOCKS_PER_PROPOSAL: usize = 1024;
/// Length of a tx's signature (`v‖r‖s` or `r‖s‖v`, opaque here).
pub const TX_SIGNATURE_LEN: usize = 65;

/// A tx as a proposal names it. The tx hash (keccak of the tx without its signature) is the
/// pool's key and what `TxsByHash` asks peers for; the signature travels beside it because the
/// hash does not fix it, and a validator must rebuild the proposer's exact bytes (the blobs
/// carry them) even if its pool holds the same tx under another signature of its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxRef {
    /// The tx hash.
    pub hash: [u8; 32],
    /// The tx's signature, as its encoding ends.
    pub signature: [u8; TX_SIGNATURE_LEN],
}

impl TxRef {
    /// Encoded size.
    pub const LEN: usize = 32 + TX_SIGNATURE_LEN;
}

/// A block named by its header and its txs' [`TxRef`]s: the txs themselves travel on the tx
/// topic, and a validator fetches the ones it lacks by hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    /// The encoded L2 block header (opaque here).
    pub header: Vec<u8>,
    /// Its txs, in order.
    pub txs: Vec<TxRef>,
}

impl BlockRef {
    fn write(&self, w: &mut Writer) {
        w.bytes(&self.header)
            .put(&(self.txs.len() as u32).to_be_bytes());
        for t in &self.txs {
            w.put(&t.hash).put(&t.signature);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let header = r.bytes(MAX_BLOCK_HEADER, "block header")?.to_vec();
        let n = u32::from_be_bytes(r.array::<4>("tx count")?) as usize;
        // Checked before allocating: a count the message cannot hold is a lie.
        if n > r.remaining() / TxRef::LEN {
            return Err(WireError::Truncated { field: "tx refs" });
        }
        let txs = (0..n)
            .map(|_| {
                Ok(TxRef {
                    hash: r.array("tx hash")?,
                    signature: r.array("tx signature")?,
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        Ok(BlockRef { header, txs })
    }

    /// keccak256 of its encoding: what a block proposal's signature binds.
    pub fn hash(&self) -> B256 {
        let mut w = Writer::default();
        self.write(&mut w);
        B256::from(cairn_crypto::keccak256(&w.out))
    }
}

/// What a checkpoint's proposer and attesters sign: the checkpoint header, the archive after
/// it and the fee asset price modifier (L1's `ProposeArgs` minus the attestations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedPayload {
    /// The checkpoint header (`propose`'s `_args.header`).
    pub header: ProposedHeader,
    /// Archive root after the checkpoint.
    pub archive: B256,
    /// `oracleInput.feeAssetPriceModifier`.
    pub fee_asset_price_modifier: I256,
}

impl SignedPayload {
    /// The digest L1 recovers attestations against.
    pub fn digest(&self) -> B256 {
        attest::payload_digest(
            self.archive,
            self.fee_asset_price_modifier,
            self.header.hash(),
        )
    }

    /// The slot the checkpoint is for.
    pub fn slot(&self) -> u64 {
        self.header.slot_number
    }

    /// Signs the digest as L1 expects (EIP-191, `v‖r‖s`, v in {27, 28}).
    pub fn sign(&self, key: &EthSecretKey) -> RawSignature {
        sign_digest(key, self.digest())
    }

    /// Who signed `sig` over this payload.
    pub fn signer(&self, sig: &RawSignature) -> Result<Address, WireError> {
        recover_digest(self.digest(), sig)
    }

    fn write(&self, w: &mut Writer) {
        w.put(&self.header.packed())
            .put(self.archive.as_slice())
            .put(&self.fee_asset_price_modifier.to_be_bytes::<32>());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let header = ProposedHeader::from_packed(&r.array::<PACKED_HEADER_LEN>("header")?)
            .map_err(|_| WireError::Invalid {
                field: "header",
                reason: "a uint256 field is out of range",
            })?;
        Ok(SignedPayload {
            header,
            archive: B256::from(r.array::<32>("archive")?),
            fee_asset_price_modifier: I256::from_be_bytes(r.array::<32>("fee modifier")?),
        })
    }
}

/// EIP-191 over `digest`, packed `v‖r‖s` with v in {27, 28} (what L1 and the guards expect).
fn sign_digest(key: &EthSecretKey, digest: B256) -> RawSignature {
    let s = key.sign_message(digest.as_slice()).0; // r ‖ s ‖ v
    let mut out = [0u8; SIGNATURE_LEN];
    out[0] = s[64];
    out[1..].copy_from_slice(&s[..64]);
    out
}

/// Who signed `sig` (EIP-191, `v‖r‖s`) over `digest`.
fn recover_digest(digest: B256, sig: &RawSignature) -> Result<Address, WireError> {
    let bad = WireError::Invalid {
        field: "signature",
        reason: "does not recover a signer",
    };
    if !matches!(sig[0], 27 | 28) {
        return Err(bad);
    }
    let mut rsv = [0u8; SIGNATURE_LEN];
    rsv[..64].copy_from_slice(&sig[1..]);
    rsv[64] = sig[0];
    let hash = attest::eth_signed_message_hash(digest);
    cairn_crypto::eth::recover_hash(&hash.0, &EthSignature(rsv))
        .map(|a| Address::from(a.0))
        .map_err(|_| bad)
}

fn read_version(r: &mut Reader<'_>) -> Result<(), WireError> {
    match r.u8("version")? {
        MESSAGE_VERSION => Ok(()),
        v => Err(WireError::Version(v)),
    }
}

/// A proposer's checkpoint: the payload, its number, the blocks it covers (each by header and
/// tx refs; validators hold the earlier ones from the slot's block proposals and rebuild the
/// blob body from them) and the proposer's signature over the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointProposal {
    /// What is signed.
    pub payload: SignedPayload,
    /// The checkpoint number it would get on L1.
    pub checkpoint: u64,
    /// Every block of the checkpoint, in order, by header and tx refs (the last one is the
    /// block no block proposal carried).
    pub blocks: Vec<BlockRef>,
    /// The proposer's signature over `payload`.
    pub signature: RawSignature,
    /// Each blob's KZG commitment and proof, in blob order: validators check them against the
    /// blobs they encode from the blocks before they attest (`cairn_consensus::kzg`).
    pub blob_proofs: Vec<(KzgCommitment, KzgProof)>,
}

impl CheckpointProposal {
    /// The wire encoding (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.put(&[MESSAGE_VERSION]);
        self.payload.write(&mut w);
        w.u64(self.checkpoint)
            .put(&self.signature)
            .put(&(self.blocks.len() as u32).to_be_bytes());
        for b in &self.blocks {
            b.write(&mut w);
        }
        // At most six: the count fits a byte.
        w.put(&[self.blob_proofs.len().min(u8::MAX as usize) as u8]);
        for (c, p) in self.blob_proofs.iter().take(u8::MAX as usize) {
            w.put(c).put(p);
        }
        w.out
    }

    /// Decodes exactly one proposal.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let payload = SignedPayload::read(&mut r)?;
        let checkpoint = r.u64("checkpoint")?;
        let signature = r.array::<SIGNATURE_LEN>("signature")?;
        let count = u32::from_be_bytes(r.array::<4>("block count")?) as usize;
        if count == 0 || count > MAX_BLOCKS_PER_PROPOSAL {
            return Err(WireError::Invalid {
                field: "block count",
                reason: "a checkpoint has 1 to 1024 blocks",
            });
        }
        let blocks = (0..count)
            .map(|_| BlockRef::read(&mut r))
            .collect::<Result<Vec<_>, WireError>>()?;
        let n = r.u8("blob count")?;
        if usize::from(n) > MAX_BLOBS_PER_CHECKPOINT {
            return Err(WireError::Invalid {
                field: "blob count",
                reason: "more blobs than a checkpoint may have",
            });
        }
        let blob_proofs = (0..n)
            .map(|_| Ok((r.array::<48>("commitment")?, r.array::<48>("proof")?)))
            .collect::<Result<Vec<_>, WireError>>()?;
        r.finish()?;
        Ok(CheckpointProposal {
            payload,
            checkpoint,
            blocks,
            signature,
            blob_proofs,
        })
    }

    /// The proposer, recovered from the signature.
    pub fn signer(&self) -> Result<Address, WireError> {
        self.payload.signer(&self.signature)
    }
}

/// A block of a checkpoint, gossiped by the slot's proposer as soon as it is built so that
/// validators re-execute it while the slot goes on. It names its txs by [`TxRef`]; a validator
/// takes them from its pool or fetches them from peers. Signed by the proposer over
/// [`digest`](Self::digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockProposal {
    /// The slot (every block of a checkpoint is in its slot).
    pub slot: u64,
    /// The checkpoint number it would get on L1.
    pub checkpoint: u64,
    /// Its position in the checkpoint, from 0.
    pub index: u32,
    /// The archive root before it (the previous block's).
    pub parent_archive: B256,
    /// The archive root after it.
    pub archive: B256,
    /// The block: its header and tx refs.
    pub block: BlockRef,
    /// The proposer's signature.
    pub signature: RawSignature,
}

impl BlockProposal {
    /// Domain of the digest, so no block proposal signature is also a checkpoint payload's
    /// (those start `abi.encode(uint8 1, …)`); 0 is Aztec's `blockProposal` separator.
    pub const DOMAIN: u8 = 0;

    /// What the proposer signs (before EIP-191): `keccak256(0 ‖ slot ‖ checkpoint ‖ index ‖
    /// parent archive ‖ archive ‖ keccak256(block ref encoding))`, integers big-endian (8, 8,
    /// 4 bytes).
    pub fn digest(&self) -> B256 {
        let mut v = Vec::with_capacity(1 + 8 + 8 + 4 + 32 * 3);
        v.push(Self::DOMAIN);
        v.extend_from_slice(&self.slot.to_be_bytes());
        v.extend_from_slice(&self.checkpoint.to_be_bytes());
        v.extend_from_slice(&self.index.to_be_bytes());
        v.extend_from_slice(self.parent_archive.as_slice());
        v.extend_from_slice(self.archive.as_slice());
        v.extend_from_slice(self.block.hash().as_slice());
        B256::from(cairn_crypto::keccak256(&v))
    }

    /// Signs it with the proposer's key, filling `signature`.
    pub fn sign(&mut self, key: &EthSecretKey) {
        self.signature = sign_digest(key, self.digest());
    }

    /// The proposer, recovered from the signature.
    pub fn signer(&self) -> Result<Address, WireError> {
        recover_digest(self.digest(), &self.signature)
    }

    /// The wire encoding (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.put(&[MESSAGE_VERSION]);
        w.u64(self.slot)
            .u64(self.checkpoint)
            .put(&self.index.to_be_bytes())
            .put(self.parent_archive.as_slice())
            .put(self.archive.as_slice())
            .put(&self.signature);
        self.block.write(&mut w);
        w.out
    }

    /// Decodes exactly one block proposal.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let slot = r.u64("slot")?;
        let checkpoint = r.u64("checkpoint")?;
        let index = u32::from_be_bytes(r.array::<4>("index")?);
        let parent_archive = B256::from(r.array::<32>("parent archive")?);
        let archive = B256::from(r.array::<32>("archive")?);
        let signature = r.array::<SIGNATURE_LEN>("signature")?;
        let block = BlockRef::read(&mut r)?;
        r.finish()?;
        Ok(BlockProposal {
            slot,
            checkpoint,
            index,
            parent_archive,
            archive,
            block,
            signature,
        })
    }
}

/// A committee member's attestation to a checkpoint, with the proposer's signature it
/// answers (so it can be checked against the expected proposer without the proposal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointAttestation {
    /// What is signed.
    pub payload: SignedPayload,
    /// The attester's signature over `payload`.
    pub signature: RawSignature,
    /// The proposer's signature over `payload`, from the proposal.
    pub proposer_signature: RawSignature,
}

impl CheckpointAttestation {
    /// Encoded size: fixed.
    pub const LEN: usize = 1 + PACKED_HEADER_LEN + 32 + 32 + 2 * SIGNATURE_LEN;

    /// The wire encoding (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.put(&[MESSAGE_VERSION]);
        self.payload.write(&mut w);
        w.put(&self.signature).put(&self.proposer_signature);
        w.out
    }

    /// Decodes exactly one attestation.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let payload = SignedPayload::read(&mut r)?;
        let signature = r.array::<SIGNATURE_LEN>("signature")?;
        let proposer_signature = r.array::<SIGNATURE_LEN>("proposer signature")?;
        r.finish()?;
        Ok(CheckpointAttestation {
            payload,
            signature,
            proposer_signature,
        })
    }

    /// The attester, recovered from the signature.
    pub fn signer(&self) -> Result<Address, WireError> {
        self.payload.signer(&self.signature)
    }

    /// The proposer the attestation answers.
    pub fn proposer(&self) -> Result<Address, WireError> {
        self.payload.signer(&self.proposer_signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Topic;
    use proptest::prelude::*;

    fn key(i: u8) -> EthSecretKey {
        EthSecretKey::from_bytes(&[i.max(1); 32]).expect("a valid key")
    }

    #[test]
    fn a_block_proposal_round_trips_and_names_its_signer() {
        let mut p = BlockProposal {
            slot: 9,
            checkpoint: 4,
            index: 2,
            parent_archive: B256::repeat_byte(1),
            archive: B256::repeat_byte(2),
            block: block_ref(3),
            signature: [0; SIGNATURE_LEN],
        };
        p.sign(&key(3));
        let bytes = p.encode();
        let q = BlockProposal::decode(&bytes).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.signer().unwrap().0 .0, key(3).address().0);
        // Every signed field is bound: another index, archive or body is another signer.
        for change in [
            |p: &mut BlockProposal| p.index += 1,
            |p: &mut BlockProposal| p.archive = B256::repeat_byte(9),
            |p: &mut BlockProposal| p.block.header[0] ^= 1,
            |p: &mut BlockProposal| p.block.txs[1].hash[0] ^= 1,
            |p: &mut BlockProposal| p.block.txs[2].signature[64] ^= 1,
            |p: &mut BlockProposal| p.block.txs.truncate(2),
            |p: &mut BlockProposal| p.parent_archive = B256::ZERO,
        ] {
            let mut r = p.clone();
            change(&mut r);
            assert_ne!(r.signer().ok(), p.signer().ok());
        }
        assert!(BlockProposal::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(BlockProposal::decode(&long).is_err());
        // Not a checkpoint proposal and not an attestation.
        assert!(CheckpointProposal::decode(&bytes).is_err());
        // A tx count the message cannot hold is refused before anything is allocated.
        let mut lying = bytes.clone();
        let at = bytes.len() - 3 * TxRef::LEN - 4;
        lying[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            BlockProposal::decode(&lying),
            Err(WireError::Truncated { field: "tx refs" })
        );
    }

    fn block_ref(txs: u8) -> BlockRef {
        BlockRef {
            header: vec![7; 300],
            txs: (0..txs)
                .map(|i| TxRef {
                    hash: [i; 32],
                    signature: [i ^ 0x5a; TX_SIGNATURE_LEN],
                })
                .collect(),
        }
    }

    fn arb_block_ref() -> impl Strategy<Value = BlockRef> {
        (
            proptest::collection::vec(any::<u8>(), 0..400),
            proptest::collection::vec((any::<[u8; 32]>(), any::<u8>()), 0..20),
        )
            .prop_map(|(header, txs)| BlockRef {
                header,
                txs: txs
                    .into_iter()
                    .map(|(hash, s)| TxRef {
                        hash,
                        signature: [s; TX_SIGNATURE_LEN],
                    })
                    .collect(),
            })
    }

    fn payload(slot: u64, archive: u8) -> SignedPayload {
        SignedPayload {
            header: ProposedHeader {
                slot_number: slot,
                timestamp: 1_800_000_000 + slot * 12,
                coinbase: Address::repeat_byte(5),
                fee_per_l2_gas: 1_000_000,
                total_mana_used: 42,
                ..ProposedHeader::default()
            },
            archive: B256::repeat_byte(archive),
            fee_asset_price_modifier: I256::ZERO,
        }
    }

    fn arb_payload() -> impl Strategy<Value = SignedPayload> {
        (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            any::<[u8; 20]>(),
            any::<u128>(),
            any::<u128>(),
            any::<i128>(),
        )
            .prop_map(|(a, b, slot, ts, cb, fee, mana, m)| SignedPayload {
                header: ProposedHeader {
                    last_archive_root: B256::from(a),
                    block_headers_hash: B256::from(b),
                    slot_number: slot,
                    timestamp: ts,
                    coinbase: Address::from(cb),
                    fee_per_l2_gas: fee,
                    total_mana_used: mana,
                    ..ProposedHeader::default()
                },
                archive: B256::from(b),
                fee_asset_price_modifier: I256::try_from(m).unwrap_or(I256::ZERO),
            })
    }

    #[test]
    fn signatures_recover_the_signer_as_l1_would() {
        let p = payload(40, 9);
        let proposer = key(1);
        let proposal = CheckpointProposal {
            payload: p,
            checkpoint: 3,
            blocks: vec![block_ref(1)],
            signature: p.sign(&proposer),
            blob_proofs: vec![([1; 48], [2; 48])],
        };
        assert_eq!(
            proposal.signer().unwrap().0 .0,
            proposer.address().0,
            "proposer"
        );
        let att = CheckpointAttestation {
            payload: p,
            signature: p.sign(&key(2)),
            proposer_signature: proposal.signature,
        };
        assert_eq!(att.signer().unwrap().0 .0, key(2).address().0);
        assert_eq!(att.proposer().unwrap().0 .0, proposer.address().0);
        // The same signature over another payload recovers someone else.
        let other = CheckpointAttestation {
            payload: payload(40, 10),
            ..att
        };
        assert_ne!(other.signer().unwrap().0 .0, key(2).address().0);
        // A v outside {27, 28} is refused, not normalised.
        let mut bad = att;
        bad.signature[0] = 1;
        assert!(bad.signer().is_err());
        // L1's own check: the signature is over the EIP-191 hash of the payload digest.
        let hash = attest::eth_signed_message_hash(p.digest());
        let mut rsv = [0u8; 65];
        rsv[..64].copy_from_slice(&att.signature[1..]);
        rsv[64] = att.signature[0];
        assert_eq!(
            cairn_crypto::eth::recover_hash(&hash.0, &EthSignature(rsv))
                .unwrap()
                .0,
            key(2).address().0
        );
    }

    #[test]
    fn strict_decoding() {
        let p = payload(7, 1);
        let att = CheckpointAttestation {
            payload: p,
            signature: p.sign(&key(3)),
            proposer_signature: p.sign(&key(4)),
        };
        let bytes = att.encode();
        assert_eq!(bytes.len(), CheckpointAttestation::LEN);
        assert!(bytes.len() <= Topic::CheckpointAttestation.max_size());
        assert_eq!(CheckpointAttestation::decode(&bytes), Ok(att));
        for cut in [0, 1, 100, bytes.len() - 1] {
            assert!(
                matches!(
                    CheckpointAttestation::decode(&bytes[..cut]),
                    Err(WireError::Truncated { .. })
                ),
                "{cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            CheckpointAttestation::decode(&longer),
            Err(WireError::Trailing(1))
        );
        let mut v1 = bytes.clone();
        v1[0] = 1;
        assert_eq!(
            CheckpointAttestation::decode(&v1),
            Err(WireError::Version(1))
        );
        // A slot number above u64 in the packed header.
        let mut wide = bytes;
        wide[1 + 183] = 1;
        assert!(matches!(
            CheckpointAttestation::decode(&wide),
            Err(WireError::Invalid {
                field: "header",
                ..
            })
        ));
        // Seven blobs: more than a checkpoint may have.
        let mut seven = CheckpointProposal {
            payload: p,
            checkpoint: 1,
            blocks: vec![block_ref(0)],
            signature: p.sign(&key(3)),
            blob_proofs: vec![([0; 48], [0; 48]); 7],
        }
        .encode();
        assert!(matches!(
            CheckpointProposal::decode(&seven),
            Err(WireError::Invalid {
                field: "blob count",
                ..
            })
        ));
        seven.truncate(seven.len() - 96);
        assert!(CheckpointProposal::decode(&seven).is_err());
        // A proposal whose block header length runs past the message.
        let proposal = CheckpointProposal {
            payload: p,
            checkpoint: 1,
            blocks: vec![BlockRef {
                header: vec![7; 10],
                txs: vec![],
            }],
            signature: p.sign(&key(3)),
            blob_proofs: vec![],
        };
        let mut b = proposal.encode();
        let n = b.len();
        // Header length, header, tx count (0), blob count (0): a length past the last byte.
        b[n - 19..n - 15].copy_from_slice(&16u32.to_be_bytes());
        assert!(matches!(
            CheckpointProposal::decode(&b),
            Err(WireError::Truncated { .. })
        ));
        // No block at all.
        let mut none = proposal.clone();
        none.blocks.clear();
        assert!(matches!(
            CheckpointProposal::decode(&none.encode()),
            Err(WireError::Invalid {
                field: "block count",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn proposals_round_trip(p in arb_payload(), n in any::<u64>(), blocks in proptest::collection::vec(arb_block_ref(), 1..5), sig in any::<[u8; 32]>(), blobs in 0usize..=6, fill in any::<u8>()) {
            let mut signature = [0u8; SIGNATURE_LEN];
            signature[..32].copy_from_slice(&sig);
            let blob_proofs = vec![([fill; 48], [fill ^ 0x55; 48]); blobs];
            let m = CheckpointProposal { payload: p, checkpoint: n, blocks, signature, blob_proofs };
            prop_assert_eq!(CheckpointProposal::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn block_proposals_round_trip(slot in any::<u64>(), n in any::<u64>(), index in any::<u32>(), block in arb_block_ref(), sig in any::<[u8; 32]>()) {
            let mut signature = [0u8; SIGNATURE_LEN];
            signature[..32].copy_from_slice(&sig);
            let m = BlockProposal { slot, checkpoint: n, index, parent_archive: B256::from(sig), archive: B256::ZERO, block, signature };
            prop_assert_eq!(BlockProposal::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn attestations_round_trip(p in arb_payload(), a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let (mut s1, mut s2) = ([0u8; SIGNATURE_LEN], [0u8; SIGNATURE_LEN]);
            s1[1..33].copy_from_slice(&a);
            s2[33..].copy_from_slice(&b);
            let m = CheckpointAttestation { payload: p, signature: s1, proposer_signature: s2 };
            prop_assert_eq!(CheckpointAttestation::decode(&m.encode()), Ok(m));
        }

        /// Whatever a peer sends, decoding either succeeds on the one canonical encoding or
        /// fails; it never panics.
        #[test]
        fn arbitrary_bytes_decode_canonically_or_not_at_all(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            if let Ok(m) = CheckpointProposal::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes.clone());
            }
            if let Ok(m) = BlockProposal::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes.clone());
            }
            if let Ok(m) = CheckpointAttestation::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes);
            }
        }
    }
}
