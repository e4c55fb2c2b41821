#!/usr/bin/env bash
# Regenerate tests/golden/data/ from the REAL reference tool, @aztec/cli@4.1.2.
#
# Usage:
#   tests/golden/regen.sh [--no-chain | --chain-only] [--only NAME[,NAME...]]...
#                         [--rpc URL --gse ADDR] [--port N] [--devnet-dir DIR]
#                         [--cross CAIRN_BIN] [--jobs N] [--list]
#
#   --no-chain        skip the cases that need an L1 (staker, --staker-output, cross)
#   --chain-only      run only the cases that need an L1
#   --only NAMES      run only these cases (comma-separated, repeatable; see cases.json)
#   --rpc/--gse       use an already running L1 with the Aztec contracts instead of starting one
#   --port N          port for the devnet this script starts (default 8646)
#   --devnet-dir DIR  state dir for that devnet (default /tmp/golden-devnet)
#   --cross BIN       also run the "cross" cases: BIN (cairn) writes keystores with fixed
#                     inputs and the reference reads them (and vice versa); recorded under
#                     data/cross/<name>/
#   --jobs N          cases run in parallel (default 2)
#   --list            print the selected cases and exit
#
# Steps: install the pinned reference into tests/golden/reference/node_modules if it is not
# there (npm ci --ignore-scripts, ~1 GB), run every case that needs no chain, then (unless
# --no-chain) start scripts/devnet-l1.sh --detach, run the chain cases against its GSE, and stop
# it again. Chain cases need the L1 tools from scripts/setup.sh (tools/node_modules).
# Recorded outputs replace the temp dir by {DIR}, the devnet's GSE address by {GSE} and its RPC
# URL by {RPC}. See tests/golden/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
REF="$HERE/reference"
REF_VERSION=4.1.2
PORT=8646
DEVNET_DIR=/tmp/golden-devnet
CHAIN=all
RPC=
GSE=
CROSS=
JOBS=2
LIST=0
ONLY=()

die() {
  echo "regen: error: $*" >&2
  exit 1
}
usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --no-chain) CHAIN=none; shift ;;
    --chain-only) CHAIN=only; shift ;;
    --only) [ $# -ge 2 ] || die "--only needs a value"; ONLY+=(--only "$2"); shift 2 ;;
    --rpc) [ $# -ge 2 ] || die "--rpc needs a value"; RPC=$2; shift 2 ;;
    --gse) [ $# -ge 2 ] || die "--gse needs a value"; GSE=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --devnet-dir) [ $# -ge 2 ] || die "--devnet-dir needs a value"; DEVNET_DIR=$2; shift 2 ;;
    --cross) [ $# -ge 2 ] || die "--cross needs a value"; CROSS=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; JOBS=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
{ [ -z "$RPC" ] && [ -z "$GSE" ]; } || { [ -n "$RPC" ] && [ -n "$GSE" ]; } || die "--rpc and --gse go together"
if [ -n "$CROSS" ]; then
  [ -x "$CROSS" ] || die "--cross: $CROSS is not an executable file"
  CROSS=$(cd "$(dirname "$CROSS")" && pwd)/$(basename "$CROSS")
  [ "$CHAIN" != none ] || die "--cross needs the chain (the reference staker asks the GSE); drop --no-chain"
fi

command -v node >/dev/null || die "node is not on PATH"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)' ||
  die "node $(node --version) is too old; @aztec/cli@$REF_VERSION needs >= 20.10"

RUNNER=(node "$HERE/run-cases.mjs" --cases "$HERE/cases.json" --out "$HERE/data" --aztec "$REF/aztec.mjs" --jobs "$JOBS")
[ -z "$CROSS" ] || RUNNER+=(--cross "$CROSS")

if [ "$LIST" = 1 ]; then
  case "$CHAIN" in
    none) exec "${RUNNER[@]}" --no-chain "${ONLY[@]}" --list ;;
    only) exec "${RUNNER[@]}" --chain-only "${ONLY[@]}" --list ;;
    *) "${RUNNER[@]}" --no-chain "${ONLY[@]}" --list; exec "${RUNNER[@]}" --chain-only "${ONLY[@]}" --list ;;
  esac
fi

# --- reference install ------------------------------------------------------------------------
have=$(node -p "require('$REF/node_modules/@aztec/cli/package.json').version" 2>/dev/null || true)
if [ "$have" != "$REF_VERSION" ]; then
  command -v npm >/dev/null || die "npm is not on PATH"
  echo "regen: installing @aztec/cli@$REF_VERSION into $REF/node_modules (npm ci --ignore-scripts)..."
  # --ignore-scripts: several transitive deps (lmdb, leveldown, bcrypto, msgpackr-extract,
  # @parcel/watcher, protobufjs) have install scripts that build or fetch native code; none of
  # it is used by the validator-keys commands.
  (cd "$REF" && npm ci --ignore-scripts --no-audit --no-fund)
fi
node -e "import('$REF/node_modules/@aztec/cli/dest/cmds/validator_keys/index.js').then(m => { if (typeof m.injectCommands !== 'function') process.exit(1) })" ||
  die "the installed reference does not export injectCommands from @aztec/cli/validator_keys"

mkdir -p "$HERE/data"
cli_version=$(node -p "require('$REF/node_modules/@aztec/cli/package.json').version")
commander_version=$(node -p "require('$REF/node_modules/commander/package.json').version")
printf '{\n  "reference": "@aztec/cli@%s",\n  "commander": "%s",\n  "node": "%s"\n}\n' \
  "$cli_version" "$commander_version" "$(node --version)" >"$HERE/data/meta.json"

# --- cases without a chain --------------------------------------------------------------------
if [ "$CHAIN" != only ]; then
  echo "regen: running cases that need no chain..."
  "${RUNNER[@]}" --no-chain "${ONLY[@]}"
fi
[ "$CHAIN" != none ] || exit 0

# --- cases with a chain -----------------------------------------------------------------------
if [ -z "$("${RUNNER[@]}" --chain-only "${ONLY[@]}" --list)" ]; then
  echo "regen: no chain case selected"
  exit 0
fi

STARTED_DEVNET=0
stop_devnet() {
  if [ "$STARTED_DEVNET" = 1 ]; then
    "$REPO_ROOT/scripts/devnet-l1.sh" --stop --dir "$DEVNET_DIR" || true
    STARTED_DEVNET=0
  fi
}
trap stop_devnet EXIT

if [ -z "$RPC" ]; then
  [ -x "$REPO_ROOT/scripts/devnet-l1.sh" ] || die "scripts/devnet-l1.sh not found; pass --rpc/--gse or --no-chain"
  echo "regen: starting devnet on port $PORT (state in $DEVNET_DIR)..."
  STARTED_DEVNET=1
  "$REPO_ROOT/scripts/devnet-l1.sh" --detach --port "$PORT" --dir "$DEVNET_DIR"
  manifest="$DEVNET_DIR/manifest.json"
  [ -f "$manifest" ] || die "devnet started but wrote no $manifest"
  RPC=$(node -p "JSON.parse(require('fs').readFileSync('$manifest','utf8')).rpcUrl")
  GSE=$(node -p "JSON.parse(require('fs').readFileSync('$manifest','utf8')).addresses.gse")
fi
echo "regen: chain cases against GSE $GSE on $RPC"
"${RUNNER[@]}" --chain-only "${ONLY[@]}" --rpc "$RPC" --gse "$GSE"
