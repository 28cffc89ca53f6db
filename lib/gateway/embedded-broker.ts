/**
 * The in-process MQTT broker (aedes) used when no broker URL is configured.
 * The gateway's own connections reach it through in-memory streams (no socket,
 * no file descriptor per client; aedes still owns sessions, wills and retained
 * messages); it also listens on TCP 127.0.0.1 so that MQTT clients can reach it.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { memoryPipe } from './memory-pipe';

export interface EmbeddedBroker {
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  /** A new in-memory connection to the broker: the stream an MQTT client speaks over. */
  connect(): Duplex;
  /** Publishes at QoS 0 as the broker itself (no client, so `$SYS/...` is allowed). */
  publish(topic: string, payload: Buffer): void;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number): Promise<EmbeddedBroker> {
  // aedes is an ES module: a real dynamic import (kept as such in CommonJS output).
  const { Aedes } = await import('aedes');
  // No cap on deliveries in flight (aedes' default is 100, the rest queued): its
  // queue drains recursively, one stack frame per queued message that matches no
  // subscriber, and thousands queued behind a slow subscriber overflow the stack.
  // Without the cap nothing queues; each publisher is still held back by its own
  // connection until its deliveries are done, and one slow subscriber no longer
  // stalls every other delivery.
  const aedes = await Aedes.createBroker({ concurrency: 0 });
  const streams = new Set<Duplex>();
  const serve = (stream: Duplex): void => {
    streams.add(stream);
    stream.on('close', () => streams.delete(stream));
    aedes.handle(stream);
  };
  const server = net.createServer(serve);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }
  const { port: bound } = server.address() as net.AddressInfo;
  let closed = false;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    connect() {
      const [client, broker] = memoryPipe();
      if (closed) broker.destroy();
      else serve(broker);
      return client;
    },
    publish(topic, payload) {
      aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, () => undefined);
    },
    async close() {
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const stream of streams) stream.destroy();
      await stopped;
    },
  };
}
