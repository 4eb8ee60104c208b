/**
 * The budgets + placement pipelines behind `hplb plan` and `hplb pareto`: choose per-head budgets with a policy, place
 * heads with a solver (the [solvers] multi-layer driver), optionally fill bubbles, and simulate the result.
 *
 *   uniform / top-p / max-min   budgets first, then placement;
 *   bubble-fill                 max-min, placement, then extra blocks for heads on non-critical GPUs (no makespan grows),
 *                               and the plan is re-assembled (and re-validated) with the new budgets;
 *   joint                       max-min and placement alternated (core `jointPolicy`), trajectory reported;
 *   profile                     the budgets the profile states at N (no curves needed).
 *
 * Written plans carry no wall-clock times (`solver.seconds` = 0; times are printed instead), so the same inputs and
 * seed give byte-identical plan files.
 */
import * as E from 'fp-ts/lib/Either.js';
import { colocatedCostModel, hplbError, issue, servingCost, servingCostModel, servingSummary, type CostModel, type HardwarePreset, type HplbError, type ModelDims, type ServingCost, type Workload } from '@hplb/core';
import type { Plan } from '@hplb/core';
import { simulate, type Simulation } from '@hplb/core';
import { recoveriesOf, recoveryStats, sampleCurve, type CurveSet } from '@hplb/core';
import {
  bubbleFillPolicy, densityTotal, jointPolicy, maxMinPolicy, topPPolicy, uniformPolicy,
  type BudgetProblem, type BudgetResult, type BudgetTotal, type JointStep,
} from '@hplb/core';
import { planModel } from '@hplb/solvers';
import { assemblePlan } from '@hplb/solvers';
import type { PlanSettings, SolverName } from '@hplb/solvers';
import type { BudgetPolicy } from './options.ts';

// ---------------------------------------------------------------- model

export type { BudgetPolicy } from './options.ts';

/**
 * Everything about the run that does not change between pipelines: the one settings record (`PlanSettings`, passed
 * unchanged to the solvers) plus what the budget planner adds.
 */
export interface PlanContext extends PlanSettings {
  readonly blockSize: number;
  readonly seed: number;
  /** Recovery curves at N, when the profile has them (directly or through a named curve model). */
  readonly curves?: CurveSet;
  /** Why there are no curves (names the missing information). */
  readonly curvesError?: HplbError;
  /** Budgets the profile states at N (for the `profile` policy). */
  readonly profileBudgets?: ReadonlyArray<ReadonlyArray<number>>;
  /** Provenance written into plans. */
  readonly source: Record<string, unknown>;
  /** The serving step every run is priced in (absent: attention alone, no `serving` block; see `servingSettings`). */
  readonly serving?: ServingSettings;
}

/** What prices a run in the serving step (core serving.ts): hardware, workload, the model's dimensions, decode sparsity. */
export interface ServingSettings {
  readonly hardware: HardwarePreset;
  readonly workload: Workload;
  readonly dims: ModelDims;
  /** Decode reads each head's budget (DuoAttention, MoA) instead of the whole context. */
  readonly decodeSparse: boolean;
  /** The attention cost model the serving model uses (the run's own when it is in seconds, else the hardware's). */
  readonly costModel: CostModel;
  /** True when the written plan is the comparison's best by the workload's objective (no solver, split or constraint fixed). */
  readonly choose: boolean;
}

/** How much a budget policy may spend, or what it must reach. */
export interface BudgetChoice {
  readonly density?: number;
  readonly totalTokens?: number;
  /** Total causal-prefill work Σ W(b, N) in token pairs. */
  readonly totalWork?: number;
  readonly p?: number;
}

/** One pipeline: its name (a table row), the solver, split heads or not, the budget policy, the effort. */
export interface PipelineSpec {
  readonly name: string;
  readonly solver: SolverName;
  readonly splitHeads: boolean;
  readonly policy: BudgetPolicy;
  /**
   * Plan against the serving cost model (attention + Q/K/V/O projections per GPU, core serving.ts) instead of the
   * run's attention cost model, with these constraints (default: the run's). Only with serving settings.
   */
  readonly serving?: {
    readonly constraints?: { readonly equalHeadsPerDevice: boolean; readonly kv: 'group' | 'replicate' };
    /** Split heads keep each head's decode on its whole-head device (the solvers' `splitHeads.homeDecode`). */
    readonly homeDecode?: boolean;
    /** Plan against prefill + T × decode reads per GPU (core `colocatedCostModel`) instead of prefill alone. */
    readonly withDecode?: boolean;
  };
  /**
   * Deterministic effort budget per layer solve (the solvers' `SolveOptions.effort`) for the anytime solvers: the
   * placement then depends only on the inputs, the seed and the effort, never on machine load; the time limit stays
   * as the safety net. Absent: the solver shares the time limit between its phases.
   */
  readonly effort?: number;
}

/** A pipeline's result: the written plan, its simulation, the budgets' details, recovery, wall-clock seconds. */
export interface PipelineRun {
  readonly spec: PipelineSpec;
  readonly plan: Plan;
  readonly sim: Simulation;
  readonly budgets?: BudgetResult;
  /** Recovery of the final budgets (undefined without curves). */
  readonly recovery?: { readonly min: number; readonly mean: number };
  readonly seconds: number;
  readonly trajectory?: ReadonlyArray<JointStep>;
  /** The plan priced in the serving step (with serving settings; the plan's `serving` block is its summary). */
  readonly serving?: ServingCost;
}

/** Mean budget as a share of N when no density or total is given. */
export const DEFAULT_DENSITY = 0.2;
/**
 * Per-layer wall-clock safety net of an effort-bounded solve (the effort, not this, ends the search normally). Far
 * above the few hundred milliseconds a layer's effort takes, so that a heavily loaded machine does not cut a search
 * and change a plan that must be byte-identical run to run (a cut layer would say `timedout`).
 */
export const EFFORT_SAFETY_NET_MS = 30_000;
/**
 * Effort of hplb's whole-head stage (`auto`) per layer solve: 10^6 search steps (a few hundred ms at most per open
 * layer on one core). On the default profile (32 layers, 8 GPUs) it reaches the same latency as 2 × 10^6 and keeps
 * the default `hplb plan` at about 6 s on a 2-core machine.
 */
export const DEFAULT_PLAN_EFFORT = 1_000_000;
/**
 * Effort of the serving rows' whole-head stage per layer: KV copies priced in the item costs leave the bounds weak, so
 * the search rarely proves a layer and spends its whole effort; 5·10^4 steps keep the serving rows near the cost of
 * hplb's attention-only row (the split stage that follows closes most of what is left).
 */
export const SERVING_PLAN_EFFORT = 50_000;
/** top-p target when none is given. */
export const DEFAULT_P = 0.95;

// ---------------------------------------------------------------- operations

const problemOf = (ctx: PlanContext): E.Either<HplbError, BudgetProblem> => {
  if (ctx.curves) return E.right({ curves: ctx.curves, contextLength: ctx.contextLength, blockSize: ctx.blockSize });
  return E.left(ctx.curvesError ?? hplbError('argument', [issue('$.profile', 'a profile with recovery curves (or recall) for this budget policy')]));
};

/** The total a density or an explicit token total stands for. */
export const totalOf = (p: BudgetProblem, choice: BudgetChoice): E.Either<HplbError, BudgetTotal> =>
  choice.totalTokens !== undefined ? E.right({ kind: 'tokens', value: choice.totalTokens })
    : choice.totalWork !== undefined ? E.right({ kind: 'work', value: choice.totalWork })
    : densityTotal(choice.density ?? DEFAULT_DENSITY, p);

/** Budgets for a policy that does not need a placement. `uniform` runs without curves (recovery then unknown). */
export const chooseBudgets = (ctx: PlanContext, policy: 'uniform' | 'top-p' | 'max-min', choice: BudgetChoice): E.Either<HplbError, BudgetResult> => {
  if (policy === 'uniform' && !ctx.curves) {
    const n = ctx.contextLength;
    const flat = sampleCurve((b) => b / n, n, 2);
    const shadow: BudgetProblem = { curves: Array.from({ length: ctx.model.layers }, () => Array.from({ length: ctx.model.queryHeads }, () => flat)), contextLength: n, blockSize: ctx.blockSize };
    return E.chain((t: BudgetTotal) => uniformPolicy(shadow, t))(totalOf(shadow, choice));
  }
  return E.chain((p: BudgetProblem) => {
    if (policy === 'top-p') return topPPolicy(p, choice.p ?? DEFAULT_P);
    return E.chain((t: BudgetTotal) => (policy === 'uniform' ? uniformPolicy(p, t) : maxMinPolicy(p, t)))(totalOf(p, choice));
  })(problemOf(ctx));
};

/** The settings without what only the budget planner reads. */
const settingsOf = (ctx: PlanContext): PlanSettings => {
  const { curves: _c, curvesError: _e, profileBudgets: _b, source: _s, splitHeads: _sh, effort: _ef, runtime: _r, ...settings } = ctx;
  return settings;
};

const place = async (ctx: PlanContext, spec: PipelineSpec, budgets: ReadonlyArray<ReadonlyArray<number>>) => {
  const effort = spec.effort ?? (spec.solver === 'auto' ? ctx.effort : undefined);
  return planModel({
    ...settingsOf(ctx),
    budgets,
    solver: spec.solver,
    // With an effort budget the time limit is only the safety net: floored so that load on the machine does not cut
    // the search (a cut would make the plan depend on timing; the layer would then say `timedout`).
    timeLimitMs: effort !== undefined ? Math.max(ctx.timeLimitMs, EFFORT_SAFETY_NET_MS) : ctx.timeLimitMs,
    ...(effort !== undefined ? { effort } : {}),
    ...(spec.splitHeads ? { splitHeads: { ...(ctx.splitHeads ?? {}), ...(spec.serving?.homeDecode ? { homeDecode: true } : {}) } } : {}),
  }, ctx.runtime);
};

/** Re-assemble (and re-validate) a plan with new budgets on the same placement and splits. */
const rebudget = (ctx: PlanContext, plan: Plan, budgets: ReadonlyArray<ReadonlyArray<number>>): E.Either<HplbError, Plan> =>
  assemblePlan({
    // The re-assembled plan records no migration (as the first assembly of a bubble-filled plan never did).
    ...settingsOf(ctx),
    previous: undefined,
    budgets,
    solverName: plan.solver.name,
    layers: plan.placement.map((row, l) => ({
      placement: row,
      splits: (plan.splits ?? []).filter((s) => s.layer === l),
      status: plan.solver.layers?.[l]?.status ?? plan.solver.status,
    })),
  });

const layoutOf = (ctx: PlanContext, plan: Plan) => ({
  model: ctx.model, contextLength: ctx.contextLength, devices: ctx.devices, placement: plan.placement, splits: plan.splits ?? [],
  costModel: ctx.costModel, ...(ctx.kvBytesPerElement !== undefined ? { kvBytesPerElement: ctx.kvBytesPerElement } : {}),
});

/** The plan as written: recovery, budget policy and source added; wall-clock seconds dropped (deterministic bytes). */
const finish = (ctx: PlanContext, spec: PipelineSpec, plan: Plan, budgets: BudgetResult | undefined, choice: BudgetChoice, extra: Record<string, unknown>): Plan => {
  const recovery = ctx.curves ? recoveryStats(recoveriesOf(ctx.curves, plan.budgets)) : undefined;
  const budgetPolicy: Record<string, unknown> = {
    name: spec.policy,
    blockSize: ctx.blockSize,
    ...(spec.policy === 'profile' ? {} : choice.totalTokens !== undefined ? { totalTokens: choice.totalTokens } : choice.totalWork !== undefined ? { totalWork: choice.totalWork } : spec.policy === 'top-p' ? { p: choice.p ?? DEFAULT_P } : { density: choice.density ?? DEFAULT_DENSITY }),
    ...(budgets ? { details: budgets.details } : {}),
    ...extra,
  };
  const { layers: _layers, ...solverRest } = plan.solver;
  return {
    ...plan,
    solver: { ...solverRest, seconds: 0 as Plan['solver']['seconds'], ...(plan.solver.layers ? { layers: plan.solver.layers } : {}) },
    ...(recovery ? { recovery: recovery as Plan['recovery'] & object } : {}),
    budgetPolicy,
    source: { ...ctx.source, pipeline: spec.name, timing: 'wall-clock times are printed, not written, so plans are byte-identical for the same inputs and seed' },
  } as Plan;
};

/** A plan priced in the serving step of the run's settings. */
export const priceServing = (ctx: PlanContext, plan: Plan): ServingCost | undefined => {
  const sv = ctx.serving;
  if (!sv) return undefined;
  return servingCost({
    model: ctx.model, dims: sv.dims, hardware: sv.hardware, workload: sv.workload, contextLength: plan.contextLength,
    budgets: plan.budgets, placement: plan.placement, splits: plan.splits ?? [], speeds: plan.devices.map((d) => d.speed),
    memoryBytes: plan.devices.map((d) => d.memoryBytes), costModel: sv.costModel, decodeSparse: sv.decodeSparse,
    ...(plan.kvBytesPerElement !== undefined ? { kvBytesPerElement: plan.kvBytesPerElement } : {}),
  });
};

/** The plan with its `serving` block (the summary keys of `servingCost`, in the schema's order). */
export const withServing = (plan: Plan, cost: ServingCost | undefined): Plan =>
  cost ? { ...plan, serving: servingSummary(cost) as Plan['serving'] } : plan;

const runOf = (ctx: PlanContext, spec: PipelineSpec, finished: Plan, budgets: BudgetResult | undefined, seconds: number, trajectory?: ReadonlyArray<JointStep>): PipelineRun => {
  const serving = priceServing(ctx, finished);
  const plan = withServing(finished, serving);
  const sim = simulate(layoutOf(ctx, plan), plan.budgets, ctx.curves);
  return {
    spec, plan, sim, seconds,
    ...(serving ? { serving } : {}),
    ...(budgets ? { budgets } : {}),
    ...(sim.recovery ? { recovery: { min: sim.recovery.min, mean: sim.recovery.mean } } : {}),
    ...(trajectory ? { trajectory } : {}),
  };
};

/** The context a pipeline runs in: a serving row plans against the serving cost model with its own constraints. */
export const contextFor = (ctx: PlanContext, spec: PipelineSpec): PlanContext => {
  if (!spec.serving || !ctx.serving) return ctx;
  const sv = ctx.serving;
  const costModel = spec.serving.withDecode
    ? colocatedCostModel(sv.hardware, ctx.model, sv.dims, sv.workload, ctx.contextLength, sv.decodeSparse, sv.costModel)
    : servingCostModel(sv.hardware, ctx.model, sv.dims, sv.costModel);
  return { ...ctx, costModel, constraints: spec.serving.constraints ?? ctx.constraints };
};

/** Run one pipeline end to end. */
export const runPipeline = async (base: PlanContext, spec: PipelineSpec, choice: BudgetChoice): Promise<E.Either<HplbError, PipelineRun>> => {
  const ctx = contextFor(base, spec);
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  if (spec.policy === 'profile') {
    if (!ctx.profileBudgets) return E.left(hplbError('argument', [issue('$.policy', 'a budget policy (the profile states no budgets at this context length)')]));
    const placed = await place(ctx, spec, ctx.profileBudgets);
    return E.map((r: { plan: Plan }) => runOf(ctx, spec, finish(ctx, spec, r.plan, undefined, choice, {}), undefined, secs()))(placed);
  }
  if (spec.policy === 'joint') {
    const prob = problemOf(ctx);
    if (E.isLeft(prob)) return prob;
    const total = totalOf(prob.right, choice);
    if (E.isLeft(total)) return total;
    let last: Plan | undefined;
    const plans = new Map<string, Plan>();
    const j = await jointPolicy(prob.right, total.right, { model: ctx.model, contextLength: ctx.contextLength, devices: ctx.devices, costModel: ctx.costModel, ...(ctx.kvBytesPerElement !== undefined ? { kvBytesPerElement: ctx.kvBytesPerElement } : {}) }, async (b) => {
      const r = await place(ctx, spec, b);
      return E.map((res: { plan: Plan }) => {
        last = res.plan;
        plans.set(JSON.stringify(res.plan.placement), res.plan);
        return { placement: res.plan.placement, splits: res.plan.splits ?? [] };
      })(r);
    });
    if (E.isLeft(j)) return j;
    const base = plans.get(JSON.stringify(j.right.placed.placement)) ?? last!;
    const plan = rebudget(ctx, base, j.right.result.budgets);
    if (E.isLeft(plan)) return plan;
    return E.right(runOf(ctx, spec, finish(ctx, spec, plan.right, j.right.result, choice, { trajectory: j.right.trajectory }), j.right.result, secs(), j.right.trajectory));
  }
  const first = chooseBudgets(ctx, spec.policy === 'bubble-fill' ? 'max-min' : spec.policy, choice);
  if (E.isLeft(first)) return first;
  const placed = await place(ctx, spec, first.right.budgets);
  if (E.isLeft(placed)) return placed;
  if (spec.policy !== 'bubble-fill') return E.right(runOf(ctx, spec, finish(ctx, spec, placed.right.plan, first.right, choice, {}), first.right, secs()));
  const prob = problemOf(ctx);
  if (E.isLeft(prob)) return prob;
  const filled = bubbleFillPolicy(prob.right, layoutOf(ctx, placed.right.plan), placed.right.plan.budgets);
  if (E.isLeft(filled)) return filled;
  const plan = rebudget(ctx, placed.right.plan, filled.right.budgets);
  if (E.isLeft(plan)) return plan;
  const { layerMakespan: _lm, ...details } = filled.right.details as Record<string, unknown>;
  const result = { ...filled.right, details: { base: 'max-min', maxMin: first.right.details, ...details } };
  return E.right(runOf(ctx, spec, finish(ctx, spec, plan.right, result, choice, {}), result, secs()));
};

/**
 * hplb's whole-head stage is the `auto` portfolio (local search, exact capacity search, branch and bound) bounded by a
 * deterministic effort (`DEFAULT_PLAN_EFFORT` search steps per layer) rather than by the clock: its placement, and so
 * the plan's bytes, depend only on the inputs and the seed, never on machine load. The time limit (`--time-limit`,
 * floored at `EFFORT_SAFETY_NET_MS` for these rows) is only a safety net; a layer it cuts says `timedout`.
 * `--solver X` picks another solver for the chosen row; a chosen row equal to hplb's row (same solver, split heads and
 * policy) is that row, effort included.
 *
 * The reference pipelines of the comparison table (with curves): today's engines (contiguous split, uniform budgets),
 * what head-adaptive budgets do to that split, the paper (LPT + max-min), and hplb.
 */
export const REFERENCE_PIPELINES: ReadonlyArray<PipelineSpec> = [
  { name: 'contiguous + uniform', solver: 'contiguous', splitHeads: false, policy: 'uniform' },
  { name: 'contiguous + max-min', solver: 'contiguous', splitHeads: false, policy: 'max-min' },
  { name: 'LPT + max-min (paper)', solver: 'lpt', splitHeads: false, policy: 'max-min' },
  { name: 'hplb (split heads + max-min + bubble-fill)', solver: 'auto', splitHeads: true, policy: 'bubble-fill', effort: DEFAULT_PLAN_EFFORT },
];

/** Without curves every pipeline uses the profile's budgets; only the placement differs. */
export const PROFILE_PIPELINES: ReadonlyArray<PipelineSpec> = [
  { name: 'contiguous', solver: 'contiguous', splitHeads: false, policy: 'profile' },
  { name: 'LPT (paper)', solver: 'lpt', splitHeads: false, policy: 'profile' },
  { name: 'hplb (split heads)', solver: 'auto', splitHeads: true, policy: 'profile', effort: DEFAULT_PLAN_EFFORT },
];

/**
 * The rows planned against the serving cost model (attention + projections per GPU; `contextFor`), each a candidate
 * for the written plan when the serving objective chooses it: KV groups kept whole with equal heads per GPU (the
 * decode step and KV memory of contiguous, attention balanced by swapping whole groups; where the GPU count divides the
 * KV heads), KV groups kept whole (where there are at least as many KV heads as GPUs), and split heads with KV copies
 * priced (whole heads where the constraints forbid splitting). Same budget policy as the reference rows.
 */
export const servingPipelines = (ctx: PlanContext, policy: BudgetPolicy, canSplit: boolean): PipelineSpec[] => {
  const G = ctx.devices.length;
  const m = ctx.model;
  const specs: PipelineSpec[] = [];
  const base = { solver: 'auto' as SolverName, policy, effort: Math.min(ctx.effort ?? SERVING_PLAN_EFFORT, SERVING_PLAN_EFFORT) };
  if (m.kvHeads % G === 0 && m.queryHeads % G === 0 && G > 1)
    specs.push({ ...base, name: 'hplb serving (KV groups, equal heads)', splitHeads: false, serving: { constraints: { equalHeadsPerDevice: true, kv: 'group' } } });
  if (m.kvHeads >= G && m.kvHeads % G !== 0)
    specs.push({ ...base, name: 'hplb serving (KV groups)', splitHeads: false, serving: { constraints: { equalHeadsPerDevice: false, kv: 'group' } } });
  // The split row's whole-head stage is the whole-head row, and the split stage keeps it where splitting gains nothing.
  if (!ctx.constraints.equalHeadsPerDevice && ctx.constraints.kv === 'replicate')
    specs.push({ ...base, name: canSplit ? 'hplb serving (split heads)' : 'hplb serving (whole heads)', splitHeads: canSplit, serving: {} });
  // Colocated serving: whole heads balanced on prefill + T × decode reads per GPU (decode pays for every KV head a GPU
  // holds, so the solver keeps groups together unless moving a head pays for its reads).
  if (ctx.serving?.workload.mode === 'colocated' && ctx.serving.workload.outputTokens > 0 && !ctx.constraints.equalHeadsPerDevice && ctx.constraints.kv === 'replicate')
    specs.push({ ...base, name: 'hplb serving (whole heads, prefill + decode)', splitHeads: false, serving: { withDecode: true } });
  // Colocated serving: the engines' contiguous split, with the heaviest heads' first rows shed to idle GPUs and each
  // head's last rows (its decode) kept home, so the decode step stays contiguous's while prefill balances.
  if (canSplit && G > 1)
    specs.push({ solver: 'contiguous', policy, name: 'hplb serving (contiguous + split heads, decode at home)', splitHeads: true, serving: { homeDecode: true } });
  return specs;
};
