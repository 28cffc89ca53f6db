/**
 * The gateway's DTLS listener: clients with a pre-shared key or a certificate
 * reach the broker through it, OpenSSL's s_client speaks MQTT-SN to it, DTLS
 * identities are bound to the client ids they may use (refusals answered with
 * CONNACK "not supported" and logged), and the identity can reach the broker
 * as the MQTT username.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import { encode } from '../../lib/codec';
import { ReturnCode } from '../../lib/codec/packets';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MqttSnGateway, type GatewayLogEntry, type GatewayOptions } from '../../lib/gateway';
import { GATEWAY_CLI } from '../helpers/gateway-process';
import { DtlsTransport, type DtlsTransportOptions } from '../../lib/transport/dtls';
import { UdpTransport } from '../../lib/transport/udp';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { runGateway, waitForOutput } from '../helpers/gateway-process';
import { RawClient } from '../helpers/gateway-raw-client';
import { freeTcpPort } from '../helpers/net';
import { OpenSslPeer } from '../helpers/openssl';
import { until } from '../helpers/until';

const KEY = '00112233445566778899aabbccddeeff';
const OTHER_KEY = 'ffeeddccbbaa99887766554433221100';

describe('gateway: DTLS listener', function () {
  this.timeout(40000);
  let certs: TestCertificates;
  let gateway: MqttSnGateway | undefined;
  let logs: GatewayLogEntry[] = [];
  const clients: RawClient[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    await RawClient.closeAll(clients.splice(0));
    await gateway?.stop();
    gateway = undefined;
    for (const close of closers.splice(0)) await close();
  });

  async function startGateway(options: GatewayOptions): Promise<MqttSnGateway> {
    logs = [];
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, logLevel: 'debug', ...options });
    gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
    await gateway.start();
    return gateway;
  }

  async function dtlsClient(options: Partial<DtlsTransportOptions> = {}): Promise<RawClient> {
    const client = await RawClient.open((gateway as MqttSnGateway).dtlsAddress().port, '127.0.0.1', 0, {
      transport: () => new DtlsTransport(new UdpTransport(), { role: 'client', pskIdentity: 'sensor-1', pskKey: KEY, retransmitMs: 200, ...options } as DtlsTransportOptions),
    });
    clients.push(client);
    return client;
  }

  async function subscriber(url: string, filter: string): Promise<string[]> {
    const received: string[] = [];
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    closers.push(() => client.endAsync());
    client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await client.subscribeAsync(filter, { qos: 1 });
    return received;
  }

  it('carries a PSK client to the broker and back, beside plain UDP', async () => {
    const gw = await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY } } });
    assert.notEqual(gw.dtlsAddress().port, gw.address().port);
    const heard = await subscriber(gw.brokerUrl, 'dtls/#');
    const client = await dtlsClient();
    assert.equal((await client.connect('sensor-1')).returnCode, ReturnCode.ACCEPTED);
    const topicId = await client.register('dtls/temperature');
    const ack = await client.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId, msgId: 7, payload: Buffer.from('21.5') }, 'PUBACK');
    assert.equal(ack.returnCode, ReturnCode.ACCEPTED);
    await until(() => heard.includes('dtls/temperature 21.5'), 'the broker got the publish');
    const plain = await RawClient.open(gw.address().port);
    clients.push(plain);
    assert.equal((await plain.connect('plain-1')).returnCode, ReturnCode.ACCEPTED, 'plain UDP keeps working');
  });

  it('ends the association when the client disconnects, and the client connects again', async () => {
    await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY } } });
    const client = await dtlsClient();
    assert.equal((await client.connect('sensor-1')).returnCode, ReturnCode.ACCEPTED);
    await client.request({ type: 'DISCONNECT' }, 'DISCONNECT');
    assert.equal((await client.connect('sensor-1')).returnCode, ReturnCode.ACCEPTED);
  });

  it('serves certificate clients with a required client certificate, DTLS only', async () => {
    const gw = await startGateway({
      dtls: { port: 0, only: true, certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, requireClientCert: true, clientIds: { 'sensor-1': ['sensor-*'] } },
    });
    assert.deepEqual(gw.address(), gw.dtlsAddress());
    const client = await dtlsClient({ pskIdentity: undefined, pskKey: undefined, ca: certs.ca, servername: 'localhost', cert: certs.client.cert, key: certs.client.key });
    assert.equal((await client.connect('sensor-42')).returnCode, ReturnCode.ACCEPTED);
  });

  it('speaks MQTT-SN with OpenSSL s_client', async () => {
    const gw = await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY } } });
    const peer = OpenSslPeer.client(gw.dtlsAddress().port, ['-psk', KEY, '-psk_identity', 'sensor-1']);
    closers.push(() => peer.stop());
    peer.write(encode({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'openssl-1' }));
    // CONNACK accepted: length 3, type 0x05, return code 0.
    await until(() => peer.outputBytes.includes(Buffer.from([3, 0x05, 0])), 'CONNACK through s_client', 15000);
    await until(() => gw.clientCount === 1, 'the session');
  });

  it('refuses client ids not bound to the identity with CONNACK "not supported" and a log line', async () => {
    await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY, 'pump-7': OTHER_KEY }, clientIds: { 'sensor-1': ['sensor-1', 'sensor-1-*'] } } });
    const client = await dtlsClient();
    assert.equal((await client.request({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'pump-7' }, 'CONNACK')).returnCode, ReturnCode.NOT_SUPPORTED);
    assert.ok(logs.some((entry) => entry.level === 'warn' && /client pump-7 refused: DTLS identity "sensor-1" may not use client id pump-7/.test(entry.message)));
    assert.equal((await client.connect('sensor-1-b')).returnCode, ReturnCode.ACCEPTED);
    // Without DTLS, a client cannot take an id that belongs to an identity.
    const plain = await RawClient.open((gateway as MqttSnGateway).address().port);
    clients.push(plain);
    assert.equal((await plain.request({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'sensor-1-b' }, 'CONNACK')).returnCode, ReturnCode.NOT_SUPPORTED);
    // An identity without a list may use its own name only.
    const pump = await dtlsClient({ pskIdentity: 'pump-7', pskKey: OTHER_KEY });
    assert.equal((await pump.connect('pump-7')).returnCode, ReturnCode.ACCEPTED);
  });

  it('keeps a session held by an identity from another identity even without bindings', async () => {
    await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY, intruder: OTHER_KEY } } });
    const owner = await dtlsClient();
    assert.equal((await owner.connect('shared-id', 60, false)).returnCode, ReturnCode.ACCEPTED);
    const intruder = await dtlsClient({ pskIdentity: 'intruder', pskKey: OTHER_KEY });
    const answer = await intruder.request({ type: 'CONNECT', will: false, cleanSession: false, duration: 60, clientId: 'shared-id' }, 'CONNACK');
    assert.equal(answer.returnCode, ReturnCode.NOT_SUPPORTED);
    assert.ok(logs.some((entry) => /belongs to DTLS identity "sensor-1"/.test(entry.message)));
  });

  it('takes new pre-shared keys and bindings on reload, keeping the sessions', async () => {
    const gw = await startGateway({ dtls: { port: 0, pskKeys: { 'sensor-1': KEY } } });
    const first = await dtlsClient();
    assert.equal((await first.connect('sensor-1')).returnCode, ReturnCode.ACCEPTED);
    gw.reload({ host: '127.0.0.1', port: 0, logLevel: 'debug', dtls: { port: 0, pskKeys: { 'sensor-1': KEY, 'pump-7': OTHER_KEY }, clientIds: { 'pump-7': ['pump-7'] } } });
    const added = await dtlsClient({ pskIdentity: 'pump-7', pskKey: OTHER_KEY });
    assert.equal((await added.connect('pump-7')).returnCode, ReturnCode.ACCEPTED);
    assert.equal(gw.clientCount, 2);
    assert.throws(() => gw.reload({ host: '127.0.0.1', port: 0 }), /DTLS listener cannot start, stop or move/);
  });

  it('passes the identity to the broker as the MQTT username when asked', async () => {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const usernames: string[] = [];
    broker.authenticate = (client, username, _password, done) => {
      usernames.push(`${client.id}:${username ?? ''}`);
      done(null, true);
    };
    const port = await freeTcpPort();
    const server = net.createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    closers.push(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    });
    await startGateway({ broker: `mqtt://127.0.0.1:${port}`, dtls: { port: 0, pskKeys: { 'sensor-1': KEY }, identityAsUsername: true } });
    const client = await dtlsClient();
    assert.equal((await client.connect('sensor-1')).returnCode, ReturnCode.ACCEPTED);
    assert.ok(usernames.includes('sensor-1:sensor-1'), usernames.join(', '));
  });

  it('fails to start with a coded error when a credential file is missing or holds no key', async () => {
    const missing = path.join(certs.dir, 'no-such-keys.txt');
    await assert.rejects(startGateway({ dtls: { port: 0, pskFile: missing } }), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.CREDENTIALS);
    const empty = path.join(certs.dir, 'empty-keys.txt');
    fs.writeFileSync(empty, '# nothing yet\n');
    await assert.rejects(startGateway({ dtls: { port: 0, pskFile: empty } }), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.SERVER_CERTIFICATE);
  });

  describe('command line', () => {
    it('runs with --dtls-port and --psk-file, and a PSK client connects', async () => {
      const keys = path.join(certs.dir, 'keys.txt');
      fs.writeFileSync(keys, `# identity:hexkey\nsensor-1:${KEY}\n`);
      const ids = path.join(certs.dir, 'client-ids.txt');
      fs.writeFileSync(ids, 'sensor-1: sensor-1 sensor-1-*\n');
      const running = runGateway(['--host', '127.0.0.1', '--port', '0', '--dtls-port', '0', '--psk-file', keys, '--client-ids', ids, '--dtls-only', '--log-level', 'debug']);
      closers.push(async () => {
        running.child.kill('SIGTERM');
        await running.exited;
      });
      const [, port] = await waitForOutput(running, /listening on dtls 127\.0\.0\.1:(\d+),/);
      const client = await RawClient.open(Number(port), '127.0.0.1', 0, {
        transport: () => new DtlsTransport(new UdpTransport(), { role: 'client', pskIdentity: 'sensor-1', pskKey: KEY, retransmitMs: 200 }),
      });
      clients.push(client);
      assert.equal((await client.connect('sensor-1-a')).returnCode, ReturnCode.ACCEPTED);
      assert.equal((await client.request({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'other' }, 'CONNACK')).returnCode, ReturnCode.NOT_SUPPORTED);
      await waitForOutput(running, /client other refused: DTLS identity "sensor-1" may not use client id other/);
    });

    it('lists the DTLS flags in --help and refuses them without a DTLS port', () => {
      const help = spawnSync(process.execPath, [GATEWAY_CLI, '--help'], { encoding: 'utf8' });
      for (const flag of ['--dtls-port', '--psk-file', '--cert', '--key', '--ca', '--require-client-cert']) assert.ok(help.stdout.includes(flag), flag);
      const refused = spawnSync(process.execPath, [GATEWAY_CLI, '--psk-file', 'keys.txt'], { encoding: 'utf8' });
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /--psk-file needs --dtls-port/);
    });
  });
});
