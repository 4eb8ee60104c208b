/**
 * The solver registry: one entry point, `solveLayer(problem, solver, options)`, for every solver name (SolverName),
 * returning the status union of `LayerResult` (optimal | feasible | timedout, or infeasible naming the constraint).
 *   - contiguous / roundrobin / lpt / kk / multifit: one builder (KK and MultiFit fall back to earliest-finish LPT
 *     when the instance has side constraints; `kk` uses balanced KK under equal heads);
 *   - local: the best builder, then local search to a fixed point plus bounded random kicks;
 *   - exact: local, then the anytime capacity search (identical devices) until the time limit; optimal with proof,
 *     or the best plan and its gap (status timedout) when the limit cuts it;
 *   - auto (default): local, then exact where it applies, then iterated local search with the time left;
 *   - ilp-glpk / ilp-highs: the ILP engines (`./ilp/`), warm-started from `local`, their answer re-checked here.
 * With `options.effort` (auto / exact / local), every phase spends shares of that deterministic budget instead of shares
 * of the time limit (see effort.ts), so the answer depends only on the instance, the seed and the effort; the time
 * limit is then a safety net, and a solve it cuts is reported `timedout` (unless proven optimal).
 * Every result's makespan and lower bound are recomputed here from the instance (never trusted from a solver).
 * A stable re-plan (problem.previous) then minimises moves at that makespan (`reduceMoves`).
 * Time limit: the builders and bounds poll the deadline too (`Deadline`), so a large layer returns at the limit with
 * the best plan so far (round robin when no builder finished), a bound that holds (at least max(mean, largest item))
 * and status `timedout`; a layer the limit did not cut is solved exactly as before. Instances over the size limits
 * (deadline.ts: `MAX_ITEMS`, `MAX_DEVICES`, `MAX_CELLS`) are refused by `normalize` before anything is allocated.
 */
import type { LayerProblem, LayerResult, LayerStatus, ProofName, SolveOptions, SolveResult, SolverName, SolverRuntime } from './types.ts';
import { collapseAssignment, expandAssignment, LoadState, normalize, type Instance } from './problem.ts';
import { distinctCosts, instanceBound } from './bounds.ts';
import { BUILDERS, lpt, roundRobin, type BuilderName } from './heuristics.ts';
import { Deadline } from './deadline.ts';
import { localSearch, reduceMoves } from './local.ts';
import { exactApplies, exactSearch, type ExactProof } from './exact.ts';
import { BRANCH_MAX_ITEMS, branchAndBound } from './branch.ts';
import { Effort } from './effort.ts';


/** Solvers that run in this thread without the ILP engines (what the laws exercise on every run). */
export const NATIVE_SOLVERS: ReadonlyArray<SolverName> = ['auto', 'exact', 'lpt', 'kk', 'multifit', 'local', 'contiguous', 'roundrobin'];

export const DEFAULT_TIME_LIMIT_MS = 10_000;

const EPS = 1e-9;
const ms = () => performance.now();

/** The builders the portfolio tries, cheapest first. */
const portfolio = (inst: Instance): BuilderName[] => {
  if (inst.plain && inst.kind === 'identical') return ['lpt', 'kk', 'multifit'];
  if (inst.plain) return ['lpt', 'multifit'];
  if (inst.quota !== undefined) return ['lpt-capped', 'balanced-kk'];
  return ['lpt'];
};

interface Best {
  assign: Int32Array;
  makespan: number;
}

const evaluate = (inst: Instance, a: ArrayLike<number>) => {
  const st = new LoadState(inst, a);
  return { makespan: st.makespan(), feasible: st.feasible() };
};

const keepBest = (inst: Instance, best: Best | null, a: Int32Array | null): Best | null => {
  if (!a) return best;
  const e = evaluate(inst, a);
  if (!e.feasible) return best;
  if (!best || e.makespan < best.makespan) return { assign: Int32Array.from(a), makespan: e.makespan };
  return best;
};

/**
 * No builder finished before the deadline: round robin (linear), or LPT without a deadline when round robin
 * dead-ends on a KV cap. Only ever used once the deadline has passed.
 */
const orFallback = (inst: Instance, best: Best | null, clock: Deadline): Best | null =>
  best ?? (clock.hit ? keepBest(inst, null, roundRobin(inst)) ?? keepBest(inst, null, lpt(inst)) : null);


const infeasibleFor = (inst: Instance): LayerResult => ({
  status: 'infeasible',
  constraint: inst.kv && Number.isFinite(inst.kv.maxExtra) ? 'kvReplicationCap' : 'memory',
  message: 'no placement found that fits the KV memory / replication caps (the greedy builders dead-ended)',
});

/**
 * Is `makespan` proven optimal by `lb`? With integer costs on identical devices (and no KV copy terms) every makespan
 * is an integer number of cost units, so the bound may be rounded up, and the comparison is exact; otherwise within
 * a relative 1e-9 (float loads).
 */
const meetsBound = (inst: Instance, makespan: number, lb: number): 'exact' | 'tolerance' | false => {
  if (inst.kind === 'identical' && !inst.kv?.hasCopyCost && inst.cost.every((c) => Number.isInteger(c))) {
    const s = inst.speeds[0]!;
    // The bound in integer cost units: within float error (1e-9 relative) of an integer, that integer (it was one,
    // divided by the speed); otherwise rounded up. Never above the true bound rounded up.
    const x = lb * s;
    const r = Math.round(x);
    const bound = Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x);
    return Math.round(makespan * s) <= bound ? 'exact' : false;
  }
  return makespan <= lb * (1 + EPS) ? 'tolerance' : false;
};

const finish = (
  inst: Instance, best: Best, lowerBound: number, status: LayerStatus, t0: number, deadline: number, effort?: Effort, proof?: ProofName,
): LayerResult => {
  let assign = best.assign;
  let makespan = best.makespan;
  if (inst.previous) {
    // Lexicographic: the best makespan (up to the migration tolerance), then the fewest moves. Candidates: the plan
    // with moves undone greedily, the previous placement itself, and local search started from it.
    const limit = makespan * (1 + Math.max(0, inst.migrationWeight));
    const prev = inst.previous;
    // The move reductions stop at the deadline, or 20 ms from here when the search took it all (with an effort: at
    // its clock stop, the deadline).
    const end = Math.max(deadline, ms() + 20);
    const stop = effort ? () => effort.pastDeadline() : () => ms() > end;
    const candidates: Int32Array[] = [reduceMoves(inst, assign, limit, stop)];
    if (prev.every((d) => d >= 0)) {
      candidates.push(Int32Array.from(prev));
      // With an effort budget the descent gets its own small deterministic budget (a twentieth, at least 10^4 units).
      const moveEffort = effort ? new Effort(Math.max(10_000, effort.initial / 20), effort.deadline) : undefined;
      candidates.push(reduceMoves(inst, localSearch(inst, prev, moveEffort ? effort!.deadline : ms() + 20, { maxKicks: 0, ...(moveEffort ? { effort: moveEffort } : {}) }), limit, stop));
      if (moveEffort?.clockHit) effort!.clockHit = true;
    }
    let bestMoves = new LoadState(inst, assign).moves();
    for (const c of candidates) {
      const st = new LoadState(inst, c);
      const mk = st.makespan();
      if (!st.feasible() || mk > limit * (1 + 1e-12)) continue;
      const mv = st.moves();
      if (mv < bestMoves || (mv === bestMoves && mk < makespan)) {
        bestMoves = mv;
        assign = c;
        makespan = mk;
      }
    }
  }
  const proven = meetsBound(inst, makespan, lowerBound);
  // An integer bound rounded up that meets the makespan is the makespan; otherwise the bound as proven (≤ makespan),
  // and the gap is the plain ratio, never rounded down (0 within the float tolerance when proven).
  const lb = proven === 'exact' ? makespan : Math.min(lowerBound, makespan);
  const gap = proven ? 0 : lb > 0 ? Math.max(0, makespan / lb - 1) : makespan > 0 ? Infinity : 0;
  // Effort-bounded: `timedout` means exactly that the clock cut the solve (the answer may then depend on timing); a
  // solve that spent its effort without a proof is `feasible` (deterministic, with its gap).
  const st: LayerStatus = proven ? 'optimal' : effort ? (effort.clockHit ? 'timedout' : 'feasible') : status === 'optimal' ? 'feasible' : status;
  return {
    status: st, assignment: expandAssignment(inst, assign), makespan, lowerBound: lb, gap, seconds: (ms() - t0) / 1000,
    ...(proven ? { proof: proof ?? instanceBound(inst, makespan).proof } : {}),
  };
};

/** A builder's plan, computed once per solve (builders are pure; null: dead end, or stopped by the deadline). */
type Build = (b: BuilderName) => Int32Array | null;

/** Best of the portfolio builders (until `clock` passes), then local search to a fixed point (+ kicks up to `deadline`). */
const localPhase = (inst: Instance, clock: Deadline, build: Build, deadline: number, seed: number, lb: number, maxKicks: number, warm?: Int32Array, effort?: Effort): Best | null => {
  let best: Best | null = null;
  if (warm) best = keepBest(inst, best, warm);
  for (const b of portfolio(inst)) best = keepBest(inst, best, build(b));
  best = orFallback(inst, best, clock);
  if (!best) return null;
  // Past the deadline (the builders took it): no local search (its set-up alone is linear work).
  if (best.makespan <= lb * (1 + EPS) || clock.passed()) return best;
  const a = localSearch(inst, best.assign, deadline, { seed, maxKicks, stopAt: lb, ...(effort ? { effort } : {}) });
  return keepBest(inst, best, a);
};

/** At most half as many distinct costs as items (e.g. real budgets: 5–6 classes per layer). */
const fewTypes = (inst: Instance): boolean => distinctCosts(inst) * 2 <= inst.n;

/** Synchronous solve for every solver except the ILP engines. */
export const solveLayerSync = (problem: LayerProblem, solver: SolverName, options: SolveOptions): LayerResult => {
  const t0 = ms();
  const norm = normalize(problem);
  if (!norm.ok) return { status: 'infeasible', constraint: norm.constraint, message: norm.message };
  const inst = norm.inst;
  const limit = options.timeLimitMs > 0 ? options.timeLimitMs : DEFAULT_TIME_LIMIT_MS;
  const deadline = t0 + limit;
  const seed = options.seed ?? 1;
  // Deterministic effort budget (auto / exact / local): phases get shares of it; the deadline is the safety net.
  const effort = options.effort !== undefined && Number.isFinite(options.effort) && options.effort > 0 ? new Effort(options.effort, deadline) : undefined;
  // The deadline the builders and bounds poll (with an effort, passing it is the effort's clock stop).
  const clock = new Deadline(deadline, effort);
  // The best bound so far and what proved it.
  let lbProof: ProofName = 'bound:L0';
  // A solve the deadline cut in a builder or a bound is `timedout` unless proven.
  const done = (best: Best, lowerBound: number, status: LayerStatus, proof?: ProofName) =>
    finish(inst, best, lowerBound, clock.hit && status !== 'optimal' ? 'timedout' : status, t0, deadline, effort, proof ?? lbProof);
  const fromExact = (p: ExactProof | undefined): ProofName => (p === undefined || p === 'bound:given' ? lbProof : p);
  const warm = options.warmStart && options.warmStart.length === inst.originalN ? collapseAssignment(inst, options.warmStart) : undefined;
  if (inst.n === 0) return { status: 'optimal', assignment: [], makespan: 0, lowerBound: 0, gap: 0, seconds: 0 };

  const single = (name: BuilderName): LayerResult => {
    // A builder the deadline cut may return its best so far (MultiFit: an early, loose capacity): round robin when
    // that is better.
    const built = keepBest(inst, null, BUILDERS[name](inst, clock));
    const best = clock.hit ? orFallback(inst, keepBest(inst, built, roundRobin(inst)), clock) : built;
    if (!best) return infeasibleFor(inst);
    const b = instanceBound(inst, best.makespan, clock);
    return done(best, b.value, 'feasible', b.proof);
  };
  switch (solver) {
    case 'contiguous': return single('contiguous');
    case 'roundrobin': return single('roundrobin');
    case 'lpt': return single(inst.quota !== undefined ? 'lpt-capped' : 'lpt');
    case 'kk': return single(inst.quota !== undefined ? 'balanced-kk' : 'kk');
    case 'multifit': return single('multifit');
    default: break;
  }

  // Builders are pure, so each runs at most once per solve (the first plans and the polishing phase share them); the
  // first of the portfolio (LPT) runs before any bound, so a large layer has its LPT plan before the bounds take time.
  const built = new Map<BuilderName, Int32Array | null>();
  const build: Build = (b) => {
    if (!built.has(b)) built.set(b, BUILDERS[b](inst, clock));
    return built.get(b) ?? null;
  };
  build(portfolio(inst)[0]!);
  const b0 = instanceBound(inst, Infinity, clock);
  const lb0 = b0.value;
  lbProof = b0.proof;
  // local: a fixed point plus a bounded number of kicks (at most a quarter of the time limit).
  if (solver === 'local') {
    const best = localPhase(inst, clock, build, effort ? deadline : t0 + limit / 4, seed, lb0, 200, warm, effort);
    if (!best) return infeasibleFor(inst);
    const b = instanceBound(inst, best.makespan, clock);
    return done(best, b.value, 'feasible', b.proof);
  }

  // exact / auto (and the ILP engines' warm start).
  let best: Best | null = null;
  let lb = lb0;
  // (Past the deadline already, the few-types check, a sort, is not made: no search follows either way.)
  if (exactApplies(inst) && !clock.passed() && fewTypes(inst)) {
    // Real budgets come in a handful of classes: the capacity search over item types is then the fastest way to a
    // proof, so it runs first, from the best builder, with half the budget.
    // Cheapest first; a builder whose plan already meets the bound ends the solve (no need for the others).
    if (warm) best = keepBest(inst, best, warm);
    for (const b of portfolio(inst)) {
      if (best && meetsBound(inst, best.makespan, lb)) break;
      best = keepBest(inst, best, build(b));
    }
    best = orFallback(inst, best, clock);
    if (best) {
      const b = instanceBound(inst, best.makespan, clock);
      if (b.value > lb) { lb = b.value; lbProof = b.proof; }
      if (meetsBound(inst, best.makespan, lb)) return done(best, lb, 'optimal');
      // Past the deadline already (a large layer): no search (its set-up alone is linear and more).
      if (!clock.passed()) {
        const r = effort ? exactSearch(inst, best.assign, lb, deadline, effort.share(0.5)) : exactSearch(inst, best.assign, lb, t0 + limit * 0.5);
        best = keepBest(inst, best, r.assign) ?? best;
        if (r.lowerBound > lb) { lb = r.lowerBound; lbProof = fromExact(r.boundBy); }
        if (r.complete && r.resolution === 1) return done(best, best.makespan, 'optimal', fromExact(r.proof));
        if (meetsBound(inst, best.makespan, lb)) return done(best, lb, 'optimal');
      }
    }
  }
  const polished = effort
    ? localPhase(inst, clock, build, deadline, seed, lb, 64, best ? best.assign : warm, effort.share(0.1))
    : localPhase(inst, clock, build, Math.min(deadline, ms() + Math.min(limit * 0.2, 50 + limit * 0.05)), seed, lb, 64, best ? best.assign : warm);
  if (polished && (!best || polished.makespan < best.makespan)) best = polished;
  if (!best) return infeasibleFor(inst);
  {
    const b = instanceBound(inst, best.makespan, clock);
    if (b.value > lb) { lb = b.value; lbProof = b.proof; }
  }
  if (meetsBound(inst, best.makespan, lb)) return done(best, lb, 'optimal');
  let status: LayerStatus = 'feasible';
  if (clock.passed()) {
    // The builders, the local search and the bounds took the whole time limit (a large layer): the best plan so far.
    status = 'timedout';
  } else if (exactApplies(inst)) {
    const r = effort
      ? exactSearch(inst, best.assign, lb, deadline, effort.share(solver === 'exact' ? 1 : 0.6))
      : exactSearch(inst, best.assign, lb, solver === 'exact' ? deadline : t0 + (deadline - t0) * 0.6);
    best = keepBest(inst, best, r.assign) ?? best;
    if (r.lowerBound > lb) { lb = r.lowerBound; lbProof = fromExact(r.boundBy); }
    if (r.complete && r.resolution === 1) return done(best, best.makespan, 'optimal', fromExact(r.proof));
    if (meetsBound(inst, best.makespan, lb)) return done(best, lb, 'optimal');
    status = 'timedout';
    if (solver === 'auto' && (effort ? effort.ok() : ms() < deadline)) {
      // With an effort budget: half of what is left for the local search, the rest for a second exact search.
      best = keepBest(inst, best, localSearch(inst, best.assign, deadline, { seed: seed + 1, stopAt: lb, ...(effort ? { effort: effort.share(0.5) } : {}) })) ?? best;
      // An improved plan may let the exact search close the gap with what is left.
      if (effort ? effort.ok() : ms() < deadline - 1) {
        const r2 = exactSearch(inst, best.assign, lb, deadline, effort);
        best = keepBest(inst, best, r2.assign) ?? best;
        if (r2.lowerBound > lb) { lb = r2.lowerBound; lbProof = fromExact(r2.boundBy); }
        if (r2.complete && r2.resolution === 1) return done(best, best.makespan, 'optimal', fromExact(r2.proof));
      }
    }
  } else if (inst.n <= BRANCH_MAX_ITEMS) {
    // Small layer under constraints the capacity search does not cover: branch and bound (anytime, a proof when done).
    const r = effort
      ? branchAndBound(inst, best.assign, lb, deadline, effort.share(solver === 'exact' ? 1 : 0.8))
      : branchAndBound(inst, best.assign, lb, solver === 'exact' ? deadline : t0 + (deadline - t0) * 0.8);
    best = keepBest(inst, best, r.assign) ?? best;
    if (r.complete) return done(best, best.makespan, 'optimal', 'branch');
    status = 'timedout';
  } else {
    // No exact method for this constraint set: iterated local search for the time (or effort) given (bounded kicks for auto).
    best = keepBest(inst, best, localSearch(inst, best.assign, deadline, { seed: seed + 1, stopAt: lb, maxKicks: solver === 'auto' ? 2000 : Infinity, ...(effort ? { effort } : {}) })) ?? best;
    status = solver === 'exact' ? 'timedout' : 'feasible';
  }
  return done(best, lb, status);
};

/**
 * Solve one layer with any solver. The ILP solvers need a runtime with an engine (`@hplb/solvers/node` passes
 * `nodeSolverRuntime`); without one, or when the engine cannot start, the answer is `unavailable` (naming the
 * engine), never a verdict on the layer.
 */
export const solveLayer = async (problem: LayerProblem, solver: SolverName, options: SolveOptions, runtime: SolverRuntime = {}): Promise<SolveResult> => {
  if (solver !== 'ilp-glpk' && solver !== 'ilp-highs') return solveLayerSync(problem, solver, options);
  const engine = solver === 'ilp-glpk' ? 'glpk' : 'highs';
  const t0 = ms();
  const norm = normalize(problem);
  if (!norm.ok) return { status: 'infeasible', constraint: norm.constraint, message: norm.message };
  const inst = norm.inst;
  const solveIlp = runtime.solveIlp;
  if (solveIlp === undefined) {
    return { status: 'unavailable', engine, message: `${solver}: no ILP engine in this runtime (the engines run in worker threads: use @hplb/solvers/node)` };
  }
  // Warm start from local search (a small share of the budget).
  const warm = solveLayerSync(problem, 'local', { ...options, timeLimitMs: Math.min(200, options.timeLimitMs / 10) });
  if (warm.status === 'infeasible') return warm;
  const left = Math.max(1, options.timeLimitMs - (ms() - t0));
  let r: LayerResult;
  try {
    r = await solveIlp(problem, { engine, timeLimitMs: left, warmStart: warm.assignment });
  } catch (e) {
    return { status: 'unavailable', engine, message: `${solver}: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (r.status === 'infeasible') return r;
  // Re-check the engine's answer: a valid assignment, its true makespan, our own bound. An answer that is not one
  // device per item is ignored (the warm start stands).
  const a = r.assignment;
  const wellFormed = a.length === inst.originalN && a.every((d) => Number.isInteger(d) && d >= 0 && d < inst.m);
  const collapsed = wellFormed ? collapseAssignment(inst, a) : collapseAssignment(inst, warm.assignment);
  const consistent = wellFormed && expandAssignment(inst, collapsed).every((d, i) => d === a[i]);
  const e = evaluate(inst, collapsed);
  const ours = warm.makespan;
  const useEngine = consistent && e.feasible && e.makespan <= ours;
  const best: Best = useEngine ? { assign: collapsed, makespan: e.makespan } : { assign: collapseAssignment(inst, warm.assignment), makespan: ours };
  const ownBound = instanceBound(inst, best.makespan, new Deadline(t0 + options.timeLimitMs));
  let lb = ownBound.value;
  let proof: ProofName = ownBound.proof;
  // The engine's bound is believed only when it is consistent with ours and below the makespan it returned.
  if (r.status === 'optimal' && useEngine && r.lowerBound >= lb && r.lowerBound <= best.makespan * (1 + EPS)) {
    lb = Math.max(lb, r.lowerBound);
    proof = engine === 'glpk' ? 'ilp:glpk' : 'ilp:highs';
  }
  const status: LayerStatus = r.status === 'optimal' && useEngine ? 'optimal' : r.status === 'timedout' ? 'timedout' : 'feasible';
  return finish(inst, best, lb, status, t0, t0 + options.timeLimitMs, undefined, proof);
};
