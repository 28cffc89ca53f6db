/**
 * The TypeScript and native codecs side by side, on the same seeded inputs:
 * they must give the same bytes, the same packets, or the same error (code and
 * description). Loads the addon itself, so it runs in both passes of npm test
 * whenever the addon is built.
 */
import * as assert from 'node:assert/strict';
import { MqttSnError } from '../../lib/errors';
import { createNativeCodec } from '../../lib/codec/native-codec';
import { tsCodec } from '../../lib/codec/ts-codec';
import { loadAddon } from '../../lib/native';
import type { Codec, Packet } from '../../lib/codec';
import { Gen } from './generator';

type Outcome = { ok: true; value: unknown } | { ok: false; code: number; message: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    assert.ok(err instanceof MqttSnError, `untyped exception: ${String(err)}`);
    return { ok: false, code: err.code, message: err.message };
  }
}

/** Deep equality for packets (plain objects, strings, numbers, booleans, Buffers). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && same(ra[k], rb[k]));
}

function assertSameOutcome(a: Outcome, b: Outcome, what: () => string): void {
  if (a.ok && b.ok && same(a.value, b.value)) return;
  if (!a.ok && !b.ok && a.code === b.code && a.message === b.message) return;
  assert.fail(`${what()}\n ts: ${JSON.stringify(a)}\n native: ${JSON.stringify(b)}`);
}

const loaded = loadAddon();

describe('codec differential: TypeScript vs native', function () {
  this.timeout(60000);

  if (!loaded.addon) {
    it('runs whenever the addon is built (it is not: TypeScript-only install)', () => {
      assert.notEqual(process.env.MQTTSN_NATIVE, '1', `the addon must load with MQTTSN_NATIVE=1: ${loaded.error?.message}`);
    });
    return;
  }
  const native: Codec = createNativeCodec(loaded.addon);

  it('100,000 random valid packets: identical bytes, and both decode them back to the packet', () => {
    const gen = new Gen(0x5eed1);
    for (let i = 0; i < 100_000; i++) {
      const packet = gen.packet();
      const a = tsCodec.encode(packet);
      const b = native.encode(packet);
      if (!a.equals(b)) assert.fail(`#${i} ${JSON.stringify(packet)}: ts ${a.toString('hex')} native ${b.toString('hex')}`);
      const fromTs = tsCodec.decode(a);
      const fromNative = native.decode(a);
      if (!same(fromTs, packet) || !same(fromNative, packet)) {
        assert.deepStrictEqual(fromTs, packet, `#${i} ts round trip`);
        assert.deepStrictEqual(fromNative, packet, `#${i} native round trip`);
      }
    }
  });

  it('100,000 random byte strings: the same packet or the same error', () => {
    const gen = new Gen(0xb17e5);
    let decoded = 0;
    for (let i = 0; i < 100_000; i++) {
      const datagram = gen.datagram();
      const a = outcome(() => tsCodec.decode(datagram));
      const b = outcome(() => native.decode(datagram));
      assertSameOutcome(a, b, () => `#${i} ${datagram.toString('hex')}`);
      if (a.ok) decoded++;
    }
    // The generator aims near valid packets: a good share must decode.
    assert.ok(decoded > 5_000, `only ${decoded} of 100,000 decoded`);
  });

  it('30,000 packets with one field replaced by junk: the same bytes or the same error', () => {
    const gen = new Gen(0x3a11);
    for (let i = 0; i < 30_000; i++) {
      const packet = gen.mutatedPacket();
      const a = outcome(() => tsCodec.encode(packet as unknown as Packet));
      const b = outcome(() => native.encode(packet as unknown as Packet));
      assertSameOutcome(a, b, () => `#${i} ${JSON.stringify(packet)}`);
    }
  });

  it('non-object and non-byte inputs: the same error', () => {
    for (const input of [null, undefined, 42, 'PUBLISH', [], { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), packet: null }]) {
      assertSameOutcome(
        outcome(() => tsCodec.encode(input as unknown as Packet)),
        outcome(() => native.encode(input as unknown as Packet)),
        () => `encode ${JSON.stringify(input)}`,
      );
    }
    for (const input of [null, undefined, 'abc', [2, 0x16], new Uint16Array(4), new Uint8ClampedArray([2, 0x16])]) {
      assertSameOutcome(
        outcome(() => tsCodec.decode(input as unknown as Uint8Array)),
        outcome(() => native.decode(input as unknown as Uint8Array)),
        () => `decode ${String(input)}`,
      );
    }
  });
});
