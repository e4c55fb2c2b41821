//! `cairn devnet l1`: start (or stop) the local L1 with the real Aztec contracts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::U256;
use anyhow::{anyhow, Result};
use cairn_devnet::DevnetConfig;
use clap::{Args, Subcommand};

use super::l1::print_json;

/// `cairn devnet …`.
#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Start anvil on 127.0.0.1, deploy Aztec's L1 contracts (from @aztec/l1-artifacts 4.1.2,
    /// with their own forge script) plus cairn's StakingRegistry and split factory, fund test
    /// accounts and write DIR/manifest.json. Stays in the foreground until Ctrl-C unless --detach.
    L1(L1Args),
    /// Everything in one command: the L1 devnet, N validators generated with
    /// `cairn validator-keys` and registered through `add-l1-validator` and the entry queue, one
    /// node holding them (`cairn start`), and a tx generator (`cairn bot`). Foreground until
    /// Ctrl-C; the summary says where everything is.
    Up(UpArgs),
    /// Make sequencer rewards claimable on the devnet: as the Rollup's owner (governance on a
    /// real network, impersonated through anvil here) call setRewardsClaimable(true).
    #[command(name = "unlock-rewards")]
    UnlockRewards(UnlockRewardsArgs),
}

/// Flags of `cairn devnet up`.
#[derive(Args)]
pub struct UpArgs {
    /// State directory (default: ~/.cairn/devnet, or $CAIRN_HOME/devnet); replaced on start.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// L1 JSON-RPC port.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Validators to generate and register, split round-robin among the nodes.
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Nodes to run (`cairn start` processes gossiping over libp2p on loopback). Node i serves
    /// JSON-RPC on --rpc-port + i, admin on --admin-port + i and p2p on --p2p-port + i, and
    /// publishes from its own funded L1 account; node 0 also runs the devnet prover.
    #[arg(long, default_value_t = 1)]
    nodes: u16,
    /// First node's p2p port (P2P_PORT); used only with --nodes above 1.
    #[arg(long = "p2p-port", default_value_t = 40400)]
    p2p_port: u16,
    /// Node JSON-RPC port (AZTEC_PORT).
    #[arg(long = "rpc-port", default_value_t = 8080)]
    rpc_port: u16,
    /// Node admin port (AZTEC_ADMIN_PORT).
    #[arg(long = "admin-port", default_value_t = 8880)]
    admin_port: u16,
    /// Port of the staking-registration page (`cairn dashboard`); 0: do not serve it.
    #[arg(long = "dashboard-port", default_value_t = 8090)]
    dashboard_port: u16,
    /// Bot txs per second (0: no bot).
    #[arg(long = "bot-rate", default_value_t = 0.5)]
    bot_rate: f64,
    /// The nodes' block duration (ms): three blocks per 12 s checkpoint by default
    /// (docs/node.md, "Blocks and checkpoints"); 0: one block per checkpoint.
    #[arg(long = "block-duration", default_value_t = 2000)]
    block_duration: u64,
    /// Stage components to run in the node instead of the ones built into cairn.
    #[arg(long, conflicts_with = "native_stages")]
    modules: Option<PathBuf>,
    /// Run the node's stages as native code instead of components (debugging).
    #[arg(long = "native-stages")]
    native_stages: bool,
    /// Directory holding the L1 tools (default: tools/node_modules above the current directory).
    #[arg(long = "tools-dir", env = "CAIRN_TOOLS_DIR")]
    tools_dir: Option<PathBuf>,
}

fn parse_tokens(s: &str) -> Result<U256, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix("wei") {
        Some(n) => (n.trim(), 0u64),
        None => (t, 18u64),
    };
    let v = U256::from_str_radix(num, 10)
        .map_err(|_| format!("expected a whole number of tokens (or `<n>wei`), got {s:?}"))?;
    v.checked_mul(U256::from(10u64).pow(U256::from(scale)))
        .ok_or_else(|| format!("{s} is too large"))
}

/// Flags of `cairn devnet l1`.
#[derive(Args)]
pub struct L1Args {
    /// State directory (default: ~/.cairn/devnet, or $CAIRN_HOME/devnet).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// anvil port on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Leave anvil running in the background and exit once the manifest is written.
    #[arg(long)]
    detach: bool,
    /// Stop the devnet recorded in --dir.
    #[arg(long, conflicts_with = "detach")]
    stop: bool,
    /// The project's tools/node_modules (default: found from the current directory or the binary).
    #[arg(long = "tools-dir", env = "CAIRN_TOOLS_DIR", value_name = "DIR")]
    tools_dir: Option<PathBuf>,
    /// L2 slot duration in seconds.
    #[arg(long = "slot-duration", default_value_t = 12)]
    slot_duration: u64,
    /// Slots per epoch.
    #[arg(long = "epoch-duration", default_value_t = 8)]
    epoch_duration: u64,
    /// Target committee size.
    #[arg(long = "committee-size", default_value_t = 4)]
    committee_size: u64,
    /// Stake per validator, in tokens (18 decimals) or `<n>wei`.
    #[arg(long = "activation-threshold", default_value = "100", value_parser = parse_tokens)]
    activation_threshold: U256,
    /// GSE ejection threshold, in tokens.
    #[arg(long = "ejection-threshold", default_value = "50", value_parser = parse_tokens)]
    ejection_threshold: U256,
    /// Rollup local ejection threshold, in tokens.
    #[arg(long = "local-ejection-threshold", default_value = "98", value_parser = parse_tokens)]
    local_ejection_threshold: U256,
    /// Exit delay in seconds.
    #[arg(long = "exit-delay", default_value_t = 120)]
    exit_delay: u64,
    /// Validators admitted per epoch by the entry queue (minimum flush size; also the maximum).
    #[arg(long = "flush-size", default_value_t = 48)]
    flush_size: u64,
    /// Entry-queue bootstrap set size (0: no bootstrap phase).
    #[arg(long = "bootstrap-validators", default_value_t = 0)]
    bootstrap_validators: u64,
    /// Seconds between empty L1 blocks (0: blocks only for transactions). Transactions are
    /// always mined at once.
    #[arg(long = "block-time", default_value_t = 1)]
    block_time: u64,
    /// Funded test accounts (anvil accounts 1..=N).
    #[arg(long, default_value_t = 9)]
    accounts: u32,
    /// Staking asset minted to each test account, in tokens.
    #[arg(long = "fund", default_value = "100000", value_parser = parse_tokens)]
    fund: U256,
    /// Genesis accounts of the L2 the nodes will run (`cairn start --genesis-accounts`): the
    /// Rollup is deployed with that genesis archive, so nodes with another refuse to sequence.
    #[arg(long = "genesis-accounts", default_value_t = 16)]
    genesis_accounts: usize,
    /// Deploy the Rollup with this genesis archive instead of cairn's (e.g. Aztec's, to stand
    /// in for one of Aztec's networks).
    #[arg(
        long = "genesis-archive-root",
        value_name = "HEX",
        conflicts_with = "genesis_accounts"
    )]
    genesis_archive_root: Option<alloy_primitives::B256>,
    /// Print the manifest as JSON when ready.
    #[arg(long)]
    json: bool,
}

/// The archive root of cairn's genesis with `accounts` genesis accounts: what a Rollup for the
/// L2 `cairn start --genesis-accounts accounts` runs must be deployed with.
pub fn genesis_archive_root(accounts: usize) -> alloy_primitives::B256 {
    let s = cairn_zk::scenario::Scenario::new(accounts.max(1));
    cairn_node::chain::Chain::archive_root(&s.state)
}

/// The default devnet state directory.
pub fn default_dir() -> PathBuf {
    cairn_l1::network::default_manifest_path()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".cairn/devnet"))
}

/// Runs a devnet subcommand.
pub fn run(cmd: DevnetCommand) -> Result<()> {
    match cmd {
        DevnetCommand::L1(a) => l1(a),
        DevnetCommand::Up(a) => up(a),
        DevnetCommand::UnlockRewards(a) => unlock_rewards(a),
    }
}

fn l1(a: L1Args) -> Result<()> {
    let dir = a.dir.clone().unwrap_or_else(default_dir);
    if a.stop {
        println!("devnet: {}", cairn_devnet::stop(&dir)?);
        return Ok(());
    }
    let cfg = DevnetConfig {
        dir,
        port: a.port,
        tools_dir: a.tools_dir,
        slot_duration: a.slot_duration,
        epoch_duration: a.epoch_duration,
        committee_size: a.committee_size,
        activation_threshold: a.activation_threshold,
        ejection_threshold: a.ejection_threshold,
        local_ejection_threshold: a.local_ejection_threshold,
        exit_delay: a.exit_delay,
        bootstrap_validator_set_size: a.bootstrap_validators,
        flush_size_min: a.flush_size,
        flush_size_quotient: 2,
        max_flush_size: a.flush_size,
        accounts: a.accounts,
        block_time: a.block_time,
        fund: a.fund,
        genesis_archive_root: Some(
            a.genesis_archive_root
                .unwrap_or_else(|| genesis_archive_root(a.genesis_accounts)),
        ),
        ..DevnetConfig::default()
    };
    // Installed before starting so that a Ctrl-C during deployment also stops anvil.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    }
    let mut devnet = cairn_devnet::start(&cfg)?;
    let m = &devnet.manifest;
    if a.json {
        print_json(&serde_json::to_value(m)?);
    } else {
        println!(
            "devnet: ready in {:.1} s on {} (chain {})",
            m.startup_seconds, m.rpc_url, m.chain_id
        );
        for (name, addr) in &m.addresses {
            println!("  {name:<26} {addr}");
        }
        println!("  rollup version             {}", m.rollup_version);
        println!(
            "  funded accounts            {} (anvil accounts 1..={})",
            m.accounts.len(),
            m.accounts.len()
        );
        println!("manifest: {}", devnet.manifest_path().display());
    }
    if a.detach {
        let dir = devnet.dir.clone();
        devnet.detach();
        if !a.json {
            println!(
                "anvil left running; stop it with: cairn devnet l1 --stop --dir {}",
                dir.display()
            );
        }
        return Ok(());
    }
    if !a.json {
        println!("running in the foreground; Ctrl-C stops it");
    }
    while !stop.load(Ordering::SeqCst) {
        if !devnet.is_running() {
            devnet.shutdown();
            return Err(anyhow!(
                "anvil exited on its own (log in {})",
                cfg.dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    devnet.shutdown();
    println!("devnet: stopped");
    Ok(())
}

/// Splits a generated keystore's validators round-robin into `out/node<i>/key1.json`
/// (owner-only: they hold private keys).
fn split_keystore(src: &std::path::Path, out: &std::path::Path, nodes: usize) -> Result<()> {
    use std::io::Write;
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(src)?)?;
    let all = doc["validators"]
        .as_array()
        .cloned()
        .ok_or_else(|| anyhow!("{}: no validators array", src.display()))?;
    for i in 0..nodes {
        let mut part = doc.clone();
        part["validators"] = all.iter().skip(i).step_by(nodes).cloned().collect();
        let dir = out.join(format!("node{i}"));
        std::fs::create_dir_all(&dir)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(dir.join("key1.json"))?
            .write_all(serde_json::to_string_pretty(&part)?.as_bytes())?;
    }
    std::fs::remove_file(src)?;
    Ok(())
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Child {
    fn term(&self) -> bool {
        std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// SIGTERM to every child at once, so each node finishes its duty and exits cleanly (a
/// proposal in flight takes at most a slot); SIGKILL to those still running after 30 s.
fn stop_all(children: &mut [Child]) {
    let termed: Vec<bool> = children.iter().map(Child::term).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let running = children
            .iter_mut()
            .zip(&termed)
            .any(|(c, t)| *t && matches!(c.0.try_wait(), Ok(None)));
        if !running {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for c in children.iter_mut() {
        let _ = c.0.kill();
        let _ = c.0.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        stop_all(std::slice::from_mut(self));
    }
}

fn up(a: UpArgs) -> Result<()> {
    use std::process::{Command, Stdio};
    if a.validators == 0 {
        return Err(anyhow!("--validators must be at least 1"));
    }
    if a.nodes == 0 || u32::from(a.nodes) > a.validators {
        return Err(anyhow!(
            "--nodes must be between 1 and --validators ({}): every node holds at least one validator",
            a.validators
        ));
    }
    let nodes = usize::from(a.nodes);
    for (flag, base) in [
        ("--rpc-port", a.rpc_port),
        ("--admin-port", a.admin_port),
        ("--p2p-port", a.p2p_port),
    ] {
        if usize::from(base) + nodes > usize::from(u16::MAX) {
            return Err(anyhow!("{flag} {base} leaves no room for {nodes} nodes"));
        }
    }
    let dir = a.dir.clone().unwrap_or_else(default_dir);
    let _ = cairn_devnet::stop(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    }
    let cfg = DevnetConfig {
        dir: dir.clone(),
        port: a.port,
        tools_dir: a.tools_dir.clone(),
        committee_size: u64::from(a.validators.min(48)),
        // Accounts 5 (prover) and 6.. (one publisher per node) must exist.
        accounts: (7 + u32::from(a.nodes)).max(DevnetConfig::default().accounts),
        // The nodes below start with the default genesis accounts.
        genesis_archive_root: Some(genesis_archive_root(16)),
        ..DevnetConfig::default()
    };
    let t0 = std::time::Instant::now();
    let mut devnet = cairn_devnet::start(&cfg)?;
    let manifest_path = devnet.manifest_path();
    let m = devnet.manifest.clone();
    println!(
        "devnet: L1 ready in {:.1} s on {}",
        m.startup_seconds, m.rpc_url
    );
    let exe = std::env::current_exe().map_err(|e| anyhow!("cannot find the cairn binary: {e}"))?;
    let env = [
        ("NETWORK", "devnet".to_string()),
        ("CAIRN_DEVNET_MANIFEST", manifest_path.display().to_string()),
    ];
    let run = |args: &[String]| -> Result<String> {
        let out = Command::new(&exe)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(anyhow!(
                "cairn {} failed:\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    let keys = dir.join("keys");
    let keystore = dir.join("keystore");
    std::fs::create_dir_all(&keystore)?;
    let fee = format!("0x{}1", "0".repeat(63));
    let s = |x: &str| x.to_string();
    // Fresh random mnemonic (printed to keys/new.txt by validator-keys; devnet only).
    let new_out = run(&[
        s("validator-keys"),
        s("new"),
        s("--count"),
        a.validators.to_string(),
        s("--fee-recipient"),
        fee,
        s("--staker-output"),
        s("--data-dir"),
        keys.display().to_string(),
    ])?;
    std::fs::write(dir.join("new.txt"), new_out)?;
    run(&[
        s("add-l1-validator"),
        s("--registration"),
        keys.join("key1_staker_output.json").display().to_string(),
        s("--wait"),
        s("--force"),
    ])?;
    if nodes == 1 {
        std::fs::rename(keys.join("key1.json"), keystore.join("key1.json"))?;
    } else {
        split_keystore(&keys.join("key1.json"), &keystore, nodes)?;
    }
    println!(
        "devnet: {} validators registered (GSE-checked proofs of possession)",
        a.validators
    );
    // Committees are sampled from the validator set two epochs back: move L1 time to the
    // first epoch that includes the new validators instead of waiting for it.
    let l1 = cairn_l1::L1::connect(
        cairn_l1::RpcClient::new(std::slice::from_ref(&m.rpc_url))?,
        Some(m.chain_id),
    )?;
    let rollup = m
        .addresses
        .get("rollup")
        .copied()
        .ok_or_else(|| anyhow!("manifest without a rollup"))?;
    let genesis: u64 = l1
        .call(
            rollup,
            &cairn_consensus::abi::IRollupConsensus::getGenesisTimeCall {},
        )?
        .try_into()
        .unwrap_or(0);
    let epoch_secs = cfg.slot_duration * cfg.epoch_duration;
    let now = l1.latest_timestamp()?;
    let usable = 2 + (now.saturating_sub(genesis)).div_ceil(epoch_secs);
    l1.rpc().call(
        "evm_setNextBlockTimestamp",
        serde_json::json!([genesis + usable * epoch_secs]),
    )?;
    l1.rpc().call("evm_mine", serde_json::json!([]))?;
    let prover_key = m
        .accounts
        .get(5)
        .map(|a| a.private_key.clone())
        .ok_or_else(|| anyhow!("manifest without test accounts"))?;
    // Each node's data directory, keystore and log; one node keeps the single-node layout.
    let layout = |i: usize| -> (PathBuf, PathBuf, PathBuf) {
        if nodes == 1 {
            (dir.join("node"), keystore.clone(), dir.join("node.log"))
        } else {
            (
                dir.join(format!("node{i}")),
                keystore.join(format!("node{i}")),
                dir.join(format!("node{i}.log")),
            )
        }
    };
    // Peer identities made up front, so every node can be told every other's address.
    let mut peers = Vec::new();
    if nodes > 1 {
        for i in 0..nodes {
            let key =
                cairn_p2p::load_or_create_identity(&layout(i).0.join("p2p").join("identity.key"))
                    .map_err(|e| anyhow!("{e}"))?;
            peers.push(format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                usize::from(a.p2p_port) + i,
                key.public().to_peer_id()
            ));
        }
    }
    let mut children = Vec::new();
    for i in 0..nodes {
        let (data, ks, log_path) = layout(i);
        let publisher_key = m
            .accounts
            .get(6 + i)
            .map(|a| a.private_key.clone())
            .ok_or_else(|| anyhow!("manifest has no funded account for node {i}'s publisher"))?;
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(&exe);
        cmd.args(["start", "--node", "--sequencer"]);
        if i == 0 {
            cmd.arg("--prover-node")
                .env("PROVER_PUBLISHER_PRIVATE_KEY", &prover_key);
        }
        cmd.arg("--data-directory")
            .arg(&data)
            .arg("--key-store-directory")
            .arg(&ks)
            .args([
                "--port",
                &(usize::from(a.rpc_port) + i).to_string(),
                "--admin-port",
                &(usize::from(a.admin_port) + i).to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("SEQ_PUBLISHER_PRIVATE_KEYS", &publisher_key)
            .env("LOG_LEVEL", "info")
            .env_remove("SEQ_BLOCK_DURATION_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if nodes > 1 {
            let others: Vec<&str> = peers
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| p.as_str())
                .collect();
            cmd.env("P2P_ENABLED", "true")
                .env("P2P_LISTEN_ADDR", "127.0.0.1")
                .env("P2P_PORT", (usize::from(a.p2p_port) + i).to_string())
                .env("BOOTSTRAP_NODES", others.join(","));
        }
        if a.block_duration > 0 {
            cmd.args(["--block-duration", &a.block_duration.to_string()]);
        }
        if let Some(mods) = &a.modules {
            cmd.arg("--modules").arg(mods);
        }
        if a.native_stages {
            cmd.arg("--native-stages");
        }
        children.push((Child(cmd.spawn()?), log_path));
    }
    let url_of = |i: usize| format!("http://127.0.0.1:{}", usize::from(a.rpc_port) + i);
    let url = url_of(0);
    // Ready when the JSON-RPC answers; the answer names the stage modules it runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut stages = String::new();
    for (i, (child, log_path)) in children.iter_mut().enumerate() {
        let url = url_of(i);
        let s = loop {
            let info = ureq::post(&url)
                .timeout(Duration::from_secs(2))
                .send_json(
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "node_getNodeInfo"}),
                )
                .ok()
                .and_then(|r| r.into_json::<serde_json::Value>().ok());
            if let Some(info) = info {
                break info["result"]["stages"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                format!(
                                    "{} {}",
                                    s["stage"].as_str().unwrap_or("?"),
                                    s["module"].as_str().unwrap_or("?")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
            }
            if let Ok(Some(st)) = child.0.try_wait() {
                return Err(anyhow!(
                    "node {i} exited ({st}); see {}",
                    log_path.display()
                ));
            }
            if std::time::Instant::now() > deadline || stop.load(Ordering::SeqCst) {
                return Err(anyhow!(
                    "node {i} did not answer on {url}; see {}",
                    log_path.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        if i == 0 {
            stages = s;
        }
    }
    let _bot = if a.bot_rate > 0.0 {
        let log = std::fs::File::create(dir.join("bot.log"))?;
        Some(Child(
            Command::new(&exe)
                .args(["bot", "--node-url", &url, "--rate", &a.bot_rate.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?,
        ))
    } else {
        None
    };
    // The staking page, when it has been built (scripts/run.sh and scripts/test.sh build it).
    let mut dashboard_line = "not served (--dashboard-port 0)".to_string();
    let _dashboard = if a.dashboard_port > 0 {
        let log = std::fs::File::create(dir.join("dashboard.log"))?;
        let mut d = Child(
            Command::new(&exe)
                .args(["dashboard", "--port", &a.dashboard_port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?,
        );
        std::thread::sleep(Duration::from_millis(500));
        match d.0.try_wait() {
            Ok(None) => {
                dashboard_line = format!("http://127.0.0.1:{}", a.dashboard_port);
                Some(d)
            }
            _ => {
                dashboard_line = format!(
                    "not started: {}",
                    std::fs::read_to_string(dir.join("dashboard.log"))
                        .unwrap_or_default()
                        .trim()
                );
                None
            }
        }
    } else {
        None
    };
    let key_of = |i: usize| {
        std::fs::read_to_string(&children[i].1)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.split("store it now): ").nth(1).map(str::to_string))
            .unwrap_or_else(|| format!("(see {})", children[i].1.display()))
    };
    let key_line = key_of(0);
    let mut others = String::new();
    for (i, peer) in peers.iter().enumerate().skip(1) {
        others.push_str(&format!(
            "  node {i}          {} (admin http://127.0.0.1:{}, x-api-key: {}; p2p {})\n",
            url_of(i),
            usize::from(a.admin_port) + i,
            key_of(i),
            peer,
        ));
    }
    let node_logs = if nodes == 1 {
        "node.log".to_string()
    } else {
        format!("node0.log … node{}.log", nodes - 1)
    };
    println!(
        "\ncairn devnet is up ({:.0} s).\n  node JSON-RPC   {url}\n  node stages     {stages}\n  node admin      http://127.0.0.1:{} (x-api-key: {key_line})\n{others}  staking page    {dashboard_line}\n  L1 RPC          {}\n  manifest        {}\n  keystore        {}\n  logs            {}/{node_logs}, bot.log\n\nTry:\n  curl -s -X POST -H 'content-type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node_getL2Tips\"}}' {url}\n  cairn tx transfer --node-url {url} --from 0 --to 1 --amount 5 --wait 60\n  cairn tx balance --node-url {url} --account 1\n  NETWORK=devnet CAIRN_DEVNET_MANIFEST={} cairn rollup info\nCtrl-C stops everything.",
        t0.elapsed().as_secs_f64(),
        a.admin_port,
        m.rpc_url,
        manifest_path.display(),
        keystore.display(),
        dir.display(),
        manifest_path.display(),
    );
    while !stop.load(Ordering::SeqCst) {
        let exited = children
            .iter_mut()
            .enumerate()
            .find_map(|(i, (child, log))| match child.0.try_wait() {
                Ok(Some(st)) => Some(format!("node {i} exited ({st}); see {}", log.display())),
                _ => None,
            });
        if let Some(why) = exited {
            let mut procs: Vec<Child> = children.into_iter().map(|(c, _)| c).collect();
            stop_all(&mut procs);
            devnet.shutdown();
            return Err(anyhow!(why));
        }
        if !devnet.is_running() {
            return Err(anyhow!(
                "anvil exited on its own (log in {})",
                dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut procs: Vec<Child> = children.into_iter().map(|(c, _)| c).collect();
    stop_all(&mut procs);
    devnet.shutdown();
    println!("devnet: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts() {
        assert_eq!(
            parse_tokens("100").unwrap(),
            U256::from(100u64) * U256::from(10u64).pow(U256::from(18))
        );
        assert_eq!(parse_tokens("5wei").unwrap(), U256::from(5u64));
        assert!(parse_tokens("1.5").is_err());
        assert!(parse_tokens("-1").is_err());
    }
}

/// Flags of `cairn devnet unlock-rewards`.
#[derive(Args)]
pub struct UnlockRewardsArgs {
    #[command(flatten)]
    net: super::l1::NetArgs,
}

fn unlock_rewards(a: UnlockRewardsArgs) -> Result<()> {
    use alloy_sol_types::SolCall;
    use cairn_l1::abi::IRollup;
    let net = a.net.resolve(false)?;
    if net.manifest.is_none() {
        return Err(anyhow!(
            "unlock-rewards works only on the devnet (NETWORK=devnet): elsewhere only governance can make rewards claimable"
        ));
    }
    if net
        .l1
        .call(net.rollup, &IRollup::isRewardsClaimableCall {})?
    {
        println!("rewards on rollup {} are already claimable", net.rollup);
        return Ok(());
    }
    let owner = net.l1.call(net.rollup, &IRollup::ownerCall {})?;
    let rpc = net.l1.rpc();
    let data = IRollup::setRewardsClaimableCall {
        _isRewardsClaimable: true,
    }
    .abi_encode();
    let call = serde_json::json!({
        "from": owner.to_checksum(None),
        "to": net.rollup.to_checksum(None),
        "data": format!("0x{}", hex::encode(&data)),
    });
    // anvil's cheats: act as the owner (a contract on a real deployment) for one transaction.
    rpc.call(
        "anvil_impersonateAccount",
        serde_json::json!([owner.to_checksum(None)]),
    )?;
    rpc.call(
        "anvil_setBalance",
        serde_json::json!([owner.to_checksum(None), "0xde0b6b3a7640000"]),
    )?;
    let sent = rpc.call("eth_sendTransaction", serde_json::json!([call]));
    let _ = rpc.call(
        "anvil_stopImpersonatingAccount",
        serde_json::json!([owner.to_checksum(None)]),
    );
    let hash: alloy_primitives::B256 = sent?
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| anyhow!("eth_sendTransaction did not return a transaction hash"))?;
    net.l1
        .wait_replay("setRewardsClaimable", hash, call)
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "rewards on rollup {} are claimable (set by its owner {owner})",
        net.rollup
    );
    Ok(())
}
