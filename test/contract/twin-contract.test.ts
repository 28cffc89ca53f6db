/**
 * The contract between the C++ and TypeScript twins is one table
 * (lib/twin-contract.ts): the generated header and the compiled addon must
 * match it, and a mismatch is caught rather than misread.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNativeCodec } from '../../lib/codec/native-codec';
import { tsCodec } from '../../lib/codec/ts-codec';
import { ErrorCode, ErrorDescription, MqttSnError } from '../../lib/errors';
import { loadAddon, type NativeAddon, type NativeCodecBinding } from '../../lib/native';
import {
  contractDigest,
  DECODE_SLOT_COUNT,
  DecodeSlot,
  ENCODE_SLOT_COUNT,
  twinContract,
  type TwinContract,
} from '../../lib/twin-contract';
import { GENERATED_DIR, staleContractHeader, writeContractHeader } from '../../scripts/native-contract';

const checker = path.resolve(__dirname, '..', '..', 'scripts', 'native-contract.js');

function runChecker(dir: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [checker, 'check', dir], { encoding: 'utf8', timeout: 20000 });
  return { status: result.status, stderr: result.stderr };
}

/** A binding that reports a successful decode of `type`, as an addon from another table could. */
function bindingReporting(type: number): NativeCodecBinding {
  let slots: Int32Array = new Int32Array(DECODE_SLOT_COUNT);
  return {
    decodeSlots: DECODE_SLOT_COUNT,
    encodeSlots: ENCODE_SLOT_COUNT,
    bind(decodeSlots: Int32Array) {
      slots = decodeSlots;
    },
    setOutput() {},
    decode() {
      slots.fill(0);
      slots[DecodeSlot.CONTEXT] = -1;
      slots[DecodeSlot.TYPE] = type;
      return 0;
    },
    encode() {
      return 0;
    },
  };
}

function addonWith(codec: NativeCodecBinding, contract: string): NativeAddon {
  return { codec, contract, TimerQueue: class {} };
}

function thrown(fn: () => unknown): MqttSnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MqttSnError, String(err));
    return err;
  }
  assert.fail('expected an MqttSnError');
}

describe('twin contract', () => {
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-contract-'));
  });

  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the committed native/generated/contract.h is what the table generates', function () {
    this.timeout(30000);
    assert.equal(staleContractHeader(GENERATED_DIR), null);
    const run = runChecker(GENERATED_DIR);
    assert.equal(run.status, 0, run.stderr);
  });

  it('the check fails when the header was generated from a different table', function () {
    this.timeout(30000);
    // Two decode slots swapped and one error code moved: what drift by hand looks like.
    const [first, second, ...rest] = twinContract.decodeSlots;
    const drifted: TwinContract = {
      ...twinContract,
      decodeSlots: [second, first, ...rest],
      errors: { ...twinContract.errors, RESERVED_TYPE: 699 },
    };
    writeContractHeader(tmp, drifted);
    const problem = staleContractHeader(tmp);
    assert.match(problem ?? '', /stale at line \d+/);
    const run = runChecker(tmp);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /contract\.h is stale at line \d+/);
    // The same directory passes once regenerated from the real table.
    writeContractHeader(tmp);
    assert.equal(runChecker(tmp).status, 0);
  });

  it('the check fails when the header is missing', function () {
    this.timeout(30000);
    assert.match(staleContractHeader(tmp) ?? '', /missing/);
    assert.equal(runChecker(tmp).status, 1);
  });

  it('the built addon was compiled from the current table', () => {
    const { addon, error } = loadAddon();
    if (!addon) {
      assert.notEqual(process.env.MQTTSN_NATIVE, '1', `the addon must load with MQTTSN_NATIVE=1: ${error?.message}`);
      return;
    }
    assert.equal(addon.contract, contractDigest(), 'the addon is stale: rebuild it with `npx node-gyp rebuild`');
    assert.equal(addon.codec.decodeSlots, DECODE_SLOT_COUNT);
    assert.equal(addon.codec.encodeSlots, ENCODE_SLOT_COUNT);
  });

  it('an addon compiled from another table is refused, not misread', () => {
    const binding = bindingReporting(0x0c);
    assert.throws(() => createNativeCodec(addonWith(binding, '0123456789abcdef')), /another twin contract.*rebuild/);
    assert.throws(() => createNativeCodec(addonWith({ ...binding, decodeSlots: 3 }, contractDigest())), /another twin contract/);
  });

  it('an unknown message type is RESERVED_TYPE on both paths, with the same description', () => {
    const expected = { code: ErrorCode.RESERVED_TYPE, description: ErrorDescription[ErrorCode.RESERVED_TYPE] };
    // Decoding: the TypeScript twin rejects octet 0x03; the native wrapper, told by
    // the addon that it decoded a 0x03, rejects it too instead of inventing a packet.
    const fromTs = thrown(() => tsCodec.decode(Buffer.from([0x02, 0x03])));
    const native = createNativeCodec(addonWith(bindingReporting(0x03), contractDigest()));
    const fromNative = thrown(() => native.decode(Buffer.from([0x02, 0x03])));
    assert.deepEqual({ code: fromTs.code, description: fromTs.description }, expected);
    assert.deepEqual({ code: fromNative.code, description: fromNative.description }, expected);

    // Encoding an unknown type name, on the real addon where it is built.
    // Encoding an unknown type name; and both directions on the real addon where it is built.
    const bogus = { type: 'CONNECT_PLEASE' } as unknown as Parameters<typeof tsCodec.encode>[0];
    const errors = [thrown(() => tsCodec.encode(bogus))];
    const { addon } = loadAddon();
    if (addon) {
      const real = createNativeCodec(addon);
      errors.push(thrown(() => real.encode(bogus)), thrown(() => real.decode(Buffer.from([0x02, 0x03]))));
    }
    for (const err of errors) assert.deepEqual({ code: err.code, description: err.description }, expected);
  });
});
