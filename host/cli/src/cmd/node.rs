//! `cairn start`: the sequencer node, configured by the seed guide's flags and env vars.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use anyhow::{anyhow, bail, Context, Result};
use cairn_engine::{Engine, EngineConfig, Pipeline, Stage};
use cairn_keys::dir;
use cairn_node::signer::{AttesterSigner, RemoteSigner};
use cairn_node::{Attester, Node, NodeConfig, Roles};
use clap::Args;
use sha2::{Digest, Sha256};

use super::keys::FsKeyFiles;
use super::l1::NetArgs;

/// Flags of `cairn start`.
#[derive(Args)]
pub struct StartArgs {
    /// Run the node (JSON-RPC, storage, world state).
    #[arg(long)]
    pub node: bool,
    /// Follow the Rollup on L1 (implied by --sequencer).
    #[arg(long)]
    pub archiver: bool,
    /// Propose and attest with the keystores' attesters.
    #[arg(long)]
    pub sequencer: bool,
    /// Submit epoch proofs (devnet: the mock verifier).
    #[arg(long = "prover-node")]
    pub prover: bool,
    #[command(flatten)]
    pub net: NetArgs,
    /// Persistent data (database, admin key hash).
    #[arg(long = "data-directory", env = "DATA_DIRECTORY", value_name = "DIR")]
    pub data_directory: PathBuf,
    /// The database's page cache in MiB. The world-state trees are read through it, so a
    /// cache that holds their working set keeps block building and re-execution off the disk;
    /// it is also most of the node's memory (docs/node.md, "Memory").
    #[arg(long = "db-cache-mb", env = "CAIRN_DB_CACHE_MB", default_value_t = cairn_node::store::DEFAULT_CACHE_MB, value_parser = clap::value_parser!(u64).range(16..=1 << 20))]
    pub db_cache_mb: u64,
    /// Commit with the database's quick repair: the first start after a crash then opens in
    /// milliseconds instead of checking the whole file (which grows with the chain), at about
    /// 1–2 ms more per commit, which slows tx intake (every accepted tx is one commit).
    #[arg(long = "db-quick-repair", env = "CAIRN_DB_QUICK_REPAIR", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub db_quick_repair: bool,
    /// Directory of keystore JSON files; every *.json is loaded.
    #[arg(
        long = "key-store-directory",
        env = "KEY_STORE_DIRECTORY",
        value_name = "DIR"
    )]
    pub key_store_directory: Option<PathBuf>,
    /// Without a keystore: the attesters' addresses, signed for by WEB3_SIGNER_URL (as Aztec's
    /// node builds its keystore from the environment). Coinbase: the attester; fee recipient:
    /// zero.
    #[arg(
        long = "validator-addresses",
        env = "VALIDATOR_ADDRESSES",
        value_delimiter = ',',
        conflicts_with = "key_store_directory",
        value_parser = super::l1::parse_nonzero_addr
    )]
    pub validator_addresses: Vec<Address>,
    /// The remote signer (Web3Signer JSON-RPC) for VALIDATOR_ADDRESSES.
    #[arg(long = "web3-signer-url", env = "WEB3_SIGNER_URL", value_name = "URL")]
    pub web3_signer_url: Option<String>,
    /// Beacon API URLs for blob sidecars (a devnet L1 serves blobs itself).
    #[arg(
        long = "l1-consensus-host-urls",
        env = "L1_CONSENSUS_HOST_URLS",
        value_delimiter = ','
    )]
    pub l1_consensus_host_urls: Vec<String>,
    /// Join the p2p network: txs accepted here are gossiped to other nodes, and theirs are
    /// validated and pooled here.
    #[arg(long = "p2p-enabled", env = "P2P_ENABLED")]
    pub p2p_enabled: bool,
    /// The IP address announced to peers (default: the listen address).
    #[arg(long = "p2p-ip", env = "P2P_IP")]
    pub p2p_ip: Option<std::net::IpAddr>,
    /// P2P TCP port (0 picks a free one).
    #[arg(long = "p2p-port", env = "P2P_PORT", default_value_t = 40400)]
    pub p2p_port: u16,
    /// The address the p2p service listens on.
    #[arg(
        long = "p2p-listen-addr",
        env = "P2P_LISTEN_ADDR",
        default_value = "0.0.0.0"
    )]
    pub p2p_listen_addr: std::net::IpAddr,
    /// Peers to connect to at start: multiaddrs with their peer ids, comma-separated
    /// (`/ip4/10.0.0.2/tcp/40400/p2p/12D3Koo…`).
    #[arg(
        long = "bootstrap-nodes",
        env = "BOOTSTRAP_NODES",
        value_delimiter = ','
    )]
    pub bootstrap_nodes: Vec<String>,
    /// Most connected peers; connections beyond it are refused (inbound) or not dialled.
    #[arg(long = "p2p-max-peers", env = "P2P_MAX_PEERS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub p2p_max_peers: u32,
    /// Most txs in the pool; when full, a tx paying a higher fee per mana evicts the lowest.
    #[arg(long = "p2p-max-pending-tx-count", env = "P2P_MAX_PENDING_TX_COUNT", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub p2p_max_pending_tx_count: u32,
    /// Fewest connected peers for a healthy `/status` (0: a lone node is healthy).
    #[arg(long = "p2p-min-peers", env = "P2P_MIN_PEERS", default_value_t = 0)]
    pub p2p_min_peers: u32,
    /// Start with the L1 archiver paused, as after `nodeAdmin_pauseSync`: the node follows the
    /// chain from its peers (each block re-executed and checked against the archive root the
    /// Rollup holds) until `nodeAdmin_resumeSync`. Needs P2P_ENABLED.
    #[arg(long = "l1-sync-paused", env = "CAIRN_L1_SYNC_PAUSED", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub l1_sync_paused: bool,
    /// JSON-RPC port.
    #[arg(long, env = "AZTEC_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Admin API port.
    #[arg(long = "admin-port", env = "AZTEC_ADMIN_PORT", default_value_t = 8880)]
    pub admin_port: u16,
    /// Address to bind the HTTP servers to.
    #[arg(long, env = "AZTEC_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    /// L1 publisher keys (comma-separated, rotated in order); default: the attesters' keys.
    #[arg(
        long = "publisher-private-keys",
        env = "SEQ_PUBLISHER_PRIVATE_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub publishers: Vec<String>,
    /// Prover publisher key (with --prover-node).
    #[arg(
        long = "prover-private-key",
        env = "PROVER_PUBLISHER_PRIVATE_KEY",
        hide_env_values = true
    )]
    pub prover_key: Option<String>,
    /// Directory with stage components (tx-validation.wasm, proof-verification.wasm,
    /// public-execution.wasm, attestation.wasm) to run instead of the ones built into this
    /// binary.
    #[arg(long, env = "CAIRN_MODULES_DIR", conflicts_with = "native_stages")]
    pub modules: Option<PathBuf>,
    /// Run the stages as native code instead of WebAssembly components (for debugging: the
    /// node then runs none of the code it can hot-swap).
    #[arg(long = "native-stages", env = "CAIRN_NATIVE_STAGES")]
    pub native_stages: bool,
    /// The operator's cap on txs per block. Without it a block takes what one checkpoint's six
    /// blobs carry, within the Rollup's mana limit and the slot's build time budget.
    #[arg(long = "max-txs-per-block", env = "SEQ_MAX_TX_PER_BLOCK", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_txs: Option<u64>,
    /// Build a block every this many milliseconds inside the slot, each gossiped as it is
    /// built, and attest and publish them as one checkpoint at the end of the slot
    /// (docs/node.md, "Blocks and checkpoints"). Without it a checkpoint is one block.
    #[arg(long = "block-duration", env = "SEQ_BLOCK_DURATION_MS", value_name = "MS", value_parser = clap::value_parser!(u64).range(100..))]
    pub block_duration_ms: Option<u64>,
    /// L1 polling interval (ms).
    #[arg(
        long = "poll-ms",
        env = "ARCHIVER_POLLING_INTERVAL_MS",
        default_value_t = 500
    )]
    pub poll_ms: u64,
    /// SHA-256 (hex) of the admin API key, instead of generating one.
    #[arg(long = "admin-api-key-hash", env = "AZTEC_ADMIN_API_KEY_HASH")]
    pub admin_key_hash: Option<String>,
    /// Turn the admin API off.
    #[arg(long = "disable-admin-api", env = "AZTEC_DISABLE_ADMIN_API_KEY")]
    pub disable_admin: bool,
    /// Accounts in the devnet L2 genesis (the bot's and `cairn tx`'s deterministic accounts).
    #[arg(long = "genesis-accounts", default_value_t = 16)]
    pub genesis_accounts: usize,
    #[command(flatten)]
    pub ha: HaArgs,
}

/// High-availability signing (Aztec's `VALIDATOR_HA_*` settings): nodes sharing attester keys
/// claim each duty in one PostgreSQL table before signing it.
#[derive(Args)]
pub struct HaArgs {
    /// Claim every duty in the shared PostgreSQL table before signing it, so that nodes
    /// running the same attester keys never both sign one.
    #[arg(long = "ha-signing-enabled", env = "VALIDATOR_HA_SIGNING_ENABLED", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enabled: bool,
    /// The shared database (`postgresql://user:password@host:5432/db`); create its table with
    /// `cairn migrate-ha-db up`.
    #[arg(
        long = "ha-database-url",
        env = "VALIDATOR_HA_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// This node's name in the table, different on every node of the pair.
    #[arg(long = "ha-node-id", env = "VALIDATOR_HA_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// How often a node waiting on the other node's claim looks again (ms).
    #[arg(long = "ha-polling-interval-ms", env = "VALIDATOR_HA_POLLING_INTERVAL_MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub polling_interval_ms: u64,
    /// How long a node waits on the other node's claim before it skips the duty (ms).
    #[arg(long = "ha-signing-timeout-ms", env = "VALIDATOR_HA_SIGNING_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..))]
    pub signing_timeout_ms: u64,
    /// Age after which this node deletes its own claims left unfinished by a crash (ms;
    /// default two slots).
    #[arg(long = "ha-max-stuck-duties-age-ms", env = "VALIDATOR_HA_MAX_STUCK_DUTIES_AGE_MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_stuck_age_ms: Option<u64>,
    /// Age after which signed duties are deleted (hours; default: kept).
    #[arg(long = "ha-old-duties-max-age-h", env = "VALIDATOR_HA_OLD_DUTIES_MAX_AGE_H", value_parser = clap::value_parser!(u64).range(1..))]
    pub old_duties_max_age_h: Option<u64>,
}

impl HaArgs {
    /// The node's HA settings (`None`: HA signing off), checked for settings that could never
    /// work together. `slot_secs` sets the default stuck-duty age.
    pub fn config(&self, slot_secs: u64) -> Result<Option<cairn_ha::HaConfig>> {
        if !self.enabled {
            if self.database_url.is_some() {
                tracing::warn!("VALIDATOR_HA_DATABASE_URL is set but VALIDATOR_HA_SIGNING_ENABLED is not: HA signing is off, and this node signs without asking the shared table");
            }
            return Ok(None);
        }
        let Some(url) = self.database_url.clone().filter(|u| !u.trim().is_empty()) else {
            bail!("VALIDATOR_HA_SIGNING_ENABLED needs VALIDATOR_HA_DATABASE_URL (--ha-database-url): the PostgreSQL database the nodes of the pair share");
        };
        let Some(node_id) = self.node_id.clone().filter(|n| !n.trim().is_empty()) else {
            bail!("VALIDATOR_HA_SIGNING_ENABLED needs VALIDATOR_HA_NODE_ID (--ha-node-id): a name for this node, different on every node of the pair");
        };
        if node_id.len() > 255 {
            bail!(
                "VALIDATOR_HA_NODE_ID is {} bytes; the table holds at most 255",
                node_id.len()
            );
        }
        let mut c = cairn_ha::HaConfig::new(url, node_id, slot_secs);
        c.polling_interval = Duration::from_millis(self.polling_interval_ms);
        c.signing_timeout = Duration::from_millis(self.signing_timeout_ms);
        if let Some(ms) = self.max_stuck_age_ms {
            c.max_stuck_age = Duration::from_millis(ms);
        }
        c.old_duties_max_age = self
            .old_duties_max_age_h
            .map(|h| Duration::from_secs(h * 3600));
        // A claim younger than the signing timeout may still be signing: deleting it would let
        // the other node sign the same duty.
        if c.max_stuck_age <= c.signing_timeout {
            bail!(
                "VALIDATOR_HA_MAX_STUCK_DUTIES_AGE_MS ({} ms) must be longer than VALIDATOR_HA_SIGNING_TIMEOUT_MS ({} ms): a claim still being signed would be deleted and the duty signed twice",
                c.max_stuck_age.as_millis(),
                c.signing_timeout.as_millis()
            );
        }
        if c.polling_interval > c.signing_timeout {
            bail!(
                "VALIDATOR_HA_POLLING_INTERVAL_MS ({} ms) is longer than VALIDATOR_HA_SIGNING_TIMEOUT_MS ({} ms): a waiting node would never look again before giving up",
                self.polling_interval_ms,
                self.signing_timeout_ms
            );
        }
        Ok(Some(c))
    }
}

fn load_attesters(dir_path: &Path) -> Result<Vec<Attester>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir_path)
        .with_context(|| format!("cannot read KEY_STORE_DIRECTORY {}", dir_path.display()))?;
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if dir::is_keystore_name(&name) && e.path().is_file() {
            let text = std::fs::read_to_string(e.path())
                .with_context(|| format!("cannot read {}", e.path().display()))?;
            files.push((name, text));
        }
    }
    files.sort();
    let loaded = dir::parse_files(&files, &dir_path.display().to_string())?;
    let merged = dir::merge(loaded)?;
    for w in &merged.warnings {
        eprintln!("warning: {w}");
    }
    let resolved = dir::resolve_attester_keys(&merged, &FsKeyFiles)?;
    let mut out = Vec::new();
    for (a, key) in resolved {
        let signer = match key {
            dir::AttesterKey::Local(k) => AttesterSigner::Local(k),
            dir::AttesterKey::Remote { url } => {
                AttesterSigner::Remote(RemoteSigner::new(&url, Address::from(a.address.0)))
            }
        };
        let fee = merged.validators[a.validator]
            .1
            .fee_recipient
            .unwrap_or([0; 32]);
        out.push(Attester {
            signer,
            coinbase: Address::from(a.coinbase.0),
            fee_recipient: B256::from(fee),
        });
    }
    Ok(out)
}

fn admin_key(args: &StartArgs) -> Result<Option<[u8; 32]>> {
    if args.disable_admin {
        return Ok(None);
    }
    if let Some(h) = &args.admin_key_hash {
        let b = hex::decode(h.trim_start_matches("0x"))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                anyhow!("--admin-api-key-hash must be 32 bytes of hex (the SHA-256 of the key)")
            })?;
        return Ok(Some(b));
    }
    let dir = args.data_directory.join("admin");
    let file = dir.join("api_key_hash");
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Some(b) = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        {
            return Ok(Some(b));
        }
        bail!(
            "{} is damaged; delete it to generate a new admin API key",
            file.display()
        );
    }
    std::fs::create_dir_all(&dir)?;
    let mut key = [0u8; 24];
    getrandom::getrandom(&mut key).map_err(|e| anyhow!("no randomness for the admin key: {e}"))?;
    let key = hex::encode(key);
    let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    crate::fsx::write_one(&file, hex::encode(hash).as_bytes())?;
    // Printed once; only its hash is kept.
    eprintln!("admin API key (shown once, store it now): {key}");
    Ok(Some(hash))
}

/// Puts the stage components in the pipeline (each through the same load and self-check as a
/// hot swap): the ones built into this binary, or `--modules DIR`; none with `--native-stages`.
fn load_stages(pipeline: &Pipeline, args: &StartArgs) -> Result<()> {
    if args.native_stages {
        tracing::warn!("--native-stages: the pipeline runs native code, not the components");
        return Ok(());
    }
    for s in Stage::ALL {
        let (bytes, source) = match &args.modules {
            Some(dir) => {
                let p = dir.join(format!("{}.wasm", s.name()));
                let bytes =
                    std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                (bytes, p.display().to_string())
            }
            None => (
                cairn_stages::component(s).map_err(|e| anyhow!("built-in {s} component: {e}"))?,
                "built in".to_string(),
            ),
        };
        let r = pipeline
            .load(s, &bytes)
            .map_err(|e| anyhow!("{s} component ({source}): {e}"))?;
        tracing::info!(stage = %s, module = %r.module, source = %source, load_ms = r.load.as_millis() as u64, self_check_ms = r.self_check.as_millis() as u64, "stage component loaded");
    }
    pipeline.block_boundary();
    Ok(())
}

/// Runs `cairn start` until the process is stopped.
pub fn start(args: StartArgs) -> Result<()> {
    if !(args.node || args.sequencer || args.archiver || args.prover) {
        bail!("nothing to run: pass --node (and --sequencer / --archiver / --prover-node)");
    }
    if !args.p2p_enabled && args.p2p_min_peers > 0 {
        bail!(
            "P2P_MIN_PEERS is {} but P2P_ENABLED is off: the node could never be healthy; enable p2p or set P2P_MIN_PEERS=0",
            args.p2p_min_peers
        );
    }
    if args.l1_sync_paused && !args.p2p_enabled {
        return Err(anyhow!(
            "CAIRN_L1_SYNC_PAUSED needs P2P_ENABLED: with L1 sync paused the node follows the chain from its peers only"
        ));
    }
    if args.p2p_min_peers > args.p2p_max_peers {
        bail!(
            "P2P_MIN_PEERS ({}) is above P2P_MAX_PEERS ({}): the node could never be healthy",
            args.p2p_min_peers,
            args.p2p_max_peers
        );
    }
    if !args.p2p_enabled && (args.p2p_ip.is_some() || !args.bootstrap_nodes.is_empty()) {
        tracing::warn!("P2P settings given but P2P_ENABLED is off: the node stays off the network");
    }
    let bootstrap = args
        .bootstrap_nodes
        .iter()
        .map(|s| {
            s.trim()
                .parse::<cairn_p2p::Multiaddr>()
                .map_err(|e| anyhow!("BOOTSTRAP_NODES: {s:?} is not a multiaddr ({e})"))
        })
        .collect::<Result<Vec<_>>>()?;
    // Local configuration first: a bad keystore stops the start before anything touches L1.
    let attesters = match &args.key_store_directory {
        Some(d) => load_attesters(d)?,
        None if !args.validator_addresses.is_empty() => {
            let Some(url) = &args.web3_signer_url else {
                bail!("VALIDATOR_ADDRESSES needs WEB3_SIGNER_URL (--web3-signer-url): the node holds no keys for them; or use KEY_STORE_DIRECTORY");
            };
            tracing::warn!("no KEY_STORE_DIRECTORY: attesters from VALIDATOR_ADDRESSES, signed by WEB3_SIGNER_URL");
            args.validator_addresses
                .iter()
                .map(|a| Attester {
                    signer: AttesterSigner::Remote(RemoteSigner::new(url, *a)),
                    coinbase: *a,
                    fee_recipient: B256::ZERO,
                })
                .collect()
        }
        None if args.sequencer => {
            bail!("--sequencer needs KEY_STORE_DIRECTORY (--key-store-directory), or VALIDATOR_ADDRESSES with WEB3_SIGNER_URL")
        }
        None => Vec::new(),
    };
    // `propose` is an EIP-4844 blob transaction: Web3Signer does not sign those (and anvil
    // refuses eth_signTransaction), so a remote attester key cannot publish for itself.
    if args.sequencer && args.publishers.is_empty() {
        if let Some((a, r)) = attesters
            .iter()
            .find_map(|a| a.signer.remote().map(|r| (a, r)))
        {
            bail!(
                "attester {} signs through the remote signer {}, so it cannot also publish: `propose` is an EIP-4844 blob transaction, which remote signers do not sign; give the node local publisher keys with SEQ_PUBLISHER_PRIVATE_KEYS (--publisher-private-keys)",
                a.signer.address(),
                r.url()
            );
        }
    }
    // Every remote signer must hold every key it is configured for: found now, not at the
    // first duty.
    // The HA settings too (checked again below with the Rollup's slot length, which sets the
    // default stuck-duty age; an hour-long slot here cannot make that check fail).
    args.ha.config(3600)?;
    let signers: Vec<AttesterSigner> = attesters.iter().map(|a| a.signer.clone()).collect();
    cairn_node::signer::check_remote(&signers).map_err(|e| anyhow!("{e}"))?;
    let resolved = args.net.resolve(false)?;
    let signer = |k: &str| cairn_l1::signer_from_hex(k).map_err(|e| anyhow!("{e}"));
    let mut publishers = args
        .publishers
        .iter()
        .map(|k| signer(k))
        .collect::<Result<Vec<_>>>()?;
    if publishers.is_empty() {
        for a in &attesters {
            match &a.signer {
                AttesterSigner::Local(k) => {
                    publishers.push(signer(&format!("0x{}", hex::encode(k.to_bytes())))?)
                }
                // Refused before (a sequencer needs local publishers for remote attesters).
                AttesterSigner::Remote(_) => {}
            }
        }
    }
    let prover = match (&args.prover_key, args.prover) {
        (Some(k), _) => Some(signer(k)?),
        (None, true) => publishers.first().cloned(),
        (None, false) => None,
    };
    if args.prover && prover.is_none() {
        bail!("--prover-node needs PROVER_PUBLISHER_PRIVATE_KEY or a publisher key");
    }
    // An exited attester never attests again and its keys can never be staked again: say so
    // at start, where the operator looks, rather than leave it to missed duties.
    for a in &attesters {
        let who = a.signer.address();
        match super::staking::exit_note(&resolved.l1, resolved.rollup, who) {
            Ok(Some(note)) => {
                tracing::warn!(attester = %who, "{note}");
                eprintln!("warning: attester {who} in KEY_STORE_DIRECTORY: {note}");
            }
            Ok(None) => {}
            Err(e) => return Err(anyhow!("reading attester {who} on the rollup: {e}")),
        }
    }
    let ha = if args.ha.enabled {
        if !args.sequencer || attesters.is_empty() {
            tracing::warn!("VALIDATOR_HA_SIGNING_ENABLED without --sequencer and validator keys: this node signs nothing, so the table is not used");
        }
        let slot_secs: u64 = resolved
            .l1
            .call(
                resolved.rollup,
                &cairn_l1::abi::IRollup::getSlotDurationCall {},
            )
            .map_err(|e| anyhow!("reading the Rollup's slot duration: {e}"))?
            .try_into()
            .map_err(|_| anyhow!("the Rollup's slot duration does not fit 64 bits"))?;
        args.ha.config(slot_secs)?
    } else {
        None
    };
    // L2 txs bind the Rollup's own version number.
    let rollup_version: u64 = resolved
        .l1
        .call(resolved.rollup, &cairn_l1::abi::IRollup::getVersionCall {})
        .map_err(|e| anyhow!("reading the Rollup's version: {e}"))?
        .try_into()
        .map_err(|_| anyhow!("the Rollup's version does not fit 64 bits"))?;
    // Compiled components are cached by content hash under the data directory, so a restart
    // does not compile the stages again.
    let engine = Arc::new(Engine::new(EngineConfig {
        cache_dir: Some(args.data_directory.join("module-cache")),
        ..EngineConfig::default()
    })?);
    let scenario = cairn_zk::scenario::Scenario::new(args.genesis_accounts.max(1));
    let genesis = scenario.state.clone();
    let check_txs: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            scenario
                .transfer(
                    i % scenario.accounts.len(),
                    (i + 1) % scenario.accounts.len(),
                    1,
                    i as u64,
                )
                .encode()
        })
        .collect();
    let pipeline = Pipeline::new(
        engine,
        Arc::new(genesis.clone()),
        scenario.context(),
        check_txs,
    );
    load_stages(&pipeline, &args)?;
    let cfg = NodeConfig {
        data_dir: args.data_directory.clone(),
        db_cache_mb: args.db_cache_mb,
        db_quick_repair: args.db_quick_repair,
        roles: Roles {
            archiver: args.archiver || args.node || args.sequencer,
            sequencer: args.sequencer,
            prover: args.prover,
        },
        attesters,
        publishers,
        prover,
        rollup: resolved.rollup,
        rollup_version,
        port: args.port,
        admin_port: args.admin_port,
        bind: args.bind.clone(),
        admin_key_sha256: admin_key(&args)?,
        max_txs_per_block: args
            .max_txs
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        block_duration: args.block_duration_ms.map(Duration::from_millis),
        poll: Duration::from_millis(args.poll_ms.max(50)),
        min_publisher_balance: U256::from(10u64).pow(U256::from(16u64)),
        genesis,
        beacon_urls: args.l1_consensus_host_urls.clone(),
        min_peers: args.p2p_min_peers as usize,
        max_pending_txs: args.p2p_max_pending_tx_count as usize,
        sync_paused: args.l1_sync_paused,
        ha,
    };
    let node = Node::open(cfg, resolved.l1, pipeline).map_err(|e| anyhow!("{e}"))?;
    // One runtime for the node's tasks and the p2p service; blocking work goes to its blocking
    // pool, so two reactor threads are enough.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cairn")
        .enable_all()
        .build()?;
    let services =
        cairn_node::service::start(&node, runtime.handle()).map_err(|e| anyhow!("{e}"))?;
    if args.p2p_enabled {
        super::p2p::start(&node, &args, bootstrap, runtime.handle())?;
    }
    let (rpc, admin) = node.bound.lock().map(|b| b.clone()).unwrap_or_default();
    eprintln!(
        "cairn node: JSON-RPC http://{rpc}  admin http://{admin}  data {}",
        args.data_directory.display()
    );
    // Ctrl-C and SIGTERM (a service manager's stop): one cancellation token stops every task
    // after the duty it is in (every store write is one transaction, so the store is
    // consistent at any point), the servers and the p2p service.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| anyhow!("cannot install the signal handler: {e}"))?;
    let _ = stop_rx.recv();
    tracing::info!("stop requested; finishing the current duty");
    node.shutdown();
    // A proposal in flight waits at most for its L1 receipt (one slot).
    let late = services.join(runtime.handle(), Duration::from_secs(60));
    if !late.is_empty() {
        tracing::warn!(tasks = ?late, "tasks still busy at the stop deadline; stopping anyway (the store is consistent: every write is one transaction)");
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    // Last: the chain service applies what was queued and closes the store.
    node.chain.close();
    eprintln!("cairn node: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        ha: HaArgs,
    }

    #[derive(Parser)]
    struct Start {
        #[command(flatten)]
        start: StartArgs,
    }

    /// `cairn start` with a data directory and `extra`.
    fn start(extra: &[&str]) -> Result<StartArgs, clap::Error> {
        Start::try_parse_from(
            ["cairn", "--data-directory", "/tmp/x"]
                .iter()
                .chain(extra)
                .copied(),
        )
        .map(|c| c.start)
    }

    #[test]
    fn the_tx_cap_is_off_unless_set_and_refuses_zero() {
        let parse = |extra: &[&str]| start(extra).map(|s| s.max_txs);
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(parse(&["--max-txs-per-block", "3000"]).unwrap(), Some(3000));
        let e = parse(&["--max-txs-per-block", "0"]).err().unwrap();
        assert!(e.to_string().contains("max-txs-per-block"), "{e}");
    }

    #[test]
    fn the_block_duration_is_one_block_per_checkpoint_unless_set() {
        let parse = |extra: &[&str]| start(extra).map(|s| s.block_duration_ms);
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(parse(&["--block-duration", "2000"]).unwrap(), Some(2000));
        let e = parse(&["--block-duration", "50"]).err().unwrap();
        assert!(e.to_string().contains("block-duration"), "{e}");
    }

    #[test]
    fn the_db_cache_has_a_default_and_a_floor() {
        let parse = |extra: &[&str]| start(extra).map(|s| s.db_cache_mb);
        assert_eq!(parse(&[]).unwrap(), cairn_node::store::DEFAULT_CACHE_MB);
        assert_eq!(parse(&["--db-cache-mb", "4096"]).unwrap(), 4096);
        let e = parse(&["--db-cache-mb", "8"]).err().unwrap();
        assert!(e.to_string().contains("db-cache-mb"), "{e}");
    }

    #[test]
    fn quick_repair_is_off_unless_asked_for() {
        let parse = |extra: &[&str]| start(extra).map(|s| s.db_quick_repair);
        assert!(!parse(&[]).unwrap());
        assert!(parse(&["--db-quick-repair"]).unwrap());
        assert!(!parse(&["--db-quick-repair", "false"]).unwrap());
        assert!(parse(&["--db-quick-repair=true"]).is_ok_and(|on| on));
        let e = parse(&["--db-quick-repair", "maybe"]).err().unwrap();
        assert!(e.to_string().contains("db-quick-repair"), "{e}");
    }

    fn ha(flags: &[&str]) -> Result<Option<cairn_ha::HaConfig>> {
        let cmd = Cmd::try_parse_from(std::iter::once("cairn").chain(flags.iter().copied()))?;
        cmd.ha.config(12)
    }

    const ON: [&str; 5] = [
        "--ha-signing-enabled",
        "--ha-database-url",
        "postgresql://cairn:pw@db/ha",
        "--ha-node-id",
        "a",
    ];

    #[test]
    fn ha_signing_is_off_unless_enabled_and_takes_aztecs_defaults() {
        assert!(ha(&[]).unwrap().is_none());
        assert!(ha(&["--ha-database-url", "postgresql://db/ha"])
            .unwrap()
            .is_none());
        assert!(ha(&["--ha-signing-enabled=false", "--ha-node-id", "a"])
            .unwrap()
            .is_none());
        let c = ha(&ON).unwrap().unwrap();
        assert_eq!(c.database_url, "postgresql://cairn:pw@db/ha");
        assert_eq!(c.node_id, "a");
        assert_eq!(c.polling_interval, Duration::from_millis(100));
        assert_eq!(c.signing_timeout, Duration::from_millis(3000));
        // Two slots of the Rollup's.
        assert_eq!(c.max_stuck_age, Duration::from_secs(24));
        assert_eq!(c.old_duties_max_age, None);
    }

    #[test]
    fn every_ha_flag_reaches_the_config() {
        let mut flags = ON.to_vec();
        flags.extend([
            "--ha-polling-interval-ms",
            "50",
            "--ha-signing-timeout-ms",
            "2000",
            "--ha-max-stuck-duties-age-ms",
            "60000",
            "--ha-old-duties-max-age-h",
            "48",
        ]);
        let c = ha(&flags).unwrap().unwrap();
        assert_eq!(c.polling_interval, Duration::from_millis(50));
        assert_eq!(c.signing_timeout, Duration::from_millis(2000));
        assert_eq!(c.max_stuck_age, Duration::from_secs(60));
        assert_eq!(c.old_duties_max_age, Some(Duration::from_secs(48 * 3600)));
    }

    #[test]
    fn ha_settings_that_cannot_work_are_refused_with_the_setting_named() {
        let err = |flags: &[&str]| ha(flags).unwrap_err().to_string();
        assert!(err(&["--ha-signing-enabled", "--ha-node-id", "a"])
            .contains("VALIDATOR_HA_DATABASE_URL"));
        assert!(err(&[
            "--ha-signing-enabled",
            "--ha-database-url",
            "postgresql://db/ha"
        ])
        .contains("VALIDATOR_HA_NODE_ID"));
        assert!(
            err(&[&ON[..], &["--ha-max-stuck-duties-age-ms", "3000"]].concat())
                .contains("must be longer than VALIDATOR_HA_SIGNING_TIMEOUT_MS")
        );
        assert!(
            err(&[&ON[..], &["--ha-polling-interval-ms", "5000"]].concat())
                .contains("VALIDATOR_HA_POLLING_INTERVAL_MS")
        );
        let long = "n".repeat(256);
        assert!(err(&[
            "--ha-signing-enabled",
            "--ha-database-url",
            "postgresql://db/ha",
            "--ha-node-id",
            &long
        ])
        .contains("at most 255"));
        // Zero is not a duration clap lets through.
        assert!(err(&[&ON[..], &["--ha-signing-timeout-ms", "0"]].concat()).contains("0"));
        assert!(err(&[&["--ha-signing-enabled=maybe"], &ON[1..]].concat()).contains("maybe"));
    }
}
