/**
 * The `top-p` budget policy (the XAttention baseline): each head gets the smallest block-rounded budget whose recovery
 * reaches mass p (one p for all heads, or a per-head table such as XAttention's thresholds). A head whose curve never
 * reaches p gets N. The total is whatever that costs: top-p fixes accuracy, not work.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, type HplbError } from '../errors.ts';
import { roundBudget, tokensFor } from '../recovery.ts';
import { blockOf, checkProblem, resultOf, type BudgetProblem, type BudgetResult } from './types.ts';

const okP = (p: number) => Number.isFinite(p) && p > 0 && p <= 1;

export const topPPolicy = (prob: BudgetProblem, p: number | ReadonlyArray<ReadonlyArray<number>>): E.Either<HplbError, BudgetResult> => {
  if (typeof p === 'number' && !okP(p)) return fail('argument', '$.p', 'a recovery target p in (0, 1]', p);
  if (typeof p !== 'number')
    for (let l = 0; l < p.length; l++) for (let h = 0; h < p[l]!.length; h++) if (!okP(p[l]![h]!)) return fail('argument', `$.topP[${l}][${h}]`, 'a recovery target in (0, 1]', p[l]![h]);
  return E.map((pp: BudgetProblem) => {
    const block = blockOf(pp);
    const n = pp.contextLength;
    const target = (l: number, h: number) => (typeof p === 'number' ? p : p[l]?.[h] ?? 1);
    const budgets = pp.curves.map((row, l) => row.map((c, h) => roundBudget(tokensFor(c, target(l, h)), block, n)));
    return resultOf('top-p', pp, budgets, { p: typeof p === 'number' ? p : 'per-head' });
  })(checkProblem(prob));
};
