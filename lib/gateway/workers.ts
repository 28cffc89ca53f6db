/**
 * A gateway over several processes (`mqtt-sn-gateway --workers N`): N worker
 * processes each run a gateway whose native UDP socket shares the port with
 * SO_REUSEPORT, so the kernel spreads clients over them and keeps each
 * client's address on one worker (its session lives there). Only the first
 * worker answers discovery: broadcast and multicast reach every worker, and
 * its socket (bound first, with searchToFirst) gets every unicast SEARCHGW. With the embedded broker, this (primary) process
 * hosts it and the workers connect to it. The workers' logs come out here,
 * and their figures are merged here for /metrics and the stats topics.
 *
 * node:dgram cannot set SO_REUSEPORT, so this needs the native addon.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { ErrorCode, MqttSnError } from '../errors';
import { nativeUdpEnabled, NativeUdpTransport } from '../transport/native-udp';
import { resolveHost } from '../transport/endpoint';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker';
import type { GatewayLogEntry } from './gateway';
import type { MetricsSource } from './metrics';
import type { GatewayOptions } from './options';
import { createStats, type GatewayStats } from './stats';

/** What a worker reports about itself every second (and when asked). */
export interface WorkerReport {
  stats: GatewayStats;
  sessionStates: Record<string, number>;
  buffered: { messages: number; bytes: number };
  health: { udp: boolean; broker: boolean };
}

/** Messages from a worker process. */
export type WorkerMessage = { ready: true } | { failed: string } | { log: GatewayLogEntry } | { report: WorkerReport };

/** What the primary sends a worker: its options (no functions), options to reload, or stop. */
export type PrimaryMessage = { start: GatewayOptions; index: number } | { reload: GatewayOptions } | { stop: true };

export interface GatewayWorkers extends MetricsSource {
  readonly port: number;
  readonly brokerUrl: string;
  readonly count: number;
  /** Hands reloaded options (pre-defined topics, limits, retry, log level) to every worker. */
  reload(options: GatewayOptions): void;
  stop(): Promise<void>;
}

const REPORT_TIMEOUT_MS = 30_000;

/** Why `--workers n` cannot run here, or undefined. */
export function workersRefusal(count: number): string | undefined {
  if (count <= 1) return undefined;
  if (!nativeUdpEnabled()) {
    const off = process.env.MQTTSN_NATIVE === '0' ? ' (MQTTSN_NATIVE=0 turns it off)' : '';
    return `--workers ${count} needs the native addon${off}: the workers share the UDP port with SO_REUSEPORT, which node:dgram cannot set. Install a build with the addon (a prebuilt binary or npx node-gyp rebuild), or run one process (--workers 1).`;
  }
  return undefined;
}

/** Adds numbers found at the same place in `into` and `from` (the figures of several workers). */
function addFigures(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === 'number') into[key] = ((into[key] as number | undefined) ?? 0) + value;
    else if (value && typeof value === 'object') {
      const inner = (into[key] ?? {}) as Record<string, unknown>;
      addFigures(inner, value as Record<string, unknown>);
      into[key] = inner;
    }
  }
}

/** A free UDP port on `host` that sockets with SO_REUSEPORT can share. */
async function freeSharedPort(host: string): Promise<number> {
  const { family } = await resolveHost(host);
  const probe = new NativeUdpTransport();
  await probe.bind({ family, address: host, port: 0, reusePort: true });
  const port = probe.localAddress()?.port ?? 0;
  await probe.close();
  return port;
}

/**
 * Starts `count` gateway workers with `options`. `log` receives every
 * worker's log entries (with `worker` set). Rejects with a coded error when
 * the addon is missing or a worker cannot start (the others are stopped).
 */
export async function startGatewayWorkers(options: GatewayOptions, count: number, log: (entry: GatewayLogEntry & { worker?: number }) => void): Promise<GatewayWorkers> {
  const refusal = workersRefusal(count);
  if (refusal) throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, refusal);
  if (options.statsTopics) throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, 'Stats topics are not published with several workers; use the merged /metrics (--metrics-port) instead.');
  if (options.sessionStore !== undefined) throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, 'A session store belongs to one process: several workers cannot share it.');
  // The workers make their own transport; this process serves the merged /metrics.
  const { transport: _transport, metrics: _metrics, ...plain } = options;
  const host = plain.host ?? '0.0.0.0';
  let embedded: EmbeddedBroker | undefined;
  if (!plain.broker) {
    embedded = await startEmbeddedBroker(plain.embeddedBrokerPort ?? 0);
    log({ level: 'info', message: `embedded MQTT broker listening on ${embedded.url} (shared by ${count} workers)` });
  }
  const brokerUrl = plain.broker ?? (embedded as EmbeddedBroker).url;
  const port = plain.port === 0 ? await freeSharedPort(host) : (plain.port ?? 1884);
  const reports: Array<WorkerReport | undefined> = new Array<WorkerReport | undefined>(count).fill(undefined);
  const children: ChildProcess[] = [];
  let stopping = false;
  const entry = path.join(__dirname, 'worker-main.js');

  const startOne = (index: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children[index] = child;
      let started = false;
      child.on('message', (message: WorkerMessage) => {
        if ('ready' in message) {
          started = true;
          resolve();
        } else if ('failed' in message) {
          reject(new MqttSnError(ErrorCode.SOCKET_ERROR, `gateway worker ${index} could not start: ${message.failed}`));
        } else if ('log' in message) {
          log({ ...message.log, worker: index });
        } else if ('report' in message) {
          reports[index] = message.report;
        }
      });
      child.on('exit', (code, signal) => {
        if (!started) reject(new MqttSnError(ErrorCode.SOCKET_ERROR, `gateway worker ${index} ended while starting (${signal ?? code})`));
        else if (!stopping) log({ level: 'error', message: `gateway worker ${index} ended (${signal ?? code}); its clients will reconnect to the others`, worker: index });
      });
      const start: PrimaryMessage = {
        index,
        start: { ...plain, host, port, broker: brokerUrl, ...(index === 0 ? {} : { advertise: undefined, discovery: false }) },
      };
      child.send(start);
    });

  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), REPORT_TIMEOUT_MS);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            if (child.connected) child.send({ stop: true } satisfies PrimaryMessage);
            else child.kill();
          }),
      ),
    );
    await embedded?.close();
  };

  try {
    // One after the other: the first must own discovery before the others share the port.
    for (let i = 0; i < count; i++) await startOne(i);
  } catch (error) {
    await stopAll();
    throw error;
  }
  log({ level: 'info', message: `${count} gateway workers share udp ${host}:${port}, broker ${brokerUrl}` });

  const merged = <T extends object>(pick: (report: WorkerReport) => T, empty: T): T => {
    const total = JSON.parse(JSON.stringify(empty)) as Record<string, unknown>;
    for (const report of reports) if (report) addFigures(total, pick(report) as Record<string, unknown>);
    return total as T;
  };
  // One object, brought up to date in place: /metrics holds on to it.
  const stats = createStats();
  const refresh = (): void => {
    Object.assign(stats, merged((r) => r.stats, createStats()));
  };
  for (const child of children) child.on('message', (message: WorkerMessage) => 'report' in message && refresh());
  refresh();
  return {
    port,
    brokerUrl,
    count,
    stats,
    sessionStates: () => merged((r) => r.sessionStates, {}),
    buffered: () => merged((r) => r.buffered, { messages: 0, bytes: 0 }),
    health: () => ({
      udp: reports.every((r) => r?.health.udp === true),
      broker: reports.every((r) => r?.health.broker === true),
    }),
    reload(next: GatewayOptions) {
      const { transport: _t, metrics: _m, ...rest } = next;
      for (const child of children) if (child.connected) child.send({ reload: rest } satisfies PrimaryMessage);
    },
    stop: stopAll,
  };
}
