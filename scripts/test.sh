#!/usr/bin/env bash
# The project's test command (README): set the machine up, then check formatting and lints,
# prove the pure runtime crates build for both wasm targets, and run every test (unit, property,
# golden comparisons with Aztec's CLI, devnet tests against the real L1 contracts, benchmarks in
# test mode).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

step() { echo "== $*"; }

step setup
scripts/setup.sh

# cairn's devnet contracts are compiled by solc-js 0.8.30 and the outputs (and the revert
# catalog built from Aztec's artifacts) are committed; they must match their sources.
step "contracts/out is up to date"
node contracts/build.mjs --check

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# runtime/ must stay free of I/O and OS randomness: it is shared with pipeline components and
# the browser page.
for target in wasm32-unknown-unknown wasm32-wasip2; do
  step "runtime crates for $target"
  cargo build --quiet -p cairn-crypto -p cairn-keys -p cairn-protocol -p cairn-consensus --target "$target"
done

# The stage components: their own workspace, built only for wasm (the tests build and load them).
step "modules: fmt and clippy (wasm32-unknown-unknown)"
(cd modules && cargo fmt --all -- --check && cargo clippy --quiet --release --target wasm32-unknown-unknown -- -D warnings)

# The fuzz targets need nightly to run (cargo +nightly fuzz run --fuzz-dir tests/fuzz TARGET)
# but must keep compiling with the code they exercise.
step "fuzz targets compile"
cargo check --quiet --manifest-path tests/fuzz/Cargo.toml

step "cargo test"
cargo test --workspace --all-targets

# The staking page: built offline by trunk with the pinned tools, then driven in headless
# Chromium against the CLI's outputs (byte for byte, no network after load, bad inputs).
step "dashboard: its logic compiled to wasm (wasm-bindgen-test under node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p cairn-dashboard --target wasm32-unknown-unknown --test wasm

step "dashboard: trunk build"
(cd dashboard && trunk build --release --offline --quiet)
step "dashboard: end-to-end in Chromium"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
CAIRN="$TARGET_DIR/debug/cairn" DIST=dashboard/dist node dashboard/e2e/e2e.mjs
