#!/usr/bin/env node
// Runs the golden-case matrix (cases.json) against the reference tool and records the
// results under data/. Normally called by regen.sh, which installs the reference and
// starts/stops the devnet; see README.md for the layout of what is written.
//
// node run-cases.mjs [--cases FILE] [--out DIR] [--aztec FILE] [--jobs N]
//                    [--only NAME]... [--no-chain | --chain-only]
//                    [--gse ADDR --rpc URL] [--cross CAIRN_BIN] [--list]
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = {
    cases: join(HERE, 'cases.json'),
    out: join(HERE, 'data'),
    aztec: join(HERE, 'reference', 'aztec.mjs'),
    jobs: 2,
    only: [],
    chain: 'auto', // auto: run chain cases iff --gse/--rpc given
    gse: undefined,
    rpc: undefined,
    cross: undefined,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--cases': o.cases = resolve(val()); break;
      case '--out': o.out = resolve(val()); break;
      case '--aztec': o.aztec = resolve(val()); break;
      case '--jobs': o.jobs = Math.max(1, parseInt(val(), 10) || 1); break;
      case '--only': o.only.push(...val().split(',').filter(Boolean)); break;
      case '--no-chain': o.chain = 'none'; break;
      case '--chain-only': o.chain = 'only'; break;
      case '--gse': o.gse = val(); break;
      case '--rpc': o.rpc = val(); break;
      case '--cross': o.cross = resolve(val()); break;
      case '--list': o.list = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if ((o.gse === undefined) !== (o.rpc === undefined)) throw new Error('--gse and --rpc go together');
  if (o.gse !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(o.gse)) throw new Error(`bad --gse ${o.gse}`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const doc = JSON.parse(readFileSync(opts.cases, 'utf-8'));
const VARS = doc.vars ?? {};

// --- placeholder handling ------------------------------------------------------------------
// {NAME} from vars is always expanded (not kept in the recorded case). {DIR}, {GSE}, {RPC}
// are kept in the recorded case and expanded only for running.
const KEPT = new Set(['DIR', 'GSE', 'RPC']);
function expandVars(s) {
  return s.replace(/\{([A-Za-z0-9_]+)\}/g, (m, name) => {
    if (KEPT.has(name)) return m;
    if (!(name in VARS)) throw new Error(`unknown placeholder ${m}`);
    return VARS[name];
  });
}
function expandRun(s, ctx) {
  return expandVars(s).replace(/\{(DIR|GSE|RPC)\}/g, (m, name) => {
    const v = ctx[name];
    if (v === undefined) throw new Error(`placeholder ${m} has no value in this run`);
    return v;
  });
}
function deepMap(v, f) {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map(x => deepMap(x, f));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepMap(x, f)]));
  return v;
}
function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
// Inverse substitution applied to everything recorded: actual values -> placeholders.
function makeScrubber(ctx) {
  const rules = [[new RegExp(escapeRe(ctx.DIR), 'g'), '{DIR}']];
  if (ctx.RPC) rules.push([new RegExp(escapeRe(ctx.RPC), 'g'), '{RPC}']);
  if (ctx.GSE) rules.push([new RegExp('0x' + ctx.GSE.slice(2), 'gi'), '{GSE}']);
  return s => rules.reduce((acc, [re, rep]) => acc.replace(re, rep), s);
}
function scrubBuffer(buf, scrub) {
  const s = buf.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(buf)) return buf; // not UTF-8: keep raw
  return Buffer.from(scrub(s), 'utf8');
}

// --- filesystem helpers --------------------------------------------------------------------
function snapshot(root) {
  const out = new Map();
  const walk = d => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}
function writeTree(dir, files, scrub) {
  for (const [rel, buf] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, scrubBuffer(buf, scrub));
  }
}
function deleteKey(v, key) {
  if (Array.isArray(v)) return v.map(x => deleteKey(x, key));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== key).map(([k, x]) => [k, deleteKey(x, key)]));
  }
  return v;
}

// --- process helpers -----------------------------------------------------------------------
function run(file, args, { cwd, env, timeoutMs = 10 * 60 * 1000 }) {
  return new Promise(res => {
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', e => {
      clearTimeout(t);
      res({ code: 127, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.from(String(e) + '\n') });
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      res({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}
function baseEnv(dir, extra) {
  // A clean environment: nothing from the caller leaks into the reference except PATH.
  return { PATH: process.env.PATH, HOME: join(dir, '.home'), LANG: 'C.UTF-8', TZ: 'UTC', ...(extra ?? {}) };
}
function invoke(runner, args, cwd, env) {
  if (runner === 'cairn') {
    if (!opts.cross) throw new Error('cairn runner needs --cross CAIRN_BIN');
    return run(opts.cross, args, { cwd, env });
  }
  return run(process.execPath, [opts.aztec, ...args], { cwd, env });
}

// --- one case ------------------------------------------------------------------------------
async function runCase(c, outRoot) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-golden-'));
  const ctx = { DIR: dir, GSE: opts.gse, RPC: opts.rpc };
  const scrub = makeScrubber(ctx);
  const caseOut = join(outRoot, c.name);
  const env = baseEnv(dir, c.env);
  const extras = [];
  try {
    // setup
    for (const [i, step] of (c.setup ?? []).entries()) {
      if (step.run || step.cairn) {
        const runner = step.run ? 'reference' : 'cairn';
        const args = (step.run ?? step.cairn).map(a => expandRun(a, ctx));
        const r = await invoke(runner, args, dir, baseEnv(dir, step.env ?? c.env));
        if (runner === 'cairn') {
          extras.push([`setup-${i}-cairn.stdout.txt`, r.stdout]);
          if (r.stderr.length) extras.push([`setup-${i}-cairn.stderr.txt`, r.stderr]);
        }
        if (r.code !== 0) {
          throw new Error(
            `setup step ${i} (${runner}) exited ${r.code ?? r.signal}:\n${r.stdout}${r.stderr}`,
          );
        }
      } else if (step.write) {
        const p = join(dir, expandRun(step.write, ctx));
        mkdirSync(dirname(p), { recursive: true });
        const content =
          step.json !== undefined
            ? JSON.stringify(deepMap(step.json, s => expandRun(s, ctx)), null, 2)
            : expandRun(step.text, ctx);
        writeFileSync(p, content);
      } else if (step.mkdir) {
        mkdirSync(join(dir, expandRun(step.mkdir, ctx)), { recursive: true });
      } else if (step.replace) {
        const p = join(dir, expandRun(step.replace.file, ctx));
        const from = expandRun(step.replace.from, ctx);
        const s = readFileSync(p, 'utf-8');
        if (!s.includes(from)) throw new Error(`setup step ${i}: '${from}' not found in ${p}`);
        writeFileSync(p, s.split(from).join(expandRun(step.replace.to, ctx)));
      } else if (step.delete_key) {
        const p = join(dir, expandRun(step.delete_key.file, ctx));
        const obj = deleteKey(JSON.parse(readFileSync(p, 'utf-8')), step.delete_key.key);
        writeFileSync(p, JSON.stringify(obj, null, 2));
      } else {
        throw new Error(`unknown setup step ${JSON.stringify(step)}`);
      }
    }
    const before = snapshot(dir);
    const args = c.cmd.map(a => expandRun(a, ctx));
    const runner = c.runner ?? 'reference';
    const t0 = process.hrtime.bigint();
    const r = await invoke(runner, args, dir, env);
    const ms = Number((process.hrtime.bigint() - t0) / 1000000n);
    const after = snapshot(dir);

    const written = new Map();
    for (const [rel, buf] of after) {
      const old = before.get(rel);
      if (!old || !old.equals(buf)) written.set(rel, buf);
    }
    const deleted = [...before.keys()].filter(rel => !after.has(rel)).sort();

    rmSync(caseOut, { recursive: true, force: true });
    mkdirSync(caseOut, { recursive: true });
    const record = {
      name: c.name,
      runner,
      cmd: c.cmd.map(expandVars),
      env: c.env ?? {},
      cwd: '{DIR}',
      ...(c.setup ? { setup: deepMap(c.setup, expandVars) } : {}),
      exit_code: r.code,
      ...(r.signal ? { signal: r.signal } : {}),
      chain: !!c.chain,
      random: c.random ?? [],
      ...(c.note ? { note: c.note } : {}),
      ...(before.size ? { input_files: [...before.keys()].sort() } : {}),
      files: [...written.keys()].sort(),
      ...(deleted.length ? { deleted_files: deleted } : {}),
    };
    writeFileSync(join(caseOut, 'case.json'), JSON.stringify(record, null, 2) + '\n');
    writeFileSync(join(caseOut, 'stdout.txt'), scrubBuffer(r.stdout, scrub));
    if (r.stderr.length) writeFileSync(join(caseOut, 'stderr.txt'), scrubBuffer(r.stderr, scrub));
    for (const [name, buf] of extras) writeFileSync(join(caseOut, name), scrubBuffer(buf, scrub));
    if (before.size) writeTree(join(caseOut, 'input'), before, scrub);
    writeTree(join(caseOut, 'files'), written, scrub);
    return { name: c.name, code: r.code, ms, files: written.size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- selection and driver ------------------------------------------------------------------
const chainOk = opts.gse !== undefined;
let selected = [
  ...doc.cases.map(c => ({ c, out: opts.out })),
  ...(opts.cross ? (doc.cross ?? []).map(c => ({ c, out: join(opts.out, 'cross') })) : []),
];
if (opts.only.length) {
  const known = new Set([...doc.cases, ...(doc.cross ?? [])].map(c => c.name));
  for (const n of opts.only) if (!known.has(n)) throw new Error(`--only: no case named ${n}`);
  selected = selected.filter(({ c }) => opts.only.includes(c.name));
}
if (opts.chain === 'none' || (opts.chain === 'auto' && !chainOk)) selected = selected.filter(({ c }) => !c.chain);
if (opts.chain === 'only') selected = selected.filter(({ c }) => c.chain);
if (opts.list) {
  for (const { c } of selected) console.log(`${c.name}${c.chain ? ' [chain]' : ''}${c.random ? ' [random]' : ''}`);
  process.exit(0);
}
if (selected.some(({ c }) => c.chain) && !chainOk) throw new Error('chain cases selected but no --gse/--rpc given');
if (!existsSync(opts.aztec)) throw new Error(`reference wrapper not found: ${opts.aztec}`);

if (opts.cross && selected.some(({ c }) => c.runner === 'cairn' || (c.setup ?? []).some(st => st.cairn))) {
  // Remember which cairn wrote the cross goldens.
  const v = await run(opts.cross, ['--version'], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
  mkdirSync(join(opts.out, 'cross'), { recursive: true });
  writeFileSync(
    join(opts.out, 'cross', 'meta.json'),
    JSON.stringify({ cairn_version: v.stdout.toString('utf8').trim(), cairn_exit_code: v.code }, null, 2) + '\n',
  );
}

const results = [];
const failures = [];
let next = 0;
async function worker() {
  while (next < selected.length) {
    const { c, out } = selected[next++];
    try {
      const r = await runCase(c, out);
      results.push(r);
      console.log(`${r.name.padEnd(44)} exit=${String(r.code).padEnd(3)} files=${String(r.files).padEnd(3)} ${r.ms} ms`);
    } catch (e) {
      failures.push(c.name);
      console.error(`${c.name}: HARNESS ERROR: ${e.message}`);
    }
  }
}
await Promise.all(Array.from({ length: opts.jobs }, worker));

// Prune recorded cases that no longer exist in cases.json (only when the whole matrix ran).
if (!opts.only.length && opts.chain !== 'only') {
  const names = new Set(doc.cases.map(c => c.name));
  if (existsSync(opts.out)) {
    for (const e of readdirSync(opts.out)) {
      if (e === 'cross') continue;
      if (statSync(join(opts.out, e)).isDirectory() && !names.has(e)) {
        rmSync(join(opts.out, e), { recursive: true, force: true });
        console.log(`pruned stale ${e}`);
      }
    }
  }
}
console.log(`${results.length} recorded, ${failures.length} harness errors`);
if (failures.length) {
  console.error(`harness errors: ${failures.join(', ')}`);
  process.exit(1);
}
