/**
 * The main job (`npx hplb plan` with no arguments) as one library call: the built-in published profile (MInference
 * Llama-3.1-8B-Instruct, N = 131072) on 8 GPUs, compared three ways in one table —
 *
 *   [published] rows: the published budgets as they are, placed by the engines' contiguous split (what vLLM/SGLang
 *     run today), LPT (the paper), the engine-deployable layout (equal heads per rank with K/V copies, what
 *     `hplb export` + `hplb apply` make runnable in the stock engines) and hplb's split heads (the written plan);
 *   [modelled] rows: the curve-based budget policies (uniform, max-min, bubble-fill) at the same total tokens, on
 *     recovery curves modelled through each head's published (budget, recall) point (`power-through-point`).
 *
 * `notes` say which numbers are published and which are modelled. Platform-neutral (the solver runtime is injected).
 */
import * as E from 'fp-ts/lib/Either.js';
import { PUBLISHED_DEFAULT_PROVENANCE, budgetsAt, simulatePlan, type HplbError } from '@hplb/core';
import { planEngineLayoutForProfile } from '@hplb/engines';
import {
  comparePipelines, priceServing, publishedLoadedProfile, withServing,
  type Comparison, type ComparisonRow, type LoadedProfile, type PipelineRun, type PlanOptions, type PlanOutcome,
} from '@hplb/planner';
import type { SolverRuntime } from '@hplb/solvers';

// ---------------------------------------------------------------- model

/** Options of the main job: the GPU count (default 8), K/V copies of the engine row, the runtime, progress. */
export interface MainJobOptions {
  readonly gpus?: number;
  /** K/V duplication of the engine-deployable row: a factor r, or `auto` (the r with the lowest expected latency). */
  readonly kvCopies?: number | 'auto';
  readonly runtime?: SolverRuntime;
  readonly onProgress?: (done: number, total: number, pipeline: string) => void;
  /** The serving step the rows are priced in and the written plan is chosen by (planner `SettingsOptions`). */
  readonly serving?: PlanOptions['serving'];
  readonly workload?: PlanOptions['workload'];
  readonly hardware?: PlanOptions['hardware'];
}

/** The main job's table and the plan it writes. */
export interface MainJob {
  readonly profile: LoadedProfile;
  /** Every row in table order (`[published] …`, then `[modelled] …`); the engine row's plan is an engine layout plan. */
  readonly rows: ReadonlyArray<ComparisonRow>;
  /** Index in `rows` of the written plan (`[published] hplb (split heads)`). */
  readonly chosen: number;
  /** The written plan's outcome (byte for byte `planProfile(defaultProfile())`). */
  readonly outcome: PlanOutcome;
  /** The published-budget comparison (contiguous, LPT, hplb) and the modelled one (or why it could not run). */
  readonly published: Comparison;
  readonly modelled: Comparison | HplbError;
  /** Σ of the published budgets at N: the total tokens the modelled rows spend. */
  readonly totalTokens: number;
  /** The engine row's K/V duplication factor (when it ran). */
  readonly kvCopies?: number;
  /** Which numbers are published and which modelled, one sentence each. */
  readonly notes: ReadonlyArray<string>;
  /** The line plan.svg prints under its subtitle. */
  readonly chartNote: string;
}

// ---------------------------------------------------------------- operations

const renamed = (row: ComparisonRow, name: string): ComparisonRow =>
  row.ok ? { ...row, name, run: { ...row.run, spec: { ...row.run.spec, name } } } : { ...row, name };

/** The main job: see the module comment. Left: the written (published hplb) pipeline failed. */
export const mainJobWith = async (runtime: SolverRuntime | undefined, options: MainJobOptions = {}): Promise<E.Either<HplbError, MainJob>> => {
  const loaded = publishedLoadedProfile();
  const profile = loaded.profile;
  const gpus = options.gpus ?? PUBLISHED_DEFAULT_PROVENANCE.gpus;
  const base: PlanOptions = {
    gpus, ...(runtime ? { runtime } : {}),
    ...(options.serving !== undefined ? { serving: options.serving } : {}),
    ...(options.workload !== undefined ? { workload: options.workload } : {}),
    ...(options.hardware !== undefined ? { hardware: options.hardware } : {}),
  };
  const progress = (offset: number, parts: number) =>
    options.onProgress ? { onProgress: (d: number, t: number, name: string) => options.onProgress!(offset * t + d, parts * t, name) } : {};

  // 1. Published budgets: contiguous, LPT (paper), hplb (split heads) — the chosen row, written as plan.json.
  const published = await comparePipelines(loaded, { ...base, policy: 'profile', ...progress(0, 3) });
  if (E.isLeft(published)) return published;
  const ctx = published.right.settings;
  const n = ctx.contextLength;

  // 2. The engine-deployable layout on the same budgets: equal heads per rank, every query head with its KV slot.
  const t0 = Date.now();
  const engine = planEngineLayoutForProfile(profile, {
    gpus,
    kvCopies: options.kvCopies ?? 'auto',
    lengths: n,
    source: { profile: loaded.label },
    ...(loaded.file !== undefined ? { profileFile: loaded.file } : {}),
  });
  const kvCopies = E.isRight(engine) ? engine.right.plan.engineLayout.kvCopies : undefined;
  const engineName = `[published] engine layout (equal heads, K/V x${kvCopies ?? '?'})`;
  let engineRow: ComparisonRow;
  if (E.isRight(engine)) {
    const serving = priceServing(ctx, engine.right.plan);
    const plan = withServing(engine.right.plan, serving);
    const sim = simulatePlan(plan, ctx.curves);
    const run: PipelineRun = {
      spec: { name: engineName, solver: 'exact', splitHeads: false, policy: 'profile' },
      plan,
      sim,
      ...(sim.recovery ? { recovery: { min: sim.recovery.min, mean: sim.recovery.mean } } : {}),
      seconds: (Date.now() - t0) / 1000,
      ...(serving ? { serving } : {}),
    };
    engineRow = { ok: true, name: engineName, run, chosen: false };
  } else engineRow = { ok: false, name: engineName, error: engine.left, chosen: false };

  // 3. Modelled: the curve policies at the published total tokens, on curves through each head's (budget, recall).
  const budgets = budgetsAt(profile, n);
  const totalTokens = E.isRight(budgets) ? budgets.right.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0) : 0;
  // Priced in the serving step, but with no serving rows of its own: a what-if on modelled curves, not a plan to write.
  const modelled = await comparePipelines(loaded, { ...base, policy: 'bubble-fill', totalTokens, ...(options.serving === false ? {} : { serving: 'price' as const }), ...progress(1, 3) });

  const pub = published.right.rows.map((r) =>
    renamed(r, `[published] ${r.name === 'contiguous' ? 'contiguous (engines today)' : r.name}`));
  const mod = E.isRight(modelled) ? modelled.right.rows.map((r) => renamed({ ...r, chosen: false }, `[modelled] ${r.name}`)) : [];
  // Table order: contiguous, LPT, engine layout, hplb (split heads), the serving rows, then the modelled rows.
  const hplbAt = Math.max(0, pub.findIndex((r) => r.name === '[published] hplb (split heads)'));
  const rows = [...pub.slice(0, hplbAt), engineRow, ...pub.slice(hplbAt), ...mod];
  const chosenName = pub[published.right.chosen]!.name;
  const chosen = rows.findIndex((r) => r.name === chosenName);

  const p = PUBLISHED_DEFAULT_PROVENANCE;
  const notes = [
    `published: each head's budget (min(N, max(v,30) + max(s,50)) tokens) and recall from MInference (${p.repository.replace('https://github.com/', '')} @ ${p.commit}, ${p.path}, ${p.license.spdx}); [published] rows place these budgets as they are, and their min/mean rec. are the published recall`,
    `modelled: [modelled] rows choose budgets with the same total (${totalTokens} tokens, ${(totalTokens / (profile.model.layers * profile.model.queryHeads * n) * 100).toFixed(2)}% of N per head on average) on recovery curves modelled through each head's published (budget, recall) point, r(b) = (b/N)^γ (power-through-point, γ ≤ 1); their recovery is the model's, not measured`,
    ...(E.isRight(engine)
      ? [`engine layout: ${gpus} ranks with ${profile.model.queryHeads / gpus} query heads each, every KV head duplicated x${kvCopies} (${profile.model.kvHeads} → ${profile.model.kvHeads * (kvCopies ?? 1)} KV heads); its serving figures include the copies' K/V projections, decode reads and KV cache (hplb plan --engine-layout prices r for a length distribution)`]
      : []),
  ];
  return E.right({
    profile: loaded,
    rows,
    chosen,
    outcome: published.right.outcome,
    published: published.right,
    modelled: E.isRight(modelled) ? modelled.right : modelled.left,
    totalTokens,
    ...(kvCopies !== undefined ? { kvCopies } : {}),
    notes,
    chartNote: `budgets and recall: published (MInference, ${p.license.spdx}); placement: the engines' contiguous split vs hplb's split heads; same budgets in both panels`,
  });
};
