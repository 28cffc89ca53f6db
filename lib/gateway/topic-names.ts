/** MQTT topic name and filter rules the gateway needs (MQTT 3.1.1 §4.7). */

export function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** A topic name a client may publish to: non-empty, no wildcards, no NUL. */
export function isValidTopicName(name: string): boolean {
  return name.length > 0 && !isWildcard(name) && !name.includes('\u0000');
}

/** A subscription filter: '#' only last and alone in its level, '+' alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}

/** Whether `topic` matches `filter`; topics starting with '$' never match a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
