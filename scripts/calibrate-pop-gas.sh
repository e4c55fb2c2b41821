#!/usr/bin/env bash
# Measure the gas of the on-chain BLS proof-of-possession check for keys that cairn generates,
# and fit cairn's PopGasEstimate model to it. Writes tests/data/pop_gas.json.
#
# Usage: scripts/calibrate-pop-gas.sh CAIRN [--out FILE] [--port N] [--count N] [--sample N] [--work DIR]
#
#   CAIRN       the cairn binary to generate and verify keys with (e.g. target/debug/cairn)
#   --out FILE  where the measured rows go (default <repo>/tests/data/pop_gas.json)
#   --port N    port of the devnet this script starts and stops (default 8749)
#   --count N   keys generated per mnemonic (default 1000; five fixed BIP-39 test-vector mnemonics)
#   --sample N  keys measured (default 300): every high-attempt and high-sqrt key, one key of
#               every attempts value, then a round robin over the (attempts, sqrtCalls) pairs
#   --work DIR  scratch directory, kept afterwards (default: a temporary one, removed)
#
# For each sampled key it measures, on a devnet with Aztec's real L1 contracts:
#   gas          gasUsed of the Bn254LibWrapper.proofOfPossession frame that GSE.deposit opens
#                with {gas: proofOfPossessionGasLimit}: debug_traceCall (callTracer) of
#                GSE.deposit sent from the rollup. Cross-checked for every key against a direct
#                call to the wrapper (callTracer gasUsed minus 21000 and the calldata gas).
#   minGasLimit  the least gas the wrapper call must be given to succeed: binary search with
#                eth_call. It is what GSE's cap is compared with, and is 1731-1734 above gasUsed
#                because BN254Lib gives the pairing precompile (113000 gas) only gas() - 2000.
#                Checked for every key through GSE itself: GSE.deposit with the cap overridden
#                to minGasLimit passes the check, to minGasLimit - 1 fails it.
# It then registers a few keys for real (scripts/devnet-register.sh, i.e. cairn add-l1-validator) and checks the wrapper calls
# inside the flushEntryQueue transactions: at the normal cap (the traced gasUsed must equal
# `gas`), and with GSE's cap set (anvil_setStorageAt) to minGasLimit - 1 for one key (it must
# end in FailedDeposit) and to minGasLimit for another (it must be admitted).
# The fits and their residuals go to stdout. Needs the tools of scripts/setup.sh and python3.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAST="$REPO_ROOT/tools/node_modules/.bin/cast"
FEE_RECIPIENT=0x1111111111111111111111111111111111111111111111111111111111111111
# BIP-39 test-vector mnemonics (valid checksums); the keys come from cairn's own derivation.
MNEMONICS=(
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
  "legal winner thank year wave sausage worth useful legal winner thank yellow"
  "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"
  "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong"
  "scheme spot photo card baby mountain device kick cradle pact join borrow"
)

die() {
  echo "calibrate-pop-gas: error: $*" >&2
  exit 1
}
log() { echo "calibrate-pop-gas: $*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

CAIRN=
OUT="$REPO_ROOT/tests/data/pop_gas.json"
PORT=8749
COUNT=1000
SAMPLE=300
WORK=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --count) [ $# -ge 2 ] || die "--count needs a value"; COUNT=$2; shift 2 ;;
    --sample) [ $# -ge 2 ] || die "--sample needs a value"; SAMPLE=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || die "--work needs a value"; WORK=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) [ -z "$CAIRN" ] || die "unexpected argument: $1"; CAIRN=$1; shift ;;
  esac
done
[ -n "$CAIRN" ] || { usage >&2; exit 2; }
[ -x "$CAIRN" ] || die "not an executable: $CAIRN"
CAIRN=$(cd "$(dirname "$CAIRN")" && pwd)/$(basename "$CAIRN")
[ -x "$CAST" ] || die "cast not found at $CAST. Run: scripts/setup.sh"
command -v python3 >/dev/null || die "python3 is required"
[[ "$COUNT" =~ ^[0-9]+$ && "$SAMPLE" =~ ^[0-9]+$ && "$PORT" =~ ^[0-9]+$ ]] || die "--count, --sample and --port take numbers"

KEEP_WORK=1
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d)
  KEEP_WORK=0
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
DEVNET_DIR="$WORK/devnet"
DEVNET_UP=0
cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$DEVNET_UP" = 1 ]; then
    "$REPO_ROOT/scripts/devnet-l1.sh" --stop --dir "$DEVNET_DIR" >&2 || true
  fi
  if [ "$KEEP_WORK" = 0 ]; then rm -rf "$WORK"; else log "scratch files kept in $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The Python half of the script.
cat >"$WORK/calib.py" <<'PY'
#!/usr/bin/env python3
# Helper of scripts/calibrate-pop-gas.sh (written out and run by it). Subcommands:
#   select  SAMPLE.json N VERIFY.json:STAKER.json ...  pick N keys spread over (attempts, sqrtCalls)
#   measure MANIFEST SAMPLE.json MEASURED.json         measure each sampled key on the devnet
#   subset  SAMPLE.json OUT.json POS...                staker-output file of some sampled keys
#   mingas  MEASURED.json SAMPLE.json POS              measured minGasLimit of one sampled key
#   flush   MANIFEST FROM_BLOCK MEASURED.json          check wrapper calls inside real flushes
#   write   MEASURED.json OUT.json                     the tests/data/pop_gas.json rows
#   fit     MEASURED.json [SAMPLE.json]                least-squares fits and residuals
import http.client
import json
import sys
import urllib.parse

DEPOSIT_SELECTOR = "6902c67b"  # deposit(address,address,(uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256),bool)
POP_SELECTOR = "3f78271d"  # proofOfPossession((uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256))
FLUSH_SELECTOR = "e199c059"  # flushEntryQueue(uint256)
CAP_GETTER_SELECTOR = "f852fef9"  # proofOfPossessionGasLimit()
ERC20_ALLOWANCE_SELECTOR = "fb8f41b2"  # ERC20InsufficientAllowance(address,uint256,uint256)
# GSE storage: slot 8 holds `governance` (address, bytes 0..19) and `proofOfPossessionGasLimit`
# (uint64, bytes 20..27), per the storageLayout of out/GSE.sol/GSE.json in @aztec/l1-artifacts.


# --- JSON-RPC ---------------------------------------------------------------------------------
class Rpc:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.id = 0

    def __call__(self, method, *params):
        self.id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.id, "method": method, "params": list(params)})
        for attempt in range(2):
            try:
                self.conn.request("POST", "/", body, {"Content-Type": "application/json"})
                resp = json.loads(self.conn.getresponse().read())
                break
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return resp


def result(resp):
    if "error" in resp:
        raise RuntimeError("RPC error: %s" % resp["error"])
    return resp["result"]


# --- helpers --------------------------------------------------------------------------------
def word(v):
    return "%064x" % int(v, 16)


def key_words(k):
    """pk1 (2 words), pk2 (4 words), sigma (2 words), as 64-hex strings."""
    return [word(k["g1"]["x"]), word(k["g1"]["y"]),
            word(k["g2"]["x0"]), word(k["g2"]["x1"]), word(k["g2"]["y0"]), word(k["g2"]["y1"]),
            word(k["pop"]["x"]), word(k["pop"]["y"])]


def intrinsic_gas(data_hex):
    """21000 + 4 per zero calldata byte + 16 per non-zero byte (no access list, not a create).
    The EIP-7623 floor (21000 + 10 per token) is far below what these calls use."""
    b = bytes.fromhex(data_hex[2:] if data_hex.startswith("0x") else data_hex)
    zeros = b.count(0)
    return 21000 + 4 * zeros + 16 * (len(b) - zeros)


def walk(frame):
    yield frame
    for c in frame.get("calls", []) or []:
        yield from walk(c)


def hexint(v):
    return int(v, 16) if isinstance(v, str) else int(v)


# --- select ---------------------------------------------------------------------------------
def cmd_select(out, n, pairs):
    keys = []
    for src, pair in enumerate(pairs):
        vpath, spath = pair.split(":")
        v = json.load(open(vpath))
        s = json.load(open(spath))
        if len(v["entries"]) != len(s):
            sys.exit("%s and %s differ in length" % (vpath, spath))
        for e, k in zip(v["entries"], s):
            if e["attester"] != k["attester"]:
                sys.exit("attester mismatch at %s index %d" % (vpath, e["index"]))
            if any(c["status"] == "fail" for c in e["checks"] if c["id"] != "pop-gas"):
                sys.exit("cairn verify rejects %s index %d" % (vpath, e["index"]))
            keys.append({
                "source": src, "index": e["index"], "attester": k["attester"],
                "g1": k["publicKeyG1"], "g2": k["publicKeyG2"], "pop": k["proofOfPossession"],
                "attempts": e["popHashAttempts"], "sqrtCalls": e["popSqrtCalls"],
                "cairnGas": e["popGas"],
            })
    total = len(keys)
    order = sorted(keys, key=lambda k: (k["source"], k["index"]))
    # 1. The high tail: every key with attempts >= the attempts of the 60th-highest key.
    by_attempts = sorted(order, key=lambda k: -k["attempts"])
    tail_min = by_attempts[min(59, total - 1)]["attempts"]
    chosen = {(k["source"], k["index"]) for k in order if k["attempts"] >= tail_min}
    # 2. Likewise the keys with the most square roots (sqrtCalls >= the 20th-highest).
    by_sqrt = sorted(order, key=lambda k: -k["sqrtCalls"])
    sqrt_min = by_sqrt[min(19, total - 1)]["sqrtCalls"]
    chosen |= {(k["source"], k["index"]) for k in order if k["sqrtCalls"] >= sqrt_min}
    # 3. The first key (in derivation order) of every attempts value.
    for k in order:
        if all(o["attempts"] != k["attempts"] for o in order if (o["source"], o["index"]) in chosen):
            chosen.add((k["source"], k["index"]))
    # 4. Round robin over the (attempts, sqrtCalls) pairs, first keys in derivation order,
    #    until N keys are chosen.
    groups = {}
    for k in order:
        groups.setdefault((k["attempts"], k["sqrtCalls"]), []).append(k)
    depth = 0
    while len(chosen) < n and depth < total:
        for g in sorted(groups):
            if depth < len(groups[g]) and len(chosen) < n:
                chosen.add((groups[g][depth]["source"], groups[g][depth]["index"]))
        depth += 1
    sample = sorted((k for k in order if (k["source"], k["index"]) in chosen),
                    key=lambda k: (k["attempts"], k["sqrtCalls"], k["source"], k["index"]))
    json.dump({"generated": total, "all": [{"attempts": k["attempts"], "sqrtCalls": k["sqrtCalls"],
                                             "cairnGas": k["cairnGas"]} for k in order],
               "sample": sample}, open(out, "w"), indent=1)
    print("calibrate: %d keys generated, %d sampled (attempts %d..%d)"
          % (total, len(sample), sample[0]["attempts"], sample[-1]["attempts"]), file=sys.stderr)


# --- measure --------------------------------------------------------------------------------
def cmd_measure(manifest_path, sample_path, out):
    m = json.load(open(manifest_path))
    rpc = Rpc(m["rpcUrl"])
    gse = m["addresses"]["gse"].lower()
    rollup = m["addresses"]["rollup"].lower()
    wrapper = m["derived"]["gseBn254LibWrapper"].lower()
    sample = json.load(open(sample_path))["sample"]
    slot8 = int(result(rpc("eth_getStorageAt", gse, "0x8", "latest")), 16)
    cap = (slot8 >> 160) & (2**64 - 1)
    if cap != 250_000:
        print("calibrate: note: GSE's proofOfPossessionGasLimit is %d, not 250000" % cap, file=sys.stderr)
    getter = int(result(rpc("eth_call", {"to": gse, "data": "0x" + CAP_GETTER_SELECTOR}, "latest")), 16)
    if getter != cap:
        sys.exit("GSE storage layout is not as expected: slot 8 gives a cap of %d, the getter %d" % (cap, getter))
    rows = []
    failures = {}
    for i, k in enumerate(sample):
        w = key_words(k)
        pop_data = "0x" + POP_SELECTOR + "".join(w)
        attester = word(k["attester"])
        # (a) The real GSE path: GSE.deposit(attester, attester, pk1, pk2, sigma, true) called by
        # the rollup. GSE runs the check as BN254_LIB_WRAPPER.proofOfPossession{gas: 250000}(...);
        # the deposit itself reverts later (the rollup sent no stake), which does not matter: the
        # wrapper frame is complete by then.
        dep_data = "0x" + DEPOSIT_SELECTOR + attester + attester + "".join(w) + "%064x" % 1
        tr = result(rpc("debug_traceCall",
                        {"from": rollup, "to": gse, "data": dep_data, "gas": hex(3_000_000)},
                        "latest", {"tracer": "callTracer"}))
        frames = [f for f in walk(tr) if (f.get("to") or "").lower() == wrapper]
        if len(frames) != 1:
            sys.exit("key %d: expected one call to the wrapper in GSE.deposit, found %d" % (i, len(frames)))
        f = frames[0]
        if f["input"].lower() != pop_data.lower():
            sys.exit("key %d: the wrapper was called with unexpected input" % i)
        gse_cap = hexint(f["gas"])
        gse_used = hexint(f["gasUsed"])
        gse_ok = "error" not in f and int(f.get("output", "0x0") or "0x0", 16) == 1
        # (b) A direct call to the wrapper with plenty of gas: the callTracer's gasUsed of the
        # top frame is the transaction's gas, so execution = gasUsed - intrinsic.
        tr2 = result(rpc("debug_traceCall", {"from": gse, "to": wrapper, "data": pop_data,
                                             "gas": hex(2_000_000)},
                         "latest", {"tracer": "callTracer"}))
        if "error" in tr2 or int(tr2.get("output", "0x0"), 16) != 1:
            sys.exit("key %d: the wrapper does not return true: %s" % (i, tr2.get("error")))
        intrinsic = intrinsic_gas(pop_data)
        direct_used = hexint(tr2["gasUsed"]) - intrinsic
        # (c) The smallest gas the call itself must be given to succeed (binary search on eth_call).
        # It exceeds the gas used: BN254Lib forwards sub(gas(), 2000) to the pairing precompile, so
        # ~2000 gas must still be left when the 113000-gas pairing starts.
        def ok(limit):
            r = rpc("eth_call", {"from": gse, "to": wrapper, "data": pop_data,
                                 "gas": hex(limit + intrinsic)}, "latest")
            return "error" not in r and r.get("result") and int(r["result"], 16) == 1
        lo, hi = direct_used - 1, direct_used + 10_000
        if ok(lo) or not ok(hi):
            sys.exit("key %d: binary search bounds do not bracket the threshold" % i)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        min_limit = hi
        # (d) The same threshold seen through GSE itself: GSE.deposit with GSE's
        # proofOfPossessionGasLimit overridden (storage slot 8, bytes 20..27) to min_limit passes
        # the check (it then reverts in the stake transfer, ERC20InsufficientAllowance), and to
        # min_limit - 1 fails it (PairingFail, or an empty revert when out of gas).
        for limit, want in ((min_limit, True), (min_limit - 1, False)):
            v = (slot8 & ~((2**64 - 1) << 160)) | (limit << 160)
            r = rpc("eth_call", {"from": rollup, "to": gse, "data": dep_data, "gas": hex(3_000_000)},
                    "latest", {gse: {"stateDiff": {"0x%064x" % 8: "0x%064x" % v}}})
            data = (r.get("error") or {}).get("data") or ""
            passed = data.startswith("0x" + ERC20_ALLOWANCE_SELECTOR)
            if not passed:
                failures[data[:10] or "empty"] = failures.get(data[:10] or "empty", 0) + 1
            if passed != want:
                sys.exit("key %d: GSE with a cap of %d %s the check (revert data %s)"
                         % (i, limit, "passes" if passed else "fails", data[:10] or "none"))
        if gse_ok and gse_used != direct_used:
            sys.exit("key %d: GSE-path gas %d != direct-call gas %d" % (i, gse_used, direct_used))
        rows.append({
            "g1x": "0x" + w[0], "g1y": "0x" + w[1],
            "attempts": k["attempts"], "sqrtCalls": k["sqrtCalls"],
            "gas": gse_used if gse_ok else direct_used,
            "minGasLimit": min_limit,
            "_cairnGas": k["cairnGas"], "_gseCap": gse_cap, "_gsePathOk": gse_ok,
        })
        if (i + 1) % 25 == 0 or i + 1 == len(sample):
            print("calibrate: measured %d/%d" % (i + 1, len(sample)), file=sys.stderr)
    print("calibrate: GSE with each key's cap at minGasLimit - 1 reverted with %s"
          % ", ".join("%s (%d keys)" % kv for kv in sorted(failures.items())), file=sys.stderr)
    json.dump(rows, open(out, "w"), indent=1)


# --- subset / flush ---------------------------------------------------------------------------
def cmd_subset(sample_path, out, *positions):
    """Write the sampled keys at the given positions (negative counts from the end; the sample is
    sorted by attempts) as a staker-output array for scripts/devnet-register.sh."""
    sample = json.load(open(sample_path))["sample"]
    picked = [sample[int(p)] for p in positions]
    json.dump([{"attester": k["attester"], "publicKeyG1": k["g1"], "publicKeyG2": k["g2"],
                "proofOfPossession": k["pop"]} for k in picked], open(out, "w"), indent=1)
    for k in picked:
        print("%s attempts=%d sqrtCalls=%d" % (k["attester"], k["attempts"], k["sqrtCalls"]), file=sys.stderr)


def cmd_mingas(measured_path, sample_path, position):
    """Print the measured minGasLimit of the sampled key at POSITION."""
    k = json.load(open(sample_path))["sample"][int(position)]
    x = "0x" + word(k["g1"]["x"])
    print([r for r in json.load(open(measured_path)) if r["g1x"] == x][0]["minGasLimit"])


def cmd_flush(manifest_path, from_block, measured_path):
    """Trace every flushEntryQueue transaction from FROM_BLOCK on. For each wrapper call inside:
    when it succeeded, its gasUsed must equal the measured gas and the gas GSE gave it must be at
    least the measured minGasLimit; when it failed, the gas given must be below minGasLimit."""
    m = json.load(open(manifest_path))
    rpc = Rpc(m["rpcUrl"])
    rollup = m["addresses"]["rollup"].lower()
    wrapper = m["derived"]["gseBn254LibWrapper"].lower()
    measured = {(r["g1x"].lower(), r["g1y"].lower()): r for r in json.load(open(measured_path))}
    head = int(result(rpc("eth_blockNumber")), 16)
    seen = bad = 0
    for n in range(int(from_block), head + 1):
        blk = result(rpc("eth_getBlockByNumber", hex(n), True))
        for tx in blk["transactions"]:
            if (tx.get("to") or "").lower() != rollup or not tx["input"].startswith("0x" + FLUSH_SELECTOR):
                continue
            tr = result(rpc("debug_traceTransaction", tx["hash"], {"tracer": "callTracer"}))
            for f in walk(tr):
                if (f.get("to") or "").lower() != wrapper:
                    continue
                inp = f["input"][10:]
                r = measured.get(("0x" + inp[:64], "0x" + inp[64:128]))
                if r is None:
                    continue
                seen += 1
                given, used = hexint(f["gas"]), hexint(f["gasUsed"])
                ok = "error" not in f
                if ok:
                    good = used == r["gas"] and given >= r["minGasLimit"]
                else:
                    good = given < r["minGasLimit"]
                bad += not good
                print("  flush tx %s, key with %d attempts / %d sqrt: GSE gave the wrapper %d gas; %s; "
                      "measured gas %d, minGasLimit %d -> %s"
                      % (tx["hash"][:10], r["attempts"], r["sqrtCalls"], given,
                         "it used %d and returned" % used if ok else "it failed (%s)" % f["error"],
                         r["gas"], r["minGasLimit"], "consistent" if good else "INCONSISTENT"))
    if seen == 0 or bad:
        sys.exit("flush validation failed (%d wrapper calls seen, %d inconsistent)" % (seen, bad))


def cmd_write(measured_path, out):
    rows = json.load(open(measured_path))
    rows.sort(key=lambda r: (r["attempts"], r["sqrtCalls"], r["gas"], r["g1x"]))
    keep = ("g1x", "g1y", "attempts", "sqrtCalls", "gas", "minGasLimit")
    with open(out, "w") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps({k: r[k] for k in keep}) for r in rows) + "\n]\n")


# --- fit ------------------------------------------------------------------------------------
def lstsq(X, y):
    """Least squares by the normal equations in exact rationals."""
    from fractions import Fraction as F
    n = len(X[0])
    A = [[F(sum(r[i] * r[j] for r in X)) for j in range(n)] + [F(sum(r[i] * v for r, v in zip(X, y)))]
         for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(A[r][c]))
        A[c], A[p] = A[p], A[c]
        for r in range(n):
            if r != c and A[r][c] != 0:
                f = A[r][c] / A[c][c]
                A[r] = [a - f * b for a, b in zip(A[r], A[c])]
    return [float(A[i][n] / A[i][i]) for i in range(n)]


def mem(a):
    """Memory expansion of the hashToPoint loop beyond what is linear in attempts: every attempt
    allocates abi.encode(domain, message, attempts), 7 words, and memory costs words^2/512."""
    return 49 * a * a // 512


MODELS = (
    ("linear    a + b*A + c*S", ["one", "attempts", "sqrtCalls"], None),
    ("quadratic a + b*A + c*S + d*A^2", ["one", "attempts", "sqrtCalls", "attempts2"], None),
    ("memory    a + b*A + c*S + floor(49*A^2/512)", ["one", "attempts", "sqrtCalls"], "mem"),
)


def stats(res):
    return "min %+.1f, max %+.1f, max |.| %.1f, rms %.1f" % (
        min(res), max(res), max(abs(x) for x in res), (sum(x * x for x in res) / len(res)) ** 0.5)


def cmd_fit(measured_path, sample_path=None):
    rows = json.load(open(measured_path))
    for r in rows:
        r["one"] = 1
        r["attempts2"] = r["attempts"] ** 2
        r["mem"] = mem(r["attempts"])
    print("keys measured: %d; attempts %d..%d; sqrtCalls %d..%d" % (
        len(rows), min(r["attempts"] for r in rows), max(r["attempts"] for r in rows),
        min(r["sqrtCalls"] for r in rows), max(r["sqrtCalls"] for r in rows)))
    d = [r["minGasLimit"] - r["gas"] for r in rows]
    print("minGasLimit - gas: %d..%d" % (min(d), max(d)))
    fits = {}
    for target in ("gas", "minGasLimit"):
        print("\n== target: %s ==" % target)
        for name, cols, fixed in MODELS:
            y = [r[target] - (r[fixed] if fixed else 0) for r in rows]
            coef = lstsq([[r[c] for c in cols] for r in rows], y)
            res = [yy - sum(c * r[k] for c, k in zip(coef, cols)) for r, yy in zip(rows, y)]
            print("%s: %s" % (name, ", ".join("%s=%.4f" % (n, c) for n, c in zip("abcd", coef))))
            print("    residual (measured - model): " + stats(res))
            # Integer constants: for each choice of b and c rounded down or up (d kept as fitted),
            # the smallest intercept a that never underestimates a measured key; report the choice
            # with the smallest worst overestimate.
            best = None
            for b in (int(coef[1] // 1), int(coef[1] // 1) + 1):
                for c in (int(coef[2] // 1), int(coef[2] // 1) + 1):
                    rc = [0, b, c] + coef[3:]
                    rest = [yy - sum(v * r[k] for v, k in zip(rc, cols)) for r, yy in zip(rows, y)]
                    a0 = -int(-max(rest) // 1)  # ceil
                    over = a0 - min(rest)
                    if best is None or over < best[0]:
                        best = (over, [a0] + rc[1:], a0 - round(coef[0]))
            over, rc, lift = best
            print("    integers: a=%d b=%d c=%d%s never underestimates (a is %+d from the fit) and "
                  "overestimates by at most %.1f" % (rc[0], rc[1], rc[2],
                                                     " d=%.4f" % rc[3] if len(rc) > 3 else "", lift, over))
            fits[(target, name.split()[0])] = (cols, fixed, rc)
    cur = [r["minGasLimit"] - r["_cairnGas"] for r in rows]
    cur_g = [r["gas"] - r["_cairnGas"] for r in rows]
    print("\ncairn's own estimate (verify --json popGas of this binary): measured - estimate is %d..%d "
          "against minGasLimit (positive = underestimate), %d..%d against gas"
          % (min(cur), max(cur), min(cur_g), max(cur_g)))
    if sample_path:
        allk = json.load(open(sample_path))["all"]
        cols, fixed, coef = fits[("minGasLimit", "memory")]
        def model(k):
            v = {"one": 1, "attempts": k["attempts"], "sqrtCalls": k["sqrtCalls"]}
            return sum(c * v[n] for c, n in zip(coef, cols)) + mem(k["attempts"])
        top = max(allk, key=lambda k: (k["attempts"], k["sqrtCalls"]))
        print("all %d generated keys: max attempts %d (sqrtCalls %d). Predicted minGasLimit (memory "
              "model, integer a): > 250000: %d, > 225000: %d. cairn's current estimate: > 250000: %d, "
              "> 225000: %d" % (len(allk), top["attempts"], top["sqrtCalls"],
                                sum(model(k) > 250000 for k in allk), sum(model(k) > 225000 for k in allk),
                                sum(k["cairnGas"] > 250000 for k in allk),
                                sum(k["cairnGas"] > 225000 for k in allk)))


if __name__ == "__main__":
    commands = {"select": lambda a: cmd_select(a[0], int(a[1]), a[2:]), "measure": lambda a: cmd_measure(*a),
                "subset": lambda a: cmd_subset(*a), "mingas": lambda a: cmd_mingas(*a),
                "flush": lambda a: cmd_flush(*a), "write": lambda a: cmd_write(*a), "fit": lambda a: cmd_fit(*a)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: calib.py {%s} ..." % ",".join(commands))
    commands[sys.argv[1]](sys.argv[2:])
PY
calib() { python3 "$WORK/calib.py" "$@"; }

# --- keys -------------------------------------------------------------------------------------
log "cairn: $("$CAIRN" --version)"
pairs=()
for i in "${!MNEMONICS[@]}"; do
  dir="$WORK/keys$i"
  "$CAIRN" validator-keys new --fee-recipient "$FEE_RECIPIENT" --mnemonic "${MNEMONICS[$i]}" \
    --count "$COUNT" --staker-output --data-dir "$dir" --file keys.json >/dev/null ||
    die "cairn validator-keys new failed for mnemonic $i"
  # verify exits non-zero when a check fails; a "close to the cap" warning is fine.
  "$CAIRN" validator-keys verify "$dir/keys_staker_output.json" --json >"$dir/verify.json" ||
    die "cairn validator-keys verify rejected keys of mnemonic $i (see $dir/verify.json)"
  pairs+=("$dir/verify.json:$dir/keys_staker_output.json")
done
calib select "$WORK/sample.json" "$SAMPLE" "${pairs[@]}"

# --- devnet and measurement -------------------------------------------------------------------
"$REPO_ROOT/scripts/devnet-l1.sh" --detach --port "$PORT" --dir "$DEVNET_DIR" >&2
DEVNET_UP=1
MANIFEST="$DEVNET_DIR/manifest.json"
RPC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rpcUrl"])' "$MANIFEST")
GSE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addresses"]["gse"])' "$MANIFEST")
calib measure "$MANIFEST" "$WORK/sample.json" "$WORK/measured.json"

# --- validation inside real flushEntryQueue transactions --------------------------------------
register() { # register NAME POSITION...: deposit and flush these sampled keys; 0 if all VALIDATING
  local name=$1
  shift
  calib subset "$WORK/sample.json" "$WORK/$name.json" "$@"
  "$REPO_ROOT/scripts/devnet-register.sh" "$MANIFEST" "$WORK/$name.json" >"$WORK/$name.out" 2>"$WORK/$name.log"
}
set_cap() { # GSE.proofOfPossessionGasLimit lives in slot 8, bytes 20..27 (after `governance`).
  local slot
  slot=$("$CAST" storage "$GSE" 8 --rpc-url "$RPC")
  slot=$(python3 -c 'import sys; s=int(sys.argv[1],16); print("0x%064x" % ((s & ~((2**64-1)<<160)) | (int(sys.argv[2])<<160)))' "$slot" "$1")
  "$CAST" rpc anvil_setStorageAt "$GSE" 0x8 "$slot" --rpc-url "$RPC" >/dev/null
  [ "$("$CAST" call "$GSE" 'proofOfPossessionGasLimit()(uint64)' --rpc-url "$RPC" | awk '{print $1}')" = "$1" ] ||
    die "could not set GSE's proofOfPossessionGasLimit to $1"
}
FROM_BLOCK=$(($("$CAST" block-number --rpc-url "$RPC") + 1))
log "registering 3 keys at the normal cap (fewest attempts, median, most attempts)"
register normal 0 $((SAMPLE / 2)) -1 || die "registration at the normal cap failed (see $WORK/normal.log)"
cap0=$("$CAST" call "$GSE" 'proofOfPossessionGasLimit()(uint64)' --rpc-url "$RPC" | awk '{print $1}')
need=$(calib mingas "$WORK/measured.json" "$WORK/sample.json" -2)
log "cap = $((need - 1)) (one below the measured minGasLimit) for the key with the second most attempts"
set_cap $((need - 1))
if register below -2; then die "the key was admitted with a cap below its minGasLimit"; fi
grep -q FAILED_DEPOSIT "$WORK/below.out" || die "no FailedDeposit with a cap below minGasLimit (see $WORK/below.out)"
need=$(calib mingas "$WORK/measured.json" "$WORK/sample.json" -3)
log "cap = $need (exactly the measured minGasLimit) for the key with the third most attempts"
set_cap "$need"
register exact -3 || die "the key was refused with a cap equal to its minGasLimit (see $WORK/exact.log)"
set_cap "$cap0"
calib flush "$MANIFEST" "$FROM_BLOCK" "$WORK/measured.json" >&2

# --- results ----------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
calib write "$WORK/measured.json" "$OUT"
log "wrote $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT") rows to $OUT"
calib fit "$WORK/measured.json" "$WORK/sample.json"
