//! Helpers for the workspace-level tests: locating (and if needed building) the `cairn` binary,
//! running it in a scratch directory, and paths to the shared test data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod node;
pub mod pg;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The cargo arguments that select what `scripts/test.sh` builds. The `cairn` binary must be built
/// with exactly this selection: cargo unifies features over the packages and targets of one
/// invocation, so `cargo build -p cairn` would compile wasmtime, alloy and the rest a second time
/// with other features (and without the test builds' `fault-injection` switch).
pub const WORKSPACE_BUILD: [&str; 5] = [
    "--workspace",
    "--exclude",
    "cairn-dashboard",
    "--all-targets",
    "--locked",
];

/// The `cairn` binary: `$CAIRN_BIN` if set (scripts/test.sh sets it), otherwise built once with
/// the same cargo and the same selection as the test build (a link step when that is done).
pub fn cairn_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CAIRN_BIN") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(repo_root())
            .arg("build")
            .args(WORKSPACE_BUILD)
            .arg("--message-format=json-render-diagnostics")
            .output()
            .expect("run cargo build for the cairn binary");
        assert!(
            out.status.success(),
            "building cairn failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            // The binary itself, not its unit-test harness (also named `cairn` with
            // --all-targets).
            .filter(|v| {
                v["reason"] == "compiler-artifact"
                    && v["target"]["name"] == "cairn"
                    && v["profile"]["test"] == false
            })
            .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
            .next_back()
            .expect("cargo reported the cairn executable")
    })
}

/// Runs `cairn ARGS` in `cwd` with a clean environment plus `env`.
pub fn run_cairn(cwd: &Path, args: &[String], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(cairn_bin());
    cmd.current_dir(cwd)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd.join(".home"))
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn cairn")
}

/// A local L1 running the real Aztec contracts (`cairn devnet l1 --detach`), stopped on drop.
pub struct Devnet {
    dir: tempfile::TempDir,
    /// The manifest (`rpcUrl`, `addresses.*`, `accounts`, …).
    pub manifest: serde_json::Value,
    /// Seconds from start to manifest, as the devnet measured it.
    pub startup_seconds: f64,
}

impl Devnet {
    /// Starts a devnet on a free loopback port. Panics with the fix when the L1 tools are not
    /// installed (`scripts/setup.sh`).
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a devnet with extra `cairn devnet l1` flags.
    pub fn start_with(extra: &[&str]) -> Self {
        let root = repo_root();
        assert!(
            root.join("tools/node_modules/.bin/anvil").exists(),
            "the L1 tools are not installed: run scripts/setup.sh"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        // Another test may take the port between our probe and anvil's bind: retry on a new one.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new(cairn_bin())
                .args([
                    "devnet",
                    "l1",
                    "--detach",
                    "--port",
                    &port.to_string(),
                    "--dir",
                ])
                .arg(dir.path())
                .args(extra)
                .env("CAIRN_TOOLS_DIR", root.join("tools/node_modules"))
                .output()
                .expect("run cairn devnet l1");
            if out.status.success() {
                let text =
                    std::fs::read_to_string(dir.path().join("manifest.json")).expect("manifest");
                let manifest: serde_json::Value =
                    serde_json::from_str(&text).expect("manifest is JSON");
                let startup_seconds = manifest["startupSeconds"].as_f64().unwrap_or(0.0);
                return Devnet {
                    dir,
                    manifest,
                    startup_seconds,
                };
            }
            last = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !last.contains("already in use") {
                break;
            }
        }
        panic!("devnet failed to start:\n{last}");
    }

    /// The JSON-RPC URL.
    pub fn rpc(&self) -> String {
        self.manifest["rpcUrl"]
            .as_str()
            .expect("rpcUrl")
            .to_string()
    }

    /// A deployed contract's address by manifest name (`gse`, `rollup`, `stakingAsset`, …).
    pub fn address(&self, name: &str) -> String {
        self.manifest["addresses"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no address {name} in the manifest"))
            .to_string()
    }

    /// Funded test account `i` (0-based over anvil accounts 1..): (address, private key).
    pub fn account(&self, i: usize) -> (String, String) {
        let a = &self.manifest["accounts"][i];
        (
            a["address"].as_str().expect("account address").to_string(),
            a["privateKey"].as_str().expect("account key").to_string(),
        )
    }

    /// Path of the manifest file.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.path().join("manifest.json")
    }

    /// Environment that points cairn's L1 commands at this devnet (`--network devnet`).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("NETWORK".into(), "devnet".into()),
            (
                "CAIRN_DEVNET_MANIFEST".into(),
                self.manifest_path().display().to_string(),
            ),
        ]
    }

    /// Deposits every tuple of a registration file from the deployer and follows the entry
    /// queue (`cairn add-l1-validator --registration F --wait --force`): stdout has one
    /// `ADDRESS STATUS` line per attester.
    pub fn register(&self, registration: &Path) -> Output {
        let args: Vec<String> = ["add-l1-validator", "--registration"]
            .iter()
            .map(|s| s.to_string())
            .chain([registration.display().to_string()])
            .chain(
                ["--wait", "--force", "--wait-timeout", "120"]
                    .iter()
                    .map(|s| s.to_string()),
            )
            .collect();
        run_cairn(self.dir.path(), &args, &self.env())
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new(cairn_bin())
            .args(["devnet", "l1", "--stop", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

/// A free loopback TCP port for a process the test starts, with the 15 ports above it free as
/// well (`cairn devnet up` gives node i the port + i of each kind, and the page a port next to
/// the node's). The ports come from below the kernel's ephemeral range: a port the kernel
/// hands out for `:0` is also where outgoing connections (a node's calls to anvil) take their
/// local ports, so one found free there could be taken before the process binds it ("Address
/// already in use", seen in CI). Each call in a process returns another block of 16.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const BLOCK: u32 = 16;
    const LOW: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // `ip_local_port_range` is "low high"; Linux defaults to 32768 60999.
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let top = ephemeral_low.clamp(LOW + 64 * BLOCK, 32_768);
    let blocks = (top - LOW) / BLOCK;
    // Test binaries run one after another, but spread them anyway.
    let offset = std::process::id() % blocks;
    let free = |port: u32| {
        u16::try_from(port).is_ok_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
    };
    for _ in 0..blocks {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let first = LOW + (offset + n) % blocks * BLOCK;
        if (first..first + BLOCK).all(free) {
            if let Ok(port) = u16::try_from(first) {
                return port;
            }
        }
    }
    panic!("no free block of {BLOCK} loopback ports between {LOW} and {top}")
}

/// Where the stage crates of `modules/` are built for wasm: the directory the `cairn-stages`
/// build script uses, so the variants built here reuse what it compiled.
fn stages_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| {
            if t.is_absolute() {
                t
            } else {
                repo_root().join(t)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
        .join("stages")
}

/// The pipeline components, once per test process: the four stages as built into `cairn`
/// (`cairn-stages`), and variants built here from `modules/` for wasm32-unknown-unknown
/// (release): `hostile-<feature>` for each misbehaving variant (`spin`, `memory`, `stack`,
/// `trap`, `downgrade`, and `wrong` for the default one that answers wrongly), and
/// `public-execution-v2` (the same stage as version 1.1.0).
pub fn components() -> &'static std::collections::BTreeMap<String, Vec<u8>> {
    static C: OnceLock<std::collections::BTreeMap<String, Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let root = repo_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = stages_target_dir();
        let out_dir = target.join("wasm32-unknown-unknown/release");
        let build = |pkg: &str, features: &str| {
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(root.join("modules"))
                .args([
                    "build",
                    "--quiet",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "-p",
                    pkg,
                ])
                .arg("--target-dir")
                .arg(&target);
            if !features.is_empty() {
                cmd.args(["--features", features]);
            }
            let o = cmd.output().expect("run cargo for modules/");
            assert!(
                o.status.success(),
                "building {pkg} {features} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let file = out_dir.join(format!("{}.wasm", pkg.replace('-', "_")));
            let core = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            cairn_engine::componentize(&core).expect("componentize")
        };
        let mut m = std::collections::BTreeMap::new();
        for stage in cairn_engine::Stage::ALL {
            m.insert(
                stage.name().to_string(),
                cairn_stages::component(stage).expect("componentize a built-in stage"),
            );
        }
        m.insert(
            "public-execution-v2".into(),
            build("cairn-stage-public-execution", "v2"),
        );
        m.insert("hostile-wrong".into(), build("cairn-stage-hostile", ""));
        for f in ["spin", "memory", "stack", "trap", "downgrade"] {
            m.insert(format!("hostile-{f}"), build("cairn-stage-hostile", f));
        }
        m
    })
}

/// The attestation stage built the way the wording suggests, for `wasm32-wasip2`:
/// rustc links it straight into a component, and std makes it import WASI.
pub fn wasip2_attestation_component() -> Vec<u8> {
    let root = repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = stages_target_dir();
    let o = Command::new(&cargo)
        .current_dir(root.join("modules"))
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "cairn-stage-attestation",
        ])
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("run cargo for modules/");
    assert!(
        o.status.success(),
        "building the wasip2 attestation stage failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let file = target.join("wasm32-wasip2/release/cairn_stage_attestation.wasm");
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A TCP proxy that can cut the line: stands between a node and its L1 to simulate an outage.
pub struct Proxy {
    /// The proxy's URL (`http://127.0.0.1:PORT`).
    pub url: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    /// Forwards connections on a free port to `target` (`host:port`).
    pub fn start(target: &str) -> Proxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let target = target.to_string();
        let flag = up.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    let flag = flag.clone();
                    std::thread::spawn(move || {
                        let _ = from.set_read_timeout(Some(std::time::Duration::from_millis(100)));
                        let mut buf = [0u8; 16384];
                        loop {
                            if !flag.load(Ordering::SeqCst) {
                                break;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                                Err(e)
                                    if e.kind() == std::io::ErrorKind::WouldBlock
                                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                                Err(_) => break,
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { url, up }
    }

    /// Cuts (false) or restores (true) the line; cutting also drops open connections.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Fetches `/metrics` from a node's RPC URL and asserts that no stage call fell back to native
/// code (`cairn_pipeline_native_fallbacks_total` is 0 for every stage). Returns the metrics text.
pub fn assert_no_native_fallbacks(rpc: &str) -> String {
    let metrics = ureq::get(&format!("{rpc}/metrics"))
        .call()
        .expect("GET /metrics")
        .into_string()
        .expect("metrics text");
    for stage in cairn_engine::Stage::ALL {
        assert!(
            metrics.contains(&format!(
                "cairn_pipeline_native_fallbacks_total{{stage=\"{}\"}} 0\n",
                stage.name()
            )),
            "{metrics}"
        );
    }
    metrics
}

/// A bare anvil holding a mnemonic's accounts: a real, independent remote signer (it answers
/// Web3Signer's `eth_accounts` and `eth_sign`) that a test can stop and start again on the same
/// port.
pub struct SignerProc {
    /// Its URL.
    pub url: String,
    port: u16,
    mnemonic: String,
    child: Option<std::process::Child>,
}

impl SignerProc {
    /// Starts a signer for the first ten accounts of `mnemonic` on a free port.
    pub fn start(mnemonic: &str) -> SignerProc {
        let port = free_port();
        let mut s = SignerProc {
            url: format!("http://127.0.0.1:{port}"),
            port,
            mnemonic: mnemonic.to_string(),
            child: None,
        };
        s.resume();
        s
    }

    /// Stops it (SIGKILL): requests are refused from now on.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port; waits until it answers.
    pub fn resume(&mut self) {
        let anvil = repo_root().join("tools/node_modules/.bin/anvil");
        assert!(
            anvil.exists(),
            "the L1 tools are not installed: run scripts/setup.sh"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let child = Command::new(&anvil)
                .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
                .args(["--mnemonic", &self.mnemonic, "--silent"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start anvil as a signer");
            self.child = Some(child);
            let asked = std::time::Instant::now();
            while asked.elapsed() < std::time::Duration::from_secs(10) {
                let answer = ureq::post(&self.url).send_json(
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_accounts", "params": []}),
                );
                if answer.is_ok() {
                    return;
                }
                if self
                    .child
                    .as_mut()
                    .is_some_and(|c| c.try_wait().ok().flatten().is_some())
                {
                    break; // exited (the port not released yet): start it again
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            self.stop();
            assert!(
                std::time::Instant::now() < deadline,
                "the signer (anvil) does not start on port {}",
                self.port
            );
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

impl Drop for SignerProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The parameters `split` was created with, read from the provider split factory's own
/// `SplitCreated` event (the staking registry names the factory), not from cairn's answers.
pub fn split_created(
    l1: &cairn_l1::L1,
    staking_registry: alloy_primitives::Address,
    split: alloy_primitives::Address,
) -> cairn_l1::abi::Split {
    use alloy_sol_types::SolEvent;
    use cairn_l1::abi::{IPullSplitFactory::SplitCreated, IStakingRegistry};
    let factory = l1
        .call(
            staking_registry,
            &IStakingRegistry::PULL_SPLIT_FACTORYCall {},
        )
        .expect("the staking registry's split factory");
    l1.logs(factory, SplitCreated::SIGNATURE_HASH, None, 0, None, 50_000)
        .expect("the factory's logs")
        .iter()
        .filter_map(|l| l.decode::<SplitCreated>())
        .find(|e| e.split == split)
        .unwrap_or_else(|| panic!("no SplitCreated for {split}"))
        .splitParams
}
