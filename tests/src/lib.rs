//! Helpers for the workspace-level tests: locating (and if needed building) the `cairn` binary,
//! running it in a scratch directory, and paths to the shared test data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `cairn` binary: `$CAIRN_BIN` if set, otherwise built once with the same cargo that runs
/// the tests (a no-op when it is already up to date).
pub fn cairn_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CAIRN_BIN") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "-p",
                "cairn",
                "--bin",
                "cairn",
                "--message-format=json-render-diagnostics",
            ])
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
            .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "cairn")
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

/// A local L1 running the real Aztec contracts (`scripts/devnet-l1.sh`), stopped on drop.
pub struct Devnet {
    dir: tempfile::TempDir,
    /// The manifest the script wrote (`rpcUrl`, `addresses.*`, …).
    pub manifest: serde_json::Value,
}

impl Devnet {
    /// Starts a devnet on a free loopback port. Panics with the fix when the L1 tools are not
    /// installed (`scripts/setup.sh`).
    pub fn start() -> Self {
        let root = repo_root();
        assert!(
            root.join("tools/node_modules/.bin/anvil").exists(),
            "the L1 tools are not installed: run scripts/setup.sh"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let out = Command::new(root.join("scripts/devnet-l1.sh"))
            .args(["--detach", "--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .output()
            .expect("run scripts/devnet-l1.sh");
        assert!(
            out.status.success(),
            "devnet failed to start:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("manifest.json")).expect("manifest"),
        )
        .expect("manifest is JSON");
        Devnet { dir, manifest }
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

    /// Path of the manifest file.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.path().join("manifest.json")
    }

    /// Runs `scripts/devnet-register.sh` on a registration file: approve, deposit, flush.
    pub fn register(&self, registration: &Path) -> Output {
        Command::new(repo_root().join("scripts/devnet-register.sh"))
            .arg(self.manifest_path())
            .arg(registration)
            .output()
            .expect("run scripts/devnet-register.sh")
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/devnet-l1.sh"))
            .arg("--stop")
            .arg("--dir")
            .arg(self.dir.path())
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
