/**
 * The gateway's figures published to its broker, one topic per figure under a
 * prefix, the way brokers publish `$SYS/#`: subscribers see them with any MQTT
 * client, no HTTP scraper needed.
 */
import type { MetricsSource } from './metrics';

/** Topic (below the prefix) → value, as published. */
export function statsTopicValues(source: MetricsSource, startedAt: number, now: number): Record<string, number> {
  const { stats } = source;
  const states = source.sessionStates();
  const buffered = source.buffered();
  return {
    'clients/active': states.active ?? 0,
    'clients/asleep': states.asleep ?? 0,
    'clients/awake': states.awake ?? 0,
    'clients/total': stats.clients,
    'sessions/opened': stats.sessionsOpened,
    'datagrams/received': stats.received,
    'datagrams/sent': stats.sent,
    'datagrams/malformed': stats.malformed,
    'messages/upstream': stats.publishedUpstream,
    'messages/downstream': stats.deliveredDownstream,
    'messages/retransmitted': stats.retransmissions,
    'messages/undelivered': stats.undelivered + stats.droppedQos0 + stats.refusedQos12,
    'refused/congestion': stats.congestion,
    'buffered/messages': buffered.messages,
    'buffered/bytes': buffered.bytes,
    'uptime/seconds': Math.floor((now - startedAt) / 1000),
  };
}

/** Publishes every figure under `prefix` each `intervalSeconds`; returns the function that stops it. */
export function startStatsTopics(
  source: MetricsSource,
  publish: (topic: string, payload: string) => void,
  prefix: string,
  intervalSeconds: number,
): () => void {
  const startedAt = Date.now();
  const tick = (): void => {
    for (const [topic, value] of Object.entries(statsTopicValues(source, startedAt, Date.now()))) publish(`${prefix}/${topic}`, String(value));
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
