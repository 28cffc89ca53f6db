/**
 * The native codec: native/codec.cc parses and validates, JavaScript only moves
 * numbers through shared Int32Arrays and builds (or reads) the packet object.
 * Decoded text and payloads are sliced from the datagram on this side, and
 * encoded packets are handed out as pieces of a shared output slab, so no
 * object or buffer is created across the Node-API boundary.
 */
import type { NativeAddon, NativeCodecBinding } from '../native';
import { codecError } from './codec-error';
import { checkContract, DecodeSlot, EncodeSlot, Sentinel } from '../twin-contract';
import { ErrorCode, type MqttSnError } from '../errors';
import { MsgType, type Codec, type Packet, type QoS, type SessionQoS, type TopicIdTypeValue } from './packets';
import { sliceText } from './text';
import { shortTopicFromId } from '../topic-ids';
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

// The slots of the shared arrays (lib/twin-contract.ts; native/generated/contract.h has the same).
const D_RESULT_CONTEXT = DecodeSlot.CONTEXT;
const D_OUTER = DecodeSlot.OUTER;
const D_TYPE = DecodeSlot.TYPE;
const D_FLAGS = DecodeSlot.FLAGS;
const D_A = DecodeSlot.A;
const D_B = DecodeSlot.B;
const D_C = DecodeSlot.C;
const D_VAR_START = DecodeSlot.VAR_START;
const D_VAR_END = DecodeSlot.VAR_END;
const D_ASCII = DecodeSlot.ASCII;
const D_PRESENT = DecodeSlot.PRESENT;
const D_ENC_RADIUS = DecodeSlot.ENC_RADIUS;
const D_NODE_START = DecodeSlot.NODE_START;
const D_NODE_END = DecodeSlot.NODE_END;

const E_TYPE = EncodeSlot.TYPE;
const E_DUP = EncodeSlot.DUP;
const E_QOS = EncodeSlot.QOS;
const E_RETAIN = EncodeSlot.RETAIN;
const E_WILL = EncodeSlot.WILL;
const E_CLEAN = EncodeSlot.CLEAN;
const E_TOPIC_ID_TYPE = EncodeSlot.TOPIC_ID_TYPE;
const E_ONE_OCTET = EncodeSlot.ONE_OCTET;
const E_DURATION = EncodeSlot.DURATION;
const E_TOPIC_ID = EncodeSlot.TOPIC_ID;
const E_MSG_ID = EncodeSlot.MSG_ID;
const E_RETURN_CODE = EncodeSlot.RETURN_CODE;
const E_OUTER = EncodeSlot.OUTER;
const E_ENC_RADIUS = EncodeSlot.ENC_RADIUS;
const E_OFFSET = EncodeSlot.OFFSET;
const E_CONTEXT = EncodeSlot.CONTEXT;
const E_NEED = EncodeSlot.NEED;

const { INVALID, UNDEFINED, NOT_OBJECT } = Sentinel;
const ENCAPSULATED = MsgType.ENCAPSULATED;

// Like Node's own Buffer pool: small enough that a kept packet pins little memory.
const SLAB_SIZE = 8 * 1024;

type Fields = Record<string, unknown>;

/** A number field for the encode slots: the value, or a sentinel the core rejects. */
export function num(v: unknown): number {
  if (typeof v === 'number') return (v | 0) === v && v > NOT_OBJECT ? v : INVALID;
  return v === undefined ? UNDEFINED : INVALID;
}

/** A boolean field for the encode slots. */
export function bool(v: unknown): number {
  if (v === true) return 1;
  if (v === false) return 0;
  return v === undefined ? UNDEFINED : INVALID;
}

function text(d: Int32Array, buf: Buffer): string {
  return sliceText(buf, d[D_VAR_START], d[D_VAR_END], d[D_ASCII] === 1);
}

function varBytes(d: Int32Array, buf: Buffer): Buffer {
  return buf.subarray(d[D_VAR_START], d[D_VAR_END]);
}

function topic(d: Int32Array, buf: Buffer, idType: number): number | string {
  if (idType === 0) return text(d, buf);
  return idType === 2 ? shortTopicFromId(d[D_A]) : d[D_A];
}

/** The packet whose fields a decode left in the slots `d` (offsets relative to `buf`). */
function packetFromSlots(d: Int32Array, buf: Buffer): Packet {
  const type = d[D_TYPE];
  switch (type) {
    case MsgType.ADVERTISE:
      return { type: 'ADVERTISE', gwId: d[D_A], duration: d[D_B] };
    case MsgType.SEARCHGW:
      return { type: 'SEARCHGW', radius: d[D_A] };
    case MsgType.GWINFO:
      return d[D_PRESENT] === 1
        ? { type: 'GWINFO', gwId: d[D_A], gwAdd: varBytes(d, buf) }
        : { type: 'GWINFO', gwId: d[D_A] };
    case MsgType.CONNECT: {
      const flags = d[D_FLAGS];
      return {
        type: 'CONNECT',
        will: (flags & FLAG_WILL) !== 0,
        cleanSession: (flags & FLAG_CLEAN_SESSION) !== 0,
        duration: d[D_B],
        clientId: text(d, buf),
      };
    }
    case MsgType.CONNACK:
      return { type: 'CONNACK', returnCode: d[D_A] };
    case MsgType.WILLTOPICREQ:
      return { type: 'WILLTOPICREQ' };
    case MsgType.WILLTOPIC:
    case MsgType.WILLTOPICUPD: {
      const name = type === MsgType.WILLTOPIC ? 'WILLTOPIC' : 'WILLTOPICUPD';
      if (d[D_PRESENT] !== 1) return { type: name, qos: 0, retain: false, willTopic: '' };
      const flags = d[D_FLAGS];
      return { type: name, qos: qosFromFlags(flags) as SessionQoS, retain: (flags & FLAG_RETAIN) !== 0, willTopic: text(d, buf) };
    }
    case MsgType.WILLMSGREQ:
      return { type: 'WILLMSGREQ' };
    case MsgType.WILLMSG:
      return { type: 'WILLMSG', willMsg: varBytes(d, buf) };
    case MsgType.REGISTER:
      return { type: 'REGISTER', topicId: d[D_A], msgId: d[D_B], topicName: text(d, buf) };
    case MsgType.REGACK:
      return { type: 'REGACK', topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
    case MsgType.PUBLISH: {
      const flags = d[D_FLAGS];
      const idType = flags & MASK_TOPIC_ID_TYPE;
      const id = d[D_A];
      return {
        type: 'PUBLISH',
        dup: (flags & FLAG_DUP) !== 0,
        qos: qosFromFlags(flags) as QoS,
        retain: (flags & FLAG_RETAIN) !== 0,
        topicIdType: idType as TopicIdTypeValue,
        topicId: idType === 2 ? shortTopicFromId(id) : id,
        msgId: d[D_B],
        payload: varBytes(d, buf),
      };
    }
    case MsgType.PUBACK:
      return { type: 'PUBACK', topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
    case MsgType.PUBCOMP:
      return { type: 'PUBCOMP', msgId: d[D_B] };
    case MsgType.PUBREC:
      return { type: 'PUBREC', msgId: d[D_B] };
    case MsgType.PUBREL:
      return { type: 'PUBREL', msgId: d[D_B] };
    case MsgType.SUBSCRIBE: {
      const flags = d[D_FLAGS];
      const idType = flags & MASK_TOPIC_ID_TYPE;
      return {
        type: 'SUBSCRIBE',
        dup: (flags & FLAG_DUP) !== 0,
        qos: qosFromFlags(flags) as SessionQoS,
        topicIdType: idType as TopicIdTypeValue,
        msgId: d[D_B],
        topicId: topic(d, buf, idType),
      };
    }
    case MsgType.SUBACK:
      return { type: 'SUBACK', qos: qosFromFlags(d[D_FLAGS]) as SessionQoS, topicId: d[D_A], msgId: d[D_B], returnCode: d[D_C] };
    case MsgType.UNSUBSCRIBE: {
      const idType = d[D_FLAGS] & MASK_TOPIC_ID_TYPE;
      return { type: 'UNSUBSCRIBE', topicIdType: idType as TopicIdTypeValue, msgId: d[D_B], topicId: topic(d, buf, idType) };
    }
    case MsgType.UNSUBACK:
      return { type: 'UNSUBACK', msgId: d[D_B] };
    case MsgType.PINGREQ:
      return d[D_PRESENT] === 1 ? { type: 'PINGREQ', clientId: text(d, buf) } : { type: 'PINGREQ' };
    case MsgType.PINGRESP:
      return { type: 'PINGRESP' };
    case MsgType.DISCONNECT:
      return d[D_PRESENT] === 1 ? { type: 'DISCONNECT', duration: d[D_A] } : { type: 'DISCONNECT' };
    case MsgType.WILLTOPICRESP:
      return { type: 'WILLTOPICRESP', returnCode: d[D_A] };
    case MsgType.WILLMSGUPD:
      return { type: 'WILLMSGUPD', willMsg: varBytes(d, buf) };
    case MsgType.WILLMSGRESP:
      return { type: 'WILLMSGRESP', returnCode: d[D_A] };
    default:
      // The addon validated the type; one it knows and this table does not is a contract break.
      throw codecError(ErrorCode.RESERVED_TYPE, -1);
  }
}

/**
 * The result of a successful decode into the slots `d` (offsets relative to
 * `buf`): the packet, wrapped when it came encapsulated. The codec and the
 * batched UDP engine (lib/transport/native-udp.ts) both read decodes this way.
 */
export function decodedFromSlots(d: Int32Array, buf: Buffer): Packet {
  const packet = packetFromSlots(d, buf);
  if (d[D_OUTER] !== ENCAPSULATED) return packet;
  return {
    type: 'ENCAPSULATED',
    radius: d[D_ENC_RADIUS],
    wirelessNodeId: buf.subarray(d[D_NODE_START], d[D_NODE_END]),
    packet,
  };
}

/** The coded error of a failed decode into the slots `d`. */
export function decodeErrorFromSlots(rc: number, d: Int32Array): MqttSnError {
  return codecError(rc, d[D_RESULT_CONTEXT]);
}

const codecs = new WeakMap<NativeCodecBinding, Codec>();

/**
 * The codec over an addon's entry points; one per addon, as the slots are
 * shared. Throws when the addon was compiled from another contract.
 */
export function createNativeCodec(addon: NativeAddon): Codec {
  checkContract(addon);
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

  function decode(datagram: Uint8Array): Packet {
    const rc = binding.decode(datagram);
    if (rc !== 0) throw decodeErrorFromSlots(rc, d);
    return decodedFromSlots(d, asBuffer(datagram));
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
      case MsgType.ADVERTISE:
        e[E_ONE_OCTET] = num(p.gwId);
        e[E_DURATION] = num(p.duration);
        break;
      case MsgType.SEARCHGW:
        e[E_ONE_OCTET] = num(p.radius);
        break;
      case MsgType.GWINFO:
        e[E_ONE_OCTET] = num(p.gwId);
        bytesArg = p.gwAdd;
        break;
      case MsgType.CONNECT:
        e[E_WILL] = bool(p.will);
        e[E_CLEAN] = bool(p.cleanSession);
        e[E_DURATION] = num(p.duration);
        textArg = p.clientId;
        break;
      case MsgType.CONNACK:
      case MsgType.WILLTOPICRESP:
      case MsgType.WILLMSGRESP:
        e[E_ONE_OCTET] = num(p.returnCode);
        break;
      case MsgType.WILLTOPIC:
      case MsgType.WILLTOPICUPD:
        e[E_QOS] = num(p.qos);
        e[E_RETAIN] = bool(p.retain);
        textArg = p.willTopic;
        break;
      case MsgType.WILLMSG:
      case MsgType.WILLMSGUPD:
        bytesArg = p.willMsg;
        break;
      case MsgType.REGISTER:
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        textArg = p.topicName;
        break;
      case MsgType.REGACK:
      case MsgType.PUBACK:
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        e[E_RETURN_CODE] = num(p.returnCode);
        break;
      case MsgType.PUBLISH:
        e[E_DUP] = bool(p.dup);
        e[E_QOS] = num(p.qos);
        e[E_RETAIN] = bool(p.retain);
        e[E_TOPIC_ID_TYPE] = num(p.topicIdType);
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        textArg = p.topicId;
        bytesArg = p.payload;
        break;
      case MsgType.PUBCOMP:
      case MsgType.PUBREC:
      case MsgType.PUBREL:
      case MsgType.UNSUBACK:
        e[E_MSG_ID] = num(p.msgId);
        break;
      case MsgType.SUBSCRIBE:
      case MsgType.UNSUBSCRIBE:
        e[E_DUP] = bool(p.dup);
        e[E_QOS] = num(p.qos);
        e[E_TOPIC_ID_TYPE] = num(p.topicIdType);
        e[E_MSG_ID] = num(p.msgId);
        e[E_TOPIC_ID] = num(p.topicId);
        textArg = p.topicId;
        break;
      case MsgType.SUBACK:
        e[E_QOS] = num(p.qos);
        e[E_TOPIC_ID] = num(p.topicId);
        e[E_MSG_ID] = num(p.msgId);
        e[E_RETURN_CODE] = num(p.returnCode);
        break;
      case MsgType.PINGREQ:
        textArg = p.clientId;
        break;
      case MsgType.DISCONNECT:
        e[E_DURATION] = num(p.duration);
        break;
      default:
        // No fields (WILLTOPICREQ, WILLMSGREQ, PINGRESP), a nested ENCAPSULATED or an
        // unknown type (-1): the addon reports the last two with the same errors as encode.ts.
        break;
    }
  }

  function encode(packet: Packet): Buffer {
    let nodeId: unknown;
    const outer = packet as unknown as Fields | null;
    if (typeof outer === 'object' && outer !== null && outer.type === 'ENCAPSULATED') {
      e[E_OUTER] = ENCAPSULATED;
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
