/**
 * Runs a script against a copy of the compiled package that has neither
 * build/ nor prebuilds/: what an install without a working compiler (and
 * without a matching prebuild) gets. Returns what the script printed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** `script` runs with the copy as its working directory: require('./dist/lib/...') or './dist/nodes/mqtt-sn.js'. */
export function runWithoutAddon(script: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-no-addon-'));
  const dist = path.resolve(__dirname, '..', '..');
  try {
    fs.cpSync(path.join(dist, 'lib'), path.join(root, 'dist', 'lib'), { recursive: true });
    // The Node-RED nodes too, for scripts that run them without the addon.
    fs.cpSync(path.join(dist, 'nodes'), path.join(root, 'dist', 'nodes'), { recursive: true });
    fs.symlinkSync(path.resolve(dist, '..', 'node_modules'), path.join(root, 'node_modules'));
    // node-red-node-test-helper looks for the package.json above the working directory.
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'no-addon-copy', private: true }));
    return execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, MQTTSN_NATIVE: '' } });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
