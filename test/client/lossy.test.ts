/**
 * The client through a lossy relay in front of the real gateway: lost,
 * duplicated and rewritten packets exercise retransmission (DUP set),
 * duplicate detection, congestion and invalid-topic-id recovery, the
 * in-flight window, a gateway that goes silent, and slow answers that each
 * restart the call's timeout.
 */
import * as assert from 'node:assert/strict';
import type { Packet, Publish } from '../../lib/codec/packets';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MQTTSN } from '../../lib/client';
import { LossyRelay } from '../helpers/lossy-relay';
import { delay } from '../helpers/mqtt-inbox';
import { NETS, collectMessages, nextEvent, startRig, uniq, waitFor, type Rig } from './support';

for (const net of NETS) describe(`MQTTSN client through a lossy link (${net.name})`, function () {
  this.timeout(15000);
  let rig: Rig;
  let relay: LossyRelay;

  beforeEach(async () => {
    rig = await startRig('embedded', {}, net);
    relay = await LossyRelay.start({ address: '127.0.0.1', port: rig.port }, undefined, rig.net.transport);
  });

  afterEach(async () => {
    await relay.stop();
    await rig.stop();
  });

  async function connected(settings: string[] = []): Promise<MQTTSN> {
    const client = rig.client(settings);
    await client.connectTo('127.0.0.1', relay.address().port);
    return client;
  }

  it('retransmits a lost CONNECT, REGISTER, SUBSCRIBE and QoS 1 PUBLISH, with DUP on the resent PUBLISH and SUBSCRIBE', async () => {
    relay.rule = (packet, direction, count) =>
      direction === 'up' && count === 1 && ['CONNECT', 'REGISTER', 'SUBSCRIBE', 'PUBLISH'].includes(packet.type) ? 'drop' : 'forward';
    const topic = uniq('lossy/q1');
    await rig.inbox.subscribe(topic, 1);
    const client = await connected();
    const id = await client.registerTopic(topic);
    await client.subscribe(uniq('lossy/sub'), 0, 1);
    await client.publishMessage(id, 0, 1, 'through');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'through');
    assert.equal(relay.packets('CONNECT', 'up').length, 2);
    assert.equal(relay.packets('REGISTER', 'up').length, 2);
    const subscribes = relay.packets('SUBSCRIBE', 'up') as Extract<Packet, { type: 'SUBSCRIBE' }>[];
    assert.deepEqual(subscribes.map((p) => p.dup), [false, true]);
    const publishes = relay.packets('PUBLISH', 'up') as Publish[];
    assert.deepEqual(publishes.map((p) => p.dup), [false, true]);
    assert.equal(publishes[0].msgId, publishes[1].msgId, 'the same message id');
    await client.disconnect();
  });

  it('completes QoS 2 when PUBREC, PUBREL and PUBCOMP are each lost once, delivering exactly once', async () => {
    relay.rule = (packet, direction, count) =>
      count === 1 && ((direction === 'down' && packet.type === 'PUBREC') || (direction === 'up' && packet.type === 'PUBREL') || (direction === 'down' && packet.type === 'PUBCOMP'))
        ? 'drop'
        : 'forward';
    const topic = uniq('lossy/q2');
    await rig.inbox.subscribe(topic, 2);
    const client = await connected();
    const id = await client.registerTopic(topic);
    await client.publishMessage(id, 0, 2, 'once');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'once');
    assert.equal(await rig.inbox.none(topic, 300), true, 'no second copy');
    assert.ok(relay.packets('PUBREL', 'up').length >= 3);
    await client.disconnect();
  });

  it('delivers an inbound QoS 2 message once although its PUBLISH arrives twice', async () => {
    relay.rule = (packet, direction) => (direction === 'down' && packet.type === 'PUBLISH' && packet.qos === 2 ? 'duplicate' : 'forward');
    const client = await connected();
    const inbox = collectMessages(client);
    const topic = uniq('dup/q2');
    await client.subscribe(topic, 0, 2);
    await rig.inbox.publish(topic, 'exactly-once', 2);
    await waitFor(() => inbox.texts.length === 1, 3000, 'the message');
    await delay(300);
    assert.deepEqual(inbox.texts, ['exactly-once']);
    assert.equal(relay.packets('PUBREC', 'up').length, 2, 'each copy gets its PUBREC');
    assert.equal(relay.packets('PUBCOMP', 'up').length, relay.packets('PUBREL', 'down').length, 'each PUBREL gets its PUBCOMP');
    await client.disconnect();
  });

  it('delivers an inbound QoS 1 message once when its PUBACK is lost and the gateway resends it with DUP', async () => {
    relay.rule = (packet, direction, count) => (direction === 'up' && packet.type === 'PUBACK' && count === 1 ? 'drop' : 'forward');
    const client = await connected();
    const inbox = collectMessages(client);
    const topic = uniq('dup/q1');
    await client.subscribe(topic, 0, 1);
    await rig.inbox.publish(topic, 'at-least-once', 1);
    await waitFor(() => relay.packets('PUBACK', 'up').length === 2, 3000, 'the second PUBACK');
    const copies = relay.packets('PUBLISH', 'down') as Publish[];
    assert.equal(copies.length, 2);
    assert.equal(copies[1].dup, true);
    assert.deepEqual(inbox.texts, ['at-least-once']);
    await client.disconnect();
  });

  it('sets DUP on request with the Duplicate and SubscribeDUP settings', async () => {
    const client = await connected(['Duplicate=True', 'SubscribeDUP=True']);
    await client.subscribe(uniq('dupflag/sub'), 0, 0);
    await client.publishMessage('df', 2, 1, 'flagged');
    const subscribe = relay.packets('SUBSCRIBE', 'up')[0] as Extract<Packet, { type: 'SUBSCRIBE' }>;
    const publish = relay.packets('PUBLISH', 'up')[0] as Publish;
    assert.equal(subscribe.dup, true);
    assert.equal(publish.dup, true);
    await client.disconnect();
  });

  it('sends the returnCode a messageIn listener sets in the PUBACK of a QoS 1 message', async () => {
    const client = await connected();
    client.on('messageIn', (event) => {
      event.returnCode = 3;
    });
    const topic = uniq('rc/q1');
    await client.subscribe(topic, 0, 1);
    await rig.inbox.publish(topic, 'refuse me', 1);
    await waitFor(() => relay.packets('PUBACK', 'up').length >= 1, 3000, 'the PUBACK');
    const puback = relay.packets('PUBACK', 'up')[0] as Extract<Packet, { type: 'PUBACK' }>;
    assert.equal(puback.returnCode, 3);
    await client.disconnect();
  });

  it('waits and publishes again after "rejected: congestion"', async () => {
    relay.rule = (packet, direction, count) =>
      direction === 'down' && packet.type === 'PUBACK' && count === 1 ? { replace: { ...packet, returnCode: 1 } } : 'forward';
    const topic = uniq('congestion');
    await rig.inbox.subscribe(topic, 1);
    const client = await connected(['CongestionDelay=0.2']);
    const id = await client.registerTopic(topic);
    const started = Date.now();
    await client.publishMessage(id, 0, 1, 'later');
    assert.ok(Date.now() - started >= 180, 'waited for the congestion delay');
    assert.equal(relay.packets('PUBLISH', 'up').length, 2);
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'later');
    await client.disconnect();
  });

  it('rejects with REJECTED_CONGESTION when congestion outlasts the timeout, and with NOT_SUPPORTED at once', async () => {
    relay.rule = (packet, direction) =>
      direction === 'down' && packet.type === 'SUBACK' ? { replace: { ...packet, returnCode: 1 } } : 'forward';
    const client = await connected(['CongestionDelay=0.2']);
    client.timeout = 0.7;
    await assert.rejects(client.subscribe('busy/topic', 0, 1), (e: MqttSnError) => e.code === ErrorCode.REJECTED_CONGESTION);
    relay.rule = (packet, direction) =>
      direction === 'down' && packet.type === 'REGACK' ? { replace: { ...packet, returnCode: 3 } } : 'forward';
    await assert.rejects(client.registerTopic('not/supported'), (e: MqttSnError) => e.code === ErrorCode.REJECTED_NOT_SUPPORTED);
    client.reset();
  });

  it('registers again and retries when PUBACK says "invalid topic id"', async () => {
    // The first PUBLISH reaches the gateway with an id it never issued: the gateway itself answers "invalid topic id".
    relay.rule = (packet, direction, count) =>
      direction === 'up' && packet.type === 'PUBLISH' && count === 1 ? { replace: { ...packet, topicId: 999 } } : 'forward';
    const topic = uniq('reregister');
    await rig.inbox.subscribe(topic, 1);
    const client = await connected();
    const id = await client.registerTopic(topic);
    await client.publishMessage(id, 0, 1, 'after re-register');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'after re-register');
    assert.equal(relay.packets('REGISTER', 'up').length, 2);
    // The id the caller holds keeps working.
    await client.publishMessage(id, 0, 1, 'old id');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'old id');
    await client.disconnect();
  });

  it('keeps one QoS 1 publish in flight by default and more with MaxInFlight, in order', async () => {
    const topic = uniq('window');
    await rig.inbox.subscribe(topic, 1);
    const client = await connected();
    const id = await client.registerTopic(topic);
    for (const window of [1, 5]) {
      client.config(`MaxInFlight=${window}`);
      const sends = [1, 2, 3, 4, 5].map((n) => client.publishMessage(id, 0, 1, `w${window}-${n}`));
      assert.equal(client.inFlight, window);
      await Promise.all(sends);
      for (let n = 1; n <= 5; n++) assert.equal((await rig.inbox.next(topic)).payload.toString(), `w${window}-${n}`);
    }
    await client.disconnect();
  });

  it('declares the gateway lost after the retries: the call rejects, disconnected fires with GATEWAY_LOST', async () => {
    const client = await connected(['RetryInterval=0.1', 'RetryCount=2']);
    const id = await client.registerTopic(uniq('lost'));
    relay.rule = () => 'drop';
    const disconnected = nextEvent(client, 'disconnected');
    await assert.rejects(client.publishMessage(id, 0, 1, 'void'), (e: MqttSnError) => e.code === ErrorCode.GATEWAY_LOST);
    assert.equal((await disconnected).statusCode, ErrorCode.GATEWAY_LOST);
    assert.equal(client.connected, false);
    assert.equal(relay.packets('PUBLISH', 'up').length, 3);
  });

  it('declares the gateway lost when PINGRESP stops coming (keep-alive)', async () => {
    const client = await connected(['PingTimeout=0.1', 'RetryCount=2']);
    relay.rule = (packet) => (packet.type === 'PINGRESP' ? 'drop' : 'forward');
    const disconnected = nextEvent(client, 'disconnected');
    await assert.rejects(client.ping(), (e: MqttSnError) => e.code === ErrorCode.GATEWAY_LOST);
    assert.equal((await disconnected).statusCode, ErrorCode.GATEWAY_LOST);
    assert.equal(relay.packets('PINGREQ', 'up').length, 3);
  });

  it('pings a silent gateway from half the keep-alive, often enough to fit its tolerance, and gives it up after twice that tolerance', async () => {
    const client = new MQTTSN({ transport: rig.net.transport });
    rig.clients.push(client);
    client.keepAliveInterval = 1;
    client.config('RetryInterval=1');
    client.config('RetryCount=2');
    await client.connectTo('127.0.0.1', relay.address().port);
    const start = Date.now();
    const pingTimes: number[] = [];
    relay.rule = (packet, direction) => {
      if (packet.type === 'PINGREQ' && direction === 'up') pingTimes.push(Date.now() - start);
      return 'drop';
    };
    const disconnected = await nextEvent(client, 'disconnected', 9000);
    const lostAfter = Date.now() - start;
    assert.equal(disconnected.statusCode, ErrorCode.GATEWAY_LOST);
    // Keep-alive 1 s: the gateway's tolerance is 1.5 s; the first PINGREQ after 0.5 s, then one every 1.5 s / 16.
    assert.ok(pingTimes[0] >= 400 && pingTimes[0] < 1000, `first PINGREQ at half the keep-alive, not ${pingTimes[0]} ms`);
    const inTolerance = pingTimes.filter((t) => t < 1500).length;
    assert.ok(inTolerance >= 5, `${inTolerance} PINGREQs inside the gateway's tolerance: ${pingTimes.join(', ')} ms`);
    for (let n = 1; n < pingTimes.length; n++) assert.ok(pingTimes[n] - pingTimes[n - 1] >= 60, `spaced: ${pingTimes.join(', ')} ms`);
    assert.ok(lostAfter >= 2900 && lostAfter < 5000, `lost after twice the tolerance (3 s), not ${lostAfter} ms`);
    assert.equal(client.connected, false);
  });

  it('rejects a gateway REGISTER of a wildcard name with REGACK "not supported", without topicInfo or storing it', async () => {
    const client = await connected();
    const topicInfos: unknown[] = [];
    client.on('topicInfo', (event) => topicInfos.push(event));
    for (const [topicId, name] of [[77, 'a/+/c'], [78, 'a/#']] as const) {
      const bytes = Buffer.concat([Buffer.from([6 + name.length, 0x0a, 0, topicId, 0, topicId]), Buffer.from(name)]);
      relay.injectToClients(bytes);
    }
    await waitFor(() => relay.packets('REGACK', 'up').length === 2, 2000, 'the REGACKs');
    assert.deepEqual(relay.packets('REGACK', 'up'), [
      { type: 'REGACK', topicId: 77, msgId: 77, returnCode: 3 },
      { type: 'REGACK', topicId: 78, msgId: 78, returnCode: 3 },
    ]);
    assert.deepEqual(topicInfos, []);
    assert.equal(client.topicName(77, 0), undefined);
    assert.equal(client.topicName(78, 0), undefined);
    // A plain name is still accepted and stored.
    relay.injectToClients(Buffer.concat([Buffer.from([6 + 3, 0x0a, 0, 79, 0, 79]), Buffer.from('a/b')]));
    await waitFor(() => relay.packets('REGACK', 'up').length === 3, 2000, 'the third REGACK');
    assert.equal((relay.packets('REGACK', 'up')[2] as Extract<Packet, { type: 'REGACK' }>).returnCode, 0);
    assert.deepEqual(topicInfos, [{ topicId: 79, topicName: 'a/b', returnCode: 0 }]);
    assert.equal(client.topicName(79, 0), 'a/b');
    await client.disconnect();
  });

  it('reports a DISCONNECT the gateway sends on its own as disconnected (NOT_CONNECTED)', async () => {
    const client = await connected();
    const disconnected = nextEvent(client, 'disconnected');
    relay.injectToClients(Buffer.from([2, 0x18]));
    assert.deepEqual(await disconnected, { statusCode: ErrorCode.NOT_CONNECTED, description: 'The gateway closed the connection.' });
    assert.equal(client.state, 'disconnected');
    await client.connect();
    await client.disconnect();
  });

  it('counts a client that sleeps past its duration as lost (disconnected with TIMEOUT)', async () => {
    const client = await connected();
    await client.startSleep(1);
    const disconnected = nextEvent(client, 'disconnected', 3000);
    assert.equal((await disconnected).statusCode, ErrorCode.TIMEOUT);
    assert.equal(client.connected, false);
  });

  it('reports a QoS 0 publish the gateway rejects as an error event', async () => {
    const client = await connected();
    const error = nextEvent(client, 'error');
    await client.publishMessage(999, 0, 0, 'nowhere');
    assert.equal((await error).errorCode, ErrorCode.REJECTED_INVALID_TOPIC_ID);
    await client.disconnect();
  });

  it('answers the gateway PINGREQ with PINGRESP', async () => {
    const client = await connected();
    relay.injectToClients(Buffer.from([2, 0x16]));
    await waitFor(() => relay.packets('PINGRESP', 'up').length === 1, 2000, 'the PINGRESP');
    await client.disconnect();
  });

  /** Through the relay, retransmitting late enough that only the timeout (an inactivity timeout, as the reference class's) decides. */
  async function slowLinkClient(timeoutSeconds: number): Promise<MQTTSN> {
    const client = await connected(['RetryInterval=5']);
    client.timeout = timeoutSeconds;
    return client;
  }

  it('completes a QoS 2 publish whose every answer takes 0.6 s with timeout 1: each step restarts the timeout', async () => {
    const topic = `timeout/steps-${Math.random().toString(16).slice(2, 10)}`;
    await rig.inbox.subscribe(topic, 2);
    const client = await slowLinkClient(1);
    const id = await client.registerTopic(topic);
    relay.rule = (packet, direction) => (direction === 'down' && (packet.type === 'PUBREC' || packet.type === 'PUBCOMP') ? { delayMs: 600 } : 'forward');
    const started = Date.now();
    await client.publishMessage(id, 0, 2, 'step by step');
    assert.ok(Date.now() - started >= 1150, 'the publish as a whole took longer than the timeout');
    assert.equal((await rig.inbox.next(topic)).payload.toString(), 'step by step');
    await client.disconnect();
  });

  it('still times out (702) when nothing comes for the whole timeout after the last step', async () => {
    const client = await slowLinkClient(1);
    const id = await client.registerTopic('timeout/silent');
    relay.rule = (packet, direction) => {
      if (direction !== 'down') return 'forward';
      if (packet.type === 'PUBREC') return { delayMs: 600 };
      return packet.type === 'PUBCOMP' ? 'drop' : 'forward';
    };
    const started = Date.now();
    const error = await client.publishMessage(id, 0, 2, 'never completed').then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(error instanceof MqttSnError && error.code === ErrorCode.TIMEOUT, `a timeout, not ${String(error)}`);
    // PUBREC came at 0.6 s and PUBREL went out: the timeout ran a full second from there.
    assert.ok(Date.now() - started >= 1500, `timed out after ${Date.now() - started} ms, not 1 s after the PUBREL`);
  });
});
