//! A `cairn start` process for end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{cairn_bin, free_port, run_cairn, Devnet};

/// The admin API key every test node is started with.
pub const ADMIN_KEY: &str = "e2e-admin-key";

/// A `cairn start` process, killed (SIGKILL) when dropped.
pub struct NodeProc {
    /// The process.
    pub child: Child,
    /// JSON-RPC URL.
    pub rpc: String,
    /// Admin URL.
    pub admin: String,
    /// Its log (stderr).
    pub log: PathBuf,
}

impl NodeProc {
    /// Starts a node with the devnet's env; `ks` makes it a sequencer (and the prover).
    pub fn start(
        net: &Devnet,
        data: &Path,
        ks: Option<&Path>,
        l1_url: Option<&str>,
        log: PathBuf,
    ) -> NodeProc {
        Self::start_with(net, data, ks, l1_url, log, true, &[])
    }

    /// Starts a node; `prover` adds the epoch prover to a sequencer; `env` is added last.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        net: &Devnet,
        data: &Path,
        ks: Option<&Path>,
        l1_url: Option<&str>,
        log: PathBuf,
        prover: bool,
        env: &[(&str, String)],
    ) -> NodeProc {
        let port = free_port();
        let admin_port = free_port();
        let mut cmd = Command::new(cairn_bin());
        cmd.args(["start", "--node"])
            .arg("--data-directory")
            .arg(data)
            .args([
                "--port",
                &port.to_string(),
                "--admin-port",
                &admin_port.to_string(),
            ])
            .args(["--poll-ms", "250"])
            .arg("--admin-api-key-hash")
            .arg(hex::encode(Sha256::digest(ADMIN_KEY.as_bytes())))
            .env("LOG_LEVEL", "info,cairn_node=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in net.env() {
            cmd.env(k, v);
        }
        if let Some(ks) = ks {
            cmd.args(["--sequencer"])
                .arg("--key-store-directory")
                .arg(ks);
            if prover {
                let (_, prover_key) = net.account(5);
                cmd.args(["--prover-node", "--prover-private-key", &prover_key]);
            }
        }
        if let Some(u) = l1_url {
            cmd.env("ETHEREUM_HOSTS", u);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        NodeProc {
            child: cmd.spawn().expect("spawn cairn start"),
            rpc: format!("http://127.0.0.1:{port}"),
            admin: format!("http://127.0.0.1:{admin_port}"),
            log,
        }
    }

    /// A JSON-RPC call: the result, or the error object as text.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = ureq::post(&self.rpc)
            .timeout(Duration::from_secs(20))
            .send_json(body)
            .map_err(|e| e.to_string())?
            .into_json()
            .map_err(|e| e.to_string())?;
        match v.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }

    /// An admin API call with the test key: the whole JSON-RPC response (result or error).
    pub fn admin_call(&self, method: &str, params: Value) -> Value {
        ureq::post(&self.admin)
            .set("x-api-key", ADMIN_KEY)
            .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .expect("admin API call")
            .into_json()
            .expect("admin API answer")
    }

    /// Waits for the process to exit by itself (a refused start); panics after `secs`.
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait for cairn start") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "cairn start kept running for {secs} s (log: {})",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// (latest, proven) block numbers.
    pub fn tips(&self) -> Option<(u64, u64)> {
        let t = self.call("node_getL2Tips", json!([])).ok()?;
        Some((
            t["latest"]["number"].as_u64()?,
            t["proven"]["number"].as_u64()?,
        ))
    }

    /// Polls `ok` until it holds; panics after `secs` with the newest lines of the log.
    pub fn wait_for(&self, what: &str, secs: u64, mut ok: impl FnMut(&NodeProc) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "timed out waiting for {what}; node log (newest first):\n{}",
            tail.join("\n")
        );
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs `cairn ARGS` against the devnet in `dir`; panics with its output unless it succeeds;
/// its stdout.
pub fn cli(net: &Devnet, dir: &Path, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = run_cairn(dir, &args, &net.env());
    assert!(
        out.status.success(),
        "cairn {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs Prometheus's own checker (`promtool check metrics`, unpacked by `scripts/setup.sh`) on
/// a `/metrics` text: the exposition format, HELP/TYPE, counter and unit naming.
pub fn promtool_check(text: &str) {
    use std::io::Write;
    let tool = crate::repo_root().join("tools/promtool/promtool");
    assert!(
        tool.exists(),
        "{} is missing: run scripts/setup.sh",
        tool.display()
    );
    let mut child = std::process::Command::new(&tool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Four validators from `mnemonic` (`validator-keys new --staker-output` into `dir/keys`, fee
/// recipient `fee_recipient`), registered on L1 through `add-l1-validator` (the GSE checks each
/// proof of possession); the keys directory.
pub fn register_four_validators(
    net: &Devnet,
    dir: &Path,
    mnemonic: &str,
    fee_recipient: &str,
) -> PathBuf {
    let keys = dir.join("keys");
    cli(
        net,
        dir,
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            fee_recipient,
            "--mnemonic",
            mnemonic,
            "--count",
            "4",
            "--staker-output",
            "--data-dir",
            &keys.to_string_lossy(),
        ],
    );
    let reg = net.register(&keys.join("key1_staker_output.json"));
    let text = String::from_utf8_lossy(&reg.stdout);
    assert_eq!(
        text.matches("VALIDATING").count(),
        4,
        "{text}\n{}",
        String::from_utf8_lossy(&reg.stderr)
    );
    keys
}
