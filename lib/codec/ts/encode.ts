/**
 * TypeScript encoder. Validates every field in the order documented in
 * docs/codec.md ("Encode rule order") before writing a single octet;
 * its twin native/codec/encode.h follows the same order.
 */
import { ErrorCode } from '../../errors';
import { codecError } from '../codec-error';
import { MAX_CLIENT_ID_BYTES, MAX_PACKET_SIZE, MsgType, type Packet } from '../packets';
import { isTopicId, shortTopicToId } from '../../topic-ids';
import {
  isValidShortTopicString,
  isValidTopicFilterString,
  isValidTopicNameString,
  utf8Length,
} from '../text';
import {
  FLAG_CLEAN_SESSION,
  FLAG_DUP,
  FLAG_RETAIN,
  FLAG_WILL,
  LONG_FORM_MARKER,
  MASK_ENCAPSULATION_RADIUS,
  MAX_WIRELESS_NODE_ID_BYTES,
  msgTypeOf,
  PROTOCOL_ID,
  qosToFlags,
} from './wire';

const E = ErrorCode;
const EMPTY = Buffer.alloc(0);

/** Loose view of a packet object: encode() receives user input and checks every field. */
type Fields = Record<string, unknown>;

/** An integer from 0 to `max`; anything else is INVALID_FIELD. */
function uint(v: unknown, max: number, type: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw codecError(E.INVALID_FIELD, type);
  return v;
}

function u8(v: unknown, type: number): number {
  return uint(v, 0xff, type);
}

function u16(v: unknown, type: number): number {
  return uint(v, 0xffff, type);
}

function msgId(v: unknown, type: number): number {
  const id = u16(v, type);
  if (id === 0) throw codecError(E.INVALID_MSG_ID, type);
  return id;
}

/** undefined reads as false; anything but a boolean is an error. */
function bool(v: unknown, type: number): boolean {
  if (v === undefined || v === false) return false;
  if (v === true) return true;
  throw codecError(E.INVALID_FIELD, type);
}

/** undefined reads as 0; -1 only where `allowMinusOne`. */
function qos(v: unknown, type: number, allowMinusOne: boolean): number {
  if (v === undefined) return 0;
  if (v === 0 || v === 1 || v === 2 || (allowMinusOne && v === -1)) return v;
  throw codecError(E.INVALID_QOS, type);
}

/** undefined reads as NORMAL (0). */
function topicIdType(v: unknown, type: number): number {
  if (v === undefined) return 0;
  if (v === 0 || v === 1 || v === 2) return v;
  throw codecError(E.INVALID_TOPIC_ID_TYPE, type);
}

/** undefined reads as empty; anything but a Uint8Array is an error. */
function bytes(v: unknown, type: number): Uint8Array {
  if (v === undefined) return EMPTY;
  if (v instanceof Uint8Array) return v;
  throw codecError(E.INVALID_FIELD, type);
}

function str(v: unknown, type: number): string {
  if (typeof v !== 'string') throw codecError(E.INVALID_FIELD, type);
  return v;
}

/** UTF-8 length of a string field; throws INVALID_UTF8 (611) when it has no UTF-8 form. */
function textLength(s: string, type: number): number {
  const n = utf8Length(s);
  if (n < 0) throw codecError(E.INVALID_UTF8, type);
  return n;
}

function clientIdLength(v: unknown, type: number): number {
  const n = textLength(str(v, type), type);
  if (n < 1 || n > MAX_CLIENT_ID_BYTES) throw codecError(E.INVALID_CLIENT_ID, type);
  return n;
}

function topicNameLength(s: string, type: number): number {
  const n = textLength(s, type);
  if (!isValidTopicNameString(s)) throw codecError(E.INVALID_TOPIC, type);
  return n;
}

function shortTopic(v: unknown, type: number): string {
  const s = str(v, type);
  if (!isValidShortTopicString(s)) throw codecError(E.INVALID_TOPIC, type);
  return s;
}

function topicId(v: unknown, type: number): number {
  const id = u16(v, type);
  if (!isTopicId(id)) throw codecError(E.INVALID_TOPIC_ID, type);
  return id;
}

/** Allocates the frame for a body of `body` octets after the type octet; returns the body offset. */
function frame(type: number, body: number): [Buffer, number] {
  if (body + 2 <= 255) {
    const buf = Buffer.allocUnsafe(body + 2);
    buf[0] = body + 2;
    buf[1] = type;
    return [buf, 2];
  }
  const total = body + 4;
  if (total > MAX_PACKET_SIZE) throw codecError(E.PACKET_TOO_LARGE, type);
  const buf = Buffer.allocUnsafe(total);
  buf[0] = LONG_FORM_MARKER;
  buf[1] = total >> 8;
  buf[2] = total & 0xff;
  buf[3] = type;
  return [buf, 4];
}

/** Buffer's own writer: the same as write(text, at, 'utf8') without the argument juggling. */
interface Utf8Writer {
  utf8Write(text: string, at: number): number;
}

/** Writes text already checked to have a UTF-8 form and measured with utf8Length(). */
function writeText(buf: Buffer, text: string, at: number): void {
  (buf as unknown as Utf8Writer).utf8Write(text, at);
}

function put16(buf: Buffer, at: number, v: number): void {
  buf[at] = v >> 8;
  buf[at + 1] = v & 0xff;
}

function empty(type: number): Buffer {
  return frame(type, 0)[0];
}

function oneOctet(type: number, value: number): Buffer {
  const [buf, at] = frame(type, 1);
  buf[at] = value;
  return buf;
}

function bytesOnly(type: number, data: Uint8Array): Buffer {
  const [buf, at] = frame(type, data.length);
  buf.set(data, at);
  return buf;
}

function willTopic(p: Fields, type: number): Buffer {
  const topic = str(p.willTopic, type);
  if (topic === '') return empty(type);
  const q = qos(p.qos, type, false);
  const retain = bool(p.retain, type);
  const n = topicNameLength(topic, type);
  const [buf, at] = frame(type, 1 + n);
  buf[at] = qosToFlags(q) | (retain ? FLAG_RETAIN : 0);
  writeText(buf, topic, at + 1);
  return buf;
}

/** Encodes one packet; `nested` is true for the packet inside an ENCAPSULATED frame. */
export function encodeFrame(packet: Packet | Fields, nested: boolean): Buffer {
  if (typeof packet !== 'object' || packet === null) throw codecError(E.INVALID_FIELD, -1);
  const p = packet as Fields;
  const type = msgTypeOf(p.type);
  if (type < 0) throw codecError(E.RESERVED_TYPE, -1);
  switch (type) {
    case MsgType.ADVERTISE: {
      const gwId = u8(p.gwId, type);
      const duration = u16(p.duration, type);
      const [buf, at] = frame(type, 3);
      buf[at] = gwId;
      put16(buf, at + 1, duration);
      return buf;
    }
    case MsgType.SEARCHGW:
      return oneOctet(type, u8(p.radius, type));
    case MsgType.GWINFO: {
      const gwId = u8(p.gwId, type);
      const gwAdd = bytes(p.gwAdd, type);
      const [buf, at] = frame(type, 1 + gwAdd.length);
      buf[at] = gwId;
      buf.set(gwAdd, at + 1);
      return buf;
    }
    case MsgType.CONNECT: {
      const will = bool(p.will, type);
      const clean = bool(p.cleanSession, type);
      const duration = u16(p.duration, type);
      const n = clientIdLength(p.clientId, type);
      const [buf, at] = frame(type, 4 + n);
      buf[at] = (will ? FLAG_WILL : 0) | (clean ? FLAG_CLEAN_SESSION : 0);
      buf[at + 1] = PROTOCOL_ID;
      put16(buf, at + 2, duration);
      writeText(buf, p.clientId as string, at + 4);
      return buf;
    }
    case MsgType.CONNACK:
    case MsgType.WILLTOPICRESP:
    case MsgType.WILLMSGRESP:
      return oneOctet(type, u8(p.returnCode, type));
    case MsgType.WILLTOPICREQ:
    case MsgType.WILLMSGREQ:
    case MsgType.PINGRESP:
      return empty(type);
    case MsgType.WILLTOPIC:
    case MsgType.WILLTOPICUPD:
      return willTopic(p, type);
    case MsgType.WILLMSG:
    case MsgType.WILLMSGUPD:
      return bytesOnly(type, bytes(p.willMsg, type));
    case MsgType.REGISTER: {
      const id = u16(p.topicId, type);
      if (id === 0xffff) throw codecError(E.INVALID_TOPIC_ID, type);
      const mid = msgId(p.msgId, type);
      const topic = str(p.topicName, type);
      const n = topicNameLength(topic, type);
      const [buf, at] = frame(type, 4 + n);
      put16(buf, at, id);
      put16(buf, at + 2, mid);
      writeText(buf, topic, at + 4);
      return buf;
    }
    case MsgType.REGACK: {
      const id = u16(p.topicId, type);
      const mid = msgId(p.msgId, type);
      const rc = u8(p.returnCode, type);
      if (rc === 0 && (id === 0 || id === 0xffff)) throw codecError(E.INVALID_TOPIC_ID, type);
      const [buf, at] = frame(type, 5);
      put16(buf, at, id);
      put16(buf, at + 2, mid);
      buf[at + 4] = rc;
      return buf;
    }
    case MsgType.PUBLISH: {
      const dup = bool(p.dup, type);
      const q = qos(p.qos, type, true);
      const retain = bool(p.retain, type);
      const idType = topicIdType(p.topicIdType, type);
      if (q === -1 && idType === 0) throw codecError(E.INVALID_TOPIC_ID_TYPE, type);
      if (dup && q <= 0) throw codecError(E.INVALID_FLAGS, type);
      let id = 0;
      let short = '';
      if (idType === 2) short = shortTopic(p.topicId, type);
      else id = topicId(p.topicId, type);
      const mid = q > 0 ? msgId(p.msgId, type) : p.msgId === undefined ? 0 : u16(p.msgId, type);
      const payload = bytes(p.payload, type);
      const [buf, at] = frame(type, 5 + payload.length);
      buf[at] = (dup ? FLAG_DUP : 0) | qosToFlags(q) | (retain ? FLAG_RETAIN : 0) | idType;
      if (idType === 2) {
        buf[at + 1] = short.charCodeAt(0);
        buf[at + 2] = short.charCodeAt(1);
      } else put16(buf, at + 1, id);
      put16(buf, at + 3, mid);
      buf.set(payload, at + 5);
      return buf;
    }
    case MsgType.PUBACK: {
      const id = u16(p.topicId, type);
      const mid = u16(p.msgId, type);
      const rc = u8(p.returnCode, type);
      const [buf, at] = frame(type, 5);
      put16(buf, at, id);
      put16(buf, at + 2, mid);
      buf[at + 4] = rc;
      return buf;
    }
    case MsgType.PUBCOMP:
    case MsgType.PUBREC:
    case MsgType.PUBREL:
    case MsgType.UNSUBACK: {
      const mid = msgId(p.msgId, type);
      const [buf, at] = frame(type, 2);
      put16(buf, at, mid);
      return buf;
    }
    case MsgType.SUBSCRIBE:
    case MsgType.UNSUBSCRIBE: {
      const subscribe = type === MsgType.SUBSCRIBE;
      const dup = subscribe ? bool(p.dup, type) : false;
      const q = subscribe ? qos(p.qos, type, false) : 0;
      const idType = topicIdType(p.topicIdType, type);
      const mid = msgId(p.msgId, type);
      // NORMAL: a topic filter; PREDEFINED: an id; SHORT: a two-character name.
      let filter = '';
      let id = 0;
      let n = 2;
      if (idType === 0) {
        filter = str(p.topicId, type);
        n = textLength(filter, type);
        if (!isValidTopicFilterString(filter)) throw codecError(E.INVALID_TOPIC, type);
      } else if (idType === 2) {
        const name = shortTopic(p.topicId, type);
        id = shortTopicToId(name);
      } else id = topicId(p.topicId, type);
      const [buf, at] = frame(type, 3 + n);
      buf[at] = (dup ? FLAG_DUP : 0) | qosToFlags(q) | idType;
      put16(buf, at + 1, mid);
      if (idType === 0) writeText(buf, filter, at + 3);
      else put16(buf, at + 3, id);
      return buf;
    }
    case MsgType.SUBACK: {
      const q = qos(p.qos, type, false);
      const id = u16(p.topicId, type);
      const mid = msgId(p.msgId, type);
      const rc = u8(p.returnCode, type);
      const [buf, at] = frame(type, 6);
      buf[at] = qosToFlags(q);
      put16(buf, at + 1, id);
      put16(buf, at + 3, mid);
      buf[at + 5] = rc;
      return buf;
    }
    case MsgType.PINGREQ: {
      if (p.clientId === undefined) return empty(type);
      const n = clientIdLength(p.clientId, type);
      const [buf, at] = frame(type, n);
      writeText(buf, p.clientId as string, at);
      return buf;
    }
    case MsgType.DISCONNECT: {
      if (p.duration === undefined) return empty(type);
      const duration = u16(p.duration, type);
      const [buf, at] = frame(type, 2);
      put16(buf, at, duration);
      return buf;
    }
    case MsgType.ENCAPSULATED: {
      if (nested) throw codecError(E.INVALID_ENCAPSULATION, type);
      const radius = u8(p.radius, type);
      if (radius > MASK_ENCAPSULATION_RADIUS) throw codecError(E.INVALID_FIELD, type);
      const nodeId = bytes(p.wirelessNodeId, type);
      if (nodeId.length > MAX_WIRELESS_NODE_ID_BYTES) throw codecError(E.INVALID_ENCAPSULATION, type);
      const inner = encodeFrame(p.packet as Fields, true);
      const header = 3 + nodeId.length;
      const buf = Buffer.allocUnsafe(header + inner.length);
      buf[0] = header;
      buf[1] = MsgType.ENCAPSULATED;
      buf[2] = radius;
      buf.set(nodeId, 3);
      buf.set(inner, header);
      return buf;
    }
    default:
      throw codecError(E.RESERVED_TYPE, -1);
  }
}

/** Encodes one packet into a new Buffer; throws MqttSnError on invalid input. */
export function encodePacket(packet: Packet): Buffer {
  return encodeFrame(packet, false);
}
