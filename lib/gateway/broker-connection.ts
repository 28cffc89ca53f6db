/**
 * How the gateway's MQTT connections reach the broker, and how their writes
 * are batched.
 *
 * - A dialer opens one MQTT.js connection: over the network to a broker URL,
 *   or through an in-memory stream to the embedded broker (no loopback TCP).
 * - corkForTurn() holds a connection's writes until the end of the event-loop
 *   turn, so the publishes made for a batch of datagrams (or for several
 *   batches read in one turn) leave in one write instead of one each.
 */
import * as mqtt from 'mqtt';
import type { Writable } from 'node:stream';
import type { EmbeddedBroker } from './embedded-broker';

export interface BrokerDialer {
  /** Where the connections go, for logs. */
  readonly label: string;
  dial(options: mqtt.IClientOptions): mqtt.MqttClient;
}

/**
 * MQTT.js makes a debug logger per connection (about 1 KB each, one
 * connection per client in transparent mode) unless it is given one: all of
 * ours share a silent one, unless DEBUG asks for MQTT.js's own output.
 */
const SHARED_LOG = /mqttjs/.test(process.env.DEBUG ?? '') ? undefined : (): void => undefined;

function withSharedLog(options: mqtt.IClientOptions): mqtt.IClientOptions {
  return SHARED_LOG && options.log === undefined ? { ...options, log: SHARED_LOG } : options;
}

export function urlDialer(url: string): BrokerDialer {
  return { label: url, dial: (options) => mqtt.connect(url, withSharedLog(options)) };
}

/** Connections to the embedded broker, each over its own in-memory stream (a reconnect gets a new one). */
export function embeddedDialer(broker: EmbeddedBroker): BrokerDialer {
  return {
    label: `the embedded broker (in-process; ${broker.url} for MQTT clients)`,
    dial: (options) => new mqtt.MqttClient(() => broker.connect(), withSharedLog(options)),
  };
}

const corked = new Set<Writable>();
let uncorking: NodeJS.Immediate | undefined;

function uncorkAll(): void {
  uncorking = undefined;
  const streams = [...corked];
  corked.clear();
  for (const stream of streams) stream.uncork();
}

/** Holds the writes of `client` until the end of this event-loop turn (once per turn and connection). */
export function corkForTurn(client: mqtt.MqttClient): void {
  const stream = client.stream as Writable | undefined;
  if (!stream || corked.has(stream) || typeof stream.cork !== 'function' || stream.destroyed) return;
  stream.cork();
  corked.add(stream);
  uncorking ??= setImmediate(uncorkAll);
}
