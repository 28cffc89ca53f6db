/**
 * TypeScript decoder. Checks run in the order documented in docs/codec.md
 * ("Decode rule order"); its twin native/codec/decode.h follows the same order so both report
 * the same first error.
 */
import { ErrorCode } from '../../errors';
import { codecError } from '../codec-error';
import type { Packet, QoS, SessionQoS, TopicIdTypeValue } from '../packets';
import { MAX_CLIENT_ID_BYTES, MsgType, PacketTypeName } from '../packets';
import { isShortTopicOctet, isTopicText, sliceText, UTF8_ASCII, UTF8_INVALID, utf8Kind } from '../text';
import {
  asBuffer,
  FLAG_CLEAN_SESSION,
  FLAG_DUP,
  FLAG_RETAIN,
  FLAG_WILL,
  LONG_FORM_MARKER,
  LONG_FORM_MIN_TOTAL,
  MASK_ENCAPSULATION_RADIUS,
  MASK_QOS,
  MASK_TOPIC_ID_TYPE,
  PROTOCOL_ID,
  qosFromFlags,
} from './wire';

const E = ErrorCode;

function u16(buf: Buffer, i: number): number {
  return (buf[i] << 8) | buf[i + 1];
}

function clientIdAt(buf: Buffer, s: number, e: number, type: number): string {
  const kind = utf8Kind(buf, s, e);
  if (kind === UTF8_INVALID) throw codecError(E.INVALID_UTF8, type);
  if (e - s < 1 || e - s > MAX_CLIENT_ID_BYTES) throw codecError(E.INVALID_CLIENT_ID, type);
  return sliceText(buf, s, e, kind === UTF8_ASCII);
}

/** A topic name (REGISTER, WILLTOPIC) or filter (SUBSCRIBE, UNSUBSCRIBE): UTF-8, then present and NUL-free. */
function topicTextAt(buf: Buffer, s: number, e: number, type: number): string {
  const kind = utf8Kind(buf, s, e);
  if (kind === UTF8_INVALID) throw codecError(E.INVALID_UTF8, type);
  if (!isTopicText(buf, s, e)) throw codecError(E.INVALID_TOPIC, type);
  return sliceText(buf, s, e, kind === UTF8_ASCII);
}

function shortTopicAt(buf: Buffer, s: number, type: number): string {
  const a = buf[s];
  const b = buf[s + 1];
  if (!isShortTopicOctet(a) || !isShortTopicOctet(b)) throw codecError(E.INVALID_TOPIC, type);
  return String.fromCharCode(a, b);
}

function msgIdAt(buf: Buffer, i: number, type: number): number {
  const id = u16(buf, i);
  if (id === 0) throw codecError(E.INVALID_MSG_ID, type);
  return id;
}

function fixedSize(len: number, size: number, type: number): void {
  if (len !== size) throw codecError(E.WRONG_SIZE, type);
}

function minSize(len: number, size: number, type: number): void {
  if (len < size) throw codecError(E.TRUNCATED, type);
}

function reservedFlags(flags: number, allowed: number, type: number): void {
  if ((flags & ~allowed) !== 0) throw codecError(E.INVALID_FLAGS, type);
}

/** Will QoS and retain (WILLTOPIC, WILLTOPICUPD); body length 0 is the empty form. */
function willTopic(buf: Buffer, s: number, e: number, type: number): Packet {
  const name = type === MsgType.WILLTOPIC ? 'WILLTOPIC' : 'WILLTOPICUPD';
  if (e === s) return { type: name, qos: 0, retain: false, willTopic: '' };
  const flags = buf[s];
  reservedFlags(flags, MASK_QOS | FLAG_RETAIN, type);
  const qos = qosFromFlags(flags);
  if (qos < 0) throw codecError(E.INVALID_QOS, type);
  return {
    type: name,
    qos: qos as SessionQoS,
    retain: (flags & FLAG_RETAIN) !== 0,
    willTopic: topicTextAt(buf, s + 1, e, type),
  };
}

/** SUBSCRIBE / UNSUBSCRIBE topic after flags and msgId: a filter, a pre-defined id or a short name. */
function subscriptionTopic(buf: Buffer, s: number, e: number, topicIdType: number, type: number): number | string {
  if (topicIdType === 0) return topicTextAt(buf, s, e, type);
  if (e - s !== 2) throw codecError(E.WRONG_SIZE, type);
  if (topicIdType === 2) return shortTopicAt(buf, s, type);
  const id = u16(buf, s);
  if (id === 0 || id === 0xffff) throw codecError(E.INVALID_TOPIC_ID, type);
  return id;
}

/** Decodes the variable part [s, e) of a packet whose type octet is `type`. */
function decodeBody(buf: Buffer, type: number, s: number, e: number): Packet {
  const len = e - s;
  switch (type) {
    case MsgType.ADVERTISE:
      fixedSize(len, 3, type);
      return { type: 'ADVERTISE', gwId: buf[s], duration: u16(buf, s + 1) };
    case MsgType.SEARCHGW:
      fixedSize(len, 1, type);
      return { type: 'SEARCHGW', radius: buf[s] };
    case MsgType.GWINFO:
      minSize(len, 1, type);
      return len === 1 ? { type: 'GWINFO', gwId: buf[s] } : { type: 'GWINFO', gwId: buf[s], gwAdd: buf.subarray(s + 1, e) };
    case MsgType.CONNECT: {
      minSize(len, 4, type);
      const flags = buf[s];
      reservedFlags(flags, FLAG_WILL | FLAG_CLEAN_SESSION, type);
      if (buf[s + 1] !== PROTOCOL_ID) throw codecError(E.INVALID_PROTOCOL_ID, type);
      return {
        type: 'CONNECT',
        will: (flags & FLAG_WILL) !== 0,
        cleanSession: (flags & FLAG_CLEAN_SESSION) !== 0,
        duration: u16(buf, s + 2),
        clientId: clientIdAt(buf, s + 4, e, type),
      };
    }
    case MsgType.CONNACK:
      fixedSize(len, 1, type);
      return { type: 'CONNACK', returnCode: buf[s] };
    case MsgType.WILLTOPICREQ:
      fixedSize(len, 0, type);
      return { type: 'WILLTOPICREQ' };
    case MsgType.WILLTOPIC:
    case MsgType.WILLTOPICUPD:
      return willTopic(buf, s, e, type);
    case MsgType.WILLMSGREQ:
      fixedSize(len, 0, type);
      return { type: 'WILLMSGREQ' };
    case MsgType.WILLMSG:
      return { type: 'WILLMSG', willMsg: buf.subarray(s, e) };
    case MsgType.REGISTER: {
      minSize(len, 4, type);
      const topicId = u16(buf, s);
      if (topicId === 0xffff) throw codecError(E.INVALID_TOPIC_ID, type);
      const msgId = msgIdAt(buf, s + 2, type);
      return { type: 'REGISTER', topicId, msgId, topicName: topicTextAt(buf, s + 4, e, type) };
    }
    case MsgType.REGACK: {
      fixedSize(len, 5, type);
      const topicId = u16(buf, s);
      const msgId = msgIdAt(buf, s + 2, type);
      const returnCode = buf[s + 4];
      if (returnCode === 0 && (topicId === 0 || topicId === 0xffff)) throw codecError(E.INVALID_TOPIC_ID, type);
      return { type: 'REGACK', topicId, msgId, returnCode };
    }
    case MsgType.PUBLISH: {
      minSize(len, 5, type);
      const flags = buf[s];
      reservedFlags(flags, FLAG_DUP | MASK_QOS | FLAG_RETAIN | MASK_TOPIC_ID_TYPE, type);
      const topicIdType = flags & MASK_TOPIC_ID_TYPE;
      const qos = qosFromFlags(flags);
      if (topicIdType === 3 || (qos === -1 && topicIdType === 0)) throw codecError(E.INVALID_TOPIC_ID_TYPE, type);
      const dup = (flags & FLAG_DUP) !== 0;
      if (dup && qos <= 0) throw codecError(E.INVALID_FLAGS, type);
      let topicId: number | string;
      if (topicIdType === 2) topicId = shortTopicAt(buf, s + 1, type);
      else {
        topicId = u16(buf, s + 1);
        if (topicId === 0 || topicId === 0xffff) throw codecError(E.INVALID_TOPIC_ID, type);
      }
      const msgId = qos > 0 ? msgIdAt(buf, s + 3, type) : u16(buf, s + 3);
      return {
        type: 'PUBLISH',
        dup,
        qos: qos as QoS,
        retain: (flags & FLAG_RETAIN) !== 0,
        topicIdType: topicIdType as TopicIdTypeValue,
        topicId,
        msgId,
        payload: buf.subarray(s + 5, e),
      };
    }
    case MsgType.PUBACK:
      fixedSize(len, 5, type);
      return { type: 'PUBACK', topicId: u16(buf, s), msgId: u16(buf, s + 2), returnCode: buf[s + 4] };
    case MsgType.PUBCOMP:
      fixedSize(len, 2, type);
      return { type: 'PUBCOMP', msgId: msgIdAt(buf, s, type) };
    case MsgType.PUBREC:
      fixedSize(len, 2, type);
      return { type: 'PUBREC', msgId: msgIdAt(buf, s, type) };
    case MsgType.PUBREL:
      fixedSize(len, 2, type);
      return { type: 'PUBREL', msgId: msgIdAt(buf, s, type) };
    case MsgType.SUBSCRIBE: {
      minSize(len, 3, type);
      const flags = buf[s];
      reservedFlags(flags, FLAG_DUP | MASK_QOS | MASK_TOPIC_ID_TYPE, type);
      const qos = qosFromFlags(flags);
      if (qos < 0) throw codecError(E.INVALID_QOS, type);
      const topicIdType = flags & MASK_TOPIC_ID_TYPE;
      if (topicIdType === 3) throw codecError(E.INVALID_TOPIC_ID_TYPE, type);
      const msgId = msgIdAt(buf, s + 1, type);
      return {
        type: 'SUBSCRIBE',
        dup: (flags & FLAG_DUP) !== 0,
        qos: qos as SessionQoS,
        topicIdType: topicIdType as TopicIdTypeValue,
        msgId,
        topicId: subscriptionTopic(buf, s + 3, e, topicIdType, type),
      };
    }
    case MsgType.SUBACK: {
      fixedSize(len, 6, type);
      const flags = buf[s];
      reservedFlags(flags, MASK_QOS, type);
      const qos = qosFromFlags(flags);
      if (qos < 0) throw codecError(E.INVALID_QOS, type);
      return {
        type: 'SUBACK',
        qos: qos as SessionQoS,
        topicId: u16(buf, s + 1),
        msgId: msgIdAt(buf, s + 3, type),
        returnCode: buf[s + 5],
      };
    }
    case MsgType.UNSUBSCRIBE: {
      minSize(len, 3, type);
      const flags = buf[s];
      reservedFlags(flags, MASK_TOPIC_ID_TYPE, type);
      const topicIdType = flags & MASK_TOPIC_ID_TYPE;
      if (topicIdType === 3) throw codecError(E.INVALID_TOPIC_ID_TYPE, type);
      const msgId = msgIdAt(buf, s + 1, type);
      return {
        type: 'UNSUBSCRIBE',
        topicIdType: topicIdType as TopicIdTypeValue,
        msgId,
        topicId: subscriptionTopic(buf, s + 3, e, topicIdType, type),
      };
    }
    case MsgType.UNSUBACK:
      fixedSize(len, 2, type);
      return { type: 'UNSUBACK', msgId: msgIdAt(buf, s, type) };
    case MsgType.PINGREQ:
      return len === 0 ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId: clientIdAt(buf, s, e, type) };
    case MsgType.PINGRESP:
      fixedSize(len, 0, type);
      return { type: 'PINGRESP' };
    case MsgType.DISCONNECT:
      if (len === 0) return { type: 'DISCONNECT' };
      fixedSize(len, 2, type);
      return { type: 'DISCONNECT', duration: u16(buf, s) };
    case MsgType.WILLTOPICRESP:
      fixedSize(len, 1, type);
      return { type: 'WILLTOPICRESP', returnCode: buf[s] };
    case MsgType.WILLMSGUPD:
      return { type: 'WILLMSGUPD', willMsg: buf.subarray(s, e) };
    case MsgType.WILLMSGRESP:
      fixedSize(len, 1, type);
      return { type: 'WILLMSGRESP', returnCode: buf[s] };
    default:
      throw codecError(E.RESERVED_TYPE, -1);
  }
}

/** Decodes the frame that starts at `off` and runs to the end of `buf`. */
function decodeFrame(buf: Buffer, off: number, nested: boolean): Packet {
  const n = buf.length - off;
  if (n < 2) throw codecError(E.TRUNCATED, -1);
  const b0 = buf[off];
  let total: number;
  let header: number;
  if (b0 === LONG_FORM_MARKER) {
    if (n < 4) throw codecError(E.TRUNCATED, -1);
    total = u16(buf, off + 1);
    if (total < LONG_FORM_MIN_TOTAL) throw codecError(E.INVALID_LENGTH, -1);
    header = 3;
  } else if (b0 === 0x00) {
    throw codecError(E.INVALID_LENGTH, -1);
  } else {
    total = b0;
    header = 1;
  }
  const type = buf[off + header];
  if (type === MsgType.ENCAPSULATED) return decodeEncapsulated(buf, off, n, total, header, nested);
  if (PacketTypeName[type] === undefined) throw codecError(E.RESERVED_TYPE, -1);
  if (total !== n) throw codecError(E.LENGTH_MISMATCH, type);
  return decodeBody(buf, type, off + header + 1, off + n);
}

function decodeEncapsulated(buf: Buffer, off: number, n: number, total: number, header: number, nested: boolean): Packet {
  const type = MsgType.ENCAPSULATED;
  if (nested || header !== 1 || total < 3) throw codecError(E.INVALID_ENCAPSULATION, type);
  if (total > n) throw codecError(E.TRUNCATED, type);
  if (total === n) throw codecError(E.INVALID_ENCAPSULATION, type);
  const ctrl = buf[off + 2];
  reservedFlags(ctrl, MASK_ENCAPSULATION_RADIUS, type);
  return {
    type: 'ENCAPSULATED',
    radius: ctrl & MASK_ENCAPSULATION_RADIUS,
    wirelessNodeId: buf.subarray(off + 3, off + total),
    packet: decodeFrame(buf, off + total, true),
  };
}

/** Decodes exactly one datagram; throws MqttSnError on any malformation. */
export function decodePacket(datagram: Uint8Array): Packet {
  return decodeFrame(asBuffer(datagram), 0, false);
}
