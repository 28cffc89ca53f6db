/**
 * The sensors of the engine benchmark (bench/engine.ts), in a process of their
 * own as real devices would be: raw MQTT-SN clients, one UDP socket each,
 * driven by messages from the parent over IPC. They send through the native
 * batched engine where it is available (so the load generator is not what
 * limits the rates), through node:dgram otherwise.
 *
 * - setup: each sensor CONNECTs and REGISTERs its own topic (tried 3 times);
 * - ingest: paced QoS 0 PUBLISHes at a total rate, round robin, payload = sensor index and sequence number;
 * - qos1: the first k sensors each keep one QoS 1 PUBLISH in flight, for a time;
 * - connect: `count` extra clients CONNECT and stay connected (memory per client).
 */
import { decode } from '../lib/codec';
import type { Packet } from '../lib/codec/packets';
import { nativeUdpAvailable, NativeUdpTransport } from '../lib/transport/native-udp';
import type { DatagramTransport } from '../lib/transport/types';
import { UdpTransport } from '../lib/transport/udp';

interface Sensor {
  transport: DatagramTransport;
  topicId: number;
  seq: number;
  msgId: number;
  /** The answer awaited: resolved by the next packet of this type. */
  waiting?: { type: string; resolve: (packet: Packet) => void };
  acked: number;
  inFlight: boolean;
}

type Command =
  | { cmd: 'setup'; port: number; sensors: number; prefix: string }
  | { cmd: 'ingest'; rate: number; ms: number }
  | { cmd: 'qos1'; sensors: number; ms: number }
  | { cmd: 'connect'; port: number; count: number; parallel: number }
  | { cmd: 'close' };

const sensors: Sensor[] = [];
const idle: DatagramTransport[] = [];
let gatewayPort = 0;
let onAck: ((sensor: Sensor) => void) | undefined;
const native = nativeUdpAvailable();
const to = (): { address: string; port: number } => ({ address: '127.0.0.1', port: gatewayPort });

async function open(onPacket: (packet: Packet) => void): Promise<DatagramTransport> {
  const transport: DatagramTransport = native ? new NativeUdpTransport() : new UdpTransport();
  transport.onReceive((batch) => {
    for (const datagram of batch) {
      let packet = datagram.packet;
      if (!packet && !datagram.error) {
        try {
          packet = decode(datagram.data);
        } catch {
          continue;
        }
      }
      if (packet) onPacket(packet);
    }
  });
  transport.onError(() => undefined);
  await transport.bind({ family: 4, address: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 20 });
  return transport;
}

function request(sensor: Sensor, packet: Packet, type: string): Promise<Packet | undefined> {
  return new Promise((resolve) => {
    let tries = 0;
    const attempt = (): void => {
      if (tries++ === 3) {
        sensor.waiting = undefined;
        return resolve(undefined);
      }
      const timer = setTimeout(attempt, 500);
      sensor.waiting = {
        type,
        resolve: (answer) => {
          clearTimeout(timer);
          sensor.waiting = undefined;
          resolve(answer);
        },
      };
      sensor.transport.sendPacket(packet, to());
    };
    attempt();
  });
}

function received(sensor: Sensor, packet: Packet): void {
  if (sensor.waiting && packet.type === sensor.waiting.type) return sensor.waiting.resolve(packet);
  if (packet.type === 'PUBACK' && sensor.inFlight && packet.msgId === sensor.msgId) {
    sensor.inFlight = false;
    sensor.acked++;
    onAck?.(sensor);
  }
}

async function setup(port: number, count: number, prefix: string): Promise<number> {
  gatewayPort = port;
  let ready = 0;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const sensor: Sensor = { transport: undefined as unknown as DatagramTransport, topicId: 0, seq: 0, msgId: 0, acked: 0, inFlight: false };
      sensor.transport = await open((packet) => received(sensor, packet));
      const connack = await request(sensor, { type: 'CONNECT', will: false, cleanSession: true, duration: 600, clientId: `${prefix}${i}` }, 'CONNACK');
      if (!connack || connack.type !== 'CONNACK' || connack.returnCode !== 0) return;
      const regack = await request(sensor, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: `bench/${prefix}/${i}` }, 'REGACK');
      if (!regack || regack.type !== 'REGACK' || regack.returnCode !== 0) return;
      sensor.topicId = regack.topicId;
      sensors[i] = sensor;
      ready++;
    }),
  );
  return ready;
}

function publish(sensor: Sensor, qos: 0 | 1, index: number): void {
  const payload = Buffer.allocUnsafe(8);
  payload.writeUInt32BE(index, 0);
  payload.writeUInt32BE(sensor.seq++, 4);
  if (qos === 1) {
    sensor.msgId = sensor.msgId === 0xffff ? 1 : sensor.msgId + 1;
    sensor.inFlight = true;
  }
  sensor.transport.sendPacket({ type: 'PUBLISH', dup: false, qos, retain: false, topicIdType: 0, topicId: sensor.topicId, msgId: qos === 1 ? sensor.msgId : 0, payload }, to());
}

/** Paced QoS 0: after each turn of the event loop, sends what is due by now. */
function ingest(rate: number, ms: number): Promise<number> {
  const live = sensors.filter(Boolean);
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    const step = (): void => {
      const elapsed = performance.now() - start;
      const due = Math.floor((Math.min(elapsed, ms) * rate) / 1000);
      while (sent < due) {
        const index = sent % live.length;
        publish(live[index], 0, sensors.indexOf(live[index]));
        sent++;
      }
      if (elapsed >= ms) return resolve(sent);
      setImmediate(step);
    };
    step();
  });
}

/** QoS 1, one PUBLISH in flight per sensor (the spec's rule); acknowledged messages in `ms`. */
function qos1(count: number, ms: number): Promise<{ acked: number; ms: number }> {
  const live = sensors.filter(Boolean).slice(0, count);
  for (const sensor of live) sensor.acked = 0;
  const start = performance.now();
  let stopped = false;
  onAck = (sensor) => {
    if (!stopped) publish(sensor, 1, sensors.indexOf(sensor));
  };
  for (const sensor of live) publish(sensor, 1, sensors.indexOf(sensor));
  return new Promise((resolve) =>
    setTimeout(() => {
      stopped = true;
      onAck = undefined;
      resolve({ acked: live.reduce((sum, s) => sum + s.acked, 0), ms: performance.now() - start });
    }, ms),
  );
}

/** `count` more clients that CONNECT and stay connected; how many got their CONNACK. */
async function connectMany(port: number, count: number, parallel: number): Promise<number> {
  gatewayPort = port;
  let next = 0;
  let connected = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const sensor: Sensor = { transport: undefined as unknown as DatagramTransport, topicId: 0, seq: 0, msgId: 0, acked: 0, inFlight: false };
      // node:dgram for these: thousands of idle sockets, where batching brings nothing.
      const transport = new UdpTransport();
      transport.onReceive((batch) => {
        for (const d of batch) {
          try {
            received(sensor, d.packet ?? decode(d.data));
          } catch {
            // not for us
          }
        }
      });
      transport.onError(() => undefined);
      await transport.bind({ family: 4, address: '127.0.0.1', port: 0 });
      sensor.transport = transport;
      idle.push(transport);
      const connack = await request(sensor, { type: 'CONNECT', will: false, cleanSession: true, duration: 3600, clientId: `idle${i}` }, 'CONNACK');
      if (connack?.type === 'CONNACK' && connack.returnCode === 0) connected++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return connected;
}

async function close(): Promise<void> {
  const all = [...sensors.filter(Boolean).map((s) => s.transport), ...idle];
  for (const transport of all) transport.sendPacket({ type: 'DISCONNECT' }, to());
  await Promise.all(all.map((t) => t.close()));
}

process.on('message', (message: Command) => {
  const reply = (value: unknown): void => {
    process.send?.(value);
  };
  switch (message.cmd) {
    case 'setup':
      void setup(message.port, message.sensors, message.prefix).then((ready) => reply({ ready, native }));
      break;
    case 'ingest':
      void ingest(message.rate, message.ms).then((sent) => reply({ sent }));
      break;
    case 'qos1':
      void qos1(message.sensors, message.ms).then(reply);
      break;
    case 'connect':
      void connectMany(message.port, message.count, message.parallel).then((connected) => reply({ connected }));
      break;
    case 'close':
      void close().then(() => {
        reply({ closed: true });
        process.disconnect?.();
      });
      break;
  }
});
