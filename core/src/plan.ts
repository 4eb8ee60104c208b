/**
 * The plan format `hplb.plan/1`: budgets, placement (with optional split heads) and predicted loads for every
 * layer. Written by `hplb plan`, read by `hplb execute` / `hplb export`, checked by `validatePlan`.
 *
 * Required fields are the public interface; optional fields extend it (never rename). Loads:
 *   - unit "token-pairs": deviceLoad[l][d] = Σ W(b,N)/speed over the device's whole heads
 *     + Σ_{i=rowStart+1..rowEnd} min(i,b)/speed over the split parts it runs;
 *   - unit "seconds": the same through `costModel` (required then), plus its KV-copy terms.
 *   - balanceEfficiency = Σ_l mean_d load / Σ_l max_d load; bubbleFraction = 1 − balanceEfficiency.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, NonNegativeInt, PositiveInt } from './brand.ts';
import { CostModelC } from './cost.ts';
import { DeviceC, ModelShapeC } from './model.ts';
import { decode, type HplbError } from './errors.ts';
import { ServingSummaryC } from './serving.ts';

export const PLAN_FORMAT = 'hplb.plan/1' as const;

export const SplitPartC = t.type({ device: NonNegativeInt, rowStart: NonNegativeInt, rowEnd: NonNegativeInt }, 'SplitPart');
export const SplitC = t.type({ layer: NonNegativeInt, head: NonNegativeInt, parts: t.array(SplitPartC) }, 'Split');

export const SolverStatusC = t.union([t.literal('optimal'), t.literal('feasible'), t.literal('timedout')], 'SolverStatus');
export type SolverStatus = t.TypeOf<typeof SolverStatusC>;

export const PredictedC = t.type({
  unit: t.union([t.literal('token-pairs'), t.literal('seconds')]),
  deviceLoad: t.array(t.array(NonNegative)),
  layerMakespan: t.array(NonNegative),
  layerLowerBound: t.array(NonNegative),
  total: NonNegative,
  lowerBoundTotal: NonNegative,
  balanceEfficiency: NonNegative,
  bubbleFraction: t.number,
}, 'Predicted');

export const PlanC = t.intersection([
  t.type({
    format: t.literal(PLAN_FORMAT),
    model: ModelShapeC,
    contextLength: PositiveInt,
    devices: t.array(DeviceC),
    constraints: t.type({ equalHeadsPerDevice: t.boolean, kv: t.union([t.literal('group'), t.literal('replicate')]) }),
    budgets: t.array(t.array(NonNegative)),
    placement: t.array(t.array(NonNegativeInt)),
    predicted: PredictedC,
    solver: t.intersection([
      t.type({ name: t.string, status: SolverStatusC, gap: NonNegative, seconds: NonNegative }),
      t.partial({
        layers: t.array(t.intersection([
          t.type({ layer: NonNegativeInt, status: SolverStatusC, gap: NonNegative }),
          /** What proved an optimal layer (e.g. "bound:L2", "dp", "search", "branch", "ilp:highs"); optional, so older plans decode. */
          t.partial({ proof: t.string }),
        ])),
      }),
    ]),
  }),
  t.partial({
    splits: t.array(SplitC),
    /** Required when predicted.unit is "seconds"; defaults to work (token pairs) otherwise. */
    costModel: CostModelC,
    /** Bytes per KV element (2 for bf16/fp16). Default 2. */
    kvBytesPerElement: PositiveInt,
    /** Extra KV head copies (beyond one per group per layer) and their bytes: 2·headDim·bytesPerElement·N each. */
    kvReplication: t.intersection([
      t.type({ copies: NonNegativeInt, bytes: NonNegative }),
      t.partial({ capBytes: t.union([NonNegative, t.null]) }),
    ]),
    /** Recovery (attention mass kept) reached by the budgets, when the profile has curves. */
    recovery: t.type({ min: NonNegative, mean: NonNegative }),
    /** How the budgets were chosen. */
    budgetPolicy: t.UnknownRecord,
    /** Where the budgets came from (profile file, format). */
    source: t.UnknownRecord,
    /** Previous placement used for a stable re-plan, and the moves made. */
    migration: t.type({ moves: NonNegativeInt }),
    /**
     * What the placement costs in the serving step (core serving.ts), modelled on the named hardware preset:
     * whole-step prefill, decode per output token, request latency, attention alone, KV bytes per device, fits.
     */
    serving: ServingSummaryC,
  }),
], 'Plan');

export type Plan = t.TypeOf<typeof PlanC>;
export type SplitPart = t.TypeOf<typeof SplitPartC>;
export type Split = t.TypeOf<typeof SplitC>;
export type Predicted = t.TypeOf<typeof PredictedC>;

/** Decode unknown JSON into a Plan (shape only; `validatePlan` checks consistency). */
export const decodePlan = (u: unknown, file?: string): E.Either<HplbError, Plan> => decode(PlanC, u, file);

/**
 * Summarise per-layer device loads and bounds into the `predicted` block. Pure arithmetic; used by writers and by
 * the validator (which recomputes it independently from budgets and placement).
 */
export const summarizeLoads = (
  unit: 'token-pairs' | 'seconds',
  deviceLoad: ReadonlyArray<ReadonlyArray<number>>,
  layerLowerBound: ReadonlyArray<number>,
): Predicted => {
  const layerMakespan = deviceLoad.map((row) => row.reduce((a, b) => Math.max(a, b), 0));
  let meanSum = 0;
  for (const row of deviceLoad) meanSum += row.length === 0 ? 0 : row.reduce((a, b) => a + b, 0) / row.length;
  const total = layerMakespan.reduce((a, b) => a + b, 0);
  const lowerBoundTotal = layerLowerBound.reduce((a, b) => a + b, 0);
  const balanceEfficiency = total === 0 ? 1 : meanSum / total;
  return {
    unit,
    deviceLoad: deviceLoad.map((r) => [...r]) as Predicted['deviceLoad'],
    layerMakespan: layerMakespan as Predicted['layerMakespan'],
    layerLowerBound: [...layerLowerBound] as Predicted['layerLowerBound'],
    total: total as Predicted['total'],
    lowerBoundTotal: lowerBoundTotal as Predicted['lowerBoundTotal'],
    balanceEfficiency: balanceEfficiency as Predicted['balanceEfficiency'],
    bubbleFraction: 1 - balanceEfficiency,
  };
};
