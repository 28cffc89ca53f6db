#!/usr/bin/env node
// Whether dist/ was built from the sources as they are now. `--write` records
// a hash of every file the build reads (after a build); `--check` exits 0
// when dist/ is current, 1 when a build is needed. `npm start` uses it to
// skip the TypeScript build when nothing changed.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.sources.sha256');
/** What tsc and copy-assets read (tsconfig.json's include, plus the assets beside the nodes). */
const SOURCES = ['lib', 'nodes', 'scripts', 'test', 'bench', 'tsconfig.json', 'package.json'];

function files(entry) {
  const full = path.join(root, entry);
  if (!fs.existsSync(full)) return [];
  if (!fs.statSync(full).isDirectory()) return [entry];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((d) => files(path.join(entry, d.name)));
}

/** Content, not modification times: a checkout or a copy keeps the stamp valid. */
function sourceHash() {
  const hash = crypto.createHash('sha256');
  for (const file of SOURCES.flatMap(files)) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const mode = process.argv[2];
if (mode === '--write') {
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, `${sourceHash()}\n`);
} else if (mode === '--check') {
  const current = fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === sourceHash();
  if (!current) console.log('Sources changed since the last build: building.');
  process.exit(current ? 0 : 1);
} else {
  console.error('usage: build-stamp.js --write | --check');
  process.exit(2);
}
