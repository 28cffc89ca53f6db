/**
 * What only the in-memory network does: seeded loss, duplication, reordering
 * and delay, per link or direction, interceptors, broadcast, statistics.
 */
import * as assert from 'node:assert';
import { ErrorCode, type MqttSnError } from '../../lib/errors';
import type { Endpoint } from '../../lib/transport/endpoint';
import { MemoryNetwork, type LinkConditions, type MemoryNetworkOptions } from '../../lib/transport/memory';
import type { BindOptions, DatagramTransport, ReceivedDatagram } from '../../lib/transport/types';
import { delay } from '../helpers/mqtt-inbox';
import { until } from '../helpers/until';

interface Node {
  transport: DatagramTransport;
  got: ReceivedDatagram[];
  errors: MqttSnError[];
  at: Endpoint;
}

describe('memory network', function () {
  this.timeout(15000);
  const networks: MemoryNetwork[] = [];
  const transports: DatagramTransport[] = [];

  function network(options: MemoryNetworkOptions = {}): MemoryNetwork {
    const made = new MemoryNetwork(options);
    networks.push(made);
    return made;
  }

  async function node(on: MemoryNetwork, options: Partial<BindOptions> = {}): Promise<Node> {
    const transport = on.transport();
    transports.push(transport);
    const got: ReceivedDatagram[] = [];
    const errors: MqttSnError[] = [];
    transport.onReceive((batch) => got.push(...batch));
    transport.onError((error) => errors.push(error));
    await transport.bind({ family: 4, address: '127.0.0.1', ...options });
    return { transport, got, errors, at: { address: options.address || '127.0.0.1', port: transport.localAddress()?.port ?? 0 } };
  }

  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    for (const n of networks.splice(0)) n.close();
  });

  /** Sends `count` numbered datagrams a → b over a network with `conditions`; returns what b got, in order. */
  async function run(conditions: LinkConditions, count: number, seed = 7): Promise<{ got: number[]; net: MemoryNetwork }> {
    const net = network({ seed, conditions });
    const a = await node(net);
    const b = await node(net);
    for (let i = 0; i < count; i++) a.transport.send(Buffer.from(String(i)), b.at);
    await until(() => net.stats.sent === count, 'all sent');
    await net.settled();
    await until(() => b.got.length === net.stats.delivered, 'all delivered');
    return { got: b.got.map((d) => Number(d.data.toString())), net };
  }

  it('loses about the share it is told to, the same datagrams for the same seed', async () => {
    const first = await run({ loss: 0.2 }, 1000);
    const again = await run({ loss: 0.2 }, 1000);
    const other = await run({ loss: 0.2 }, 1000, 8);
    assert.ok(first.net.stats.lost > 150 && first.net.stats.lost < 250, `${first.net.stats.lost} lost`);
    assert.strictEqual(first.got.length + first.net.stats.lost, 1000);
    assert.deepStrictEqual(again.got, first.got);
    assert.notDeepStrictEqual(other.got, first.got);
    assert.deepStrictEqual(first.got, [...first.got].sort((x, y) => x - y));
  });

  it('duplicates about the share it is told to, each copy right after the first', async () => {
    const { got, net } = await run({ duplicate: 0.1 }, 1000);
    assert.ok(net.stats.duplicated > 60 && net.stats.duplicated < 140, `${net.stats.duplicated} duplicated`);
    assert.strictEqual(got.length, 1000 + net.stats.duplicated);
    assert.deepStrictEqual([...new Set(got)], [...Array(1000).keys()]);
  });

  it('reorders about the share it is told to: a held datagram arrives after the next, nothing lost', async () => {
    const { got, net } = await run({ reorder: 0.1 }, 1000);
    assert.ok(net.stats.reordered > 50 && net.stats.reordered < 150, `${net.stats.reordered} reordered`);
    assert.deepStrictEqual([...got].sort((x, y) => x - y), [...Array(1000).keys()]);
    const swaps = got.filter((n, i) => i > 0 && n < got[i - 1]).length;
    assert.strictEqual(swaps, net.stats.reordered);
  });

  it('delays datagrams; settled() waits for them; jitter draws the same for the same seed', async () => {
    const started = Date.now();
    const { got, net } = await run({ delayMs: 40, jitterMs: 30 }, 50);
    assert.ok(Date.now() - started >= 40);
    assert.strictEqual(net.inFlight, 0);
    assert.deepStrictEqual([...got].sort((x, y) => x - y), [...Array(50).keys()]);
    const again = await run({ delayMs: 40, jitterMs: 30 }, 50);
    assert.deepStrictEqual(again.got.length, 50);
  });

  it('applies conditions to one direction only, and removes them again', async () => {
    const net = network();
    const a = await node(net);
    const b = await node(net);
    const remove = net.condition({ loss: 1 }, { from: a.at, to: b.at });
    a.transport.send(Buffer.from('lost'), b.at);
    b.transport.send(Buffer.from('kept'), a.at);
    await until(() => a.got.length === 1, 'b to a');
    assert.strictEqual(b.got.length, 0);
    assert.strictEqual(net.stats.lost, 1);
    remove();
    a.transport.send(Buffer.from('through'), b.at);
    await until(() => b.got.length === 1, 'a to b again');
    assert.strictEqual(b.got[0].data.toString(), 'through');
  });

  it('applies conditions to both directions of one link, leaving other links alone', async () => {
    const net = network();
    const a = await node(net);
    const b = await node(net);
    const c = await node(net);
    net.condition({ loss: 1 }, { from: a.at, to: b.at, bothWays: true });
    a.transport.send(Buffer.from('1'), b.at);
    b.transport.send(Buffer.from('2'), a.at);
    a.transport.send(Buffer.from('3'), c.at);
    await until(() => c.got.length === 1, 'a to c');
    await delay(20);
    assert.strictEqual(a.got.length + b.got.length, 0);
    assert.strictEqual(net.stats.lost, 2);
  });

  it('lets an interceptor drop, duplicate or replace chosen datagrams', async () => {
    const net = network();
    const a = await node(net);
    const b = await node(net);
    net.intercept(({ data }) => {
      const text = data.toString();
      if (text === 'drop') return 'drop';
      if (text === 'twice') return 'duplicate';
      if (text === 'swap') return { replace: Buffer.from('swapped') };
      return 'forward';
    }, { to: b.at });
    for (const text of ['drop', 'twice', 'swap', 'plain']) a.transport.send(Buffer.from(text), b.at);
    await until(() => b.got.length === 4, 'the intercepted burst');
    assert.deepStrictEqual(b.got.map((d) => d.data.toString()), ['twice', 'twice', 'swapped', 'plain']);
    assert.deepStrictEqual({ lost: net.stats.lost, duplicated: net.stats.duplicated }, { lost: 1, duplicated: 1 });
  });

  it('broadcasts to every transport on the port only when the sender allows broadcast', async () => {
    const net = network();
    const one = await node(net, { address: '', reuseAddress: true });
    const two = await node(net, { address: '', port: one.at.port, reuseAddress: true });
    const quiet = await node(net);
    const loud = await node(net, { broadcast: true });
    const to = { address: '255.255.255.255', port: one.at.port };
    quiet.transport.send(Buffer.from('no'), to);
    loud.transport.send(Buffer.from('yes'), to);
    await until(() => one.got.length === 1 && two.got.length === 1 && quiet.errors.length === 1, 'the broadcast and the refusal');
    assert.strictEqual(quiet.errors[0].code, ErrorCode.SOCKET_ERROR);
    assert.deepStrictEqual([one.got[0].data.toString(), two.got[0].data.toString()], ['yes', 'yes']);
  });

  it('counts datagrams to a port nobody holds as undeliverable, silently', async () => {
    const net = network();
    const a = await node(net);
    a.transport.send(Buffer.from('nobody'), { address: '127.0.0.1', port: 1 });
    await until(() => net.stats.undeliverable === 1, 'the undeliverable count');
    assert.deepStrictEqual(a.errors, []);
  });
});
