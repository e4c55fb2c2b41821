#!/usr/bin/env bash
# Register validators on a devnet started by scripts/devnet-l1.sh, the way an operator does it
# with the real Aztec contracts: stake token approval, Rollup.deposit, then flushEntryQueue.
#
# Usage: scripts/devnet-register.sh MANIFEST REGISTRATION_JSON [--withdrawer ADDR]
#
#   MANIFEST           DIR/manifest.json written by scripts/devnet-l1.sh
#   REGISTRATION_JSON  a staker-output array:
#                        [{"attester": "0x..", "publicKeyG1": {"x","y"},
#                          "publicKeyG2": {"x0","x1","y0","y1"}, "proofOfPossession": {"x","y"}}]
#                      (the contract fixture names publicKeyInG1/publicKeyInG2 are accepted too;
#                      coordinates are hex strings, padded or not, or decimal)
#   --withdrawer ADDR  withdrawer of every deposit (default: the deployer, who pays the stake)
#
# Everything is sent from the manifest's deployer key. Attesters that already have a status
# other than NONE are not deposited again. Progress goes to stderr; stdout gets one line per
# attester, "ADDRESS STATUS" (NONE, VALIDATING, ZOMBIE or EXITING). Exit status 0 only if every
# attester ends VALIDATING.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAST="$REPO_ROOT/tools/node_modules/.bin/cast"
# Entries per flushEntryQueue(uint256) call, and the gas limit given per entry. The flush is
# sent with an explicit, generous gas limit instead of eth_estimateGas: GSE runs the
# proof-of-possession check under a fixed gas cap (250k), and when the transaction is short of
# gas the check fails as a caught PairingFail() (the deposit is refunded as FailedDeposit) instead
# of reverting, so the estimator's binary search is unreliable here. Observed: a flush of 16
# sent with its own estimate ran out of gas. One deposit needs a gas limit of ~0.88M to succeed.
FLUSH_BATCH=${FLUSH_BATCH:-16}
FLUSH_GAS_PER_ENTRY=1000000
MAX_FLUSH_ROUNDS=${MAX_FLUSH_ROUNDS:-50}

DEPOSIT_SIG='deposit(address,address,(uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256),bool)'
FAILED_DEPOSIT_EVENT='FailedDeposit(address,address,(uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256))'
STATUS_NAMES=(NONE VALIDATING ZOMBIE EXITING)

log() { echo "devnet-register: $*" >&2; }
die() {
  echo "devnet-register: error: $*" >&2
  exit 1
}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

MANIFEST=
REG_JSON=
WITHDRAWER=
while [ $# -gt 0 ]; do
  case "$1" in
    --withdrawer) [ $# -ge 2 ] || die "--withdrawer needs an address"; WITHDRAWER=$2; shift 2 ;;
    --withdrawer=*) WITHDRAWER=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *)
      if [ -z "$MANIFEST" ]; then MANIFEST=$1
      elif [ -z "$REG_JSON" ]; then REG_JSON=$1
      else die "unexpected argument: $1 (see --help)"
      fi
      shift ;;
  esac
done
if [ -z "$MANIFEST" ] || [ -z "$REG_JSON" ]; then
  usage >&2
  exit 2
fi
[ -f "$MANIFEST" ] || die "no manifest at $MANIFEST (start a devnet with scripts/devnet-l1.sh)"
[ -f "$REG_JSON" ] || die "no registration file at $REG_JSON"
[ -x "$CAST" ] || die "cast not found at $CAST. Run: scripts/setup.sh"
command -v python3 >/dev/null || die "python3 is required"

# --- inputs -------------------------------------------------------------------------------
# manifest -> "RPC KEY ROLLUP STAKING_ASSET CHAIN_ID"
read -r RPC KEY ROLLUP STAKING_ASSET CHAIN_ID < <(python3 - "$MANIFEST" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
a = m["addresses"]
print(m["rpcUrl"], m["deployerPrivateKey"], a["rollup"], a["stakingAsset"], m["chainId"])
PY
) || die "could not read $MANIFEST"

# registration JSON -> one line per entry: "attester g1x g1y x0 x1 y0 y1 popx popy", 0x-hex.
ENTRIES_FILE=$(mktemp)
trap 'rm -f "$ENTRIES_FILE"' EXIT
python3 - "$REG_JSON" >"$ENTRIES_FILE" <<'PY' || die "bad registration file $REG_JSON (see above)"
import json, re, sys

path = sys.argv[1]
try:
    data = json.load(open(path))
except ValueError as e:
    sys.exit("%s: not JSON: %s" % (path, e))
if not isinstance(data, list) or not data:
    sys.exit("%s: expected a non-empty JSON array" % path)

def field(entry, i, *names):
    for n in names:
        if n in entry:
            return entry[n]
    sys.exit("entry %d: missing %s" % (i, " / ".join(names)))

def num(v, what, i):
    # Hex ("0x..", any padding) or decimal, as a string or a JSON integer.
    try:
        if isinstance(v, int):
            n = v
        elif isinstance(v, str) and v.lower().startswith("0x"):
            n = int(v, 16)
        elif isinstance(v, str):
            n = int(v, 10)
        else:
            raise ValueError
    except ValueError:
        sys.exit("entry %d: %s is not a number: %r" % (i, what, v))
    if not 0 <= n < 2**256:
        sys.exit("entry %d: %s out of range" % (i, what))
    return "0x%064x" % n

for i, e in enumerate(data):
    att = field(e, i, "attester")
    if not isinstance(att, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", att):
        sys.exit("entry %d: attester is not an address: %r" % (i, att))
    g1 = field(e, i, "publicKeyG1", "publicKeyInG1")
    g2 = field(e, i, "publicKeyG2", "publicKeyInG2")
    pop = field(e, i, "proofOfPossession")
    vals = [num(field(g1, i, k), "G1." + k, i) for k in ("x", "y")]
    vals += [num(field(g2, i, k), "G2." + k, i) for k in ("x0", "x1", "y0", "y1")]
    vals += [num(field(pop, i, k), "proofOfPossession." + k, i) for k in ("x", "y")]
    print(att, *vals)
PY

# --- chain helpers --------------------------------------------------------------------------
"$CAST" chain-id --rpc-url "$RPC" >/dev/null 2>&1 ||
  die "no node answers at $RPC. Is the devnet running? (scripts/devnet-l1.sh --detach)"

call() { # call TO SIG [ARGS...] -> first word of the decoded result
  "$CAST" call "$@" --rpc-url "$RPC" | awk 'NR==1{print $1}'
}

send() { # send WHAT TO SIG [ARGS...]: one transaction from the deployer; dies unless it succeeds
  local what=$1 out status
  shift
  if ! out=$("$CAST" send "$@" --private-key "$KEY" --rpc-url "$RPC" --json 2>&1); then
    die "$what failed:
$out"
  fi
  status=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["status"])' <<<"$out")
  [ "$status" = 0x1 ] || [ "$status" = 1 ] || die "$what reverted (receipt status $status)"
}

DEPLOYER=$("$CAST" wallet address --private-key "$KEY")
WITHDRAWER=${WITHDRAWER:-$DEPLOYER}
[[ "$WITHDRAWER" =~ ^0x[0-9a-fA-F]{40}$ ]] || die "--withdrawer is not an address: $WITHDRAWER"

status_name() {
  local s
  s=$(call "$ROLLUP" 'getStatus(address)(uint8)' "$1")
  echo "${STATUS_NAMES[$s]:-UNKNOWN($s)}"
}

# --- deposits -------------------------------------------------------------------------------
THRESHOLD=$(call "$ROLLUP" 'getActivationThreshold()(uint256)')
mapfile -t ENTRIES <"$ENTRIES_FILE"
TO_DEPOSIT=()
for line in "${ENTRIES[@]}"; do
  read -r att _ <<<"$line"
  st=$(status_name "$att")
  if [ "$st" = NONE ]; then
    TO_DEPOSIT+=("$line")
  else
    log "$att is already $st; not depositing again"
  fi
done

# Events of this run only: everything from the next block on.
START_BLOCK=$(($("$CAST" block-number --rpc-url "$RPC") + 1))

if [ ${#TO_DEPOSIT[@]} -gt 0 ]; then
  need=$(python3 -c "print(${#TO_DEPOSIT[@]} * $THRESHOLD)")
  balance=$(call "$STAKING_ASSET" 'balanceOf(address)(uint256)' "$DEPLOYER")
  missing=$(python3 -c "print(max(0, $need - $balance))")
  if [ "$missing" != 0 ]; then
    # TestERC20 on the devnet: the deployer still owns the staking asset and may mint.
    send "minting $missing staking tokens" "$STAKING_ASSET" 'mint(address,uint256)' "$DEPLOYER" "$missing"
    log "minted $missing staking tokens to the deployer $DEPLOYER"
  fi
  for line in "${TO_DEPOSIT[@]}"; do
    read -r att g1x g1y x0 x1 y0 y1 px py <<<"$line"
    send "approve for $att" "$STAKING_ASSET" 'approve(address,uint256)' "$ROLLUP" "$THRESHOLD"
    send "Rollup.deposit for $att" "$ROLLUP" "$DEPOSIT_SIG" "$att" "$WITHDRAWER" \
      "($g1x,$g1y)" "($x0,$x1,$y0,$y1)" "($px,$py)" true
    log "queued $att (stake $THRESHOLD, withdrawer $WITHDRAWER)"
  done
fi

# --- flush the entry queue ------------------------------------------------------------------
# flushEntryQueue only admits a limited number of validators per epoch; once the allowance of
# the current epoch is used up, move the devnet clock to the next flushable epoch.
rounds=0
while :; do
  queued=$(call "$ROLLUP" 'getEntryQueueLength()(uint256)')
  [ "$queued" -gt 0 ] || break
  rounds=$((rounds + 1))
  [ "$rounds" -le "$MAX_FLUSH_ROUNDS" ] || die "entry queue still holds $queued after $MAX_FLUSH_ROUNDS flush rounds"
  available=$(call "$ROLLUP" 'getAvailableValidatorFlushes()(uint256)')
  if [ "$available" -eq 0 ]; then
    [ "$CHAIN_ID" = 31337 ] || die "the entry queue is rate-limited for this epoch; flush again next epoch"
    next_epoch=$(call "$ROLLUP" 'getNextFlushableEpoch()(uint256)')
    target=$(call "$ROLLUP" 'getTimestampForEpoch(uint256)(uint256)' "$next_epoch")
    now=$("$CAST" block latest --field timestamp --rpc-url "$RPC")
    delta=$((target > now ? target - now : 0))
    "$CAST" rpc evm_increaseTime "$delta" --rpc-url "$RPC" >/dev/null
    "$CAST" rpc evm_mine --rpc-url "$RPC" >/dev/null
    log "flush allowance used up: advanced the devnet clock ${delta}s to epoch $next_epoch"
    continue
  fi
  batch=$((available < FLUSH_BATCH ? available : FLUSH_BATCH))
  batch=$((queued < batch ? queued : batch))
  send "flushEntryQueue($batch)" "$ROLLUP" 'flushEntryQueue(uint256)' "$batch" \
    --gas-limit $((batch * FLUSH_GAS_PER_ENTRY + 200000))
  log "flushEntryQueue($batch) done ($queued were queued)"
done

# --- report ---------------------------------------------------------------------------------
# A deposit that GSE rejects (bad proof of possession, reused BLS key, ...) is refunded to the
# withdrawer and only leaves a FailedDeposit event behind.
if [ "$("$CAST" block-number --rpc-url "$RPC")" -ge "$START_BLOCK" ]; then
  "$CAST" logs --from-block "$START_BLOCK" --address "$ROLLUP" "$FAILED_DEPOSIT_EVENT" \
    --rpc-url "$RPC" --json | python3 -c '
import json, sys
# Topics carry lowercase addresses; print the attester as the input spelled it.
spelled = {l.split()[0].lower(): l.split()[0] for l in open(sys.argv[1]) if l.strip()}
for log in json.load(sys.stdin):
    att, wd = ("0x" + t[-40:] for t in log["topics"][1:3])
    print("devnet-register: FailedDeposit for %s: GSE rejected it, stake refunded to %s"
          % (spelled.get(att, att), wd), file=sys.stderr)
' "$ENTRIES_FILE"
fi

all_ok=1
for line in "${ENTRIES[@]}"; do
  read -r att _ <<<"$line"
  st=$(status_name "$att")
  echo "$att $st"
  [ "$st" = VALIDATING ] || all_ok=0
done
[ "$all_ok" = 1 ]
