/**
 * The native codec: native/codec.cc parses and validates, JavaScript only moves
 * numbers through shared Int32Arrays and builds (or reads) the packet object.
 * Decoded text and payloads are sliced from the datagram on this side, and
 * encoded packets are handed out as pieces of a shared output slab, so no
 * object or buffer is created across the Node-API boundary.
 */
import type { NativeAddon, NativeCodecBinding } from '../native';
import { codecError } from './codec-error';
import type { Codec, Packet, QoS, SessionQoS, TopicIdTypeValue } from './packets';
import { sliceText } from './text';
import {
  asBuffer,
  FLAG_CLEAN_SESSION,
  FLAG_DUP,
  FLAG_RETAIN,
  FLAG_WILL,
  MASK_TOPIC_ID_TYPE,
  msgTypeOf,
  qosFromFlags,
} from './ts/wire';

// Decode slots (DecodeSlot in native/codec_core.h).
const D_RESULT_CONTEXT = 1;
const D_OUTER = 2;
const D_TYPE = 3;
const D_FLAGS = 4;
const D_A = 5;
const D_B = 6;
const D_C = 7;
const D_VAR_START = 8;
const D_VAR_END = 9;
const D_ASCII = 10;
const D_PRESENT = 11;
const D_ENC_RADIUS = 12;
const D_NODE_START = 13;
const D_NODE_END = 14;

// Encode slots (EncodeSlot in native/codec_core.h).
const E_TYPE = 0;
const E_DUP = 1;
const E_QOS = 2;
const E_RETAIN = 3;
const E_WILL = 4;
const E_CLEAN = 5;
const E_TOPIC_ID_TYPE = 6;
const E_ONE_OCTET = 7;
const E_DURATION = 8;
const E_TOPIC_ID = 9;
const E_MSG_ID = 10;
const E_RETURN_CODE = 11;
const E_OUTER = 12;
const E_ENC_RADIUS = 13;
const E_OFFSET = 14;
const E_CONTEXT = 15;
const E_NEED = 16;

// Sentinels for values that are not int32 numbers (kInvalid, kUndefined, kNotObject).
const INVALID = -2147483648;
const UNDEFINED = -2147483647;
const NOT_OBJECT = -2147483646;

// Like Node's own Buffer pool: small enough that a kept packet pins little memory.
const SLAB_SIZE = 8 * 1024;

type Fields = Record<string, unknown>;

function num(v: unknown): number {
  if (typeof v === 'number') return (v | 0) === v && v > NOT_OBJECT ? v : INVALID;
  return v === undefined ? UNDEFINED : INVALID;
}

function bool(v: unknown): number {
  if (v === true) return 1;
  if (v === false) return 0;
  return v === undefined ? UNDEFINED : INVALID;
}

/** A short topic name from the 16-bit topic id field. */
function shortName(id: number): string {
  return String.fromCharCode(id >> 8, id & 0xff);
}

const codecs = new WeakMap<NativeCodecBinding, Codec>();

/** The codec over an addon's entry points; one per addon, as the slots are shared. */
export function createNativeCodec(addon: NativeAddon): Codec {
  const binding = addon.codec;
  let existing = codecs.get(binding);
  if (!existing) {
    existing = build(binding);
    codecs.set(binding, existing);
  }
  return existing;
}

function build(binding: NativeCodecBinding): Codec {
  // Explicit ArrayBuffers keep the memory off the V8 heap, where it never moves.
  const d = new Int32Array(new ArrayBuffer(binding.decodeSlots * 4));
  const e = new Int32Array(new ArrayBuffer(binding.encodeSlots * 4));
  binding.bind(d, e);
  let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  let offset = 0;
  binding.setOutput(slab);

  function text(buf: Buffer): string {
    return sliceText(buf, d[D_VAR_START], d[D_VAR_END], d[D_ASCII] === 1);
  }

  function varBytes(buf: Buffer): Buffer {
    return buf.subarray(d[D_VAR_START], d[D_VAR_END]);
  }

  function topic(buf: Buffer, idType: number): number | string {
    if (idType === 0) return text(buf);
    return idType === 2 ? shortName(d[D_A]) : d[D_A];
  }

  function packetFromSlots(buf: Buffer): Packet {
    const type = d[D_TYPE];
    switch (type) {
      case 0x00:
        return { type: 'ADVERTISE', gwId: d[D_A], duration: d[D_B] };
      case 0x01:
        return { type: 'SEARCHGW', radius: d[D_A] };
      case 0x02:
        return d[D_PRESENT] === 1
          ? { type: 'GWINFO', gwId: d[D_A], gwAdd: varBytes(buf) }
          : { type: 'GWINFO', gwId: d[D_A] };
      case 0x04: {
        const flags = d[D_FLAGS];
        return {
          type: 'CONNECT',
          will: (flags & FLAG_WILL) !== 0,
          cleanSession: (flags & FLAG_CLEAN_SESSION) !== 0,
          duration: d[D_B],
          clientId: text(buf),
        };
      }
      case 0x05:
        return { type: 'CONNACK', returnCode: d[D_A] };
      case 0x06:
        return { type: 'WILLTOPICREQ' };
      case 0x07:
      case 0x1a: {
        const name = type === 0x07 ? 'WILLTOPIC' : 'WILLTOPICUPD';
        if (d[D_PRESENT] !== 1) return { type: name, qos: 0, retain: false, willTopic: '' };
        const flags = d[D_FLAGS];
        return { type: name, qos: qosFromFlags(flags) as SessionQoS, retain: (flags & FLAG_RETAIN) !== 0, willTopic: text(buf) };
      }
      case 0x08:
        return { type: 'WILLMSGREQ' };
      case 0x09:
        return { type: 'WILLMSG', willMsg: varBytes(buf) };
      case 0x0a:
        return { type: 'REGISTER', topicId: d[D_A], msgId: d[D_B], topicName: text(buf) };
      case 0x0b:
        return { type: 'REGACK', topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
      case 0x0c: {
        const flags = d[D_FLAGS];
        const idType = flags & MASK_TOPIC_ID_TYPE;
        const id = d[D_A];
        return {
          type: 'PUBLISH',
          dup: (flags & FLAG_DUP) !== 0,
          qos: qosFromFlags(flags) as QoS,
          retain: (flags & FLAG_RETAIN) !== 0,
          topicIdType: idType as TopicIdTypeValue,
          topicId: idType === 2 ? shortName(id) : id,
          msgId: d[D_B],
          payload: varBytes(buf),
        };
      }
      case 0x0d:
        return { type: 'PUBACK', topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
      case 0x0e:
        return { type: 'PUBCOMP', msgId: d[D_B] };
      case 0x0f:
        return { type: 'PUBREC', msgId: d[D_B] };
      case 0x10:
        return { type: 'PUBREL', msgId: d[D_B] };
      case 0x12: {
        const flags = d[D_FLAGS];
        const idType = flags & MASK_TOPIC_ID_TYPE;
        return {
          type: 'SUBSCRIBE',
          dup: (flags & FLAG_DUP) !== 0,
          qos: qosFromFlags(flags) as SessionQoS,
          topicIdType: idType as TopicIdTypeValue,
          msgId: d[D_B],
          topicId: topic(buf, idType),
        };
      }
      case 0x13:
        return { type: 'SUBACK', qos: qosFromFlags(d[D_FLAGS]) as SessionQoS, topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
      case 0x14: {
        const idType = d[D_FLAGS] & MASK_TOPIC_ID_TYPE;
        return { type: 'UNSUBSCRIBE', topicIdType: idType as TopicIdTypeValue, msgId: d[D_B], topicId: topic(buf, idType) };
      }
      case 0x15:
        return { type: 'UNSUBACK', msgId: d[D_B] };
      case 0x16:
        return d[D_PRESENT] === 1 ? { type: 'PINGREQ', clientId: text(buf) } : { type: 'PINGREQ' };
      case 0x17:
        return { type: 'PINGRESP' };
      case 0x18:
        return d[D_PRESENT] === 1 ? { type: 'DISCONNECT', duration: d[D_A] } : { type: 'DISCONNECT' };
      case 0x1b:
        return { type: 'WILLTOPICRESP', returnCode: d[D_A] };
      case 0x1c:
        return { type: 'WILLMSGUPD', willMsg: varBytes(buf) };
      default:
        return { type: 'WILLMSGRESP', returnCode: d[D_A] };
    }
  }

  function decode(datagram: Uint8Array): Packet {
    const rc = binding.decode(datagram);
    if (rc !== 0) throw codecError(rc, d[D_RESULT_CONTEXT]);
    const buf = asBuffer(datagram);
    const packet = packetFromSlots(buf);
    if (d[D_OUTER] !== 0xfe) return packet;
    return {
      type: 'ENCAPSULATED',
      radius: d[D_ENC_RADIUS],
      wirelessNodeId: buf.subarray(d[D_NODE_START], d[D_NODE_END]),
      packet,
    };
  }

  // The text and bytes arguments of the packet being encoded.
  let textArg: unknown;
  let bytesArg: unknown;

  /** Writes a packet's fields into the encode slots and picks its text and bytes arguments. */
  function marshal(value: unknown): void {
    textArg = undefined;
    bytesArg = undefined;
    if (typeof value !== 'object' || value === null) {
      e[E_TYPE] = NOT_OBJECT;
      return;
    }
    const p = value as Fields;
    const type = msgTypeOf(p.type);
    e[E_TYPE] = type;
    switch (type) {
      case 0x00:
        e[E_ONE_OCTET] = num(p.gwId);
        e[E_DURATION] = num(p.duration);
        break;
      case 0x01:
        e[E_ONE_OCTET] = num(p.radius);
        break;
      case 0x02:
        e[E_ONE_OCTET] = num(p.gwId);
        bytesArg = p.gwAdd;
        break;
      case 0x04:
        e[E_WILL] = bool(p.will);
        e[E_CLEAN] = bool(p.cleanSession);
        e[E_DURATION] = num(p.duration);
        textArg = p.clientId;
        break;
      case 0x05:
      case 0x1b:
      case 0x1d:
        e[E_ONE_OCTET] = num(p.returnCode);
        break;
      case 0x07:
      case 0x1a:
        e[E_QOS] = num(p.qos);
        e[E_RETAIN] = bool(p.retain);
        textArg = p.willTopic;
        break;
      case 0x09:
      case 0x1c:
        bytesArg = p.willMsg;
        break;
      case 0x0a:
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        textArg = p.topicName;
        break;
      case 0x0b:
      case 0x0d:
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        e[E_RETURN_CODE] = num(p.returnCode);
        break;
      case 0x0c:
        e[E_DUP] = bool(p.dup);
        e[E_QOS] = num(p.qos);
        e[E_RETAIN] = bool(p.retain);
        e[E_TOPIC_ID_TYPE] = num(p.topicIdType);
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        textArg = p.topicId;
        bytesArg = p.payload;
        break;
      case 0x0e:
      case 0x0f:
      case 0x10:
      case 0x15:
        e[E_MSG_ID] = num(p.msgId);
        break;
      case 0x12:
      case 0x14:
        e[E_DUP] = bool(p.dup);
        e[E_QOS] = num(p.qos);
        e[E_TOPIC_ID_TYPE] = num(p.topicIdType);
        e[E_MSG_ID] = num(p.msgId);
        e[E_TOPIC_ID] = num(p.topicId);
        textArg = p.topicId;
        break;
      case 0x13:
        e[E_QOS] = num(p.qos);
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        e[E_RETURN_CODE] = num(p.returnCode);
        break;
      case 0x16:
        textArg = p.clientId;
        break;
      case 0x18:
        e[E_DURATION] = num(p.duration);
        break;
      default:
        break;
    }
  }

  function encode(packet: Packet): Buffer {
    let nodeId: unknown;
    const outer = packet as unknown as Fields | null;
    if (typeof outer === 'object' && outer !== null && outer.type === 'ENCAPSULATED') {
      e[E_OUTER] = 0xfe;
      e[E_ENC_RADIUS] = num(outer.radius);
      nodeId = outer.wirelessNodeId;
      marshal(outer.packet);
    } else {
      e[E_OUTER] = 0;
      marshal(packet);
    }
    e[E_OFFSET] = offset;
    let n = binding.encode(textArg, bytesArg, nodeId);
    if (n === 0) {
      // The slab is full: start a new one big enough, the old one lives on in earlier results.
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, e[E_NEED]));
      offset = 0;
      binding.setOutput(slab);
      e[E_OFFSET] = 0;
      n = binding.encode(textArg, bytesArg, nodeId);
    }
    textArg = undefined;
    bytesArg = undefined;
    if (n < 0) throw codecError(-n, e[E_CONTEXT]);
    const out = slab.subarray(offset, offset + n);
    offset = (offset + n + 7) & ~7;
    return out;
  }

  return { name: 'native', encode, decode };
}
