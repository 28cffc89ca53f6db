/**
 * The mqtt-sn-gateway command, run as a child process.
 */
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GATEWAY_CLI, runGateway, waitForOutput } from '../helpers/gateway-process';
import { parseArguments } from '../../lib/gateway/cli';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox } from '../helpers/mqtt-inbox';

describe('mqtt-sn-gateway command', function () {
  this.timeout(15000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-cli-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with the first line a shebang', () => {
    assert.ok(fs.readFileSync(GATEWAY_CLI, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });

  it('reads the hardening limits and policies from flags over --config', () => {
    const config = path.join(dir, 'limits.json');
    fs.writeFileSync(config, JSON.stringify({ limits: { clients: 50, sessionsPerSource: 7 }, topics: { maxLevels: 9 } }));
    const options = parseArguments([
      '--config', config, '--takeover', 'allow', '--wake-move', 'same-host', '--sessions-per-source', '3',
      '--new-sessions-per-source', '2.5', '--new-sessions-total', '100', '--max-idle', '600', '--search-per-source', '2',
      '--will-update-interval', '500', '--topic-max-length', '256', '--allow-dollar-topics', 'true', '--session-bytes', '65536',
    ]);
    assert.deepStrictEqual(options, {
      takeover: 'allow',
      wakeMove: 'same-host',
      willUpdateInterval: 500,
      limits: { clients: 50, sessionsPerSource: 3, newSessionsPerSource: 2.5, newSessionsTotal: 100, maxIdle: 600, searchPerSource: 2, sessionBytes: 65536 },
      topics: { maxLevels: 9, maxLength: 256, allowDollar: true },
    });
    assert.throws(() => parseArguments(['--max-idle', 'soon']), /--max-idle needs a number/);
  });

  it('prints its options with --help', () => {
    const result = spawnSync(process.execPath, [GATEWAY_CLI, '--help'], { encoding: 'utf8' });
    assert.strictEqual(result.status, 0);
    for (const option of ['--port', '--host', '--broker', '--predefined', '--mode', '--advertise', '--gateway-id', '--config']) {
      assert.ok(result.stdout.includes(option), option);
    }
  });

  it('refuses an unknown option with exit code 2', () => {
    const result = spawnSync(process.execPath, [GATEWAY_CLI, '--colour', 'blue'], { encoding: 'utf8' });
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /unknown option --colour/);
  });

  it('serves clients, logs where it listens and its broker, and stops on SIGTERM', async () => {
    const predefined = path.join(dir, 'predefined.json');
    fs.writeFileSync(predefined, JSON.stringify({ '5': 'cli/predefined' }));
    const gateway = runGateway(['--port', '0', '--host', '127.0.0.1', '--gateway-id', '9', '--predefined', predefined]);
    let client: RawClient | undefined;
    let inbox: MqttInbox | undefined;
    try {
      const [, udpPort] = await waitForOutput(gateway, /listening on (?:native-)?udp 127\.0\.0\.1:(\d+)/);
      const [brokerUrl] = await waitForOutput(gateway, /mqtt:\/\/127\.0\.0\.1:\d+/);
      client = await RawClient.open(Number(udpPort));
      assert.strictEqual((await client.request({ type: 'SEARCHGW', radius: 0 }, 'GWINFO')).gwId, 9);
      inbox = await MqttInbox.connect(brokerUrl);
      await inbox.subscribe('cli/#');
      client.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 1, topicId: 5, msgId: 0, payload: Buffer.from('from the command') });
      assert.strictEqual((await inbox.next('cli/predefined')).payload.toString(), 'from the command');
      await inbox.close();
      inbox = undefined;
    } finally {
      await inbox?.close();
      await client?.close();
      gateway.child.kill('SIGTERM');
    }
    assert.strictEqual(await gateway.exited, 0);
    assert.match(gateway.output(), /gateway stopped/);
  });

  it('reads --config and stops on SIGINT', async () => {
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, mode: 'aggregating', limits: { clients: 1 } }));
    const gateway = runGateway(['--config', config]);
    let a: RawClient | undefined;
    let b: RawClient | undefined;
    try {
      const [, udpPort] = await waitForOutput(gateway, /\(aggregating\) listening on (?:native-)?udp 127\.0\.0\.1:(\d+)/);
      a = await RawClient.open(Number(udpPort));
      b = await RawClient.open(Number(udpPort));
      assert.strictEqual((await a.connect('first')).returnCode, 0);
      assert.strictEqual((await b.connect('second')).returnCode, 1, 'limits.clients from the config file');
    } finally {
      await a?.close();
      await b?.close();
      gateway.child.kill('SIGINT');
    }
    assert.strictEqual(await gateway.exited, 0);
  });
});
