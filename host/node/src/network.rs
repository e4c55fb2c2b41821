//! The node's view of the p2p service: the narrow interface it needs, so this crate does not
//! depend on libp2p (`cairn start` plugs the service in).

use alloy_primitives::B256;
use serde_json::Value;

/// What the node asks of the p2p service.
pub trait Network: Send + Sync {
    /// Gossips a tx this node accepted from its own RPC (gossiped txs travel on through the
    /// service's validation instead).
    fn announce_tx(&self, tx: &[u8]);
    /// Gossips a consensus message this node made (a proposal or an attestation); never
    /// blocks (a full queue drops it with a log line).
    fn publish(&self, topic: cairn_wire::Topic, data: Vec<u8>);
    /// This node's peer id.
    fn peer_id(&self) -> String;
    /// The addresses it listens on.
    fn listen_addrs(&self) -> Vec<String>;
    /// The connected peers (`p2p_getPeers`): id, address, direction, score.
    fn peers(&self) -> Vec<Value>;
    /// Blocks `from ..` (at most `count`) from the peer with the highest tip, as stored block
    /// encodings; unverified (the caller re-executes them).
    fn fetch_blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>, NetworkError>;
    /// The txs with these hashes, asked of connected peers in turn (those with the highest tips
    /// first) until every one is found or the peers run out; txs no peer had are left out.
    /// Each comes with its hash, one of `hashes` (computed from the bytes); otherwise
    /// unchecked.
    fn fetch_txs(&self, hashes: &[[u8; 32]]) -> Vec<([u8; 32], Vec<u8>)>;
    /// What this node announces in status handshakes.
    fn set_status(&self, tip: u64, tip_archive: B256, proven: u64);
    /// The service's counters (peers, gossip per topic and verdict), for `/metrics`.
    fn stats(&self) -> NetworkStats;
}

/// A request to peers that got no usable answer.
#[derive(Debug, thiserror::Error)]
#[error("p2p: {0}")]
pub struct NetworkError(pub String);

/// The p2p service's counters as `/metrics` shows them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NetworkStats {
    /// Connected peers.
    pub peers: u64,
    /// Per gossip topic.
    pub topics: Vec<TopicStats>,
}

/// One gossip topic's counters.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TopicStats {
    /// The topic's name (`tx`, `checkpoint_proposal`, …).
    pub topic: &'static str,
    /// Messages handed to the node for validation.
    pub received: u64,
    /// Accepted (forwarded).
    pub accepted: u64,
    /// Rejected (the sender penalised).
    pub rejected: u64,
    /// Ignored (not forwarded, no penalty).
    pub ignored: u64,
}
