/**
 * What every DatagramTransport promises, as one suite: call
 * transportSuite() with a factory for each implementation (udp, memory, and
 * any other transport added later). Traffic stays on loopback.
 */
import * as assert from 'node:assert';
import { decode } from '../../lib/codec';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import type { Endpoint } from '../../lib/transport/endpoint';
import type { BindOptions, DatagramTransport, ReceivedDatagram } from '../../lib/transport/types';
import { delay } from '../helpers/mqtt-inbox';
import { until } from '../helpers/until';

export interface TransportSuiteSubject {
  /** Makes a fresh transport (one call per transport of a test). */
  make(): DatagramTransport;
  /** Called after each test, once its transports are closed. */
  cleanup?(): Promise<void> | void;
  /** Whether it runs over IPv6 loopback (::1). */
  ipv6: boolean;
  /** Whether it joins multicast groups on the loopback interface. */
  multicast: boolean;
  /** Whether bind() takes reusePort (false: it rejects with a coded error). */
  reusePort: boolean;
}

/** A bound transport and everything that reached it. */
interface Peer {
  transport: DatagramTransport;
  batches: ReceivedDatagram[][];
  errors: MqttSnError[];
  address: Endpoint;
}

function received(peer: Peer): ReceivedDatagram[] {
  return peer.batches.flat();
}

export function transportSuite(name: string, subject: TransportSuiteSubject): void {
  describe(`datagram transport: ${name}`, function () {
    this.timeout(15000);
    const open: DatagramTransport[] = [];

    function fresh(): DatagramTransport {
      const transport = subject.make();
      open.push(transport);
      return transport;
    }

    async function peer(options: Partial<BindOptions> = {}): Promise<Peer> {
      const transport = fresh();
      const batches: ReceivedDatagram[][] = [];
      const errors: MqttSnError[] = [];
      transport.onReceive((batch) => batches.push([...batch]));
      transport.onError((error) => errors.push(error));
      await transport.bind({ family: 4, address: '127.0.0.1', port: 0, ...options });
      const local = transport.localAddress();
      assert.ok(local);
      const address = { address: options.address || '127.0.0.1', port: local.port };
      return { transport, batches, errors, address };
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
      await subject.cleanup?.();
    });

    it('binds a free port on loopback, reports it while bound and forgets it after close', async () => {
      const a = await peer();
      assert.strictEqual(a.transport.bound, true);
      assert.strictEqual(a.transport.localAddress()?.address, '127.0.0.1');
      assert.ok(a.address.port > 0);
      await a.transport.close();
      assert.strictEqual(a.transport.bound, false);
      assert.strictEqual(a.transport.localAddress(), undefined);
    });

    it('delivers a burst in order, from the sender address, in fewer batches than datagrams', async () => {
      const a = await peer();
      const b = await peer();
      for (let i = 0; i < 20; i++) a.transport.send(Buffer.from([i]), b.address);
      await until(() => received(b).length === 20, 'twenty datagrams');
      assert.deepStrictEqual(received(b).map((d) => d.data[0]), [...Array(20).keys()]);
      for (const datagram of received(b)) assert.deepStrictEqual(datagram.from, a.address);
      assert.ok(b.batches.length < 20, `${b.batches.length} batches`);
      assert.ok(b.batches.every((batch) => batch.length > 0));
      assert.deepStrictEqual(b.errors, []);
    });

    it('keeps the order towards each of several destinations', async () => {
      const a = await peer();
      const b = await peer();
      const c = await peer();
      for (let i = 0; i < 10; i++) {
        a.transport.send(Buffer.from([i]), b.address);
        a.transport.send(Buffer.from([100 + i]), c.address);
      }
      await until(() => received(b).length === 10 && received(c).length === 10, 'both bursts');
      assert.deepStrictEqual(received(b).map((d) => d.data[0]), [...Array(10).keys()]);
      assert.deepStrictEqual(received(c).map((d) => d.data[0]), [...Array(10).keys()].map((i) => 100 + i));
    });

    it('encodes packets with sendPacket and returns their size; an invalid packet throws a coded error', async () => {
      const a = await peer();
      const b = await peer();
      const size = a.transport.sendPacket({ type: 'SEARCHGW', radius: 3 }, b.address);
      assert.strictEqual(size, 3);
      await until(() => received(b).length === 1, 'SEARCHGW');
      assert.deepStrictEqual(decode(received(b)[0].data), { type: 'SEARCHGW', radius: 3 });
      assert.throws(
        () => a.transport.sendPacket({ type: 'REGACK', topicId: 1, msgId: 0, returnCode: 0 }, b.address),
        (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.INVALID_MSG_ID,
      );
    });

    it('answers the other side: a reply to `from` reaches the sender', async () => {
      const a = await peer();
      const b = await peer();
      b.transport.onReceive((batch) => {
        for (const datagram of batch) b.transport.send(Buffer.concat([Buffer.from('re:'), datagram.data]), datagram.from);
      });
      a.transport.send(Buffer.from('ping'), b.address);
      await until(() => received(a).length === 1, 'the reply');
      assert.strictEqual(received(a)[0].data.toString(), 're:ping');
    });

    it('sends what was queued before close, then receives nothing more; close may be called twice', async () => {
      const a = await peer();
      const b = await peer();
      a.transport.send(Buffer.from('last words'), b.address);
      const first = a.transport.close();
      const second = a.transport.close();
      await Promise.all([first, second]);
      await until(() => received(b).length === 1, 'the flushed datagram');
      assert.strictEqual(received(b)[0].data.toString(), 'last words');
      await b.transport.close();
      const c = await peer();
      c.transport.send(Buffer.from('too late'), b.address);
      await delay(100);
      assert.strictEqual(received(b).length, 1);
    });

    it('reports sends it cannot make through onError with coded errors, never by throwing', async () => {
      const a = await peer();
      const unbound = fresh();
      const unboundErrors: MqttSnError[] = [];
      unbound.onError((error) => unboundErrors.push(error));
      unbound.send(Buffer.from('x'), a.address);
      assert.deepStrictEqual(unboundErrors.map((e) => e.code), [ErrorCode.UDP_NOT_ACTIVE]);

      a.transport.send(Buffer.from('x'), { address: '127.0.0.1', port: 0 });
      assert.deepStrictEqual(a.errors.map((e) => e.code), [ErrorCode.INVALID_ARGUMENT]);
      a.transport.send(Buffer.alloc(70000), { address: '127.0.0.1', port: a.address.port });
      a.transport.send(Buffer.from('x'), { address: '::1', port: a.address.port });
      await until(() => a.errors.length === 3, 'the failed sends');
      assert.deepStrictEqual(a.errors.slice(1).map((e) => e.code), [ErrorCode.SOCKET_ERROR, ErrorCode.SOCKET_ERROR]);

      await a.transport.close();
      a.transport.send(Buffer.from('x'), { address: '127.0.0.1', port: 9 });
      assert.strictEqual(a.errors.at(-1)?.code, ErrorCode.UDP_NOT_ACTIVE);
    });

    it('refuses a port in use with SOCKET_ERROR, shares it with reuseAddress, and binds only once', async () => {
      const a = await peer();
      await assert.rejects(peer({ port: a.address.port }), (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.SOCKET_ERROR);
      const shared = await peer({ address: '', reuseAddress: true });
      const other = await peer({ address: '', port: shared.address.port, reuseAddress: true });
      assert.strictEqual(other.address.port, shared.address.port);
      await assert.rejects(a.transport.bind({ family: 4 }), (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.UDP_ALREADY_ACTIVE);
    });

    it(subject.reusePort ? 'binds with reusePort' : 'refuses reusePort with a coded error', async () => {
      const binding = peer({ reusePort: true });
      if (subject.reusePort) await binding;
      else await assert.rejects(binding, (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.SOCKET_ERROR);
    });

    it('binds with broadcast and buffer sizes, and takes ref and unref before and after bind', async () => {
      const transport = fresh();
      transport.unref();
      transport.ref();
      await transport.bind({ family: 4, address: '127.0.0.1', broadcast: true, receiveBufferBytes: 1 << 20, sendBufferBytes: 1 << 18 });
      transport.unref();
      transport.ref();
      assert.strictEqual(transport.bound, true);
    });

    if (subject.ipv6) {
      it('carries datagrams over IPv6 loopback', async () => {
        const a = await peer({ family: 6, address: '::1' });
        const b = await peer({ family: 6, address: '::1' });
        a.transport.send(Buffer.from('six'), b.address);
        await until(() => received(b).length === 1, 'the IPv6 datagram');
        assert.strictEqual(received(b)[0].data.toString(), 'six');
        assert.strictEqual(received(b)[0].from.port, a.address.port);
      });
    }

    if (subject.multicast) {
      it('delivers multicast to a member of the group, and refuses a group that is not one', async () => {
        const group = '239.255.77.11';
        const member = await peer({ address: '', reuseAddress: true });
        member.transport.addMembership(group, '127.0.0.1');
        const sender = await peer();
        sender.transport.setMulticastInterface('127.0.0.1');
        sender.transport.send(Buffer.from('to the group'), { address: group, port: member.address.port });
        await until(() => received(member).length === 1, 'the multicast datagram');
        assert.strictEqual(received(member)[0].data.toString(), 'to the group');
        assert.deepStrictEqual(received(member)[0].from, sender.address);
        assert.throws(() => member.transport.addMembership('127.0.0.1'), (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.SOCKET_ERROR);
      });
    }
  });
}
