#!/usr/bin/env node
// Runs the whole mocha suite once per implementation: native, then TypeScript.
// MQTTSN_NATIVE=0 (or 1) runs that implementation alone. Extra arguments go to
// mocha, e.g. `npm test -- dist/test/codec/*.test.js`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const mocha = require.resolve('mocha/bin/mocha.js', { paths: [root] });
const requested = process.env.MQTTSN_NATIVE;
const passes = requested === undefined || requested === '' ? ['1', '0'] : [requested];
const extra = process.argv.slice(2);
const specs = extra.some((arg) => !arg.startsWith('-')) ? extra : [...extra, 'dist/test/**/*.test.js'];
// A watchdog: a suite that leaks a handle must fail, not hang CI.
const limitMs = Number(process.env.MQTTSN_TEST_LIMIT_MS || 15 * 60 * 1000);

let passed = 0;
let failed = 0;
/** Failures of every pass, repeated at the end where a truncated log still shows them. */
const failures = [];
let exitCode = 0;
for (const mode of passes) {
  const label = mode === '0' ? 'TypeScript' : 'native';
  console.log(`\n=== ${label} implementation (MQTTSN_NATIVE=${mode}) ===`);
  const summary = path.join(os.tmpdir(), `mqttsn-test-${process.pid}-${mode}.json`);
  fs.rmSync(summary, { force: true });
  const result = spawnSync(process.execPath, [mocha, ...specs], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MQTTSN_NATIVE: mode, MQTTSN_TEST_SUMMARY: summary },
    timeout: limitMs,
    killSignal: 'SIGKILL',
  });
  if (result.error || result.signal) {
    console.error(`${label} run did not finish: ${result.error ? result.error.message : result.signal}`);
    exitCode = 1;
  }
  if (fs.existsSync(summary)) {
    const stats = JSON.parse(fs.readFileSync(summary, 'utf8'));
    passed += stats.passes;
    failed += stats.failures;
    for (const f of stats.failed ?? []) failures.push({ label, ...f });
    fs.rmSync(summary, { force: true });
  } else {
    failed += 1;
  }
  if (result.status !== 0) exitCode = 1;
}
for (const f of failures) console.log(`\nFAILED (${f.label}): ${f.title}\n  ${f.error.replace(/\n/g, '\n  ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
