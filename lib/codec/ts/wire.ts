/** Wire constants and helpers shared by the TypeScript decoder and encoder and the native wrapper. */
import { ErrorCode } from '../../errors';
import { codecError } from '../codec-error';
import { MsgType, type PacketType } from '../packets';

export const FLAG_DUP = 0x80;
export const MASK_QOS = 0x60;
export const FLAG_RETAIN = 0x10;
export const FLAG_WILL = 0x08;
export const FLAG_CLEAN_SESSION = 0x04;
export const MASK_TOPIC_ID_TYPE = 0x03;

/** CONNECT's ProtocolId octet: the only value v1.2 defines. */
export const PROTOCOL_ID = 0x01;

/** Encapsulation Ctrl octet: bits 1-0 are the broadcast radius, the rest reserved. */
export const MASK_ENCAPSULATION_RADIUS = 0x03;
/** The encapsulation Length is one octet and covers Length, type, Ctrl and the node id. */
export const MAX_WIRELESS_NODE_ID_BYTES = 252;

/** First octet of the 3-octet length form. */
export const LONG_FORM_MARKER = 0x01;

/**
 * Smallest total the 3-octet length form may declare: anything smaller fits the
 * 1-octet form (the 1-octet form of the same packet is 2 octets shorter), and
 * only the canonical form is accepted so that decode and encode are exact inverses.
 */
export const LONG_FORM_MIN_TOTAL = 258;

/** QoS from the flags octet: 0b11 is -1. */
export function qosFromFlags(flags: number): number {
  const bits = (flags & MASK_QOS) >> 5;
  return bits === 3 ? -1 : bits;
}

/** Flags bits for a QoS value (-1 -> 0b11). */
export function qosToFlags(qos: number): number {
  return ((qos === -1 ? 3 : qos) << 5) & MASK_QOS;
}

/** The message type octet for a packet's `type` field; -1 for anything else (inherited names included). */
export function msgTypeOf(name: unknown): number {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(MsgType, name) ? MsgType[name as PacketType] : -1;
}

/** A datagram as a Buffer over the same memory; anything but a Uint8Array is INVALID_FIELD (615). */
export function asBuffer(input: Uint8Array): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (!(input instanceof Uint8Array)) throw codecError(ErrorCode.INVALID_FIELD, -1);
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
