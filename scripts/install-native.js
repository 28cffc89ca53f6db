#!/usr/bin/env node
// Builds the optional native addon at install time. A failed build never fails
// the install: the package then runs on its TypeScript path.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
if (process.env.MQTTSN_NATIVE === '0') {
  console.log('mqtt-sn: MQTTSN_NATIVE=0, native addon not built; using the TypeScript codec.');
  process.exit(0);
}
let gypBuild;
try {
  gypBuild = require.resolve('node-gyp-build/bin.js', { paths: [root] });
} catch {
  console.warn('mqtt-sn: node-gyp-build is missing; using the TypeScript codec.');
  process.exit(0);
}
// The twin contract header is committed and shipped; where the TypeScript is
// built (a development tree), regenerate it first so a changed table compiles in.
const generator = path.join(root, 'dist', 'scripts', 'native-contract.js');
if (fs.existsSync(generator)) spawnSync(process.execPath, [generator, 'write'], { cwd: root, stdio: 'inherit' });
const result = spawnSync(process.execPath, [gypBuild], { cwd: root, stdio: 'inherit', env: process.env });
if (result.status !== 0) {
  console.warn('mqtt-sn: the native addon could not be built; using the TypeScript codec (same behaviour, measured in `npm run bench`).');
}
process.exit(0);
