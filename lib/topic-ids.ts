/**
 * MQTT-SN topic ids (v1.2 §3.2.11, §5.3.11) for the codec, the client, the
 * gateway and the nodes: the valid range, short topic names as the 16-bit
 * field that carries them, and pre-defined topic tables as users write them.
 */
import { ErrorCode, MqttSnError } from './errors';
import { isValidTopicName } from './topics';

/** Topic ids 0x0000 and 0xFFFF are reserved: a registered or pre-defined id is 1..65534. */
export const MIN_TOPIC_ID = 1;
export const MAX_TOPIC_ID = 0xfffe;

/** Whether `value` is a usable topic id: an integer from 1 to 65534. */
export function isTopicId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_TOPIC_ID && value <= MAX_TOPIC_ID;
}

/** The 16-bit topic id field that carries a two-character short topic name. */
export function shortTopicToId(name: string): number {
  return ((name.charCodeAt(0) & 0xff) << 8) | (name.charCodeAt(1) & 0xff);
}

/** The two-character short topic name a 16-bit topic id field carries. */
export function shortTopicFromId(id: number): string {
  return String.fromCharCode((id >> 8) & 0xff, id & 0xff);
}

/** Pre-defined topics: topic id → topic name. */
export type PredefinedTopicMap = Map<number, string>;

function invalid(what: string, problem: string): MqttSnError {
  return new MqttSnError(ErrorCode.INVALID_ARGUMENT, `${what}: ${problem}.`);
}

function entriesOfText(text: string, what: string): Array<[string, unknown]> {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw invalid(what, 'not valid JSON');
    }
    return entriesOfObject(parsed, what);
  }
  return trimmed
    .split(/[;,\n]/)
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) throw invalid(what, `"${part.trim()}" is not id=name`);
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
}

function entriesOfObject(value: unknown, what: string): Array<[string, unknown]> {
  if (value instanceof Map) return [...(value as Map<unknown, unknown>)].map(([id, name]) => [String(id), name]);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(what, 'must be an object {"<id>": "<topic name>"}');
  return Object.entries(value as Record<string, unknown>);
}

/**
 * Reads pre-defined topics in any form users write them: an object or Map
 * `{ "1": "a/b" }`, its JSON text, or the text "1=a/b;2=c/d" (also split by
 * commas or new lines). Nothing (undefined, '') is an empty table. Ids must be
 * 1..65534, names topic names without wildcards; anything else throws
 * MqttSnError (INVALID_ARGUMENT) whose message starts with `what`.
 */
export function parsePredefinedTopics(input: unknown, what = 'pre-defined topics'): PredefinedTopicMap {
  const entries = input === undefined || input === null ? [] : typeof input === 'string' ? entriesOfText(input, what) : entriesOfObject(input, what);
  const map: PredefinedTopicMap = new Map();
  for (const [key, name] of entries) {
    const id = key.trim() === '' ? NaN : Number(key);
    if (!isTopicId(id)) throw invalid(what, `topic id ${key} is not 1 to ${MAX_TOPIC_ID}`);
    if (typeof name !== 'string' || !isValidTopicName(name)) throw invalid(what, `the topic of id ${key} must be a topic name without wildcards`);
    map.set(id, name);
  }
  return map;
}
