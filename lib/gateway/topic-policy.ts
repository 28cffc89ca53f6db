/**
 * The broker's topic rules, checked before a client's topic reaches it. A
 * broker answers a topic it does not accept by closing the connection that
 * carried it (MQTT 3.1.1 has no other way), which in aggregating mode is the
 * connection every client shares. So every topic a client brings (REGISTER,
 * will topics, SUBSCRIBE filters, short names) passes here first, and a
 * refusal is answered to that client alone.
 */
import { isValidTopicFilter, isValidTopicName } from '../topics';

export interface TopicRules {
  /** Whether clients may use topics starting with '$' (the broker's own, e.g. $SYS). */
  allowDollar: boolean;
  /** Most levels ('/'-separated parts) a topic may have. */
  maxLevels: number;
  /** Most UTF-8 octets a topic may have. */
  maxBytes: number;
}

/** Defaults as strict as common brokers: aedes refuses more than 100 levels; every broker refuses `$SYS` publishes. */
export const DEFAULT_TOPIC_RULES: TopicRules = { allowDollar: false, maxLevels: 100, maxBytes: 1024 };

/** Why a topic was refused. */
export type TopicFault = 'wildcard' | 'dollar' | 'levels' | 'length' | 'text';

/**
 * Characters MQTT 3.1.1 §1.5.3 says a topic should not hold and a receiver may
 * close the connection for (mosquitto does): C0 and C1 controls, U+FDD0-U+FDEF
 * and the non-characters ending in FFFE/FFFF. U+0000 and lone surrogates are
 * refused outright (they have no valid encoding in a topic).
 */
function textFault(topic: string): boolean {
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
    if (c >= 0xfdd0 && c <= 0xfdef) return true;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < topic.length ? topic.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return true;
      // the low 16 bits of the code point: six bits of the high surrogate, ten of the low
      const low = ((c & 0x3f) << 10) | (d & 0x3ff);
      if (low === 0xfffe || low === 0xffff) return true;
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
    if (c === 0xfffe || c === 0xffff) return true;
  }
  return false;
}

function utf8Bytes(topic: string): number {
  return Buffer.byteLength(topic, 'utf8');
}

function levels(topic: string): number {
  let n = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) n++;
  return n;
}

function commonFault(topic: string, rules: TopicRules): TopicFault | undefined {
  // length first: the other checks walk the string
  if (topic.length > rules.maxBytes || utf8Bytes(topic) > rules.maxBytes) return 'length';
  if (!rules.allowDollar && topic.charCodeAt(0) === 0x24) return 'dollar';
  if (levels(topic) > rules.maxLevels) return 'levels';
  if (textFault(topic)) return 'text';
  return undefined;
}

/** What is wrong with a topic name (PUBLISH, REGISTER, will), or undefined when a broker will take it. */
export function topicNameFault(name: string, rules: TopicRules): TopicFault | undefined {
  if (!isValidTopicName(name)) return name.length === 0 ? 'text' : 'wildcard';
  return commonFault(name, rules);
}

/** What is wrong with a topic filter (SUBSCRIBE), or undefined when a broker will take it. */
export function topicFilterFault(filter: string, rules: TopicRules): TopicFault | undefined {
  if (!isValidTopicFilter(filter)) return filter.length === 0 ? 'text' : 'wildcard';
  return commonFault(filter, rules);
}

/** Readable reason for the log. */
export function describeTopicFault(fault: TopicFault, rules: TopicRules): string {
  switch (fault) {
    case 'wildcard':
      return 'misplaced wildcard';
    case 'dollar':
      return "'$' topics are the broker's";
    case 'levels':
      return `more than ${rules.maxLevels} levels`;
    case 'length':
      return `longer than ${rules.maxBytes} octets`;
    default:
      return 'characters MQTT does not allow in a topic';
  }
}
