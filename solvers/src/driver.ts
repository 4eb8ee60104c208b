/**
 * The multi-layer driver: `planModel(input)` solves every layer of a model and returns a validated `hplb.plan/1`
 * plus a per-layer report (status, gap, seconds, the price of equal head counts and of whole GQA groups, splits).
 *   1. every layer is solved in this thread with a short budget (most real layers are proven optimal here);
 *      with `input.effort` the budgets are effort shares (1/4 here, the whole effort in step 2; prices get 1/8), the
 *      time limit is only a safety net, and the plan depends only on the inputs, the seed and the effort;
 *   2. layers still open get the full time limit, warm-started, in worker threads (core's `spawnTsWorker`) when
 *      that pays (parallel time, work / workers + a worker's start-up, below the serial time), here otherwise;
 *   3. prices: when equal heads or whole groups are asked for, each layer is also solved without that constraint;
 *      price = constrained makespan / unconstrained makespan (1 = free);
 *   4. split heads (`input.splitHeads`): S2's `splitLayer` cuts the heaviest heads' rows where it pays;
 *   5. `assemblePlan` recomputes loads, bounds, KV replication and validates the plan.
 * An infeasible constraint set returns Left with code "infeasible", naming the constraint.
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkBudgets, hplbError, issue, type HplbError, type Plan, type Split, type SolverStatus } from '@hplb/core';
import type { EngineUnavailable, LayerJob, LayerProblem, LayerResult, PlanInput, ProofName, SolveResult, SolverRuntime } from './types.ts';
import { solveLayer } from './registry.ts';
import { layerProblemOf } from './layerProblem.ts';
import { assemblePlan } from './assemble.ts';
import { splitLayer } from './split/index.ts';

export interface PlanLayerReport {
  readonly layer: number;
  readonly status: SolverStatus;
  readonly gap: number;
  /** What proved the layer optimal (plan.solver.layers[].proof): a bound, "dp", "search", "branch", "ilp:highs", … */
  readonly proof?: ProofName;
  readonly seconds: number;
  /** Makespan with equal heads per device ÷ makespan without (only when equal heads were asked for). */
  readonly priceOfEqualHeads?: number;
  /** Makespan with whole GQA groups ÷ makespan with free query heads (only with kv "group"). */
  readonly priceOfGroups?: number;
  /** Cuts made by split heads in this layer (a head in k parts counts k − 1). */
  readonly splits?: number;
}

export interface PlanResult {
  readonly plan: Plan;
  readonly layers: ReadonlyArray<PlanLayerReport>;
}

/** Rough wall time of one effort unit on one core (effort.ts: 10^6 units are a few hundred milliseconds). */
const EFFORT_UNIT_MS = 3e-4;

/** Budget of the in-thread first pass per layer. */
const QUICK_MS = 25;
/** A worker's start-up when the runtime does not say: below it, workers do not pay. */
const WORKER_STARTUP_MS = 1500;

/** An ILP engine that cannot start is a configuration problem of the run, not a property of a layer. */
const unavailable = (r: EngineUnavailable): HplbError =>
  hplbError('backend', [issue('$.solver', `an ILP engine that can start (${r.engine})`, r.message)]);

const infeasible = (layer: number, r: { constraint: string; message: string }): HplbError =>
  hplbError('infeasible', [issue(`$.constraints.${r.constraint}`, `a satisfiable constraint set (layer ${layer}: ${r.message})`)]);

const countCuts = (splits: ReadonlyArray<Split>) => splits.reduce((a, s) => a + s.parts.length - 1, 0);

/**
 * Solve every layer of a model and assemble the validated plan. `runtime` (default: the settings' `input.runtime`)
 * says where solving runs: absent, every layer is solved in this thread (any platform); `@hplb/solvers/node`'s
 * `planModel` passes its worker-thread runtime.
 */
export const planModel = async (input: PlanInput, runtime: SolverRuntime = input.runtime ?? {}): Promise<E.Either<HplbError, PlanResult>> => {
  const t0 = performance.now();
  const { model, devices } = input;
  const L = model.layers;
  if (devices.length === 0) return E.left(hplbError('argument', [issue('$.devices', 'at least one GPU', 0)]));
  if (!(input.timeLimitMs > 0)) return E.left(hplbError('argument', [issue('$.timeLimitMs', 'a time limit > 0', input.timeLimitMs)]));
  const checked = checkBudgets(model, { contextLength: input.contextLength, budgets: input.budgets });
  if (E.isLeft(checked)) return checked;
  const problems = Array.from({ length: L }, (_, l) => layerProblemOf(input, l));
  const seed = input.seed ?? 1;
  const limit = input.timeLimitMs;
  const solver = input.solver;
  const anytime = solver === 'auto' || solver === 'exact';
  const results: LayerResult[] = Array(L);
  let done = 0;
  const tick = () => input.onProgress?.(++done, L);

  // 1. First pass in this thread.
  // With an effort budget every pass is bounded by effort shares; the time limit is only the safety net.
  const effort = input.effort !== undefined && Number.isFinite(input.effort) && input.effort > 0 ? input.effort : undefined;
  // A quarter of the effort: enough for the class-DP proof of real layers (an 80 × 64 × 8 model leaves none open at
  // 10^6), so the second pass (and its worker threads) is for layers that really need more.
  const quickEffort = effort !== undefined ? Math.max(1, Math.floor(effort / 4)) : undefined;
  const quick = effort !== undefined ? limit : anytime ? Math.min(limit, QUICK_MS) : limit;
  const secondPass = anytime && (effort !== undefined ? quickEffort! < effort : quick < limit);
  for (let l = 0; l < L; l++) {
    const r = await solveLayer(problems[l]!, solver, { timeLimitMs: quick, seed: seed + l, ...(quickEffort !== undefined ? { effort: quickEffort } : {}) }, runtime);
    if (r.status === 'unavailable') return E.left(unavailable(r));
    results[l] = r;
    if (r.status === 'infeasible') return E.left(infeasible(l, r));
    if (!secondPass || r.status === 'optimal') tick();
  }

  // 2. Open layers get the full budget, in workers where it pays.
  if (secondPass) {
    const open = results.flatMap((r, l) => (r.status !== 'optimal' ? [l] : []));
    const jobs: LayerJob[] = open.map((l) => ({
      layer: l, problem: problems[l]!, solver,
      options: { timeLimitMs: limit, seed: seed + l, warmStart: (results[l] as { assignment: ReadonlyArray<number> }).assignment, ...(effort !== undefined ? { effort } : {}) },
    }));
    // Workers pay when the parallel time (work / k + a worker's start-up) beats doing it here.
    const k = Math.min(runtime.parallelism ?? 1, 4, open.length);
    // With an effort budget a layer takes at most about effort × 0.3 µs (effort.ts: 10^6 units are a few hundred
    // milliseconds), so a handful of open layers stay in this thread rather than paying for workers' start-up.
    const perLayerMs = effort !== undefined ? Math.min(limit, effort * EFFORT_UNIT_MS) : limit;
    const serial = open.length * perLayerMs;
    const pool = runtime.solveInWorkers;
    const want = pool === undefined ? 0 : input.workers ?? (k >= 2 && serial / k + (runtime.workerStartupMs ?? WORKER_STARTUP_MS) < serial ? k : 0);
    let second: SolveResult[];
    if (pool !== undefined && want > 0 && jobs.length > 0) {
      try {
        second = await pool(jobs, want, tick);
      } catch {
        second = [];
        for (const j of jobs) { second.push(await solveLayer(j.problem, j.solver, j.options, runtime)); tick(); }
      }
    } else {
      second = [];
      for (const j of jobs) { second.push(await solveLayer(j.problem, j.solver, j.options, runtime)); tick(); }
    }
    open.forEach((l, k) => {
      const a = results[l]!;
      const b = second[k]!;
      if (b.status === 'infeasible' || b.status === 'unavailable') return;
      if (a.status === 'infeasible' || b.makespan <= a.makespan) results[l] = b;
    });
  }

  // 3. Prices of the constraints.
  const priceLimit = Math.min(limit, 200);
  const eqPrice: Array<number | undefined> = Array(L).fill(undefined);
  const grPrice: Array<number | undefined> = Array(L).fill(undefined);
  const priceOf = async (p: LayerProblem, r: LayerResult, l: number) => {
    if (r.status === 'infeasible') return undefined;
    const free = await solveLayer(p, solver === 'ilp-glpk' || solver === 'ilp-highs' ? 'auto' : solver, {
      timeLimitMs: effort !== undefined ? limit : priceLimit, seed: seed + l, ...(effort !== undefined ? { effort: Math.max(1, Math.floor(effort / 8)) } : {}),
    }, runtime);
    return free.status === 'infeasible' || free.status === 'unavailable' || free.makespan === 0 ? undefined : r.makespan / Math.min(free.makespan, r.makespan);
  };
  for (let l = 0; l < L; l++) {
    const p = problems[l]!;
    const r = results[l]!;
    if (p.equalHeadsPerDevice) eqPrice[l] = await priceOf({ ...p, equalHeadsPerDevice: false }, r, l);
    if (p.groups) {
      const { groups: _g, ...rest } = p;
      grPrice[l] = await priceOf(rest, r, l);
    }
  }

  // 4. Split heads.
  const placements: number[][] = results.map((r) => [...(r as { assignment: ReadonlyArray<number> }).assignment]);
  const splitsOf: Split[][] = Array.from({ length: L }, () => []);
  if (input.splitHeads) {
    for (let l = 0; l < L; l++) {
      try {
        const s = splitLayer({
          layer: l, contextLength: input.contextLength, budgets: input.budgets[l]!, speeds: devices.map((d) => d.speed),
          costModel: input.costModel, assignment: placements[l]!, model,
          ...(input.splitHeads.maxSplits !== undefined ? { maxSplits: input.splitHeads.maxSplits } : {}),
          ...(input.splitHeads.minRows !== undefined ? { minRows: input.splitHeads.minRows } : {}),
          ...(input.splitHeads.homeDecode ? { homeDecode: true } : {}),
          ...(input.kvBytesPerElement !== undefined ? { kvBytesPerElement: input.kvBytesPerElement } : {}),
        });
        placements[l] = s.placement;
        splitsOf[l] = s.splits;
      } catch (e) {
        return E.left(hplbError('internal', [issue('$.splitHeads', `split heads to run on layer ${l}`, e instanceof Error ? e.message : String(e))]));
      }
    }
  }

  // 5. Assemble and validate.
  const seconds = (performance.now() - t0) / 1000;
  const plan = assemblePlan({
    model, contextLength: input.contextLength, budgets: input.budgets, devices, constraints: input.constraints,
    costModel: input.costModel, solverName: solver + (input.splitHeads ? '+split-heads' : ''),
    layers: results.map((r, l) => {
      const ok = r as Exclude<LayerResult, { status: 'infeasible' }>;
      return { placement: placements[l]!, splits: splitsOf[l]!, status: ok.status, lowerBound: ok.lowerBound, seconds: ok.seconds, ...(ok.proof ? { proof: ok.proof } : {}) };
    }),
    ...(input.kvBytesPerElement !== undefined ? { kvBytesPerElement: input.kvBytesPerElement } : {}),
    ...(input.kvReplicationCapBytes !== undefined ? { kvReplicationCapBytes: input.kvReplicationCapBytes } : {}),
    ...(input.previous ? { previous: input.previous } : {}),
    seconds,
  });
  return E.map((p: Plan): PlanResult => ({
    plan: p,
    layers: (p.solver.layers ?? []).map((li, l) => ({
      layer: l, status: li.status, gap: li.gap, seconds: (results[l] as { seconds: number }).seconds,
      ...(li.proof !== undefined ? { proof: li.proof as ProofName } : {}),
      ...(eqPrice[l] !== undefined ? { priceOfEqualHeads: eqPrice[l] } : {}),
      ...(grPrice[l] !== undefined ? { priceOfGroups: grPrice[l] } : {}),
      ...(input.splitHeads ? { splits: countCuts(splitsOf[l]!) } : {}),
    })),
  }))(plan);
};
