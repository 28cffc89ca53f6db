/**
 * Every captured packet, four ways, through the active codec (native or
 * TypeScript, per MQTTSN_NATIVE): decode, encode, round trip, and over a real
 * UDP socket pair on 127.0.0.1.
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { codec, codecImplementation } from '../../lib/codec';
import type { Packet } from '../../lib/codec';
import { loadVectors, type Vector } from './vectors';

const vectors = loadVectors();

/** Checks a decoded packet against a vector's expected fields. */
function assertMatches(decoded: Packet, v: Vector): void {
  const actual = { ...decoded } as Record<string, unknown>;
  if (v.payloadPrefix) {
    const payload = actual.payload as Buffer;
    assert.ok(payload.subarray(0, v.payloadPrefix.length).equals(v.payloadPrefix), `${v.name}: payload prefix`);
    delete actual.payload;
  }
  assert.deepStrictEqual(actual, v.expected, v.name);
}

/**
 * A vector's expected packet, for encoding. Names abbreviate only the payload of
 * long PUBLISH vectors (3-octet length), whose payload follows 4 header octets
 * and 5 octets of flags, topic id and message id: it is taken from there, not
 * from the codec under test.
 */
function expectedPacket(v: Vector): Packet {
  if (!v.payloadPrefix) return v.expected as unknown as Packet;
  assert.ok(v.expected.type === 'PUBLISH' && v.bytes[0] === 0x01, `${v.name}: abbreviated payload outside a long PUBLISH`);
  const payload = v.bytes.subarray(9);
  assert.ok(payload.subarray(0, v.payloadPrefix.length).equals(v.payloadPrefix), `${v.name}: payload prefix`);
  return { ...v.expected, payload } as unknown as Packet;
}

describe(`codec vectors (${codecImplementation()})`, () => {
  it('has all 94 captured packets, covering every message type', () => {
    assert.equal(vectors.length, 94);
    const types = new Set(vectors.map((v) => v.expected.type));
    for (const v of vectors) if (v.expected.packet) types.add((v.expected.packet as Packet).type);
    assert.ok(types.size >= 26, `types seen: ${[...types].join(' ')}`);
  });

  it('decodes every vector to the fields its name states', () => {
    for (const v of vectors) assertMatches(codec.decode(v.bytes), v);
  });

  it('encodes the expected fields of every vector to the identical bytes', () => {
    for (const v of vectors) {
      assert.equal(codec.encode(expectedPacket(v)).toString('hex'), v.bytes.toString('hex'), v.name);
    }
  });

  it('round-trips every vector: decode, encode, decode', () => {
    for (const v of vectors) {
      const once = codec.decode(v.bytes);
      const bytes = codec.encode(once);
      assert.ok(bytes.equals(v.bytes), v.name);
      assert.deepStrictEqual(codec.decode(bytes), once, v.name);
    }
  });

  it('decodes every vector after a trip through a UDP socket pair on 127.0.0.1', async () => {
    const receiver = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
      const { port } = receiver.address();
      const received: Packet[] = [];
      const done = new Promise<void>((resolve, reject) => {
        receiver.on('message', (msg) => {
          try {
            received.push(codec.decode(msg));
          } catch (err) {
            reject(err as Error);
          }
          if (received.length === vectors.length) resolve();
        });
      });
      // One datagram at a time, so loopback buffers never drop any.
      for (const v of vectors) {
        const wire = codec.encode(codec.decode(v.bytes));
        await new Promise<void>((resolve, reject) =>
          sender.send(wire, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
      }
      await done;
      received.forEach((packet, i) => assertMatches(packet, vectors[i]));
    } finally {
      await new Promise<void>((resolve) => sender.close(() => resolve()));
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
