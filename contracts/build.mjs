// Compiles contracts/src/*.sol with the pinned solc-js 0.8.30 (tools/node_modules/solc) and
// writes contracts/out/<Contract>.json = {abi, bytecode, sourceHash}. The outputs are committed
// so that `cairn devnet l1` embeds them and needs no compiler at run time; `--check` exits 1
// if a committed output differs from a fresh compile (run by scripts/test.sh).
//
// Usage: node contracts/build.mjs [--check]
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tools", "package.json"));
let solc;
try {
  solc = require("solc");
} catch (e) {
  console.error("contracts/build.mjs: solc-js is not installed in tools/node_modules. Run: scripts/setup.sh");
  process.exit(1);
}
const WANT = "0.8.30+commit.73712a01";
if (!solc.version().startsWith(WANT)) {
  console.error(`contracts/build.mjs: expected solc ${WANT}, found ${solc.version()}`);
  process.exit(1);
}

const srcDir = join(here, "src");
const sources = {};
for (const f of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[f] = { content: readFileSync(join(srcDir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const sourceHash = createHash("sha256")
  .update(JSON.stringify(Object.keys(sources).map((k) => [k, sources[k].content])))
  .digest("hex");
// The contracts cairn deploys; libraries and interfaces are not written out.
const wanted = ["StakingRegistry", "PullSplitFactory", "SplitsWarehouse", "PullSplit"];
const check = process.argv.includes("--check");
let stale = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!wanted.includes(name)) continue;
    const text =
      JSON.stringify(
        { contract: name, source: `contracts/src/${file}`, compiler: `solc-js ${solc.version()}`, sourceHash, abi: c.abi, bytecode: "0x" + c.evm.bytecode.object },
        null,
        1,
      ) + "\n";
    const path = join(here, "out", `${name}.json`);
    if (check) {
      if (!existsSync(path) || readFileSync(path, "utf8") !== text) {
        console.error(`contracts/out/${name}.json is stale: run node contracts/build.mjs and commit the result`);
        stale++;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote contracts/out/${name}.json (${c.evm.bytecode.object.length / 2} bytes)`);
    }
  }
}

// errors.json: every custom error cairn may meet on L1 (Aztec's published artifacts plus the
// contracts above), so that a revert is reported by name and arguments. Test and script
// artifacts are skipped; entries are unique by signature and sorted for a stable diff.
const aztecOut = join(here, "..", "tools", "node_modules", "@aztec", "l1-artifacts", "l1-contracts", "out");
if (!existsSync(aztecOut)) {
  console.error("contracts/build.mjs: @aztec/l1-artifacts is not installed in tools/node_modules. Run: scripts/setup.sh");
  process.exit(1);
}
const sig = (e) => `${e.name}(${e.inputs.map(canon).join(",")})`;
function canon(p) {
  if (!p.type.startsWith("tuple")) return p.type;
  return `(${p.components.map(canon).join(",")})${p.type.slice(5)}`;
}
const errorsBySig = new Map();
const addErrors = (abi) => {
  for (const e of abi) if (e.type === "error" && !errorsBySig.has(sig(e))) errorsBySig.set(sig(e), e);
};
for (const dir of readdirSync(aztecOut).sort()) {
  if (/\.(t|s)\.sol$/.test(dir) || !dir.endsWith(".sol")) continue;
  for (const f of readdirSync(join(aztecOut, dir)).sort()) {
    if (!f.endsWith(".json")) continue;
    const j = JSON.parse(readFileSync(join(aztecOut, dir, f), "utf8"));
    if (Array.isArray(j.abi)) addErrors(j.abi);
  }
}
for (const contracts of Object.values(output.contracts)) for (const c of Object.values(contracts)) addErrors(c.abi);
const errorsText =
  JSON.stringify(
    [...errorsBySig.keys()].sort().map((k) => {
      const e = errorsBySig.get(k);
      return { type: "error", name: e.name, inputs: e.inputs };
    }),
  ) + "\n";
const errorsPath = join(here, "out", "errors.json");
if (check) {
  if (!existsSync(errorsPath) || readFileSync(errorsPath, "utf8") !== errorsText) {
    console.error("contracts/out/errors.json is stale: run node contracts/build.mjs and commit the result");
    stale++;
  }
} else {
  writeFileSync(errorsPath, errorsText);
  console.log(`wrote contracts/out/errors.json (${errorsBySig.size} errors)`);
}
process.exit(stale ? 1 : 0);
