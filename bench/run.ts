/**
 * `npm run bench [-- filter...]`: runs every benchmark module present, prints
 * each section as a table and writes everything, with a description of the
 * machine, to bench-results/bench-<timestamp>.json and bench-results/latest.json.
 *
 * A filter keeps the modules whose name contains one of the words
 * (`npm run bench -- codec udp`). Each module gets a time budget: the
 * engine module (end to end through gateway processes) takes up to four and a
 * half minutes, the others three together.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchModule, BenchSection, Cell } from './harness';

/** Modules in run order, with their budgets (milliseconds). */
const MODULES: ReadonlyArray<{ name: string; budgetMs: number }> = [
  { name: 'codec', budgetMs: 60_000 },
  { name: 'timers', budgetMs: 25_000 },
  { name: 'udp', budgetMs: 20_000 },
  { name: 'gateway', budgetMs: 30_000 },
  { name: 'client', budgetMs: 30_000 },
  { name: 'dtls', budgetMs: 20_000 },
  { name: 'engine', budgetMs: 270_000 },
];

interface ModuleResult {
  name: string;
  status: 'ok' | 'skipped' | 'failed';
  budgetMs: number;
  durationMs: number;
  note?: string;
  sections: BenchSection[];
}

/** The package root: dist/bench/run.js sits two levels below it. */
const ROOT = path.resolve(__dirname, '..', '..');

/** Loads `./<name>` if it exists; a missing module is not an error. */
function loadModule(name: string): BenchModule | string {
  const file = path.join(__dirname, `${name}.js`);
  if (!fs.existsSync(file)) return `bench/${name}.ts is not present`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(file) as Partial<BenchModule>;
  if (typeof loaded.run !== 'function') return `bench/${name}.ts exports no run()`;
  return loaded as BenchModule;
}

/** Asks a library module which implementation it chose, without failing the run. */
function implementation(modulePath: string, exportName: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(modulePath) as Record<string, () => string>;
    return loaded[exportName]();
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    mqttsnNative: process.env.MQTTSN_NATIVE ?? '(unset)',
    codecImplementation: implementation('../lib/codec', 'codecImplementation'),
    timerImplementation: implementation('../lib/timers', 'timerImplementation'),
  };
}

function formatCell(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell) || Math.abs(cell) >= 100) return Math.round(cell).toLocaleString('en-US');
  return cell.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

/** Renders a section as an aligned text table: text left-aligned, numbers right-aligned. */
export function renderTable(section: BenchSection): string {
  const header = section.columns;
  const body = section.rows.map((row) => row.map(formatCell));
  const widths = header.map((title, col) => Math.max(title.length, ...body.map((row) => (row[col] ?? '').length)));
  const numeric = header.map((_, col) => section.rows.length > 0 && section.rows.every((row) => typeof row[col] === 'number'));
  const line = (cells: string[], isHeader: boolean): string =>
    cells
      .map((cell, col) => (numeric[col] && !isHeader ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd();
  const out = [section.title, line(header, true), widths.map((width) => '-'.repeat(width)).join('  ')];
  for (const row of body) out.push(line(row, false));
  for (const note of section.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

async function runModule(name: string, budgetMs: number): Promise<ModuleResult> {
  const start = performance.now();
  const elapsed = (): number => Math.round(performance.now() - start);
  let loaded: BenchModule | string;
  try {
    loaded = loadModule(name);
  } catch (err) {
    return { name, status: 'failed', budgetMs, durationMs: elapsed(), note: `load failed: ${(err as Error).message}`, sections: [] };
  }
  if (typeof loaded === 'string') return { name, status: 'skipped', budgetMs, durationMs: 0, note: loaded, sections: [] };
  try {
    const sections = await loaded.run({ budgetMs });
    const durationMs = elapsed();
    const note = durationMs > budgetMs ? `took ${durationMs} ms, over its ${budgetMs} ms budget` : undefined;
    return { name, status: 'ok', budgetMs, durationMs, sections, ...(note ? { note } : {}) };
  } catch (err) {
    return { name, status: 'failed', budgetMs, durationMs: elapsed(), note: (err as Error).stack ?? String(err), sections: [] };
  }
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).map((word) => word.toLowerCase());
  const selected = MODULES.filter(({ name }) => filters.length === 0 || filters.some((word) => name.includes(word)));
  if (selected.length === 0) {
    console.error(`No benchmark matches ${filters.join(' ')}; known: ${MODULES.map(({ name }) => name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const machine = machineInfo();
  console.log(
    `MQTT-SN benchmarks — Node ${machine.node}, ${machine.cpuModel} ×${machine.cpuCount}, ` +
      `codec: ${machine.codecImplementation}, timers: ${machine.timerImplementation}\n`,
  );

  const results: ModuleResult[] = [];
  for (const { name, budgetMs } of selected) {
    console.log(`## ${name}`);
    const result = await runModule(name, budgetMs);
    results.push(result);
    for (const section of result.sections) console.log(`\n${renderTable(section)}`);
    if (result.status !== 'ok') console.log(`(${result.status}: ${result.note})`);
    else if (result.note) console.log(`(note: ${result.note})`);
    console.log(`(${name}: ${(result.durationMs / 1000).toFixed(1)} s)\n`);
  }

  const report = { machine, filter: filters, modules: results };
  const dir = path.join(ROOT, 'bench-results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = String(machine.date).replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = path.join(dir, `bench-${stamp}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(dir, 'latest.json'), json);
  console.log(`Results written to ${path.relative(process.cwd(), file) || file} and bench-results/latest.json`);
  if (results.some((result) => result.status === 'failed')) process.exitCode = 1;
}

if (require.main === module) {
  // Exit explicitly: a benchmark that left a handle open must not hang the run.
  main().then(
    () => process.exit(),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
