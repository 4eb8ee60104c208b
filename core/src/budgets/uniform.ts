/**
 * The `uniform` budget policy (top-k): one budget k for every head, the largest block multiple (or N) whose total fits.
 * The StreamingLLM / MInference-style baseline. Needs no curves to choose budgets; reports recovery when curves exist.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '../errors.ts';
import { blockOf, checkProblem, headCount, measureOf, resultOf, type BudgetProblem, type BudgetResult, type BudgetTotal } from './types.ts';

/** The largest k ∈ {block, 2·block, …, N} with heads · measure(k) ≤ total. */
export const uniformBudget = (p: BudgetProblem, total: BudgetTotal): number => {
  const block = blockOf(p);
  const n = p.contextLength;
  const heads = headCount(p);
  const measure = measureOf(total.kind, n);
  if (heads * measure(n) <= total.value) return n;
  let lo = 1; // blocks, feasible (checked by checkProblem)
  let hi = Math.ceil(n / block); // infeasible (k = N)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (heads * measure(Math.min(n, mid * block)) <= total.value) lo = mid;
    else hi = mid;
  }
  return Math.min(n, lo * block);
};

export const uniformPolicy = (p: BudgetProblem, total: BudgetTotal): E.Either<HplbError, BudgetResult> =>
  E.map((pp: BudgetProblem) => {
    const k = uniformBudget(pp, total);
    return resultOf('uniform', pp, pp.curves.map((row) => row.map(() => k)), { k, total });
  })(checkProblem(p, total));
