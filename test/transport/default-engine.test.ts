/**
 * Which datagram engine the gateway and the client run on when none is given:
 * the native batched engine where the addon has it, node:dgram with
 * MQTTSN_NATIVE=0, and whatever transport the options name. Each in a fresh
 * process, as a user starts it.
 */
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { MQTTSN } from '../../lib/client';
import { nativeUdpAvailable } from '../../lib/transport/native-udp';
import { udpTransport } from '../../lib/transport/udp';
import { MqttSnGateway, type GatewayLogEntry } from '../../lib/gateway';
import { runGateway, waitForOutput } from '../helpers/gateway-process';
import { RawClient } from '../helpers/gateway-raw-client';

async function engineOfCommand(native: string | undefined): Promise<string> {
  const env = { ...process.env };
  if (native === undefined) delete env.MQTTSN_NATIVE;
  else env.MQTTSN_NATIVE = native;
  const gateway = runGateway(['--host', '127.0.0.1', '--port', '0'], env);
  try {
    const [, kind, port] = await waitForOutput(gateway, /listening on ((?:native-)?udp) 127\.0\.0\.1:(\d+)/, 20000);
    // It serves on that engine.
    const client = await RawClient.open(Number(port));
    try {
      assert.strictEqual((await client.connect(`engine-${kind}`)).returnCode, 0);
    } finally {
      await client.close();
    }
    return kind;
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
  }
}

/** The kind of transport a client made without one gets, in a fresh process. */
function clientEngine(native: string | undefined): string {
  const env = { ...process.env };
  if (native === undefined) delete env.MQTTSN_NATIVE;
  else env.MQTTSN_NATIVE = native;
  const entry = path.resolve(__dirname, '../../lib/transport/default.js');
  const result = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(entry)}).measuredDefaultTransport()().kind)`], { env, encoding: 'utf8', timeout: 20000 });
  assert.strictEqual(result.status, 0, result.stderr);
  return result.stdout;
}

describe('the datagram engine by default', function () {
  this.timeout(60000);
  // The addon is built wherever the tests run (both passes); without it, node:dgram is the only engine.
  const native = nativeUdpAvailable() ? 'native-udp' : 'udp';

  it(`MQTTSN_NATIVE unset: ${native}, the engine measured faster where the addon has it`, async () => {
    assert.strictEqual(await engineOfCommand(undefined), native);
  });

  it(`MQTTSN_NATIVE=1: ${native}`, async () => {
    assert.strictEqual(await engineOfCommand('1'), native);
  });

  it('MQTTSN_NATIVE=0: node:dgram', async () => {
    assert.strictEqual(await engineOfCommand('0'), 'udp');
  });

  for (const value of [undefined, '1', '0']) {
    it(`the client (MQTTSN, MqttSnClient) with MQTTSN_NATIVE ${value ?? 'unset'}: ${value === '0' ? 'udp' : native}`, () => {
      assert.strictEqual(clientEngine(value), value === '0' ? 'udp' : native);
    });
  }

  it('a client made with a transport talks over it', async () => {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, transport: udpTransport, logLevel: 'error' });
    await gateway.start();
    const kinds: string[] = [];
    const client = new MQTTSN({ transport: () => {
      const transport = udpTransport();
      kinds.push(transport.kind);
      return transport;
    } });
    try {
      await client.connectTo('127.0.0.1', gateway.address().port);
      await client.disconnect();
      assert.ok(kinds.length > 0 && kinds.every((kind) => kind === 'udp'), kinds.join());
    } finally {
      client.reset();
      await gateway.stop();
    }
  });

  it('a transport in the gateway\'s options wins', async () => {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, transport: udpTransport });
    const logs: string[] = [];
    gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry.message));
    await gateway.start();
    try {
      assert.ok(logs.some((line) => /listening on udp 127\.0\.0\.1:\d+/.test(line)), logs.join('\n'));
    } finally {
      await gateway.stop();
    }
  });
});
