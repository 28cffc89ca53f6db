#!/usr/bin/env node
// Builds the Node-API prebuild that `npm pack` puts in the package
// (prebuilds/<platform>-<arch>/node.napi.<libc>.node), so that installs find a
// working addon without a compiler and without running install scripts;
// node-gyp-build loads it at run time. One Node-API build serves every Node
// version from 20 on. Fails the pack when the addon cannot be built: a package
// without its prebuild would silently fall back to compiling at install.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const env = { ...process.env };
// Build against the headers of the running Node (include/node under its prefix) rather than downloading any.
const prefix = path.dirname(path.dirname(process.execPath));
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
const bin = require.resolve('prebuildify/bin.js', { paths: [root] });
fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
const result = spawnSync(process.execPath, [bin, '--napi', '--strip', '--tag-libc', '--target', process.version], { cwd: root, stdio: 'inherit', env });
if (result.status !== 0) {
  console.error('mqtt-sn: the prebuild could not be made; the package is not packed without it.');
  process.exit(1);
}
