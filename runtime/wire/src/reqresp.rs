//! Request/response messages between two peers: the status handshake every connection starts
//! with, blocks by number (a node that was down catches up from its peers) and txs by hash.
//! Each travels snappy-compressed on its own libp2p stream, with the declared size checked
//! against [`MAX_REQUEST`] / [`MAX_RESPONSE`] before decompressing.

use cairn_consensus::B256;

use crate::codec::{Reader, WireError, Writer};

/// Largest request, decompressed.
pub const MAX_REQUEST: usize = 16 * 1024;
/// Largest response, decompressed: a batch of full blocks.
pub const MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// Most blocks one request may ask for.
pub const MAX_BLOCKS_PER_REQUEST: u32 = 16;
/// Most txs one request may ask for.
pub const MAX_TXS_PER_REQUEST: usize = 256;
/// Largest single block or tx inside a response.
const MAX_ITEM: usize = 10 * 1024 * 1024;
/// Longest network version string.
const MAX_VERSION: usize = 128;
/// Longest error text.
const MAX_ERROR: usize = 256;

/// Where a node stands, exchanged on connect: peers of other networks are dropped, and a peer's
/// tip says whether it can serve blocks this node lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// [`crate::NetworkId::version`]: wire version, L1 chain, rollup and its version.
    pub version: String,
    /// Latest block number.
    pub tip: u64,
    /// Archive root at the tip.
    pub tip_archive: B256,
    /// Latest proven block number.
    pub proven: u64,
}

/// What a peer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The handshake: the asker's own status.
    Status(Status),
    /// Blocks `from ..= from + count - 1` (at most [`MAX_BLOCKS_PER_REQUEST`]).
    BlocksByNumber {
        /// First block.
        from: u64,
        /// How many.
        count: u32,
    },
    /// Txs by hash, from the pool or from blocks (at most [`MAX_TXS_PER_REQUEST`]).
    TxsByHash(Vec<[u8; 32]>),
}

/// The answer to a [`Request`] of the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The answerer's status.
    Status(Status),
    /// Blocks in order, starting at the requested number; fewer (or none) when the answerer
    /// does not have them. Each is the node's stored block encoding.
    Blocks(Vec<Vec<u8>>),
    /// The txs the answerer has, in request order, missing ones left out.
    Txs(Vec<Vec<u8>>),
    /// Refused (rate limit, bad request); the text says why.
    Error(String),
}

const STATUS: u8 = 1;
const BLOCKS: u8 = 2;
const TXS: u8 = 3;
const ERROR: u8 = 4;

fn write_status(w: &mut Writer, s: &Status) {
    w.bytes(s.version.as_bytes())
        .u64(s.tip)
        .put(s.tip_archive.as_slice())
        .u64(s.proven);
}

fn read_status(r: &mut Reader<'_>) -> Result<Status, WireError> {
    let version = std::str::from_utf8(r.bytes(MAX_VERSION, "version")?)
        .map_err(|_| WireError::Invalid {
            field: "version",
            reason: "not UTF-8",
        })?
        .to_string();
    Ok(Status {
        version,
        tip: r.u64("tip")?,
        tip_archive: B256::from(r.array::<32>("tip archive")?),
        proven: r.u64("proven")?,
    })
}

fn write_list(w: &mut Writer, items: &[Vec<u8>]) {
    w.put(&(items.len() as u32).to_be_bytes());
    for i in items {
        w.bytes(i);
    }
}

fn read_list(r: &mut Reader<'_>, max_items: usize) -> Result<Vec<Vec<u8>>, WireError> {
    let n = u32::from_be_bytes(r.array("count")?) as usize;
    if n > max_items {
        return Err(WireError::Invalid {
            field: "count",
            reason: "more items than a request may ask for",
        });
    }
    (0..n)
        .map(|_| r.bytes(MAX_ITEM, "item").map(<[u8]>::to_vec))
        .collect()
}

impl Request {
    /// The wire encoding (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Request::Status(s) => {
                w.put(&[STATUS]);
                write_status(&mut w, s);
            }
            Request::BlocksByNumber { from, count } => {
                w.put(&[BLOCKS]).u64(*from).put(&count.to_be_bytes());
            }
            Request::TxsByHash(hashes) => {
                w.put(&[TXS]).put(&(hashes.len() as u32).to_be_bytes());
                for h in hashes {
                    w.put(h);
                }
            }
        }
        w.out
    }

    /// Decodes exactly one request.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let req = match r.u8("kind")? {
            STATUS => Request::Status(read_status(&mut r)?),
            BLOCKS => {
                let from = r.u64("from")?;
                let count = u32::from_be_bytes(r.array("count")?);
                if count == 0 || count > MAX_BLOCKS_PER_REQUEST {
                    return Err(WireError::Invalid {
                        field: "count",
                        reason: "must be 1 to 16 blocks",
                    });
                }
                Request::BlocksByNumber { from, count }
            }
            TXS => {
                let n = u32::from_be_bytes(r.array("count")?) as usize;
                if n == 0 || n > MAX_TXS_PER_REQUEST {
                    return Err(WireError::Invalid {
                        field: "count",
                        reason: "must be 1 to 256 hashes",
                    });
                }
                Request::TxsByHash(
                    (0..n)
                        .map(|_| r.array::<32>("hash"))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => {
                return Err(WireError::Invalid {
                    field: "kind",
                    reason: "unknown request",
                })
            }
        };
        r.finish()?;
        Ok(req)
    }
}

impl Response {
    /// The wire encoding (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Response::Status(s) => {
                w.put(&[STATUS]);
                write_status(&mut w, s);
            }
            Response::Blocks(b) => {
                w.put(&[BLOCKS]);
                write_list(&mut w, b);
            }
            Response::Txs(t) => {
                w.put(&[TXS]);
                write_list(&mut w, t);
            }
            Response::Error(e) => {
                let e = &e.as_bytes()[..e.len().min(MAX_ERROR)];
                w.put(&[ERROR]).bytes(e);
            }
        }
        w.out
    }

    /// Decodes exactly one response.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let resp = match r.u8("kind")? {
            STATUS => Response::Status(read_status(&mut r)?),
            BLOCKS => Response::Blocks(read_list(&mut r, MAX_BLOCKS_PER_REQUEST as usize)?),
            TXS => Response::Txs(read_list(&mut r, MAX_TXS_PER_REQUEST)?),
            ERROR => Response::Error(
                std::str::from_utf8(r.bytes(MAX_ERROR, "error")?)
                    .map_err(|_| WireError::Invalid {
                        field: "error",
                        reason: "not UTF-8",
                    })?
                    .to_string(),
            ),
            _ => {
                return Err(WireError::Invalid {
                    field: "kind",
                    reason: "unknown response",
                })
            }
        };
        r.finish()?;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> Status {
        Status {
            version: "cairn1-31337-ab-1".into(),
            tip: 7,
            tip_archive: B256::repeat_byte(9),
            proven: 5,
        }
    }

    #[test]
    fn known_encodings() {
        let r = Request::BlocksByNumber { from: 3, count: 2 };
        assert_eq!(hex::encode(r.encode()), "02000000000000000300000002");
        let s = Response::Status(status()).encode();
        assert_eq!(s[0], 1);
        assert_eq!(&s[1..5], &[0, 0, 0, 17]);
        assert_eq!(Response::decode(&s).unwrap(), Response::Status(status()));
    }

    #[test]
    fn bounds_are_enforced() {
        let too_many = Request::BlocksByNumber { from: 1, count: 17 }.encode();
        assert!(Request::decode(&too_many).is_err());
        let none = Request::TxsByHash(vec![]).encode();
        assert!(Request::decode(&none).is_err());
        let mut trailing = Request::Status(status()).encode();
        trailing.push(0);
        assert_eq!(Request::decode(&trailing), Err(WireError::Trailing(1)));
        assert!(Response::decode(&[9]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(from in any::<u64>(), count in 1u32..=16, tip in any::<u64>(),
                       items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
                       text in "[a-z ]{0,40}") {
            for req in [
                Request::BlocksByNumber { from, count },
                Request::Status(Status { tip, ..status() }),
                Request::TxsByHash(vec![[1; 32], [2; 32]]),
            ] {
                prop_assert_eq!(Request::decode(&req.encode()).unwrap(), req);
            }
            for resp in [
                Response::Blocks(items.clone()),
                Response::Txs(items.clone()),
                Response::Error(text.clone()),
                Response::Status(status()),
            ] {
                prop_assert_eq!(Response::decode(&resp.encode()).unwrap(), resp);
            }
        }

        #[test]
        fn garbage_never_panics_and_accepted_bytes_are_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(r) = Request::decode(&bytes) {
                prop_assert_eq!(r.encode(), bytes.clone());
            }
            if let Ok(r) = Response::decode(&bytes) {
                prop_assert_eq!(r.encode(), bytes);
            }
        }
    }
}
