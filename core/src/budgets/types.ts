/**
 * Shared model of the budget policies (`uniform`, `top-p`, `max-min`, `bubble-fill`, `joint`): the problem (recovery
 * curves at context N, block size), the total a policy may spend (tokens or work), the result (block-rounded budgets in
 * [block, N] and the recovery they reach), argument checks that every policy shares, and a small max-heap.
 * Used by the policy modules next to this file and by the CLI pipelines.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, type HplbError } from '../errors.ts';
import { headWork } from '../work.ts';
import { recoveriesOf, recoveryStats, type CurveSet } from '../recovery.ts';

// ---------------------------------------------------------------- model

export type PolicyName = 'uniform' | 'top-p' | 'max-min' | 'bubble-fill' | 'joint';
export const POLICY_NAMES: ReadonlyArray<PolicyName> = ['uniform', 'top-p', 'max-min', 'bubble-fill', 'joint'];

/** Policies that need recovery curves (all but uniform, which only needs a token count). */
export const POLICIES_NEEDING_CURVES: ReadonlyArray<PolicyName> = ['top-p', 'max-min', 'bubble-fill', 'joint'];

import { DEFAULT_BLOCK_SIZE } from '../kernel/params.ts';

export interface BudgetProblem {
  /** recoveryCurve[l][h], all at `contextLength`. */
  readonly curves: CurveSet;
  readonly contextLength: number;
  /** Budgets are multiples of this (or N), at least one block. Default 64. */
  readonly blockSize?: number;
}

/** What a policy may spend in total: Σ budgets (tokens) or Σ W(b, N) (token pairs of causal-prefill work). */
export type BudgetTotal = { readonly kind: 'tokens'; readonly value: number } | { readonly kind: 'work'; readonly value: number };

export interface BudgetResult {
  readonly policy: PolicyName;
  /** tokenBudget[l][h], block-rounded, in [block, N]. */
  readonly budgets: number[][];
  /** recovery[l][h] reached by those budgets. */
  readonly recovery: number[][];
  readonly min: number;
  readonly mean: number;
  readonly totalTokens: number;
  readonly totalWork: number;
  /** Policy-specific facts (level reached, blocks added, ...), written into the plan's `budgetPolicy`. */
  readonly details: Record<string, unknown>;
}

// ---------------------------------------------------------------- operations

export const blockOf = (p: BudgetProblem): number => p.blockSize ?? DEFAULT_BLOCK_SIZE;

export const headCount = (p: BudgetProblem): number => p.curves.reduce((a, r) => a + r.length, 0);

/** The measure a total counts: tokens b, or work W(b, N). */
export const measureOf = (kind: BudgetTotal['kind'], n: number) => (kind === 'tokens' ? (b: number) => b : (b: number) => headWork(b, n));

/** Total tokens of a density D ∈ (0, 1]: D · N per head. */
export const densityTotal = (density: number, p: BudgetProblem): E.Either<HplbError, BudgetTotal> =>
  Number.isFinite(density) && density > 0 && density <= 1
    ? E.right({ kind: 'tokens', value: density * p.contextLength * headCount(p) })
    : fail('argument', '$.density', 'a density in (0, 1] (the mean budget as a share of the context length)', density);

/** Check the problem and the total: block ≤ N, total at least one block per head. */
export const checkProblem = (p: BudgetProblem, total?: BudgetTotal): E.Either<HplbError, BudgetProblem> => {
  const block = blockOf(p);
  const n = p.contextLength;
  if (!(Number.isInteger(block) && block >= 1)) return fail('argument', '$.blockSize', 'a block size ≥ 1 token', block);
  if (block > n) return fail('argument', '$.blockSize', `a block size at most the context length ${n}`, block);
  for (let l = 0; l < p.curves.length; l++)
    for (let h = 0; h < p.curves[l]!.length; h++)
      if (p.curves[l]![h]!.contextLength !== n) return fail('argument', `$.curves[${l}][${h}]`, `a curve at context length ${n}`, p.curves[l]![h]!.contextLength);
  if (total) {
    const heads = headCount(p);
    const floor = heads * measureOf(total.kind, n)(block);
    if (!(Number.isFinite(total.value) && total.value >= floor)) {
      const option = total.kind === 'tokens' ? '$.totalTokens' : '$.totalWork';
      return fail('argument', option, `a total of at least one block per head: ${heads} heads × ${total.kind === 'tokens' ? `${block} tokens` : `W(${block}, ${n}) token pairs`} = ${floor}`, total.value);
    }
  }
  return E.right(p);
};

/** Assemble a result from budgets. */
export const resultOf = (policy: PolicyName, p: BudgetProblem, budgets: number[][], details: Record<string, unknown>): BudgetResult => {
  const recovery = recoveriesOf(p.curves, budgets);
  const st = recoveryStats(recovery);
  let totalTokens = 0;
  let totalWork = 0;
  for (const row of budgets) for (const b of row) {
    totalTokens += b;
    totalWork += headWork(b, p.contextLength);
  }
  return { policy, budgets, recovery, min: st.min, mean: st.mean, totalTokens, totalWork, details };
};

/** The next block-rounded budget above b (N at most). */
export const nextBudget = (b: number, block: number, n: number): number => Math.min(n, (Math.floor(b / block) + 1) * block);

// ---------------------------------------------------------------- heap

/** A binary max-heap on `key`, ties broken by the smaller `id` (deterministic). */
export class MaxHeap<T extends { readonly key: number; readonly id: number }> {
  private readonly a: T[] = [];
  get size(): number {
    return this.a.length;
  }
  private above(x: T, y: T): boolean {
    return x.key > y.key || (x.key === y.key && x.id < y.id);
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.above(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.above(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
