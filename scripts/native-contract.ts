/**
 * Generates native/generated/contract.h from the twin contract
 * (lib/twin-contract.ts), and checks that a generated header is current.
 *
 *   node dist/scripts/native-contract.js write [dir]   writes dir/contract.h (npm run build)
 *   node dist/scripts/native-contract.js check [dir]   exits 1 when dir/contract.h is stale
 *
 * The header is committed and shipped in the package, so a fresh clone and an
 * installed tarball compile the addon before any TypeScript is built.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contractDigest, twinContract, type TwinContract } from '../lib/twin-contract';

export const CONTRACT_HEADER = 'contract.h';
/** native/generated (this file runs as dist/scripts/native-contract.js). */
export const GENERATED_DIR = path.resolve(__dirname, '..', '..', 'native', 'generated');

/** FLAG_DUP -> kFlagDup. */
function constantName(name: string): string {
  return `k${name
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}`;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

/** An int32 literal; INT32_MIN has no literal of its own type. */
function int32(value: number): string {
  return value === -2147483648 ? 'static_cast<int32_t>(-2147483648LL)' : String(value);
}

function slotEnum(name: string, prefix: string, count: string, layout: TwinContract['decodeSlots']): string[] {
  const width = Math.max(...layout.map(([slot]) => constantName(slot).length + prefix.length));
  return [
    `enum ${name} : int32_t {`,
    ...layout.map(([slot, meaning], index) => {
      const entry = `k${prefix}${constantName(slot).slice(1)} = ${index},`;
      return `  ${entry.padEnd(width + 8)}// ${meaning}`;
    }),
    `  ${count} = ${layout.length}`,
    '};',
  ];
}

/** The header's text for a contract. */
export function renderContractHeader(contract: TwinContract): string {
  const types = Object.entries(contract.messageTypes);
  const lines = [
    `// Generated from lib/twin-contract.ts by scripts/native-contract.ts (npm run build). Do not edit:`,
    '// change the table and rebuild; `npm test` fails while this file or the addon is stale.',
    '#pragma once',
    '#include <cstdint>',
    '',
    'namespace mqttsn {',
    '',
    '// Fingerprint of the contract; the addon exports it and JavaScript refuses another.',
    `constexpr char kContractDigest[] = "${contractDigest(contract)}";`,
    '',
    '// Message type octets (lib/codec/packets.ts MsgType).',
    'namespace msg {',
    'enum Type : int32_t {',
    ...types.map(([name, value]) => `  ${name} = ${hex(value)},`),
    '};',
    '',
    '// Whether an octet is a message type of the specification.',
    'constexpr bool Known(int32_t type) {',
    '  switch (type) {',
    ...types.map(([name]) => `    case ${name}:`),
    '      return true;',
    '    default:',
    '      return false;',
    '  }',
    '}',
    '}  // namespace msg',
    '',
    'namespace codec {',
    '',
    '// Error codes the codec reports (lib/errors.ts ErrorCode, 6xx).',
    'enum Error : int32_t {',
    ...Object.entries(contract.errors).map(([name, code]) => `  ${constantName(name)} = ${code},`),
    '};',
    '',
    '// Wire constants (lib/codec/ts/wire.ts, lib/codec/packets.ts).',
    ...Object.entries(contract.wire).map(
      ([name, value]) => `constexpr int32_t ${constantName(name)} = ${/^(FLAG|MASK)_|_(ID|MARKER)$/.test(name) ? hex(value) : value};`,
    ),
    '',
    '// Values JavaScript writes into an encode slot for a field that is not an int32 number.',
    ...Object.entries(contract.sentinels).map(([name, value]) => `constexpr int32_t ${constantName(name)} = ${int32(value)};`),
    '',
    '// Decode result slots, read by lib/codec/native-codec.ts.',
    ...slotEnum('DecodeSlot', 'D', 'kDecodeSlots', contract.decodeSlots),
    '',
    '// Encode input slots, written by lib/codec/native-codec.ts.',
    ...slotEnum('EncodeSlot', 'E', 'kEncodeSlots', contract.encodeSlots),
    '',
    '}  // namespace codec',
    '',
    'namespace timers {',
    '',
    '// Limits (lib/timers/arguments.ts).',
    ...Object.entries(contract.timers.limits).map(([name, value]) => `constexpr double ${constantName(name)} = ${value}.0;`),
    '',
    '// The state array a queue keeps current, read by lib/timers/native-timers.ts.',
    ...slotEnum('StateSlot', '', 'kStateSlots', contract.timers.stateSlots),
    '',
    '}  // namespace timers',
    '}  // namespace mqttsn',
    '',
  ];
  return lines.join('\n');
}

/** Writes dir/contract.h for `contract`; returns its path. */
export function writeContractHeader(dir: string = GENERATED_DIR, contract: TwinContract = twinContract): string {
  const file = path.join(dir, CONTRACT_HEADER);
  const text = renderContractHeader(contract);
  fs.mkdirSync(dir, { recursive: true });
  // Left alone when current, so make does not recompile the addon for nothing.
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
  return file;
}

/** Why dir/contract.h does not match `contract`, or null when it does. */
export function staleContractHeader(dir: string = GENERATED_DIR, contract: TwinContract = twinContract): string | null {
  const file = path.join(dir, CONTRACT_HEADER);
  if (!fs.existsSync(file)) return `${file} is missing`;
  const want = renderContractHeader(contract).split('\n');
  const have = fs.readFileSync(file, 'utf8').split('\n');
  const line = want.findIndex((text, i) => have[i] !== text);
  if (line < 0 && have.length === want.length) return null;
  const at = line < 0 ? want.length : line;
  return `${file} is stale at line ${at + 1}: has ${JSON.stringify(have[at] ?? '(end of file)')}, the contract gives ${JSON.stringify(want[at] ?? '(end of file)')}`;
}

function main(argv: string[]): number {
  const [command, dir] = argv;
  if (command === 'write') {
    writeContractHeader(dir ?? GENERATED_DIR);
    return 0;
  }
  if (command === 'check') {
    const problem = staleContractHeader(dir ?? GENERATED_DIR);
    if (!problem) return 0;
    console.error(`${problem}\nRun \`npm run build\` to regenerate it, then rebuild the addon.`);
    return 1;
  }
  console.error('usage: native-contract.js write|check [dir]');
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
