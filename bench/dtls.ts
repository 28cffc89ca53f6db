/**
 * DTLS against plain UDP on loopback, both ends in this process:
 * - handshakes per second, one after another: PSK, ECDSA certificates, and a
 *   PSK handshake resuming the previous session (the cookie exchange included);
 * - round trips per second of a 64-octet datagram (strict ping-pong) over
 *   DTLS and over the plain UDP transport, so the cost of the record layer
 *   shows against the same transport without it;
 * - QoS 1 publishes per second through the gateway (embedded broker), one in
 *   flight, from an MQTTSN client over plain UDP and over DTLS.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MQTTSN } from '../lib/client';
import { MqttSnGateway } from '../lib/gateway';
import { DtlsTransport, type DtlsTransportOptions } from '../lib/transport/dtls';
import type { Endpoint } from '../lib/transport/endpoint';
import type { DatagramTransport } from '../lib/transport/types';
import { UdpTransport } from '../lib/transport/udp';
import type { BenchOptions, BenchSection, Cell } from './harness';

const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const LOCAL = '127.0.0.1';

async function bound(transport: DatagramTransport): Promise<DatagramTransport> {
  await transport.bind({ family: 4, address: LOCAL });
  return transport;
}

/** Throw-away ECDSA CA and server certificate for localhost. */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=bench CA']);
  run(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1']);
  const read = (name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');
  return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
}

/** Handshakes per second for `sliceMs`: a new client transport each time, or one client reconnecting (resumption). */
async function handshakes(server: Endpoint, client: DtlsTransportOptions, sliceMs: number, resume: boolean): Promise<number> {
  let count = 0;
  const reused = resume ? ((await bound(new DtlsTransport(new UdpTransport(), client))) as DtlsTransport) : undefined;
  const started = performance.now();
  while (performance.now() - started < sliceMs) {
    const dtls = reused ?? ((await bound(new DtlsTransport(new UdpTransport(), client))) as DtlsTransport);
    await dtls.connect(server);
    count++;
    if (reused) reused.disconnect(server);
    else await dtls.close();
  }
  const elapsed = performance.now() - started;
  await reused?.close();
  return (count * 1000) / elapsed;
}

/** Strict ping-pong of 64-octet datagrams between two transports for `sliceMs`. */
async function roundTrips(a: DatagramTransport, b: DatagramTransport, sliceMs: number): Promise<number> {
  const payload = Buffer.alloc(64, 0x5a);
  const to = b.localAddress() as Endpoint;
  b.onReceive((batch) => {
    for (const datagram of batch) b.send(datagram.data, datagram.from);
  });
  let count = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    a.onReceive(() => {
      count++;
      if (performance.now() - started >= sliceMs) resolve();
      else a.send(payload, to);
    });
    a.send(payload, to);
  });
  return (count * 1000) / (performance.now() - started);
}

/** QoS 1 publishes acknowledged per second for `sliceMs`, one at a time, from a client with `settings`. */
async function qos1Rate(port: number, settings: string[], sliceMs: number): Promise<number> {
  const client = new MQTTSN();
  client.clientId = `bench-${settings.length > 0 ? 'dtls' : 'udp'}`;
  client.timeout = 10;
  for (const setting of settings) client.config(setting);
  try {
    await client.connectTo('127.0.0.1', port);
    const topicId = await client.registerTopic('bench/dtls');
    const payload = Buffer.alloc(64, 0x61);
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < sliceMs) {
      await client.publishData(topicId, 0, 1, payload);
      count++;
    }
    const rate = (count * 1000) / (performance.now() - started);
    await client.disconnect();
    return rate;
  } finally {
    client.reset();
  }
}

export async function run(options?: BenchOptions): Promise<BenchSection[]> {
  const slice = Math.max(500, Math.min(3000, ((options?.budgetMs ?? 20_000) - 5000) / 8));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-bench-dtls-'));
  const opened: DatagramTransport[] = [];
  const open = async (transport: DatagramTransport): Promise<DatagramTransport> => {
    opened.push(transport);
    return bound(transport);
  };
  try {
    const { ca, cert, key } = certificates(dir);
    const server = (await open(new DtlsTransport(new UdpTransport(), { role: 'server', pskKeys: { bench: KEY }, cert, key, handshakeTimeoutMs: 5000 }))) as DtlsTransport;
    const address = server.localAddress() as Endpoint;
    const psk: DtlsTransportOptions = { role: 'client', pskIdentity: 'bench', pskKey: KEY };
    const x509: DtlsTransportOptions = { role: 'client', ca, servername: 'localhost' };
    const handshakeRows: Cell[][] = [
      ['PSK (ECDHE-PSK-CHACHA20-POLY1305)', await handshakes(address, psk, slice, false)],
      ['ECDSA P-256 certificate (ECDHE-ECDSA-AES128-GCM)', await handshakes(address, x509, slice, false)],
      ['PSK, session resumed', await handshakes(address, psk, slice, true)],
    ];
    const client = (await open(new DtlsTransport(new UdpTransport(), psk))) as DtlsTransport;
    await client.connect(address);
    const dtlsRate = await roundTrips(client, server, slice);
    const udpRate = await roundTrips(await open(new UdpTransport()), await open(new UdpTransport()), slice);
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, logLevel: 'error', dtls: { port: 0, pskKeys: { bench: KEY } } });
    await gateway.start();
    let qos1: Cell[][];
    try {
      const plain = await qos1Rate(gateway.address().port, [], slice);
      const secured = await qos1Rate(gateway.dtlsAddress().port, ['DTLS=True', 'DTLSPSKIdentity=bench', `DTLSPSKKey=${KEY}`], slice);
      qos1 = [
        ['udp', plain, '1.00'],
        ['dtls (PSK)', secured, (secured / plain).toFixed(2)],
      ];
    } finally {
      await gateway.stop();
    }
    return [
      {
        title: 'DTLS: handshakes per second (one at a time, loopback, both ends in one process)',
        columns: ['handshake', 'handshakes/s'],
        rows: handshakeRows,
        notes: ['Each full handshake includes the cookie exchange (HelloVerifyRequest) and a new client transport.'],
      },
      {
        title: 'DTLS vs plain UDP: 64-octet round trips per second (strict ping-pong)',
        columns: ['transport', 'round trips/s', 'relative'],
        rows: [
          ['udp', udpRate, '1.00'],
          ['dtls (PSK, AEAD records)', dtlsRate, (dtlsRate / udpRate).toFixed(2)],
        ],
      },
      {
        title: 'DTLS vs plain UDP: QoS 1 publishes per second through the gateway (MQTTSN client, one in flight, embedded broker)',
        columns: ['link', 'publishes/s', 'relative'],
        rows: qos1,
      },
    ];
  } finally {
    await Promise.all(opened.map((transport) => transport.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
