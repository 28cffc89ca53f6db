/**
 * MQTT topic rules (MQTT 3.1.1 §4.7) shared by the client, the gateway and
 * the Node-RED nodes: one definition of a name, a filter and a match.
 */
export {
  /** A topic name: not empty, no U+0000, no wildcard characters. */
  isValidTopicNameString as isValidTopicName,
  /** A filter: not empty, no U+0000, '+' a whole level, '#' a whole last level. */
  isValidTopicFilterString as isValidTopicFilter,
} from './codec/text';

/** Whether a topic contains a wildcard character ('+' or '#'). */
export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** Whether `topic` matches `filter`; a leading wildcard never matches the broker's '$' topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    // Every level before this one matched, so '#' takes the rest (even nothing: "a/#" matches "a").
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
