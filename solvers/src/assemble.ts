/**
 * `assemblePlan`: build a validated `hplb.plan/1` from per-layer placements, split heads and solver statuses.
 * The multi-layer driver uses it once per plan; the budgets planner calls it again after bubble filling changes the
 * budgets. Nothing a caller passes about loads is trusted: device loads come from core's `recomputeLoads`, the lower
 * bounds are recomputed from the budgets (a caller's bound is kept only when larger and still ≤ the makespan), gaps
 * are recomputed, KV replication is counted by core's `kvSummary`, and the result must pass `validatePlan`.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  decodePlan, headCost, kvSummary, recomputeLoads, summarizeLoads, validatePlan, PLAN_FORMAT,
  type CostModel, type HplbError, type Plan, type Split, type SolverStatus,
} from '@hplb/core';
import { instanceBound, type ProvenBound } from './bounds.ts';
import { normalize } from './problem.ts';
import { layerProblemOf } from './layerProblem.ts';
import type { PlanInput } from './types.ts';

export interface AssembleLayer {
  /** placement[h] = device of query head h (a split head's first part's device). */
  readonly placement: ReadonlyArray<number>;
  /** Split heads of this layer (core `Split`, `layer` = this layer's index). */
  readonly splits?: ReadonlyArray<Split>;
  readonly status: SolverStatus;
  /** A proven lower bound for this layer's budgets, if the solver has a better one than the recomputed bounds. */
  readonly lowerBound?: number;
  /** What proved `lowerBound` (the solver's `proof`); shown on the layer when the plan finds it optimal. */
  readonly proof?: string;
  readonly seconds?: number;
}

/** The model, budgets, devices, constraints, cost model and KV settings are those of the driver's `PlanInput`; with
 * `previous` (a stable re-plan) the plan records the moves made. */
export interface AssembleInput
  extends Pick<PlanInput, 'model' | 'contextLength' | 'budgets' | 'devices' | 'constraints' | 'costModel' | 'kvBytesPerElement' | 'kvReplicationCapBytes' | 'previous'> {
  /** Shown as plan.solver.name. */
  readonly solverName: string;
  readonly layers: ReadonlyArray<AssembleLayer>;
  /** Wall-clock seconds of the whole solve (default: Σ layer seconds). */
  readonly seconds?: number;
  /** Optional plan fields passed through (recovery, budgetPolicy, source). */
  readonly extras?: { readonly recovery?: Plan['recovery']; readonly budgetPolicy?: Plan['budgetPolicy']; readonly source?: Plan['source'] };
}

const worse = (a: SolverStatus, b: SolverStatus): SolverStatus => {
  const rank: Record<SolverStatus, number> = { optimal: 0, feasible: 1, timedout: 2 };
  return rank[a] >= rank[b] ? a : b;
};

/**
 * Lower bound of a layer whose heads may be split into row ranges: total device time / devices, where each head
 * costs at least its fixed term once and its work at the fastest speed (and, without fixed terms, work / Σ speeds).
 */
export const splitLowerBound = (cm: CostModel, budgets: ReadonlyArray<number>, n: number, speeds: ReadonlyArray<number>): number => {
  const sMax = Math.max(...speeds);
  const sSum = speeds.reduce((a, b) => a + b, 0);
  let work = 0;
  for (const b of budgets) work += headCost(cm, b, n, 1) - cm.fixed;
  const b1 = (budgets.length * cm.fixed + work / sMax) / speeds.length;
  const b2 = cm.fixed === 0 ? work / sSum : 0;
  return Math.max(b1, b2);
};

/** Whole-head lower bound of one layer under the plan's constraints (heads, groups, speeds), and what gave it. */
export const wholeHeadBound = (input: Pick<AssembleInput, 'model' | 'contextLength' | 'budgets' | 'devices' | 'constraints' | 'costModel'>, layer: number): ProvenBound => {
  // Everything the layer's problem (without KV terms) is built from; the rows of a plan table share it per layer.
  const prev = (input as Pick<AssembleInput, 'previous'>).previous;
  const key = JSON.stringify([
    input.model, input.contextLength, input.costModel, input.devices.map((d) => [d.speed, d.memoryBytes]), input.constraints,
    input.budgets[layer] ?? [], prev ? [prev.devices.length, prev.placement[layer] ?? null] : null,
  ]);
  const hit = wholeCache.get(key);
  if (hit !== undefined) {
    wholeCache.delete(key);
    wholeCache.set(key, hit);
    return hit;
  }
  const p = layerProblemOf({ ...input, kvBytesPerElement: 2 }, layer, { withKv: false });
  const norm = normalize(p);
  const b: ProvenBound = norm.ok ? instanceBound(norm.inst) : { value: 0, proof: 'bound:L0' };
  wholeCache.set(key, b);
  if (wholeCache.size > WHOLE_CACHE_MAX) wholeCache.delete(wholeCache.keys().next().value!);
  return b;
};

/** Whole-head bounds by what they are computed from (least recently used dropped first): a pure function of it. */
const WHOLE_CACHE_MAX = 1024;
const wholeCache = new Map<string, ProvenBound>();

/** Whole-head lower bound of one layer under the plan's constraints (heads, groups, speeds). */
export const wholeHeadLowerBound = (input: Pick<AssembleInput, 'model' | 'contextLength' | 'budgets' | 'devices' | 'constraints' | 'costModel'>, layer: number): number =>
  wholeHeadBound(input, layer).value;

export const assemblePlan = (input: AssembleInput): E.Either<HplbError, Plan> => {
  const { model, contextLength: n, devices, costModel } = input;
  const L = model.layers;
  const splits: Split[] = input.layers.flatMap((l) => [...(l.splits ?? [])]);
  const placement = input.layers.map((l) => [...l.placement]);
  const bpe = input.kvBytesPerElement ?? 2;
  const kv = kvSummary(model, n, devices.length, placement, splits, bpe);
  const draft = {
    format: PLAN_FORMAT,
    model: { name: model.name, layers: model.layers, queryHeads: model.queryHeads, kvHeads: model.kvHeads, headDim: model.headDim },
    contextLength: n,
    devices: devices.map((d) => ({ id: d.id, speed: d.speed, memoryBytes: d.memoryBytes })),
    constraints: { equalHeadsPerDevice: input.constraints.equalHeadsPerDevice, kv: input.constraints.kv },
    budgets: input.budgets.map((r) => [...r]),
    placement,
    predicted: summarizeLoads(costModel.unit, [], []),
    solver: { name: input.solverName, status: 'optimal' as SolverStatus, gap: 0, seconds: 0 },
    costModel,
    kvBytesPerElement: bpe,
    ...(splits.length > 0 ? { splits } : {}),
    kvReplication: { copies: kv.copies, bytes: kv.bytes, ...(input.kvReplicationCapBytes !== undefined ? { capBytes: input.kvReplicationCapBytes } : {}) },
    ...(input.extras?.recovery ? { recovery: input.extras.recovery } : {}),
    ...(input.extras?.budgetPolicy ? { budgetPolicy: input.extras.budgetPolicy } : {}),
    ...(input.extras?.source ? { source: input.extras.source } : {}),
  };
  if (input.layers.length !== L) {
    return E.left({ code: 'invalid-plan', issues: [{ path: '$.placement', expected: `${L} layers`, actual: String(input.layers.length) }] });
  }
  return E.chain((shaped: Plan) => {
    const loads = recomputeLoads(shaped);
    const speeds = devices.map((d) => d.speed);
    const lbs: number[] = [];
    const layerInfo: Array<{ layer: number; status: SolverStatus; gap: number; proof?: string }> = [];
    let status: SolverStatus = 'optimal';
    let seconds = 0;
    for (let l = 0; l < L; l++) {
      const mk = Math.max(0, ...loads[l]!);
      const hasSplits = splits.some((s) => s.layer === l);
      const own = wholeHeadBound(input, l);
      let lb = own.value;
      let by: string = own.proof;
      const given = input.layers[l]!.lowerBound;
      if (given !== undefined && given > lb && given <= mk * (1 + 1e-9)) {
        lb = given;
        by = input.layers[l]!.proof ?? by;
      }
      if (hasSplits) {
        // Split heads: only the divisible-work bound holds (the whole-head bound is kept when it is lower).
        lb = Math.min(lb, splitLowerBound(costModel, input.budgets[l]!, n, speeds));
        by = 'bound:split';
      }
      lb = Math.min(lb, mk);
      const gap = lb > 0 ? Math.max(0, mk / lb - 1) : 0;
      const st: SolverStatus = gap <= 1e-9 ? 'optimal' : input.layers[l]!.status === 'optimal' ? 'feasible' : input.layers[l]!.status;
      status = worse(status, st);
      seconds += input.layers[l]!.seconds ?? 0;
      lbs.push(lb);
      layerInfo.push({ layer: l, status: st, gap: gap <= 1e-9 ? 0 : gap, ...(st === 'optimal' ? { proof: by } : {}) });
    }
    const predicted = summarizeLoads(costModel.unit, loads, lbs);
    const gap = predicted.lowerBoundTotal > 0 ? Math.max(0, predicted.total / predicted.lowerBoundTotal - 1) : 0;
    const prev = input.previous;
    let moves: number | undefined;
    if (prev && prev.placement.length === L) {
      moves = 0;
      for (let l = 0; l < L; l++) for (let h = 0; h < model.queryHeads; h++) if (prev.placement[l]?.[h] !== placement[l]![h]) moves++;
    }
    const full = {
      ...draft,
      predicted,
      solver: { name: input.solverName, status, gap, seconds: input.seconds ?? seconds, layers: layerInfo },
      ...(moves !== undefined ? { migration: { moves } } : {}),
    };
    return E.chain((p: Plan) => validatePlan(p))(decodePlan(full));
  })(decodePlan(draft));
};
