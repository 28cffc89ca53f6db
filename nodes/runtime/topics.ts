/**
 * Topic names as the nodes see them: validation, wildcard matching, and the
 * three MQTT-SN ways of naming a topic (name, pre-defined id, short name).
 */
import { TopicIdType, type TopicIdTypeValue } from '../../lib';

export type TopicKind = 'normal' | 'predefined' | 'short';

const KIND_BY_TYPE: Readonly<Record<TopicIdTypeValue, TopicKind>> = { 0: 'normal', 1: 'predefined', 2: 'short' };
const TYPE_BY_KIND: Readonly<Record<TopicKind, TopicIdTypeValue>> = {
  normal: TopicIdType.NORMAL,
  predefined: TopicIdType.PREDEFINED,
  short: TopicIdType.SHORT,
};

export function kindOfType(type: TopicIdTypeValue): TopicKind {
  return KIND_BY_TYPE[type];
}

export function typeOfKind(kind: TopicKind): TopicIdTypeValue {
  return TYPE_BY_KIND[kind];
}

/** Accepts 'normal'|'predefined'|'short', 0|1|2 (or their strings); undefined for anything else. */
export function parseKind(value: unknown): TopicKind | undefined {
  if (value === 'normal' || value === 'predefined' || value === 'short') return value;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (n === 0 || n === 1 || n === 2) return KIND_BY_TYPE[n];
  return undefined;
}

/** A publish topic: not empty, no wildcards, no control characters. */
export function isValidPublishTopic(topic: string): boolean {
  return topic.length > 0 && !/[+#\b\f\n\r\t\v\0]/.test(topic);
}

/** A pre-defined topic id: an integer in 1..65534 (0 and 0xFFFF are reserved). */
export function isValidTopicId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= 0xfffe;
}

/** A short topic name is exactly two characters. */
export function isValidShortTopic(topic: string): boolean {
  return topic.length === 2;
}

/**
 * Bidirectional map of pre-defined topics, from the config node's JSON text
 * `{"<id>": "<topic name>"}`.
 */
export class PredefinedTopics {
  private readonly names = new Map<number, string>();
  private readonly ids = new Map<string, number>();

  constructor(entries: Iterable<[number, string]> = []) {
    for (const [id, name] of entries) {
      this.names.set(id, name);
      this.ids.set(name, id);
    }
  }

  /** Parses the config text; throws a readable Error when it is not a valid map. */
  static parse(text: string | undefined): PredefinedTopics {
    const trimmed = (text ?? '').trim();
    if (trimmed === '') return new PredefinedTopics();
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('pre-defined topics must be a JSON object {"<id>": "<topic name>"}');
    }
    const entries: [number, string][] = [];
    for (const [key, value] of Object.entries(parsed)) {
      const id = Number(key);
      if (!isValidTopicId(id)) throw new Error(`pre-defined topic id ${key} is not in 1..65534`);
      if (typeof value !== 'string' || !isValidPublishTopic(value)) {
        throw new Error(`pre-defined topic ${key} needs a topic name without wildcards`);
      }
      entries.push([id, value]);
    }
    return new PredefinedTopics(entries);
  }

  nameOf(id: number): string | undefined {
    return this.names.get(id);
  }

  idOf(name: string): number | undefined {
    return this.ids.get(name);
  }

  toObject(): Record<string, string> {
    return Object.fromEntries([...this.names].map(([id, name]) => [String(id), name]));
  }
}
