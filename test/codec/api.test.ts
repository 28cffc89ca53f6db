/**
 * What a user of encode()/decode() relies on beyond single packets: results
 * that stay intact and payloads that are views. (Which implementation runs:
 * test/native/twin-choice.test.ts.)
 */
import * as assert from 'node:assert/strict';
import { codec, codecImplementation } from '../../lib/codec';
import type { Packet } from '../../lib/codec';
import { Gen } from './generator';

describe(`codec API (${codecImplementation()})`, () => {
  it('keeps every encoded Buffer intact while thousands more are encoded', () => {
    const gen = new Gen(0xa11);
    // A copy taken at once is what the result must still read later; decoding it
    // back checks it was a real encoding and not, say, an empty slice.
    const kept: Array<[Packet, Buffer, Buffer]> = [];
    for (let i = 0; i < 5000; i++) {
      const packet = gen.packet();
      const bytes = codec.encode(packet);
      kept.push([packet, bytes, Buffer.from(bytes)]);
    }
    for (const [packet, bytes, copy] of kept) {
      assert.ok(bytes.equals(copy), `overwritten: ${JSON.stringify(packet)}`);
      assert.deepStrictEqual(codec.decode(bytes), packet);
    }
    // Each result is its own Buffer: writing into one leaves the next alone.
    const a = codec.encode({ type: 'PINGREQ' });
    const b = codec.encode({ type: 'PINGRESP' });
    a.fill(0);
    assert.equal(b.toString('hex'), '0217');
  });

  it('returns payloads as views of the datagram, not copies', () => {
    const datagram = Buffer.from('0a0c0100010000686921', 'hex');
    const packet = codec.decode(datagram) as Extract<Packet, { type: 'PUBLISH' }>;
    assert.equal(packet.payload.toString(), 'hi!');
    datagram[7] = 0x48;
    assert.equal(packet.payload.toString(), 'Hi!');
  });
});
