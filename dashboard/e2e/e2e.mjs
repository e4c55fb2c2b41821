// End-to-end test of the staking page in headless Debian Chromium.
//
//   CAIRN=path/to/cairn DIST=dashboard/dist node dashboard/e2e/e2e.mjs [--screenshots DIR]
//
// The CLI produces keystores and registration files; the page, served by `cairn dashboard`,
// must produce the same bytes from the same input, make no network request after loading, keep
// its UI responsive while 100 keys are processed, and name the problem for each bad input.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const CAIRN = resolve(process.env.CAIRN ?? "target/debug/cairn");
const DIST = resolve(process.env.DIST ?? "dashboard/dist");
const CAST = resolve(process.env.CAST ?? "tools/node_modules/.bin/cast");
const shotsAt = process.argv.indexOf("--screenshots");
const SHOTS = shotsAt > 0 ? resolve(process.argv[shotsAt + 1]) : null;
const M1 = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const FEE = "0x" + "11".repeat(32);

let passed = 0;
let failed = 0;
const results = {};
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `\n     ${detail}` : ""}`);
  }
}

function cairn(args, cwd) {
  return execFileSync(CAIRN, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

// ---------------------------------------------------------------------------------------------
// Inputs from the CLI.
const work = mkdtempSync(join(tmpdir(), "cairn-e2e-"));
const plain = join(work, "plain");
cairn(["validator-keys", "new", "--fee-recipient", FEE, "--mnemonic", M1, "--count", "3", "--staker-output", "--data-dir", plain], work);
const plainKeystore = readFileSync(join(plain, "key1.json"), "utf8");
const plainRegistration = readFileSync(join(plain, "key1_staker_output.json"), "utf8");

const one = join(work, "one");
cairn(["validator-keys", "new", "--fee-recipient", FEE, "--mnemonic", M1, "--address-index", "7", "--staker-output", "--data-dir", one], work);
const hundred = join(work, "hundred");
cairn(["validator-keys", "new", "--fee-recipient", FEE, "--mnemonic", M1, "--count", "100", "--staker-output", "--data-dir", hundred], work);

const enc = join(work, "enc");
cairn(["validator-keys", "new", "--fee-recipient", FEE, "--mnemonic", M1, "--count", "2", "--address-index", "20",
  "--password", "pw", "--encrypted-keystore-dir", join(enc, "files"), "--data-dir", enc], work);
cairn(["validator-keys", "staker", "--from", join(enc, "key1.json")], work);
const encKeystore = readFileSync(join(enc, "key1.json"), "utf8");
const encRegistration = readFileSync(join(enc, "key1_staker_output.json"), "utf8");
const encFiles = readdirSync(join(enc, "files")).map((f) => join(enc, "files", f));

// ---------------------------------------------------------------------------------------------
// Serve the page.
const server = spawn(CAIRN, ["dashboard", "--port", "0", "--dir", DIST], { stdio: ["ignore", "pipe", "inherit"] });
// Never leave the server behind, whatever ends this script.
process.on("exit", () => server.kill());
process.on("unhandledRejection", (e) => { console.log(`FAIL unexpected error: ${e?.stack ?? e}`); process.exit(1); });
const url = await new Promise((res, rej) => {
  let buf = "";
  server.stdout.on("data", (d) => {
    buf += d;
    const m = buf.match(/http:\/\/127\.0\.0\.1:\d+\//);
    if (m) res(m[0]);
  });
  server.on("exit", (code) => rej(new Error(`cairn dashboard exited with ${code}`)));
  setTimeout(() => rej(new Error("cairn dashboard did not start")), 10000);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const errors = [];
page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
let loaded = false;
const lateRequests = [];
page.on("request", (r) => { if (loaded && !r.url().startsWith("blob:") && !r.url().startsWith("data:")) lateRequests.push(r.url()); });
// Workers' requests are reported on the context.
page.context().on("request", (r) => { if (loaded && !r.url().startsWith("blob:")) lateRequests.push(r.url()); });

await page.goto(url);
await page.waitForSelector('main[data-ready="true"]', { timeout: 30000 });
loaded = true;
check("page loads and its worker starts", errors.length === 0, errors.join("; "));

const text = (id) => page.locator(`[data-testid="${id}"]`).textContent();
async function clearOutputs() {
  await page.waitForFunction(() => !document.querySelector("button.primary[disabled]"));
}
async function run(buttonId, outputId) {
  const t0 = Date.now();
  await page.click(`[data-testid="${buttonId}"]`);
  await page.waitForSelector(`[data-testid="${outputId}"], [data-testid="error-message"]`, { timeout: 120000 });
  await clearOutputs();
  return Date.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// Registration from a keystore.
await page.fill('[data-testid="keystore-input"]', plainKeystore);
await run("generate-button", "registration-output");
check("registration from a plaintext keystore equals `validator-keys staker`", (await text("registration-output")) === plainRegistration);
const href = await page.getAttribute('[data-testid="download-link"]', "href");
const downloaded = await page.evaluate(async (h) => (await fetch(h)).text(), href);
check("download link offers the same bytes, from a blob: URL", href?.startsWith("blob:") && downloaded === plainRegistration);
if (SHOTS) await page.screenshot({ path: join(SHOTS, "register.png"), fullPage: true });

results.oneRegistrationMs = await (async () => {
  await page.fill('[data-testid="keystore-input"]', readFileSync(join(one, "key1.json"), "utf8"));
  return run("generate-button", "registration-output");
})();
check("one registration", (await text("registration-output")) === readFileSync(join(one, "key1_staker_output.json"), "utf8"));

// 100 registrations: the UI thread must keep answering while the worker computes.
await page.fill('[data-testid="keystore-input"]', readFileSync(join(hundred, "key1.json"), "utf8"));
let worstMs = 0;
let polling = true;
const poller = (async () => {
  while (polling) {
    const t = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    worstMs = Math.max(worstMs, Date.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
results.hundredRegistrationsMs = await run("generate-button", "registration-output");
polling = false;
await poller;
results.worstFrameMsDuring100 = worstMs;
check("100 registrations equal the CLI's", (await text("registration-output")) === readFileSync(join(hundred, "key1_staker_output.json"), "utf8"));
check("progress reached 100 of 100", (await page.getAttribute('[data-testid="progress"]', "data-done")) === "100"
  && (await page.getAttribute('[data-testid="progress"]', "data-total")) === "100");
check(`UI stayed responsive during 100 registrations (worst frame ${worstMs} ms)`, worstMs < 1000);

// Encrypted BLS (and ETH) keys dropped alongside, password typed.
await page.fill('[data-testid="keystore-input"]', encKeystore);
await page.setInputFiles('[data-testid="bls-keystore-input"]', encFiles);
await page.fill('[data-testid="password-input"]', "pw");
await page.waitForTimeout(300);
await run("generate-button", "registration-output");
check("registration from encrypted key files equals `validator-keys staker`", (await text("registration-output")) === encRegistration,
  await page.locator('[data-testid="error-message"]').textContent().catch(() => ""));

// Bad input: a message naming the problem, and nothing to download.
async function expectError(name, keystore, password, needle) {
  await page.fill('[data-testid="keystore-input"]', keystore);
  await page.fill('[data-testid="password-input"]', password);
  await run("generate-button", "registration-output");
  const msg = (await page.locator('[data-testid="error-message"]').textContent().catch(() => "")) ?? "";
  const leftovers = await page.locator('[data-testid="registration-output"], [data-testid="download-link"]').count();
  check(`bad input: ${name}`, msg.includes(needle) && leftovers === 0, `message: ${msg}; outputs shown: ${leftovers}`);
}
await expectError("invalid JSON", "{ not json", "", "not valid");
await expectError("wrong password", encKeystore, "wrong", "wrong password");
await expectError("unknown field", plainKeystore.replace('"schemaVersion": 1,', '"schemaVersion": 1, "surprise": true,'), "", "'surprise'");
if (SHOTS) await page.screenshot({ path: join(SHOTS, "error.png"), fullPage: true });

// ---------------------------------------------------------------------------------------------
// Generation.
await page.click('[data-testid="tab-generate"]');
await page.fill('[data-testid="mnemonic-input"]', M1);
await page.fill('[data-testid="count-input"]', "3");
await page.fill('[data-testid="fee-recipient-input"]', FEE);
await run("generate-keys-button", "registration-output");
check("generated keystore equals `validator-keys new`", (await text("keystore-output")) === plainKeystore);
check("generated registration equals `new --staker-output`", (await text("registration-output")) === plainRegistration);
await page.click('[data-testid="new-mnemonic-button"]');
const fresh = await page.inputValue('[data-testid="mnemonic-input"]');
check("a fresh mnemonic comes from the browser's CSPRNG", fresh.split(" ").length === 12 && fresh !== M1);
await page.fill('[data-testid="mnemonic-input"]', M1);
if (SHOTS) await page.screenshot({ path: join(SHOTS, "generate.png"), fullPage: true });

// ---------------------------------------------------------------------------------------------
// Verification: the same checklist as `validator-keys verify --json`.
function lines(report) {
  const out = [];
  const fmt = (prefix, c) => `${prefix}[${c.status.toUpperCase()}] ${c.id}: ${c.detail}`;
  for (const c of report.document) out.push(fmt("", c));
  for (const e of report.entries) for (const c of e.checks) out.push(fmt(`entry ${e.index} `, c));
  return out;
}
async function verifyView(doc, file) {
  await page.fill('[data-testid="verify-input"]', doc);
  await page.click('[data-testid="verify-button"]');
  await page.waitForSelector('[data-testid="verify-status"] .check');
  const shown = await page.locator('[data-testid="verify-status"] .check').allTextContents();
  writeFileSync(join(work, file), doc);
  let cli;
  try { cli = cairn(["validator-keys", "verify", "--json", join(work, file)], work); }
  catch (e) { cli = e.stdout; }
  return { shown, expected: lines(JSON.parse(cli)) };
}
await page.click('[data-testid="tab-verify"]');
let v = await verifyView(plainRegistration, "good.json");
check("verify view lists the CLI's checklist", JSON.stringify(v.shown) === JSON.stringify(v.expected));
check("verify view says OK", (await text("verify-status")).includes("OK"));
if (SHOTS) await page.screenshot({ path: join(SHOTS, "verify.png"), fullPage: true });
const bad = JSON.parse(plainRegistration);
bad[0].proofOfPossession = bad[1].proofOfPossession;
v = await verifyView(JSON.stringify(bad, null, 2), "bad.json");
check("a PoP that does not verify is listed as the CLI lists it", JSON.stringify(v.shown) === JSON.stringify(v.expected));
const msg = await page.locator('[data-testid="error-message"]').textContent().catch(() => "");
check("bad input: a PoP that does not verify", (msg ?? "").includes("failed"), msg);

// ---------------------------------------------------------------------------------------------
// Provider batches, checked against Foundry's encoder.
await page.click('[data-testid="tab-batches"]');
await page.fill('[data-testid="batch-input"]', readFileSync(join(hundred, "key1_staker_output.json"), "utf8"));
await page.fill('[data-testid="registry-input"]', "0x00000000000000000000000000000000000000aa");
await page.fill('[data-testid="provider-id-input"]', "7");
await page.fill('[data-testid="batch-size-input"]', "40");
await run("batch-button", "batch-output");
const out = await text("batch-output");
const calldatas = [...out.matchAll(/^calldata (0x[0-9a-f]+)$/gm)].map((m) => m[1]);
const casts = [...out.matchAll(/^cast send \S+ '([^']+)' (\d+) '([^']+)'/gm)];
let castOk = calldatas.length === 3 && casts.length === 3;
for (let i = 0; castOk && i < casts.length; i++) {
  const theirs = execFileSync(CAST, ["calldata", casts[i][1], casts[i][2], casts[i][3]], { encoding: "utf8" }).trim();
  castOk = theirs === calldatas[i];
}
check("provider batches: 100 keys in 3 transactions, calldata equal to `cast calldata`", castOk);
if (SHOTS) await page.screenshot({ path: join(SHOTS, "batches.png"), fullPage: true });

// ---------------------------------------------------------------------------------------------
check("no network request after load", lateRequests.length === 0, lateRequests.join(", "));
check("no page errors", errors.length === 0, errors.join("; "));

const sizes = {};
for (const f of readdirSync(DIST)) {
  if (!/\.(wasm|js|css|html)$/.test(f)) continue;
  const raw = readFileSync(join(DIST, f));
  sizes[f] = { raw: statSync(join(DIST, f)).size, gzip: gzipSync(raw, { level: 9 }).length };
}
results.sizes = sizes;
results.totalGzip = Object.values(sizes).reduce((a, s) => a + s.gzip, 0);
console.log(JSON.stringify(results, null, 2));

await browser.close();
server.kill();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
