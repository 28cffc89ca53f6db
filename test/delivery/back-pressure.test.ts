/**
 * Back-pressure instead of silent loss: a burst from the broker far beyond a
 * client's queue reaches the client whole, because the gateway acknowledges
 * each QoS 1/2 message to the broker only once it has room for it. QoS 0
 * overflow is dropped, counted and logged once per interval.
 */
import * as assert from 'node:assert/strict';
import type { GatewayLogEntry } from '../../lib/gateway';
import { delay } from '../helpers/mqtt-inbox';
import { RawClient } from '../helpers/gateway-raw-client';
import { startRig, uniq, waitFor, type Rig } from '../client/support';

const BURST = 5000;

describe('back-pressure towards one client (transparent gateway, default limits)', function () {
  this.timeout(120000);
  let rig: Rig;

  beforeEach(async () => {
    rig = await startRig('embedded', { logLevel: 'warn' });
  });

  afterEach(async () => {
    await rig.stop();
  });

  it(`delivers a burst of ${BURST} QoS 1 messages from the broker to an awake subscribed client: none lost`, async () => {
    const client = rig.client();
    client.timeout = 30;
    await client.connectTo('127.0.0.1', rig.port);
    const topic = uniq('burst/q1');
    const seen = new Set<number>();
    let copies = 0;
    client.on('messageIn', (event) => {
      copies++;
      seen.add(Number(event.message.toString()));
    });
    await client.subscribe(topic, 0, 1);
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < BURST; seq++) sends.push(rig.inbox.client.publishAsync(topic, String(seq), { qos: 1 }));
    await Promise.all(sends);
    await waitFor(() => seen.size === BURST, 90000, `all ${BURST} messages`);
    const { stats } = rig.gateway;
    console.log(`      transparent: ${BURST} sent, ${BURST - seen.size} lost, ${copies - seen.size} duplicated; ${stats.held} waited for room, ${stats.refusedQos12} refused`);
    assert.equal(stats.refusedQos12, 0);
    assert.equal(stats.undelivered, 0);
    assert.ok(stats.held > 0, 'the queue filled up and the broker was made to wait');
    await client.disconnect();
  });
});

describe('back-pressure while a SUBSCRIBE is answered (transparent gateway)', function () {
  this.timeout(60000);
  let rig: Rig;
  let raw: RawClient | undefined;

  beforeEach(async () => {
    // Retransmissions far apart: the client below takes its time before acknowledging.
    rig = await startRig('embedded', { logLevel: 'error', retry: { interval: 10000, count: 3 } });
  });

  afterEach(async () => {
    if (raw) await RawClient.closeAll([raw]);
    raw = undefined;
    await rig.stop();
  });

  it('takes the messages that come before the SUBACK beyond the bound instead of refusing them: a burst with a repeated SUBSCRIBE arrives whole', async () => {
    const burst = 400;
    const client = await RawClient.open(rig.port);
    raw = client;
    await client.connect(uniq('resub'), 60);
    const topic = uniq('burst/resub');
    const subscribe = { type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 7, topicId: topic } as const;
    const { topicId } = await client.request(subscribe, 'SUBACK');
    await Promise.all(Array.from({ length: burst }, (_, n) => rig.inbox.client.publishAsync(topic, String(n), { qos: 1 })));
    // The window and the queue are full, the broker waits: now the client's SUBSCRIBE comes again.
    await waitFor(() => rig.gateway.stats.held > 0, 20000, 'the broker made to wait');
    const again = await client.request({ ...subscribe, dup: true }, 'SUBACK', 10000);
    assert.equal(again.returnCode, 0);
    const seen = new Set<string>();
    while (seen.size < burst) {
      const publish = await client.next('PUBLISH', 20000);
      assert.equal(publish.topicId, topicId);
      seen.add(publish.payload.toString());
      client.send({ type: 'PUBACK', topicId, msgId: publish.msgId, returnCode: 0 });
    }
    const { stats } = rig.gateway;
    assert.equal(stats.refusedQos12, 0, 'none refused');
    assert.equal(stats.undelivered, 0);
  });
});

describe('QoS 0 overflow', function () {
  this.timeout(30000);
  let rig: Rig;

  beforeEach(async () => {
    rig = await startRig('embedded', { logLevel: 'warn', limits: { bufferedMessages: 10 } });
  });

  afterEach(async () => {
    await rig.stop();
  });

  it('drops what a full queue cannot take, counts it and logs it once per interval', async () => {
    const logs: GatewayLogEntry[] = [];
    rig.gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
    const client = rig.client();
    await client.connectTo('127.0.0.1', rig.port);
    const topic = uniq('burst/q0');
    await client.subscribe(topic, 0, 0);
    // Asleep, the client takes nothing: its queue fills up.
    await client.startSleep(30);
    await Promise.all(Array.from({ length: 200 }, (_, n) => rig.inbox.client.publishAsync(topic, String(n), { qos: 0 })));
    await waitFor(() => rig.gateway.stats.droppedQos0 === 190, 5000, 'the overflow counted');
    await delay(100);
    const dropLogs = logs.filter((l) => l.message.includes('QoS 0 message(s) dropped'));
    assert.equal(dropLogs.length, 1, 'logged once for the whole burst');
    assert.equal(dropLogs[0].level, 'warn');
    const received: string[] = [];
    client.on('messageIn', (event) => received.push(event.message.toString()));
    await client.retrieveMessages();
    assert.equal(received.length, 10, 'the queue delivered what it kept');
    client.reset();
  });
});
