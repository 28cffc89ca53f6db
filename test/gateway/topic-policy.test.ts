/**
 * The broker's topic rules as the gateway checks them, and what a client sees
 * when it breaks them: a return code for that client, while the connection the
 * clients share stays up.
 */
import * as assert from 'node:assert';
import { MqttSnGateway, type GatewayLogEntry, type GatewayOptions } from '../../lib/gateway';
import { DEFAULT_TOPIC_RULES, topicFilterFault, topicNameFault } from '../../lib/gateway/topic-policy';
import { countingAedes } from '../helpers/brokers';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';

const rules = DEFAULT_TOPIC_RULES;

describe('gateway topic rules', () => {
  it('refuses $-topics unless allowed', () => {
    assert.strictEqual(topicNameFault('$SYS/x', rules), 'dollar');
    assert.strictEqual(topicFilterFault('$SYS/#', rules), 'dollar');
    assert.strictEqual(topicNameFault('$SYS/x', { ...rules, allowDollar: true }), undefined);
    assert.strictEqual(topicNameFault('a/$b', rules), undefined);
  });

  it('limits levels and UTF-8 length', () => {
    assert.strictEqual(topicNameFault(Array(100).fill('a').join('/'), rules), undefined);
    assert.strictEqual(topicNameFault(Array(101).fill('a').join('/'), rules), 'levels');
    assert.strictEqual(topicFilterFault(`${'/'.repeat(100)}#`, rules), 'levels');
    assert.strictEqual(topicNameFault('a'.repeat(1024), rules), undefined);
    assert.strictEqual(topicNameFault('a'.repeat(1025), rules), 'length');
    // 342 three-octet characters: 1026 octets in 342 UTF-16 units
    assert.strictEqual(topicNameFault('€'.repeat(342), rules), 'length');
  });

  it('applies the UTF-8 rules of MQTT 3.1.1 §1.5.3', () => {
    for (const bad of ['a\u0001b', 'tab\there', 'a\u007f', 'c1\u0085', '\ufdd0', 'x\uffff', 'x\ufffe', '\ud83f\udffe', 'lone\ud800', 'lone\udc00x']) {
      assert.strictEqual(topicNameFault(bad, rules), 'text', JSON.stringify(bad));
    }
    for (const good of ['ä/ö', '温度/室内', '\ud83d\ude00/emoji', 'a b', '\ufffd']) assert.strictEqual(topicNameFault(good, rules), undefined, good);
  });

  it('keeps the wildcard rules: none in a name, whole levels in a filter', () => {
    assert.strictEqual(topicNameFault('a/+', rules), 'wildcard');
    assert.strictEqual(topicFilterFault('a/+/#', rules), undefined);
    assert.strictEqual(topicFilterFault('a+', rules), 'wildcard');
    assert.strictEqual(topicNameFault('', rules), 'text');
  });
});

describe('gateway topic rules against the broker', function () {
  this.timeout(20000);
  const gateways: MqttSnGateway[] = [];
  const clients: RawClient[] = [];
  const inboxes: MqttInbox[] = [];

  async function startGateway(options: GatewayOptions): Promise<MqttSnGateway> {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, retry: { interval: 300, count: 1 }, ...options });
    gateways.push(gateway);
    await gateway.start();
    return gateway;
  }

  async function client(gateway: MqttSnGateway, clientId: string): Promise<RawClient> {
    const c = await RawClient.open(gateway.address().port);
    clients.push(c);
    await c.connect(clientId);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(inboxes.splice(0).map((i) => i.close()));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
  });

  for (const mode of ['aggregating', 'transparent'] as const) {
    it(`answers poisoned topics with return codes and keeps serving (${mode})`, async () => {
      const gateway = await startGateway({ mode });
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      inboxes.push(inbox);
      await inbox.subscribe('honest/#', 1);
      const attacker = await client(gateway, 'attacker');
      const honest = await client(gateway, 'honest');
      const deep = Array(101).fill('d').join('/');
      for (const [msgId, topicName] of [[1, '$SYS/x'], [2, deep], [3, 'ctl\u0007'], [4, 'x'.repeat(2000)]] as const) {
        const ack = await attacker.request({ type: 'REGISTER', topicId: 0, msgId, topicName }, 'REGACK');
        assert.strictEqual(ack.returnCode, 3, topicName.slice(0, 20));
      }
      const sub = await attacker.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 5, topicId: '$SYS/#' }, 'SUBACK');
      assert.strictEqual(sub.returnCode, 3);
      const short = await attacker.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 2, topicId: '$a', msgId: 6, payload: Buffer.from('p') }, 'PUBACK');
      assert.strictEqual(short.returnCode, 3);
      const will = await attacker.request({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: '$SYS/will' }, 'WILLTOPICRESP');
      assert.strictEqual(will.returnCode, 3);
      const id = await honest.register('honest/t');
      const ack = await honest.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: id, msgId: 7, payload: Buffer.from('ok') }, 'PUBACK');
      assert.strictEqual(ack.returnCode, 0);
      assert.strictEqual((await inbox.next('honest/t')).payload.toString(), 'ok');
      // both still connected: a ping is answered
      await attacker.request({ type: 'PINGREQ' }, 'PINGRESP');
    });
  }

  it('refuses a topic itself once the broker has closed the shared connection over it twice', async () => {
    const broker = await countingAedes((topic) => topic.startsWith('forbidden/'));
    try {
      const gateway = await startGateway({ mode: 'aggregating', broker: broker.url, logLevel: 'error' });
      const attacker = await client(gateway, 'attacker');
      const id = await attacker.register('forbidden/again');
      const before = broker.accepted();
      for (let round = 1; round <= 3; round++) {
        const deadline = Date.now() + 10000;
        // wait for the shared connection to be back (a CONNECT is accepted again)
        for (;;) {
          const probe = await RawClient.open(gateway.address().port);
          const ack = await probe.request({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: `probe-${round}` }, 'CONNACK', 5000);
          await probe.close();
          if (ack.returnCode === 0) break;
          assert.ok(Date.now() < deadline, 'the shared connection did not come back');
          await delay(200);
        }
        const refused = await attacker.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: id, msgId: round, payload: Buffer.from('x') }, 'PUBACK', 5000);
        assert.strictEqual(refused.returnCode, 1);
      }
      await delay(1500);
      assert.strictEqual(broker.accepted() - before, 2, 'two reconnects: the third publish never reached the broker');
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.stop()));
      await broker.close();
    }
  });

  it('drops a publish the broker refuses by closing the shared connection, once, with a return code', async () => {
    const broker = await countingAedes((topic) => topic.startsWith('forbidden/'));
    try {
      const url = broker.url;
      const gateway = await startGateway({ mode: 'aggregating', broker: url, logLevel: 'warn' });
      const logs: GatewayLogEntry[] = [];
      gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
      const inbox = await MqttInbox.connect(url);
      inboxes.push(inbox);
      await inbox.subscribe('open/#', 1);
      const before = broker.accepted();
      const attacker = await client(gateway, 'attacker');
      const id = await attacker.register('forbidden/x');
      const refused = await attacker.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: id, msgId: 9, payload: Buffer.from('bad') }, 'PUBACK', 5000);
      assert.strictEqual(refused.returnCode, 1);
      assert.ok(logs.some((l) => l.level === 'warn' && l.message.includes('forbidden/x')));
      // the shared connection comes back once and stays: no resend loop
      const honest = await RawClient.open(gateway.address().port);
      clients.push(honest);
      const deadline = Date.now() + 10000;
      for (;;) {
        const ack = await honest.request({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'honest' }, 'CONNACK', 5000);
        if (ack.returnCode === 0) break;
        assert.ok(Date.now() < deadline, 'the shared connection did not come back');
        await delay(200);
      }
      const openId = await honest.register('open/y');
      const ok = await honest.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: openId, msgId: 1, payload: Buffer.from('fine') }, 'PUBACK', 5000);
      assert.strictEqual(ok.returnCode, 0);
      assert.strictEqual((await inbox.next('open/y')).payload.toString(), 'fine');
      await delay(2500);
      assert.strictEqual(broker.accepted() - before, 1, 'one reconnect of the shared connection');
    } finally {
      await Promise.all(gateways.splice(0).map((g) => g.stop()));
      await Promise.all(inboxes.splice(0).map((i) => i.close()));
      await broker.close();
    }
  });
});
