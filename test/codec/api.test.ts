/**
 * What a user of encode()/decode() relies on beyond single packets: results
 * that stay intact, and the MQTTSN_NATIVE switch choosing the implementation.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { codec, codecImplementation } from '../../lib/codec';
import type { Packet } from '../../lib/codec';
import { Gen } from './generator';

describe(`codec API (${codecImplementation})`, () => {
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

  it('MQTTSN_NATIVE selects the implementation: 0 TypeScript, unset TypeScript, 1 native', function () {
    this.timeout(20000);
    const entry = path.resolve(__dirname, '..', '..', 'lib', 'codec', 'index.js');
    const implementationWith = (value: string | undefined): string => {
      const env = { ...process.env };
      if (value === undefined) delete env.MQTTSN_NATIVE;
      else env.MQTTSN_NATIVE = value;
      return execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(entry)}).codecImplementation)`], {
        env,
        encoding: 'utf8',
        timeout: 10000,
      });
    };
    assert.equal(implementationWith('0'), 'ts');
    assert.equal(implementationWith(undefined), 'ts');
    // The native pass of the suite runs only where the addon is built, so 1 must give native there.
    if (process.env.MQTTSN_NATIVE === '1') assert.equal(implementationWith('1'), 'native');
  });
});
