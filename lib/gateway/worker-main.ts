/**
 * One worker process of `mqtt-sn-gateway --workers N` (see workers.ts): runs a
 * gateway on the native UDP transport with the port shared (SO_REUSEPORT),
 * sends its logs and figures to the primary and stops when told.
 */
import { nativeUdpTransport } from '../transport/native-udp';
import type { DatagramTransport } from '../transport/types';
import { MqttSnGateway, type GatewayLogEntry } from './gateway';
import type { PrimaryMessage, WorkerMessage, WorkerReport } from './workers';

const REPORT_INTERVAL_MS = 1000;

/** A native transport whose bind always shares the port. */
function sharingPort(): DatagramTransport {
  const transport = nativeUdpTransport();
  const bind = transport.bind.bind(transport);
  transport.bind = (options) => bind({ ...options, reusePort: true });
  return transport;
}

function tell(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

let gateway: MqttSnGateway | undefined;
let reporting: ReturnType<typeof setInterval> | undefined;

function report(): void {
  if (!gateway) return;
  const figures: WorkerReport = {
    stats: gateway.stats,
    sessionStates: gateway.sessionStates(),
    buffered: gateway.buffered(),
    health: gateway.health(),
  };
  tell({ report: figures });
}

async function start(message: Extract<PrimaryMessage, { start: unknown }>): Promise<void> {
  gateway = new MqttSnGateway({ ...message.start, transport: sharingPort });
  gateway.on('log', (entry: GatewayLogEntry) => tell({ log: entry }));
  gateway.on('error', () => undefined); // logged already
  try {
    await gateway.start();
  } catch (error) {
    tell({ failed: (error as Error).message });
    if (process.connected) process.disconnect();
    return;
  }
  reporting = setInterval(report, REPORT_INTERVAL_MS);
  report();
  tell({ ready: true });
}

async function stop(): Promise<void> {
  if (reporting) clearInterval(reporting);
  reporting = undefined;
  report();
  await gateway?.stop();
  if (process.connected) process.disconnect();
}

process.on('message', (message: PrimaryMessage) => {
  if ('start' in message) void start(message);
  else if ('reload' in message) {
    try {
      gateway?.reload(message.reload);
    } catch (error) {
      tell({ log: { level: 'error', message: `configuration not reloaded: ${(error as Error).message}` } });
    }
  }
  else if ('stop' in message) void stop();
});
// The primary went away: stop with it.
process.on('disconnect', () => {
  if (reporting) void stop();
});
// Signals go to the whole process group from a terminal: the primary decides when workers stop.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop());
