/**
 * The MQTT side of gateway tests: an MQTT.js client whose received messages
 * wait in an inbox until a test takes them.
 */
import * as mqtt from 'mqtt';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class MqttInbox {
  private messages: ReceivedMessage[] = [];
  private waiters: Array<{ topic: string; resolve: (m: ReceivedMessage) => void; timer: ReturnType<typeof setTimeout> }> = [];
  private readonly listener = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket): void => {
    const message = { topic, payload, qos: packet.qos, retain: packet.retain };
    const waiter = this.waiters.find((w) => w.topic === topic);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(message);
    } else {
      this.messages.push(message);
    }
  };

  /** Wraps `client` (its owner closes it); see connect() for one of its own. */
  constructor(
    readonly client: mqtt.MqttClient,
    private readonly owned = false,
  ) {
    client.on('message', this.listener);
  }

  static async connect(url: string, options: mqtt.IClientOptions = {}): Promise<MqttInbox> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
    return new MqttInbox(client, true);
  }

  async subscribe(filter: string, qos: 0 | 1 | 2 = 2): Promise<void> {
    await this.client.subscribeAsync(filter, { qos });
  }

  async unsubscribe(filter: string): Promise<void> {
    await this.client.unsubscribeAsync(filter);
  }

  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos, retain });
  }

  /** The next message on `topic`. */
  next(topic: string, timeoutMs = 10000): Promise<ReceivedMessage> {
    const index = this.messages.findIndex((m) => m.topic === topic);
    if (index >= 0) return Promise.resolve(this.messages.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no MQTT message on ${topic} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ topic, resolve, timer });
    });
  }

  /** True when no message on `topic` arrives within `ms`. */
  async none(topic: string, ms: number): Promise<boolean> {
    try {
      await this.next(topic, ms);
      return false;
    } catch {
      return true;
    }
  }

  clear(): void {
    this.messages = [];
  }

  async close(): Promise<void> {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.client.removeListener('message', this.listener);
    if (this.owned) await this.client.endAsync();
  }
}
