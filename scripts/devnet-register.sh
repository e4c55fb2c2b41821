#!/usr/bin/env bash
# Compatibility wrapper over `cairn add-l1-validator`: deposit every tuple of a registration
# file on a devnet and follow the entry queue.
#
# Usage: scripts/devnet-register.sh MANIFEST REGISTRATION_JSON [--withdrawer ADDR]
#
# stdout: one "ADDRESS STATUS" line per attester (VALIDATING, or FAILED_DEPOSIT: reason).
# Exit status 0 only if every attester ends VALIDATING. Tuples that fail cairn's local checks
# are sent anyway (--force): this script exists to test what the real contracts do with them.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
MANIFEST=$1
REG=$2
shift 2
if [ -z "${CAIRN:-}" ]; then
  cargo build --quiet -p cairn --manifest-path "$REPO_ROOT/Cargo.toml"
  CAIRN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/cairn"
fi
exec "$CAIRN" add-l1-validator --network devnet --devnet-manifest "$MANIFEST" \
  --registration "$REG" --wait --force "$@"
