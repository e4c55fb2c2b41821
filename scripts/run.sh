#!/usr/bin/env bash
# The project's run command (README): a local L1 with the real Aztec contracts and validators
# registered with keys that cairn generated.
#
#   scripts/run.sh [--validators N] [--port PORT]
#
# Starts anvil with Aztec's L1 contracts and cairn's StakingRegistry (`cairn devnet l1`),
# generates N validator keys with `cairn validator-keys new --staker-output`, checks the
# registration JSON with `cairn validator-keys verify`, stakes them with
# `cairn add-l1-validator --wait` (approve, deposit, flush) until every validator is VALIDATING,
# then stays in the foreground until Ctrl-C.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

VALIDATORS=4
PORT=8545
while [ $# -gt 0 ]; do
  case "$1" in
    --validators) VALIDATORS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

DIR="$REPO_ROOT/.devnet"
KEYS="$DIR/keys"
scripts/setup.sh
echo "run: building cairn (release)"
cargo build --quiet --release -p cairn
CAIRN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/cairn"

"$CAIRN" devnet l1 --stop --dir "$DIR" >/dev/null 2>&1 || true
"$CAIRN" devnet l1 --detach --port "$PORT" --dir "$DIR"
trap '"$CAIRN" devnet l1 --stop --dir "$DIR" >/dev/null 2>&1 || true' EXIT
export NETWORK=devnet CAIRN_DEVNET_MANIFEST="$DIR/manifest.json"

MANIFEST="$DIR/manifest.json"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$1)" "$MANIFEST"; }
RPC=$(field "['rpcUrl']")
GSE=$(field "['addresses']['gse']")

rm -rf "$KEYS"
"$CAIRN" validator-keys new --count "$VALIDATORS" --fee-recipient "0x$(printf '0%.0s' {1..63})1" \
  --data-dir "$KEYS" --staker-output --gse-address "$GSE" --l1-rpc-urls "$RPC" >"$DIR/new.txt"
"$CAIRN" validator-keys verify "$KEYS/key1_staker_output.json" >/dev/null
"$CAIRN" add-l1-validator --from-keystore "$KEYS/key1.json" --wait

cat <<MSG

cairn devnet is up.
  L1 RPC        $RPC
  manifest      $MANIFEST
  keystore      $KEYS/key1.json  (mnemonic in $DIR/new.txt: devnet only)
  registration  $KEYS/key1_staker_output.json

Try (in another shell):
  export NETWORK=devnet CAIRN_DEVNET_MANIFEST=$MANIFEST
  $CAIRN rollup info
  $CAIRN attester status <attester>
  $CAIRN provider register --take-rate 500 --rewards-recipient <address>

Ctrl-C stops the devnet.
MSG
while true; do sleep 3600; done
