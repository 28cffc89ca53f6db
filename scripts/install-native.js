#!/usr/bin/env node
// Install step of the optional native addon. The package ships a Node-API
// prebuild (prebuilds/, loaded by node-gyp-build at run time, no install script
// needed); only where none matches this platform is the addon compiled here.
// A failed build never fails the install: the package then runs on its
// TypeScript path.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
if (process.env.MQTTSN_NATIVE === '0') {
  console.log('mqtt-sn: MQTTSN_NATIVE=0, native addon not built; using the TypeScript codec.');
  process.exit(0);
}
let load;
try {
  load = require(require.resolve('node-gyp-build', { paths: [root] }));
} catch {
  console.warn('mqtt-sn: node-gyp-build is missing; using the TypeScript codec.');
  process.exit(0);
}
// The twin contract header is committed and shipped; where the TypeScript is
// built (a development tree), regenerate it first so a changed table compiles in.
const generator = path.join(root, 'dist', 'scripts', 'native-contract.js');
if (fs.existsSync(generator)) spawnSync(process.execPath, [generator, 'write'], { cwd: root, stdio: 'inherit' });
try {
  load(root);
  console.log('mqtt-sn: using the prebuilt native addon; nothing to compile.');
  process.exit(0);
} catch {
  // No prebuild (or build) for this platform: compile below.
}
const gypBuild = require.resolve('node-gyp-build/bin.js', { paths: [root] });
const result = spawnSync(process.execPath, [gypBuild], { cwd: root, stdio: 'inherit', env: process.env });
if (result.status !== 0) {
  console.warn('mqtt-sn: the native addon could not be built; using the TypeScript codec (same behaviour, measured in `npm run bench`).');
}
process.exit(0);
