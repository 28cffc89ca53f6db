/**
 * Real MQTT brokers for the suites that need one upstream of the gateway:
 * mosquitto (from the system's packages) and the embedded aedes broker.
 *
 * mosquitto: when MQTTSN_TEST_MOSQUITTO_URL is set (as .ci/run does), that
 * broker is used; otherwise a private mosquitto is spawned on a free loopback
 * port and stopped again by stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { freeTcpPort, waitForTcp } from './net';

export interface RunningBroker {
  /** 'mosquitto' or 'embedded'. */
  readonly name: string;
  /** mqtt:// URL of the broker; undefined for 'embedded' (the gateway starts its own). */
  readonly url: string | undefined;
  stop(): Promise<void>;
}

const MOSQUITTO_PATHS = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

function mosquittoBinary(): string {
  const found = MOSQUITTO_PATHS.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error('mosquitto is not installed: `apt-get install mosquitto` (the gateway suites run against it)');
  }
  return found;
}

/** Starts (or reuses, see above) a mosquitto broker on 127.0.0.1. */
export async function startMosquitto(): Promise<RunningBroker> {
  const shared = process.env.MQTTSN_TEST_MOSQUITTO_URL;
  if (shared) return { name: 'mosquitto', url: shared, stop: async () => undefined };
  return startPrivateMosquitto();
}

/**
 * A mosquitto of the test's own, on `port` (a free one by default): for tests
 * that stop and restart the broker. With `persistenceDir`, persistent sessions
 * and their queued messages outlive a stop (SIGTERM saves them) and a start
 * with the same directory.
 */
export async function startPrivateMosquitto(port?: number, persistenceDir?: string): Promise<RunningBroker> {
  port ??= await freeTcpPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  const persistence = persistenceDir ? `persistence true\npersistence_location ${persistenceDir}/\n` : 'persistence false\n';
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n${persistence}`);
  const child: ChildProcess = spawn(mosquittoBinary(), ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForTcp(port);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name: 'mosquitto',
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The embedded broker needs no process: the gateway starts it itself. */
export function embeddedBroker(): RunningBroker {
  return { name: 'embedded', url: undefined, stop: async () => undefined };
}

/** The brokers every end-to-end suite runs over, in order. */
export const BROKER_KINDS = ['embedded', 'mosquitto'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

/**
 * For the long soaks: the broker of this pass (the embedded one with
 * MQTTSN_NATIVE=1, mosquitto with 0), so that `npm test` runs each soak
 * against both brokers once; both when mocha runs without MQTTSN_NATIVE.
 */
export function soakBrokerKinds(): readonly BrokerKind[] {
  const pass = process.env.MQTTSN_NATIVE;
  if (pass === '1') return ['embedded'];
  if (pass === '0') return ['mosquitto'];
  return BROKER_KINDS;
}

export async function startBroker(kind: BrokerKind): Promise<RunningBroker> {
  return kind === 'mosquitto' ? startMosquitto() : embeddedBroker();
}

export interface CountingBroker {
  url: string;
  /** TCP connections accepted so far. */
  accepted(): number;
  /** TCP connections open now. */
  open(): number;
  /** Client ids with an open MQTT connection, as often as each is open. */
  clientIds(): string[];
  close(): Promise<void>;
}

/**
 * An aedes broker in this process that counts its connections, for tests of
 * what the gateway opens and closes at the broker. `refuse(topic)` true makes
 * it refuse a publish (aedes then closes the connection that sent it).
 */
export async function countingAedes(refuse: (topic: string) => boolean = () => false): Promise<CountingBroker> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker({
    authorizePublish: (_client, packet, callback) => callback(refuse(packet.topic) ? new Error('refused') : null),
  });
  const connected = new Map<string, number>();
  aedes.on('client', (client) => connected.set(client.id, (connected.get(client.id) ?? 0) + 1));
  aedes.on('clientDisconnect', (client) => {
    const n = (connected.get(client.id) ?? 1) - 1;
    if (n > 0) connected.set(client.id, n);
    else connected.delete(client.id);
  });
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    clientIds: () => [...connected].flatMap(([id, n]) => Array<string>(n).fill(id)),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
