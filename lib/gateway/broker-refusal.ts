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

export function dropUnacknowledgedOnClose(client: mqtt.MqttClient, log: (level: LogLevel, message: string) => void): void {
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
    unacknowledged.clear();
    for (const id of ids) client.removeOutgoingMessage(id);
  });
}
