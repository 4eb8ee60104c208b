/**
 * The `joint` budget policy: alternate max-min budgets and placement until the latency–recovery point stops improving,
 * and report the trajectory.
 *
 * Round 0: max-min at the given total, placed by `place`, then bubble-filled: point (latency T0, min, mean).
 * Round k: max-min again at the total work the previous round's filled budgets reached (it redistributes that work to
 * raise the minimum), placed again, bubble-filled again. A round is accepted when its latency stays within T0
 * (1e-9 relative) and it raises the minimum recovery (or keeps it and raises the mean); the first round that does not
 * ends the search. The best accepted round is the answer. Placement is injected (`place`), so this module stays in core
 * and any solver (or a test's own placement) can drive it; it is asynchronous because solvers run in workers.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '../errors.ts';
import type { SplitLike } from '../kv.ts';
import { simulate, type Layout } from '../simulate.ts';
import { bubbleFillPolicy } from './bubbleFill.ts';
import { maxMinPolicy } from './maxMin.ts';
import { resultOf, type BudgetProblem, type BudgetResult, type BudgetTotal } from './types.ts';

export interface Placed {
  readonly placement: ReadonlyArray<ReadonlyArray<number>>;
  readonly splits?: ReadonlyArray<SplitLike>;
}

/** A placement engine: budgets in, placement out (for the same model, devices and cost model as `base`). */
export type Placer = (budgets: ReadonlyArray<ReadonlyArray<number>>) => Promise<E.Either<HplbError, Placed>>;

export interface JointStep {
  readonly round: number;
  readonly totalWork: number;
  readonly latency: number;
  readonly min: number;
  readonly mean: number;
  readonly accepted: boolean;
}

export interface JointResult {
  readonly result: BudgetResult;
  readonly placed: Placed;
  readonly trajectory: ReadonlyArray<JointStep>;
}

export const jointPolicy = async (
  p: BudgetProblem,
  total: BudgetTotal,
  base: Omit<Layout, 'placement' | 'splits'>,
  place: Placer,
  opts: { maxRounds?: number } = {},
): Promise<E.Either<HplbError, JointResult>> => {
  const maxRounds = opts.maxRounds ?? 6;
  const trajectory: JointStep[] = [];
  let best: { result: BudgetResult; placed: Placed; latency: number } | undefined;
  let limit = Infinity;
  let roundTotal: BudgetTotal = total;
  for (let round = 0; round < maxRounds; round++) {
    const mm = maxMinPolicy(p, roundTotal);
    if (E.isLeft(mm)) return mm;
    const placed = await place(mm.right.budgets);
    if (E.isLeft(placed)) return placed;
    const layout: Layout = { ...base, placement: placed.right.placement, splits: placed.right.splits ?? [] };
    const filled = bubbleFillPolicy(p, layout, mm.right.budgets);
    if (E.isLeft(filled)) return filled;
    const latency = simulate(layout, filled.right.budgets).latency;
    if (round === 0) limit = latency * (1 + 1e-9);
    const f = filled.right;
    const better = best === undefined || (latency <= limit && (f.min > best.result.min + 1e-12 || (f.min >= best.result.min - 1e-12 && f.mean > best.result.mean + 1e-12)));
    trajectory.push({ round, totalWork: f.totalWork, latency, min: f.min, mean: f.mean, accepted: better });
    if (!better) break;
    best = { result: f, placed: placed.right, latency };
    roundTotal = { kind: 'work', value: f.totalWork };
  }
  const b = best!;
  const result = resultOf('joint', p, b.result.budgets, { rounds: trajectory.length, trajectory, total });
  return E.right({ result, placed: b.placed, trajectory });
};
