/**
 * What only the native batched UDP engine does: decoding where datagrams land,
 * encoding the hot packets at the socket, batches read with recvmmsg, payload
 * slices that stay valid, and a port shared with SO_REUSEPORT. The behaviour
 * every transport shares is in the transport suite (transports.test.ts).
 */
import * as assert from 'node:assert';
import { tsCodec } from '../../lib/codec/ts-codec';
import type { Packet } from '../../lib/codec/packets';
import { MqttSnError } from '../../lib/errors';
import type { Endpoint } from '../../lib/transport/endpoint';
import { NativeUdpTransport } from '../../lib/transport/native-udp';
import { UdpTransport } from '../../lib/transport/udp';
import type { DatagramTransport, ReceivedDatagram } from '../../lib/transport/types';
import { until } from '../helpers/until';

describe('native-udp transport: the batched engine', function () {
  this.timeout(20000);
  const open: DatagramTransport[] = [];

  async function bound<T extends DatagramTransport>(
    transport: T,
    port = 0,
    reusePort = false,
    searchToFirst = false,
  ): Promise<{ transport: T; inbox: ReceivedDatagram[]; batches: number[]; address: Endpoint }> {
    open.push(transport);
    const inbox: ReceivedDatagram[] = [];
    const batches: number[] = [];
    transport.onReceive((batch) => {
      batches.push(batch.length);
      inbox.push(...batch);
    });
    await transport.bind({ family: 4, address: '127.0.0.1', port, reusePort, searchToFirst });
    return { transport, inbox, batches, address: { address: '127.0.0.1', port: transport.localAddress()!.port } };
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  it('encodes the hot packets at the socket exactly as the codec does, and returns their size', async () => {
    const sender = await bound(new NativeUdpTransport());
    const receiver = await bound(new UdpTransport());
    const long = Buffer.alloc(300, 7);
    const packets: Packet[] = [
      { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 0, topicId: 1, msgId: 0, payload: Buffer.from('zero') },
      { type: 'PUBLISH', dup: true, qos: 1, retain: true, topicIdType: 1, topicId: 0xfffe, msgId: 65535, payload: Buffer.alloc(0) },
      { type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 2, topicId: 'ab', msgId: 9, payload: long },
      { type: 'PUBACK', topicId: 5, msgId: 6, returnCode: 2 },
      { type: 'PUBREC', msgId: 1 },
      { type: 'PUBREL', msgId: 2 },
      { type: 'PUBCOMP', msgId: 3 },
      { type: 'PINGRESP' },
      { type: 'REGACK', topicId: 4, msgId: 4, returnCode: 0 },
    ];
    const sizes = packets.map((packet) => sender.transport.sendPacket(packet, receiver.address));
    await until(() => receiver.inbox.length === packets.length, 'every packet');
    packets.forEach((packet, i) => {
      const expected = tsCodec.encode(packet);
      assert.deepStrictEqual(receiver.inbox[i].data, expected, packet.type);
      assert.strictEqual(sizes[i], expected.length, `${packet.type} size`);
    });
  });

  it('hands over packets decoded where they landed, and coded errors for malformed datagrams', async () => {
    const sender = await bound(new UdpTransport());
    const receiver = await bound(new NativeUdpTransport());
    const good: Packet = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: 7, msgId: 8, payload: Buffer.from('hi') };
    const malformed = [Buffer.from([2]), Buffer.from([3, 0x03, 0]), Buffer.alloc(0), Buffer.from([5, 0x0c, 0x60, 0, 1])];
    sender.transport.send(tsCodec.encode(good), receiver.address);
    for (const datagram of malformed) sender.transport.send(datagram, receiver.address);
    await until(() => receiver.inbox.length === 1 + malformed.length, 'every datagram');
    assert.deepStrictEqual(receiver.inbox[0].packet, good);
    assert.strictEqual(receiver.inbox[0].error, undefined);
    malformed.forEach((datagram, i) => {
      const got = receiver.inbox[1 + i];
      assert.strictEqual(got.packet, undefined);
      assert.ok(got.error instanceof MqttSnError);
      assert.throws(() => tsCodec.decode(datagram), (error: unknown) => error instanceof MqttSnError && error.code === got.error?.code && error.message === got.error.message);
      assert.deepStrictEqual(got.data, datagram);
    });
  });

  it('reads bursts in recvmmsg batches and keeps earlier payloads intact while many more arrive', async () => {
    const sender = await bound(new NativeUdpTransport());
    const receiver = await bound(new NativeUdpTransport());
    assert.strictEqual(receiver.transport.batchedReceive, true);
    // 600 datagrams of 1 KiB: more than two receive slabs, so early slices must outlive slab changes.
    const total = 600;
    let sent = 0;
    while (sent < total) {
      // Paced in bursts of 50 so the loopback receive buffer never overflows.
      for (let i = 0; i < 50; i++, sent++) {
        const payload = Buffer.alloc(1024, sent & 0xff);
        payload.writeUInt32BE(sent, 0);
        sender.transport.sendPacket({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 1, topicId: 3, msgId: 0, payload }, receiver.address);
      }
      await until(() => receiver.inbox.length === sent, `${sent} datagrams`);
    }
    receiver.inbox.forEach((datagram, i) => {
      const packet = datagram.packet as Extract<Packet, { type: 'PUBLISH' }>;
      assert.strictEqual(packet.payload.readUInt32BE(0), i);
      assert.ok(packet.payload.subarray(4).every((octet) => octet === (i & 0xff)), `payload ${i} intact`);
    });
    assert.ok(receiver.batches.length < total, `${receiver.batches.length} batches for ${total} datagrams`);
  });

  it('carries datagrams far larger than its first slabs, between small ones, intact', async () => {
    const sender = await bound(new NativeUdpTransport());
    const receiver = await bound(new NativeUdpTransport());
    const big = Buffer.alloc(60000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    sender.transport.send(Buffer.from('small'), receiver.address);
    sender.transport.send(big, receiver.address);
    sender.transport.send(Buffer.from('after'), receiver.address);
    await until(() => receiver.inbox.length === 3, 'three datagrams');
    assert.deepStrictEqual(
      receiver.inbox.map((d) => d.data.length),
      [5, 60000, 5],
    );
    assert.ok(receiver.inbox[1].data.equals(big));
    assert.strictEqual(receiver.inbox[2].data.toString(), 'after');
  });

  it('shares a port with reusePort: each sender stays with one socket and nothing is lost', async () => {
    const first = await bound(new NativeUdpTransport(), 0, true);
    const second = await bound(new NativeUdpTransport(), first.address.port, true);
    const senders = await Promise.all(Array.from({ length: 16 }, () => bound(new NativeUdpTransport())));
    for (let round = 0; round < 5; round++) {
      senders.forEach((sender, i) => sender.transport.send(Buffer.from([i, round]), first.address));
    }
    await until(() => first.inbox.length + second.inbox.length === 80, 'all 80 datagrams');
    const owner = new Map<number, Set<DatagramTransport>>();
    for (const [socket, inbox] of [[first.transport, first.inbox], [second.transport, second.inbox]] as const) {
      for (const datagram of inbox) {
        const set = owner.get(datagram.from.port) ?? new Set();
        set.add(socket);
        owner.set(datagram.from.port, set);
      }
    }
    assert.strictEqual(owner.size, 16);
    for (const sockets of owner.values()) assert.strictEqual(sockets.size, 1);
  });

  it('with searchToFirst, hands every unicast SEARCHGW (plain or encapsulated) to the first socket of the port; the rest still spreads', async () => {
    const first = await bound(new NativeUdpTransport(), 0, true, true);
    const second = await bound(new NativeUdpTransport(), first.address.port, true);
    const senders = await Promise.all(Array.from({ length: 24 }, () => bound(new NativeUdpTransport())));
    const search = tsCodec.encode({ type: 'SEARCHGW', radius: 0 });
    const wrapped = tsCodec.encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([1, 2]), packet: { type: 'SEARCHGW', radius: 1 } });
    const ping = tsCodec.encode({ type: 'PINGREQ' });
    for (const sender of senders) {
      sender.transport.send(search, first.address);
      sender.transport.send(wrapped, first.address);
      sender.transport.send(ping, first.address);
    }
    await until(() => first.inbox.length + second.inbox.length === 72, 'all 72 datagrams');
    const types = (inbox: ReceivedDatagram[]): string[] => inbox.map((d) => (d.packet?.type === 'ENCAPSULATED' ? `(${d.packet.packet.type})` : String(d.packet?.type)));
    assert.deepStrictEqual(types(second.inbox).filter((t) => t !== 'PINGREQ'), [], 'no SEARCHGW at the second socket');
    assert.strictEqual(types(first.inbox).filter((t) => t === 'SEARCHGW').length, 24);
    assert.strictEqual(types(first.inbox).filter((t) => t === '(SEARCHGW)').length, 24);
    // Twenty-four source ports all hashed to one socket would be a 1 in 8 million chance.
    assert.ok(second.inbox.length > 0 && first.inbox.length > 48, `PINGREQs spread: ${first.inbox.length - 48} and ${second.inbox.length}`);
  });

  it('receives IPv4 senders on an IPv6 socket and answers them', async () => {
    const six = new NativeUdpTransport();
    open.push(six);
    const inbox: ReceivedDatagram[] = [];
    six.onReceive((batch) => {
      for (const datagram of batch) {
        inbox.push(datagram);
        six.send(Buffer.from('back'), datagram.from);
      }
    });
    await six.bind({ family: 6, address: '::', port: 0 });
    const four = await bound(new NativeUdpTransport());
    four.transport.send(Buffer.from('there'), { address: '127.0.0.1', port: six.localAddress()!.port });
    await until(() => four.inbox.length === 1, 'the answer');
    assert.strictEqual(inbox[0].from.address, '::ffff:127.0.0.1');
    assert.strictEqual(four.inbox[0].data.toString(), 'back');
  });
});
