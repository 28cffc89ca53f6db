/**
 * The MQTTSN client publishing through the real gateway to its embedded
 * broker, next to MQTT.js publishing over TCP to the same broker (what a
 * Node.js user would pick instead of MQTT-SN).
 *
 * Each case runs for a fixed slice of time with `window` publishes kept
 * waiting for their acknowledgement (QoS 1/2) and counts:
 * - acknowledged/s: calls whose promise settled (QoS 0: sent);
 * - delivered/s: messages an MQTT.js subscriber on the broker received.
 */
import { performance } from 'node:perf_hooks';
import * as mqtt from 'mqtt';
import { MQTTSN } from '../lib/client';
import { MqttSnGateway } from '../lib/gateway';
import { nativeUdpAvailable, nativeUdpTransport } from '../lib/transport/native-udp';
import { udpTransport } from '../lib/transport/udp';
import { formatCount, type BenchOptions, type BenchSection, type Cell } from './harness';

const PAYLOAD = Buffer.alloc(32, 0x61);
/** QoS 0 calls sent before yielding to the event loop (so replies and deliveries are processed). */
const QOS0_BURST = 20;

interface Case {
  label: string;
  qos: 0 | 1 | 2;
  window: number;
  publish: (n: number) => Promise<unknown>;
}

/** Runs `window` publishing loops for `sliceMs`; returns calls settled per second. */
async function drive(c: Case, sliceMs: number): Promise<number> {
  let settled = 0;
  let n = 0;
  const until = performance.now() + sliceMs;
  const started = performance.now();
  async function loop(): Promise<void> {
    while (performance.now() < until) {
      if (c.qos === 0) {
        for (let i = 0; i < QOS0_BURST; i++) void c.publish(n++).then(() => settled++);
        await new Promise((resolve) => setImmediate(resolve));
      } else {
        await c.publish(n++);
        settled++;
      }
    }
  }
  await Promise.all(Array.from({ length: c.window }, loop));
  return (settled * 1000) / (performance.now() - started);
}

export async function run(options?: BenchOptions): Promise<BenchSection[]> {
  const budget = Math.min(options?.budgetMs ?? 30_000, 40_000);
  const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, logLevel: 'error', limits: { maxInFlight: 10 } });
  await gateway.start();
  const subscriber = await mqtt.connectAsync(gateway.brokerUrl, { reconnectPeriod: 0 });
  const publisher = await mqtt.connectAsync(gateway.brokerUrl, { reconnectPeriod: 0 });
  // One client per datagram engine, through the same gateway (on its default engine).
  const engines: Array<[string, MQTTSN]> = [['MQTTSN, node:dgram', new MQTTSN({ transport: udpTransport })]];
  if (nativeUdpAvailable()) engines.push(['MQTTSN, native engine', new MQTTSN({ transport: nativeUdpTransport })]);
  for (const [, client] of engines) {
    client.timeout = 10;
    client.config('RetryInterval=2');
  }
  let delivered = 0;
  subscriber.on('message', () => delivered++);
  await subscriber.subscribeAsync('bench/#', { qos: 2 });
  const rows: Cell[][] = [];
  try {
    const cases: Array<Case & { client?: MQTTSN }> = [];
    const shapes: Array<[0 | 1 | 2, number]> = [[0, 1], [1, 1], [1, 10], [2, 1]];
    const topicIds = new Map<MQTTSN, number>();
    for (const [, client] of engines) {
      await client.connectTo('127.0.0.1', gateway.address().port);
      topicIds.set(client, await client.registerTopic('bench/sn'));
    }
    // The engines side by side, shape by shape (a load that comes and goes hits both alike).
    for (const [qos, window] of shapes) {
      for (const [label, client] of engines) {
        const topicId = topicIds.get(client) as number;
        cases.push({ label: `${label} via gateway (UDP)`, qos, window, client, publish: () => client.publishData(topicId, 0, qos, PAYLOAD) });
      }
    }
    cases.push(
      { label: 'MQTT.js direct (TCP)', qos: 0, window: 1, publish: () => publisher.publishAsync('bench/tcp', PAYLOAD, { qos: 0 }) },
      { label: 'MQTT.js direct (TCP)', qos: 1, window: 1, publish: () => publisher.publishAsync('bench/tcp', PAYLOAD, { qos: 1 }) },
      { label: 'MQTT.js direct (TCP)', qos: 1, window: 10, publish: () => publisher.publishAsync('bench/tcp', PAYLOAD, { qos: 1 }) },
      { label: 'MQTT.js direct (TCP)', qos: 2, window: 1, publish: () => publisher.publishAsync('bench/tcp', PAYLOAD, { qos: 2 }) },
    );
    // Setup took its share; the rest is split evenly, with a pause after each slice for stragglers.
    const sliceMs = Math.max(500, Math.min(2500, (budget - 6000) / cases.length - 300));
    for (const c of cases) {
      c.client?.config(`MaxInFlight=${c.window}`);
      delivered = 0;
      const started = performance.now();
      const acknowledged = await drive(c, sliceMs);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const deliveredPerSecond = (delivered * 1000) / (performance.now() - started - 300);
      rows.push([c.label, c.qos, c.window, formatCount(acknowledged), formatCount(deliveredPerSecond)]);
    }
  } finally {
    for (const [, client] of engines) client.reset();
    await subscriber.endAsync();
    await publisher.endAsync();
    await gateway.stop();
  }
  return [
    {
      title: 'Client: publish throughput, 32-octet messages, messages/s',
      columns: ['path', 'QoS', 'in flight', 'acknowledged/s', 'delivered/s'],
      rows,
      notes: [
        'MQTTSN: client -> UDP -> MqttSnGateway (transparent mode, its default datagram engine) -> embedded aedes broker -> MQTT.js subscriber, all on 127.0.0.1 in one process.',
        'node:dgram / native engine: the datagram transport of the MQTTSN client (udpTransport, nativeUdpTransport).',
        'MQTT.js: publisher -> TCP -> the same embedded broker -> the same subscriber.',
        '"in flight": publishes awaiting acknowledgement at once (MaxInFlight for MQTTSN; concurrent calls for MQTT.js).',
        'QoS 0 "acknowledged" counts calls that returned (sent); "delivered" is what reached the subscriber.',
      ],
    },
  ];
}
