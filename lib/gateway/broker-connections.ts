/**
 * The gateway's MQTT connections to the broker, from the moment they are
 * made until their sockets are closed: at most one per client id at a time,
 * and none left behind. MQTT.js calls back from end() at once for a
 * connection that is still connecting, and that connection completes a moment
 * later and stays open; a storm of CONNECTs with one client id left such
 * orphans holding the id at the broker. Here a connection counts as closed
 * only when its socket is, and one abandoned while connecting is destroyed.
 */
import type * as mqtt from 'mqtt';

/** How long a graceful close may take before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2000;

interface Duplex {
  readonly closed?: boolean;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

function socketOf(client: mqtt.MqttClient): Duplex | undefined {
  return client.stream as unknown as Duplex | undefined;
}

/**
 * Ends `client` for good; resolves once its socket is closed. Graceful: with
 * DISCONNECT (the broker discards the will), waiting for unacknowledged
 * publishes, and for a connection still connecting to complete first, all
 * within CLOSE_GRACE_MS. Otherwise the socket is destroyed at once (a
 * connected client's will is then published).
 */
export function closeClient(client: mqtt.MqttClient, graceful: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = socketOf(client);
    if (!socket || socket.closed) {
      client.end(true);
      resolve();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (!graceful) {
      client.end(true);
      socket.destroy();
    } else if (client.connected) {
      client.end(false);
    } else {
      // Its CONNECT may be at the broker already: finish, then DISCONNECT, so no will is published.
      client.once('connect', () => client.end(false));
      client.once('error', () => socket.destroy());
    }
  });
}

export class BrokerConnections {
  /** Every connection whose socket is not closed yet, by client id, with a promise of that close. */
  private readonly byClientId = new Map<string, Map<mqtt.MqttClient, Promise<void>>>();
  private readonly closing = new Set<Promise<void>>();
  private count = 0;

  /** Sockets of client connections not closed yet. */
  get open(): number {
    return this.count;
  }

  /** Registers a connection just made (mqtt.connect). */
  add(clientId: string, client: mqtt.MqttClient): void {
    const socket = socketOf(client);
    if (!socket || socket.closed) return;
    let own = this.byClientId.get(clientId);
    if (!own) {
      own = new Map();
      this.byClientId.set(clientId, own);
    }
    const mine = own;
    this.count++;
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.count--;
        mine.delete(client);
        if (mine.size === 0 && this.byClientId.get(clientId) === mine) this.byClientId.delete(clientId);
        resolve();
      }),
    );
    own.set(client, closed);
  }

  /** Closes `client` for good (see closeClient); stop() waits for it. */
  close(client: mqtt.MqttClient, graceful: boolean): void {
    const done = closeClient(client, graceful);
    this.closing.add(done);
    void done.then(() => this.closing.delete(done));
  }

  /** Resolves once no connection of `clientId` is open; undefined when none is now. */
  whenClosed(clientId: string): Promise<void> | undefined {
    const own = this.byClientId.get(clientId);
    return own ? Promise.all(own.values()).then(() => undefined) : undefined;
  }

  async settle(): Promise<void> {
    await Promise.all([...this.closing]);
  }
}
