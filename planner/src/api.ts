/**
 * The planner's library API, what `hplb plan` and `hplb pareto` are built on and what the `hplb` facade exports:
 *
 *   planProfile(profile, options)       the chosen pipeline only: plan, simulation, per-layer report
 *   comparePipelines(profile, options)  the comparison table's rows (today's engines, the paper, hplb, the chosen row)
 *   paretoSweep(profile, options)       latency against min / mean recovery per pipeline and budget density
 *
 * Each takes a profile (plain or labelled, see `profiles.ts`) and already decoded options; the facade decodes
 * options from unknown input first. Expected failures are `Left<HplbError>` naming options by JSON path.
 */
import * as E from 'fp-ts/lib/Either.js';
import { POLICIES_NEEDING_CURVES, compareServing, hplbError, issue, type HplbError, type SolverStatus, type Plan, type Profile, type Simulation } from '@hplb/core';
import type { BudgetResult, JointStep } from '@hplb/core';
import type { SolverName } from '@hplb/solvers';
import {
  DEFAULT_DENSITY, DEFAULT_P, DEFAULT_PLAN_EFFORT, PROFILE_PIPELINES, REFERENCE_PIPELINES, runPipeline, servingPipelines,
  type BudgetChoice, type PipelineRun, type PipelineSpec, type PlanContext,
} from './pipelines.ts';
import { checkBudgetOptions, type BudgetPolicy, type PlanOptions, type SettingsOptions } from './options.ts';
import { asLoadedProfile, type LoadedProfile } from './profiles.ts';
import { noCurvesError, planSettings } from './settings.ts';
import { skyline, type ParetoSeries } from './svg/pareto.ts';

// ---------------------------------------------------------------- model

/** One layer of a planned model: its makespan and bound, the solver's status and gap, splits, budgets, recovery. */
export interface LayerReport {
  readonly layer: number;
  readonly makespan: number;
  readonly lowerBound: number;
  readonly status: SolverStatus;
  readonly gap: number;
  /** Cuts made by split heads in this layer (a head in k parts counts k − 1). */
  readonly splits: number;
  readonly budgetMin: number;
  readonly budgetMean: number;
  readonly budgetMax: number;
  /** Lowest recovery of the layer's heads (with curves). */
  readonly recoveryMin?: number;
}

/** What `planProfile` returns. */
export interface PlanOutcome {
  /** The validated `hplb.plan/1` (serialize with `JSON.stringify(plan, null, 2) + '\n'` for the CLI's bytes). */
  readonly plan: Plan;
  /** Per-layer GPU timeline: busy and idle time per GPU, critical GPUs, latency, balance efficiency, bubbles. */
  readonly simulation: Simulation;
  /** One entry per layer. */
  readonly layers: ReadonlyArray<LayerReport>;
  /** Min and mean recovery of the final budgets (with curves). */
  readonly recovery?: { readonly min: number; readonly mean: number };
  /** The budget policy's result (details, e.g. bubble-fill's before/after). */
  readonly budgets?: BudgetResult;
  /** The joint policy's rounds. */
  readonly trajectory?: ReadonlyArray<JointStep>;
  /** The pipeline that ran (name, solver, split heads, policy, effort). */
  readonly pipeline: PipelineSpec;
  /** The settings the run used (devices, constraints, cost model, context length, block size, curves…). */
  readonly settings: PlanContext;
  /** The profile, labelled. */
  readonly profile: LoadedProfile;
  /** Wall-clock seconds of the run (not written into the plan). */
  readonly seconds: number;
}

/** A row of the comparison table: a run, or the reason its pipeline failed. */
export type ComparisonRow =
  | { readonly ok: true; readonly name: string; readonly run: PipelineRun; readonly chosen: boolean }
  | { readonly ok: false; readonly name: string; readonly error: HplbError; readonly chosen: boolean };

/** What `comparePipelines` returns: the rows in table order and the chosen row (whose plan `hplb plan` writes). */
export interface Comparison {
  readonly rows: ReadonlyArray<ComparisonRow>;
  /** Index of the chosen row in `rows`. */
  readonly chosen: number;
  /** The chosen row's outcome. */
  readonly outcome: PlanOutcome;
  readonly settings: PlanContext;
  readonly profile: LoadedProfile;
  /** The policy and budget choice of the chosen row. */
  readonly policy: BudgetPolicy;
  readonly choice: BudgetChoice;
}

// ---------------------------------------------------------------- operations

const choiceOf = (o: PlanOptions): BudgetChoice => ({
  ...(o.density !== undefined ? { density: o.density } : {}),
  ...(o.totalTokens !== undefined ? { totalTokens: o.totalTokens } : {}),
  ...(o.totalWork !== undefined ? { totalWork: o.totalWork } : {}),
  ...(o.p !== undefined ? { p: o.p } : {}),
});

/** The chosen pipeline and its settings: defaults of `hplb plan` (bubble-fill, auto with the effort, split heads). */
const prepare = (x: Profile | LoadedProfile, o: PlanOptions): E.Either<HplbError, { loaded: LoadedProfile; ctx: PlanContext; spec: PipelineSpec; policy: BudgetPolicy; choice: BudgetChoice; canSplit: boolean }> => {
  const checked = checkBudgetOptions(o);
  if (E.isLeft(checked)) return checked;
  const loaded = asLoadedProfile(x);
  const settings = planSettings(loaded, o);
  if (E.isLeft(settings)) return settings;
  // Priced in the serving step with nothing about the placement fixed: the written plan is the comparison's best by
  // the workload's objective (contiguous is always a row, so it is never worse than contiguous by this model).
  const sv = settings.right.serving;
  const chooses = sv !== undefined && o.serving !== 'price' && o.solver === undefined && o.splitHeads === undefined && o.constraints === undefined && o.previous === undefined;
  const ctx: PlanContext = chooses ? { ...settings.right, serving: { ...sv, choose: true } } : settings.right;
  // Default policy: the budgets a published profile states ('profile'); a curve profile's are chosen ('bubble-fill').
  const policy: BudgetPolicy = o.policy ?? (loaded.profile.kind !== 'curve' && ctx.profileBudgets ? 'profile' : 'bubble-fill');
  if ((POLICIES_NEEDING_CURVES as ReadonlyArray<string>).includes(policy) && !ctx.curves) return E.left(noCurvesError(ctx, policy));
  if (policy === 'profile' && !ctx.profileBudgets)
    return E.left(hplbError('argument', [issue('$.policy', 'a budget policy: the profile states no budgets at this context length (e.g. top-p thresholds); use $.policy with a curve profile')]));
  const canSplit = ctx.constraints.kv === 'replicate' && !ctx.constraints.equalHeadsPerDevice;
  const split = o.splitHeads === undefined ? o.solver === undefined && canSplit : o.splitHeads !== false;
  // Without a solver the whole-head stage is the auto portfolio with a deterministic effort (search steps, not the
  // clock), so the plan is byte-identical for the same inputs and seed; split heads / bubble-fill follow.
  const solver: SolverName = o.solver ?? 'auto';
  const spec: PipelineSpec = {
    name: `chosen: ${solver}${split ? ' + split' : ''} + ${policy}`,
    solver,
    splitHeads: split,
    policy,
    ...(solver === 'auto' ? { effort: o.effort ?? DEFAULT_PLAN_EFFORT } : {}),
  };
  return E.right({ loaded, ctx, spec, policy, choice: choiceOf(o), canSplit });
};

/** Index of the best row by the workload's objective (fits first, then the objective, then KV on the busiest GPU). */
const bestServingRow = (rows: ReadonlyArray<ComparisonRow>, fallback: number): number => {
  let best = -1;
  rows.forEach((r, i) => {
    if (!r.ok || !r.run.plan.serving) return;
    if (best < 0) best = i;
    else {
      const b = rows[best] as Extract<ComparisonRow, { ok: true }>;
      if (compareServing(r.run.plan.serving, b.run.plan.serving!) < 0) best = i;
    }
  });
  return best < 0 ? fallback : best;
};

/** Left when no row's KV and weights fit the GPUs: how much the lightest row needs against what the GPUs have. */
const noneFits = (rows: ReadonlyArray<ComparisonRow>): HplbError | undefined => {
  let need = Infinity;
  let has = 0;
  for (const r of rows) {
    const c = r.ok ? r.run.serving : undefined;
    if (!c) return undefined;
    if (c.fits) return undefined;
    c.kvBytesPerDevice.forEach((kv, d) => {
      const total = kv + c.weightBytesPerDevice[d]!;
      if (total > c.memoryBytesPerDevice[d]! && total < need) {
        need = total;
        has = c.memoryBytesPerDevice[d]!;
      }
    });
  }
  if (!Number.isFinite(need)) return undefined;
  return hplbError('infeasible', [issue('$.workload.batch', `a workload whose weights and KV fit some placement: the lightest plan needs ${(need / 1e9).toFixed(2)} GB on its busiest GPU against ${(has / 1e9).toFixed(2)} GB (fewer concurrent sequences, a shorter context, more GPUs or $.hardware with more memory)`)]);
};

/** Per-layer report of a run. */
export const layerReports = (run: { plan: Plan; sim: Simulation }): LayerReport[] =>
  run.plan.budgets.map((row, l) => {
    const info = run.plan.solver.layers?.[l];
    const sum = row.reduce((a, b) => a + b, 0);
    const rmin = run.sim.recovery?.layerMin[l];
    return {
      layer: l,
      makespan: run.plan.predicted.layerMakespan[l] ?? 0,
      lowerBound: run.plan.predicted.layerLowerBound[l] ?? 0,
      status: info?.status ?? run.plan.solver.status,
      gap: info?.gap ?? run.plan.solver.gap,
      splits: (run.plan.splits ?? []).filter((s) => s.layer === l).reduce((a, s) => a + s.parts.length - 1, 0),
      budgetMin: Math.min(...row),
      budgetMean: row.length > 0 ? sum / row.length : 0,
      budgetMax: Math.max(...row),
      ...(rmin !== undefined ? { recoveryMin: rmin } : {}),
    };
  });

const outcomeOf = (run: PipelineRun, ctx: PlanContext, loaded: LoadedProfile): PlanOutcome => ({
  plan: run.plan,
  simulation: run.sim,
  layers: layerReports(run),
  ...(run.recovery ? { recovery: run.recovery } : {}),
  ...(run.budgets ? { budgets: run.budgets } : {}),
  ...(run.trajectory ? { trajectory: run.trajectory } : {}),
  pipeline: run.spec,
  settings: ctx,
  profile: loaded,
  seconds: run.seconds,
});

const withProgress = (ctx: PlanContext, o: SettingsOptions, name: string, offset = 0, rows = 1): PlanContext =>
  o.onProgress ? { ...ctx, onProgress: (d, t) => o.onProgress!(offset * t + d, rows * t, name) } : ctx;

/**
 * The rows of the comparison and the chosen one: with curves and a budget policy the reference pipelines, else the
 * profile-budget ones (split heads become whole heads when KV is grouped or head counts are equal); the chosen
 * pipeline is the row it equals (same solver, split heads and policy; the row then runs with the chosen effort), else
 * an extra last row.
 */
export const comparisonSpecs = (ctx: PlanContext, policy: BudgetPolicy, chosen: PipelineSpec, canSplit: boolean): { specs: PipelineSpec[]; chosen: number } => {
  const refs = (ctx.curves && policy !== 'profile' ? REFERENCE_PIPELINES : PROFILE_PIPELINES).map((r) =>
    r.splitHeads && !canSplit ? { ...r, splitHeads: false, name: r.name.replace('split heads', 'whole heads') } : r);
  const same = (a: PipelineSpec, b: PipelineSpec) => a.solver === b.solver && a.splitHeads === b.splitHeads && a.policy === b.policy && !a.serving === !b.serving;
  const specs: PipelineSpec[] = [...refs, ...(ctx.serving?.choose ? servingPipelines(ctx, refs[refs.length - 1]!.policy, canSplit) : [])];
  let written = specs.findIndex((s) => same(s, chosen));
  if (written < 0) {
    specs.push(chosen);
    written = specs.length - 1;
  } else if (chosen.effort !== undefined) specs[written] = { ...specs[written]!, effort: chosen.effort };
  return { specs, chosen: written };
};

/**
 * Plan a profile: the chosen pipeline (policy, solver, split heads) on the options' devices. The result's plan is
 * byte for byte the `plan.json` `hplb plan` writes for the same options (`JSON.stringify(plan, null, 2) + '\n'`): a
 * chosen pipeline equal to a reference row runs as that row (its name is written into `plan.source.pipeline`).
 */
export const planProfile = async (profile: Profile | LoadedProfile, options: PlanOptions = {}): Promise<E.Either<HplbError, PlanOutcome>> => {
  const prep = prepare(profile, options);
  if (E.isLeft(prep)) return prep;
  const { ctx, spec: chosen, choice, loaded, policy, canSplit } = prep.right;
  // Choosing by the serving objective needs every row: the plan is the comparison's written plan.
  if (ctx.serving?.choose) return E.map((c: Comparison) => c.outcome)(await comparePipelines(profile, options));
  const { specs, chosen: i } = comparisonSpecs(ctx, policy, chosen, canSplit);
  const spec = specs[i]!;
  const r = await runPipeline(withProgress(ctx, options, spec.name), spec, choice);
  return E.map((run: PipelineRun) => outcomeOf(run, ctx, loaded))(r);
};

/**
 * The comparison table of `hplb plan`: with curves and a budget policy, contiguous + uniform (today's engines),
 * contiguous + max-min, LPT + max-min (the paper) and hplb (split heads + max-min + bubble-fill); with the profile's
 * own budgets, contiguous, LPT and hplb (split heads). The chosen pipeline is the row it equals (same solver, split
 * heads and policy), else an extra last row. A reference row that fails is a row with its error; the chosen row
 * failing is the Left.
 */
export const comparePipelines = async (profile: Profile | LoadedProfile, options: PlanOptions = {}): Promise<E.Either<HplbError, Comparison>> => {
  const prep = prepare(profile, options);
  if (E.isLeft(prep)) return prep;
  const { ctx, spec: chosen, choice, loaded, policy, canSplit } = prep.right;
  const cs = comparisonSpecs(ctx, policy, chosen, canSplit);
  const specs = cs.specs;
  let written = cs.chosen;
  const rows: ComparisonRow[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const r = await runPipeline(withProgress(ctx, options, spec.name, i, specs.length), spec, choice);
    if (E.isLeft(r)) {
      if (i === written) return r;
      rows.push({ ok: false, name: spec.name, error: r.left, chosen: false });
    } else rows.push({ ok: true, name: spec.name, run: r.right, chosen: i === written });
  }
  if (ctx.serving?.choose) {
    const none = noneFits(rows);
    if (none) return E.left(none);
    const best = bestServingRow(rows, written);
    rows.forEach((r, i) => { (rows as ComparisonRow[])[i] = { ...r, chosen: i === best } as ComparisonRow; });
    written = best;
  }
  const mine = rows[written] as Extract<ComparisonRow, { ok: true }>;
  return E.right({ rows, chosen: written, outcome: outcomeOf(mine.run, ctx, loaded), settings: ctx, profile: loaded, policy, choice });
};

// ---------------------------------------------------------------- Pareto sweep

/** Densities `paretoSweep` sweeps by default (uniform, max-min and hplb pipelines). */
export const DEFAULT_DENSITIES: ReadonlyArray<number> = [0.01, 0.02, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5];
/** top-p targets `paretoSweep` sweeps by default (the LPT + top-p pipeline). */
export const DEFAULT_PS: ReadonlyArray<number> = [0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98];

/** The pipelines of `hplb pareto`, each swept over densities or top-p targets. */
export const PARETO_PIPELINES: ReadonlyArray<PipelineSpec & { readonly sweep: 'density' | 'p' }> = [
  { name: 'contiguous + uniform', solver: 'contiguous', splitHeads: false, policy: 'uniform', sweep: 'density' },
  { name: 'LPT + top-p', solver: 'lpt', splitHeads: false, policy: 'top-p', sweep: 'p' },
  { name: 'LPT + max-min (paper)', solver: 'lpt', splitHeads: false, policy: 'max-min', sweep: 'density' },
  { name: 'hplb (split + max-min + bubble-fill)', solver: 'auto', splitHeads: true, policy: 'bubble-fill', effort: DEFAULT_PLAN_EFFORT, sweep: 'density' },
];

/** Options of `paretoSweep`: the settings, plus the densities and top-p targets to sweep. */
export interface ParetoSweepOptions extends SettingsOptions {
  readonly densities?: ReadonlyArray<number>;
  readonly ps?: ReadonlyArray<number>;
}

/** A point of the sweep, marked when it is on the skyline of latency against min or mean recovery. */
export interface SweepPoint {
  readonly pipeline: string;
  readonly density: number;
  readonly p?: number;
  readonly latency: number;
  readonly min: number;
  readonly mean: number;
  readonly skylineMin: boolean;
  readonly skylineMean: boolean;
}

/** What `paretoSweep` returns: per-pipeline series (for `renderPareto`), every point with skyline marks, the unit. */
export interface ParetoSweep {
  readonly series: ReadonlyArray<ParetoSeries>;
  /** Every point in series order, with its skyline marks. */
  readonly points: ReadonlyArray<SweepPoint>;
  readonly unit: 'token-pairs' | 'seconds';
  readonly settings: PlanContext;
  readonly profile: LoadedProfile;
}

/**
 * Sweep budget densities (and top-p targets) per pipeline and simulate each point: the data of the paper's
 * accuracy–latency figure for this profile. Needs recovery curves. Split-head pipelines are left out when KV is
 * grouped or head counts are equal.
 */
export const paretoSweep = async (profile: Profile | LoadedProfile, options: ParetoSweepOptions = {}): Promise<E.Either<HplbError, ParetoSweep>> => {
  const loaded = asLoadedProfile(profile);
  const settings = planSettings(loaded, options);
  if (E.isLeft(settings)) return settings;
  const ctx = settings.right;
  if (!ctx.curves) return E.left(noCurvesError(ctx, 'max-min/top-p (hplb pareto)'));
  const densities = options.densities ?? DEFAULT_DENSITIES;
  const ps = options.ps ?? DEFAULT_PS;
  const replicate = ctx.constraints.kv === 'replicate' && !ctx.constraints.equalHeadsPerDevice;
  const pipelines = PARETO_PIPELINES.filter((p) => replicate || !p.splitHeads);
  const total = pipelines.reduce((a, p) => a + (p.sweep === 'p' ? ps.length : densities.length), 0);
  let done = 0;
  const heads = ctx.model.layers * ctx.model.queryHeads;
  const series: ParetoSeries[] = [];
  for (const spec of pipelines) {
    const points = [];
    for (const x of spec.sweep === 'p' ? ps : densities) {
      const r = await runPipeline(ctx, spec, spec.sweep === 'p' ? { p: x } : { density: x });
      options.onProgress?.(++done, total, spec.name);
      if (E.isLeft(r)) return r;
      const tokens = r.right.plan.budgets.reduce((a, row) => a + row.reduce((s, b) => s + b, 0), 0);
      points.push({ density: Math.round((tokens / (heads * ctx.contextLength)) * 1e6) / 1e6, latency: r.right.sim.latency, min: r.right.recovery!.min, mean: r.right.recovery!.mean, ...(spec.sweep === 'p' ? { p: x } : {}) });
    }
    series.push({ name: spec.name, points });
  }
  const all = series.flatMap((s) => s.points.map((p) => ({ pipeline: s.name, ...p })));
  const skyMin = new Set(skyline(all.map((p) => ({ latency: p.latency, r: p.min }))));
  const skyMean = new Set(skyline(all.map((p) => ({ latency: p.latency, r: p.mean }))));
  const points = all.map((p, i) => ({ ...p, skylineMin: skyMin.has(i), skylineMean: skyMean.has(i) }));
  return E.right({ series, points, unit: ctx.costModel.unit, settings: ctx, profile: loaded });
};

export { DEFAULT_DENSITY, DEFAULT_P };
