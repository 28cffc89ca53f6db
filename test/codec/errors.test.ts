/**
 * Malformed datagrams and invalid packets through the active codec: each one
 * must fail with its exact MqttSnError code. Also the length boundaries and
 * both length forms.
 */
import * as assert from 'node:assert/strict';
import { codec, codecImplementation } from '../../lib/codec';
import type { Packet } from '../../lib/codec';
import { ErrorCode as E, ErrorDescription, MqttSnError } from '../../lib/errors';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** A frame with the 1-octet length: type octet + body (hex). */
function short(typeAndBody: string): Buffer {
  const rest = hex(typeAndBody);
  return Buffer.concat([Buffer.from([rest.length + 1]), rest]);
}

function expectCode(fn: () => unknown, code: number, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MqttSnError, `${what}: not an MqttSnError: ${String(err)}`);
    assert.equal(err.code, code, `${what}: got ${err.code} (${err.message})`);
    assert.ok(err.description.endsWith(ErrorDescription[code]), `${what}: description "${err.description}"`);
    return true;
  }, what);
}

const decodeErrors: Array<[string, Buffer, number]> = [
  // header
  ['empty datagram', hex(''), E.TRUNCATED],
  ['one octet', hex('02'), E.TRUNCATED],
  ['3-octet length cut short', hex('0100'), E.TRUNCATED],
  ['3-octet length without type', hex('010102'), E.TRUNCATED],
  ['length octet 0x00', hex('0016'), E.INVALID_LENGTH],
  ['3-octet form for a total of 5', hex('0100051600'), E.INVALID_LENGTH],
  ['3-octet form for a total of 255', Buffer.concat([hex('0100ff0c'), Buffer.alloc(251)]), E.INVALID_LENGTH],
  ['3-octet form for a total of 257 (fits the 1-octet form)', Buffer.concat([hex('0101010c'), Buffer.alloc(253)]), E.INVALID_LENGTH],
  ['declared longer than the datagram', hex('0316'), E.LENGTH_MISMATCH],
  ['declared shorter than the datagram', hex('021600'), E.LENGTH_MISMATCH],
  ['3-octet length longer than the datagram', Buffer.concat([hex('0101200c'), Buffer.alloc(100)]), E.LENGTH_MISMATCH],
  ['reserved type 0x03', hex('0203'), E.RESERVED_TYPE],
  ['reserved type 0x11', hex('0211'), E.RESERVED_TYPE],
  ['reserved type 0x19', hex('0219'), E.RESERVED_TYPE],
  ['reserved type 0x1e', hex('021e'), E.RESERVED_TYPE],
  ['reserved type 0xfd', hex('02fd'), E.RESERVED_TYPE],
  ['reserved type 0xff', hex('02ff'), E.RESERVED_TYPE],
  // sizes
  ['ADVERTISE too short', short('00 01 00'), E.WRONG_SIZE],
  ['SEARCHGW without radius', short('01'), E.WRONG_SIZE],
  ['GWINFO without gwId', short('02'), E.TRUNCATED],
  ['CONNECT cut in its fixed part', short('04 04 01 00'), E.TRUNCATED],
  ['CONNACK too long', short('05 00 00'), E.WRONG_SIZE],
  ['WILLTOPICREQ with a body', short('06 00'), E.WRONG_SIZE],
  ['WILLMSGREQ with a body', short('08 00'), E.WRONG_SIZE],
  ['REGISTER cut in its fixed part', short('0a 00 00 01'), E.TRUNCATED],
  ['REGACK too short', short('0b 00 01 00 01'), E.WRONG_SIZE],
  ['PUBLISH cut in its fixed part', short('0c 00 00 01 00'), E.TRUNCATED],
  ['PUBACK too long', short('0d 00 01 00 01 00 00'), E.WRONG_SIZE],
  ['PUBCOMP too short', short('0e 00'), E.WRONG_SIZE],
  ['PUBREC too long', short('0f 00 01 00'), E.WRONG_SIZE],
  ['PUBREL empty', short('10'), E.WRONG_SIZE],
  ['SUBSCRIBE cut in its fixed part', short('12 00 00'), E.TRUNCATED],
  ['SUBSCRIBE pre-defined id of 3 octets', short('12 01 00 01 00 01 00'), E.WRONG_SIZE],
  ['SUBSCRIBE short name of 1 octet', short('12 02 00 01 61'), E.WRONG_SIZE],
  ['SUBACK too short', short('13 00 00 01 00 01'), E.WRONG_SIZE],
  ['UNSUBSCRIBE cut in its fixed part', short('14 00'), E.TRUNCATED],
  ['UNSUBACK too long', short('15 00 01 00'), E.WRONG_SIZE],
  ['PINGRESP with a body', short('17 00'), E.WRONG_SIZE],
  ['DISCONNECT with one octet', short('18 00'), E.WRONG_SIZE],
  ['DISCONNECT with three octets', short('18 00 00 00'), E.WRONG_SIZE],
  ['WILLTOPICRESP empty', short('1b'), E.WRONG_SIZE],
  ['WILLMSGRESP too long', short('1d 00 00'), E.WRONG_SIZE],
  // topic ids
  ['PUBLISH normal topic id 0x0000', short('0c 00 0000 0000 61'), E.INVALID_TOPIC_ID],
  ['PUBLISH normal topic id 0xFFFF', short('0c 00 ffff 0000 61'), E.INVALID_TOPIC_ID],
  ['PUBLISH pre-defined topic id 0x0000', short('0c 01 0000 0000'), E.INVALID_TOPIC_ID],
  ['REGISTER topic id 0xFFFF', short('0a ffff 0001 61'), E.INVALID_TOPIC_ID],
  ['REGACK accepted with topic id 0x0000', short('0b 0000 0001 00'), E.INVALID_TOPIC_ID],
  ['SUBSCRIBE pre-defined id 0xFFFF', short('12 01 0001 ffff'), E.INVALID_TOPIC_ID],
  ['UNSUBSCRIBE pre-defined id 0x0000', short('14 01 0001 0000'), E.INVALID_TOPIC_ID],
  // QoS and topic id type
  ['SUBSCRIBE QoS -1', short('12 60 0001 61'), E.INVALID_QOS],
  ['SUBACK QoS -1', short('13 60 0001 0001 00'), E.INVALID_QOS],
  ['WILLTOPIC QoS -1', short('07 60 61'), E.INVALID_QOS],
  ['WILLTOPICUPD QoS -1', short('1a 60 61'), E.INVALID_QOS],
  ['PUBLISH topic id type 0b11', short('0c 03 0001 0000'), E.INVALID_TOPIC_ID_TYPE],
  ['PUBLISH QoS -1 with a normal topic id', short('0c 60 0001 0000'), E.INVALID_TOPIC_ID_TYPE],
  ['SUBSCRIBE topic id type 0b11', short('12 03 0001 0001'), E.INVALID_TOPIC_ID_TYPE],
  ['UNSUBSCRIBE topic id type 0b11', short('14 03 0001 0001'), E.INVALID_TOPIC_ID_TYPE],
  // CONNECT
  ['CONNECT protocol id 0x02', short('04 04 02 000a 61'), E.INVALID_PROTOCOL_ID],
  ['CONNECT empty client id', short('04 04 01 000a'), E.INVALID_CLIENT_ID],
  ['CONNECT client id of 24 octets', short(`04 04 01 000a ${'61'.repeat(24)}`), E.INVALID_CLIENT_ID],
  ['PINGREQ client id of 24 octets', short(`16 ${'61'.repeat(24)}`), E.INVALID_CLIENT_ID],
  // UTF-8
  ['CONNECT client id with a stray continuation octet', short('04 04 01 000a 61 80'), E.INVALID_UTF8],
  ['CONNECT client id with an overlong "/"', short('04 04 01 000a c0 af'), E.INVALID_UTF8],
  ['REGISTER topic with a UTF-16 surrogate', short('0a 0000 0001 eda080'), E.INVALID_UTF8],
  ['REGISTER topic with a cut multi-octet character', short('0a 0000 0001 61 e282'), E.INVALID_UTF8],
  ['WILLTOPIC above U+10FFFF', short('07 00 f4908080'), E.INVALID_UTF8],
  ['SUBSCRIBE filter with 0xFF', short('12 00 0001 ff'), E.INVALID_UTF8],
  ['PINGREQ client id of 0xFE', short('16 fe'), E.INVALID_UTF8],
  // topics
  ['REGISTER empty topic name', short('0a 0000 0001'), E.INVALID_TOPIC],
  ['REGISTER topic name with U+0000', short('0a 0000 0001 6100'), E.INVALID_TOPIC],
  ['WILLTOPIC flags but no topic', short('07 00'), E.INVALID_TOPIC],
  ['WILLTOPICUPD flags but no topic', short('1a 00'), E.INVALID_TOPIC],
  ['WILLTOPICUPD topic with U+0000', short('1a 00 6100'), E.INVALID_TOPIC],
  ['SUBSCRIBE empty filter', short('12 00 0001'), E.INVALID_TOPIC],
  ['SUBSCRIBE filter with U+0000', short('12 00 0001 2f00'), E.INVALID_TOPIC],
  ['UNSUBSCRIBE empty filter', short('14 00 0001'), E.INVALID_TOPIC],
  ['PUBLISH short topic with U+0000', short('0c 02 6100 0000'), E.INVALID_TOPIC],
  ['PUBLISH short topic with 0x80', short('0c 02 8061 0000'), E.INVALID_TOPIC],
  ['SUBSCRIBE short topic with 0xFF', short('12 02 0001 ff61'), E.INVALID_TOPIC],
  // message ids
  ['REGISTER msgId 0', short('0a 0000 0000 61'), E.INVALID_MSG_ID],
  ['REGACK msgId 0', short('0b 0001 0000 00'), E.INVALID_MSG_ID],
  ['PUBLISH QoS 1 msgId 0', short('0c 20 0001 0000'), E.INVALID_MSG_ID],
  ['PUBLISH QoS 2 msgId 0', short('0c 40 0001 0000'), E.INVALID_MSG_ID],
  ['PUBCOMP msgId 0', short('0e 0000'), E.INVALID_MSG_ID],
  ['PUBREC msgId 0', short('0f 0000'), E.INVALID_MSG_ID],
  ['PUBREL msgId 0', short('10 0000'), E.INVALID_MSG_ID],
  ['SUBSCRIBE msgId 0', short('12 00 0000 61'), E.INVALID_MSG_ID],
  ['SUBACK msgId 0', short('13 00 0001 0000 00'), E.INVALID_MSG_ID],
  ['UNSUBSCRIBE msgId 0', short('14 00 0000 61'), E.INVALID_MSG_ID],
  ['UNSUBACK msgId 0', short('15 0000'), E.INVALID_MSG_ID],
  // flags
  ['CONNECT with DUP set', short('04 84 01 000a 61'), E.INVALID_FLAGS],
  ['CONNECT with a topic id type', short('04 05 01 000a 61'), E.INVALID_FLAGS],
  ['PUBLISH with the Will bit', short('0c 08 0001 0000'), E.INVALID_FLAGS],
  ['PUBLISH with CleanSession', short('0c 04 0001 0000'), E.INVALID_FLAGS],
  ['PUBLISH QoS 0 with DUP', short('0c 80 0001 0000'), E.INVALID_FLAGS],
  ['PUBLISH QoS -1 with DUP', short('0c e1 0001 0000'), E.INVALID_FLAGS],
  ['SUBSCRIBE with Retain', short('12 10 0001 61'), E.INVALID_FLAGS],
  ['SUBACK with a topic id type', short('13 01 0001 0001 00'), E.INVALID_FLAGS],
  ['UNSUBSCRIBE with a QoS', short('14 20 0001 61'), E.INVALID_FLAGS],
  ['WILLTOPIC with DUP', short('07 80 61'), E.INVALID_FLAGS],
  ['WILLTOPICUPD with CleanSession', short('1a 04 61'), E.INVALID_FLAGS],
  // encapsulation
  ['encapsulation inside an encapsulation', hex('03fe00 03fe00 0216'), E.INVALID_ENCAPSULATION],
  ['encapsulation without Ctrl', hex('02fe 0216'), E.INVALID_ENCAPSULATION],
  ['encapsulation without a packet', hex('05fe003432'), E.INVALID_ENCAPSULATION],
  ['encapsulation with the 3-octet length', Buffer.concat([hex('010102fe00'), Buffer.alloc(253)]), E.INVALID_ENCAPSULATION],
  ['encapsulation header longer than the datagram', hex('09fe003432'), E.TRUNCATED],
  ['encapsulation with reserved Ctrl bits', hex('05fe043432 0216'), E.INVALID_FLAGS],
  ['encapsulated packet with a bad length', hex('05fe003432 0316'), E.LENGTH_MISMATCH],
  ['encapsulated packet of a reserved type', hex('05fe003432 0203'), E.RESERVED_TYPE],
  ['encapsulated packet cut short', hex('05fe003432 02'), E.TRUNCATED],
];

/**
 * Well-formed datagrams whose topic text breaks the MQTT wildcard rules: decoding
 * returns them so the protocol layer can answer (REGACK, SUBACK, CONNACK, ...
 * with a return code); encoding still refuses to write them.
 */
const wildcardTexts: Array<[string, Buffer, Packet]> = [
  ['REGISTER topic name "a/+"', short('0a 0000 0001 612f2b'), { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'a/+' }],
  ['REGISTER topic name "#"', short('0a 0000 0002 23'), { type: 'REGISTER', topicId: 0, msgId: 2, topicName: '#' }],
  ['WILLTOPIC "#"', short('07 00 23'), { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '#' }],
  ['WILLTOPICUPD "w/+"', short('1a 30 772f2b'), { type: 'WILLTOPICUPD', qos: 1, retain: true, willTopic: 'w/+' }],
  ['SUBSCRIBE filter "a/#/b"', short('12 00 0001 612f232f62'), { type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 1, topicId: 'a/#/b' }],
  ['SUBSCRIBE filter "a+"', short('12 20 0001 612b'), { type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'a+' }],
  ['UNSUBSCRIBE filter "#a"', short('14 00 0001 2361'), { type: 'UNSUBSCRIBE', topicIdType: 0, msgId: 1, topicId: '#a' }],
];

const base = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: 1, msgId: 1, payload: Buffer.from('x') };

const encodeErrors: Array<[string, unknown, number]> = [
  ['null', null, E.INVALID_FIELD],
  ['a string', 'PUBLISH', E.INVALID_FIELD],
  ['an unknown type', { type: 'NOPE' }, E.RESERVED_TYPE],
  ['no type', { gwId: 1 }, E.RESERVED_TYPE],
  ['a type inherited from Object', { type: 'toString' }, E.RESERVED_TYPE],
  ['PUBLISH QoS 3', { ...base, qos: 3 }, E.INVALID_QOS],
  ['PUBLISH QoS "1"', { ...base, qos: '1' }, E.INVALID_QOS],
  ['PUBLISH topic id type 3', { ...base, topicIdType: 3 }, E.INVALID_TOPIC_ID_TYPE],
  ['PUBLISH QoS -1 with a normal topic id', { ...base, qos: -1 }, E.INVALID_TOPIC_ID_TYPE],
  ['PUBLISH DUP at QoS 0', { ...base, qos: 0, dup: true }, E.INVALID_FLAGS],
  ['PUBLISH dup "yes"', { ...base, dup: 'yes' }, E.INVALID_FIELD],
  ['PUBLISH short topic of 3 characters', { ...base, topicIdType: 2, topicId: 'abc' }, E.INVALID_TOPIC],
  ['PUBLISH short topic of 1 character', { ...base, topicIdType: 2, topicId: 'a' }, E.INVALID_TOPIC],
  ['PUBLISH short topic "é1"', { ...base, topicIdType: 2, topicId: 'é1' }, E.INVALID_TOPIC],
  ['PUBLISH short topic given as a number', { ...base, topicIdType: 2, topicId: 25185 }, E.INVALID_FIELD],
  ['PUBLISH topic id 0', { ...base, topicId: 0 }, E.INVALID_TOPIC_ID],
  ['PUBLISH topic id 0xFFFF', { ...base, topicId: 0xffff }, E.INVALID_TOPIC_ID],
  ['PUBLISH topic id 0x10000', { ...base, topicId: 0x10000 }, E.INVALID_FIELD],
  ['PUBLISH topic id 1.5', { ...base, topicId: 1.5 }, E.INVALID_FIELD],
  ['PUBLISH QoS 1 msgId 0', { ...base, msgId: 0 }, E.INVALID_MSG_ID],
  ['PUBLISH QoS 1 without msgId', { ...base, msgId: undefined }, E.INVALID_FIELD],
  ['PUBLISH payload as a string', { ...base, payload: 'x' }, E.INVALID_FIELD],
  ['PUBLISH total of 65536', { ...base, payload: Buffer.alloc(65527) }, E.PACKET_TOO_LARGE],
  ['CONNECT empty client id', { type: 'CONNECT', will: false, cleanSession: true, duration: 10, clientId: '' }, E.INVALID_CLIENT_ID],
  ['CONNECT client id of 24 characters', { type: 'CONNECT', duration: 10, clientId: 'a'.repeat(24) }, E.INVALID_CLIENT_ID],
  ['CONNECT client id of 24 UTF-8 octets', { type: 'CONNECT', duration: 10, clientId: 'é'.repeat(12) }, E.INVALID_CLIENT_ID],
  ['CONNECT client id with a lone surrogate', { type: 'CONNECT', duration: 10, clientId: 'a\ud800' }, E.INVALID_UTF8],
  ['CONNECT without client id', { type: 'CONNECT', duration: 10 }, E.INVALID_FIELD],
  ['CONNECT duration -1', { type: 'CONNECT', duration: -1, clientId: 'a' }, E.INVALID_FIELD],
  ['CONNECT duration 65536', { type: 'CONNECT', duration: 65536, clientId: 'a' }, E.INVALID_FIELD],
  ['ADVERTISE gwId 256', { type: 'ADVERTISE', gwId: 256, duration: 1 }, E.INVALID_FIELD],
  ['CONNACK without return code', { type: 'CONNACK' }, E.INVALID_FIELD],
  ['REGISTER topic id 0xFFFF', { type: 'REGISTER', topicId: 0xffff, msgId: 1, topicName: 'a' }, E.INVALID_TOPIC_ID],
  ['REGISTER topic name "a/#"', { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'a/#' }, E.INVALID_TOPIC],
  ['REGISTER empty topic name', { type: 'REGISTER', topicId: 0, msgId: 1, topicName: '' }, E.INVALID_TOPIC],
  ['REGACK accepted with topic id 0', { type: 'REGACK', topicId: 0, msgId: 1, returnCode: 0 }, E.INVALID_TOPIC_ID],
  ['PUBREL msgId 0', { type: 'PUBREL', msgId: 0 }, E.INVALID_MSG_ID],
  ['SUBSCRIBE QoS -1', { type: 'SUBSCRIBE', qos: -1, topicIdType: 0, msgId: 1, topicId: 'a' }, E.INVALID_QOS],
  ['SUBSCRIBE filter "a#"', { type: 'SUBSCRIBE', qos: 0, topicIdType: 0, msgId: 1, topicId: 'a#' }, E.INVALID_TOPIC],
  ['SUBSCRIBE pre-defined id 0', { type: 'SUBSCRIBE', qos: 0, topicIdType: 1, msgId: 1, topicId: 0 }, E.INVALID_TOPIC_ID],
  ['UNSUBSCRIBE topic id type 3', { type: 'UNSUBSCRIBE', topicIdType: 3, msgId: 1, topicId: 'a' }, E.INVALID_TOPIC_ID_TYPE],
  ['SUBACK QoS -1', { type: 'SUBACK', qos: -1, topicId: 0, msgId: 1, returnCode: 0 }, E.INVALID_QOS],
  ['WILLTOPIC QoS -1', { type: 'WILLTOPIC', qos: -1, retain: false, willTopic: 'w' }, E.INVALID_QOS],
  ['WILLTOPIC with "+"', { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'w/+' }, E.INVALID_TOPIC],
  ['WILLTOPICUPD with "#"', { type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: '#' }, E.INVALID_TOPIC],
  ['UNSUBSCRIBE filter "#a"', { type: 'UNSUBSCRIBE', topicIdType: 0, msgId: 1, topicId: '#a' }, E.INVALID_TOPIC],
  ['WILLMSG as a string', { type: 'WILLMSG', willMsg: 'bye' }, E.INVALID_FIELD],
  ['PINGREQ client id of 24 characters', { type: 'PINGREQ', clientId: 'a'.repeat(24) }, E.INVALID_CLIENT_ID],
  ['DISCONNECT duration 1.5', { type: 'DISCONNECT', duration: 1.5 }, E.INVALID_FIELD],
  ['ENCAPSULATED inside ENCAPSULATED', { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), packet: { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), packet: { type: 'PINGREQ' } } }, E.INVALID_ENCAPSULATION],
  ['ENCAPSULATED node id of 253 octets', { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(253), packet: { type: 'PINGREQ' } }, E.INVALID_ENCAPSULATION],
  ['ENCAPSULATED radius 4', { type: 'ENCAPSULATED', radius: 4, wirelessNodeId: Buffer.alloc(1), packet: { type: 'PINGREQ' } }, E.INVALID_FIELD],
  ['ENCAPSULATED without packet', { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1) }, E.INVALID_FIELD],
  ['ENCAPSULATED with an invalid packet', { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), packet: { type: 'PUBREL', msgId: 0 } }, E.INVALID_MSG_ID],
];

function publishOfTotal(total: number): Packet {
  const payloadLength = total <= 255 ? total - 7 : total - 9;
  return { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 1, topicId: 7, msgId: 0, payload: Buffer.alloc(payloadLength, 0x5a) };
}

describe(`codec errors and boundaries (${codecImplementation()})`, () => {
  it(`rejects ${decodeErrors.length} malformed datagrams, each with its exact code`, () => {
    for (const [what, bytes, code] of decodeErrors) expectCode(() => codec.decode(bytes), code, what);
  });

  it(`rejects ${encodeErrors.length} invalid packets on encode, each with its exact code`, () => {
    for (const [what, packet, code] of encodeErrors) expectCode(() => codec.encode(packet as Packet), code, what);
  });

  it(`decodes ${wildcardTexts.length} packets whose topic breaks the wildcard rules, and refuses to encode them`, () => {
    for (const [what, bytes, packet] of wildcardTexts) {
      assert.deepStrictEqual(codec.decode(bytes), packet, what);
      expectCode(() => codec.encode(packet), E.INVALID_TOPIC, `encode ${what}`);
    }
  });

  it('names the packet type in the description', () => {
    expectCode(() => codec.decode(short('10 0000')), E.INVALID_MSG_ID, 'PUBREL msgId 0');
    assert.throws(() => codec.decode(short('10 0000')), { message: 'PUBREL: Message id 0 is not allowed here.' });
    assert.throws(() => codec.decode(hex('0203')), { message: 'Reserved message type.' });
  });

  it('uses the 1-octet length up to a total of 255, then 0x01 + 16 bits', () => {
    for (const total of [7, 254, 255]) {
      const bytes = codec.encode(publishOfTotal(total));
      assert.equal(bytes.length, total);
      assert.equal(bytes[0], total);
      assert.equal(bytes[1], 0x0c);
    }
    // A body one octet longer than fits total 255 needs 3 length octets: total 258.
    const over = codec.encode({ ...publishOfTotal(255), payload: Buffer.alloc(249) } as Packet);
    assert.equal(over.length, 258);
    assert.deepEqual([...over.subarray(0, 4)], [0x01, 0x01, 0x02, 0x0c]);
    for (const total of [258, 1024, 65535]) {
      const bytes = codec.encode(publishOfTotal(total));
      assert.equal(bytes.length, total);
      assert.equal(bytes[0], 0x01);
      assert.equal(bytes.readUInt16BE(1), total);
      assert.deepStrictEqual(codec.decode(bytes), publishOfTotal(total));
    }
  });

  it('decodes totals 254, 255, 258 and 65535 and rejects 256, 257 and 65536', () => {
    for (const total of [254, 255, 258, 65535]) {
      const bytes = codec.encode(publishOfTotal(total));
      assert.deepStrictEqual(codec.decode(bytes), publishOfTotal(total));
    }
    // 256 and 257 written in the 3-octet form: the 1-octet form fits, so not canonical.
    for (const total of [256, 257]) {
      const bytes = Buffer.alloc(total);
      bytes.set([0x01, total >> 8, total & 0xff, 0x0c, 0x01, 0x00, 0x07]);
      expectCode(() => codec.decode(bytes), E.INVALID_LENGTH, `3-octet total ${total}`);
    }
    // A 65536-octet datagram cannot match any declared length.
    const huge = Buffer.alloc(65536);
    huge.set(codec.encode(publishOfTotal(65535)));
    expectCode(() => codec.decode(huge), E.LENGTH_MISMATCH, '65536-octet datagram');
    // A 256-octet datagram whose 1-octet length says 255.
    const one = Buffer.alloc(256);
    one.set(codec.encode(publishOfTotal(255)));
    expectCode(() => codec.decode(one), E.LENGTH_MISMATCH, '256-octet datagram with length 255');
    expectCode(() => codec.encode({ ...publishOfTotal(65535), payload: Buffer.alloc(65527) } as Packet), E.PACKET_TOO_LARGE, 'total 65536');
  });

  it('encodes a packet at the largest size inside an encapsulation', () => {
    const inner = publishOfTotal(65535);
    const frame = codec.encode({ type: 'ENCAPSULATED', radius: 3, wirelessNodeId: Buffer.alloc(252, 1), packet: inner });
    assert.equal(frame.length, 255 + 65535);
    assert.deepStrictEqual(codec.decode(frame), { type: 'ENCAPSULATED', radius: 3, wirelessNodeId: Buffer.alloc(252, 1), packet: inner });
  });

  it('reads plain Uint8Arrays as well as Buffers, and fills the optional fields', () => {
    const view = new Uint8Array([0, 0, 0, 4, 0x18, 0x00, 0x1e, 0]).subarray(3, 7);
    assert.deepStrictEqual(codec.decode(view), { type: 'DISCONNECT', duration: 30 });
    const minimal = codec.encode({ type: 'PUBLISH', topicIdType: 2, topicId: 'ab' } as unknown as Packet);
    assert.equal(minimal.toString('hex'), '070c0261620000');
    assert.deepStrictEqual(codec.encode({ type: 'WILLTOPIC', willTopic: '' } as unknown as Packet), hex('0207'));
  });
});
