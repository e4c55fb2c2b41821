//! Builds the stage crates of `modules/` for wasm32-unknown-unknown (their own workspace, release
//! profile) and copies the core modules into OUT_DIR for `include_bytes!`.
//!
//! The nested cargo uses its own target directory (`<target>/stages`): the outer cargo holds
//! the lock on its own, so sharing it would deadlock. The tests build the hostile and v1.1.0
//! variants into the same directory and reuse what this script compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

const STAGES: [&str; 4] = [
    "tx-validation",
    "proof-verification",
    "public-execution",
    "attestation",
];

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .and_then(Path::parent)
        .expect("host/stages sits two levels below the repository root")
        .to_path_buf();
    for dir in ["modules", "runtime", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"))
        .join("stages");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root.join("modules"))
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .arg("--target-dir")
        .arg(&target_dir);
    for s in STAGES {
        cmd.args(["-p", &format!("cairn-stage-{s}")]);
    }
    // What the outer build sets for its own crates must not leak into the wasm build: clippy's
    // wrapper, host rustflags (say, -C target-cpu=native), and the outer package's variables.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("CARGO_FEATURE_")
            || k.starts_with("CARGO_CFG_")
            || k.starts_with("CARGO_PKG_")
            || matches!(
                k.as_str(),
                "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTFLAGS"
                    | "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_BUILD_TARGET"
                    | "CARGO_TARGET_DIR"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
            )
        {
            cmd.env_remove(&k);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run cargo to build the stage components in modules/: {e}")
    });
    if !status.success() {
        panic!(
            "building the stage components (modules/, wasm32-unknown-unknown) failed. If the \
             target is missing: rustup target add wasm32-unknown-unknown (scripts/setup.sh does \
             it)."
        );
    }
    let out = PathBuf::from(env("OUT_DIR"));
    let built = target_dir.join("wasm32-unknown-unknown/release");
    for s in STAGES {
        let file = format!("cairn_stage_{}.wasm", s.replace('-', "_"));
        std::fs::copy(built.join(&file), out.join(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", built.join(&file).display()));
    }
}

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("cargo sets {k} for build scripts"))
}
