/**
 * The session state machine on a manual clock: keep-alive and sleep
 * supervision at the spec's tolerances (+50 % up to 60 s, +10 % above),
 * which would take minutes of real time. The broker side is an in-memory
 * link that accepts everything.
 */
import * as assert from 'node:assert';
import type { Packet } from '../../lib/codec/packets';
import { resolveOptions, type GatewayOptions } from '../../lib/gateway/options';
import type { EndReason, SessionHost, UpstreamLink, Will } from '../../lib/gateway/ports';
import { GatewaySession } from '../../lib/gateway/gateway-session';
import { GatewayTimers } from '../../lib/gateway/gateway-timers';
import { PredefinedIndex } from '../../lib/gateway/topic-registry';
import { createStats } from '../../lib/gateway/stats';
import { ManualClock } from '../helpers/manual-clock';

function setup(options: GatewayOptions = {}): { clock: ManualClock; sent: Packet[]; ended: EndReason[]; wills: Array<Will | undefined>; session: GatewaySession } {
  const clock = new ManualClock();
  const sent: Packet[] = [];
  const ended: EndReason[] = [];
  const wills: Array<Will | undefined> = [];
  let will: Will | undefined;
  const host: SessionHost<GatewaySession> = {
    options: resolveOptions(options),
    // As in the gateway: every timer on one queue, over the (manual) clock.
    timers: new GatewayTimers(clock),
    stats: createStats(),
    send: (_session, packet) => sent.push(packet),
    log: () => undefined,
    connected: () => undefined,
    ended: (_session, reason) => ended.push(reason),
  };
  const link: UpstreamLink = {
    available: true,
    open: (params, done) => {
      will = params.will;
      done();
    },
    restore: () => undefined,
    publish: (_message, done) => done(),
    subscribe: (_filter, qos, done) => done(qos),
    unsubscribe: (_filter, done) => done(),
    setWill: (next, done) => {
      will = next;
      done();
    },
    close: (publishWill) => {
      if (publishWill) wills.push(will);
    },
  };
  const session = new GatewaySession(host, 'peer', 'c', new PredefinedIndex({}), () => link);
  return { clock, sent, ended, wills, session };
}

describe('gateway session retransmission', () => {
  it('retransmits ten messages in flight with DUP, all on one armed timer', () => {
    const { clock, sent, session } = setup({ retry: { interval: 1000, count: 2 }, limits: { maxInFlight: 10 } });
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'c' });
    session.handle({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'ab' });
    sent.length = 0;
    for (let i = 0; i < 10; i++) session.deliver({ topic: 'ab', payload: Buffer.from(String(i)), qos: 1, retain: false }, () => undefined);
    assert.strictEqual(sent.filter((p) => p.type === 'PUBLISH' && !p.dup).length, 10);
    assert.strictEqual(clock.armed, 1, 'keep-alive supervision and ten retransmissions share one timer');
    sent.length = 0;
    clock.advance(1000);
    const resent = sent.splice(0).filter((p) => p.type === 'PUBLISH');
    assert.deepStrictEqual(resent.map((p) => p.type === 'PUBLISH' && [p.dup, p.payload.toString()]), [...Array(10).keys()].map((i) => [true, String(i)]));
    assert.strictEqual(clock.armed, 1);
    for (const p of resent) if (p.type === 'PUBLISH') session.handle({ type: 'PUBACK', topicId: p.topicId as number, msgId: p.msgId, returnCode: 0 });
    clock.advance(5000);
    assert.deepStrictEqual(sent.filter((p) => p.type === 'PUBLISH'), [], 'acknowledged messages are not sent again');
  });
});

describe('gateway session supervision', () => {
  it('loses a client with a 30 s keep-alive after 45 s of silence, not before', () => {
    const { clock, sent, ended, session } = setup();
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 30, clientId: 'c' });
    assert.deepStrictEqual(sent.pop(), { type: 'CONNACK', returnCode: 0 });
    clock.advance(44_999);
    assert.deepStrictEqual(ended, []);
    clock.advance(1);
    assert.deepStrictEqual(ended, ['lost']);
  });

  it('loses a client with a 120 s keep-alive after 132 s, and every packet restarts the count', () => {
    const { clock, ended, session } = setup();
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 120, clientId: 'c' });
    clock.advance(100_000);
    session.handle({ type: 'PINGREQ' });
    clock.advance(131_999);
    assert.deepStrictEqual(ended, []);
    clock.advance(1);
    assert.deepStrictEqual(ended, ['lost']);
  });

  it('publishes the will when a sleeping client oversleeps; PINGREQ restarts the sleep timer', () => {
    const { clock, sent, ended, wills, session } = setup();
    session.connect({ type: 'CONNECT', will: true, cleanSession: true, duration: 10, clientId: 'c' });
    session.handle({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'w' });
    session.handle({ type: 'WILLMSG', willMsg: Buffer.from('bye') });
    session.handle({ type: 'DISCONNECT', duration: 600 });
    assert.deepStrictEqual(sent.pop(), { type: 'DISCONNECT' });
    clock.advance(600_000);
    session.handle({ type: 'PINGREQ', clientId: 'c' });
    assert.deepStrictEqual(sent.pop(), { type: 'PINGRESP' });
    clock.advance(659_999);
    assert.deepStrictEqual(ended, []);
    clock.advance(1);
    assert.deepStrictEqual(ended, ['lost']);
    assert.deepStrictEqual(wills, [{ topic: 'w', qos: 1, retain: false, payload: Buffer.from('bye') }]);
  });

  it('keeps every unacknowledged message when a client with a full queue falls asleep', () => {
    const { sent, session } = setup({ limits: { bufferedMessages: 2, maxInFlight: 1 } });
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'c' });
    session.handle({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 't' });
    for (const text of ['1', '2', '3']) session.deliver({ topic: 't', payload: Buffer.from(text), qos: 1, retain: false }, () => undefined);
    assert.strictEqual(session.queued, 2, 'one in flight, two queued');
    const first = sent.find((p) => p.type === 'PUBLISH');
    session.handle({ type: 'DISCONNECT', duration: 60 });
    assert.strictEqual(session.queued, 2, 'the message in flight is held, not queued again');
    sent.length = 0;
    session.handle({ type: 'PINGREQ', clientId: 'c' });
    const delivered: string[] = [];
    let packet = sent.shift();
    assert.ok(packet?.type === 'PUBLISH' && first?.type === 'PUBLISH');
    assert.deepStrictEqual([packet.msgId, packet.dup], [first.msgId, true], 'sent again with its message id and DUP');
    for (; packet?.type === 'PUBLISH'; packet = sent.shift()) {
      delivered.push(packet.payload.toString());
      session.handle({ type: 'PUBACK', topicId: packet.topicId as number, msgId: packet.msgId, returnCode: 0 });
    }
    assert.deepStrictEqual(delivered, ['1', '2', '3']);
    assert.deepStrictEqual([packet, ...sent], [{ type: 'PINGRESP' }], 'PINGRESP after the last message');
  });

  it('completes a QoS 2 delivery across sleep: PUBREL again on wake-up, not the PUBLISH', () => {
    const { clock, sent, session } = setup({ retry: { interval: 1000, count: 3 } });
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'c' });
    session.handle({ type: 'SUBSCRIBE', dup: false, qos: 2, topicIdType: 0, msgId: 1, topicId: 't' });
    session.deliver({ topic: 't', payload: Buffer.from('once'), qos: 2, retain: false }, () => undefined);
    const publish = sent.pop();
    assert.ok(publish?.type === 'PUBLISH' && publish.qos === 2);
    session.handle({ type: 'PUBREC', msgId: publish.msgId });
    assert.deepStrictEqual(sent.pop(), { type: 'PUBREL', msgId: publish.msgId });
    session.handle({ type: 'DISCONNECT', duration: 600 });
    session.deliver({ topic: 't', payload: Buffer.from('later'), qos: 1, retain: false }, () => undefined);
    sent.length = 0;
    clock.advance(60_000);
    assert.deepStrictEqual(sent.splice(0), [], 'nothing is sent to a sleeping client');
    session.handle({ type: 'PINGREQ', clientId: 'c' });
    assert.deepStrictEqual(sent.shift(), { type: 'PUBREL', msgId: publish.msgId }, 'the PUBREL comes first');
    const later = sent.shift();
    assert.ok(later?.type === 'PUBLISH' && later.payload.toString() === 'later' && later.msgId !== publish.msgId);
    assert.deepStrictEqual(sent.splice(0), []);
    session.handle({ type: 'PUBCOMP', msgId: publish.msgId });
    assert.deepStrictEqual(sent.splice(0), [], 'PINGRESP waits for the last acknowledgement');
    session.handle({ type: 'PUBACK', topicId: later.topicId as number, msgId: later.msgId, returnCode: 0 });
    assert.deepStrictEqual(sent, [{ type: 'PINGRESP' }]);
  });

  it('resends a held PUBREL when the client reconnects with cleanSession off, and retransmits it', () => {
    const { clock, sent, session } = setup({ retry: { interval: 1000, count: 3 } });
    session.connect({ type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'c' });
    session.handle({ type: 'SUBSCRIBE', dup: false, qos: 2, topicIdType: 0, msgId: 1, topicId: 't' });
    session.deliver({ topic: 't', payload: Buffer.from('once'), qos: 2, retain: false }, () => undefined);
    const publish = sent.pop();
    assert.ok(publish?.type === 'PUBLISH');
    session.handle({ type: 'PUBREC', msgId: publish.msgId });
    session.handle({ type: 'DISCONNECT', duration: 600 });
    sent.length = 0;
    session.connect({ type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'c' });
    assert.deepStrictEqual(sent.splice(0), [{ type: 'CONNACK', returnCode: 0 }, { type: 'PUBREL', msgId: publish.msgId }]);
    clock.advance(1000);
    assert.deepStrictEqual(sent.splice(0), [{ type: 'PUBREL', msgId: publish.msgId }], 'retransmitted, never as a PUBLISH');
    session.handle({ type: 'PUBCOMP', msgId: publish.msgId });
    clock.advance(10_000);
    assert.deepStrictEqual(sent.splice(0), [], 'completed: nothing more');
  });

  it('supervises a keep-alive of 0 only by the idle limit', () => {
    const { clock, ended, session } = setup({ limits: { maxIdle: 7200 } });
    session.connect({ type: 'CONNECT', will: false, cleanSession: true, duration: 0, clientId: 'c' });
    clock.advance(7199_000);
    assert.deepStrictEqual(ended, []);
    clock.advance(1000);
    assert.deepStrictEqual(ended, ['lost']);
  });
});
