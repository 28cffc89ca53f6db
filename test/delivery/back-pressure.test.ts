/**
 * Back-pressure instead of silent loss: a burst from the broker far beyond a
 * client's queue reaches the client whole, because the gateway acknowledges
 * each QoS 1/2 message to the broker only once it has room for it. QoS 0
 * overflow is dropped, counted and logged once per interval.
 */
import * as assert from 'node:assert/strict';
import type { GatewayLogEntry } from '../../lib/gateway';
import { delay } from '../helpers/mqtt-inbox';
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
