/**
 * The DTLS transport, our client against our server: resumption, the
 * stateless cookie exchange under a spoofed ClientHello flood, the path MTU,
 * close_notify, a lossy link, and coded errors for bad settings.
 */
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { DtlsTransport, type DtlsTransportOptions } from '../../lib/transport/dtls';
import { parsePskFile, readDtlsFiles } from '../../lib/transport/dtls-options';
import { MemoryNetwork } from '../../lib/transport/memory';
import { NativeUdpTransport } from '../../lib/transport/native-udp';
import type { DatagramTransport } from '../../lib/transport/types';
import { UdpTransport } from '../../lib/transport/udp';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { firstClientHello, openDtlsSide, type DtlsSide } from '../helpers/dtls-side';
import { runWithoutAddon } from '../helpers/no-addon';
import { until } from '../helpers/until';

const KEY = '00112233445566778899aabbccddeeff';
const LOCAL = '127.0.0.1';

function codeOf(action: () => unknown): number | undefined {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof MqttSnError, String(error));
    return error.code;
  }
  return undefined;
}

describe('DTLS transport', function () {
  this.timeout(40000);
  let certs: TestCertificates;
  const open: DatagramTransport[] = [];
  const sockets: dgram.Socket[] = [];
  let network: MemoryNetwork | undefined;

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    network?.close();
    network = undefined;
  });

  const side = (options: DtlsTransportOptions, inner?: DatagramTransport): Promise<DtlsSide> => openDtlsSide(open, options, inner);

  const pskServer = (inner?: DatagramTransport, extra: Partial<DtlsTransportOptions> = {}) =>
    side({ role: 'server', pskKeys: { 'sensor-1': KEY }, ...extra } as DtlsTransportOptions, inner);
  const pskClient = (inner?: DatagramTransport, extra: Partial<DtlsTransportOptions> = {}) =>
    side({ role: 'client', pskIdentity: 'sensor-1', pskKey: KEY, ...extra } as DtlsTransportOptions, inner);

  it('resumes the session on the next handshake with the same gateway', async () => {
    const server = await pskServer();
    const client = await pskClient();
    await client.dtls.connect(server.address);
    assert.equal(client.dtls.sessions()[0].resumed, false);
    client.dtls.disconnect(server.address);
    await until(() => server.dtls.peerCount === 0, 'the server saw close_notify');
    client.dtls.send(Buffer.from('again'), server.address);
    await until(() => server.received.some((d) => d.data.toString() === 'again'), 'data after the new handshake');
    assert.equal(client.dtls.sessions()[0].resumed, true);
    assert.equal(server.dtls.sessions()[0].resumed, true);
    assert.equal(server.received[0].identity, 'sensor-1');
  });

  it('answers a spoofed ClientHello flood with cookies no larger than the requests, keeping no state', async () => {
    const server = await pskServer();
    const hello = firstClientHello();
    const replies: { size: number; request: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const socket = dgram.createSocket('udp4');
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.bind(0, LOCAL, resolve));
      socket.on('message', (reply) => replies.push({ size: reply.length, request: hello.length }));
      socket.send(hello, server.address.port, LOCAL);
      socket.send(Buffer.from('not dtls at all'), server.address.port, LOCAL);
    }
    await until(() => replies.length >= 40, 'one reply per ClientHello');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(replies.length, 40, 'exactly one reply each, silence for the garbage');
    for (const reply of replies) assert.ok(reply.size <= reply.request, `reply of ${reply.size} for ${reply.request} octets`);
    assert.equal(server.dtls.peerCount, 0, 'no per-peer state before a valid cookie');
    assert.deepEqual(server.errors, []);
  });

  it('keeps every datagram within the path MTU and refuses plaintext that would not fit (118)', async () => {
    network = new MemoryNetwork();
    const sizes: number[] = [];
    network.intercept((transit) => {
      sizes.push(transit.data.length);
      return 'forward';
    });
    const server = await side({ role: 'server', cert: certs.server.cert, key: certs.server.key, mtu: 576 }, network.transport());
    const client = await side({ role: 'client', ca: certs.ca, servername: 'localhost', mtu: 576 }, network.transport());
    await client.dtls.connect(server.address);
    assert.ok(sizes.length > 4);
    assert.ok(Math.max(...sizes) <= 576 - 28, `largest datagram ${Math.max(...sizes)} octets`);
    client.dtls.send(Buffer.alloc(600, 1), server.address);
    assert.equal(client.errors[0]?.code, ErrorCode.MESSAGE_TOO_LONG);
    client.dtls.send(Buffer.alloc(400, 2), server.address);
    await until(() => server.received.length === 1, 'the datagram that fits');
  });

  it('completes handshakes and carries data through 20 % loss, duplication and reordering', async () => {
    network = new MemoryNetwork({ seed: 7, conditions: { loss: 0.2, duplicate: 0.1, reorder: 0.2 } });
    const server = await pskServer(network.transport());
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => pskClient(network?.transport())));
    await Promise.all(clients.map((c) => c.dtls.connect(server.address)));
    assert.equal(server.dtls.sessions().length, 5);
    // DTLS does not retransmit data (MQTT-SN does): send until each client's datagram arrived.
    for (const [index, client] of clients.entries()) {
      const text = `from client ${index}`;
      await until(() => {
        if (server.received.some((d) => d.data.toString() === text)) return true;
        client.dtls.send(Buffer.from(text), server.address);
        return false;
      }, text, 10000);
    }
  });

  it('closes an association that stays silent past the idle limit, with close_notify', async () => {
    const server = await pskServer(undefined, { idleTimeoutMs: 300 });
    const client = await pskClient();
    await client.dtls.connect(server.address);
    assert.equal(server.dtls.peerCount, 1);
    await until(() => server.dtls.peerCount === 0, 'the server closed the idle association');
    await until(() => client.dtls.peerCount === 0, 'the client heard close_notify');
    client.dtls.send(Buffer.from('later'), server.address);
    await until(() => server.received.some((d) => d.data.toString() === 'later'), 'a new handshake carries the next datagram');
  });

  it('runs over the native batched UDP transport as over node:dgram', async () => {
    const server = await pskServer(new NativeUdpTransport());
    const client = await pskClient(new NativeUdpTransport());
    await client.dtls.connect(server.address);
    client.dtls.send(Buffer.from('batched'), server.address);
    await until(() => server.received.some((d) => d.data.toString() === 'batched' && d.identity === 'sensor-1'), 'data over the native transport');
  });

  it('reports a wrong pre-shared key as a handshake error (276)', async () => {
    const server = await pskServer();
    const client = await pskClient(undefined, { pskKey: 'ffffffffffffffffffffffffffffffff', handshakeTimeoutMs: 3000 });
    const failure = await client.dtls.connect(server.address).then(
      () => assert.fail('the handshake should fail'),
      (error: unknown) => error as MqttSnError,
    );
    assert.equal(failure.code, ErrorCode.HANDSHAKE, failure.message);
    assert.equal(client.dtls.sessions().length, 0);
  });

  it('reports an unknown PSK identity as a handshake error (276)', async () => {
    const server = await pskServer();
    const client = await pskClient(undefined, { pskIdentity: 'stranger' });
    const failure = await client.dtls.connect(server.address).then(
      () => assert.fail('the handshake should fail'),
      (error: unknown) => error as MqttSnError,
    );
    assert.equal(failure.code, ErrorCode.HANDSHAKE);
    assert.match(failure.message, /unknown PSK identity/);
  });

  it('refuses unusable settings at once with coded errors', () => {
    const inner = () => new UdpTransport();
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'server' })), ErrorCode.SERVER_CERTIFICATE);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', pskIdentity: 'a', pskKey: 'xyz' })), ErrorCode.CREDENTIALS);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', pskIdentity: 'a' })), ErrorCode.CREDENTIALS);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', cert: 'not pem', key: certs.client.key })), ErrorCode.CERTIFICATE_NOT_FOUND);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', cert: certs.client.cert, key: certs.server.key })), ErrorCode.CREDENTIALS);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', ca: 'no certificate here' })), ErrorCode.CERTIFICATE_STORE);
    assert.equal(codeOf(() => new DtlsTransport(inner(), { role: 'client', pskIdentity: 'a', pskKey: KEY, ciphers: 'NO-SUCH-CIPHER' })), ErrorCode.INVALID_ARGUMENT);
    assert.equal(codeOf(() => readDtlsFiles({ certFile: path.join(certs.dir, 'missing.crt') })), ErrorCode.CERTIFICATE_NOT_FOUND);
    assert.equal(codeOf(() => parsePskFile('sensor-1:00zz\n')), ErrorCode.CREDENTIALS);
    assert.deepEqual([...parsePskFile('# keys\n\nsensor-1:0a0b\nsite:a:ff\n').entries()], [
      ['sensor-1', Buffer.from('0a0b', 'hex')],
      ['site:a', Buffer.from('ff', 'hex')],
    ]);
  });

  it('fails at once with 270 where the addon is not installed, while UDP works', () => {
    const output = runWithoutAddon(`
      const { DtlsTransport } = require('./dist/lib/transport/dtls');
      const { UdpTransport } = require('./dist/lib/transport/udp');
      let code;
      try { new DtlsTransport(new UdpTransport(), { role: 'client', pskIdentity: 'a', pskKey: '01' }); } catch (e) { code = e.code + ' ' + e.message; }
      const udp = new UdpTransport();
      udp.bind({ family: 4, address: '127.0.0.1' }).then(() => udp.close()).then(() => console.log(code + ' | udp ok'));`);
    assert.match(output, /^270 DTLS needs the native addon/);
    assert.match(output, /udp ok/);
  });
});
