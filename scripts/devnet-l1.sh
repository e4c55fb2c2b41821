#!/usr/bin/env bash
# Start a local L1 (anvil, chain id 31337) with the real Aztec L1 contracts deployed by
# Aztec's own Foundry script, and write DIR/manifest.json describing it.
#
# Usage:
#   scripts/devnet-l1.sh [--port N] [--dir DIR] [--detach]
#   scripts/devnet-l1.sh --stop [--dir DIR]
#
#   --port N   anvil port on 127.0.0.1 (default 8545)
#   --dir DIR  state dir (default <repo>/.devnet): anvil.pid, manifest.json, logs, scratch copy
#   --detach   leave anvil running in the background and exit once the manifest is written
#   --stop     stop the anvil recorded in DIR/anvil.pid
#
# Without --detach the script stays in the foreground until Ctrl-C, then stops anvil.
# Every AZTEC_* deployment setting has a devnet default (listed in this script) that the
# environment overrides. Tools come from tools/node_modules (run scripts/setup.sh first).
set -euo pipefail
START_NS=$(date +%s%N) # startup time is measured from here to the manifest being written

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR="$REPO_ROOT/tools/node_modules"
ANVIL="$TOOLS_DIR/.bin/anvil"
FORGE="$TOOLS_DIR/.bin/forge"
CAST="$TOOLS_DIR/.bin/cast"
SOLCJS="$TOOLS_DIR/solc/solc.js"
L1_CONTRACTS="$TOOLS_DIR/@aztec/l1-artifacts/l1-contracts"

# anvil's first well-known dev account ("test test ... junk", index 0).
DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
DEPLOYER_ADDRESS=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
CHAIN_ID=31337
# The compiler version Aztec built the artifacts with; forge wants to see it even though
# nothing is recompiled (the package ships a valid out/ and cache/).
SOLC_VERSION_LINE="Version: 0.8.30+commit.73712a01.Linux.g++"

PORT=8545
STATE_DIR="$REPO_ROOT/.devnet"
DETACH=0
STOP=0

die() {
  echo "devnet-l1: error: $*" >&2
  exit 1
}

usage() {
  # The header comment, up to the first line of code.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    --dir) [ $# -ge 2 ] || die "--dir needs a value"; STATE_DIR=$2; shift 2 ;;
    --dir=*) STATE_DIR=${1#*=}; shift ;;
    --detach) DETACH=1; shift ;;
    --stop) STOP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
  die "invalid port: $PORT"
fi
if [ "$STOP" = 1 ] && [ ! -d "$STATE_DIR" ]; then
  echo "devnet-l1: no devnet running (no $STATE_DIR)"
  exit 0
fi
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)
PID_FILE="$STATE_DIR/anvil.pid"
MANIFEST="$STATE_DIR/manifest.json"
RPC_URL="http://127.0.0.1:$PORT"

# True if PID is alive and is an anvil process (guards against a recycled pid).
is_anvil_pid() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'anvil'
}

stop_anvil_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "$STOP" = 1 ]; then
  if [ ! -f "$PID_FILE" ]; then
    echo "devnet-l1: no devnet running (no $PID_FILE)"
    exit 0
  fi
  pid=$(cat "$PID_FILE")
  # Remove the files first: a manifest without a running node would only mislead its readers,
  # and a foreground devnet-l1.sh seeing its pid file gone knows the stop was intended.
  rm -f "$PID_FILE" "$MANIFEST"
  if is_anvil_pid "$pid"; then
    stop_anvil_pid "$pid"
    echo "devnet-l1: stopped anvil (pid $pid)"
  else
    echo "devnet-l1: anvil pid $pid was not running; cleaned up $STATE_DIR"
  fi
  exit 0
fi

# --- preflight ------------------------------------------------------------------------------
for f in "$ANVIL" "$FORGE" "$CAST" "$SOLCJS" "$L1_CONTRACTS/script/deploy/DeployAztecL1Contracts.s.sol"; do
  [ -e "$f" ] || die "missing $f
  The pinned L1 tools are not installed. Run: scripts/setup.sh"
done
command -v node >/dev/null || die "node is not on PATH (needed by the solc stand-in)"
command -v python3 >/dev/null || die "python3 is not on PATH (needed to write the manifest)"

if [ -f "$PID_FILE" ] && is_anvil_pid "$(cat "$PID_FILE")"; then
  die "a devnet is already running from $STATE_DIR (pid $(cat "$PID_FILE")).
  Stop it first: scripts/devnet-l1.sh --stop --dir $STATE_DIR"
fi
# Something already accepting connections on the port (anvil or anything else)?
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "port $PORT on 127.0.0.1 is already in use. Pick another with --port N, or stop what holds it
  (a devnet started by this script stops with: scripts/devnet-l1.sh --stop --dir DIR)"
fi

# --- devnet deployment settings (all overridable from the environment) ----------------------
# Small slots/epochs so that epochs (and the validator-set lag) pass quickly; a committee of 4.
# Entry queue: no bootstrap phase, so flushEntryQueue activates up to
# max(active/QUOTIENT, FLUSH_SIZE_MIN) (capped by MAX_FLUSH_SIZE) validators per epoch at once.
: "${AZTEC_SLOT_DURATION:=12}"
: "${AZTEC_EPOCH_DURATION:=8}"
: "${AZTEC_TARGET_COMMITTEE_SIZE:=4}"
: "${AZTEC_LAG_IN_EPOCHS_FOR_VALIDATOR_SET:=2}"
: "${AZTEC_LAG_IN_EPOCHS_FOR_RANDAO:=1}"
: "${AZTEC_INBOX_LAG:=1}"
: "${AZTEC_PROOF_SUBMISSION_EPOCHS:=1}"
: "${AZTEC_EXIT_DELAY_SECONDS:=120}"
: "${AZTEC_MANA_TARGET:=100000000}"
: "${AZTEC_PROVING_COST_PER_MANA:=100}"
: "${AZTEC_INITIAL_ETH_PER_FEE_ASSET:=10000000}"
: "${AZTEC_LOCAL_EJECTION_THRESHOLD:=98000000000000000000}"
: "${AZTEC_SLASHER_FLAVOR:=tally}"
: "${AZTEC_SLASHING_ROUND_SIZE_IN_EPOCHS:=4}"
: "${AZTEC_SLASHING_LIFETIME_IN_ROUNDS:=5}"
: "${AZTEC_SLASHING_EXECUTION_DELAY_IN_ROUNDS:=0}"
: "${AZTEC_SLASHING_OFFSET_IN_ROUNDS:=2}"
: "${AZTEC_SLASHING_VETOER:=0x0000000000000000000000000000000000000000}"
: "${AZTEC_SLASHING_DISABLE_DURATION:=432000}"
: "${AZTEC_SLASH_AMOUNT_SMALL:=10000000000000000000}"
: "${AZTEC_SLASH_AMOUNT_MEDIUM:=20000000000000000000}"
: "${AZTEC_SLASH_AMOUNT_LARGE:=50000000000000000000}"
: "${AZTEC_ACTIVATION_THRESHOLD:=100000000000000000000}"
: "${AZTEC_EJECTION_THRESHOLD:=50000000000000000000}"
: "${AZTEC_ENTRY_QUEUE_BOOTSTRAP_VALIDATOR_SET_SIZE:=0}"
: "${AZTEC_ENTRY_QUEUE_BOOTSTRAP_FLUSH_SIZE:=0}"
: "${AZTEC_ENTRY_QUEUE_FLUSH_SIZE_MIN:=48}"
: "${AZTEC_ENTRY_QUEUE_FLUSH_SIZE_QUOTIENT:=2}"
: "${AZTEC_ENTRY_QUEUE_MAX_FLUSH_SIZE:=48}"
: "${DEPLOYER:=$DEPLOYER_ADDRESS}" # read only by DeployAlpha, set for completeness
export "${!AZTEC_@}" DEPLOYER

# --- state dir --------------------------------------------------------------------------------
# Remove only what this script creates: DIR may be a user-chosen folder.
rm -rf "$STATE_DIR/l1-contracts"
rm -f "$MANIFEST" "$PID_FILE" "$STATE_DIR/anvil.log" "$STATE_DIR/forge.log" "$STATE_DIR/solc"

# forge insists on a solc 0.8.30 binary; this stand-in answers --version like the native one
# and hands anything else to solc-js 0.8.30 (minus flags solc-js does not know).
cat >"$STATE_DIR/solc" <<EOF
#!/usr/bin/env bash
# Generated by scripts/devnet-l1.sh: solc 0.8.30 stand-in for FOUNDRY_SOLC.
for a in "\$@"; do
  if [ "\$a" = --version ]; then
    echo "solc, the solidity compiler commandline interface"
    echo "$SOLC_VERSION_LINE"
    exit 0
  fi
done
args=()
while [ \$# -gt 0 ]; do
  case "\$1" in
    --allow-paths) shift 2 ;;
    --allow-paths=*) shift ;;
    *) args+=("\$1"); shift ;;
  esac
done
# solc-js prints a ">>> Cannot retry compilation with SMT ..." notice on stdout, which would
# corrupt --standard-json output.
set -o pipefail
node "$SOLCJS" "\${args[@]}" | sed '/^>>> /d'
EOF
chmod +x "$STATE_DIR/solc"

# forge trusts its compile cache only when the source file times match: copy with cp -a.
cp -a "$L1_CONTRACTS" "$STATE_DIR/l1-contracts"

# --- anvil ------------------------------------------------------------------------------------
ANVIL_PID=
DONE=0
# shellcheck disable=SC2317 # invoked through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$DONE" = 1 ] && [ "$DETACH" = 1 ]; then
    exit "$rc"
  fi
  if [ -n "$ANVIL_PID" ] && kill -0 "$ANVIL_PID" 2>/dev/null; then
    stop_anvil_pid "$ANVIL_PID"
    echo "devnet-l1: stopped anvil (pid $ANVIL_PID)" >&2
  fi
  rm -f "$PID_FILE" "$MANIFEST" "$MANIFEST.tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# setsid: own session, so a detached anvil outlives this shell and its terminal.
setsid "$ANVIL" --host 127.0.0.1 --port "$PORT" --chain-id "$CHAIN_ID" \
  </dev/null >"$STATE_DIR/anvil.log" 2>&1 &
ANVIL_PID=$!
echo "$ANVIL_PID" >"$PID_FILE"

ready=0
for _ in $(seq 1 100); do
  if ! kill -0 "$ANVIL_PID" 2>/dev/null; then
    tail -n 20 "$STATE_DIR/anvil.log" >&2 || true
    die "anvil exited during startup (log: $STATE_DIR/anvil.log)"
  fi
  if "$CAST" chain-id --rpc-url "$RPC_URL" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
[ "$ready" = 1 ] || die "anvil did not answer on $RPC_URL within 10 s (log: $STATE_DIR/anvil.log)"

# --- deploy -----------------------------------------------------------------------------------
echo "devnet-l1: anvil up on $RPC_URL (pid $ANVIL_PID); deploying Aztec L1 contracts..."
# --slow: one transaction at a time. Sent all at once, the ~22 deployment transactions overflow
# anvil's 30M block gas limit, and under automine the leftover transaction stays pending until
# some later transaction triggers a block, so forge would wait for its receipt forever.
if ! (cd "$STATE_DIR/l1-contracts" &&
  FOUNDRY_SOLC="$STATE_DIR/solc" timeout "${DEPLOY_TIMEOUT:-300}" \
    "$FORGE" script script/deploy/DeployAztecL1Contracts.s.sol \
    --sig 'run()' --private-key "$DEPLOYER_PRIVATE_KEY" --rpc-url "$RPC_URL" \
    --broadcast --slow --offline) >"$STATE_DIR/forge.log" 2>&1; then
  echo "---- last lines of forge output ($STATE_DIR/forge.log) ----" >&2
  tail -n 40 "$STATE_DIR/forge.log" >&2
  die "deployment failed (forge output above, full log in $STATE_DIR/forge.log); check any AZTEC_* overrides in your environment"
fi

# --- manifest ---------------------------------------------------------------------------------
# The deploy result is one console.log line: "JSON DEPLOY RESULT: {...}". Its "<name>Address"
# keys become addresses.<name>.
python3 - "$STATE_DIR/forge.log" "$MANIFEST.tmp" "$PORT" "$DEPLOYER_PRIVATE_KEY" "$DEPLOYER_ADDRESS" <<'PY' || {
import json, os, sys

log, out, port, key, deployer = sys.argv[1:6]
marker = "JSON DEPLOY RESULT:"
result = None
with open(log) as f:
    for line in f:
        if marker in line:
            result = json.loads(line.split(marker, 1)[1].strip())
if result is None:
    sys.exit("no '%s' line in forge output" % marker)

addresses = {}
for k, v in result.items():
    if k.endswith("Address"):
        addresses[k[: -len("Address")]] = v
# The AZTEC_* settings in force. Numbers that fit a double exactly stay numbers; larger ones
# (token amounts in wei) stay decimal strings so that no JSON reader rounds them.
config = {}
for k in sorted(os.environ):
    if k.startswith("AZTEC_"):
        v = os.environ[k]
        config[k] = int(v) if v.isdigit() and int(v) < 2**53 else v
manifest = {
    "chainId": 31337,
    "rpcUrl": "http://127.0.0.1:%s" % port,
    "deployerPrivateKey": key,
    "deployerAddress": deployer,
    "addresses": addresses,
    "rollupVersion": result["rollupVersion"],
    "config": config,
}
with open(out, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
  tail -n 20 "$STATE_DIR/forge.log" >&2
  die "could not build the manifest from forge's output ($STATE_DIR/forge.log)"
}

# GSE keeps its Bn254LibWrapper (the PoP checker) in an internal immutable with no getter. GSE
# creates it in its constructor, as its first CREATE, so it lives at create-address(GSE, nonce 1).
gse=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addresses"]["gse"])' "$MANIFEST.tmp")
rollup=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addresses"]["rollup"])' "$MANIFEST.tmp")
wrapper_addr=$("$CAST" compute-address "$gse" --nonce 1 | awk '{print $NF}')
[ "$("$CAST" code "$wrapper_addr" --rpc-url "$RPC_URL")" != 0x ] ||
  die "expected GSE's Bn254LibWrapper at $wrapper_addr but found no code there"
genesis_time=$("$CAST" call "$rollup" 'getGenesisTime()(uint256)' --rpc-url "$RPC_URL")
python3 - "$MANIFEST.tmp" "$wrapper_addr" "$genesis_time" <<'PY'
import json, sys

path, wrapper, genesis = sys.argv[1:4]
m = json.load(open(path))
m["derived"] = {"gseBn254LibWrapper": wrapper, "rollupGenesisTime": int(genesis.split()[0])}
with open(path, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
PY
mv "$MANIFEST.tmp" "$MANIFEST"
DONE=1

elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
printf 'devnet-l1: ready in %d.%03d s: rollup %s, manifest %s\n' \
  $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$rollup" "$MANIFEST"

if [ "$DETACH" = 1 ]; then
  echo "devnet-l1: anvil left running (pid $ANVIL_PID); stop with: scripts/devnet-l1.sh --stop --dir $STATE_DIR"
  exit 0
fi

echo "devnet-l1: running in the foreground; Ctrl-C stops anvil"
# wait returns early when a trapped signal arrives; the EXIT trap then stops anvil.
wait "$ANVIL_PID" || true
if [ ! -f "$PID_FILE" ]; then
  echo "devnet-l1: anvil was stopped with --stop"
  exit 0
fi
echo "devnet-l1: anvil exited on its own (log: $STATE_DIR/anvil.log)" >&2
exit 1
