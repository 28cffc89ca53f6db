/**
 * The gateway's figures for operators: Prometheus metrics (prom-client, one
 * registry per gateway) read from `gateway.stats` and the session table at
 * scrape time, so the packet path pays nothing for them; and the HTTP server
 * that serves `/metrics` and `/health`.
 */
import * as http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { GatewayStats } from './stats';

/** What the metrics read from a gateway (MqttSnGateway implements it). */
export interface MetricsSource {
  readonly stats: GatewayStats;
  sessionStates(): Record<string, number>;
  buffered(): { messages: number; bytes: number };
  health(): { udp: boolean; broker: boolean };
}

const PREFIX = 'mqttsn_gateway_';

type Samples = Array<[Record<string, string>, number]>;

/** A metric whose values are copied from the gateway at each scrape: counters from its stats, gauges from its state. */
function mirrored(registry: Registry, kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], read: () => Samples): void {
  const config = { name: PREFIX + name, help, labelNames, registers: [registry] };
  if (kind === 'counter') {
    new Counter({
      ...config,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }
}

const mirroredCounter = (registry: Registry, name: string, help: string, labelNames: string[], read: () => Samples): void =>
  mirrored(registry, 'counter', name, help, labelNames, read);
const mirroredGauge = (registry: Registry, name: string, help: string, labelNames: string[], read: () => Samples): void =>
  mirrored(registry, 'gauge', name, help, labelNames, read);

function byLabel(label: string, counts: Record<string, number | undefined>): Array<[Record<string, string>, number]> {
  return Object.entries(counts).map(([key, value]) => [{ [label]: key }, value ?? 0]);
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly loopDelay: IntervalHistogram;

  constructor(source: MetricsSource) {
    const { stats } = source;
    const r = this.registry;
    const one = (value: number): Array<[Record<string, string>, number]> => [[{}, value]];
    mirroredGauge(r, 'clients', 'MQTT-SN sessions by state.', ['state'], () =>
      byLabel('state', source.sessionStates()).filter(([labels]) => labels.state !== 'ended'),
    );
    mirroredCounter(r, 'sessions_opened_total', 'Sessions created.', [], () => one(stats.sessionsOpened));
    mirroredCounter(r, 'sessions_closed_total', 'Sessions ended, by reason.', ['reason'], () => byLabel('reason', stats.sessionsClosed));
    mirroredCounter(r, 'datagrams_received_total', 'Datagrams received from clients.', [], () => one(stats.received));
    mirroredCounter(r, 'datagrams_sent_total', 'Datagrams sent to clients.', [], () => one(stats.sent));
    mirroredCounter(r, 'malformed_datagrams_total', 'Datagrams that did not decode, by error code.', ['code'], () =>
      byLabel('code', stats.malformedByCode),
    );
    mirroredCounter(r, 'unknown_sender_total', 'Packets from addresses without a session.', [], () => one(stats.unknownSender));
    mirroredCounter(r, 'messages_total', 'PUBLISH messages by direction (upstream: client to broker) and QoS.', ['direction', 'qos'], () => [
      ...byLabel('qos', stats.publishedUpstreamByQos).map(([labels, value]): [Record<string, string>, number] => [{ direction: 'upstream', ...labels }, value]),
      ...byLabel('qos', stats.deliveredDownstreamByQos).map(([labels, value]): [Record<string, string>, number] => [{ direction: 'downstream', ...labels }, value]),
    ]);
    mirroredCounter(r, 'retransmissions_total', 'Packets sent again to clients.', [], () => one(stats.retransmissions));
    mirroredCounter(r, 'congestion_total', 'Requests refused with "rejected: congestion", by the limit that refused.', ['limit'], () =>
      byLabel('limit', stats.congestionByLimit),
    );
    mirroredCounter(r, 'messages_not_delivered_total', 'Messages for clients that were not delivered, by cause.', ['cause'], () => [
      [{ cause: 'qos0_queue_full' }, stats.droppedQos0],
      [{ cause: 'qos12_queue_full' }, stats.refusedQos12],
      [{ cause: 'retries_exhausted_or_refused' }, stats.undelivered],
    ]);
    mirroredCounter(r, 'messages_held_total', 'Messages from the broker that waited for room in a client queue, their acknowledgement held.', [], () =>
      one(stats.held),
    );
    mirroredCounter(r, 'clients_lost_total', 'Clients declared lost (keep-alive or sleep ran out).', [], () => one(stats.lost));
    mirroredGauge(r, 'buffered_messages', 'Messages queued for clients.', [], () => one(source.buffered().messages));
    mirroredGauge(r, 'buffered_bytes', 'Octets of the messages queued for clients.', [], () => one(source.buffered().bytes));
    mirroredGauge(r, 'broker_connected', '1 while the broker connection is up.', [], () => one(source.health().broker ? 1 : 0));
    mirroredGauge(r, 'udp_bound', '1 while the UDP socket is bound.', [], () => one(source.health().udp ? 1 : 0));
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    // Measured between two scrapes; scrapes closer together than one sample show the last figures again.
    let lag: Array<[Record<string, string>, number]> = ['0.5', '0.99', '1'].map((quantile) => [{ quantile }, 0]);
    mirroredGauge(r, 'event_loop_lag_seconds', 'Event-loop delay since the last scrape (p50, p99, max).', ['quantile'], () => {
      const h = this.loopDelay;
      if (h.count > 0) {
        lag = [
          [{ quantile: '0.5' }, h.percentile(50) / 1e9],
          [{ quantile: '0.99' }, h.percentile(99) / 1e9],
          [{ quantile: '1' }, h.max / 1e9],
        ];
        h.reset();
      }
      return lag;
    });
    mirroredGauge(r, 'resident_memory_bytes', 'Resident set size of the gateway process.', [], () => one(process.memoryUsage().rss));
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.loopDelay.disable();
    this.registry.clear();
  }
}

export interface MetricsServer {
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /health` (200 while the
 * UDP socket is bound and the broker reachable, 503 otherwise) on `host`
 * (loopback unless told otherwise).
 */
export async function startMetricsServer(source: MetricsSource, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const metrics = new GatewayMetrics(source);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    } else if (path === '/health') {
      const health = source.health();
      const ok = health.udp && health.broker;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...health })}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
    }
  });
  // Scrapers keep connections open: closing the gateway must not wait for them.
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    metrics.close();
    throw error;
  }
  const address = server.address() as { address: string; port: number };
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    async close() {
      metrics.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
