/**
 * What the C++ twins (native/) share with their TypeScript twins, defined once.
 *
 * native/generated/contract.h is generated from this table by
 * scripts/native-contract.ts (`npm run build`); `npm test` fails when that
 * header, or the addon compiled from it, is stale. Message types, wire
 * constants, error codes and timer limits come from the modules that define
 * them for TypeScript; only the slot layouts of the Node-API boundary are
 * defined here.
 */
import { createHash } from 'node:crypto';
import { ErrorCode } from './errors';
import { MAX_CLIENT_ID_BYTES, MAX_PACKET_SIZE, MsgType } from './codec/packets';
import {
  FLAG_CLEAN_SESSION,
  FLAG_DUP,
  FLAG_RETAIN,
  FLAG_WILL,
  LONG_FORM_MARKER,
  LONG_FORM_MIN_TOTAL,
  MASK_ENCAPSULATION_RADIUS,
  MASK_QOS,
  MASK_TOPIC_ID_TYPE,
  MAX_WIRELESS_NODE_ID_BYTES,
  PROTOCOL_ID,
} from './codec/ts/wire';
import { MAX_TIMER_ID } from './timers/arguments';

/** A slot layout: names in index order, each with what the slot holds. */
type Layout = ReadonlyArray<readonly [name: string, meaning: string]>;

/** Index of each slot of a layout, by name. */
type Indexes<L extends Layout> = { readonly [S in L[number] as S[0]]: number };

function indexes<const L extends Layout>(layout: L): Indexes<L> {
  return Object.fromEntries(layout.map(([name], index) => [name, index])) as Indexes<L>;
}

/** The Int32Array native/codec.cc fills on decode and lib/codec/native-codec.ts reads. */
const DECODE_LAYOUT = [
  ['RESULT', '0 or an error code'],
  ['CONTEXT', 'message type octet the error is about, or -1'],
  ['OUTER', '0xFE when the packet came inside an encapsulation, else 0'],
  ['TYPE', 'message type octet of the (inner) packet'],
  ['FLAGS', 'raw flags octet'],
  ['A', 'first numeric field'],
  ['B', 'second numeric field'],
  ['C', 'third numeric field'],
  ['VAR_START', 'variable part (text or bytes): start offset in the datagram'],
  ['VAR_END', 'variable part: end offset'],
  ['ASCII', '1 when the text is all ASCII'],
  ['PRESENT', '1 when an optional part is present'],
  ['ENC_RADIUS', 'encapsulation: radius from Ctrl'],
  ['NODE_START', 'encapsulation: wireless node id start offset'],
  ['NODE_END', 'encapsulation: wireless node id end offset'],
] as const;

/** The Int32Array lib/codec/native-codec.ts fills before an encode call. */
const ENCODE_LAYOUT = [
  ['TYPE', 'message type octet, -1 unknown, NOT_OBJECT for a non-object'],
  ['DUP', 'dup flag'],
  ['QOS', 'qos'],
  ['RETAIN', 'retain flag'],
  ['WILL', 'will flag'],
  ['CLEAN', 'cleanSession flag'],
  ['TOPIC_ID_TYPE', 'topicIdType'],
  ['ONE_OCTET', 'gwId, radius or returnCode: the one-octet field of the type'],
  ['DURATION', 'duration'],
  ['TOPIC_ID', 'topicId'],
  ['MSG_ID', 'msgId'],
  ['RETURN_CODE', 'returnCode'],
  ['OUTER', '0xFE to wrap the packet in an encapsulation, else 0'],
  ['ENC_RADIUS', 'encapsulation radius'],
  ['OFFSET', 'where to write in the output slab'],
  ['CONTEXT', 'out: message type octet of an error, or -1'],
  ['NEED', 'out: octets needed when the slab is too small'],
] as const;

/** The Float64Array a native timer queue keeps current (lib/timers/native-timers.ts reads it). */
const TIMER_STATE_LAYOUT = [
  ['NEXT_DEADLINE', 'earliest deadline, Infinity when empty'],
  ['SIZE', 'number of scheduled timers'],
] as const;

export const DecodeSlot = indexes(DECODE_LAYOUT);
export const EncodeSlot = indexes(ENCODE_LAYOUT);
export const TimerStateSlot = indexes(TIMER_STATE_LAYOUT);
export const DECODE_SLOT_COUNT = DECODE_LAYOUT.length;
export const ENCODE_SLOT_COUNT = ENCODE_LAYOUT.length;
export const TIMER_STATE_SLOT_COUNT = TIMER_STATE_LAYOUT.length;

/** Values JavaScript writes into an encode slot for a field that is not an int32 number. */
export const Sentinel = {
  /** Any other value (a fraction, a string, ...). */
  INVALID: -2147483648,
  /** undefined: the field is absent. */
  UNDEFINED: -2147483647,
  /** The packet itself is not an object (TYPE slot only). */
  NOT_OBJECT: -2147483646,
} as const;

/** The codec's error codes (6xx): the only codes the C++ side produces. */
const CODEC_ERRORS = Object.fromEntries(
  Object.entries(ErrorCode).filter(([, code]) => code >= 600 && code < 700),
) as Readonly<Record<string, number>>;

/** The whole contract, as the header generator and the digest see it. */
export interface TwinContract {
  readonly messageTypes: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly wire: Readonly<Record<string, number>>;
  readonly sentinels: Readonly<Record<string, number>>;
  readonly decodeSlots: Layout;
  readonly encodeSlots: Layout;
  readonly timers: { readonly limits: Readonly<Record<string, number>>; readonly stateSlots: Layout };
}

export const twinContract: TwinContract = {
  messageTypes: MsgType,
  errors: CODEC_ERRORS,
  wire: {
    FLAG_DUP,
    MASK_QOS,
    FLAG_RETAIN,
    FLAG_WILL,
    FLAG_CLEAN_SESSION,
    MASK_TOPIC_ID_TYPE,
    MASK_ENCAPSULATION_RADIUS,
    PROTOCOL_ID,
    LONG_FORM_MARKER,
    LONG_FORM_MIN_TOTAL,
    MAX_PACKET_SIZE,
    MAX_CLIENT_ID_BYTES,
    MAX_WIRELESS_NODE_ID_BYTES,
  },
  sentinels: Sentinel,
  decodeSlots: DECODE_LAYOUT,
  encodeSlots: ENCODE_LAYOUT,
  timers: { limits: { MAX_TIMER_ID }, stateSlots: TIMER_STATE_LAYOUT },
};

/**
 * A fingerprint of a contract. The generated header carries it and the addon
 * exports it, so an addon compiled from an older table is refused rather than
 * misread.
 */
export function contractDigest(contract: TwinContract = twinContract): string {
  return createHash('sha256').update(JSON.stringify(contract)).digest('hex').slice(0, 16);
}

/** What checkContract() reads of an addon (lib/native.ts NativeAddon). */
interface ContractedAddon {
  readonly contract: unknown;
  readonly codec: { readonly decodeSlots: number; readonly encodeSlots: number };
}

/** Throws unless `addon` was compiled from this contract: its slots or codes could mean something else. */
export function checkContract(addon: ContractedAddon): void {
  const expected = contractDigest();
  const { codec } = addon;
  if (addon.contract !== expected || codec.decodeSlots !== DECODE_SLOT_COUNT || codec.encodeSlots !== ENCODE_SLOT_COUNT) {
    throw new Error(
      `The native addon was built from another twin contract (${String(addon.contract)}, expected ${expected}): ` +
        'rebuild it with `npx node-gyp rebuild`.',
    );
  }
}
