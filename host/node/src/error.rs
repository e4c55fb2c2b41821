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
    /// The Rollup was deployed for another L2: its blocks mean nothing to this node, and
    /// sequencing there would propose blocks nobody can prove while the attesters miss every
    /// duty of that network.
    #[error(
        "refusing to sequence on rollup {rollup}: its genesis archive (archiveAt(0)) is {found}{known}, \
         but this node's L2 starts from {expected} (cairn's genesis for its --genesis-accounts). \
         cairn runs its own L2 on Aztec's L1 contracts; its blocks cannot be proven or used on another L2, \
         and its attesters would miss every duty there. To follow the rollup read-only, start without \
         --sequencer and without validator keys; to sequence, point --network/--registry at a Rollup \
         deployed with cairn's genesis (`cairn devnet l1` deploys one)"
    )]
    ForeignGenesis {
        /// The Rollup's address.
        rollup: alloy_primitives::Address,
        /// Its `archiveAt(0)`.
        found: alloy_primitives::B256,
        /// What it is, when it is a genesis we know (Aztec's).
        known: String,
        /// This node's genesis archive.
        expected: alloy_primitives::B256,
    },
    /// The HA signing database (unreachable, schema behind or ahead).
    #[error(transparent)]
    Ha(#[from] cairn_ha::HaError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}
