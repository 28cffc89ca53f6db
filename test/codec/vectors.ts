/**
 * The captured packets of test/fixtures/vectors.json, with the fields each one
 * is expected to decode to, read from its human-written name (independently of
 * the codec under test).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Vector {
  name: string;
  bytes: Buffer;
  /** The expected packet; a long payload is checked by its prefix (see payloadPrefix). */
  expected: Record<string, unknown>;
  /** Set when the name shows only the start of the payload ('LLLL...'). */
  payloadPrefix?: Buffer;
}

interface RawVector {
  name: string;
  hex: string;
}

const root = path.resolve(__dirname, '..', '..', '..');

function parseValue(raw: string): string {
  return raw.startsWith("'") ? raw.slice(1, -1) : raw;
}

const topicIdTypes: Record<string, number> = { normal: 0, predefined: 1, short: 2 };

/** Expected packet fields from a vector name such as "PUBLISH qos=1 ... payload='x'". */
export function expectedFromName(name: string): { expected: Record<string, unknown>; payloadPrefix?: Buffer } {
  const type = name.split(' ')[0];
  const expected: Record<string, unknown> = { type };
  let payloadPrefix: Buffer | undefined;
  const pairs = name.matchAll(/(\w+)=('[^']*'|\[.*\]|id \d+|\S+)/g);
  for (const [, key, rawValue] of pairs) {
    const value = parseValue(rawValue);
    switch (key) {
      case 'clean':
        expected.cleanSession = value === '1';
        break;
      case 'will':
      case 'retain':
      case 'dup':
        expected[key] = value === '1';
        break;
      case 'protocolId':
        break; // always 1 on the wire, not a packet field
      case 'rc':
        expected.returnCode = Number(value);
        break;
      case 'topicIdType':
        expected.topicIdType = topicIdTypes[value];
        break;
      case 'topic':
        if (type === 'REGISTER') expected.topicName = value;
        else if (type === 'WILLTOPIC' || type === 'WILLTOPICUPD') expected.willTopic = value;
        else if (rawValue.startsWith("'")) expected.topicId = value;
        else expected.topicId = Number(value.replace('id ', ''));
        break;
      case 'msg':
        expected.willMsg = Buffer.from(value, 'utf8');
        break;
      case 'payload':
        if (value.endsWith('...')) payloadPrefix = Buffer.from(value.slice(0, -3), 'utf8');
        else expected.payload = Buffer.from(value, 'utf8');
        break;
      case 'clientId':
        expected.clientId = value;
        break;
      case 'ctrl':
        expected.radius = Number(value) & 0x03;
        break;
      case 'wirelessNodeId':
        expected.wirelessNodeId = Buffer.from(value, 'hex');
        break;
      case 'inner':
        expected.packet = expectedFromName(rawValue.slice(1, -1)).expected;
        break;
      default:
        expected[key] = Number(value);
    }
  }
  // SUBSCRIBE names leave out dup=0.
  if (type === 'SUBSCRIBE' && expected.dup === undefined) expected.dup = false;
  if (/^WILLTOPIC(UPD)? empty/.test(name)) Object.assign(expected, { willTopic: '', qos: 0, retain: false });
  return { expected, payloadPrefix };
}

export function loadVectors(): Vector[] {
  const file = path.join(root, 'test', 'fixtures', 'vectors.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as RawVector[];
  return raw.map((v) => ({ name: v.name, bytes: Buffer.from(v.hex, 'hex'), ...expectedFromName(v.name) }));
}
