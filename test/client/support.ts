/**
 * Shared set-up for the client suites: a real gateway (with a real broker
 * behind it) on the network under test (UDP or the in-memory network, the
 * clients on the same one), clients with short test timings, and event
 * waiting. Each suite is one function run once per network (NETS).
 */
import { MqttSnGateway } from '../../lib/gateway';
import type { GatewayOptions } from '../../lib/gateway';
import { MQTTSN } from '../../lib/client';
import type { MqttSnClientEvents } from '../../lib/client';
import { startBroker, type BrokerKind, type RunningBroker } from '../helpers/brokers';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { UDP_NET, type NetUnderTest, type OpenNet } from '../helpers/nets';
import type { TransportFactory } from '../../lib/transport/types';
import { udpTransport } from '../../lib/transport/udp';

export { NETS, type NetUnderTest } from '../helpers/nets';

/**
 * How clients reach the rig's gateway: plain datagrams, or DTLS with the
 * gateway's listener settings and the client settings that match them.
 */
export interface Link {
  /** Shown in suite titles. */
  name: string;
  /** The gateway's DTLS listener (DTLS only, on a free port). */
  dtls?: NonNullable<GatewayOptions['dtls']>;
  /** config() settings every client of the rig gets. */
  clientSettings: string[];
}

export const PLAIN: Link = { name: 'plain', clientSettings: [] };

export interface Rig {
  gateway: MqttSnGateway;
  broker: RunningBroker;
  port: number;
  inbox: MqttInbox;
  clients: MQTTSN[];
  /** The network the gateway and the clients share: pass its transport to anything else a test starts. */
  net: OpenNet;
  /** A client with short timings, closed by stop(). */
  client(settings?: string[]): MQTTSN;
  stop(): Promise<void>;
}

/** Timings short enough for tests, long enough for a loaded machine. */
export const FAST_SETTINGS = ['RetryInterval=0.3', 'RetryCount=3', 'PingTimeout=0.3', 'ConnectionTimeout=5', 'CongestionDelay=0.2'];

export function newClient(settings: string[] = [], transport?: TransportFactory): MQTTSN {
  const client = new MQTTSN({ transport });
  client.timeout = 5;
  for (const setting of [...FAST_SETTINGS, ...settings]) client.config(setting);
  return client;
}

export async function startRig(kind: BrokerKind, options: GatewayOptions = {}, under: NetUnderTest = UDP_NET, link: Link = PLAIN): Promise<Rig> {
  const broker = await startBroker(kind);
  const net = under.open();
  const gateway = new MqttSnGateway({
    host: '127.0.0.1',
    port: 0,
    transport: net.transport,
    ...(broker.url ? { broker: broker.url } : {}),
    retry: { interval: 300, count: 3 },
    logLevel: 'error',
    ...options,
    ...(link.dtls ? { dtls: { ...link.dtls, port: 0, only: true } } : {}),
  });
  try {
    await gateway.start();
  } catch (err) {
    await broker.stop();
    net.close();
    throw err;
  }
  const inbox = await MqttInbox.connect(gateway.brokerUrl, { clientId: `inbox-${Math.random().toString(16).slice(2, 10)}` });
  const clients: MQTTSN[] = [];
  return {
    gateway,
    broker,
    port: link.dtls ? gateway.dtlsAddress().port : gateway.address().port,
    inbox,
    clients,
    net,
    client(settings: string[] = []) {
      const client = newClient([...link.clientSettings, ...settings], net.transport);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.reset();
      await inbox.close();
      await gateway.stop();
      await broker.stop();
      net.close();
    },
  };
}

/** A name no other test uses: `prefix` and a random suffix. */
export function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
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

/** A socket on `transport` (UDP by default) that records what reaches it (to prove nothing was sent). */
export async function udpListener(
  address = '127.0.0.1',
  transport: TransportFactory = udpTransport,
): Promise<{ port: number; received: Buffer[]; close(): Promise<void> }> {
  const socket = transport();
  const received: Buffer[] = [];
  socket.onReceive((batch) => received.push(...batch.map((d) => d.data)));
  await socket.bind({ family: 4, address, port: 0 });
  return {
    port: socket.localAddress()?.port ?? 0,
    received,
    close: () => socket.close(),
  };
}
