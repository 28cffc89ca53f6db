/**
 * Seeded mutations of the captured packets through the active codec: decoding
 * hostile input either fails with a codec MqttSnError or yields a packet that
 * encodes back to exactly the same octets (decode accepts only canonical frames).
 * The one exception: a topic that breaks the wildcard rules decodes (the
 * protocol layer answers it) but does not encode.
 */
import * as assert from 'node:assert/strict';
import { codec, codecImplementation } from '../../lib/codec';
import type { Packet } from '../../lib/codec';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { Gen } from './generator';
import { loadVectors } from './vectors';

function mutate(gen: Gen, source: Buffer): Buffer {
  let bytes = Buffer.from(source);
  const edits = gen.int(1, 3);
  for (let k = 0; k < edits; k++) {
    const r = gen.next();
    if (r < 0.35 && bytes.length > 0) {
      bytes[gen.int(0, bytes.length - 1)] ^= 1 << gen.int(0, 7);
    } else if (r < 0.6 && bytes.length > 0) {
      bytes[gen.int(0, bytes.length - 1)] = gen.u8();
    } else if (r < 0.75) {
      bytes = bytes.subarray(0, gen.int(0, bytes.length));
    } else if (r < 0.85) {
      bytes = Buffer.concat([bytes, gen.bytes(4)]);
    } else if (bytes.length > 1) {
      // keep the length octet consistent so the body checks get exercised
      bytes[gen.int(2, Math.max(2, bytes.length - 1))] = gen.u8();
      if (bytes[0] !== 0x01) bytes[0] = bytes.length & 0xff;
    }
  }
  return bytes;
}

/** The topic text of a packet that carries one (name or filter), else undefined. */
function topicText(packet: Packet): string | undefined {
  switch (packet.type) {
    case 'REGISTER':
      return packet.topicName;
    case 'WILLTOPIC':
    case 'WILLTOPICUPD':
      return packet.willTopic;
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
      return packet.topicIdType === 0 ? String(packet.topicId) : undefined;
    default:
      return undefined;
  }
}

/** Re-encodes a decoded packet; undefined when encode refuses a wildcard the decoder let through. */
function reencode(packet: Packet): Buffer | undefined {
  try {
    return codec.encode(packet);
  } catch (err) {
    const text = packet.type === 'ENCAPSULATED' ? topicText(packet.packet) : topicText(packet);
    const wildcard = text !== undefined && /[+#]/.test(text);
    if (err instanceof MqttSnError && err.code === ErrorCode.INVALID_TOPIC && wildcard) return undefined;
    throw err;
  }
}

describe(`codec fuzz (${codecImplementation()})`, () => {
  it('50,000 mutated vectors: a codec error, or a packet that re-encodes to the same octets', () => {
    const vectors = loadVectors();
    const gen = new Gen(0xf022);
    const codes = new Set<number>();
    let accepted = 0;
    for (let i = 0; i < 50_000; i++) {
      const input = mutate(gen, gen.pick(vectors).bytes);
      let packet;
      try {
        packet = codec.decode(input);
      } catch (err) {
        if (!(err instanceof MqttSnError) || err.code < 601 || err.code > 617) {
          assert.fail(`#${i} ${input.toString('hex')}: ${String(err)}`);
        }
        codes.add(err.code);
        continue;
      }
      accepted++;
      const again = reencode(packet);
      if (again !== undefined && !again.equals(input)) assert.fail(`#${i} ${input.toString('hex')} re-encoded as ${again.toString('hex')}`);
    }
    assert.ok(accepted > 1000, `accepted ${accepted}`);
    assert.ok(codes.size >= 14, `codes seen: ${[...codes].sort().join(' ')}`);
  });
});
