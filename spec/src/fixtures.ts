/**
 * Hand-written plans for tests: a plan from its model, devices, budgets, placement and splits, with the `predicted`
 * block recomputed by core (token pairs, no recovery) and checked by the independent validator.
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError, makeDevices, recomputeLoads, summarizeLoads, validatePlan, type Plan } from '@hplb/core';

export interface HandPlanSpec {
  readonly model: { readonly name: string; readonly layers: number; readonly queryHeads: number; readonly kvHeads: number; readonly headDim: number };
  readonly contextLength: number;
  readonly devices: number;
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
  readonly placement: ReadonlyArray<ReadonlyArray<number>>;
  readonly splits?: ReadonlyArray<{ readonly layer: number; readonly head: number; readonly parts: ReadonlyArray<{ readonly device: number; readonly rowStart: number; readonly rowEnd: number }> }>;
}

/** A valid `hplb.plan/1` for the spec (kv "replicate", free head counts, solver "hand"); throws if it is not valid. */
export const handPlan = (s: HandPlanSpec): Plan => {
  const base = {
    format: 'hplb.plan/1', model: s.model, contextLength: s.contextLength,
    devices: makeDevices(s.devices), constraints: { equalHeadsPerDevice: false, kv: 'replicate' },
    budgets: s.budgets, placement: s.placement,
    ...(s.splits ? { splits: s.splits } : {}),
    solver: { name: 'hand', status: 'feasible', gap: 0, seconds: 0 },
  } as unknown as Plan;
  const loads = recomputeLoads(base);
  const plan = { ...base, predicted: summarizeLoads('token-pairs', loads, loads.map(() => 0)) } as Plan;
  const v = validatePlan(plan);
  if (E.isLeft(v)) throw new Error(`handPlan: not a valid plan: ${formatError(v.left)}`);
  return plan;
};
