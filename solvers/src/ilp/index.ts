/**
 * ILP placement engines: GLPK (glpk.js, through the optional GPL package @hplb/solver-glpk, loaded only by a
 * dynamic import) and HiGHS (npm `highs`). Used by the solver registry (`ilp-glpk`, `ilp-highs`) and by `auto`.
 *
 * One layer at a time: the assignment MILP is built once (`model.ts`), the engine runs in a worker thread (it blocks
 * its thread) with its own time limit, and the worker is terminated at the hard limit. Whatever the engine says is
 * a claim: the answer is decoded, every constraint re-checked, the makespan recomputed from the original float
 * costs, and "optimal" is reported only when the engine's integer optimum is consistent with the solution it
 * returned and with our own lower bound. The reported lower bound is then max(core's layerLowerBound, T*÷scale)
 * (rigorous, because integer costs are floored); otherwise it is core's bound alone, and the gap says how far the
 * plan may be from optimal. A timed-out or failed solve returns the warm start (or the engine's incumbent, when
 * better), never an unchecked answer.
 *
 * Engine unavailability (GLPK package missing, WebAssembly failure) is a configuration error: the promise
 * rejects with an `IlpEngineError` naming the cause; `ilpEngineAvailable` checks it up front.
 */
import { layerLowerBound } from '@hplb/core';
import { siblingModule, spawnTsWorker } from '@hplb/core/node';
import type { Worker } from 'node:worker_threads';
import type { LayerProblem, LayerResult } from '../types.ts';
import type { EngineAnswer, EngineRequest } from './engine.ts';
import { decodePatterns, enumeratePatterns, feasibilityModel, searchPacking, type DeviceClass } from './configuration.ts';
import {
  assignmentLoads, buildModel, columnOrder, decodeAssignment, integerMakespan, itemTime, lpText, unitsOf, violatedConstraint,
  type BuiltModel, type IlpProblem, type LinearModel,
} from './model.ts';

export type IlpEngine = 'glpk' | 'highs';

export class IlpEngineError extends Error {
  constructor(readonly engine: IlpEngine, message: string) {
    super(message);
    this.name = 'IlpEngineError';
  }
}

// ---------------------------------------------------------------- worker pool

const WORKER_URL = siblingModule(import.meta.url, 'worker');
const idle: Record<IlpEngine, Worker[]> = { glpk: [], highs: [] };
let nextId = 1;

const acquire = (engine: IlpEngine): Worker => {
  const w = idle[engine].pop() ?? spawnTsWorker(WORKER_URL);
  w.ref();
  return w;
};

const release = (engine: IlpEngine, w: Worker) => {
  w.removeAllListeners('message');
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  w.unref(); // an idle worker never keeps the process alive
  if (idle[engine].length < 2) idle[engine].push(w);
  else void w.terminate();
};

type CallOutcome = { kind: 'answer'; answer: EngineAnswer } | { kind: 'killed' } | { kind: 'crashed'; message: string };

/** Run one engine call in a worker; terminate it when `hardMs` passes. */
const callEngine = (engine: IlpEngine, request: EngineRequest, hardMs: number): Promise<CallOutcome> =>
  new Promise((resolve) => {
    const w = acquire(engine);
    const id = nextId++;
    let done = false;
    const finish = (o: CallOutcome, reuse: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (reuse) release(engine, w);
      else {
        w.removeAllListeners();
        void w.terminate();
      }
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'killed' }, false), Math.max(1, hardMs));
    w.on('message', (msg: { id: number; answer: EngineAnswer }) => {
      if (msg.id === id) finish({ kind: 'answer', answer: msg.answer }, true);
    });
    w.on('error', (e) => finish({ kind: 'crashed', message: e.message }, false));
    w.on('exit', (code) => finish({ kind: 'crashed', message: `worker exited with code ${code}` }, false));
    w.postMessage({ id, engine, request });
  });

/** Whether an engine can run here (GLPK needs the optional package). Resolves to true or the reason it cannot. */
export const ilpEngineAvailable = async (engine: IlpEngine): Promise<true | string> => {
  const pr: LayerProblem = { layer: 0, costs: [2, 1], speeds: [1, 1] };
  const built = buildModel(pr, [0, 1]);
  if (!built.ok) return built.message;
  const o = await callEngine(engine, { model: built.built.model, lp: lpText(built.built.model), columns: built.built.columns, start: built.built.start, timeLimitSec: 5 }, 60_000);
  if (o.kind === 'answer') return o.answer.claim === 'error' ? (o.answer.message ?? 'engine error') : true;
  return o.kind === 'crashed' ? o.message : 'engine did not answer in 60 s';
};

// ---------------------------------------------------------------- warm start

/**
 * Constraint-aware LPT: units (groups) largest first, each to the allowed device (pin, equal-count capacity,
 * KV capacity) where it finishes earliest. Returns null when it cannot place every unit.
 */
export const greedyStart = (pr: IlpProblem): number[] | null => {
  const n = pr.costs.length;
  const m = pr.speeds.length;
  if (m === 0) return null;
  const units = unitsOf(pr);
  const pin = new Map<number, number>();
  for (const p of pr.pinned ?? []) pin.set(p.item, p.device);
  const cap = pr.equalHeadsPerDevice && n % m === 0 ? n / m : Infinity;
  const load = Array<number>(m).fill(0);
  const count = Array<number>(m).fill(0);
  const held = Array.from({ length: m }, () => new Set<number>());
  const homes = new Map<number, number>();
  const a = Array<number>(n).fill(-1);
  const minTime = (us: ReadonlyArray<number>) => Math.min(...Array.from({ length: m }, (_, d) => us.reduce((s, i) => s + itemTime(pr, i, d), 0)));
  const order = units.map((us) => ({ us, w: minTime(us), pinned: us.some((i) => pin.has(i)) }))
    .sort((x, y) => Number(y.pinned) - Number(x.pinned) || y.w - x.w);
  for (const { us } of order) {
    const pinnedTo = us.map((i) => pin.get(i)).find((d) => d !== undefined);
    let best = -1;
    let bestFinish = Infinity;
    for (let d = 0; d < m; d++) {
      if (pinnedTo !== undefined && d !== pinnedTo) continue;
      if (count[d]! + us.length > cap) continue;
      const groups = pr.kvGroupOf ? new Set(us.map((i) => pr.kvGroupOf![i]!)) : new Set<number>();
      const fresh = [...groups].filter((g) => !held[d]!.has(g));
      const kvCap = pr.maxKvPerDevice?.[d];
      if (kvCap !== null && kvCap !== undefined && held[d]!.size + fresh.length > kvCap) continue;
      const copies = fresh.filter((g) => homes.has(g)).length;
      const finish = load[d]! + us.reduce((s, i) => s + itemTime(pr, i, d), 0) + copies * (pr.kvCopyCost?.[d] ?? 0);
      if (finish < bestFinish - 1e-12) {
        bestFinish = finish;
        best = d;
      }
    }
    if (best < 0) return null;
    for (const i of us) {
      a[i] = best;
      if (pr.kvGroupOf) {
        const g = pr.kvGroupOf[i]!;
        held[best]!.add(g);
        if (!homes.has(g)) homes.set(g, best);
      }
    }
    load[best] = bestFinish;
    count[best]! += us.length;
  }
  // The kv-copy charge depends on which device holds each group's FIRST item; recheck everything.
  return violatedConstraint(pr, a) === null ? a : null;
};

// ---------------------------------------------------------------- solve

const makespanOf = (pr: IlpProblem, a: ReadonlyArray<number>) => Math.max(0, ...assignmentLoads(pr, a));
const movesOf = (pr: LayerProblem, a: ReadonlyArray<number>) => (pr.previous ? a.reduce((s, d, i) => s + (d === pr.previous![i] ? 0 : 1), 0) : 0);

/** core's lower bound for the problem's float costs (per-item minimum time when a time matrix is given). */
export const floatLowerBound = (pr: IlpProblem): number =>
  layerLowerBound(pr.costs.map((c, i) => (pr.timeMatrix ? Math.min(...pr.timeMatrix[i]!) : c)), {
    devices: pr.timeMatrix ? pr.speeds.length : pr.speeds,
    equalHeadsPerDevice: pr.equalHeadsPerDevice,
    groups: pr.groups,
  });

/** Does the engine's answer prove that `a` is an optimum of the integer model? */
const proofHolds = (pr: IlpProblem, built: BuiltModel, ans: EngineAnswer, a: ReadonlyArray<number>): boolean => {
  if (ans.claim !== 'optimal' || ans.objective === undefined) return false;
  const ti = integerMakespan(built, pr, a);
  if (ti < built.tLower) return false; // below our own bound: the engine's arithmetic is off
  if (built.tUpper !== null && ti > built.tUpper) return false; // worse than the start it was given
  const n = pr.costs.length;
  const stays = pr.previous ? n - movesOf(pr, a) : 0;
  const expected = pr.previous ? (n + 1) * ti - stays : ti;
  if (Math.abs(ans.objective - expected) > 0.5) return false; // the objective is not what the solution achieves
  if (ans.dualBound !== undefined && ans.dualBound > ans.objective + 0.5) return false;
  return true;
};

type ConfigOutcome =
  | { readonly kind: 'proven'; readonly assignment: number[] }
  | { readonly kind: 'partial'; readonly assignment: number[] | null; readonly ranOut: boolean }
  | { readonly kind: 'skip' };

/**
 * Configuration-ILP bisection (see configuration.ts) for aggregated models (per speed class). Candidates below
 * our own integer bound are never tried; the lowest candidate is tried first, so a plan meeting the bound is proven
 * by the bound itself.
 */
/**
 * Classes for the configuration model of a layer with KV memory / replication caps (no pins, previous placement,
 * time matrix or KV copy costs): units of one integer cost, size and KV group are interchangeable. null when the
 * layer does not fit (then the assignment model is used).
 */
export const kvConfigurationClasses = (pr: IlpProblem, built: BuiltModel): { classes: number[][]; groupOf: number[] } | null => {
  const kvOf = pr.kvGroupOf;
  if (!kvOf || pr.timeMatrix || pr.previous || (pr.pinned ?? []).length > 0 || (pr.kvCopyCost ?? []).some((c) => c > 0)) return null;
  const byKey = new Map<string, number[]>();
  const groupOfKey = new Map<string, number>();
  for (let u = 0; u < built.units.length; u++) {
    const gs = new Set(built.units[u]!.map((i) => kvOf[i]!));
    if (gs.size !== 1) return null;
    const g = [...gs][0]!;
    const key = `${built.p[u]!.join(',')}|${built.units[u]!.length}|${g}`;
    const list = byKey.get(key);
    if (list) list.push(u);
    else {
      byKey.set(key, [u]);
      groupOfKey.set(key, g);
    }
  }
  const keys = [...byKey.keys()].sort((a, b) => built.p[byKey.get(b)![0]!]![0]! - built.p[byKey.get(a)![0]!]![0]! || byKey.get(a)![0]! - byKey.get(b)![0]!);
  return { classes: keys.map((k) => byKey.get(k)!), groupOf: keys.map((k) => groupOfKey.get(k)!) };
};

const configurationSolve = async (pr: IlpProblem, built: BuiltModel, engine: IlpEngine, deadline: number): Promise<ConfigOutcome> => {
  if (pr.timeMatrix || built.tUpper === null) return { kind: 'skip' };
  const kvc = built.classes ? null : kvConfigurationClasses(pr, built);
  if (!built.classes && !kvc) return { kind: 'skip' };
  const m = built.devices;
  const n = pr.costs.length;
  const classes = built.classes ?? kvc!.classes;
  const counts = classes.map((cl) => cl.length);
  const sizes = classes.map((cl) => built.units[cl[0]!]!.length);
  // Device classes: devices of one speed (and, with KV caps, one memory cap) share integer costs and patterns.
  const capOf = (d: number) => pr.maxKvPerDevice?.[d] ?? Infinity;
  const bySpeed = new Map<string, number[]>();
  for (let d = 0; d < m; d++) {
    const key = `${pr.speeds[d]}|${kvc ? capOf(d) : ''}`;
    const list = bySpeed.get(key);
    if (list) list.push(d);
    else bySpeed.set(key, [d]);
  }
  const deviceLists = [...bySpeed.values()];
  const deviceClasses: DeviceClass[] = [];
  for (const ds of deviceLists) {
    const costs = classes.map((cl) => built.p[cl[0]!]![ds[0]!]!);
    const kvLimit = kvc ? { groupOf: kvc.groupOf, maxGroups: capOf(ds[0]!) } : undefined;
    const set = enumeratePatterns(counts, costs, sizes, built.tUpper, pr.equalHeadsPerDevice ? n / m : null, 20_000, kvLimit);
    if (!set) return { kind: 'skip' };
    deviceClasses.push({ devices: ds.length, set });
  }
  // Replication cap: each pattern holds one KV copy per distinct group in it.
  const copies = kvc && pr.maxExtraKvCopies !== undefined
    ? {
        perPattern: deviceClasses.map((dc) => dc.set.patterns.map((pat) => new Set(pat.flatMap((c, k) => (c > 0 ? [kvc.groupOf[k]!] : []))).size)),
        max: new Set(kvc.groupOf).size + pr.maxExtraKvCopies,
      }
    : undefined;
  const allLoads = deviceClasses.flatMap((dc) => dc.set.loads);
  const cands = [...new Set(allLoads.filter((l) => l >= built.tLower && l <= built.tUpper!))].sort((a, b) => a - b);
  if (cands.length === 0 || cands[cands.length - 1]! < built.tUpper) cands.push(built.tUpper);
  let lo = 0;
  let hi = cands.length - 1; // cands[hi] is feasible (the warm start)
  let best: number[] | null = null;
  const toAssignment = (perClass: number[][][]): number[] => {
    const a = Array<number>(n).fill(-1);
    const next = classes.map(() => 0);
    perClass.forEach((per, v) => per.forEach((c, i) => {
      const d = deviceLists[v]![i]!;
      c.forEach((cnt, k) => {
        for (let t = 0; t < cnt; t++) for (const item of built.units[classes[k]![next[k]!++]!]!) a[item] = d;
      });
    }));
    return a;
  };
  const ask = async (model: LinearModel): Promise<CallOutcome | null> => {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return null;
    return callEngine(engine, { model, lp: lpText(model), columns: columnOrder(model), start: null, timeLimitSec: Math.max(0.01, (remaining * 0.9 - 30) / 1000), presolve: false }, remaining);
  };
  /** The LP relaxation: infeasible ⇒ the ILP is infeasible (cheap; the configuration LP bound is strong). */
  const relaxationFeasible = async (T: number): Promise<boolean | null> => {
    const fm = feasibilityModel(deviceClasses, counts, T, `layer${pr.layer}_T${T}_lp`, copies);
    if (!fm) return false;
    const call = await ask({ ...fm.model, generals: [], binaries: [] });
    if (!call || call.kind !== 'answer') return null;
    if (call.answer.claim === 'infeasible') return false;
    return call.answer.claim === 'optimal' ? true : null;
  };
  const accept = (per: number[][][] | null, T: number): number[] | null => {
    if (!per) return null;
    const a = toAssignment(per);
    return a.every((d) => d >= 0) && violatedConstraint(pr, a) === null && integerMakespan(built, pr, a) <= T ? a : null;
  };
  const feasible = async (T: number): Promise<number[] | false | null> => {
    // A bounded search for a packing first (cheap when one exists); the ILP decides otherwise.
    const found = accept(searchPacking(deviceClasses, counts, T), T);
    if (found) return found;
    const fm = feasibilityModel(deviceClasses, counts, T, `layer${pr.layer}_T${T}`, copies);
    if (!fm) return false;
    const call = await ask(fm.model);
    if (!call) return null;
    if (call.kind !== 'answer') {
      if (call.kind === 'crashed') throw new IlpEngineError(engine, call.message);
      return null;
    }
    const ans = call.answer;
    if (ans.claim === 'error') throw new IlpEngineError(engine, ans.message ?? 'engine error');
    if (ans.claim === 'infeasible') return false;
    if (ans.values) {
      const a = accept(decodePatterns(deviceClasses, fm.used, new Map(Object.entries(ans.values)), counts), T);
      if (a) return a;
    }
    return null; // no usable answer: unknown
  };
  // Phase 0: a packing at the lowest candidate meets our own bound: optimal without asking the engine.
  if (lo < hi) {
    const direct = accept(searchPacking(deviceClasses, counts, cands[lo]!), cands[lo]!);
    if (direct) return { kind: 'proven', assignment: direct };
  }
  // Phase 1: the smallest candidate whose LP relaxation is feasible (every lower one is infeasible).
  {
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = Math.floor((a + b) / 2);
      const r = await relaxationFeasible(cands[mid]!);
      if (r === null) return { kind: 'partial', assignment: best, ranOut: performance.now() >= deadline - 1 };
      if (r) b = mid;
      else a = mid + 1;
    }
    lo = a;
  }
  // Phase 2: the ILP at the lowest remaining candidate first (usually the optimum), then bisection.
  let probe = lo;
  while (lo < hi) {
    const r = await feasible(cands[probe]!);
    if (r === null) return { kind: 'partial', assignment: best, ranOut: performance.now() >= deadline - 1 };
    if (r === false) lo = probe + 1;
    else {
      best = r;
      hi = Math.min(hi, cands.findIndex((c) => c >= integerMakespan(built, pr, r)));
    }
    probe = Math.floor((lo + hi) / 2);
  }
  if (!best) {
    // cands[hi] is the warm start's own value: it is optimal.
    return { kind: 'proven', assignment: [] };
  }
  return { kind: 'proven', assignment: best };
};

/**
 * Solve one layer with an ILP engine. `warmStart` (e.g. the best heuristic's assignment) seeds HiGHS and bounds
 * T for both engines; without one, a constraint-aware LPT is used. `timeLimitMs` is a hard wall-clock limit.
 */
export async function solveIlp(
  problem: LayerProblem,
  options: { engine: IlpEngine; timeLimitMs: number; warmStart?: ReadonlyArray<number> },
): Promise<LayerResult> {
  const t0 = performance.now();
  const pr = problem as IlpProblem;
  const warm = options.warmStart && violatedConstraint(pr, options.warmStart) === null ? [...options.warmStart] : greedyStart(pr);
  const outcome = buildModel(pr, warm ?? undefined);
  if (!outcome.ok) return { status: 'infeasible', constraint: outcome.constraint, message: outcome.message };
  const built = outcome.built;
  const floatLb = floatLowerBound(pr);
  const seconds = () => (performance.now() - t0) / 1000;
  const n = pr.costs.length;

  if (n === 0) return { status: 'optimal', assignment: [], makespan: 0, lowerBound: 0, gap: 0, seconds: seconds() };

  const deadline = t0 + options.timeLimitMs;
  const cfg = await configurationSolve(pr, built, options.engine, deadline);
  if (cfg.kind === 'proven') {
    const a = cfg.assignment.length === n ? cfg.assignment : warm!;
    const bestA = warm && makespanOf(pr, warm) <= makespanOf(pr, a) ? warm : a;
    const makespan = makespanOf(pr, bestA);
    // Integer optimum T* (proven: every lower candidate infeasible, or T* is our own integer bound).
    const lowerBound = Math.min(makespan, Math.max(floatLb, integerMakespan(built, pr, a) / built.scale));
    return { status: 'optimal', assignment: bestA, makespan, lowerBound, gap: gapOf(makespan, lowerBound), seconds: seconds() };
  }
  if (cfg.kind === 'partial') {
    const cand = [warm, cfg.assignment].filter((a): a is number[] => !!a);
    const bestA = cand.sort((a, b) => makespanOf(pr, a) - makespanOf(pr, b))[0]!;
    const makespan = makespanOf(pr, bestA);
    const lowerBound = Math.min(floatLb, makespan);
    return { status: cfg.ranOut ? 'timedout' : 'feasible', assignment: bestA, makespan, lowerBound, gap: gapOf(makespan, lowerBound), seconds: seconds() };
  }

  const remainingMs = options.timeLimitMs - (performance.now() - t0);
  let call: CallOutcome = { kind: 'killed' };
  if (remainingMs > 0) {
    const request: EngineRequest = {
      model: built.model,
      lp: lpText(built.model),
      columns: built.columns,
      start: built.start,
      // The engine stops itself a little before the hard limit so that it can still return its incumbent.
      timeLimitSec: Math.max(0.01, (remainingMs * 0.9 - 50) / 1000),
    };
    call = await callEngine(options.engine, request, remainingMs);
  }
  if (call.kind === 'answer' && call.answer.claim === 'error') throw new IlpEngineError(options.engine, call.answer.message ?? 'engine error');
  if (call.kind === 'crashed' && !warm) throw new IlpEngineError(options.engine, call.message);

  // Candidates: the warm start and the engine's solution, each re-checked.
  let best: number[] | null = warm;
  if (call.kind === 'answer' && call.answer.values) {
    const a = decodeAssignment(built, new Map(Object.entries(call.answer.values)), n);
    if (a && violatedConstraint(pr, a) === null) {
      const ok = proofHolds(pr, built, call.answer, a);
      const mk = makespanOf(pr, a);
      const better = !best || mk < makespanOf(pr, best) - 1e-12 || (mk <= makespanOf(pr, best) + 1e-12 && movesOf(pr, a) < movesOf(pr, best));
      if (better) best = a;
      if (ok) {
        // The integer optimum T* gives OPT ≥ T*÷scale for the float costs.
        const lbIlp = integerMakespan(built, pr, a) / built.scale;
        const lowerBound = Math.max(floatLb, lbIlp);
        const makespan = makespanOf(pr, best!);
        return { status: 'optimal', assignment: best!, makespan, lowerBound: Math.min(lowerBound, makespan), gap: gapOf(makespan, Math.min(lowerBound, makespan)), seconds: seconds() };
      }
    }
  }
  if (call.kind === 'answer' && call.answer.claim === 'infeasible' && !best)
    return { status: 'infeasible', constraint: infeasibleConstraint(pr), message: `the ${options.engine} engine proved the constraint set infeasible` };
  if (!best) {
    // No plan at all: nothing checked to return. The only honest answer is the engine's failure.
    throw new IlpEngineError(options.engine, `no feasible plan found within ${options.timeLimitMs} ms and no warm start`);
  }
  const makespan = makespanOf(pr, best);
  const lowerBound = Math.min(floatLb, makespan);
  const ranOut = call.kind === 'killed' || seconds() * 1000 >= 0.85 * options.timeLimitMs;
  const status = ranOut ? 'timedout' : 'feasible';
  return { status, assignment: best, makespan, lowerBound, gap: gapOf(makespan, lowerBound), seconds: seconds() };
}

const gapOf = (makespan: number, lowerBound: number) => (lowerBound > 0 ? Math.max(0, makespan / lowerBound - 1) : makespan > 0 ? Infinity : 0);

/** Name the constraint family most likely responsible when the engine proves infeasibility. */
const infeasibleConstraint = (pr: IlpProblem): string =>
  pr.maxKvPerDevice ? 'memory' : pr.maxExtraKvCopies !== undefined ? 'kvReplicationCap' : pr.equalHeadsPerDevice ? 'equalHeadsPerDevice' : pr.pinned?.length ? 'pinned' : 'constraints';
