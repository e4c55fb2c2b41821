//! Starting, describing and stopping the devnet.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;
use cairn_l1::abi::{IRollup, IERC20};
use cairn_l1::manifest::{Account, Manifest};
use cairn_l1::{signer_from_hex, L1Error, RpcClient, TxRequest, L1};

use crate::Tools;

/// anvil's mnemonic; its accounts are public test keys.
const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";
const CHAIN_ID: u64 = 31337;
/// What forge must believe it runs (the compiler Aztec built the artifacts with).
/// Fee asset minted to the fee juice portal at deployment (10⁹ tokens): what pays proven
/// checkpoints' fees out on L1.
pub const FEE_JUICE_PORTAL_FUNDING: &str = "1000000000000000000000000000";
const SOLC_VERSION_LINE: &str = "Version: 0.8.30+commit.73712a01.Linux.g++";

const STAKING_REGISTRY: &str = include_str!("../../../contracts/out/StakingRegistry.json");
const PULL_SPLIT_FACTORY: &str = include_str!("../../../contracts/out/PullSplitFactory.json");
const SPLITS_WAREHOUSE: &str = include_str!("../../../contracts/out/SplitsWarehouse.json");

/// Why the devnet could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Tools missing.
    #[error("{0}")]
    Tools(String),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// anvil or forge failed.
    #[error("{0}")]
    Process(String),
    /// A contract call failed.
    #[error("{what}: {source}")]
    L1 {
        /// What was attempted.
        what: String,
        /// The L1 error.
        source: Box<L1Error>,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DevnetError {
    let what = what.into();
    move |source| DevnetError::Io { what, source }
}

fn l1err(what: impl Into<String>) -> impl FnOnce(L1Error) -> DevnetError {
    let what = what.into();
    move |source| DevnetError::L1 {
        what,
        source: Box::new(source),
    }
}

/// Devnet parameters. Defaults give short slots and epochs so that epochs (and the validator-set
/// lag) pass quickly, a committee of 4, and an entry queue that admits 48 validators per epoch.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// State directory (anvil.pid, manifest.json, logs, scratch copy of the contracts).
    pub dir: PathBuf,
    /// anvil port on 127.0.0.1.
    pub port: u16,
    /// Explicit `tools/node_modules`.
    pub tools_dir: Option<PathBuf>,
    /// L2 slot duration, seconds.
    pub slot_duration: u64,
    /// Slots per epoch.
    pub epoch_duration: u64,
    /// Target committee size.
    pub committee_size: u64,
    /// Stake per validator, wei.
    pub activation_threshold: U256,
    /// GSE ejection threshold, wei.
    pub ejection_threshold: U256,
    /// Rollup local ejection threshold, wei.
    pub local_ejection_threshold: U256,
    /// Exit delay, seconds.
    pub exit_delay: u64,
    /// Entry-queue bootstrap set size (0 = no bootstrap phase).
    pub bootstrap_validator_set_size: u64,
    /// Entry-queue minimum flush size per epoch.
    pub flush_size_min: u64,
    /// Entry-queue flush quotient.
    pub flush_size_quotient: u64,
    /// Entry-queue maximum flush size per epoch.
    pub max_flush_size: u64,
    /// Epochs a proof may take.
    pub proof_submission_epochs: u64,
    /// Seconds between L1 blocks mined with no transactions (0: only when a transaction
    /// arrives). Transactions are still mined at once; empty blocks keep L1 time moving, as on
    /// a real chain, so epochs pass and the entry queue's per-epoch budget refills.
    pub block_time: u64,
    /// Funded test accounts (anvil accounts 1..=N; the deployer, account 0, is funded too).
    pub accounts: u32,
    /// Staking asset minted to each test account, wei.
    pub fund: U256,
    /// The Rollup's archive at checkpoint 0: the genesis archive of the L2 the nodes run
    /// (`cairn devnet l1` computes cairn's). `None` deploys Aztec's script default, zero.
    pub genesis_archive_root: Option<alloy_primitives::B256>,
    /// Extra `AZTEC_*` settings passed to the deploy script as they are.
    pub extra_env: BTreeMap<String, String>,
    /// Deadline for the forge deployment.
    pub deploy_timeout: Duration,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        let e18 = U256::from(10u64).pow(U256::from(18));
        Self {
            dir: PathBuf::from(".devnet"),
            port: 8545,
            tools_dir: None,
            slot_duration: 12,
            epoch_duration: 8,
            committee_size: 4,
            activation_threshold: U256::from(100u64) * e18,
            ejection_threshold: U256::from(50u64) * e18,
            local_ejection_threshold: U256::from(98u64) * e18,
            exit_delay: 120,
            bootstrap_validator_set_size: 0,
            flush_size_min: 48,
            flush_size_quotient: 2,
            max_flush_size: 48,
            proof_submission_epochs: 1,
            block_time: 1,
            accounts: 9,
            fund: U256::from(100_000u64) * e18,
            genesis_archive_root: None,
            extra_env: BTreeMap::new(),
            deploy_timeout: Duration::from_secs(300),
        }
    }
}

impl DevnetConfig {
    fn validate(&self) -> Result<(), DevnetError> {
        let bad = |m: &str| Err(DevnetError::Config(m.to_string()));
        if self.slot_duration == 0 || self.epoch_duration == 0 {
            return bad("--slot-duration and --epoch-duration must be at least 1");
        }
        if self.committee_size == 0 {
            return bad("--committee-size must be at least 1");
        }
        if self.ejection_threshold > self.activation_threshold {
            return bad("--ejection-threshold must not exceed --activation-threshold");
        }
        if self.local_ejection_threshold > self.activation_threshold
            || self.local_ejection_threshold < self.ejection_threshold
        {
            return bad("--local-ejection-threshold must lie between the ejection and activation thresholds");
        }
        if self.accounts > 1000 {
            return bad("--accounts is at most 1000");
        }
        Ok(())
    }

    /// The deploy script's environment (every `vm.envUint`/`vm.envAddress` it reads).
    fn env(&self, deployer: Address) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            ("AZTEC_SLOT_DURATION", self.slot_duration.to_string()),
            ("AZTEC_EPOCH_DURATION", self.epoch_duration.to_string()),
            (
                "AZTEC_TARGET_COMMITTEE_SIZE",
                self.committee_size.to_string(),
            ),
            ("AZTEC_LAG_IN_EPOCHS_FOR_VALIDATOR_SET", "2".into()),
            ("AZTEC_LAG_IN_EPOCHS_FOR_RANDAO", "1".into()),
            ("AZTEC_INBOX_LAG", "1".into()),
            (
                "AZTEC_PROOF_SUBMISSION_EPOCHS",
                self.proof_submission_epochs.to_string(),
            ),
            ("AZTEC_EXIT_DELAY_SECONDS", self.exit_delay.to_string()),
            ("AZTEC_MANA_TARGET", "100000000".into()),
            // The portal pays every proven checkpoint's fees out to the Rollup; on a network
            // it holds what users bridged in, here it is minted at deployment.
            (
                "FEE_JUICE_PORTAL_INITIAL_BALANCE",
                FEE_JUICE_PORTAL_FUNDING.to_string(),
            ),
            ("AZTEC_PROVING_COST_PER_MANA", "100".into()),
            ("AZTEC_INITIAL_ETH_PER_FEE_ASSET", "10000000".into()),
            (
                "AZTEC_LOCAL_EJECTION_THRESHOLD",
                self.local_ejection_threshold.to_string(),
            ),
            ("AZTEC_SLASHER_FLAVOR", "tally".into()),
            ("AZTEC_SLASHING_ROUND_SIZE_IN_EPOCHS", "4".into()),
            ("AZTEC_SLASHING_LIFETIME_IN_ROUNDS", "5".into()),
            ("AZTEC_SLASHING_EXECUTION_DELAY_IN_ROUNDS", "0".into()),
            ("AZTEC_SLASHING_OFFSET_IN_ROUNDS", "2".into()),
            ("AZTEC_SLASHING_VETOER", format!("{:#x}", Address::ZERO)),
            ("AZTEC_SLASHING_DISABLE_DURATION", "432000".into()),
            ("AZTEC_SLASH_AMOUNT_SMALL", "10000000000000000000".into()),
            ("AZTEC_SLASH_AMOUNT_MEDIUM", "20000000000000000000".into()),
            ("AZTEC_SLASH_AMOUNT_LARGE", "50000000000000000000".into()),
            (
                "AZTEC_ACTIVATION_THRESHOLD",
                self.activation_threshold.to_string(),
            ),
            (
                "AZTEC_EJECTION_THRESHOLD",
                self.ejection_threshold.to_string(),
            ),
            (
                "AZTEC_ENTRY_QUEUE_BOOTSTRAP_VALIDATOR_SET_SIZE",
                self.bootstrap_validator_set_size.to_string(),
            ),
            (
                "AZTEC_ENTRY_QUEUE_BOOTSTRAP_FLUSH_SIZE",
                self.bootstrap_validator_set_size.to_string(),
            ),
            (
                "AZTEC_ENTRY_QUEUE_FLUSH_SIZE_MIN",
                self.flush_size_min.to_string(),
            ),
            (
                "AZTEC_ENTRY_QUEUE_FLUSH_SIZE_QUOTIENT",
                self.flush_size_quotient.to_string(),
            ),
            (
                "AZTEC_ENTRY_QUEUE_MAX_FLUSH_SIZE",
                self.max_flush_size.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(root) = self.genesis_archive_root {
            env.insert(
                "GENESIS_ARCHIVE_ROOT".into(),
                U256::from_be_bytes(root.0).to_string(),
            );
        }
        for (k, v) in &self.extra_env {
            env.insert(k.clone(), v.clone());
        }
        env.insert("DEPLOYER".into(), format!("{deployer:#x}"));
        env
    }
}

/// A running devnet.
pub struct Devnet {
    /// Its manifest (also written to `dir/manifest.json`).
    pub manifest: Manifest,
    /// State directory.
    pub dir: PathBuf,
    anvil: Option<Child>,
}

impl Devnet {
    /// Path of the manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// Leaves anvil running after this process exits (stop it with [`stop`]).
    pub fn detach(mut self) {
        self.anvil.take();
    }

    /// Whether anvil is still running.
    pub fn is_running(&mut self) -> bool {
        match self.anvil.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops anvil and removes the manifest and pid file.
    pub fn shutdown(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        // A detached devnet (no child) is left alone, files included.
        let Some(mut c) = self.anvil.take() else {
            return;
        };
        terminate(c.id());
        let _ = c.wait();
        let _ = fs::remove_file(self.dir.join("manifest.json"));
        let _ = fs::remove_file(self.dir.join("anvil.pid"));
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.kill();
    }
}

fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && Path::new(&format!("/proc/{pid}")).exists() {
        if is_zombie(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn is_anvil(pid: u32) -> bool {
    !is_zombie(pid)
        && fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("anvil"))
            .unwrap_or(false)
}

/// Stops the devnet recorded in `dir`. Returns a sentence saying what happened.
pub fn stop(dir: &Path) -> Result<String, DevnetError> {
    let pid_file = dir.join("anvil.pid");
    let Ok(text) = fs::read_to_string(&pid_file) else {
        return Ok(format!(
            "no devnet running from {} (no anvil.pid)",
            dir.display()
        ));
    };
    // Manifest first: a manifest without a node behind it would only mislead its readers.
    let _ = fs::remove_file(dir.join("manifest.json"));
    let _ = fs::remove_file(&pid_file);
    match text.trim().parse::<u32>() {
        Ok(pid) if is_anvil(pid) => {
            terminate(pid);
            Ok(format!("stopped anvil (pid {pid})"))
        }
        _ => Ok(format!(
            "anvil was not running; cleaned up {}",
            dir.display()
        )),
    }
}

fn port_in_use(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn write_private(path: &Path, text: &str, mode: u32) -> Result<(), DevnetError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io(format!("writing {}", tmp.display())))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io("chmod"))?;
    f.write_all(text.as_bytes())
        .map_err(io(format!("writing {}", tmp.display())))?;
    f.sync_all().map_err(io("fsync"))?;
    fs::rename(&tmp, path).map_err(io(format!("renaming to {}", path.display())))
}

fn anvil_keys(n: u32) -> Result<Vec<String>, DevnetError> {
    let seed = cairn_keys::mnemonic::to_seed(ANVIL_MNEMONIC)
        .map_err(|e| DevnetError::Config(format!("anvil mnemonic: {e}")))?;
    let d = cairn_keys::hd::EthAccountDeriver::new(seed.as_ref(), 0)
        .map_err(|e| DevnetError::Config(format!("anvil accounts: {e}")))?;
    (0..=n)
        .map(|i| {
            d.key(i)
                .map(|k| format!("0x{}", hex::encode(k.to_bytes())))
                .map_err(|e| DevnetError::Config(format!("anvil account {i}: {e}")))
        })
        .collect()
}

fn bytecode(artifact: &str, name: &str) -> Result<Vec<u8>, DevnetError> {
    let v: serde_json::Value = serde_json::from_str(artifact)
        .map_err(|e| DevnetError::Config(format!("embedded {name} artifact: {e}")))?;
    let hex_code = v["bytecode"].as_str().unwrap_or_default();
    hex::decode(hex_code.trim_start_matches("0x"))
        .map_err(|e| DevnetError::Config(format!("embedded {name} bytecode: {e}")))
}

/// Waits for `child` with a deadline; kills it on timeout.
fn wait_deadline(child: &mut Child, limit: Duration, what: &str) -> Result<bool, DevnetError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(io(format!("waiting for {what}")))?
        {
            return Ok(status.success());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DevnetError::Process(format!(
                "{what} did not finish within {} s",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts anvil, deploys everything and writes the manifest. The returned [`Devnet`] owns
/// anvil: dropping it stops the chain unless [`Devnet::detach`] is called.
pub fn start(cfg: &DevnetConfig) -> Result<Devnet, DevnetError> {
    let started = Instant::now();
    cfg.validate()?;
    let tools = Tools::locate(cfg.tools_dir.as_deref())?;
    if Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        return Err(DevnetError::Tools(
            "node is not on PATH (forge's solc stand-in runs solc-js); run scripts/setup.sh".into(),
        ));
    }
    fs::create_dir_all(&cfg.dir).map_err(io(format!("creating {}", cfg.dir.display())))?;
    let dir = fs::canonicalize(&cfg.dir).map_err(io(format!("resolving {}", cfg.dir.display())))?;
    let pid_file = dir.join("anvil.pid");
    if let Some(pid) = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    {
        if is_anvil(pid) {
            return Err(DevnetError::Config(format!(
                "a devnet is already running from {} (anvil pid {pid}); stop it first: cairn devnet l1 --stop --dir {}",
                dir.display(),
                dir.display()
            )));
        }
    }
    if port_in_use(cfg.port) {
        return Err(DevnetError::Config(format!(
            "port {} on 127.0.0.1 is already in use: pick another with --port N, or stop what holds it",
            cfg.port
        )));
    }
    // Remove only what this command creates: the directory may be the user's.
    let scratch = dir.join("l1-contracts");
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(io(format!("removing {}", scratch.display())))?;
    }
    for f in [
        "manifest.json",
        "anvil.pid",
        "anvil.log",
        "forge.log",
        "solc",
    ] {
        let _ = fs::remove_file(dir.join(f));
    }

    // forge insists on a solc 0.8.30 binary even though the package's out/ and cache/ are
    // valid; this stand-in answers --version and hands anything else to solc-js.
    let solc = dir.join("solc");
    let script = format!(
        "#!/usr/bin/env bash\n# Written by cairn devnet l1: solc 0.8.30 stand-in for FOUNDRY_SOLC.\nfor a in \"$@\"; do\n  if [ \"$a\" = --version ]; then\n    echo 'solc, the solidity compiler commandline interface'\n    echo '{SOLC_VERSION_LINE}'\n    exit 0\n  fi\ndone\nset -o pipefail\nnode '{}' \"$@\" | sed '/^>>> /d'\n",
        tools.solcjs.display()
    );
    write_private(&solc, &script, 0o755)?;
    // forge trusts its compile cache only when the source times match: copy with cp -a.
    let st = Command::new("cp")
        .arg("-a")
        .arg(&tools.l1_contracts)
        .arg(&scratch)
        .status()
        .map_err(io("running cp"))?;
    if !st.success() {
        return Err(DevnetError::Process(format!(
            "copying {} failed",
            tools.l1_contracts.display()
        )));
    }

    let log = fs::File::create(dir.join("anvil.log")).map_err(io("creating anvil.log"))?;
    let log2 = log.try_clone().map_err(io("anvil.log"))?;
    // Own process group: a Ctrl-C at the terminal reaches cairn, which stops anvil in order.
    let child = Command::new(&tools.anvil)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &cfg.port.to_string(),
            "--chain-id",
            &CHAIN_ID.to_string(),
            // The deployer (0) and every test account hold ETH from genesis.
            "--accounts",
            &(cfg.accounts + 1).max(10).to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .map_err(io(format!("starting {}", tools.anvil.display())))?;
    fs::write(&pid_file, format!("{}\n", child.id())).map_err(io("writing anvil.pid"))?;
    let mut devnet = Devnet {
        manifest: Manifest {
            chain_id: CHAIN_ID,
            rpc_url: format!("http://127.0.0.1:{}", cfg.port),
            deployer_private_key: String::new(),
            deployer_address: Address::ZERO,
            addresses: BTreeMap::new(),
            rollup_version: 0,
            accounts: vec![],
            config: BTreeMap::new(),
            derived: BTreeMap::new(),
            startup_seconds: 0.0,
        },
        dir: dir.clone(),
        anvil: Some(child),
    };

    let rpc = RpcClient::new(&[devnet.manifest.rpc_url.clone()])
        .map_err(|e| DevnetError::Process(e.to_string()))?
        .with_retries(1, Duration::from_millis(1));
    let ready_by = Instant::now() + Duration::from_secs(10);
    loop {
        if !devnet.is_running() {
            return Err(DevnetError::Process(format!(
                "anvil exited during startup:\n{}\n(log: {})",
                tail(&dir.join("anvil.log"), 20),
                dir.join("anvil.log").display()
            )));
        }
        if rpc.chain_id().is_ok() {
            break;
        }
        if Instant::now() > ready_by {
            return Err(DevnetError::Process(format!(
                "anvil did not answer on {} within 10 s (log: {})",
                devnet.manifest.rpc_url,
                dir.join("anvil.log").display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let keys = anvil_keys(cfg.accounts)?;
    let deployer = signer_from_hex(&keys[0]).map_err(l1err("deployer key"))?;
    let env = cfg.env(deployer.address());
    tracing::info!(rpc = %devnet.manifest.rpc_url, "anvil up; deploying the Aztec L1 contracts");
    let forge_log = dir.join("forge.log");
    let out = fs::File::create(&forge_log).map_err(io("creating forge.log"))?;
    let out2 = out.try_clone().map_err(io("forge.log"))?;
    // --slow: one transaction at a time. All at once, the ~22 deployments overflow anvil's
    // block gas limit and under automine the leftover waits for a block that never comes.
    let mut forge = Command::new(&tools.forge)
        .current_dir(&scratch)
        .args([
            "script",
            "script/deploy/DeployAztecL1Contracts.s.sol",
            "--sig",
            "run()",
            "--private-key",
        ])
        .arg(&keys[0])
        .args([
            "--rpc-url",
            &devnet.manifest.rpc_url,
            "--broadcast",
            "--slow",
            "--offline",
        ])
        .env("FOUNDRY_SOLC", &solc)
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(out2)
        .spawn()
        .map_err(io(format!("starting {}", tools.forge.display())))?;
    if !wait_deadline(&mut forge, cfg.deploy_timeout, "forge deployment")? {
        return Err(DevnetError::Process(format!(
            "the Aztec deploy script failed:\n{}\n(full log: {}; check the devnet flags)",
            tail(&forge_log, 30),
            forge_log.display()
        )));
    }
    let log_text = fs::read_to_string(&forge_log).map_err(io("reading forge.log"))?;
    let result: serde_json::Value = log_text
        .lines()
        .find_map(|l| {
            l.split_once("JSON DEPLOY RESULT:")
                .map(|(_, j)| j.trim().to_string())
        })
        .and_then(|j| serde_json::from_str(&j).ok())
        .ok_or_else(|| {
            DevnetError::Process(format!(
                "no `JSON DEPLOY RESULT:` line in {}",
                forge_log.display()
            ))
        })?;
    let obj = result
        .as_object()
        .ok_or_else(|| DevnetError::Process("deploy result is not an object".into()))?;
    let mut addresses = BTreeMap::new();
    for (k, v) in obj {
        if let (Some(name), Some(a)) = (k.strip_suffix("Address"), v.as_str()) {
            let a: Address = a.parse().map_err(|_| {
                DevnetError::Process(format!("deploy result {k} is not an address"))
            })?;
            addresses.insert(name.to_string(), a);
        }
    }
    let rollup_version = obj
        .get("rollupVersion")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let need = |n: &str| {
        addresses
            .get(n)
            .copied()
            .ok_or_else(|| DevnetError::Process(format!("deploy result has no {n}Address")))
    };
    let (registry, rollup, gse, staking_asset) = (
        need("registry")?,
        need("rollup")?,
        need("gse")?,
        need("stakingAsset")?,
    );

    let l1 = L1::connect(
        rpc.with_retries(3, Duration::from_millis(100)),
        Some(CHAIN_ID),
    )
    .map_err(l1err("connecting to anvil"))?;
    let deploy = |name: &str, artifact: &str, args: Vec<u8>| -> Result<Address, DevnetError> {
        let mut data = bytecode(artifact, name)?;
        data.extend(args);
        let r = l1
            .send(
                &deployer,
                &format!("deploy {name}"),
                TxRequest {
                    to: None,
                    data,
                    value: U256::ZERO,
                    gas: None,
                },
            )
            .map_err(l1err(format!("deploying {name}")))?;
        r.contract_address
            .ok_or_else(|| DevnetError::Process(format!("{name}: no contract address in receipt")))
    };
    let warehouse = deploy(
        "SplitsWarehouse",
        SPLITS_WAREHOUSE,
        ("eth".to_string(), "eth".to_string()).abi_encode_params(),
    )?;
    let factory = deploy(
        "PullSplitFactory",
        PULL_SPLIT_FACTORY,
        (warehouse,).abi_encode_params(),
    )?;
    let staking_registry = deploy(
        "StakingRegistry",
        STAKING_REGISTRY,
        (staking_asset, factory, registry).abi_encode_params(),
    )?;
    addresses.insert("splitsWarehouse".into(), warehouse);
    addresses.insert("pullSplitFactory".into(), factory);
    addresses.insert("stakingRegistry".into(), staking_registry);

    // The deployer is the devnet's default sender, so it holds stake too.
    l1.send_call(
        &deployer,
        "mint staking asset",
        staking_asset,
        &IERC20::mintCall {
            to: deployer.address(),
            amount: cfg.fund,
        },
    )
    .map_err(l1err("funding the deployer with the staking asset"))?;
    let mut accounts = Vec::new();
    for key in &keys[1..] {
        let s = signer_from_hex(key).map_err(l1err("test account key"))?;
        l1.send_call(
            &deployer,
            "mint staking asset",
            staking_asset,
            &IERC20::mintCall {
                to: s.address(),
                amount: cfg.fund,
            },
        )
        .map_err(l1err("funding test accounts with the staking asset"))?;
        accounts.push(Account {
            address: s.address(),
            private_key: key.clone(),
        });
    }

    // GSE creates its PoP checker (Bn254LibWrapper) as its first CREATE, with no getter.
    let wrapper = gse.create(1);
    let genesis = l1
        .call(rollup, &IRollup::getGenesisTimeCall {})
        .map_err(l1err("reading the rollup genesis time"))?;
    let mut derived = BTreeMap::new();
    derived.insert(
        "gseBn254LibWrapper".to_string(),
        serde_json::json!(wrapper.to_checksum(None)),
    );
    let archive0 = l1
        .call(
            rollup,
            &IRollup::archiveAtCall {
                _checkpointNumber: U256::ZERO,
            },
        )
        .map_err(l1err("reading the rollup's genesis archive"))?;
    if archive0 != cfg.genesis_archive_root.unwrap_or_default() {
        return Err(DevnetError::Process(format!(
            "the Rollup was deployed with genesis archive {archive0}, not the {:?} asked for",
            cfg.genesis_archive_root
        )));
    }
    derived.insert(
        "feeJuicePortalInitialBalance".to_string(),
        serde_json::json!(FEE_JUICE_PORTAL_FUNDING),
    );
    derived.insert(
        "genesisArchiveRoot".to_string(),
        serde_json::json!(format!("{archive0:#x}")),
    );
    derived.insert(
        "rollupGenesisTime".to_string(),
        serde_json::json!(genesis.to::<u64>()),
    );
    let config = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("AZTEC_"))
        .map(|(k, v)| {
            let n = v.parse::<u64>().ok().filter(|n| *n < (1u64 << 53));
            (
                k,
                n.map(serde_json::Value::from)
                    .unwrap_or(serde_json::Value::String(v)),
            )
        })
        .collect();
    // Mixed mining from here on: transactions are still mined at once, and an empty block
    // every `block_time` seconds keeps L1 time (and so slots and epochs) moving.
    if cfg.block_time > 0 {
        l1.rpc()
            .call("evm_setIntervalMining", serde_json::json!([cfg.block_time]))
            .map_err(|e| DevnetError::Config(format!("anvil refused interval mining: {e}")))?;
    }
    devnet.manifest.deployer_private_key = keys[0].clone();
    devnet.manifest.deployer_address = deployer.address();
    devnet.manifest.addresses = addresses;
    devnet.manifest.rollup_version = rollup_version;
    devnet.manifest.accounts = accounts;
    devnet.manifest.config = config;
    devnet.manifest.derived = derived;
    devnet.manifest.startup_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let text = serde_json::to_string_pretty(&devnet.manifest)
        .map_err(|e| DevnetError::Config(e.to_string()))?
        + "\n";
    write_private(&devnet.manifest_path(), &text, 0o600)?;
    Ok(devnet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anvil_accounts_are_the_well_known_ones() {
        let keys = anvil_keys(1).unwrap();
        assert_eq!(
            keys[0],
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            signer_from_hex(&keys[1]).unwrap().address(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                .parse::<Address>()
                .unwrap()
        );
    }

    #[test]
    fn config_is_checked() {
        let mut c = DevnetConfig {
            slot_duration: 0,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--slot-duration"));
        c.slot_duration = 12;
        c.ejection_threshold = c.activation_threshold + U256::from(1);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--ejection-threshold"));
        let c = DevnetConfig::default();
        c.validate().unwrap();
        let env = c.env(Address::ZERO);
        assert_eq!(env["AZTEC_SLOT_DURATION"], "12");
        assert_eq!(env["AZTEC_ACTIVATION_THRESHOLD"], "100000000000000000000");
    }
}
