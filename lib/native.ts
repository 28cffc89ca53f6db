/**
 * Loads the optional C++ addon (native/) the way `ws` loads bufferutil: through
 * node-gyp-build, from the package root, and only when asked.
 *
 * twinAddon() is the one rule the twins (lib/codec, lib/timers) choose by, on
 * their first use: MQTTSN_NATIVE=1 the addon (a missing or stale one is a loud
 * error), 0 or unset the TypeScript twins, which measured as fast or faster
 * (docs/benchmarks.md) - and then the addon is never loaded.
 */
import * as path from 'node:path';
import { checkContract } from './twin-contract';

/**
 * The addon's codec entry points (native/codec.cc). Numbers travel through two
 * shared Int32Arrays and encoded octets through a shared output slab, so no
 * object is built on the C++ side; lib/codec/native-codec.ts wraps them.
 */
export interface NativeCodecBinding {
  /** Registers the shared decode and encode slot arrays. */
  bind(decodeSlots: Int32Array, encodeSlots: Int32Array): void;
  /** Registers the slab encode() writes into. */
  setOutput(slab: Buffer): void;
  /** 0 with the fields in the decode slots, or an error code. */
  decode(datagram: unknown): number;
  /** Octets written into the slab, 0 when it is too small, or minus an error code. */
  encode(text: unknown, bytes: unknown, nodeId: unknown): number;
  /** Sizes of the two slot arrays. */
  readonly decodeSlots: number;
  readonly encodeSlots: number;
}

/** One socket of the batched UDP engine (native/udp.cc); lib/transport/native-udp.ts wraps it. */
export interface NativeUdpEngine {
  /** 0 or minus an errno. */
  bind(family: number, address: string, port: number, flags: number, receiveBufferBytes: number, sendBufferBytes: number): number;
  setReceiveSlab(slab: Buffer): void;
  setSendSlab(slab: Buffer): void;
  /** [family, address, port] while bound. */
  localAddress(): [number, string, number] | undefined;
  /** Sends the first `count` send records; returns how many failed. */
  flush(count: number): number;
  /** Connects to one peer (port -1: disconnects); 0 or minus an errno. */
  connect(family: number, port: number, w0: number, w1: number, w2: number, w3: number): number;
  /** 0 or minus an errno. */
  addMembership(group: string, iface?: string): number;
  setMulticastInterface(iface: string): number;
  ref(): void;
  unref(): void;
  usingRecvmmsg(): boolean;
  close(done: () => void): void;
}

/** The batched UDP engine (Linux builds only): its class and the layout of its shared records. */
export interface NativeUdpBinding {
  readonly UdpEngine: new (
    onBatch: (count: number, need: number) => void,
    onError: (code: number) => void,
    receiveRecords: Int32Array,
    sendRecords: Int32Array,
  ) => NativeUdpEngine;
  /** Writes an IP literal's words into out[0..3]; returns 4, 6 or 0 (not a literal). */
  parseAddress(address: string, out: Int32Array): number;
  formatAddress(family: number, w0: number, w1?: number, w2?: number, w3?: number): string;
  readonly recvStride: number;
  readonly recvDecode: number;
  readonly maxBatch: number;
  readonly sendHeader: number;
  readonly sendStride: number;
  readonly sendEncode: number;
  readonly maxSend: number;
  readonly datagramMax: number;
}

/** What the addon exports; each part has a TypeScript twin with the same behaviour. */
export interface NativeAddon {
  /** Codec entry points, see lib/codec/native-codec.ts. */
  readonly codec: NativeCodecBinding;
  /** Timer queue constructor, see lib/timers/native-timers.ts. */
  readonly TimerQueue: new () => unknown;
  /** Digest of the twin contract the addon was compiled from (lib/twin-contract.ts). */
  readonly contract: string;
  /** The batched UDP engine, twin of the node:dgram transport; absent where the platform lacks recvmmsg. */
  readonly udp?: NativeUdpBinding;
}

export type NativeMode = 'auto' | 'force' | 'off';

export function nativeMode(env: NodeJS.ProcessEnv = process.env): NativeMode {
  const value = env.MQTTSN_NATIVE;
  if (value === undefined || value === '') return 'auto';
  if (value === '0' || value.toLowerCase() === 'false') return 'off';
  if (value === '1' || value.toLowerCase() === 'true') return 'force';
  throw new Error(`MQTTSN_NATIVE must be 0 or 1, not ${JSON.stringify(value)}`);
}

let cached: { addon: NativeAddon | null; error: Error | null } | undefined;

/** The package root: dist/lib/native.js sits two levels below it. */
function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

/**
 * The addon whatever MQTTSN_NATIVE says (tests and benchmarks compare both
 * paths in one process), or null with the reason it did not load.
 */
export function loadAddon(): { addon: NativeAddon | null; error: Error | null } {
  if (!cached) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = require('node-gyp-build') as (dir: string) => NativeAddon;
      cached = { addon: load(packageRoot()), error: null };
    } catch (err) {
      cached = { addon: null, error: err as Error };
    }
  }
  return cached;
}

/**
 * The addon, or null when the TypeScript path is to be used: for a native part
 * that is worth its crossing whenever the addon is built. MQTTSN_NATIVE=0 gives
 * null without loading anything; MQTTSN_NATIVE=1 throws when the addon cannot
 * be loaded.
 */
export function loadNative(): NativeAddon | null {
  const mode = nativeMode();
  if (mode === 'off') return null;
  if (mode === 'force') return requireNative();
  return loadAddon().addon;
}

/** The addon, built from the current twin contract; throws with what to do otherwise. */
function requireNative(): NativeAddon {
  const { addon, error } = loadAddon();
  if (!addon) {
    throw new Error(
      `MQTTSN_NATIVE=1 but the native addon could not be loaded (${error?.message ?? 'unknown error'}). ` +
        'Build it with `npx node-gyp rebuild` or unset MQTTSN_NATIVE to use the TypeScript path.',
    );
  }
  checkContract(addon);
  return addon;
}

/**
 * Which twins the codec and the timers use, asked by each on its first use:
 * the addon with MQTTSN_NATIVE=1 (throws when it is missing or stale), else
 * null for the TypeScript twins, without loading the addon.
 */
export function twinAddon(): NativeAddon | null {
  return nativeMode() === 'force' ? requireNative() : null;
}
