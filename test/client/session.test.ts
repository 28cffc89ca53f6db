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
import { ClientSession } from '../../lib/client/session';
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

function harness(config: string[] = [], timeoutSeconds = 0): Harness {
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
        return false;
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

  it('sends PINGREQ only after keepAliveInterval of silence from the client', () => {
    const h = harness(['PingTimeout=2']);
    connect(h, 60);
    h.advance(30_000);
    h.session.publish({ topicId: 'ab', topicIdType: 2, qos: 0, payload: Buffer.alloc(0), retain: false, dup: false }, () => undefined, () => undefined);
    h.advance(59_999);
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
});
