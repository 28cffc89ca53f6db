/**
 * How the codec and the timers choose their twin: the same rule for both, on
 * first use, in a fresh process each time (the choice is made once per process).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAddon } from '../../lib/native';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRY = path.join(ROOT, 'dist', 'lib', 'index.js');

interface Report {
  loadedOnRequire: number;
  codec?: string;
  timers?: string;
  roundTrip?: boolean;
  expired?: number[];
  error?: string;
  dlopen: number;
  nodeFiles: string[];
}

/**
 * Runs a user program in a child process: require the package, encode and
 * decode, use a timer queue, and report which twins ran and whether any
 * native module was opened.
 */
function runUser(entry: string, native: string | undefined): Report {
  const program = `
    const opened = [];
    const dlopen = process.dlopen;
    process.dlopen = function (module, file, ...rest) { opened.push(file); return dlopen.call(this, module, file, ...rest); };
    const report = () => ({
      dlopen: opened.length,
      nodeFiles: Object.keys(require.cache).filter((file) => file.endsWith('.node')),
    });
    const sn = require(${JSON.stringify(entry)});
    const loadedOnRequire = opened.length;
    try {
      const bytes = sn.encode({ type: 'PUBLISH', qos: 1, topicIdType: 2, topicId: 'ab', msgId: 7, payload: Buffer.from('21.5') });
      const roundTrip = sn.encode(sn.decode(bytes)).equals(bytes);
      const timers = sn.createTimerQueue();
      timers.schedule(2, 20);
      timers.schedule(1, 10);
      const expired = timers.expire(20);
      console.log(JSON.stringify({ loadedOnRequire, codec: sn.codecImplementation(), timers: sn.timerImplementation(), roundTrip, expired, ...report() }));
    } catch (err) {
      console.log(JSON.stringify({ loadedOnRequire, error: err.message, ...report() }));
    }
  `;
  const env = { ...process.env };
  if (native === undefined) delete env.MQTTSN_NATIVE;
  else env.MQTTSN_NATIVE = native;
  const result = spawnSync(process.execPath, ['-e', program], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Report;
}

describe('choosing a twin (MQTTSN_NATIVE)', function () {
  this.timeout(60000);

  for (const value of ['0', undefined]) {
    it(`${value === undefined ? 'unset' : 'MQTTSN_NATIVE=0'}: TypeScript codec and timers, and the addon is never loaded`, () => {
      const report = runUser(ENTRY, value);
      assert.deepEqual(report, {
        loadedOnRequire: 0,
        codec: 'ts',
        timers: 'ts',
        roundTrip: true,
        expired: [1, 2],
        dlopen: 0,
        nodeFiles: [],
      });
    });
  }

  it('MQTTSN_NATIVE=1: native codec and timers, the addon loaded on first use, not on require', function () {
    const { addon, error } = loadAddon();
    if (!addon) {
      // A TypeScript-only install: the case below (no addon) is the one that applies.
      assert.notEqual(process.env.MQTTSN_NATIVE, '1', `the addon must load with MQTTSN_NATIVE=1: ${error?.message}`);
      return;
    }
    const report = runUser(ENTRY, '1');
    assert.equal(report.error, undefined);
    assert.equal(report.loadedOnRequire, 0);
    assert.equal(report.codec, 'native');
    assert.equal(report.timers, 'native');
    assert.equal(report.roundTrip, true);
    assert.deepEqual(report.expired, [1, 2]);
    assert.equal(report.dlopen, 1);
    assert.equal(report.nodeFiles.length, 1);
  });

  describe('MQTTSN_NATIVE=1 where the addon is not built', () => {
    let pkg: string;

    before(() => {
      // The package without build/: what an install without a compiler leaves.
      pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-no-addon-'));
      fs.cpSync(path.join(ROOT, 'dist', 'lib'), path.join(pkg, 'dist', 'lib'), { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'no-addon', version: '0.0.0' }));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    });

    after(() => {
      fs.rmSync(pkg, { recursive: true, force: true });
    });

    it('fails loudly on first use, saying how to fix it', () => {
      const report = runUser(path.join(pkg, 'dist', 'lib', 'index.js'), '1');
      assert.match(report.error ?? '', /MQTTSN_NATIVE=1 but the native addon could not be loaded[^]*npx node-gyp rebuild/);
      assert.equal(report.codec, undefined);
    });

    it('fails loudly when a client is constructed, before any datagram could be misread', () => {
      const program = `
        const sn = require(${JSON.stringify(path.join(pkg, 'dist', 'lib', 'index.js'))});
        try { new sn.MQTTSN(); console.log('constructed'); } catch (err) { console.log(err.message); }
      `;
      const result = spawnSync(process.execPath, ['-e', program], {
        env: { ...process.env, MQTTSN_NATIVE: '1' },
        encoding: 'utf8',
        timeout: 20000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^MQTTSN_NATIVE=1 but the native addon could not be loaded/);
    });

    it('runs the TypeScript twins unset', () => {
      const report = runUser(path.join(pkg, 'dist', 'lib', 'index.js'), undefined);
      assert.equal(report.codec, 'ts');
      assert.equal(report.timers, 'ts');
      assert.equal(report.dlopen, 0);
    });
  });

  it('an MQTTSN_NATIVE that is neither 0 nor 1 is an error on first use', () => {
    const report = runUser(ENTRY, 'maybe');
    assert.equal(report.loadedOnRequire, 0);
    assert.match(report.error ?? '', /MQTTSN_NATIVE must be 0 or 1/);
  });
});
