/**
 * The client against the project's gateway with a real broker behind it
 * (embedded aedes and mosquitto); MQTT.js on the broker side checks what
 * really went through.
 */
import * as assert from 'node:assert/strict';
import { decode } from '../../lib/codec';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MQTTSN } from '../../lib/client';
import { BROKER_KINDS } from '../helpers/brokers';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';
import { DTLS_LINKS } from './dtls-links';
import { UDP_NETS } from '../helpers/nets';
import { NETS, PLAIN, collectMessages, nextEvent, startRig, udpListener, waitFor, type Rig } from './support';

function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}

// Plain over every network and broker; DTLS (a pre-shared key, certificates) over both UDP engines with the embedded broker.
const runs = [
  ...NETS.flatMap((net) => BROKER_KINDS.map((kind) => ({ net, kind, link: PLAIN }))),
  ...UDP_NETS.flatMap((net) => DTLS_LINKS.map((link) => ({ net, kind: 'embedded' as const, link }))),
];
for (const { net, kind, link } of runs) {
  describe(`MQTTSN client end to end (${kind} broker, ${net.name}${link.dtls ? `, ${link.name}` : ''})`, function () {
    this.timeout(15000);
    let rig: Rig;

    beforeEach(async () => {
      rig = await startRig(kind, { predefined: { '7': 'pre/seven' } }, net, link);
    });

    afterEach(async () => {
      await rig.stop();
    });

    it('connects with connectTo and the connected property, fires connected/disconnected, generates a client id', async () => {
      const client = rig.client();
      const connected = nextEvent(client, 'connected');
      await client.connectTo('localhost', rig.port);
      assert.deepEqual(await connected, { statusCode: 0, description: 'OK' });
      assert.equal(client.connected, true);
      assert.equal(client.state, 'active');
      assert.match(client.clientId, /^mqttsn-[0-9a-f]{12}$/);
      assert.equal(client.remoteHost, '127.0.0.1', 'the name was resolved');
      assert.ok(client.localPort > 0);
      const disconnected = nextEvent(client, 'disconnected');
      client.connected = false;
      assert.deepEqual(await disconnected, { statusCode: 0, description: 'OK' });
      assert.equal(client.connected, false);

      const again = nextEvent(client, 'connected');
      client.connected = true;
      assert.equal((await again).statusCode, 0);
      await client.disconnect();
    });

    it('exchanges the will on connect, updates it, and the gateway publishes it when the client dies', async () => {
      const willTopic = uniq('wills/a');
      const newTopic = uniq('wills/b');
      await rig.inbox.subscribe(`${willTopic}`, 1);
      await rig.inbox.subscribe(`${newTopic}`, 1);
      const client = rig.client(['WillQOS=1']);
      client.clientId = uniq('will');
      client.keepAliveInterval = 1;
      client.willTopic = willTopic;
      client.willMessage = 'gone-1';
      await client.connectTo('127.0.0.1', rig.port);
      client.willTopic = newTopic;
      client.willMessage = 'gone-2';
      await client.updateWillTopic();
      await client.updateWillMessage();
      // Vanish without DISCONNECT: the gateway loses the client and publishes its will.
      client.reset();
      const will = await rig.inbox.next(newTopic, 6000);
      assert.equal(will.payload.toString(), 'gone-2');
      assert.equal(await rig.inbox.none(willTopic, 200), true);
    });

    it('publishes QoS -1 without connecting, to a pre-defined id and a short name', async () => {
      await rig.inbox.subscribe('pre/seven', 0);
      await rig.inbox.subscribe('qs', 0);
      const client = rig.client();
      client.remoteHost = '127.0.0.1';
      client.remotePort = rig.port;
      await client.publishMessage(7, 1, -1, 'predefined');
      await client.publishMessage('qs', 2, -1, 'short');
      assert.equal((await rig.inbox.next('pre/seven')).payload.toString(), 'predefined');
      assert.equal((await rig.inbox.next('qs')).payload.toString(), 'short');
      assert.equal(client.connected, false);
    });

    it('publishes QoS 0, 1 and 2 to a registered id, a short name and a pre-defined id, with Retain', async () => {
      const topic = uniq('pub/t');
      await rig.inbox.subscribe(topic, 2);
      await rig.inbox.subscribe('pb', 2);
      await rig.inbox.subscribe('pre/seven', 2);
      const client = rig.client();
      await client.connectTo('127.0.0.1', rig.port);
      const id = await client.registerTopic(topic);
      assert.ok(id > 0);
      for (const qos of [0, 1, 2] as const) {
        await client.publishMessage(id, 0, qos, `registered-${qos}`);
        const got = await rig.inbox.next(topic);
        assert.equal(got.payload.toString(), `registered-${qos}`);
        assert.equal(got.qos, qos);
      }
      await client.publishData('pb', 2, 1, Buffer.from([1, 2, 3]));
      assert.deepEqual([...(await rig.inbox.next('pb')).payload], [1, 2, 3]);
      await client.publishMessage('7', 1, 2, 'pre');
      assert.equal((await rig.inbox.next('pre/seven')).payload.toString(), 'pre');

      client.config('Retain=True');
      await client.publishMessage(id, 0, 1, 'kept');
      await rig.inbox.next(topic);
      client.config('Retain=False');
      const late = await MqttInbox.connect(rig.gateway.brokerUrl);
      try {
        await late.subscribe(topic, 1);
        const retained = await late.next(topic);
        assert.equal(retained.payload.toString(), 'kept');
        assert.equal(retained.retain, true);
      } finally {
        await late.close();
      }
      await client.disconnect();
    });

    it('a per-call retain overrides the Retain setting for that publish only', async () => {
      const kept = uniq('retain/kept');
      const dropped = uniq('retain/dropped');
      const setting = uniq('retain/setting');
      const client = rig.client();
      await client.connectTo('127.0.0.1', rig.port);
      const keptId = await client.registerTopic(kept);
      const droppedId = await client.registerTopic(dropped);
      const settingId = await client.registerTopic(setting);
      // Retain=False: a per-call true retains; Retain=True: a per-call false does not.
      await client.publishMessage(keptId, 0, 1, 'kept', { retain: true });
      await client.publishData(settingId, 0, 1, Buffer.from('by setting'));
      client.config('Retain=True');
      await client.publishData(droppedId, 0, 1, Buffer.from('not kept'), { retain: false });
      await client.publishMessage(settingId, 0, 1, 'by setting now');
      assert.equal(client.config('Retain'), 'True');
      client.config('Retain=False');
      const late = await MqttInbox.connect(rig.gateway.brokerUrl);
      try {
        await late.subscribe(kept, 1);
        await late.subscribe(dropped, 1);
        await late.subscribe(setting, 1);
        const retained = await late.next(kept);
        assert.equal(retained.payload.toString(), 'kept');
        assert.equal(retained.retain, true);
        const bySetting = await late.next(setting);
        assert.equal(bySetting.payload.toString(), 'by setting now');
        assert.equal(bySetting.retain, true);
        assert.equal(await late.none(dropped, 300), true);
      } finally {
        await late.close();
      }
      await client.disconnect();
    });

    it('subscribes by name at QoS 0, 1 and 2 and receives at each QoS; SubscribedTopicId holds the id', async () => {
      const client = rig.client();
      const inbox = collectMessages(client);
      await client.connectTo('127.0.0.1', rig.port);
      const topic = uniq('sub/t');
      const result = await client.subscribe(topic, 0, 2);
      assert.equal(result.qos, 2);
      assert.ok(result.topicId > 0);
      assert.equal(client.config('SubscribedTopicId'), String(result.topicId));
      for (const qos of [0, 1, 2] as const) await rig.inbox.publish(topic, `in-${qos}`, qos);
      await waitFor(() => inbox.events.length === 3, 3000, 'three messages');
      assert.deepEqual(inbox.texts.sort(), ['in-0', 'in-1', 'in-2']);
      for (const event of inbox.events) {
        assert.equal(event.topicId, result.topicId);
        assert.equal(event.topicIdType, 0);
        assert.equal(event.topicName, topic);
        assert.equal(event.qos, Number(event.message.toString().slice(3)));
        assert.equal(event.duplicate, false);
        if (event.qos > 0) assert.ok(event.msgId > 0);
      }
      await client.unsubscribe(topic, 0);
      await rig.inbox.publish(topic, 'after', 1);
      await delay(200);
      assert.equal(inbox.texts.includes('after'), false);
      await client.disconnect();
    });

    it('subscribes to a wildcard: SUBACK id 0, the gateway REGISTERs each topic (topicInfo) before its messages', async () => {
      const client = rig.client();
      const inbox = collectMessages(client);
      const infos: { topicId: number; topicName: string }[] = [];
      client.on('topicInfo', (event) => infos.push({ topicId: event.topicId, topicName: event.topicName }));
      await client.connectTo('127.0.0.1', rig.port);
      const base = uniq('wild');
      const result = await client.subscribe(`${base}/+/temp`, 0, 1);
      assert.equal(result.topicId, 0);
      assert.equal(client.config('SubscribedTopicId'), '0');
      await rig.inbox.publish(`${base}/kitchen/temp`, '21', 1);
      await rig.inbox.publish(`${base}/hall/temp`, '19', 1);
      await waitFor(() => inbox.events.length === 2, 3000, 'two messages');
      assert.deepEqual(infos.map((i) => i.topicName).sort(), [`${base}/hall/temp`, `${base}/kitchen/temp`]);
      for (const event of inbox.events) {
        const info = infos.find((i) => i.topicId === event.topicId);
        assert.ok(info, 'each message uses an id announced by REGISTER');
        assert.equal(event.topicName, info.topicName);
        assert.equal(client.topicName(event.topicId, 0), info.topicName);
      }
      await client.disconnect();
    });

    it('a topicInfo listener that sets returnCode rejects the topic: its messages stop', async () => {
      const client = rig.client();
      const inbox = collectMessages(client);
      const base = uniq('rej');
      client.on('topicInfo', (event) => {
        if (event.topicName.endsWith('/no')) event.returnCode = 3;
      });
      await client.connectTo('127.0.0.1', rig.port);
      await client.subscribe(`${base}/#`, 0, 1);
      await rig.inbox.publish(`${base}/no`, 'refused', 1);
      await rig.inbox.publish(`${base}/yes`, 'accepted', 1);
      await waitFor(() => inbox.texts.includes('accepted'), 3000, 'the accepted topic');
      await delay(200);
      assert.deepEqual(inbox.texts, ['accepted']);
      await client.disconnect();
    });

    it('subscribes by short name and pre-defined id', async () => {
      const client = rig.client(['PredefinedTopics=7=pre/seven']);
      const inbox = collectMessages(client);
      await client.connectTo('127.0.0.1', rig.port);
      await client.subscribe('zz', 2, 1);
      await client.subscribe(7, 1, 1);
      await rig.inbox.publish('zz', 'short', 1);
      await rig.inbox.publish('pre/seven', 'pre', 1);
      await waitFor(() => inbox.events.length === 2, 3000, 'two messages');
      const short = inbox.events.find((e) => e.topicIdType === 2);
      const pre = inbox.events.find((e) => e.topicIdType === 1);
      assert.equal(short?.topicId, 'zz');
      assert.equal(short?.topicName, 'zz');
      assert.equal(pre?.topicId, 7);
      assert.equal(pre?.topicName, 'pre/seven');
      await client.unsubscribe('zz', 2);
      await client.unsubscribe(7, 1);
      await client.disconnect();
    });

    it('pings, keeps the connection alive by itself, and answers within keepAliveInterval', async () => {
      const client = rig.client();
      client.keepAliveInterval = 1;
      await client.connectTo('127.0.0.1', rig.port);
      await client.ping();
      // Three keep-alive periods of silence from the user: the client's own PINGREQs keep the session.
      await delay(2500);
      assert.equal(client.state, 'active');
      assert.equal(rig.gateway.clientCount, 1);
      await client.ping();
      await client.disconnect();
    });

    it('sleeps while the gateway buffers, retrieves the buffered messages, sleeps again, then wakes', async () => {
      const client = rig.client();
      const inbox = collectMessages(client);
      client.clientId = uniq('sleeper');
      await client.connectTo('127.0.0.1', rig.port);
      const topic = uniq('sleep/t');
      const own = await client.registerTopic(uniq('sleep/own'));
      await client.subscribe(topic, 0, 1);
      await client.startSleep(10);
      assert.equal(client.state, 'asleep');
      await assert.rejects(client.publishMessage(own, 0, 1, 'x'), (e: MqttSnError) => e.code === ErrorCode.WRONG_STATE);
      await rig.inbox.publish(topic, 'buffered-1', 1);
      await rig.inbox.publish(topic, 'buffered-2', 1);
      await delay(200);
      assert.deepEqual(inbox.texts, [], 'nothing arrives while asleep');
      const delivered = await client.retrieveMessages();
      assert.equal(delivered, 2);
      assert.deepEqual(inbox.texts, ['buffered-1', 'buffered-2']);
      assert.equal(client.state, 'asleep');
      assert.equal(await client.retrieveMessages(), 0);
      await rig.inbox.publish(topic, 'buffered-3', 1);
      await delay(100);
      await client.stopSleep();
      assert.equal(client.state, 'active');
      await waitFor(() => inbox.texts.includes('buffered-3'), 3000, 'the message buffered before waking');
      // The registered id still works after the sleep.
      await client.publishMessage(own, 0, 1, 'awake');
      await client.disconnect();
    });

    it('reads and writes configuration, processes events with doEvents, logs, and resets to the defaults', async () => {
      const client = rig.client();
      assert.equal(client.config('RetryInterval'), '0.3');
      assert.equal(client.config('retrycount'), '3', 'names are case-insensitive');
      assert.equal(client.config('Duplicate=yes'), '');
      assert.equal(client.config('Duplicate'), 'True');
      client.config('Duplicate=0');
      client.config('PredefinedTopics={"7": "pre/seven", "8": "pre/eight"}');
      assert.equal(client.config('PredefinedTopics'), '7=pre/seven;8=pre/eight');
      client.config('LogLevel=2');
      const logs: string[] = [];
      client.on('log', (entry) => logs.push(`${entry.logLevel}:${entry.logType}:${entry.message}`));
      client.clientId = 'configured';
      client.keepAliveInterval = 30;
      await client.connectTo('127.0.0.1', rig.port);
      await client.doEvents();
      assert.ok(logs.some((line) => line.startsWith('2:Packet:Sent CONNECT')));
      assert.ok(logs.some((line) => line.startsWith('2:Packet:Received CONNACK')));
      client.reset();
      assert.equal(client.connected, false);
      assert.equal(client.clientId, '');
      assert.equal(client.keepAliveInterval, 0);
      assert.equal(client.remoteHost, '');
      assert.equal(client.timeout, 60);
      assert.equal(client.config('RetryInterval'), '10');
      assert.equal(client.config('PredefinedTopics'), '');
      await client.doEvents();
    });

    it('reports a gateway that does not answer: connect rejects with TIMEOUT and fires connected with the code', async () => {
      const client = rig.client(['RetryInterval=0.1', 'RetryCount=2', ...(link.dtls ? ['DTLSHandshakeTimeout=1'] : [])]);
      const silent = await udpListener('127.0.0.1', rig.net.transport);
      try {
        const event = nextEvent(client, 'connected');
        // Over DTLS the handshake is what gets no answer: its own code, and never a CONNECT in the clear.
        const code = link.dtls ? ErrorCode.HANDSHAKE : ErrorCode.TIMEOUT;
        await assert.rejects(client.connectTo('127.0.0.1', silent.port), (e: MqttSnError) => e.code === code);
        assert.equal((await event).statusCode, code);
        if (link.dtls) {
          assert.ok(silent.received.length >= 1 && silent.received.every((d) => d[0] === 22), 'ClientHellos only');
          return;
        }
        // Over UDP (either engine), beside each, the empty datagram that probes the port (ICMP port unreachable); the in-memory network has no probe.
        const connects = silent.received.filter((d) => d.length > 0);
        assert.equal(connects.length, 3, 'CONNECT and two retransmissions');
        assert.equal(silent.received.length - connects.length, net.name === 'memory' ? 0 : 3, 'an empty probe beside each over UDP');
      } finally {
        await silent.close();
      }
    });
  });
}

// What only a UDP transport has (node:dgram and the native engine alike): IPv6 sockets, ICMP errors, interface addresses, broadcast.
for (const net of UDP_NETS) describe(`MQTTSN client transport (${net.name})`, function () {
  this.timeout(10000);
  // Real sockets: nothing to close beside them.
  const { transport } = net.open();

  it('talks to a gateway over IPv6', async () => {
    const rig = await startRig('embedded', { host: '::1' }, net);
    try {
      const client = rig.client();
      const topic = uniq('v6');
      await rig.inbox.subscribe(topic, 1);
      await client.connectTo('::1', rig.port);
      assert.equal(client.remoteHost, '::1');
      assert.ok(client.localPort > 0);
      await client.publishMessage(await client.registerTopic(topic), 0, 1, 'over v6');
      assert.equal((await rig.inbox.next(topic)).payload.toString(), 'over v6');
      await client.disconnect();
    } finally {
      await rig.stop();
    }
  });

  it('fails a connect to a closed port at once with 716 (ICMP port unreachable), not after its retransmissions', async () => {
    const closed = await udpListener('127.0.0.1', transport);
    const port = closed.port;
    await closed.close();
    const client = new MQTTSN({ transport: transport });
    try {
      for (const setting of ['RetryInterval=5', 'RetryCount=3', 'ConnectionTimeout=30']) client.config(setting);
      client.clientId = 'to-a-closed-port';
      const started = Date.now();
      const error = await client.connectTo('127.0.0.1', port).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(error instanceof MqttSnError && error.code === ErrorCode.PORT_UNREACHABLE, `716, not ${String(error)}`);
      // The first retransmission would come after 5 s: the answer came before it.
      assert.ok(Date.now() - started < 4500, `failed after ${Date.now() - started} ms`);
      assert.equal(client.connected, false);
    } finally {
      client.reset();
    }
  });

  it('shows the address of the interface it talks through in localHost while connected', async () => {
    const rig = await startRig('embedded', {}, net);
    try {
      const client = rig.client();
      assert.equal(client.localHost, '');
      await client.connectTo('127.0.0.1', rig.port);
      assert.equal(client.localHost, '127.0.0.1', 'not the wildcard address the socket is bound to');
      await client.disconnect();
    } finally {
      await rig.stop();
    }
  });

  it('broadcasts when remoteHost is 255.255.255.255', async () => {
    const listener = await udpListener('0.0.0.0', transport);
    const client = new MQTTSN({ transport: transport });
    try {
      client.remoteHost = '255.255.255.255';
      client.remotePort = listener.port;
      await client.publishMessage('bc', 2, -1, 'to everyone');
      await waitFor(() => listener.received.length === 1, 2000, 'the broadcast datagram');
      assert.deepEqual(decode(listener.received[0]), {
        type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 2, topicId: 'bc', msgId: 0, payload: Buffer.from('to everyone'),
      });
    } finally {
      client.reset();
      await listener.close();
    }
  });
});
