#!/usr/bin/env bash
# The project's run command (README): the whole devnet in one command.
#
#   scripts/run.sh [cairn devnet up flags: --validators N --port PORT --rpc-port P --bot-rate R …]
#
# Installs what is missing (scripts/setup.sh), builds cairn (release), then runs
# `cairn devnet up`: anvil with Aztec's L1 contracts and cairn's StakingRegistry, N validators
# generated with `cairn validator-keys new` and registered through `add-l1-validator` and the
# entry queue (the GSE checks every proof of possession), one `cairn start` node holding them
# (proposing, attesting, publishing to the Rollup; epoch proofs to the mock verifier), and
# `cairn bot` sending txs. Prints the node's RPC URL and what to try; Ctrl-C stops everything.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
case "${1:-}" in
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
scripts/setup.sh
echo "run: building cairn (release)"
cargo build --quiet --release -p cairn
CAIRN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/cairn"
# The staking page the devnet serves (built once; scripts/test.sh builds it too).
# trunk builds offline, so the page's crates are fetched first. The devnet works without the page.
if [ ! -f dashboard/dist/index.html ]; then
  echo "run: building the staking page (trunk)"
  cargo fetch --quiet
  (cd dashboard && trunk build --release --offline --quiet) ||
    echo "run: the staking page did not build; the devnet runs without it" >&2
fi
export CAIRN_TOOLS_DIR="$REPO_ROOT/tools/node_modules"
exec "$CAIRN" devnet up --dir "$REPO_ROOT/.devnet" "$@"
