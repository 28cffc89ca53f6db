#!/usr/bin/env node
// Node-RED loads a node's editor HTML, locales and icons from beside its .js
// file: copy them from nodes/ into dist/nodes/ after tsc.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'nodes');
const to = path.join(root, 'dist', 'nodes');

function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    const target = path.join(to, path.relative(from, source));
    if (entry.isDirectory()) {
      copy(source);
    } else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
}

if (fs.existsSync(from)) copy(from);
