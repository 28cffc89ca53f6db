/**
 * Shared set-up for the client suites: a real gateway (with a real broker
 * behind it), clients with short test timings, and event waiting.
 */
import * as dgram from 'node:dgram';
import { MqttSnGateway } from '../../lib/gateway';
import type { GatewayOptions } from '../../lib/gateway';
import { MQTTSN } from '../../lib/client';
import type { MqttSnClientEvents } from '../../lib/client';
import { startBroker, type BrokerKind, type RunningBroker } from '../helpers/brokers';
import { MqttInbox } from '../helpers/mqtt-inbox';

export interface Rig {
  gateway: MqttSnGateway;
  broker: RunningBroker;
  port: number;
  inbox: MqttInbox;
  clients: MQTTSN[];
  /** A client with short timings, closed by stop(). */
  client(settings?: string[]): MQTTSN;
  stop(): Promise<void>;
}

/** Timings short enough for tests, long enough for a loaded machine. */
export const FAST_SETTINGS = ['RetryInterval=0.3', 'RetryCount=3', 'PingTimeout=0.3', 'ConnectionTimeout=5', 'CongestionDelay=0.2'];

export function newClient(settings: string[] = []): MQTTSN {
  const client = new MQTTSN();
  client.timeout = 5;
  for (const setting of [...FAST_SETTINGS, ...settings]) client.config(setting);
  return client;
}

export async function startRig(kind: BrokerKind, options: GatewayOptions = {}): Promise<Rig> {
  const broker = await startBroker(kind);
  const gateway = new MqttSnGateway({
    host: '127.0.0.1',
    port: 0,
    ...(broker.url ? { broker: broker.url } : {}),
    retry: { interval: 300, count: 3 },
    logLevel: 'error',
    ...options,
  });
  try {
    await gateway.start();
  } catch (err) {
    await broker.stop();
    throw err;
  }
  const inbox = await MqttInbox.connect(gateway.brokerUrl, { clientId: `inbox-${Math.random().toString(16).slice(2, 10)}` });
  const clients: MQTTSN[] = [];
  return {
    gateway,
    broker,
    port: gateway.address().port,
    inbox,
    clients,
    client(settings?: string[]) {
      const client = newClient(settings);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.reset();
      await inbox.close();
      await gateway.stop();
      await broker.stop();
    },
  };
}

/** The next `event` of `client`, or a rejection after `ms`. */
export function nextEvent<K extends keyof MqttSnClientEvents>(
  client: MQTTSN,
  event: K,
  ms = 3000,
  filter: (...args: MqttSnClientEvents[K]) => boolean = () => true,
): Promise<MqttSnClientEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: MqttSnClientEvents[K]): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      (client.off as (e: K, l: (...a: MqttSnClientEvents[K]) => void) => void)(event, listener);
      resolve(args[0]);
    };
    const timer = setTimeout(() => {
      (client.off as (e: K, l: (...a: MqttSnClientEvents[K]) => void) => void)(event, listener);
      reject(new Error(`no ${String(event)} event within ${ms} ms`));
    }, ms);
    (client.on as (e: K, l: (...a: MqttSnClientEvents[K]) => void) => void)(event, listener);
  });
}

/** Collects `messageIn` payloads as strings. */
export function collectMessages(client: MQTTSN): { texts: string[]; events: MqttSnClientEvents['messageIn'][0][] } {
  const sink = { texts: [] as string[], events: [] as MqttSnClientEvents['messageIn'][0][] };
  client.on('messageIn', (event) => {
    sink.texts.push(event.message.toString());
    sink.events.push(event);
  });
  return sink;
}

export async function waitFor(condition: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A UDP socket that records what reaches it (to prove nothing was sent). */
export async function udpListener(address = '127.0.0.1'): Promise<{ port: number; received: Buffer[]; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (datagram) => received.push(datagram));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return {
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
