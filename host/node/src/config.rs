//! The node's typed configuration (`cairn start` fills it from flags and env vars).

use std::path::PathBuf;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use cairn_protocol::state::WorldState;

/// Which parts of the node run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Follow L1 (always on when the sequencer is).
    pub archiver: bool,
    /// Propose and attest.
    pub sequencer: bool,
    /// Submit epoch proofs (devnet: the mock verifier accepts any proof bytes).
    pub prover: bool,
}

/// A local attester.
#[derive(Clone)]
pub struct Attester {
    /// Who signs for it: a key held here or a remote signer (the host signs, never a module).
    pub signer: crate::signer::AttesterSigner,
    /// L1 coinbase.
    pub coinbase: Address,
    /// L2 fee recipient.
    pub fee_recipient: B256,
}

/// Everything the node is configured with (typed; `cairn start` fills it from flags and env).
#[derive(Clone)]
pub struct NodeConfig {
    /// `DATA_DIRECTORY`.
    pub data_dir: PathBuf,
    /// `--db-cache-mb`: the database's page cache, MiB.
    pub db_cache_mb: u64,
    /// `--db-quick-repair`: commit so that a crash needs no full check of the database.
    pub db_quick_repair: bool,
    /// Roles.
    pub roles: Roles,
    /// Local attesters (from `KEY_STORE_DIRECTORY`).
    pub attesters: Vec<Attester>,
    /// Publisher keys, tried in order (rotation on failure or low balance).
    pub publishers: Vec<PrivateKeySigner>,
    /// Prover identity and publisher.
    pub prover: Option<PrivateKeySigner>,
    /// The Rollup.
    pub rollup: Address,
    /// The Rollup's version (reported by the node).
    pub rollup_version: u64,
    /// `AZTEC_PORT` (JSON-RPC, `/status`, `/metrics`); 0 picks a free port.
    pub port: u16,
    /// `AZTEC_ADMIN_PORT`; 0 picks a free port.
    pub admin_port: u16,
    /// Bind address.
    pub bind: String,
    /// SHA-256 of the admin API key; `None` disables the admin API.
    pub admin_key_sha256: Option<[u8; 32]>,
    /// The operator's cap on txs per block (`SEQ_MAX_TX_PER_BLOCK`); `None`: the blobs, the
    /// Rollup's mana limit and the build time budget decide.
    pub max_txs_per_block: Option<usize>,
    /// `SEQ_BLOCK_DURATION_MS`: a block every this long inside the slot, all published as one
    /// checkpoint; `None`: one block per checkpoint.
    pub block_duration: Option<Duration>,
    /// How often the loops poll L1.
    pub poll: Duration,
    /// Publisher balance below which a warning is raised and the next publisher is used (wei).
    pub min_publisher_balance: U256,
    /// The genesis L2 state.
    pub genesis: WorldState,
    /// `P2P_MIN_PEERS`: fewer connected peers make the node unhealthy (0: never).
    pub min_peers: usize,
    /// `P2P_MAX_PENDING_TX_COUNT`: the pool's bound; a full pool evicts its lowest-fee tx for
    /// a higher-fee one and refuses the rest.
    pub max_pending_txs: usize,
    /// Start with the L1 archiver paused (follow peers until `nodeAdmin_resumeSync`).
    pub sync_paused: bool,
    /// Beacon API URLs for blob sidecars (`L1_CONSENSUS_HOST_URLS`); empty: the L1 node serves
    /// blobs itself (anvil).
    pub beacon_urls: Vec<String>,
    /// HA signing (`VALIDATOR_HA_SIGNING_ENABLED` and the `VALIDATOR_HA_*` settings): every
    /// duty is claimed in the shared PostgreSQL table before it is signed.
    pub ha: Option<cairn_ha::HaConfig>,
}
