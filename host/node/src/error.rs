//! The node's errors, typed to the edge (logs, `/status`, JSON-RPC answers).

use cairn_l1::L1Error;

use crate::network::NetworkError;

/// What went wrong inside the node, typed to the edge (logs, `/status`, JSON-RPC answers).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An L1 read or transaction failed (never read as "false" or "0").
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Peers could not serve what was asked.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A block that does not apply to the local state.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// A thread panicked while holding the chain or a cache.
    #[error("internal state poisoned by a crashed thread; restart the node")]
    Poisoned,
    /// Data from L1, a peer or a stage that does not reproduce what it claims.
    #[error("{0}")]
    Invalid(String),
    /// A duty this node could not complete, and why.
    #[error("{0}")]
    Duty(String),
    /// A stage module could not be loaded or rolled back.
    #[error("module: {0}")]
    Module(String),
    /// The data directory (module registry files).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The node is shutting down (a service it needs has stopped).
    #[error("the node is shutting down")]
    Stopped,
}

impl From<&str> for NodeError {
    fn from(s: &str) -> Self {
        NodeError::Invalid(s.to_string())
    }
}

impl From<String> for NodeError {
    /// Reasons from the pure crates (chain, blobs) are invalid data.
    fn from(s: String) -> Self {
        NodeError::Invalid(s)
    }
}

/// The node's error for start-up problems.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// L1 not reachable or not the expected contracts.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}
