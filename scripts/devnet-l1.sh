#!/usr/bin/env bash
# Compatibility wrapper: the devnet is `cairn devnet l1` (host/devnet). This builds cairn if
# needed and passes every argument on, e.g.
#   scripts/devnet-l1.sh [--port N] [--dir DIR] [--detach]
#   scripts/devnet-l1.sh --stop [--dir DIR]
# The default DIR here stays <repo>/.devnet, as before.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${CAIRN:-}" ]; then
  cargo build --quiet -p cairn --manifest-path "$REPO_ROOT/Cargo.toml"
  CAIRN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/cairn"
fi
case " $* " in
  *" --dir "* | *" --dir="*) exec "$CAIRN" devnet l1 "$@" ;;
  *) exec "$CAIRN" devnet l1 --dir "$REPO_ROOT/.devnet" "$@" ;;
esac
