/**
 * The hostile suite's attacker, run in a worker thread so that generating and
 * sending does not compete with the gateway's event loop: raw UDP sockets on
 * many loopback addresses (127.0.0.x) send seeded, generated datagrams and
 * count every octet sent and received per socket. It never sends what would
 * prove that it receives (acknowledgements, PINGRESP), so the gateway must
 * never send any socket more octets than it sent.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';
import { Gen, rng } from '../codec/generator';

export interface AttackPlan {
  gatewayPort: number;
  seed: number;
  /** Datagrams to send in all. */
  total: number;
  /** Source addresses (127.0.0.x) and sockets per address. */
  sources: string[];
  socketsPerSource: number;
  /** Client id of the honest client: storms of it come from other addresses. */
  honestId: string;
  /** [0]: datagrams the gateway has taken in, written by the main thread; the attacker stays within `window` of it. */
  progress: SharedArrayBuffer;
  window: number;
}

export interface SocketTally {
  address: string;
  port: number;
  sent: number;
  received: number;
}

export interface AttackReport {
  sent: number;
  skipped: number;
  byKind: Record<string, number>;
  sockets: SocketTally[];
  ms: number;
}

const PROOF_TYPES = new Set(['PUBACK', 'PUBREC', 'PUBCOMP', 'REGACK', 'PINGRESP']);

/** Whether the gateway would read `datagram` as an answer of ours (an attacker that proves itself is no test). */
function provesAddress(datagram: Buffer): boolean {
  try {
    let packet = decode(datagram);
    while (packet.type === 'ENCAPSULATED') packet = packet.packet;
    return PROOF_TYPES.has(packet.type);
  } catch {
    return false;
  }
}

function loadVectors(): Buffer[] {
  const file = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'vectors.json');
  const vectors = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ direction: string; hex: string }>;
  return vectors.filter((v) => v.direction === 'client->gw').map((v) => Buffer.from(v.hex, 'hex'));
}

const POISONED = [
  '$SYS/x',
  '$share/g/t',
  Array(101).fill('l').join('/'),
  `${'/'.repeat(150)}#`,
  'ctl\u0001x',
  'c1\u0085',
  'nc\ufffe',
  'x'.repeat(1500),
  'a/+/b',
  '#',
  'a#',
];

/** A seeded stream of hostile datagrams over `sockets` senders: which kind, which bytes, from which sender (floods from the first). */
export function makeDatagrams(seed: number, honestId: string, sockets: number): () => { kind: string; datagram: Buffer; source: number } {
  const random = rng(seed);
  const gen = new Gen(seed + 1);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const vectors = loadVectors();
  const packet = (p: Packet): Buffer => {
    try {
      return encode(p);
    } catch {
      return Buffer.from([0x02, 0x16]);
    }
  };
  const clientId = (source: number): string => `atk-${source}-${int(50)}`;
  const duration = (): number => 1 + int(3);

  const kinds: Array<[string, number, (source: number) => Buffer]> = [
    ['valid', 10, () => packet(gen.packet())],
    ['random', 12, () => bytes(int(8) === 0 ? int(1500) : 1 + int(100))],
    [
      'mutated',
      18,
      () => {
        const base = Buffer.from(pick(vectors));
        switch (int(4)) {
          case 0:
            for (let k = 0; k <= int(3); k++) base[int(base.length)] = int(256);
            return base;
          case 1:
            return base.subarray(0, int(base.length));
          case 2:
            return Buffer.concat([base, bytes(1 + int(40))]);
          default:
            base[0] = int(256);
            return base;
        }
      },
    ],
    [
      'wrong-size',
      14,
      () => {
        const type = int(256);
        const body = bytes(int(12));
        if (int(4) === 0) return Buffer.concat([Buffer.from([0x01, int(256), int(256), type]), body]);
        return Buffer.concat([Buffer.from([int(20), type]), body]);
      },
    ],
    [
      'encapsulated',
      10,
      (source) => {
        let inner: Buffer = int(2) === 0 ? packet({ type: 'CONNECT', will: false, cleanSession: true, duration: 0, clientId: clientId(source) }) : bytes(2 + int(20));
        for (let depth = int(4); depth >= 0; depth--) {
          const node = bytes(int(3) === 0 ? int(8) : 1 + int(4));
          inner = Buffer.concat([Buffer.from([3 + node.length, 0xfe, int(256)]), node, inner]);
        }
        return inner;
      },
    ],
    [
      'poisoned',
      16,
      (source) => {
        const topic = pick(POISONED);
        switch (int(7)) {
          case 0:
            return packet({ type: 'CONNECT', will: int(2) === 0, cleanSession: true, duration: duration(), clientId: clientId(source) });
          case 1:
            return packet({ type: 'REGISTER', topicId: 0, msgId: int(65536), topicName: topic });
          case 2:
            return packet({ type: 'SUBSCRIBE', dup: false, qos: int(3) as 0 | 1 | 2, topicIdType: 0, msgId: 1 + int(65535), topicId: topic });
          case 3:
            return packet({ type: 'PUBLISH', dup: false, qos: int(2) as 0 | 1, retain: false, topicIdType: 2, topicId: pick(['$x', '+#', '$S', 'ab']), msgId: 1 + int(65535), payload: bytes(int(64)) });
          case 4:
            return packet({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: topic });
          case 5:
            return packet({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: topic });
          default:
            return packet({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: 1 + int(3), msgId: 1 + int(65535), payload: bytes(int(64)) });
        }
      },
    ],
    [
      'storm',
      12,
      () =>
        packet({
          type: 'CONNECT',
          will: int(4) === 0,
          cleanSession: int(2) === 0,
          duration: duration(),
          clientId: pick(['storm-one', 'storm-two', honestId]),
        }),
    ],
    [
      'flood',
      14,
      (source) => {
        switch (int(5)) {
          case 0: {
            const node = Buffer.from([int(256), int(256)]);
            const connect = packet({ type: 'CONNECT', will: false, cleanSession: true, duration: 0, clientId: `fwd-${source}-${node.toString('hex')}` });
            return Buffer.concat([Buffer.from([3 + node.length, 0xfe, 0]), node, connect]);
          }
          case 1:
            return packet({ type: 'SEARCHGW', radius: 0 });
          case 2:
            return packet({ type: 'PINGREQ', clientId: pick(['storm-one', honestId, clientId(source)]) });
          case 3:
            return packet({ type: 'WILLMSGUPD', willMsg: bytes(int(100)) });
          default:
            return packet({ type: 'DISCONNECT', ...(int(2) === 0 ? { duration: 1 + int(2) } : {}) });
        }
      },
    ],
  ];
  const weight = kinds.reduce((sum, [, w]) => sum + w, 0);
  return () => {
    let r = random() * weight;
    let chosen = kinds[0];
    for (const entry of kinds) {
      r -= entry[1];
      chosen = entry;
      if (r < 0) break;
    }
    const [kind, , make] = chosen;
    const source = kind === 'flood' ? 0 : int(sockets);
    return { kind, datagram: make(source), source };
  };
}

async function attack(plan: AttackPlan): Promise<AttackReport> {
  const started = Date.now();
  const progress = new Int32Array(plan.progress);
  const sockets: Array<{ socket: dgram.Socket; tally: SocketTally }> = [];
  for (const address of plan.sources) {
    for (let i = 0; i < plan.socketsPerSource; i++) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, address, () => resolve());
      });
      const tally: SocketTally = { address, port: socket.address().port, sent: 0, received: 0 };
      socket.on('message', (datagram) => (tally.received += datagram.length));
      socket.on('error', () => undefined);
      sockets.push({ socket, tally });
    }
  }
  const next = makeDatagrams(plan.seed, plan.honestId, sockets.length);
  const byKind: Record<string, number> = {};
  let sent = 0;
  let skipped = 0;
  while (sent < plan.total) {
    if (sent - Atomics.load(progress, 0) > plan.window) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    for (let burst = 0; burst < 64 && sent < plan.total; burst++) {
      const { kind, datagram, source } = next();
      const target = sockets[source];
      if (provesAddress(datagram)) {
        skipped++;
        continue;
      }
      target.tally.sent += datagram.length;
      target.socket.send(datagram, plan.gatewayPort, '127.0.0.1');
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      sent++;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  // late answers (retransmissions, probes) are counted too
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await Promise.all(sockets.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  return { sent, skipped, byKind, sockets: sockets.map((s) => s.tally), ms: Date.now() - started };
}

if (parentPort && workerData) {
  const port = parentPort;
  void attack(workerData as AttackPlan).then((report) => port.postMessage(report));
}
