#!/usr/bin/env node
// Minimal stand-in for the `aztec` binary of @aztec/aztec@4.1.2, restricted to the
// validator-key commands that cairn re-implements:
//
//   aztec validator-keys new|add|staker ...   (aliases valKeys / valkeys)
//   aztec generate-bls-keypair ...
//
// The commands themselves come unmodified from `@aztec/cli/validator_keys`
// (`injectCommands(program, log)`), exactly as the real binary wires them:
//
//   real @aztec/aztec 4.1.2 dest/bin/index.js:
//     const userLog = createConsoleLogger();            // === console.log (no prefix)
//     let program = new Command('aztec');
//     program.description(...).version(cliVersion).enablePositionalOptions();
//     ...
//     program = injectValidatorKeysCommands(program, userLog);
//     await program.parseAsync(process.argv);
//
// so `log` is plain console.log: every line goes to stdout, no prefix, no ANSI.
//
// Only the failure path differs. The real binary does
//     debugLogger.error('Error in command execution'); debugLogger.error(err + '\n' + err.stack);
//     process.exitCode = 1; throw err;
// i.e. it prints two pino log records (with timestamps) plus Node's uncaught-exception
// dump of the stack to stderr, none of which is stable. Here we print the stable part,
// `String(err)` (the same text the real binary puts after "Error in command execution"),
// as a single stderr line, and exit 1 like the real binary.
// Commander's own argument errors (`error: option ... argument ... is invalid`, missing
// required option, unknown option) are untouched: commander prints them to stderr and
// exits 1 itself, byte-identical to the real binary.
import { injectCommands } from '@aztec/cli/validator_keys';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const cliVersion = JSON.parse(
  readFileSync(new URL('./node_modules/@aztec/cli/package.json', import.meta.url), 'utf-8'),
).version;

const log = (...args) => console.log(...args);

async function main() {
  let program = new Command('aztec');
  program.description('Aztec command line interface').version(cliVersion).enablePositionalOptions();
  program = injectCommands(program, log);
  await program.parseAsync(process.argv);
}

main().catch(err => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
