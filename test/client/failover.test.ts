/**
 * Two real gateways in front of one broker. The first sits behind a relay
 * that goes silent; with Failover on, the client moves to the second:
 * connects, registers its topics again, restores its subscriptions and
 * sends what was in flight.
 */
import * as assert from 'node:assert/strict';
import { MqttSnGateway } from '../../lib/gateway';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { LossyRelay } from '../helpers/lossy-relay';
import { NETS, collectMessages, nextEvent, startRig, waitFor, type Rig } from './support';

for (const net of NETS) describe(`MQTTSN client: failover between two gateways (${net.name})`, function () {
  this.timeout(15000);
  let rig: Rig;
  let second: MqttSnGateway;
  let relay: LossyRelay;

  beforeEach(async () => {
    rig = await startRig('embedded', {}, net);
    second = new MqttSnGateway({ host: '127.0.0.1', port: 0, broker: rig.gateway.brokerUrl, gatewayId: 2, logLevel: 'error', transport: rig.net.transport });
    await second.start();
    relay = await LossyRelay.start({ address: '127.0.0.1', port: rig.port }, undefined, rig.net.transport);
  });

  afterEach(async () => {
    await relay.stop();
    await second.stop();
    await rig.stop();
  });

  it('moves to the next gateway, restores topics and subscriptions, and delivers what was in flight', async () => {
    const secondPort = second.address().port;
    const client = rig.client([
      `Gateways=127.0.0.1:${relay.address().port}, 127.0.0.1:${secondPort}`,
      'Failover=True',
      'RetryInterval=0.1',
      'RetryCount=2',
    ]);
    const inbox = collectMessages(client);
    const reconnects: string[] = [];
    client.on('log', (entry) => {
      if (entry.logType === 'Reconnect') reconnects.push(entry.message);
    });
    await client.connect();
    assert.equal(client.remotePort, 0);
    const topic = 'failover/out';
    await rig.inbox.subscribe(topic, 1);
    const id = await client.registerTopic(topic);
    await client.subscribe('failover/in', 0, 1);
    await client.publishMessage(id, 0, 1, 'before');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'before');

    relay.rule = () => 'drop';
    const lost = nextEvent(client, 'disconnected');
    const back = nextEvent(client, 'connected', 5000);
    await client.publishMessage(id, 0, 1, 'in flight');
    assert.equal((await lost).statusCode, ErrorCode.GATEWAY_LOST);
    assert.equal((await back).statusCode, 0);
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'in flight');
    assert.equal(client.remotePort, secondPort);
    assert.equal(second.clientCount, 1);
    assert.ok(reconnects.some((line) => line.includes(`127.0.0.1:${secondPort}`)));

    // The id the caller kept and the subscription both work through the new gateway.
    await client.publishMessage(id, 0, 2, 'after');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'after');
    await rig.inbox.publish('failover/in', 'to the client', 1);
    await waitFor(() => inbox.texts.includes('to the client'), 3000, 'the message through the second gateway');
    await client.disconnect();
  });

  it('stays disconnected when a disconnected listener calls disconnect()', async () => {
    const client = rig.client([
      `Gateways=127.0.0.1:${relay.address().port}, 127.0.0.1:${second.address().port}`,
      'Failover=True',
      'RetryInterval=0.1',
      'RetryCount=1',
    ]);
    await client.connect();
    const id = await client.registerTopic('failover/stop');
    relay.rule = () => 'drop';
    client.once('disconnected', () => void client.disconnect());
    const connects: number[] = [];
    client.on('connected', (event) => connects.push(event.statusCode));
    await assert.rejects(client.publishMessage(id, 0, 1, 'x'), (e: MqttSnError) => e.code === ErrorCode.ABORTED);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(client.state, 'disconnected');
    assert.deepEqual(connects, [], 'no failover to the second gateway');
    assert.equal(second.clientCount, 0);
  });

  it('without Failover, or with no other gateway, the call rejects with GATEWAY_LOST', async () => {
    const client = rig.client([`Gateways=127.0.0.1:${relay.address().port}`, 'Failover=True', 'RetryInterval=0.1', 'RetryCount=1']);
    await client.connect();
    const id = await client.registerTopic('failover/none');
    relay.rule = () => 'drop';
    await assert.rejects(client.publishMessage(id, 0, 1, 'x'), (e: MqttSnError) => e.code === ErrorCode.GATEWAY_LOST);
    assert.equal(client.connected, false);
  });
});
