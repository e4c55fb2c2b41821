//! What crosses the wire between cairn nodes, as pure functions (no I/O, builds for wasm): the
//! network version every topic carries, the topics and their size caps, gossip message ids,
//! snappy compression whose declared size is checked against the cap before anything is
//! decompressed, and strict encodings of the gossiped messages.
//!
//! The formats follow Aztec's gossip where its facts are known (topics per message kind,
//! snappy, SHA-256(topic ‖ data)[..20] ids, application-level ECDSA signatures and libp2p's
//! `StrictNoSign`), under cairn's own prefix: cairn runs its own L2, so its nodes must never mix
//! with Aztec's. Decoders accept exactly one encoding per value: fixed-width fields, bounded
//! length prefixes, no trailing bytes.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod messages;
pub mod reqresp;

pub use codec::WireError;
pub use messages::{
    BlockProposal, BlockRef, CheckpointAttestation, CheckpointProposal, SignedPayload, TxRef,
    MAX_BLOCKS_PER_PROPOSAL, MAX_BLOCK_HEADER, TX_SIGNATURE_LEN,
};

pub use cairn_consensus::Address;
use sha2::{Digest, Sha256};

/// Bumped whenever any encoding here changes: nodes of different wire versions never share a
/// topic.
pub const WIRE_VERSION: &str = "cairn1";

/// The network a node belongs to: gossip only flows between nodes that agree on all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkId {
    /// L1 chain id.
    pub chain_id: u64,
    /// The Rollup contract.
    pub rollup: Address,
    /// The Rollup's version (`getVersion`).
    pub rollup_version: u64,
}

impl NetworkId {
    /// `cairn1-<chain id>-<rollup address, 40 hex>-<rollup version>`: the whole address, not
    /// a prefix of it, so two rollups can never share topics by accident.
    pub fn version(&self) -> String {
        format!(
            "{WIRE_VERSION}-{}-{}-{}",
            self.chain_id,
            hex_lower(self.rollup.as_slice()),
            self.rollup_version
        )
    }
}

/// A gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Txs for the pools.
    Tx,
    /// Blocks inside a checkpoint, as they are built (multi-block checkpoints).
    BlockProposal,
    /// A proposer's signed checkpoint.
    CheckpointProposal,
    /// A committee member's attestation to a checkpoint.
    CheckpointAttestation,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 4] = [
        Topic::Tx,
        Topic::BlockProposal,
        Topic::CheckpointProposal,
        Topic::CheckpointAttestation,
    ];

    /// The topic's name inside its path.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Tx => "tx",
            Topic::BlockProposal => "block_proposal",
            Topic::CheckpointProposal => "checkpoint_proposal",
            Topic::CheckpointAttestation => "checkpoint_attestation",
        }
    }

    /// Largest decompressed message accepted on the topic (Aztec's caps: 512 KiB for a tx,
    /// 10 MiB for proposals, 5 KiB for an attestation).
    pub fn max_size(self) -> usize {
        match self {
            Topic::Tx => 512 << 10,
            Topic::BlockProposal | Topic::CheckpointProposal => 10 << 20,
            Topic::CheckpointAttestation => 5 << 10,
        }
    }

    /// The gossipsub topic string: `/cairn/<name>/<network version>`.
    pub fn path(self, net: &NetworkId) -> String {
        format!("/cairn/{}/{}", self.name(), net.version())
    }

    /// The topic a path names, if it is one of this network's.
    pub fn parse(path: &str, net: &NetworkId) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.path(net) == path)
    }
}

/// Gossip message id: `SHA-256(topic ‖ data)[..20]` over the decompressed data (gossipsub
/// takes the id after the inbound transform), as Aztec and Ethereum do, so the id of a message
/// does not depend on how its sender compressed it.
pub fn message_id(topic: &str, data: &[u8]) -> [u8; 20] {
    let mut h = Sha256::new();
    h.update(topic.as_bytes());
    h.update(data);
    let d = h.finalize();
    let mut id = [0u8; 20];
    id.copy_from_slice(&d[..20]);
    id
}

/// Snappy-compresses a message for the wire.
pub fn compress(data: &[u8]) -> Vec<u8> {
    // Compressing into a buffer of `max_compress_len` cannot fail.
    snap::raw::Encoder::new()
        .compress_vec(data)
        .unwrap_or_else(|_| unreachable!("snappy compression into a sized buffer"))
}

/// Decompresses a message of at most `cap` bytes. The size the sender declares in the snappy
/// preamble is checked first: a small message that claims to expand past the cap is refused
/// without allocating or decompressing anything.
pub fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, WireError> {
    let declared = snap::raw::decompress_len(data).map_err(|_| WireError::Compression)?;
    if declared > cap {
        return Err(WireError::TooLarge { declared, cap });
    }
    snap::raw::Decoder::new()
        .decompress_vec(data)
        .map_err(|_| WireError::Compression)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> NetworkId {
        NetworkId {
            chain_id: 31337,
            rollup: Address::repeat_byte(0xab),
            rollup_version: 7,
        }
    }

    #[test]
    fn topics_bind_the_chain_the_rollup_and_its_version() {
        let n = net();
        assert_eq!(
            Topic::CheckpointProposal.path(&n),
            format!(
                "/cairn/checkpoint_proposal/cairn1-31337-{}-7",
                "ab".repeat(20)
            )
        );
        for t in Topic::ALL {
            assert_eq!(Topic::parse(&t.path(&n), &n), Some(t));
            for other in [
                NetworkId { chain_id: 1, ..n },
                NetworkId {
                    rollup: Address::repeat_byte(0xac),
                    ..n
                },
                NetworkId {
                    rollup_version: 8,
                    ..n
                },
            ] {
                assert_eq!(Topic::parse(&t.path(&other), &n), None, "{t:?} {other:?}");
            }
        }
        assert_eq!(Topic::parse("/aztec/tx/00-31337-abababab-7", &n), None);
    }

    #[test]
    fn message_id_known_answer() {
        // sha256("/t" ‖ "abc")[..20], computed independently with coreutils' sha256sum.
        assert_eq!(
            hex_lower(&message_id("/t", b"abc")),
            "6340333894cc8f1a35b9913d330cec59714f6273"
        );
        assert_ne!(message_id("/t", b"abc"), message_id("/u", b"abc"));
    }

    #[test]
    fn compression_round_trips_within_the_cap() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let c = compress(&data);
        assert!(c.len() < data.len());
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        assert_eq!(
            decompress(&c, data.len() - 1),
            Err(WireError::TooLarge {
                declared: data.len(),
                cap: data.len() - 1
            })
        );
    }

    #[test]
    fn a_declared_size_above_the_cap_is_refused_before_decompressing() {
        // A 6-byte message whose preamble (varint) claims 1 GiB.
        let mut bomb = vec![0x80, 0x80, 0x80, 0x80, 0x04];
        bomb.push(0x00);
        assert_eq!(
            decompress(&bomb, Topic::Tx.max_size()),
            Err(WireError::TooLarge {
                declared: 1 << 30,
                cap: 512 << 10
            })
        );
        assert_eq!(decompress(&[], 10), Err(WireError::Compression));
        assert_eq!(decompress(&[0x05, 0xff], 10), Err(WireError::Compression));
    }
}
