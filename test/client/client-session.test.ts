/**
 * The protocol state machine on its own: packets and a fake clock in,
 * packets and events out. Timing rules are checked to the millisecond here,
 * where no network jitter blurs them.
 */
import * as assert from 'node:assert/strict';
import type { Packet } from '../../lib/codec/packets';
import { ErrorCode, ErrorDescription, MqttSnError } from '../../lib/errors';
import { CLIENT_ERRORS } from '../../lib/client';
import { createTimerQueue } from '../../lib/timers';
import { defaultSettings, applyConfig, type ClientSettings } from '../../lib/client/config';
import { ClientSession } from '../../lib/client/client-session';
import type { MqttSnClientEvents } from '../../lib/client';

interface Harness {
  session: ClientSession;
  settings: ClientSettings;
  sent: Packet[];
  events: { name: string; payload: unknown }[];
  /** Moves the fake clock and runs what is due. */
  advance(ms: number): void;
  lostCalls: number;
}

/** `failover` true: the layer above takes a lost gateway over (as with the Failover setting). */
function harness(config: string[] = [], timeoutSeconds = 0, failover = false): Harness {
  let now = 1000;
  const settings = defaultSettings();
  for (const line of config) applyConfig(settings, line);
  const h: Harness = {
    sent: [],
    events: [],
    settings,
    lostCalls: 0,
    session: undefined as unknown as ClientSession,
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const next = h.session.nextDeadline();
        if (next > until) break;
        now = Math.max(now, next);
        h.session.tick();
      }
      now = until;
    },
  };
  h.session = new ClientSession(
    {
      send: (packet) => h.sent.push(packet),
      emit: <K extends keyof MqttSnClientEvents>(name: K, ...args: MqttSnClientEvents[K]) => h.events.push({ name, payload: args[0] }),
      log: () => undefined,
      gatewayLost: () => {
        h.lostCalls++;
        return failover;
      },
    },
    settings,
    createTimerQueue(),
    () => now,
    () => timeoutSeconds,
  );
  return h;
}

function connect(h: Harness, keepAlive = 0): void {
  h.session.connect({ clientId: 'c', cleanSession: true, keepAlive, will: undefined }, () => undefined, () => undefined);
  h.session.handle({ type: 'CONNACK', returnCode: 0 });
  h.sent.length = 0;
}

type PublishPacket = Extract<Packet, { type: 'PUBLISH' }>;

function sentOf<T extends Packet['type']>(h: Harness, type: T): Extract<Packet, { type: T }>[] {
  return h.sent.filter((p): p is Extract<Packet, { type: T }> => p.type === type);
}

/** Lets promise callbacks (the failover restore) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An unanswered ping until the gateway counts as lost. */
function loseGateway(h: Harness): void {
  const before = h.lostCalls;
  h.session.ping(() => undefined, () => undefined);
  while (h.lostCalls === before) h.advance(1000);
}

/** reconnect() after a loss, answering the CONNECT and every REGISTER of the restore with `ids` in turn. */
async function failOver(h: Harness, ids: number[]): Promise<void> {
  let done = false;
  h.session.reconnect(false, () => (done = true), (e) => assert.fail(e.description));
  h.session.handle({ type: 'CONNACK', returnCode: 0 });
  for (const topicId of ids) {
    await settle();
    const register = sentOf(h, 'REGISTER').at(-1) as Extract<Packet, { type: 'REGISTER' }>;
    h.session.handle({ type: 'REGACK', topicId, msgId: register.msgId, returnCode: 0 });
  }
  await settle();
  assert.ok(done, 'reconnect resolved');
}

describe('MQTTSN client protocol state machine', () => {
  it('retransmits every RetryInterval with DUP, then declares the gateway lost', () => {
    const h = harness(['RetryInterval=10', 'RetryCount=2']);
    connect(h);
    let error: MqttSnError | undefined;
    h.session.publish({ topicId: 'ab', topicIdType: 2, qos: 1, payload: Buffer.from('x'), retain: false, dup: false }, () => undefined, (e) => (error = e));
    assert.equal(h.sent.length, 1);
    h.advance(9999);
    assert.equal(h.sent.length, 1, 'not before T_retry');
    h.advance(1);
    assert.equal(h.sent.length, 2);
    assert.equal((h.sent[1] as Extract<Packet, { type: 'PUBLISH' }>).dup, true);
    h.advance(10000);
    assert.equal(h.sent.length, 3);
    h.advance(10000);
    assert.equal(error?.code, ErrorCode.GATEWAY_LOST);
    assert.equal(h.lostCalls, 1);
    assert.equal(h.session.state, 'disconnected');
    assert.deepEqual(h.events.at(-1), { name: 'disconnected', payload: { statusCode: ErrorCode.GATEWAY_LOST, description: error?.description } });
  });

  it('sends PINGREQ after half the keep-alive of silence from the client', () => {
    const h = harness(['PingTimeout=2']);
    connect(h, 60);
    h.advance(20_000);
    h.session.publish({ topicId: 'ab', topicIdType: 2, qos: 0, payload: Buffer.alloc(0), retain: false, dup: false }, () => undefined, () => undefined);
    h.advance(29_999);
    assert.deepEqual(h.sent.map((p) => p.type), ['PUBLISH'], 'the publish restarted the keep-alive period');
    h.advance(1);
    assert.deepEqual(h.sent.map((p) => p.type), ['PUBLISH', 'PINGREQ']);
    h.advance(2000);
    assert.deepEqual(h.sent.map((p) => p.type), ['PUBLISH', 'PINGREQ', 'PINGREQ'], 'resent after PingTimeout');
    h.session.handle({ type: 'PINGRESP' });
    h.advance(10_000);
    assert.equal(h.sent.length, 3);
    assert.equal(h.session.state, 'active');
  });

  it('pings a silent gateway often enough to fit its tolerance, and declares it lost after twice that tolerance', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=2']);
    connect(h, 1);
    const pingTimes: number[] = [];
    let clock = 0;
    for (; clock < 20_000 && h.lostCalls === 0; clock += 50) {
      const before = sentOf(h, 'PINGREQ').length;
      h.advance(50);
      for (let n = before; n < sentOf(h, 'PINGREQ').length; n++) pingTimes.push(clock + 50);
    }
    // Keep-alive 1 s: the gateway's tolerance is 1.5 s; PINGREQs from 0.5 s on, every 1.5 s / 16.
    assert.equal(pingTimes[0], 500, 'the first PINGREQ after half the keep-alive');
    for (let n = 1; n < pingTimes.length; n++) assert.ok(pingTimes[n] - pingTimes[n - 1] <= 100, `one every 94 ms: ${pingTimes.join(', ')}`);
    assert.ok(pingTimes.filter((t) => t < 1500).length >= 10, 'ten inside the gateway tolerance');
    assert.ok(clock >= 3000 && clock <= 3100, `lost after 2 x 1.5 s of silence, not ${clock} ms`);
    assert.equal(h.session.state, 'disconnected');
    assert.deepEqual(h.events.at(-1)?.name, 'disconnected');
    assert.equal((h.events.at(-1)?.payload as { statusCode: number }).statusCode, ErrorCode.GATEWAY_LOST);
  });

  it('lets a ping() share the outstanding keep-alive PINGREQ', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=3', 'PingTimeout=5']);
    connect(h, 1);
    h.advance(500);
    assert.equal(sentOf(h, 'PINGREQ').length, 1, 'the keep-alive PINGREQ');
    let pinged = 0;
    h.session.ping(() => pinged++, (e) => assert.fail(e.description));
    h.session.ping(() => pinged++, (e) => assert.fail(e.description));
    assert.equal(sentOf(h, 'PINGREQ').length, 1, 'no second PINGREQ for the user pings');
    h.advance(100);
    assert.equal(sentOf(h, 'PINGREQ').length, 2, 'one retransmission for all of them');
    h.session.handle({ type: 'PINGRESP' });
    assert.equal(pinged, 2, 'one PINGRESP settles every ping');
    h.advance(400);
    assert.equal(sentOf(h, 'PINGREQ').length, 2, 'nothing left to retransmit');
    assert.equal(h.session.state, 'active');
  });

  it('keeps a user ping that timed out from stopping the retransmission of the PINGREQ the keep-alive shares', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=3'], 1.5);
    connect(h, 2);
    const errors: number[] = [];
    h.session.ping(() => undefined, (e) => errors.push(e.code));
    h.advance(2000);
    assert.deepEqual(errors, [ErrorCode.TIMEOUT]);
    assert.equal(sentOf(h, 'PINGREQ').length, 3, 'retransmitted after the timeout, and no extra keep-alive PINGREQ');
    h.advance(1000);
    assert.equal(sentOf(h, 'PINGREQ').length, 4, 'still one per RetryInterval');
    h.session.handle({ type: 'PINGRESP' });
    h.advance(500);
    assert.equal(sentOf(h, 'PINGREQ').length, 4);
    assert.equal(h.session.state, 'active');
  });

  it('refuses startSleep() while a request awaits its acknowledgement, and sleeps once it is settled', () => {
    const h = harness();
    connect(h, 10);
    let published = false;
    h.session.publish({ topicId: 'ab', topicIdType: 2, qos: 1, payload: Buffer.from('x'), retain: false, dup: false }, () => (published = true), (e) => assert.fail(e.description));
    const errors: MqttSnError[] = [];
    h.session.sleep(20, () => assert.fail('slept with a publish in flight'), (e) => errors.push(e));
    assert.deepEqual(errors.map((e) => e.code), [ErrorCode.WRONG_STATE]);
    assert.match(errors[0].description, /awaiting/);
    assert.equal(sentOf(h, 'DISCONNECT').length, 0, 'nothing sent');
    h.session.handle({ type: 'PUBACK', topicId: 0x6162, msgId: sentOf(h, 'PUBLISH')[0].msgId, returnCode: 0 });
    assert.ok(published, 'the publish completes undisturbed');
    let asleep = false;
    h.session.sleep(20, () => (asleep = true), (e) => assert.fail(e.description));
    h.session.handle({ type: 'DISCONNECT' });
    assert.ok(asleep);
  });

  it('drops an outstanding keep-alive PINGREQ when going to sleep instead of retrying it while asleep', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=2']);
    connect(h, 1);
    h.advance(500);
    assert.equal(sentOf(h, 'PINGREQ').length, 1);
    let asleep = false;
    h.session.sleep(20, () => (asleep = true), (e) => assert.fail(e.description));
    h.session.handle({ type: 'DISCONNECT' });
    assert.ok(asleep);
    h.advance(10_000);
    assert.equal(sentOf(h, 'PINGREQ').length, 1, 'no PINGREQ while asleep');
    assert.equal(h.session.state, 'asleep');
    assert.equal(h.lostCalls, 0);
  });

  it('rejects a call at its timeout with TIMEOUT while retransmissions are still allowed', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=10'], 2.5);
    connect(h);
    const errors: MqttSnError[] = [];
    h.session.register('a/b', () => undefined, (e) => errors.push(e));
    h.advance(2499);
    assert.equal(errors.length, 0);
    h.advance(1);
    assert.deepEqual(errors.map((e) => e.code), [ErrorCode.TIMEOUT]);
    assert.equal(h.session.state, 'active', 'a timeout is not a lost gateway');
  });

  it('keeps one REGISTER outstanding, queueing the rest in order', () => {
    const h = harness();
    connect(h);
    const ids: number[] = [];
    h.session.register('a', (id) => ids.push(id), () => undefined);
    h.session.register('b', (id) => ids.push(id), () => undefined);
    assert.deepEqual(h.sent.map((p) => p.type), ['REGISTER']);
    const first = h.sent[0] as Extract<Packet, { type: 'REGISTER' }>;
    h.session.handle({ type: 'REGACK', topicId: 5, msgId: first.msgId, returnCode: 0 });
    const second = h.sent[1] as Extract<Packet, { type: 'REGISTER' }>;
    assert.equal(second.topicName, 'b');
    h.session.handle({ type: 'REGACK', topicId: 6, msgId: second.msgId, returnCode: 0 });
    assert.deepEqual(ids, [5, 6]);
  });

  it('goes to sleep on the DISCONNECT reply and is lost when it sleeps past the duration', () => {
    const h = harness();
    connect(h, 10);
    h.session.sleep(20, () => undefined, () => undefined);
    assert.deepEqual(h.sent.at(-1), { type: 'DISCONNECT', duration: 20 });
    h.session.handle({ type: 'DISCONNECT' });
    assert.equal(h.session.state, 'asleep');
    h.advance(29_999);
    assert.equal(h.session.state, 'asleep', 'no keep-alive pings and 50 % tolerance while asleep');
    assert.equal(h.sent.length, 1);
    h.advance(1);
    assert.equal(h.session.state, 'disconnected');
    assert.equal((h.events.at(-1)?.payload as { statusCode: number }).statusCode, ErrorCode.TIMEOUT);
  });

  it('answers an inbound QoS 2 PUBLISH twice with PUBREC and delivers it once on PUBREL', () => {
    const h = harness();
    connect(h);
    const publish: Packet = { type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 2, topicId: 'ab', msgId: 9, payload: Buffer.from('once') };
    h.session.handle(publish);
    h.session.handle({ ...publish, dup: true });
    assert.deepEqual(h.sent, [{ type: 'PUBREC', msgId: 9 }, { type: 'PUBREC', msgId: 9 }]);
    assert.equal(h.events.filter((e) => e.name === 'messageIn').length, 0, 'not before PUBREL');
    h.session.handle({ type: 'PUBREL', msgId: 9 });
    h.session.handle({ type: 'PUBREL', msgId: 9 });
    assert.deepEqual(h.sent.slice(2), [{ type: 'PUBCOMP', msgId: 9 }, { type: 'PUBCOMP', msgId: 9 }]);
    assert.equal(h.events.filter((e) => e.name === 'messageIn').length, 1);
  });

  it('documents every client error code with a default description', () => {
    for (const entry of CLIENT_ERRORS) assert.equal(typeof ErrorDescription[entry.code], 'string', `code ${entry.code}`);
    const references = CLIENT_ERRORS.flatMap((entry) => entry.reference);
    assert.equal(new Set(references).size, references.length, 'each reference code maps to one code');
  });

  it('keeps a queued publish off a gateway found lost, and sends it without DUP on the next one', async () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1'], 0, true);
    connect(h);
    const done: string[] = [];
    for (const text of ['one', 'two']) {
      const payload = Buffer.from(text);
      h.session.publish({ topicId: 'ab', topicIdType: 2, qos: 1, payload, retain: false, dup: false }, () => done.push(text), (e) => assert.fail(e.description));
    }
    h.advance(2000);
    assert.equal(h.lostCalls, 1);
    assert.deepEqual(sentOf(h, 'PUBLISH').map((p) => p.payload.toString()), ['one', 'one'], '"two" never reached the lost gateway');
    h.sent.length = 0;
    await failOver(h, []);
    const [first] = sentOf(h, 'PUBLISH');
    assert.deepEqual([first.payload.toString(), first.dup], ['one', true], 'sent before: DUP');
    h.session.handle({ type: 'PUBACK', topicId: 0x6162, msgId: first.msgId, returnCode: 0 });
    const second = sentOf(h, 'PUBLISH')[1];
    assert.deepEqual([second.payload.toString(), second.dup], ['two', false], 'never sent before: no DUP');
    h.session.handle({ type: 'PUBACK', topicId: 0x6162, msgId: second.msgId, returnCode: 0 });
    assert.deepEqual(done, ['one', 'two']);
  });

  it('keeps a topic id from the first gateway working after two failovers', async () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1', 'PingTimeout=1'], 0, true);
    connect(h);
    let id = 0;
    h.session.register('a/b', (topicId) => (id = topicId), () => undefined);
    h.session.handle({ type: 'REGACK', topicId: 1, msgId: sentOf(h, 'REGISTER')[0].msgId, returnCode: 0 });
    assert.equal(id, 1);
    loseGateway(h);
    await failOver(h, [7]);
    loseGateway(h);
    await failOver(h, [3]);
    h.sent.length = 0;
    h.session.publish({ topicId: id, topicIdType: 0, qos: 0, payload: Buffer.from('x'), retain: false, dup: false }, () => undefined, (e) => assert.fail(e.description));
    assert.equal((h.sent[0] as PublishPacket).topicId, 3, 'the id the third gateway gave "a/b"');
    assert.equal(h.session.topics.nameOf(3, 0), 'a/b');
  });

  it('delivers a resent QoS 1 message of a new clean session whose message id an earlier session used', () => {
    const h = harness();
    connect(h);
    const publish: PublishPacket = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 2, topicId: 'ab', msgId: 5, payload: Buffer.from('old') };
    h.session.handle(publish);
    h.session.disconnect(() => undefined, () => undefined);
    h.session.handle({ type: 'DISCONNECT' });
    connect(h);
    // The first copy was lost on the way: the gateway sends it again with DUP.
    h.session.handle({ ...publish, dup: true, payload: Buffer.from('new') });
    h.session.handle({ ...publish, dup: true, payload: Buffer.from('new') });
    const texts = h.events.filter((e) => e.name === 'messageIn').map((e) => (e.payload as { message: Buffer }).message.toString());
    assert.deepEqual(texts, ['old', 'new'], 'delivered once in each session');
    assert.deepEqual(sentOf(h, 'PUBACK').map((p) => p.returnCode), [0, 0]);
  });

  it('stays asleep, able to retrieve again, when stopSleep() during a retrieve gets no CONNACK', () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1']);
    connect(h, 10);
    h.session.sleep(20, () => undefined, () => undefined);
    h.session.handle({ type: 'DISCONNECT' });
    let retrieved: number | undefined;
    h.session.retrieve((n) => (retrieved = n), () => undefined);
    assert.equal(h.session.state, 'awake');
    let wakeError: MqttSnError | undefined;
    h.session.wake(() => undefined, (e) => (wakeError = e));
    assert.equal(retrieved, 0, 'waking ends the retrieve');
    h.advance(2000);
    assert.equal(wakeError?.code, ErrorCode.TIMEOUT);
    assert.equal(h.session.state, 'asleep');
    h.sent.length = 0;
    h.session.retrieve(() => undefined, (e) => assert.fail(e.description));
    assert.deepEqual(h.sent, [{ type: 'PINGREQ', clientId: 'c' }]);
    h.session.handle({ type: 'PINGRESP' });
    h.advance(30_000);
    assert.equal(h.session.state, 'disconnected', 'and lost when it sleeps past the duration');
  });

  it('keeps ids working after a failover whose gateway gives them out the other way round', async () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1', 'PingTimeout=1'], 0, true);
    connect(h);
    h.session.register('a', () => undefined, () => undefined);
    h.session.handle({ type: 'REGACK', topicId: 1, msgId: sentOf(h, 'REGISTER')[0].msgId, returnCode: 0 });
    h.session.subscribe('b', 0, 1, () => undefined, () => undefined);
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 2, msgId: sentOf(h, 'SUBSCRIBE')[0].msgId, returnCode: 0 });
    loseGateway(h);
    h.sent.length = 0;
    h.session.reconnect(false, () => undefined, (e) => assert.fail(e.description));
    h.session.handle({ type: 'CONNACK', returnCode: 0 });
    await settle();
    h.session.handle({ type: 'REGACK', topicId: 2, msgId: sentOf(h, 'REGISTER')[0].msgId, returnCode: 0 });
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 1, msgId: sentOf(h, 'SUBSCRIBE')[0].msgId, returnCode: 0 });
    await settle();
    for (const topicId of [1, 2]) {
      h.session.publish({ topicId, topicIdType: 0, qos: 0, payload: Buffer.from('x'), retain: false, dup: false }, () => undefined, (e) => assert.fail(e.description));
    }
    assert.deepEqual(sentOf(h, 'PUBLISH').map((p) => p.topicId), [2, 1], '"a" is 2 now, "b" is 1');
  });

  it('registers the name of a kept publish again when the restore could not: never sent with the old id', async () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1', 'PingTimeout=1'], 0, true);
    connect(h);
    h.session.register('a/b', () => undefined, () => undefined);
    h.session.handle({ type: 'REGACK', topicId: 1, msgId: sentOf(h, 'REGISTER')[0].msgId, returnCode: 0 });
    h.session.subscribe('c/d', 0, 1, () => undefined, () => undefined);
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 2, msgId: sentOf(h, 'SUBSCRIBE')[0].msgId, returnCode: 0 });
    let acked = false;
    const publish = { topicId: 1, topicIdType: 0 as const, topicName: 'a/b', qos: 1 as const, payload: Buffer.from('x'), retain: false, dup: false };
    h.session.publish(publish, () => (acked = true), (e) => assert.fail(e.description));
    h.advance(2000);
    assert.equal(h.lostCalls, 1);
    h.sent.length = 0;
    h.session.reconnect(false, () => undefined, (e) => assert.fail(e.description));
    h.session.handle({ type: 'CONNACK', returnCode: 0 });
    await settle();
    // The new gateway gives "c/d" the id "a/b" had, and refuses the first REGISTER of "a/b".
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 1, msgId: sentOf(h, 'SUBSCRIBE')[0].msgId, returnCode: 0 });
    h.session.handle({ type: 'REGACK', topicId: 0, msgId: sentOf(h, 'REGISTER')[0].msgId, returnCode: 3 });
    await settle();
    assert.deepEqual(sentOf(h, 'PUBLISH'), [], 'not sent under an id that names another topic here');
    const again = sentOf(h, 'REGISTER');
    assert.deepEqual(again.map((r) => r.topicName), ['a/b', 'a/b']);
    h.session.handle({ type: 'REGACK', topicId: 3, msgId: again[1].msgId, returnCode: 0 });
    const [sent] = sentOf(h, 'PUBLISH');
    assert.equal(sent.topicId, 3);
    h.session.handle({ type: 'PUBACK', topicId: 3, msgId: sent.msgId, returnCode: 0 });
    assert.ok(acked);
  });

  it('keeps a topic id from a SUBACK working after a failover', async () => {
    const h = harness(['RetryInterval=1', 'RetryCount=1', 'PingTimeout=1'], 0, true);
    connect(h);
    let id = 0;
    h.session.subscribe('a/b', 0, 1, (result) => (id = result.topicId), () => undefined);
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 4, msgId: sentOf(h, 'SUBSCRIBE')[0].msgId, returnCode: 0 });
    assert.equal(id, 4);
    loseGateway(h);
    h.sent.length = 0;
    h.session.reconnect(false, () => undefined, (e) => assert.fail(e.description));
    h.session.handle({ type: 'CONNACK', returnCode: 0 });
    await settle();
    const [again] = sentOf(h, 'SUBSCRIBE');
    assert.equal(again.topicId, 'a/b');
    h.session.handle({ type: 'SUBACK', qos: 1, topicId: 9, msgId: again.msgId, returnCode: 0 });
    await settle();
    h.session.publish({ topicId: id, topicIdType: 0, qos: 0, payload: Buffer.from('x'), retain: false, dup: false }, () => undefined, (e) => assert.fail(e.description));
    assert.equal(sentOf(h, 'PUBLISH')[0].topicId, 9, 'the id the new gateway gave "a/b"');
  });
});
