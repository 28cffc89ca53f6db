/**
 * The gateway of the engine benchmark (bench/engine.ts), in a process of its
 * own: started with the options given as JSON in argv[2], it reports its
 * address over IPC, answers memory questions (after a full collection) and
 * stops when asked.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { MqttSnGateway, type GatewayMode } from '../lib/gateway';
import { startGatewayWorkers } from '../lib/gateway/workers';
import { nativeUdpTransport } from '../lib/transport/native-udp';
import { udpTransport } from '../lib/transport/udp';

export interface GatewayChildOptions {
  mode: GatewayMode;
  /** Absent: the embedded broker. */
  broker?: string;
  engine: 'ts' | 'native';
  clients: number;
  /** Above 1: gateway processes sharing the port (lib/gateway/workers.ts, native engine). */
  workers?: number;
}

/** Limits that let `clients` sessions start at once from one address (the benchmark's loopback). */
const ONE_SOURCE = (clients: number): { sessionsPerSource: number; newSessionsPerSource: number; newSessionsTotal: number } => ({
  sessionsPerSource: clients,
  newSessionsPerSource: clients,
  newSessionsTotal: clients,
});

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]) as GatewayChildOptions;
  if ((options.workers ?? 1) > 1) {
    const group = await startGatewayWorkers(
      { host: '127.0.0.1', port: 0, mode: options.mode, logLevel: 'error', limits: { clients: options.clients, bufferedMessages: 1000, ...ONE_SOURCE(options.clients) }, ...(options.broker ? { broker: options.broker } : {}) },
      options.workers as number,
      () => undefined,
    );
    process.send?.({ ready: true, port: group.port, brokerUrl: group.brokerUrl });
    process.on('message', (message: { cmd: string }) => {
      if (message.cmd === 'stop') {
        void group.stop().then(() => {
          process.send?.({ stopped: true });
          process.disconnect?.();
        });
      }
    });
    return;
  }
  const gateway = new MqttSnGateway({
    host: '127.0.0.1',
    port: 0,
    mode: options.mode,
    logLevel: 'error',
    transport: options.engine === 'native' ? nativeUdpTransport : udpTransport,
    // Every client of the benchmark comes from 127.0.0.1: the per-source limits must let them all in.
    limits: { clients: options.clients, bufferedMessages: 1000, ...ONE_SOURCE(options.clients) },
    ...(options.broker ? { broker: options.broker } : {}),
  });
  await gateway.start();
  process.send?.({ ready: true, port: gateway.address().port, brokerUrl: gateway.brokerUrl });
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'memory') {
      collectGarbage();
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ rss, heapUsed, clients: gateway.clientCount, descriptors: fs.readdirSync('/proc/self/fd').length });
    } else if (message.cmd === 'stop') {
      void gateway.stop().then(() => {
        process.send?.({ stopped: true });
        process.disconnect?.();
      });
    }
  });
}

void main().catch((error: Error) => {
  process.send?.({ error: error.message });
  process.exitCode = 1;
});
