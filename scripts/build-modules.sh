#!/usr/bin/env bash
# Builds the four pipeline stage components into DIR (default: <target>/components):
#   tx-validation.wasm proof-verification.wasm public-execution.wasm attestation.wasm
# plus public-execution-v1.1.0.wasm (the same stage claiming version 1.1.0, for hot-swap demos).
#
# The crates in modules/ are compiled for wasm32-unknown-unknown and wrapped as components by
# `cairn module componentize`: the result imports only cairn:pipeline's host interfaces, no WASI.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
OUT=${1:-$TARGET_DIR/components}
# The directory cairn-stages' build script builds the stages in, so nothing compiles twice.
MODULES_TARGET=$TARGET_DIR/stages
WASM_DIR=$MODULES_TARGET/wasm32-unknown-unknown/release

# The release binary, as scripts/run.sh builds it (a debug `-p cairn` build would compile the
# dependencies again with other features than the tests' build).
cargo build --quiet --release -p cairn --manifest-path "$REPO_ROOT/Cargo.toml"
CAIRN=$TARGET_DIR/release/cairn
mkdir -p "$OUT"
(cd "$REPO_ROOT/modules" && cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$MODULES_TARGET" \
  -p cairn-stage-tx-validation -p cairn-stage-proof-verification -p cairn-stage-public-execution -p cairn-stage-attestation)
for s in tx-validation proof-verification public-execution attestation; do
  "$CAIRN" module componentize "$WASM_DIR/cairn_stage_${s//-/_}.wasm" "$OUT/$s.wasm" >/dev/null
done
(cd "$REPO_ROOT/modules" && cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$MODULES_TARGET" -p cairn-stage-public-execution --features v2)
"$CAIRN" module componentize "$WASM_DIR/cairn_stage_public_execution.wasm" "$OUT/public-execution-v1.1.0.wasm" >/dev/null
echo "components in $OUT:"
ls -l "$OUT"/*.wasm | awk '{print "  " $NF " (" $5 " bytes)"}'
