/**
 * mqtt-sn-gateway --workers N: gateway processes sharing one UDP port
 * (SO_REUSEPORT on the native engine), one embedded broker in the primary,
 * logs and /metrics merged there.
 */
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import { decode, encode } from '../../lib/codec';
import { MqttSnGateway } from '../../lib/gateway';
import { udpTransport } from '../../lib/transport/udp';
import { GATEWAY_CLI, runGateway, waitForOutput } from '../helpers/gateway-process';
import { RawClient } from '../helpers/gateway-raw-client';
import { sample, scrapeUntil } from '../helpers/metrics-scrape';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { freeTcpPort } from '../helpers/net';
import { until } from '../helpers/until';

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

  it('answers discovery exactly once whichever worker a sender hashes to: unicast SEARCHGWs from 24 ports, and a broadcast one', async () => {
    // Every interface: a broadcast to 127.255.255.255 reaches both workers' sockets (all traffic stays on loopback).
    const gateway = runGateway(['--workers', '2', '--port', '0', '--host', '0.0.0.0', '--gateway-id', '42'], { ...process.env, MQTTSN_NATIVE: '1' });
    const clients: RawClient[] = [];
    const broadcaster = udpTransport();
    try {
      const [, udpPort] = await waitForOutput(gateway, /2 gateway workers share udp 0\.0\.0\.0:(\d+)/, 20000);
      const port = Number(udpPort);
      // One loopback address each: the gateway answers one SEARCHGW a second per source address.
      for (let i = 0; i < 24; i++) clients.push(await RawClient.open(port, '127.0.0.1', 0, { localAddress: `127.0.0.${10 + i}` }));
      const answers = await Promise.all(clients.map((client) => client.request({ type: 'SEARCHGW', radius: 0 }, 'GWINFO', 10000)));
      assert.ok(answers.every((answer) => answer.gwId === 42));
      // These source ports reach both workers (so without steering some SEARCHGW would have gone to the second one)...
      for (const [i, client] of clients.entries()) assert.strictEqual((await client.connect(`searcher-${i}`)).returnCode, 0);
      await waitForOutput(gateway, /\[worker 1\] client searcher-\d+ connected/);
      // ...and none was answered twice.
      assert.deepStrictEqual(clients.map((client) => client.inbox.filter((p) => p.type === 'GWINFO').length), clients.map(() => 0));

      const heard: string[] = [];
      broadcaster.onReceive((batch) => heard.push(...batch.map((d) => decode(d.data).type)));
      await broadcaster.bind({ family: 4, address: '127.0.0.1', port: 0, broadcast: true });
      broadcaster.send(encode({ type: 'SEARCHGW', radius: 0 }), { address: '127.255.255.255', port });
      await until(() => heard.length >= 1, 'a GWINFO for the broadcast SEARCHGW', 10000);
      // Both workers got the broadcast; a second answer would come as fast as the first.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepStrictEqual(heard, ['GWINFO']);
    } finally {
      await broadcaster.close();
      await Promise.all(clients.map((c) => c.close()));
      gateway.child.kill('SIGTERM');
    }
    assert.strictEqual(await gateway.exited, 0);
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
