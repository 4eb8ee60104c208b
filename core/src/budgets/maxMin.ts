/**
 * The `max-min` budget policy (the S-HPLB paper's): maximise the minimum recovery over all heads subject to a total
 * (tokens Σ b ≤ B, or work Σ W(b, N) ≤ W), with block rounding inside the constraint.
 *
 * Exact by bisection on the level r: cost(r) = Σ_h measure(round_block(tokensFor_h(r))) is non-decreasing in r, so the
 * feasible levels form an interval [0, r*] and r* is a recovery a head reaches at a block boundary. Bisection keeps a
 * feasible `lo` and an infeasible `hi` until they are adjacent doubles; the level reported is the minimum recovery the
 * resulting budgets actually reach (≥ lo, and = r* since no breakpoint lies between). What the total leaves over is then
 * spent one block at a time on the head with the highest marginal recovery per unit of the measure; this raises the
 * mean and never lowers any budget, so the minimum stays r*.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '../errors.ts';
import { recoveryAt, roundBudget, tokensFor } from '../recovery.ts';
import { MaxHeap, blockOf, checkProblem, measureOf, nextBudget, resultOf, type BudgetProblem, type BudgetResult, type BudgetTotal } from './types.ts';

/** Budgets reaching level r on every head, block-rounded. */
export const budgetsForLevel = (p: BudgetProblem, r: number): number[][] => {
  const block = blockOf(p);
  const n = p.contextLength;
  return p.curves.map((row) => row.map((c) => roundBudget(tokensFor(c, r), block, n)));
};

const costOf = (budgets: number[][], measure: (b: number) => number): number => {
  let s = 0;
  for (const row of budgets) for (const b of row) s += measure(b);
  return s;
};

/** Spend `left` of the measure greedily, highest marginal recovery per unit first, one block at a time. */
export const spendLeftover = (p: BudgetProblem, budgets: number[][], left: number, measure: (b: number) => number): { left: number; blocks: number } => {
  const block = blockOf(p);
  const n = p.contextLength;
  const heap = new MaxHeap<{ key: number; id: number; l: number; h: number; db: number; dc: number }>();
  const offer = (l: number, h: number) => {
    const b = budgets[l]![h]!;
    if (b >= n) return;
    const nb = nextBudget(b, block, n);
    const c = p.curves[l]![h]!;
    const dr = recoveryAt(c, nb) - recoveryAt(c, b);
    const dc = measure(nb) - measure(b);
    if (dr > 0 && dc > 0) heap.push({ key: dr / dc, id: l * 1_000_000 + h, l, h, db: nb, dc });
  };
  budgets.forEach((row, l) => row.forEach((_, h) => offer(l, h)));
  let blocks = 0;
  while (heap.size > 0) {
    const top = heap.pop()!;
    if (top.dc > left) continue; // cannot afford this head's next block; a cheaper head may still fit
    budgets[top.l]![top.h] = top.db;
    left -= top.dc;
    blocks++;
    offer(top.l, top.h);
  }
  return { left, blocks };
};

export const maxMinPolicy = (p: BudgetProblem, total: BudgetTotal, opts: { spendLeftover?: boolean } = {}): E.Either<HplbError, BudgetResult> =>
  E.map((pp: BudgetProblem) => {
    const measure = measureOf(total.kind, pp.contextLength);
    const feasible = (r: number) => costOf(budgetsForLevel(pp, r), measure) <= total.value;
    let lo = 0;
    let hi = 1;
    let iterations = 0;
    if (feasible(1)) lo = 1;
    else {
      // Invariant: feasible(lo) (level 0 means every head at one block, which checkProblem guarantees), !feasible(hi).
      while (iterations < 200) {
        const mid = lo + (hi - lo) / 2;
        if (mid <= lo || mid >= hi) break;
        iterations++;
        if (feasible(mid)) lo = mid;
        else hi = mid;
      }
    }
    const budgets = budgetsForLevel(pp, lo);
    let level = Infinity;
    budgets.forEach((row, l) => row.forEach((b, h) => (level = Math.min(level, recoveryAt(pp.curves[l]![h]!, b)))));
    const spent = costOf(budgets, measure);
    const leftover = opts.spendLeftover === false ? { left: total.value - spent, blocks: 0 } : spendLeftover(pp, budgets, total.value - spent, measure);
    return resultOf('max-min', pp, budgets, { level, bisectionSteps: iterations, leftoverBlocks: leftover.blocks, unspent: leftover.left, total });
  })(checkProblem(p, total));
