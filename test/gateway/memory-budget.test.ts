/**
 * Memory limits in octets: per session (queued messages, topic names,
 * subscription filters) and for all sessions together.
 */
import * as assert from 'node:assert';
import { MqttSnGateway } from '../../lib/gateway';
import { FilterMap, MemoryBudget } from '../../lib/gateway/memory-budget';
import { MessageQueue } from '../../lib/gateway/message-queue';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';

describe('gateway memory budget', () => {
  it('counts the octets a queue holds as messages come and go', () => {
    const queue = new MessageQueue(2);
    const m = (qos: 0 | 1, size: number) => ({ topic: 'tt', payload: Buffer.alloc(size), qos, retain: false });
    queue.push(m(0, 10));
    queue.push(m(1, 20));
    assert.strictEqual(queue.bytes(), 34);
    queue.push(m(1, 30)); // evicts the QoS 0 one
    assert.strictEqual(queue.bytes(), 54);
    const first = queue.shift();
    assert.strictEqual(queue.bytes(), 32);
    queue.restore(first ? [first] : []);
    assert.strictEqual(queue.bytes(), 54);
    queue.removeTopic('tt');
    assert.strictEqual(queue.bytes(), 0);
  });

  it('counts the octets of subscription filters', () => {
    const filters = new FilterMap<number>();
    filters.set('a/b', 1);
    filters.set('a/b', 2);
    filters.set('c', 0);
    assert.strictEqual(filters.bytes, 4);
    filters.delete('a/b');
    assert.strictEqual(filters.bytes, 1);
    filters.clear();
    assert.strictEqual(filters.bytes, 0);
  });

  it('refuses beyond the session limit, and beyond the total until a recount finds room', () => {
    let held = 0;
    let now = 0;
    const budget = new MemoryBudget(() => ({ sessionBytes: 100, totalBytes: 150 }), () => held, () => now);
    assert.strictEqual(budget.take(90, 20), 'sessionBytes');
    assert.strictEqual(budget.take(0, 100), 'ok');
    held = 100;
    assert.strictEqual(budget.take(0, 60), 'totalBytes');
    held = 0; // the messages were delivered meanwhile
    assert.strictEqual(budget.take(0, 60), 'totalBytes', 'no recount within 100 ms');
    now = 200;
    assert.strictEqual(budget.take(0, 60), 'ok');
  });
});

describe('gateway memory limits', function () {
  this.timeout(20000);
  const clients: RawClient[] = [];
  let gateway: MqttSnGateway | undefined;
  let inbox: MqttInbox | undefined;

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await inbox?.close();
    inbox = undefined;
    await gateway?.stop();
    gateway = undefined;
  });

  async function client(clientId: string): Promise<RawClient> {
    const c = await RawClient.open((gateway as MqttSnGateway).address().port);
    clients.push(c);
    await c.connect(clientId);
    return c;
  }

  it("refuses what would take a session beyond its octets: a sleeper's messages, topic names", async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, limits: { sessionBytes: 4096 } });
    await gateway.start();
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    const sleeper = await client('sleeper');
    await sleeper.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'mem/t' }, 'SUBACK');
    await sleeper.request({ type: 'DISCONNECT', duration: 60 }, 'DISCONNECT');
    for (let i = 0; i < 8; i++) await inbox.publish('mem/t', Buffer.alloc(1000, i), 1);
    const deadline = Date.now() + 5000;
    while (gateway.stats.refusedQos12 < 4 && Date.now() < deadline) await delay(20);
    await delay(200);
    assert.strictEqual(gateway.stats.refusedQos12, 4, 'four messages of 1,005 octets fit in 4,096 with the names');
    assert.ok(gateway.buffered().bytes <= 4096);

    const namer = await client('namer');
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const ack = await namer.request({ type: 'REGISTER', topicId: 0, msgId: i + 1, topicName: `${i}/${'n'.repeat(900)}` }, 'REGACK');
      codes.push(ack.returnCode);
    }
    assert.deepStrictEqual(codes, [0, 0, 0, 0, 1, 1]);
    assert.strictEqual(gateway.stats.congestionByLimit.sessionBytes, 2);
  });

  it('refuses what would take all sessions together beyond their octets', async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, limits: { sessionBytes: 4096, totalBytes: 6000 } });
    await gateway.start();
    const a = await client('a');
    const b = await client('b');
    for (let i = 0; i < 3; i++) {
      const ack = await a.request({ type: 'REGISTER', topicId: 0, msgId: i + 1, topicName: `${i}/${'a'.repeat(1000)}` }, 'REGACK');
      assert.strictEqual(ack.returnCode, 0);
    }
    for (let i = 0; i < 2; i++) {
      const ack = await b.request({ type: 'REGISTER', topicId: 0, msgId: i + 1, topicName: `${i}/${'b'.repeat(1000)}` }, 'REGACK');
      assert.strictEqual(ack.returnCode, 0);
    }
    const refused = await b.request({ type: 'REGISTER', topicId: 0, msgId: 3, topicName: `2/${'b'.repeat(1000)}` }, 'REGACK');
    assert.strictEqual(refused.returnCode, 1, 'the sixth name of 1,002 octets does not fit in 6,000');
    assert.strictEqual(gateway.stats.congestionByLimit.totalBytes, 1);
    const small = await b.request({ type: 'REGISTER', topicId: 0, msgId: 4, topicName: 'b/small' }, 'REGACK');
    assert.strictEqual(small.returnCode, 0);
  });
});
