/**
 * How the gateway reaches its broker: in memory to the embedded broker (no
 * socket per client), and writes held until the end of the event-loop turn.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import * as mqtt from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { MqttSnGateway } from '../../lib/gateway';
import { corkForTurn } from '../../lib/gateway/broker-connection';
import { startEmbeddedBroker } from '../../lib/gateway/embedded-broker';
import { memoryPipe } from '../../lib/gateway/memory-pipe';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';
import { until } from '../helpers/until';

const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;

describe('gateway: the broker connection', function () {
  this.timeout(20000);

  describe('in-memory pipe', () => {
    it('carries bytes both ways in order, and an end or a destroy reaches the other side', async () => {
      const [a, b] = memoryPipe();
      const atB: Buffer[] = [];
      const atA: Buffer[] = [];
      b.on('data', (chunk: Buffer) => atB.push(chunk));
      a.on('data', (chunk: Buffer) => atA.push(chunk));
      for (let i = 0; i < 100; i++) a.write(Buffer.from([i]));
      b.write('back');
      await until(() => Buffer.concat(atB).length === 100 && atA.length > 0, 'both directions');
      assert.deepStrictEqual([...Buffer.concat(atB)], [...Array(100).keys()]);
      assert.strictEqual(Buffer.concat(atA).toString(), 'back');
      const ended = new Promise<void>((resolve) => b.once('end', resolve));
      a.end();
      await ended;
      const closed = new Promise<void>((resolve) => a.once('close', resolve));
      b.destroy();
      await closed;
    });

    it('holds a writer back while the reader does not read', async () => {
      const [a, b] = memoryPipe();
      let completed = 0;
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 8; i++) a.write(chunk, () => completed++);
      await delay(50);
      assert.ok(completed < 8, `${completed} of 8 writes completed with nobody reading`);
      b.resume();
      await until(() => completed === 8, 'every write once read');
      a.destroy();
    });
  });

  it('holds the writes of one event-loop turn and lets them out in one write', async () => {
    const writes: number[] = [];
    const stream = new Writable({
      writev(chunks, done) {
        writes.push(chunks.length);
        done();
      },
      write(_chunk, _encoding, done) {
        writes.push(1);
        done();
      },
    });
    const client = { stream } as unknown as mqtt.MqttClient;
    for (let i = 0; i < 5; i++) {
      corkForTurn(client);
      stream.write(Buffer.from([i]));
    }
    await new Promise((resolve) => setImmediate(resolve));
    await delay(10);
    assert.deepStrictEqual(writes, [5]);
    stream.destroy();
  });

  it('the embedded broker survives thousands of messages queued behind a slow subscriber, to a topic nobody subscribes', async () => {
    const broker = await startEmbeddedBroker(0);
    // A subscriber that stops reading: the broker's deliveries to it wait for the link to drain.
    const slow = broker.connect();
    slow.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'slow', keepalive: 0 }));
    slow.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'slow/#', qos: 0 }] }));
    const publishers: mqtt.MqttClient[] = [];
    const inbox = await MqttInbox.connect(broker.url);
    try {
      // Connected the way the gateway connects its clients: MQTT.js over an in-memory link each.
      for (let i = 0; i < 50; i++) {
        const client = new mqtt.MqttClient(() => broker.connect(), { clientId: `flood-${i}`, reconnectPeriod: 0 });
        publishers.push(client);
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
        });
      }
      await until(() => slow.readableLength > 0, 'the SUBACK');
      // Enough to the slow subscriber to fill every delivery slot of the broker (aedes allows 100 at once)...
      for (let i = 0; i < 300; i++) publishers[i % 50].publish('slow/big', Buffer.alloc(4096), { qos: 0 });
      await until(() => publishers.every((p) => (p.stream as unknown as { writableLength: number }).writableLength === 0), 'the broker read the big ones');
      await until(() => slow.readableLength >= 16 * 1024, 'deliveries waiting on the slow subscriber');
      // ...then 20,000 small ones to a topic nobody subscribes: they wait in the broker's queue.
      for (let i = 0; i < 400; i++) for (const p of publishers) p.publish(`nobody/${i}`, Buffer.alloc(8), { qos: 0 });
      await until(() => publishers.every((p) => (p.stream as unknown as { writableLength: number }).writableLength === 0), 'the broker read them all', 20000);
      // The subscriber reads again: the queue drains (before, one stack frame per queued message).
      slow.on('data', () => undefined);
      await inbox.subscribe('after/flood');
      publishers[0].publish('after/flood', 'still serving');
      assert.strictEqual((await inbox.next('after/flood', 20000)).payload.toString(), 'still serving');
    } finally {
      await Promise.all(publishers.map((p) => p.endAsync(true)));
      await inbox.close();
      slow.destroy();
      await broker.close();
    }
  });

  it('serves transparent clients through the embedded broker without a file descriptor each', async () => {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, mode: 'transparent' });
    await gateway.start();
    const clients: RawClient[] = [];
    const inbox = await MqttInbox.connect(gateway.brokerUrl);
    try {
      await inbox.subscribe('fd/#');
      const before = openDescriptors();
      const count = 20;
      for (let i = 0; i < count; i++) clients.push(await RawClient.open(gateway.address().port));
      for (const [i, c] of clients.entries()) {
        const connack = await c.connect(`fd-${i}`);
        assert.strictEqual(connack.returnCode, 0);
      }
      await until(() => gateway.clientCount === count, 'every client connected');
      // Each raw client holds its own UDP socket here; the gateway adds none per client.
      const grown = openDescriptors() - before;
      assert.ok(grown <= count + 2, `${grown} descriptors for ${count} clients (${count} are the clients' own sockets)`);
      const topicId = await clients[0].register('fd/0');
      clients[0].send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 0, topicId, msgId: 0, payload: Buffer.from('in memory') });
      const message = await inbox.next('fd/0');
      assert.strictEqual(message.payload.toString(), 'in memory');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await inbox.close();
      await gateway.stop();
    }
  });
});
