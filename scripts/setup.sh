#!/usr/bin/env bash
# Bring this machine up to what the project needs. Idempotent: each step checks first and
# prints one line only when it actually does something; a machine already set up gets no output.
#
# Steps (one function each; add new ones to STEPS below):
#   rust_targets  rustup targets wasm32-unknown-unknown and wasm32-wasip2
#   l1_tools      npm ci in tools/ (anvil, forge, cast, Aztec L1 artifacts, solc-js), re-run only
#                 when tools/package-lock.json changed since the last successful install
#   web_tools     trunk 0.21.14 and wasm-bindgen-cli equal to the wasm-bindgen in Cargo.lock
#                 (cargo install into ~/.cargo/bin), for building dashboard/
#   browser       Debian's chromium for the page's end-to-end test (apt-get)
#   e2e_npm       npm ci in dashboard/e2e (playwright-core, driving the system chromium)
#   postgres      Debian's PostgreSQL 15 server binaries for the HA signing tests (apt-get); the
#                 tests run their own throwaway clusters, the package's own cluster is not used
#   promtool      Prometheus's metrics checker from Debian's prometheus package, pinned; only the
#                 promtool binary is unpacked into tools/promtool/ (no daemon is installed)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT" # so that a rust-toolchain file in the repo selects the toolchain rustup uses

say() { echo "setup: $*"; }
die() {
  echo "setup: error: $*" >&2
  exit 1
}

RUST_TARGETS=(wasm32-unknown-unknown wasm32-wasip2)

rust_targets() {
  command -v rustup >/dev/null || die "rustup not found; install Rust with rustup first"
  local installed target
  installed=$(rustup target list --installed)
  for target in "${RUST_TARGETS[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
      say "adding rust target $target"
      rustup target add "$target" >/dev/null 2>&1 || {
        rustup target add "$target" # again, with its output, to show why it failed
        die "could not add rust target $target"
      }
    fi
  done
}

TOOLS_DIR="$REPO_ROOT/tools"
# The stamp lives inside node_modules, so npm ci (which deletes node_modules) also clears it,
# and a half-finished install never leaves a stamp behind.
TOOLS_STAMP="$TOOLS_DIR/node_modules/.cairn-lock.sha256"

l1_tools() {
  command -v npm >/dev/null || die "npm not found; install Node.js 20 or newer"
  local want have log
  want=$(sha256sum "$TOOLS_DIR/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$TOOLS_STAMP" 2>/dev/null || true)
  [ "$want" != "$have" ] || return 0
  say "installing L1 tools: npm ci in tools/ (package-lock.json changed or never installed)"
  log=$(mktemp)
  if ! (cd "$TOOLS_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "npm ci in tools/ failed"
  fi
  rm -f "$log"
  echo "$want" >"$TOOLS_STAMP"
}

# Versions the dashboard build needs. wasm-bindgen-cli must equal the wasm-bindgen crate in
# Cargo.lock, or the generated JS and wasm disagree; trunk 0.22 needs a newer rustc.
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$REPO_ROOT/Cargo.lock")

# Release builds of these tools would use their own profiles (trunk: fat LTO, one codegen unit),
# which on 2 cores costs more than the rest of a cold CI build. Their speed does not matter to
# us, so they are built with a cheap profile instead.
cheap_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_PANIC=unwind cargo install --quiet "$@"
}

web_tools() {
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (cargo install, several minutes)"
    cheap_install trunk --version "$TRUNK_VERSION" --locked || die "cargo install trunk failed"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cargo install, several minutes)"
    # Not --locked: its lock file names a crate version the registry no longer serves.
    cheap_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
      die "cargo install wasm-bindgen-cli failed"
  fi
}

browser() {
  command -v chromium >/dev/null && return 0
  command -v apt-get >/dev/null || die "chromium is missing and apt-get is not available; install Chromium"
  say "installing chromium (apt-get)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq chromium >/dev/null ||
    die "apt-get install chromium failed"
}

E2E_DIR="$REPO_ROOT/dashboard/e2e"
E2E_STAMP="$E2E_DIR/node_modules/.cairn-lock.sha256"

e2e_npm() {
  local want have
  want=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$E2E_STAMP" 2>/dev/null || true)
  [ "$want" != "$have" ] || return 0
  say "installing the page's end-to-end test tools: npm ci in dashboard/e2e"
  (cd "$E2E_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in dashboard/e2e failed"
  echo "$want" >"$E2E_STAMP"
}

POSTGRES_MAJOR=15

postgres() {
  [ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/initdb" ] && id postgres >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null || die "PostgreSQL $POSTGRES_MAJOR is missing and apt-get is not available; install postgresql-$POSTGRES_MAJOR"
  say "installing postgresql-$POSTGRES_MAJOR (apt-get)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "postgresql-$POSTGRES_MAJOR" >/dev/null ||
    die "apt-get install postgresql-$POSTGRES_MAJOR failed"
}

PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"
PROMTOOL="$REPO_ROOT/tools/promtool/promtool"

promtool() {
  "$PROMTOOL" --version 2>&1 | grep -qF "${PROMETHEUS_DEB_VERSION%%+*}" && return 0
  command -v apt-get >/dev/null || die "promtool is missing and apt-get is not available; put promtool ${PROMETHEUS_DEB_VERSION%%+*} at $PROMTOOL"
  say "unpacking promtool from Debian's prometheus $PROMETHEUS_DEB_VERSION (apt-get download)"
  local tmp sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  tmp=$(mktemp -d)
  chmod 777 "$tmp" # apt's sandbox user writes the download
  if ! (cd "$tmp" && apt-get download -qq "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>&1); then
    $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
    (cd "$tmp" && apt-get download -qq "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>&1) ||
      die "apt-get download prometheus=$PROMETHEUS_DEB_VERSION failed"
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x" || die "cannot unpack the prometheus package"
  mkdir -p "$(dirname "$PROMTOOL")"
  install -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$tmp"
}

STEPS=(rust_targets l1_tools web_tools browser e2e_npm postgres promtool)

for step in "${STEPS[@]}"; do
  "$step"
done
