/**
 * The gateway between raw MQTT-SN datagrams and an MQTT.js client on the
 * broker side, for each network (UDP, in memory), each broker (embedded
 * aedes, mosquitto) and each mode.
 */
import * as assert from 'node:assert';
import { randomBytes } from 'node:crypto';
import { MqttSnGateway, type GatewayClientEvent } from '../../lib/gateway';
import { BROKER_KINDS, startBroker, type RunningBroker } from '../helpers/brokers';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';
import { NETS, type OpenNet } from '../helpers/nets';

const MODES = ['transparent', 'aggregating'] as const;

for (const net of NETS) {
  for (const kind of BROKER_KINDS) {
    for (const mode of MODES) {
      describe(`gateway end to end over ${net.name}: ${kind} broker, ${mode} mode`, function () {
        this.timeout(15000);
        const run = randomBytes(3).toString('hex');
        const prefix = `sn-${run}`;
        const id = (name: string): string => `${name}-${run}`;
        let broker: RunningBroker;
        let gateway: MqttSnGateway;
        let mqttSide: MqttInbox;
        let network: OpenNet;
        const clients: RawClient[] = [];

        const client = async (): Promise<RawClient> => {
          const c = await RawClient.open(gateway.address().port, '127.0.0.1', 0, { transport: network.transport });
          clients.push(c);
          return c;
        };

        before(async () => {
          network = net.open();
          broker = await startBroker(kind);
          gateway = new MqttSnGateway({
            transport: network.transport,
            host: '127.0.0.1',
            port: 0,
            broker: broker.url,
            mode,
            predefined: { '1': `${prefix}/predefined/all`, '7': `${prefix}/predefined/in` },
            clientPredefined: { [id('own')]: { '2': `${prefix}/predefined/own` } },
            retry: { interval: 300, count: 2 },
            keepAliveTolerance: 1.5,
          });
          await gateway.start();
          mqttSide = await MqttInbox.connect(gateway.brokerUrl);
          await mqttSide.subscribe(`${prefix}/#`);
        });

        afterEach(async () => {
          await RawClient.closeAll(clients.splice(0));
          mqttSide.clear();
        });

        after(async () => {
          await mqttSide?.close();
          await gateway?.stop();
          await broker?.stop();
          network?.close();
        });

        it('answers CONNECT with CONNACK and DISCONNECT with DISCONNECT', async () => {
          const c = await client();
          const connected = new Promise<GatewayClientEvent>((resolve) => gateway.once('clientConnected', resolve));
          assert.strictEqual((await c.connect(id('plain'))).returnCode, 0);
          assert.strictEqual((await connected).clientId, id('plain'));
          await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
          // The session is gone: a PINGREQ now gets DISCONNECT.
          await c.request({ type: 'PINGREQ' }, 'DISCONNECT');
        });

        it('runs the will exchange and publishes the will of a client that stops talking', async () => {
          const c = await client();
          const lost = new Promise<GatewayClientEvent>((resolve) => gateway.once('clientLost', resolve));
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 1, clientId: id('will') }, 'WILLTOPICREQ');
          await c.request({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: `${prefix}/will` }, 'WILLMSGREQ');
          const ack = await c.request({ type: 'WILLMSG', willMsg: Buffer.from('gone') }, 'CONNACK', 5000);
          assert.strictEqual(ack.returnCode, 0);
          const will = await mqttSide.next(`${prefix}/will`, 5000);
          assert.strictEqual(will.payload.toString(), 'gone');
          assert.strictEqual((await lost).clientId, id('will'));
        });

        it('does not publish the will after a DISCONNECT', async () => {
          const c = await client();
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 1, clientId: id('quiet') }, 'WILLTOPICREQ');
          await c.request({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: `${prefix}/quiet-will` }, 'WILLMSGREQ');
          await c.request({ type: 'WILLMSG', willMsg: Buffer.from('x') }, 'CONNACK', 5000);
          await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
          assert.ok(await mqttSide.none(`${prefix}/quiet-will`, 1800));
        });

        it('forwards QoS 0, 1 and 2 from a client, a QoS 2 duplicate only once', async () => {
          const c = await client();
          await c.connect(id('pub'));
          const topicId = await c.register(`${prefix}/up`);
          const publish = (qos: 0 | 1 | 2, msgId: number, text: string, dup = false) =>
            c.send({ type: 'PUBLISH', dup, qos, retain: false, topicIdType: 0, topicId, msgId, payload: Buffer.from(text) });
          publish(0, 0, 'q0');
          assert.strictEqual((await mqttSide.next(`${prefix}/up`)).payload.toString(), 'q0');
          publish(1, 11, 'q1');
          const puback = await c.next('PUBACK');
          assert.deepStrictEqual([puback.msgId, puback.topicId, puback.returnCode], [11, topicId, 0]);
          const q1 = await mqttSide.next(`${prefix}/up`);
          assert.deepStrictEqual([q1.payload.toString(), q1.qos], ['q1', 1]);
          publish(2, 12, 'q2');
          assert.strictEqual((await c.next('PUBREC')).msgId, 12);
          publish(2, 12, 'q2', true); // PUBREC lost: the client sends it again
          assert.strictEqual((await c.next('PUBREC')).msgId, 12);
          assert.strictEqual((await c.request({ type: 'PUBREL', msgId: 12 }, 'PUBCOMP')).msgId, 12);
          const q2 = await mqttSide.next(`${prefix}/up`);
          assert.deepStrictEqual([q2.payload.toString(), q2.qos], ['q2', 2]);
          assert.ok(await mqttSide.none(`${prefix}/up`, 300), 'the duplicate reached the broker');
        });

        it('answers a wildcard REGISTER and a broken filter with "not supported" and refuses a PUBLISH to an unknown topic id', async () => {
          const c = await client();
          await c.connect(id('bad'));
          const malformed = gateway.stats.malformed;
          // The codec will not encode these names, so the datagrams are written by hand.
          for (const [msgId, topic] of [[3, `${prefix}/+`], [4, '#']] as const) {
            const name = Buffer.from(topic);
            c.sendRaw(Buffer.concat([Buffer.from([6 + name.length, 0x0a, 0, 0, 0, msgId]), name]));
            const regack = await c.next('REGACK');
            assert.deepStrictEqual([regack.msgId, regack.topicId, regack.returnCode], [msgId, 0, 3], topic);
          }
          // A filter breaking the wildcard rules: SUBACK "not supported"; UNSUBSCRIBE of it is simply acknowledged.
          const filter = Buffer.from(`${prefix}/a+`);
          c.sendRaw(Buffer.concat([Buffer.from([5 + filter.length, 0x12, 0x20, 0, 7]), filter]));
          const suback = await c.next('SUBACK');
          assert.deepStrictEqual([suback.msgId, suback.topicId, suback.returnCode], [7, 0, 3]);
          c.sendRaw(Buffer.concat([Buffer.from([5 + filter.length, 0x14, 0x00, 0, 8]), filter]));
          assert.strictEqual((await c.next('UNSUBACK')).msgId, 8);
          assert.strictEqual(gateway.stats.malformed, malformed);
          const puback = await c.request(
            { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: 99, msgId: 4, payload: Buffer.from('x') },
            'PUBACK',
          );
          assert.strictEqual(puback.returnCode, 2);
          const qos0 = await c.request(
            { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 1, topicId: 555, msgId: 0, payload: Buffer.from('x') },
            'PUBACK',
          );
          assert.strictEqual(qos0.returnCode, 2);
        });

        it('refuses a will topic with a wildcard with CONNACK "not supported"', async () => {
          const c = await client();
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: id('wildwill') }, 'WILLTOPICREQ');
          const name = Buffer.from(`${prefix}/will/#`);
          const connack = c.next('CONNACK', 5000);
          c.sendRaw(Buffer.concat([Buffer.from([3 + name.length, 0x07, 0x00]), name]));
          assert.strictEqual((await connack).returnCode, 3);
          assert.ok(await c.silent('WILLMSGREQ', 200));
          // No session was left behind.
          await c.request({ type: 'PINGREQ' }, 'DISCONNECT');
        });

        it('refuses a will update to a wildcard topic with WILLTOPICRESP "not supported" and keeps the will', async () => {
          const c = await client();
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 1, clientId: id('wildupd') }, 'WILLTOPICREQ');
          await c.request({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: `${prefix}/kept-will` }, 'WILLMSGREQ');
          await c.request({ type: 'WILLMSG', willMsg: Buffer.from('kept') }, 'CONNACK', 5000);
          const name = Buffer.from(`${prefix}/+`);
          const resp = c.next('WILLTOPICRESP', 5000);
          c.sendRaw(Buffer.concat([Buffer.from([3 + name.length, 0x1a, 0x00]), name]));
          assert.strictEqual((await resp).returnCode, 3);
          // The client goes silent: the will it had is published.
          assert.strictEqual((await mqttSide.next(`${prefix}/kept-will`, 5000)).payload.toString(), 'kept');
        });

        it('refuses a PUBLISH to a short name with a wildcard with PUBACK "not supported" and keeps serving', async () => {
          const c = await client();
          await c.connect(id('wildshort'));
          const lost = gateway.stats.lost;
          for (const [qos, msgId, short] of [[0, 0, 'a#'], [1, 5, '+a']] as const) {
            const puback = await c.request(
              { type: 'PUBLISH', dup: false, qos, retain: false, topicIdType: 2, topicId: short, msgId, payload: Buffer.from('x') },
              'PUBACK',
            );
            assert.deepStrictEqual([puback.msgId, puback.returnCode], [msgId, 3], short);
          }
          assert.ok(await c.silent('DISCONNECT', 300), 'the broker side was dropped');
          const topicId = await c.register(`${prefix}/after-wild`);
          const ok = await c.request(
            { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId, msgId: 6, payload: Buffer.from('fine') },
            'PUBACK',
          );
          assert.strictEqual(ok.returnCode, 0);
          assert.strictEqual((await mqttSide.next(`${prefix}/after-wild`)).payload.toString(), 'fine');
          assert.strictEqual(gateway.stats.lost, lost);
        });

        it('registers a topic again after the client answers a QoS 0 PUBLISH with "invalid topic id"', async () => {
          const c = await client();
          await c.connect(id('forgot'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 1, topicId: `${prefix}/forgot` }, 'SUBACK');
          assert.strictEqual(suback.returnCode, 0);
          await mqttSide.publish(`${prefix}/forgot`, 'one', 0);
          const first = await c.next('PUBLISH');
          assert.strictEqual(first.topicId, suback.topicId);
          // The client lost its table: PUBACK "invalid topic id" is allowed for any QoS (v1.2 §6.10).
          c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: 0, returnCode: 2 });
          await delay(50);
          await mqttSide.publish(`${prefix}/forgot`, 'two', 0);
          const register = await c.next('REGISTER');
          assert.strictEqual(register.topicName, `${prefix}/forgot`);
          c.send({ type: 'REGACK', topicId: register.topicId, msgId: register.msgId, returnCode: 0 });
          const second = await c.next('PUBLISH');
          assert.deepStrictEqual([second.topicId, second.payload.toString()], [register.topicId, 'two']);
        });

        it('publishes with pre-defined ids, common and per client', async () => {
          const c = await client();
          await c.connect(id('own'));
          const send = (topicId: number, text: string) =>
            c.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 1, topicId, msgId: topicId, payload: Buffer.from(text) }, 'PUBACK');
          assert.strictEqual((await send(1, 'common')).returnCode, 0);
          assert.strictEqual((await mqttSide.next(`${prefix}/predefined/all`)).payload.toString(), 'common');
          assert.strictEqual((await send(2, 'mine')).returnCode, 0);
          assert.strictEqual((await mqttSide.next(`${prefix}/predefined/own`)).payload.toString(), 'mine');
          const other = await client();
          await other.connect(id('other'));
          const refused = await other.request(
            { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 1, topicId: 2, msgId: 9, payload: Buffer.from('x') },
            'PUBACK',
          );
          assert.strictEqual(refused.returnCode, 2);
        });

        it('subscribes by pre-defined id and delivers with it', async () => {
          const c = await client();
          await c.connect(id('presub'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 1, msgId: 5, topicId: 7 }, 'SUBACK');
          assert.deepStrictEqual([suback.returnCode, suback.topicId, suback.qos], [0, 7, 1]);
          await mqttSide.publish(`${prefix}/predefined/in`, 'to-predefined', 1);
          const publish = await c.next('PUBLISH');
          assert.deepStrictEqual([publish.topicIdType, publish.topicId, publish.qos, publish.payload.toString()], [1, 7, 1, 'to-predefined']);
          c.send({ type: 'PUBACK', topicId: 7, msgId: publish.msgId, returnCode: 0 });
          const unknown = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 1, msgId: 6, topicId: 300 }, 'SUBACK');
          assert.strictEqual(unknown.returnCode, 2);
        });

        it('publishes and subscribes with short topic names', async () => {
          const short = run.slice(0, 2);
          const c = await client();
          await c.connect(id('short'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 2, msgId: 1, topicId: short }, 'SUBACK');
          assert.strictEqual(suback.returnCode, 0);
          const other = new MqttInbox(mqttSide.client);
          await other.subscribe(short);
          c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 2, topicId: short, msgId: 0, payload: Buffer.from('via-short') });
          assert.strictEqual((await other.next(short)).payload.toString(), 'via-short');
          // The gateway delivers our own publish back over the short name too.
          const back = await c.next('PUBLISH');
          assert.deepStrictEqual([back.topicIdType, back.topicId, back.payload.toString()], [2, short, 'via-short']);
          await other.unsubscribe(short);
          await other.close();
        });

        it('accepts QoS -1 from an address that never connected (pre-defined id and short name)', async () => {
          const c = await client();
          c.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 1, topicId: 1, msgId: 0, payload: Buffer.from('m1') });
          assert.strictEqual((await mqttSide.next(`${prefix}/predefined/all`)).payload.toString(), 'm1');
          const short = `q${run[0]}`;
          const other = new MqttInbox(mqttSide.client);
          await other.subscribe(short);
          c.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 2, topicId: short, msgId: 0, payload: Buffer.from('m2') });
          assert.strictEqual((await other.next(short)).payload.toString(), 'm2');
          await other.unsubscribe(short);
          await other.close();
          assert.ok(await c.silent('DISCONNECT', 200), 'QoS -1 must not be answered');
        });

        it('subscribes by name and delivers QoS 1 and QoS 2 with the SUBACK topic id', async () => {
          const c = await client();
          await c.connect(id('sub'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 2, topicIdType: 0, msgId: 2, topicId: `${prefix}/down` }, 'SUBACK');
          assert.strictEqual(suback.returnCode, 0);
          assert.strictEqual(suback.qos, 2);
          assert.ok(suback.topicId > 0);
          await mqttSide.publish(`${prefix}/down`, 'one', 1);
          const p1 = await c.next('PUBLISH');
          assert.deepStrictEqual([p1.topicIdType, p1.topicId, p1.qos, p1.payload.toString()], [0, suback.topicId, 1, 'one']);
          c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: p1.msgId, returnCode: 0 });
          await mqttSide.publish(`${prefix}/down`, 'two', 2);
          const p2 = await c.next('PUBLISH');
          assert.deepStrictEqual([p2.qos, p2.payload.toString()], [2, 'two']);
          const pubrel = await c.request({ type: 'PUBREC', msgId: p2.msgId }, 'PUBREL');
          assert.strictEqual(pubrel.msgId, p2.msgId);
          c.send({ type: 'PUBCOMP', msgId: p2.msgId });
          assert.ok(await c.silent('PUBREL', 500), 'PUBREL repeated after PUBCOMP');
        });

        it('registers a topic matched by a wildcard before its first PUBLISH, and honours a refused REGISTER', async () => {
          const c = await client();
          await c.connect(id('wild'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 3, topicId: `${prefix}/w/+` }, 'SUBACK');
          assert.deepStrictEqual([suback.returnCode, suback.topicId], [0, 0]);
          await mqttSide.publish(`${prefix}/w/a`, 'first', 0);
          const register = await c.next('REGISTER');
          assert.strictEqual(register.topicName, `${prefix}/w/a`);
          assert.strictEqual(c.inbox.length, 0, 'PUBLISH came before REGACK');
          c.send({ type: 'REGACK', topicId: register.topicId, msgId: register.msgId, returnCode: 0 });
          const publish = await c.next('PUBLISH');
          assert.deepStrictEqual([publish.topicId, publish.payload.toString()], [register.topicId, 'first']);
          // A second message on the same topic needs no REGISTER.
          await mqttSide.publish(`${prefix}/w/a`, 'second', 0);
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'second');
          // Refusing a topic stops it, not the wildcard.
          await mqttSide.publish(`${prefix}/w/b`, 'refused', 0);
          const refused = await c.next('REGISTER');
          c.send({ type: 'REGACK', topicId: refused.topicId, msgId: refused.msgId, returnCode: 2 });
          await mqttSide.publish(`${prefix}/w/b`, 'refused again', 0);
          await mqttSide.publish(`${prefix}/w/a`, 'third', 0);
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'third');
          assert.strictEqual(c.inbox.length, 0);
        });

        it('retransmits an unacknowledged PUBLISH with DUP set', async () => {
          const c = await client();
          await c.connect(id('slow'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 4, topicId: `${prefix}/retry` }, 'SUBACK');
          await mqttSide.publish(`${prefix}/retry`, 'again', 1);
          const first = await c.next('PUBLISH');
          assert.strictEqual(first.dup, false);
          const second = await c.next('PUBLISH', 2000);
          assert.deepStrictEqual([second.dup, second.msgId, second.payload.toString()], [true, first.msgId, 'again']);
          c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: second.msgId, returnCode: 0 });
          assert.ok(await c.silent('PUBLISH', 600), 'retransmitted after PUBACK');
        });

        it('stops delivering after UNSUBSCRIBE', async () => {
          const c = await client();
          await c.connect(id('unsub'));
          await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 5, topicId: `${prefix}/un` }, 'SUBACK');
          await mqttSide.publish(`${prefix}/un`, 'before', 0);
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'before');
          const unsuback = await c.request({ type: 'UNSUBSCRIBE', topicIdType: 0, msgId: 6, topicId: `${prefix}/un` }, 'UNSUBACK');
          assert.strictEqual(unsuback.msgId, 6);
          await mqttSide.publish(`${prefix}/un`, 'after', 0);
          assert.ok(await c.silent('PUBLISH', 400));
        });

        it('delivers to every subscribed client, and unsubscribes by pre-defined id and short name', async () => {
          const short = `u${run[1]}`;
          const [a, b] = [await client(), await client()];
          await a.connect(id('fan-a'));
          await b.connect(id('fan-b'));
          for (const c of [a, b]) {
            await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 1, msgId: 1, topicId: 7 }, 'SUBACK');
            await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 2, msgId: 2, topicId: short }, 'SUBACK');
          }
          await mqttSide.publish(`${prefix}/predefined/in`, 'both', 0);
          for (const c of [a, b]) assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'both');
          await a.request({ type: 'UNSUBSCRIBE', topicIdType: 1, msgId: 3, topicId: 7 }, 'UNSUBACK');
          await a.request({ type: 'UNSUBSCRIBE', topicIdType: 2, msgId: 4, topicId: short }, 'UNSUBACK');
          await mqttSide.publish(`${prefix}/predefined/in`, 'only b', 0);
          await mqttSide.publish(short, 'short for b', 0);
          assert.strictEqual((await b.next('PUBLISH')).payload.toString(), 'only b');
          assert.strictEqual((await b.next('PUBLISH')).payload.toString(), 'short for b');
          assert.ok(await a.silent('PUBLISH', 300));
        });

        it('sends a retained message to each new subscriber once', async () => {
          await mqttSide.publish(`${prefix}/ret/x`, 'kept', 1, true);
          try {
            const [a, b] = [await client(), await client()];
            await a.connect(id('ret-a'));
            await b.connect(id('ret-b'));
            await a.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: `${prefix}/ret/+` }, 'SUBACK');
            const register = await a.next('REGISTER');
            a.send({ type: 'REGACK', topicId: register.topicId, msgId: register.msgId, returnCode: 0 });
            const first = await a.next('PUBLISH');
            assert.deepStrictEqual([first.retain, first.payload.toString()], [true, 'kept']);
            a.send({ type: 'PUBACK', topicId: register.topicId, msgId: first.msgId, returnCode: 0 });
            const suback = await b.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 2, topicId: `${prefix}/ret/x` }, 'SUBACK');
            const second = await b.next('PUBLISH');
            assert.deepStrictEqual([second.topicId, second.retain, second.payload.toString()], [suback.topicId, true, 'kept']);
            assert.ok(await a.silent('PUBLISH', 300), 'the retained message went to the earlier subscriber again');
          } finally {
            await mqttSide.publish(`${prefix}/ret/x`, '', 1, true);
          }
        });

        it('answers PINGREQ with PINGRESP', async () => {
          const c = await client();
          await c.connect(id('ping'));
          await c.request({ type: 'PINGREQ' }, 'PINGRESP');
          await c.request({ type: 'PINGRESP' }, 'PINGRESP', 300).then(
            () => assert.fail('a PINGRESP must not be answered'),
            () => undefined,
          );
        });

        it('buffers messages for a sleeping client and hands them over on PINGREQ', async () => {
          const c = await client();
          await c.connect(id('sleeper'));
          const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 7, topicId: `${prefix}/nap` }, 'SUBACK');
          await c.request({ type: 'DISCONNECT', duration: 10 }, 'DISCONNECT');
          await mqttSide.publish(`${prefix}/nap`, 'a', 1);
          await mqttSide.publish(`${prefix}/nap`, 'b', 0);
          assert.ok(await c.silent('PUBLISH', 300), 'delivered to a sleeping client');
          c.send({ type: 'PINGREQ', clientId: id('sleeper') });
          const a = await c.next('PUBLISH');
          assert.deepStrictEqual([a.payload.toString(), a.qos], ['a', 1]);
          c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: a.msgId, returnCode: 0 });
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'b');
          await c.next('PINGRESP');
          // Asleep again: nothing is delivered until the next PINGREQ.
          await mqttSide.publish(`${prefix}/nap`, 'c', 0);
          assert.ok(await c.silent('PUBLISH', 300));
          c.send({ type: 'PINGREQ', clientId: id('sleeper') });
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'c');
          await c.next('PINGRESP');
          // CONNECT brings it back to active.
          await c.connect(id('sleeper'), 60, false);
          await mqttSide.publish(`${prefix}/nap`, 'awake', 0);
          const again = await c.next('REGISTER'); // cleanSession off: the topic is registered anew
          c.send({ type: 'REGACK', topicId: again.topicId, msgId: again.msgId, returnCode: 0 });
          assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'awake');
        });

        it('completes a QoS 2 delivery across sleep with PUBREL on wake-up, delivering it once', async () => {
          const c = await client();
          await c.connect(id('q2nap'));
          await c.request({ type: 'SUBSCRIBE', dup: false, qos: 2, topicIdType: 0, msgId: 3, topicId: `${prefix}/q2nap` }, 'SUBACK');
          await mqttSide.publish(`${prefix}/q2nap`, 'once', 2);
          const publish = await c.next('PUBLISH');
          assert.deepStrictEqual([publish.qos, publish.payload.toString()], [2, 'once']);
          await c.request({ type: 'PUBREC', msgId: publish.msgId }, 'PUBREL');
          // Asleep before answering the PUBREL: nothing goes out until the client wakes.
          await c.request({ type: 'DISCONNECT', duration: 10 }, 'DISCONNECT');
          c.clear();
          assert.ok(await c.silent('PUBREL', 700), 'PUBREL sent to a sleeping client');
          const pubrel = await c.request({ type: 'PINGREQ', clientId: id('q2nap') }, 'PUBREL');
          assert.strictEqual(pubrel.msgId, publish.msgId);
          assert.ok(!c.inbox.some((p) => p.type === 'PUBLISH'), 'the PUBLISH was sent again');
          await c.request({ type: 'PUBCOMP', msgId: publish.msgId }, 'PINGRESP');
          assert.ok(await c.silent('PUBLISH', 300), 'delivered twice');
          assert.ok(!c.inbox.some((p) => p.type === 'PUBREL'), 'PUBREL repeated after PUBCOMP');
        });

        it('publishes the will of a client whose sleep timer runs out', async () => {
          const c = await client();
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 30, clientId: id('dreamer') }, 'WILLTOPICREQ');
          await c.request({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: `${prefix}/dreamer` }, 'WILLMSGREQ');
          await c.request({ type: 'WILLMSG', willMsg: Buffer.from('overslept') }, 'CONNACK', 5000);
          await c.request({ type: 'DISCONNECT', duration: 1 }, 'DISCONNECT');
          assert.strictEqual((await mqttSide.next(`${prefix}/dreamer`, 5000)).payload.toString(), 'overslept');
        });

        it('updates the will topic and message while connected', async () => {
          const c = await client();
          await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 1, clientId: id('upd') }, 'WILLTOPICREQ');
          await c.request({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: `${prefix}/old-will` }, 'WILLMSGREQ');
          await c.request({ type: 'WILLMSG', willMsg: Buffer.from('old') }, 'CONNACK', 5000);
          const topicResp = await c.request({ type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: `${prefix}/new-will` }, 'WILLTOPICRESP', 5000);
          assert.strictEqual(topicResp.returnCode, 0);
          const msgResp = await c.request({ type: 'WILLMSGUPD', willMsg: Buffer.from('new') }, 'WILLMSGRESP', 5000);
          assert.strictEqual(msgResp.returnCode, 0);
          const will = await mqttSide.next(`${prefix}/new-will`, 5000);
          assert.strictEqual(will.payload.toString(), 'new');
          assert.ok(await mqttSide.none(`${prefix}/old-will`, 100));
        });

        it('serves a wireless node behind a forwarder as its own session', async () => {
          const forwarder = await client();
          forwarder.wirelessNodeId = Buffer.from([0xab, 0xcd]);
          await forwarder.connect(id('node'));
          assert.deepStrictEqual(forwarder.receivedNodeId, Buffer.from([0xab, 0xcd]));
          const suback = await forwarder.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 1, topicId: `${prefix}/fwd` }, 'SUBACK');
          assert.strictEqual(suback.returnCode, 0);
          // A second node behind the same forwarder is a different client.
          forwarder.wirelessNodeId = Buffer.from([0x01]);
          await forwarder.request({ type: 'PINGREQ' }, 'DISCONNECT');
          await mqttSide.publish(`${prefix}/fwd`, 'over-the-air', 0);
          const publish = await forwarder.next('PUBLISH');
          assert.strictEqual(publish.payload.toString(), 'over-the-air');
          assert.deepStrictEqual(forwarder.receivedNodeId, Buffer.from([0xab, 0xcd]));
        });

        it('keeps subscriptions across a reconnect with cleanSession off', async () => {
          const c = await client();
          await c.connect(id('persist'), 60, false);
          await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: `${prefix}/kept` }, 'SUBACK');
          await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
          await delay(100);
          await c.connect(id('persist'), 60, false);
          await mqttSide.publish(`${prefix}/kept`, 'still here', 1);
          const register = await c.next('REGISTER');
          assert.strictEqual(register.topicName, `${prefix}/kept`);
          c.send({ type: 'REGACK', topicId: register.topicId, msgId: register.msgId, returnCode: 0 });
          const publish = await c.next('PUBLISH');
          assert.strictEqual(publish.payload.toString(), 'still here');
          c.send({ type: 'PUBACK', topicId: register.topicId, msgId: publish.msgId, returnCode: 0 });
          await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
          // A clean connect forgets them.
          await c.connect(id('persist'), 60, true);
          await mqttSide.publish(`${prefix}/kept`, 'gone', 1);
          assert.ok(await c.silent('REGISTER', 400));
        });

        it('answers a packet from an unknown address with DISCONNECT', async () => {
          const c = await client();
          const before = gateway.stats.unknownSender;
          await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 1, topicId: 'x' }, 'DISCONNECT');
          await c.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: 1, msgId: 1, payload: Buffer.alloc(0) }, 'DISCONNECT');
          assert.strictEqual(gateway.stats.unknownSender, before + 2);
        });

        it('answers a DISCONNECT without a session once, so two peers cannot echo it forever', async () => {
          const c = await client();
          await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
          c.send({ type: 'DISCONNECT' });
          assert.ok(await c.silent('DISCONNECT', 300), 'a second DISCONNECT right after the first is not answered');
          // Other packets without a session are still told to connect.
          await c.request({ type: 'PINGREQ' }, 'DISCONNECT');
        });
      });
    }
  }
}
