#!/usr/bin/env bash
# The project's test command (README): set the machine up, then check formatting and lints,
# prove the pure runtime crates build for both wasm targets, and run every test (unit, property,
# golden comparisons with Aztec's CLI, devnet tests against the real L1 contracts, benchmarks in
# test mode).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

step() { echo "== [$SECONDS s] $*"; }

step setup
scripts/setup.sh

# cairn's devnet contracts are compiled by solc-js 0.8.30 and the outputs (and the revert
# catalog built from Aztec's artifacts) are committed; they must match their sources.
step "contracts/out is up to date"
node contracts/build.mjs --check

step "cargo fmt --check"
cargo fmt --all -- --check

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
# One selection for every native build (the same as cairn_tests::WORKSPACE_BUILD): cargo unifies
# features per invocation, so a different selection would compile wasmtime and alloy again.
# The page (cairn-dashboard) is built and tested only for wasm, the form it runs in.
NATIVE=(--workspace --exclude cairn-dashboard --all-targets --locked)

step "cargo clippy"
cargo clippy --quiet "${NATIVE[@]}" -- -D warnings
cargo clippy --quiet -p cairn-dashboard --all-targets --target wasm32-unknown-unknown --locked -- -D warnings

# runtime/ must stay free of I/O and OS randomness: it is shared with pipeline components and
# the browser page. These are libraries, so a check proves it as well as a build would.
for target in wasm32-unknown-unknown wasm32-wasip2; do
  step "runtime crates for $target"
  cargo check --quiet -p cairn-crypto -p cairn-keys -p cairn-protocol -p cairn-consensus -p cairn-wire --target "$target" --locked
done

# The stage components: their own workspace, built only for wasm (cairn-stages' build script
# builds them into $TARGET_DIR/stages and embeds them in cairn).
step "modules: fmt and clippy (wasm32-unknown-unknown)"
(cd modules && cargo fmt --all -- --check &&
  cargo clippy --quiet --release --target wasm32-unknown-unknown --target-dir "$TARGET_DIR/stages" --locked -- -D warnings)

# The fuzz targets need nightly to run (cargo +nightly fuzz run --fuzz-dir tests/fuzz TARGET)
# but must keep compiling with the code they exercise.
step "fuzz targets compile"
cargo check --quiet --manifest-path tests/fuzz/Cargo.toml

# The binary the tests run is built once, by this build, with the tests' features (among them
# the node's test-only fault switch).
step "cargo build (tests and the cairn binary)"
cargo build --quiet "${NATIVE[@]}"
export CAIRN_BIN="$TARGET_DIR/debug/cairn"

step "cargo test"
cargo test "${NATIVE[@]}"

# The staking page: built offline by trunk with the pinned tools, then driven in headless
# Chromium against the CLI's outputs (byte for byte, no network after load, bad inputs).
step "dashboard: its logic compiled to wasm (wasm-bindgen-test under node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p cairn-dashboard --target wasm32-unknown-unknown --test wasm --locked

step "dashboard: trunk build"
(cd dashboard && trunk build --release --offline --quiet)
step "dashboard: end-to-end in Chromium"
CAIRN="$CAIRN_BIN" DIST=dashboard/dist node dashboard/e2e/e2e.mjs
