/**
 * A lossy, duplicating, reordering link as a LossyRelay rule: each packet is
 * lost, duplicated or held back independently, with a seeded generator so
 * that a failing run can be repeated.
 */
import { rng } from '../codec/generator';
import type { RelayRule, Verdict } from './lossy-relay';

export interface Impairment {
  /** Probability that a packet is lost. */
  loss: number;
  /** Probability that a packet that gets through arrives twice. */
  duplicate: number;
  /** Probability that a copy is held back, and for how long at most (ms): later packets overtake it. */
  reorder: number;
  maxDelayMs: number;
  seed: number;
}

export interface ImpairmentCounts {
  lost: number;
  duplicated: number;
  delayed: number;
}

/** The rule, and what it did so far. */
export function impairedLink(options: Impairment): { rule: RelayRule; counts: ImpairmentCounts } {
  const random = rng(options.seed);
  const counts: ImpairmentCounts = { lost: 0, duplicated: 0, delayed: 0 };
  const delay = (): number => {
    if (random() >= options.reorder) return 0;
    counts.delayed++;
    return 1 + random() * options.maxDelayMs;
  };
  const rule: RelayRule = (): Verdict => {
    if (random() < options.loss) {
      counts.lost++;
      return 'drop';
    }
    const delays = [delay()];
    if (random() < options.duplicate) {
      counts.duplicated++;
      delays.push(delay());
    }
    return { delays };
  };
  return { rule, counts };
}
