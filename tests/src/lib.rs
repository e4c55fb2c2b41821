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
            .last()
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
