/**
 * No amplification towards addresses that have not shown they receive: the
 * ledger itself, and a gateway facing a sender that never answers (as a
 * victim whose address was forged would not) beside one that does.
 */
import * as assert from 'node:assert';
import { AddressProof } from '../../lib/gateway/address-proof';
import { MqttSnGateway } from '../../lib/gateway';
import { encode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';

const bytes = (n: number): Buffer => Buffer.alloc(n);

describe('gateway address proof', () => {
  it('sends an unproven address no more octets than it sent, holds a little, drops the rest', () => {
    const proof = new AddressProof(10);
    proof.received('a', 10);
    assert.strictEqual(proof.send('a', bytes(6)), 'send');
    assert.strictEqual(proof.send('a', bytes(6)), 'held');
    assert.strictEqual(proof.send('a', bytes(1)), 'held', 'in order: nothing overtakes what is held');
    for (let i = 0; i < 6; i++) proof.send('a', bytes(10));
    assert.strictEqual(proof.send('a', bytes(10)), 'dropped');
    proof.received('r', 10);
    assert.strictEqual(proof.send('r', bytes(11), false), 'dropped', 'an answer to an address without a session is not held');
  });

  it('is proven by an acknowledgement of a message id it was sent, or by a PINGRESP to a probe', () => {
    const proof = new AddressProof(10);
    proof.received('a', 10);
    proof.send('a', bytes(8));
    proof.expect('a', 4321);
    proof.send('a', bytes(50));
    assert.deepStrictEqual(proof.answered('a', 1), []);
    assert.strictEqual(proof.isProven('a'), false);
    assert.strictEqual(proof.answered('a', 4321).length, 1);
    assert.strictEqual(proof.send('a', bytes(1000)), 'send');

    proof.received('b', 4);
    proof.send('b', bytes(10));
    assert.ok(proof.wantsProbe('b', 0));
    proof.probeSent('b', 0);
    assert.ok(!proof.wantsProbe('b', 100));
    assert.strictEqual(proof.answered('b', 'ping').length, 1);
    assert.ok(proof.isProven('b'));
  });

  it('does not take a PINGRESP nobody asked for, nor endless guesses of message ids', () => {
    const proof = new AddressProof(10);
    proof.received('c', 2);
    proof.send('c', bytes(10));
    assert.deepStrictEqual(proof.answered('c', 'ping'), []);
    proof.probeSent('c', 0);
    assert.deepStrictEqual(proof.answered('c', 'ping'), [], 'spoiled by the unasked one');
    proof.expect('c', 7);
    for (let id = 100; id < 116; id++) proof.answered('c', id);
    assert.deepStrictEqual(proof.answered('c', 7), [], 'too many wrong guesses');
    assert.strictEqual(proof.isProven('c'), false);
  });

  it('drops what it held for an address when a session starts or ends there', () => {
    const proof = new AddressProof(10);
    proof.received('p', 2);
    proof.send('p', bytes(10));
    proof.probeSent('p', 0);
    assert.ok(!proof.wantsProbe('p', 1));
    proof.restart('p');
    proof.received('p', 10);
    assert.strictEqual(proof.send('p', bytes(5)), 'send', 'nothing held in front of it any more');
    assert.ok(proof.wantsProbe('p', 1));
  });

  it('remembers a bounded number of addresses', () => {
    const proof = new AddressProof(100);
    for (let i = 0; i < 10000; i++) proof.received(`s${i}`, 1);
    assert.strictEqual(proof.size, 100);
  });
});

describe('gateway amplification', function () {
  this.timeout(20000);
  let gateway: MqttSnGateway;
  let inbox: MqttInbox;
  const clients: RawClient[] = [];

  before(async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, retry: { interval: 300, count: 2 } });
    await gateway.start();
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    await inbox.publish('big/retained', Buffer.alloc(4000, 1), 1, true);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await inbox.publish('big/retained', '', 1, true);
    await inbox.close();
    await gateway.stop();
  });

  /** A peer that counts octets both ways. */
  async function peer(from: string, answerPings: boolean): Promise<{ c: RawClient; sent: () => number; got: () => number; send: (p: Packet) => void }> {
    const c = await RawClient.open(gateway.address().port, '127.0.0.1', 0, { localAddress: from });
    clients.push(c);
    c.answerPings = answerPings;
    let sent = 0;
    return {
      c,
      sent: () => sent,
      got: () => c.octetsReceived,
      send: (p) => {
        const b = encode(p);
        sent += b.length;
        c.sendRaw(b);
      },
    };
  }

  it('sends a silent address no more than it sent, while an answering one gets everything', async () => {
    const victim = await peer('127.0.0.20', false);
    const honest = await peer('127.0.0.21', true);
    for (const [p, id] of [[victim, 'victim'], [honest, 'honest']] as const) {
      p.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: id });
      await p.c.next('CONNACK');
      for (const [msgId, topicId] of [[1, 'big/retained'], [2, 'big/stream']] as const) {
        p.send({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId, topicId });
        // the silent one's second SUBACK waits behind the retained message held for it
        if (p === honest || msgId === 1) await p.c.next('SUBACK');
      }
    }
    for (let i = 0; i < 20; i++) await inbox.publish('big/stream', Buffer.alloc(1000, i), 1);
    const deadline = Date.now() + 10000;
    let received = 0;
    while (received < 21 && Date.now() < deadline) {
      const publish = await honest.c.next('PUBLISH', 3000);
      if (publish.qos > 0) honest.send({ type: 'PUBACK', topicId: publish.topicId as number, msgId: publish.msgId, returnCode: 0 });
      if (!publish.dup) received++;
    }
    assert.strictEqual(received, 21, 'the answering client gets the retained message and all 20');
    await delay(1000);
    assert.ok(victim.got() <= victim.sent(), `the silent one got ${victim.got()} octets for ${victim.sent()}`);
    assert.ok(gateway.stats.unproven > 0);
  });

  it("sends a sleeper's buffer to no one but the sleeper, and a forged PINGREQ gets a bounded answer", async () => {
    const sleeper = await peer('127.0.0.22', true);
    sleeper.send({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'sleeper' });
    await sleeper.c.next('CONNACK');
    sleeper.send({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'nap/x' });
    await sleeper.c.next('SUBACK');
    sleeper.send({ type: 'DISCONNECT', duration: 60 });
    await sleeper.c.next('DISCONNECT');
    for (let i = 0; i < 10; i++) await inbox.publish('nap/x', Buffer.alloc(1000, i), 1);
    const thief = await peer('127.0.0.23', true);
    for (let i = 0; i < 5; i++) thief.send({ type: 'PINGREQ', clientId: 'sleeper' });
    await delay(500);
    assert.ok(thief.got() <= thief.sent(), `${thief.got()} octets for ${thief.sent()}`);
    assert.ok(thief.c.inbox.every((p) => p.type === 'DISCONNECT'));
    sleeper.send({ type: 'PINGREQ', clientId: 'sleeper' });
    const first = await sleeper.c.next('PUBLISH', 5000);
    assert.strictEqual(first.payload[0], 0);
  });
});
