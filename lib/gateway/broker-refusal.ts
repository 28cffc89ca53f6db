/**
 * A broker refuses a publish by closing the connection that carried it (MQTT
 * 3.1.1 has no negative acknowledgement), and MQTT.js sends every
 * unacknowledged publish again on the next connection: one poisoned message
 * would close the shared connection again and again. Here the publishes the
 * broker had not acknowledged when it closed the connection are taken out of
 * the client's store; their callbacks fail, so each sender gets a return code
 * instead of a resend loop.
 */
import type * as mqtt from 'mqtt';
import type { LogLevel } from './options';

/** Publishes listed in the log line, at most. */
const LOGGED_TOPICS = 5;
/** Closes a topic must be blamed for before it is refused, how long that is remembered, and for how many topics. */
const STRIKES = 2;
const STRIKE_MEMORY_MS = 10 * 60_000;
const STRIKE_CAPACITY = 1024;
/** A close is blamed on a publish only when the broker takes the next connection this soon (it did not go away). */
const REFUSAL_RECONNECT_MS = 3000;

/**
 * Topics the broker refused: a client that keeps publishing one would keep
 * closing the shared connection (a second of outage for everyone each time).
 * The broker works through a connection's packets in order, so the first
 * publish left unacknowledged at a close is the likely culprit; its topic is
 * blamed, and a topic blamed twice within STRIKE_MEMORY_MS is refused by the
 * gateway itself from then on (until that time has passed).
 */
export class RefusedTopics {
  private readonly strikes = new Map<string, { count: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  blame(topic: string): void {
    const now = this.now();
    const known = this.strikes.get(topic);
    const count = known && now - known.at < STRIKE_MEMORY_MS ? known.count + 1 : 1;
    this.strikes.delete(topic);
    this.strikes.set(topic, { count, at: now });
    if (this.strikes.size > STRIKE_CAPACITY) {
      const oldest = this.strikes.keys().next().value;
      if (oldest !== undefined) this.strikes.delete(oldest);
    }
  }

  refused(topic: string): boolean {
    if (this.strikes.size === 0) return false;
    const known = this.strikes.get(topic);
    return known !== undefined && known.count >= STRIKES && this.now() - known.at < STRIKE_MEMORY_MS;
  }
}

export function dropUnacknowledgedOnClose(client: mqtt.MqttClient, log: (level: LogLevel, message: string) => void, refused?: RefusedTopics): void {
  /** QoS 1/2 publishes written and not yet acknowledged (PUBACK, or PUBREC: the broker has a QoS 2 one). */
  const unacknowledged = new Map<number, string>();
  client.on('packetsend', (packet) => {
    if (packet.cmd === 'publish' && packet.qos > 0 && packet.messageId !== undefined) unacknowledged.set(packet.messageId, packet.topic);
  });
  client.on('packetreceive', (packet) => {
    if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && packet.messageId !== undefined) unacknowledged.delete(packet.messageId);
  });
  client.on('close', () => {
    if (unacknowledged.size === 0) return;
    const topics = [...new Set(unacknowledged.values())];
    const shown = topics.slice(0, LOGGED_TOPICS).map((t) => JSON.stringify(t.slice(0, 100)));
    if (topics.length > LOGGED_TOPICS) shown.push('...');
    log('warn', `the broker closed the connection with ${unacknowledged.size} publishes unacknowledged (${shown.join(', ')}): refused to their senders, not sent again`);
    const ids = [...unacknowledged.keys()];
    if (refused) {
      const suspect = topics[0];
      const closedAt = performance.now();
      client.once('connect', () => {
        if (performance.now() - closedAt < REFUSAL_RECONNECT_MS) refused.blame(suspect);
      });
    }
    unacknowledged.clear();
    for (const id of ids) client.removeOutgoingMessage(id);
  });
}
