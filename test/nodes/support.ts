/**
 * What the node suites share: node-red-node-test-helper with Node-RED's own
 * runtime, a real gateway on an ephemeral loopback port, and small waits.
 */
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { MqttSnGateway } from '../../lib/gateway';

const load = createRequire(__filename);

export interface TestNode extends EventEmitter {
  id: string;
  receive(msg: Record<string, unknown>): void;
}

export interface NodeTestHelper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
}

export const helper = load('node-red-node-test-helper') as NodeTestHelper;
helper.init(load.resolve('node-red'));

/** The compiled node module, from its place beside this suite's output. */
export const mqttSnNodes: unknown = load(path.resolve(__dirname, '..', '..', 'nodes', 'mqtt-sn.js'));

export interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

interface SpyCall {
  thisValue: { id?: string } | undefined;
  args: Status[];
}

/** Records each status a node shows, and waits for one. */
export class StatusLog {
  readonly seen: Status[] = [];
  private waiters: { match: (s: Status) => boolean; resolve: () => void }[] = [];

  constructor(node: TestNode) {
    // Statuses shown before this log existed: the helper records every call in a spy.
    const spy = (helper as unknown as { _NodePrototype: { status: { getCalls(): SpyCall[] } } })._NodePrototype.status;
    for (const call of spy.getCalls()) {
      if (call.thisValue?.id === node.id) this.seen.push(call.args[0] ?? {});
    }
    node.on('call:status', (call: { args: Status[] }) => {
      const status = call.args[0] ?? {};
      this.seen.push(status);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(status)) return true;
        w.resolve();
        return false;
      });
    });
  }

  get last(): Status | undefined {
    return this.seen[this.seen.length - 1];
  }

  /** Resolves when the node shows fill/shape (now or later). */
  waitFor(fill: string, shape: string, timeoutMs = 8000): Promise<void> {
    const match = (s: Status) => s.fill === fill && s.shape === shape;
    if (this.last && match(this.last)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${fill} ${shape} status; saw ${JSON.stringify(this.seen)}`)), timeoutMs);
      this.waiters.push({ match, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

/** Puts every node but the config nodes on one tab, as the editor would. */
export function onTab(nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  return [{ id: 'tab', type: 'tab', label: 'test' }, ...nodes.map((n) => (n.type === 'mqtt-sn-broker' ? n : { ...n, z: 'tab' }))];
}

type Msg = Record<string, unknown>;

/** The next `input` a helper node receives (that `accept` accepts). */
export function nextMessage(node: TestNode, timeoutMs = 10000, accept: (msg: Msg) => boolean = () => true): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeListener('input', onInput);
      reject(new Error(`no message at ${node.id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onInput = (msg: Msg) => {
      if (!accept(msg)) return;
      clearTimeout(timer);
      node.removeListener('input', onInput);
      resolve(msg);
    };
    node.on('input', onInput);
  });
}

/** Collects the messages a helper node receives for `ms`. */
export async function messagesDuring(node: TestNode, ms: number): Promise<Record<string, unknown>[]> {
  const got: Record<string, unknown>[] = [];
  const onInput = (msg: Record<string, unknown>) => got.push(msg);
  node.on('input', onInput);
  await delay(ms);
  node.removeListener('input', onInput);
  return got;
}

/** Collects what a helper node receives from now until stop(). */
export function collect(node: TestNode): { readonly messages: Msg[]; stop(): Msg[] } {
  const messages: Msg[] = [];
  const onInput = (msg: Msg) => messages.push(msg);
  node.on('input', onInput);
  return {
    messages,
    stop: () => {
      node.removeListener('input', onInput);
      return messages;
    },
  };
}

/** Polls `check` until it holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startGateway(
  options: { port?: number; predefined?: Record<string, string>; clients?: number } = {},
): Promise<MqttSnGateway> {
  const gateway = new MqttSnGateway({
    host: '127.0.0.1',
    port: options.port ?? 0,
    predefined: options.predefined,
    limits: options.clients ? { clients: options.clients } : undefined,
    logLevel: 'error',
  });
  await gateway.start();
  return gateway;
}

export const PREDEFINED = { '1': 'test/predefined/one', '2': 'test/predefined/two' };

/** A config node for `port`, quick to time out so that failures show within a test. */
export function brokerNode(id: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    type: 'mqtt-sn-broker',
    host: '127.0.0.1',
    port,
    clientid: '',
    cleansession: true,
    keepalive: 60,
    predefined: JSON.stringify(PREDEFINED),
    maxInFlight: 1,
    retryInterval: 1,
    retryCount: 2,
    timeout: 3,
    logLevel: '0',
    ...extra,
  };
}

/** An in and an out node on the client `broker`, the in node wired to helper `h-<broker>`. */
export function roundTrip(broker: string, topic: string): Record<string, unknown>[] {
  return [
    { id: `in-${broker}`, type: 'mqtt-sn in', broker, topic, topicType: 'normal', qos: '1', datatype: 'utf8', wires: [[`h-${broker}`]] },
    { id: `out-${broker}`, type: 'mqtt-sn out', broker, topic, topicType: 'normal', qos: '1', retain: '' },
    { id: `h-${broker}`, type: 'helper' },
  ];
}

/** Waits until the in node of a roundTrip() on `broker` is subscribed, then sends `payload` out and back. */
export async function expectRoundTrip(broker: string, payload: string): Promise<void> {
  await new StatusLog(helper.getNode(`in-${broker}`)).waitFor('green', 'dot', 20000);
  const received = nextMessage(helper.getNode(`h-${broker}`), 15000);
  helper.getNode(`out-${broker}`).receive({ payload });
  assert.equal((await received).payload, payload);
}
