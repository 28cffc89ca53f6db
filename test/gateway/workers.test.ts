/**
 * mqtt-sn-gateway --workers N: gateway processes sharing one UDP port
 * (SO_REUSEPORT on the native engine), one embedded broker in the primary,
 * logs and /metrics merged there.
 */
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import { MqttSnGateway } from '../../lib/gateway';
import { GATEWAY_CLI, runGateway, waitForOutput } from '../helpers/gateway-process';
import { RawClient } from '../helpers/gateway-raw-client';
import { sample, scrapeUntil } from '../helpers/metrics-scrape';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { freeTcpPort } from '../helpers/net';

describe('mqtt-sn-gateway --workers', function () {
  this.timeout(30000);

  it('refuses more than one worker without the native addon, saying why, with exit code 2', () => {
    const result = spawnSync(process.execPath, [GATEWAY_CLI, '--workers', '2', '--port', '0'], { encoding: 'utf8', env: { ...process.env, MQTTSN_NATIVE: '0' } });
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /--workers 2 needs the native addon \(MQTTSN_NATIVE=0 turns it off\): the workers share the UDP port with SO_REUSEPORT/);
  });

  it('leaves discovery to another gateway with discovery: false, and still serves clients', async () => {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, discovery: false });
    await gateway.start();
    const client = await RawClient.open(gateway.address().port);
    try {
      client.send({ type: 'SEARCHGW', radius: 0 });
      assert.ok(await client.silent('GWINFO', 500), 'no GWINFO');
      assert.strictEqual((await client.connect('no-discovery')).returnCode, 0);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });

  it('spreads clients over two workers on one port, with one broker, merged logs and metrics, and stops them on SIGTERM', async () => {
    const metricsPort = await freeTcpPort();
    // The workers need the addon whichever twin this test pass runs on.
    const gateway = runGateway(['--workers', '2', '--port', '0', '--host', '127.0.0.1', '--metrics-port', String(metricsPort)], { ...process.env, MQTTSN_NATIVE: '1' });
    const clients: RawClient[] = [];
    let inbox: MqttInbox | undefined;
    try {
      const [, udpPort, brokerUrl] = await waitForOutput(gateway, /2 gateway workers share udp 127\.0\.0\.1:(\d+), broker (mqtt:\/\/[\d.:]+)/, 20000);
      inbox = await MqttInbox.connect(brokerUrl);
      await inbox.subscribe('workers/#');
      for (let i = 0; i < 16; i++) clients.push(await RawClient.open(Number(udpPort)));
      for (const [i, client] of clients.entries()) assert.strictEqual((await client.connect(`worker-client-${i}`)).returnCode, 0);
      // Sixteen source ports all hashed to one worker would be a 1 in 32,768 chance.
      await waitForOutput(gateway, /\[worker 0\] client worker-client-\d+ connected/);
      await waitForOutput(gateway, /\[worker 1\] client worker-client-\d+ connected/);
      for (const [i, client] of clients.entries()) {
        const topicId = await client.register(`workers/${i}`);
        client.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 0, topicId, msgId: 0, payload: Buffer.from(`from ${i}`) });
        assert.strictEqual((await inbox.next(`workers/${i}`)).payload.toString(), `from ${i}`);
      }
      const text = await scrapeUntil(`http://127.0.0.1:${metricsPort}`, (t) => sample(t, 'mqttsn_gateway_clients', { state: 'active' }) === 16);
      assert.ok((sample(text, 'mqttsn_gateway_datagrams_received_total') ?? 0) >= 48, 'CONNECT, REGISTER and PUBLISH of every client counted');
    } finally {
      await inbox?.close();
      await Promise.all(clients.map((c) => c.close()));
      gateway.child.kill('SIGTERM');
    }
    assert.strictEqual(await gateway.exited, 0);
    assert.strictEqual(gateway.output().match(/gateway stopped/g)?.length, 2);
  });
});
