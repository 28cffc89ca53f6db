/**
 * Shared benchmark plumbing: every bench module exports `run()` returning
 * sections; bench/run.ts prints them as tables and writes them all as JSON.
 */
import { performance } from 'node:perf_hooks';

export type Cell = string | number;

export interface BenchSection {
  /** Table heading, e.g. "Codec: decode, ops/s". */
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Lines printed under the table (what was measured, how). */
  notes?: string[];
}

/** What bench/run.ts passes to each module. */
export interface BenchOptions {
  /** Wall-clock time the module should stay within, in milliseconds. */
  budgetMs: number;
}

/** A module may ignore the options; run.ts still reports its duration against the budget. */
export type BenchModule = { run(options?: BenchOptions): Promise<BenchSection[]> };

/**
 * Operations per second of `fn`, after a warm-up, over at least `minMs`
 * milliseconds; `fn` runs `batch` operations per call so timer reads stay cheap.
 */
export function opsPerSecond(fn: () => void, minMs = 300, batch = 1): number {
  const warmUntil = performance.now() + Math.min(100, minMs / 3);
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return Math.round((calls * batch * 1000) / elapsed);
}

/** Formats a count with thousands separators for the on-screen table. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
