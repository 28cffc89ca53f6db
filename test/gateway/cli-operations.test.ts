/**
 * The mqtt-sn-gateway command run as operators run it: metrics on a port,
 * JSON log lines for a log shipper, SIGHUP to reload its configuration.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGateway, waitForOutput, type GatewayProcess } from '../helpers/gateway-process';
import { RawClient } from '../helpers/gateway-raw-client';
import { httpGet, sample } from '../helpers/metrics-scrape';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { freeTcpPort } from '../helpers/net';

const publishPredefined = (topicId: number, msgId: number, text: string) =>
  ({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 1, topicId, msgId, payload: Buffer.from(text) }) as const;

describe('mqtt-sn-gateway command: metrics, JSON logs, reload on SIGHUP', function () {
  this.timeout(30000);
  let dir: string;
  let gateway: GatewayProcess | undefined;
  let client: RawClient | undefined;
  let inbox: MqttInbox | undefined;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-cli-ops-'));
  });

  afterEach(async () => {
    await client?.close();
    await inbox?.close();
    if (gateway && gateway.child.exitCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    client = inbox = gateway = undefined;
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics and /health on --metrics-port and writes one JSON object per log line', async () => {
    const metricsPort = await freeTcpPort();
    gateway = runGateway(['--port', '0', '--host', '127.0.0.1', '--metrics-port', String(metricsPort), '--log-format', 'json']);
    const [, udpPort] = await waitForOutput(gateway, /listening on (?:native-)?udp 127\.0\.0\.1:(\d+)/);
    await waitForOutput(gateway, /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    client = await RawClient.open(Number(udpPort));
    await client.connect('json-logged');
    await waitForOutput(gateway, /client json-logged connected/);

    const lines = gateway.output().trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const connected = entries.find((entry) => entry.msg === 'client json-logged connected');
    assert.ok(connected, 'the connect event has a line');
    assert.strictEqual(connected.level, 'info');
    assert.strictEqual(connected.clientId, 'json-logged');
    assert.strictEqual(connected.address, '127.0.0.1');
    assert.strictEqual(connected.port, client.port);
    assert.ok(!Number.isNaN(Date.parse(String(connected.time))), 'an ISO time');

    const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.strictEqual(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.strictEqual(sample(metrics.body, 'mqttsn_gateway_clients', { state: 'active' }), 1);
    assert.strictEqual((await httpGet(`http://127.0.0.1:${metricsPort}/health`)).status, 200);
  });

  it('reloads pre-defined topics from --config on SIGHUP: the next PUBLISH reaches the new name, the session stays', async () => {
    const config = path.join(dir, 'gateway.json');
    fs.writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, predefined: { '5': 'reload/old' } }));
    gateway = runGateway(['--config', config]);
    const [, udpPort] = await waitForOutput(gateway, /listening on (?:native-)?udp 127\.0\.0\.1:(\d+)/);
    const [brokerUrl] = await waitForOutput(gateway, /mqtt:\/\/127\.0\.0\.1:\d+/);
    inbox = await MqttInbox.connect(brokerUrl);
    await inbox.subscribe('reload/#', 1);
    client = await RawClient.open(Number(udpPort));
    await client.connect('through-reload');
    await client.request(publishPredefined(5, 1, 'before'), 'PUBACK');
    assert.strictEqual((await inbox.next('reload/old')).payload.toString(), 'before');

    fs.writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, predefined: { '5': 'reload/new' } }));
    const mark = gateway.output().length;
    gateway.child.kill('SIGHUP');
    await waitForOutput(gateway, /configuration reloaded: 1 pre-defined topics/, 8000, mark);
    await client.request(publishPredefined(5, 2, 'after'), 'PUBACK');
    assert.strictEqual((await inbox.next('reload/new')).payload.toString(), 'after');
    assert.doesNotMatch(gateway.output().slice(mark), /through-reload (disconnected|lost)/, 'the session stayed');

    // A broken file is reported and changes nothing.
    fs.writeFileSync(config, '{ not json');
    const mark2 = gateway.output().length;
    gateway.child.kill('SIGHUP');
    await waitForOutput(gateway, /SIGHUP: configuration not reloaded/, 8000, mark2);
    await client.request(publishPredefined(5, 3, 'still'), 'PUBACK');
    assert.strictEqual((await inbox.next('reload/new')).payload.toString(), 'still');
  });
});
