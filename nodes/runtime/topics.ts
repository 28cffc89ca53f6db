/**
 * Topic names as the nodes see them: validation, wildcard matching, and the
 * three MQTT-SN ways of naming a topic (name, pre-defined id, short name).
 */
import { isTopicId, parsePredefinedTopics, TopicIdType, type TopicIdTypeValue } from '../../lib';

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
export const isValidTopicId = isTopicId;

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

  /** Parses the config text; throws a readable MqttSnError when it is not a valid map. */
  static parse(text: string | undefined): PredefinedTopics {
    return new PredefinedTopics(parsePredefinedTopics(text));
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
