/**
 * Argument checks done before anything reaches the wire, so a bad call fails
 * with a precise MqttSnError and no packet is sent.
 */
import { ErrorCode, MqttSnError } from '../errors';
import { isTopicId } from '../topic-ids';
import { hasWildcard } from '../topics';
import type { PublishOptions, TopicIdTypeArg, TopicRef } from './types';

/** Largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header): the most a datagram can carry. */
export const MAX_UDP_PAYLOAD = 65507;
/**
 * Octets before the variable part, with the 1-octet length form (total up to
 * 255 octets); the 3-octet form, needed above 255, adds 2.
 */
export const PUBLISH_HEADER_BYTES = 7; // length type flags topicId(2) msgId(2)
export const REGISTER_HEADER_BYTES = 6; // length type topicId(2) msgId(2)
export const SUBSCRIBE_HEADER_BYTES = 5; // length type flags msgId(2)
export const WILLTOPIC_HEADER_BYTES = 3; // length type flags
export const WILLMSG_HEADER_BYTES = 2; // length type

/** The most octets a packet with this header can carry within maxPacketSize, whichever length form fits. */
export function roomAfter(headerBytes: number, maxPacketSize: number): number {
  return Math.max(Math.min(maxPacketSize, 255) - headerBytes, maxPacketSize - headerBytes - 2);
}

export function invalid(description: string): MqttSnError {
  return new MqttSnError(ErrorCode.INVALID_ARGUMENT, description);
}

export function checkInteger(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be an integer from ${min} to ${max}, not ${String(value)}.`);
  }
  return value;
}

/** A duration in seconds (fractions allowed) from min up. */
export function checkSeconds(value: unknown, min: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(`${what} must be a number of seconds >= ${min}, not ${String(value)}.`);
  }
  return value;
}

export function checkTopicIdType(value: unknown): TopicIdTypeArg {
  if (value !== 0 && value !== 1 && value !== 2) {
    throw invalid(`Topic id type must be 0 (registered id or name), 1 (pre-defined id) or 2 (short name), not ${String(value)}.`);
  }
  return value;
}

export function checkQos(value: unknown, allowMinusOne: boolean): -1 | 0 | 1 | 2 {
  if (value === 0 || value === 1 || value === 2 || (allowMinusOne && value === -1)) return value;
  const range = allowMinusOne ? '-1, 0, 1 or 2' : '0, 1 or 2';
  throw invalid(`QoS must be ${range}, not ${String(value)}.`);
}

/** A concrete topic name (publish, register, will): no wildcards, no NUL, 1..maxBytes octets. */
export function checkTopicName(value: unknown, maxBytes: number, what = 'Topic name'): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string.`);
  if (value.includes('\u0000')) throw invalid(`${what} must not contain the null character.`);
  if (hasWildcard(value)) throw invalid(`${what} must not contain the wildcards # or +.`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) throw invalid(`${what} is ${bytes} octets long; at most ${maxBytes} fit in a packet.`);
  return value;
}

/** A topic filter for subscribe/unsubscribe: MQTT wildcard rules, no NUL, 1..maxBytes octets. */
export function checkTopicFilter(value: unknown, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('Topic filter must be a non-empty string.');
  if (value.includes('\u0000')) throw invalid('Topic filter must not contain the null character.');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) throw invalid(`Topic filter is ${bytes} octets long; at most ${maxBytes} fit in a packet.`);
  const levels = value.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      throw invalid('Topic filter: # must be a whole level and the last one.');
    }
    if (level.includes('+') && level !== '+') throw invalid('Topic filter: + must be a whole level.');
  });
  return value;
}

/** A short topic name: exactly two one-octet characters, no wildcards. */
export function checkShortName(value: unknown): string {
  if (typeof value !== 'string' || value.length !== 2 || Buffer.byteLength(value, 'utf8') !== 2) {
    throw invalid(`A short topic name must be exactly 2 one-octet characters, not ${JSON.stringify(value)}.`);
  }
  if (value.includes('\u0000')) throw invalid('A short topic name must not contain the null character.');
  if (hasWildcard(value)) throw invalid('A short topic name must not contain the wildcards # or +.');
  return value;
}

/** A registered or pre-defined topic id: 1..65534 as a number or its decimal text. */
export function checkNumericTopicId(value: unknown): number {
  const id = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (!isTopicId(id)) {
    throw invalid(`Topic id must be an integer from 1 to 65534, not ${JSON.stringify(value)}.`);
  }
  return id;
}

/** A publish target: a numeric id (types 0, 1) or a short name (type 2). */
export function checkPublishTopic(topicId: unknown, topicIdType: TopicIdTypeArg): number | string {
  return topicIdType === 2 ? checkShortName(topicId) : checkNumericTopicId(topicId);
}

/** A subscribe/unsubscribe target: a name or filter (type 0), a numeric id (1) or a short name (2). */
export function checkSubscribeTopic(topic: unknown, topicIdType: TopicIdTypeArg, maxBytes: number): TopicRef {
  if (topicIdType === 0) return checkTopicFilter(topic, maxBytes);
  if (topicIdType === 1) return checkNumericTopicId(topic);
  return checkShortName(topic);
}

export function checkPayload(value: unknown, maxBytes: number): Buffer {
  let payload: Buffer;
  if (typeof value === 'string') payload = Buffer.from(value, 'utf8');
  else if (Buffer.isBuffer(value)) payload = value;
  else if (value instanceof Uint8Array) payload = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else throw invalid('The message must be a string, a Buffer or a Uint8Array.');
  if (payload.length > maxBytes) {
    throw new MqttSnError(
      ErrorCode.MESSAGE_TOO_LONG,
      `Message is ${payload.length} octets; at most ${maxBytes} fit in one PUBLISH.`,
    );
  }
  return payload;
}

export function checkClientId(value: unknown): string {
  if (typeof value !== 'string') throw invalid('Client id must be a string.');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > 23) throw invalid(`Client id is ${bytes} octets; MQTT-SN allows 1 to 23.`);
  return value;
}

export function checkPort(value: unknown, what: string, allowZero: boolean): number {
  return checkInteger(value, allowZero ? 0 : 1, 65535, what);
}

/** The options of one publish: an object (or nothing) whose `retain`, when present, is a boolean. */
export function checkPublishOptions(options: unknown): PublishOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('Publish options must be an object such as { retain: true }.');
  }
  const retain = (options as { retain?: unknown }).retain;
  if (retain !== undefined && typeof retain !== 'boolean') {
    throw invalid(`Publish option retain takes true or false, not ${JSON.stringify(retain)}.`);
  }
  return retain === undefined ? {} : { retain };
}
