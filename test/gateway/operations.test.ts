/**
 * What an operator sees of a running gateway: Prometheus metrics that move with
 * the traffic, a health endpoint that follows the broker, the figures published
 * to the broker, and a configuration reload that keeps every session.
 */
import * as assert from 'node:assert';
import { MqttSnGateway } from '../../lib/gateway';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { startPrivateMosquitto, type RunningBroker } from '../helpers/brokers';
import { RawClient } from '../helpers/gateway-raw-client';
import { httpGet, sample, scrapeUntil } from '../helpers/metrics-scrape';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { freeTcpPort } from '../helpers/net';

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const publish = (topicId: number, msgId: number, text: string, qos: 0 | 1 = 1, topicIdType: 0 | 1 = 0) =>
  ({ type: 'PUBLISH', dup: false, qos, retain: false, topicIdType, topicId, msgId, payload: Buffer.from(text) }) as const;

describe('gateway operations: metrics, health, figures on the broker, reload', function () {
  this.timeout(40000);
  let gateway: MqttSnGateway | undefined;
  let client: RawClient | undefined;
  let inbox: MqttInbox | undefined;
  let broker: RunningBroker | undefined;

  afterEach(async () => {
    await client?.close();
    await inbox?.close();
    await gateway?.stop();
    await broker?.stop();
    client = inbox = gateway = broker = undefined;
  });

  it('counts in /metrics what the traffic does: 100 QoS 1 publishes raise the upstream QoS 1 counter by 100', async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, metrics: { port: 0 }, logLevel: 'error' });
    await gateway.start();
    const base = gateway.metricsUrl as string;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'served on loopback by default');
    const before = (await httpGet(`${base}/metrics`)).body;
    assert.strictEqual(sample(before, 'mqttsn_gateway_messages_total', { direction: 'upstream', qos: '1' }), 0);
    assert.strictEqual(sample(before, 'mqttsn_gateway_broker_connected'), 1);

    client = await RawClient.open(gateway.address().port);
    await client.connect('metered');
    const topicId = await client.register('ops/metered');
    for (let i = 1; i <= 100; i++) {
      const ack: { returnCode: number } = await client.request(publish(topicId, i, `m${i}`), 'PUBACK', 5000);
      assert.strictEqual(ack.returnCode, 0);
    }
    const after = (await httpGet(`${base}/metrics`)).body;
    assert.strictEqual(sample(after, 'mqttsn_gateway_messages_total', { direction: 'upstream', qos: '1' }), 100);
    assert.strictEqual(sample(after, 'mqttsn_gateway_clients', { state: 'active' }), 1);
    assert.strictEqual(sample(after, 'mqttsn_gateway_sessions_opened_total'), 1);
    assert.ok((sample(after, 'mqttsn_gateway_datagrams_received_total') ?? 0) >= 102, 'CONNECT, REGISTER and 100 PUBLISH received');
    assert.ok((sample(after, 'mqttsn_gateway_datagrams_sent_total') ?? 0) >= 102, 'CONNACK, REGACK and 100 PUBACK sent');
    assert.ok(sample(after, 'mqttsn_gateway_event_loop_lag_seconds', { quantile: '0.99' }) !== undefined, 'event-loop lag measured');

    client.sendRaw(Buffer.alloc(0)); // a client's reachability probe: not malformed
    client.sendRaw(Buffer.from([0x03, 0x0c, 0x00])); // a PUBLISH far too short to decode
    const malformed = await scrapeUntil(base, (text) => /mqttsn_gateway_malformed_datagrams_total\{code="\d+"\} 1/.test(text));
    const codes = [...malformed.matchAll(/mqttsn_gateway_malformed_datagrams_total\{code="(\d+)"\} (\d+)/g)];
    assert.strictEqual(codes.length, 1, 'one error code counted, the empty probe not among them');
    assert.strictEqual(Number(codes[0][2]), 1);

    client.send({ type: 'DISCONNECT' });
    await client.next('DISCONNECT');
    const closed = await scrapeUntil(base, (text) => sample(text, 'mqttsn_gateway_sessions_closed_total', { reason: 'disconnected' }) === 1);
    assert.strictEqual(sample(closed, 'mqttsn_gateway_sessions_closed_total', { reason: 'disconnected' }), 1);
    assert.strictEqual(sample(closed, 'mqttsn_gateway_clients', { state: 'active' }), 0);

    const missing = await httpGet(`${base}/nothing-here`);
    assert.strictEqual(missing.status, 404);
  });

  it('answers /health with 200 while the broker is reachable, 503 while it is down, 200 again after it returns', async () => {
    const port = await freeTcpPort();
    broker = await startPrivateMosquitto(port);
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, broker: broker.url, metrics: { port: 0 }, logLevel: 'error' });
    await gateway.start();
    const health = `${gateway.metricsUrl as string}/health`;
    const up = await httpGet(health);
    assert.strictEqual(up.status, 200);
    assert.deepStrictEqual(JSON.parse(up.body), { status: 'ok', udp: true, broker: true });

    await broker.stop();
    broker = undefined;
    await until(async () => (await httpGet(health)).status === 503, '/health to say 503');
    assert.deepStrictEqual(JSON.parse((await httpGet(health)).body), { status: 'unavailable', udp: true, broker: false });

    broker = await startPrivateMosquitto(port);
    await until(async () => (await httpGet(health)).status === 200, '/health to say 200 again');
  });

  it('publishes its figures to the embedded broker under a $SYS prefix', async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, statsTopics: { interval: 1, prefix: '$SYS/mqtt-sn/gw' }, logLevel: 'error' });
    await gateway.start();
    client = await RawClient.open(gateway.address().port);
    await client.connect('counted');
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    await inbox.subscribe('$SYS/mqtt-sn/gw/#', 0);
    // Published every second: the next round after the client connected says 1.
    await until(async () => (await inbox!.next('$SYS/mqtt-sn/gw/clients/active', 5000)).payload.toString() === '1', 'clients/active = 1');
    assert.match((await inbox.next('$SYS/mqtt-sn/gw/uptime/seconds', 5000)).payload.toString(), /^\d+$/);
  });

  it('publishes its figures to mosquitto under a plain prefix, and refuses a $ prefix there', async () => {
    broker = await startPrivateMosquitto();
    assert.throws(
      () => new MqttSnGateway({ broker: broker!.url, statsTopics: { interval: 1, prefix: '$SYS/gw' } }),
      (error: MqttSnError) => error.code === ErrorCode.INVALID_ARGUMENT && /embedded broker/.test(error.description),
    );
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, broker: broker.url, gatewayId: 7, statsTopics: { interval: 1 }, logLevel: 'error' });
    await gateway.start();
    inbox = await MqttInbox.connect(broker.url as string);
    await inbox.subscribe('mqtt-sn-gateway/7/#', 0);
    assert.strictEqual((await inbox.next('mqtt-sn-gateway/7/clients/total', 5000)).payload.toString(), '0');
  });

  it('reloads pre-defined topics into connected sessions and keeps them connected', async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, predefined: { '5': 'ops/before' }, logLevel: 'error' });
    await gateway.start();
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    await inbox.subscribe('ops/#', 1);
    client = await RawClient.open(gateway.address().port);
    await client.connect('stays');
    await client.request(publish(5, 1, 'one', 1, 1), 'PUBACK');
    assert.strictEqual((await inbox.next('ops/before')).payload.toString(), 'one');

    gateway.reload({ host: '127.0.0.1', port: 0, predefined: { '5': 'ops/after' }, limits: { clients: 5 }, logLevel: 'error' });
    assert.strictEqual(gateway.options.limits.clients, 5);
    await client.request(publish(5, 2, 'two', 1, 1), 'PUBACK');
    assert.strictEqual((await inbox.next('ops/after')).payload.toString(), 'two');
    assert.strictEqual(gateway.clientCount, 1, 'the session stayed');
    assert.ok(await client.silent('DISCONNECT', 200), 'the client was not told to go');

    assert.throws(() => gateway!.reload({ host: '127.0.0.1', port: 1 }), /port cannot change without a restart/);
  });
});
