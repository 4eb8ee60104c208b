/**
 * The deterministic effort budget (`SolveOptions.effort`, `PlanInput.effort`): with it, `auto` / `exact` / `local`
 * give the same answer for the same instance, seed and effort whatever the time limit or the machine load (every
 * phase: local search, exact capacity search, branch and bound, pairwise re-splits, the stable re-plan's descent);
 * answers still obey the placement laws; the clock stays a safety net (a cut solve is valid, `timedout`, truthful gap);
 * a solve that spends its effort without a proof is `feasible`; the multi-layer driver gives identical plans in this
 * thread and in worker threads. Seeds are printed (FC_SEED=<seed> to replay).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, formatError, makeDevices, validatePlan, type ModelShape } from '@hplb/core';
import { bruteForceOptimum, constraintsHold, makespanAtLeastLowerBound, makespanConsistent, placedOnce, truthfulGap, type Verdict } from '@hplb/spec';
import { planModel, solveLayerSync, type LayerProblem, type LayerResult, type SolverName } from '../src/index.ts';
import { rng } from '../src/local.ts';

const baseSeed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
console.log(`effort: seed=${baseSeed} (FC_SEED=${baseSeed} to replay)`);

const holds = (v: Verdict, what: string) => {
  if (v !== true) assert.fail(`${what}: ${v}`);
};

/** Instances where the anytime phases do not finish quickly (so the budget, not a proof, ends them). */
const hardInstances = (): Array<[string, LayerProblem]> => {
  const r = rng(20251126);
  const costs = (n: number) => Array.from({ length: n }, () => 1000 * (0.1 + r()));
  const mat = (n: number, m: number): LayerProblem => {
    const c = costs(n);
    return { layer: 0, costs: c, speeds: Array<number>(m).fill(1), timeMatrix: c.map((x) => Array.from({ length: m }, () => x * (0.5 + r()))) };
  };
  const plain = (n: number, m: number): LayerProblem => ({ layer: 0, costs: costs(n), speeds: Array<number>(m).fill(1) });
  const p40 = plain(40, 8);
  return [
    ['identical 32×8 (capacity search)', plain(32, 8)],
    ['equal heads 32×8', { ...plain(32, 8), equalHeadsPerDevice: true }],
    ['mixed speeds 32×8 (local search)', { ...plain(32, 8), speeds: [1, 1, 1, 1, 2, 2, 1.5, 1.5] }],
    ['time matrix 18×4 (branch and bound)', mat(18, 4)],
    ['time matrix 32×6 (iterated local search)', mat(32, 6)],
    ['GQA groups 32×8', { ...plain(32, 8), groups: Array.from({ length: 8 }, (_, g) => [4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3]) }],
    ['stable re-plan 40×8', { ...p40, costs: p40.costs.map((c, i) => (i % 5 === 0 ? c * 1.7 : c)), previous: Array.from({ length: 40 }, (_, i) => i % 8) }],
  ];
};

const same = (a: LayerResult, b: LayerResult, what: string) => {
  assert.notEqual(a.status, 'infeasible', what);
  const { seconds: _a, ...x } = a as LayerResult & { seconds: number };
  const { seconds: _b, ...y } = b as LayerResult & { seconds: number };
  assert.deepEqual(y, x, what);
};

test('with an effort, the same instance and seed give identical answers whatever the time limit and load', () => {
  for (const [name, p] of hardInstances()) {
    for (const solver of ['auto', 'exact', 'local'] as const) {
      const opts = { effort: 200_000, seed: 3 };
      const a = solveLayerSync(p, solver, { ...opts, timeLimitMs: 60_000 });
      // A different safety net, and a busy event loop in between (artificial load): nothing may change.
      let junk = 0;
      for (let i = 0; i < 2e6; i++) junk += Math.sqrt(i);
      const b = solveLayerSync(p, solver, { ...opts, timeLimitMs: 30_000 + (junk > 0 ? 1 : 0) });
      same(a, b, `${solver} on ${name}`);
      assert.ok(a.status === 'optimal' || a.status === 'feasible', `${solver} on ${name}: ${a.status} (effort-bounded solves are never 'timedout' unless the clock cut them)`);
    }
  }
});

test('on these instances a larger effort ends no worse (auto; a regression check, not a law)', () => {
  for (const [name, p] of hardInstances()) {
    const small = solveLayerSync(p, 'auto', { effort: 20_000, timeLimitMs: 60_000 });
    const big = solveLayerSync(p, 'auto', { effort: 2_000_000, timeLimitMs: 60_000 });
    assert.ok(small.status !== 'infeasible' && big.status !== 'infeasible');
    // Warm starts are the same builders; more effort only adds search after them, and keeps the best plan seen.
    assert.ok(big.makespan <= small.makespan * (1 + 1e-9) || big.status === 'optimal', `${name}: ${big.makespan} > ${small.makespan}`);
  }
});

test('the clock is still a safety net: an effort-bounded solve cut by the time limit is valid, timedout, truthful', () => {
  // p: 12 large integer costs on 3 devices (capacity search); q: 60 items on mixed speeds (local search only, which
  // can never prove optimality here), so an unbounded effort with a 1 ms limit must end on the clock.
  const r = rng(7);
  const p: LayerProblem = { layer: 0, costs: Array.from({ length: 12 }, () => 2 ** 28 + Math.floor(r() * 2 ** 31)), speeds: [1, 1, 1] };
  const q: LayerProblem = { layer: 0, costs: Array.from({ length: 60 }, () => 1000 * (0.1 + r())), speeds: Array<number>(8).fill(1).map((_, d) => 1 + d / 8) };
  for (const prob of [p, q]) {
    const res = solveLayerSync(prob, 'auto', { effort: 1e12, timeLimitMs: 1 });
    holds(placedOnce(prob, res), 'placedOnce');
    holds(constraintsHold(prob, res), 'constraintsHold');
    holds(makespanConsistent(prob, res), 'makespanConsistent');
    holds(makespanAtLeastLowerBound(res), 'makespan ≥ lowerBound');
    assert.notEqual(res.status, 'infeasible');
    if (res.status === 'infeasible') continue;
    if (res.status !== 'optimal') assert.equal(res.status, 'timedout');
    assert.ok(res.status === 'optimal' || Math.abs(res.gap - (res.makespan / res.lowerBound - 1)) < 1e-9);
  }
  assert.equal(solveLayerSync(q, 'auto', { effort: 1e12, timeLimitMs: 1 }).status, 'timedout', 'a clock-cut effort solve says timedout');
  assert.equal(solveLayerSync(q, 'auto', { effort: 10_000, timeLimitMs: 60_000 }).status, 'feasible', 'an effort-spent solve says feasible');
  const small = solveLayerSync(p, 'auto', { effort: 1e12, timeLimitMs: 1 });
  holds(truthfulGap(small, bruteForceOptimum(p).makespan), 'truthful gap (timedout)');
});

test('laws hold with an effort: valid, constraints, makespan ≥ bound, truthful gap (auto, exact, local)', () => {
  const kinds = ['plain', 'speeds', 'matrix', 'equal', 'groups', 'pinned'] as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...kinds), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }),
      fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 50_000 }),
      (kind, m, n, raw, effort) => {
        const items = kind === 'equal' ? m * Math.max(1, Math.floor(n / m)) : n;
        const costs = raw.slice(0, items).map((x) => x * 1000);
        const speeds = Array<number>(m).fill(1);
        let p: LayerProblem = { layer: 0, costs, speeds };
        if (kind === 'speeds') p = { ...p, speeds: speeds.map((_, d) => 0.5 + raw[(20 + d) % 32]!) };
        if (kind === 'matrix') p = { ...p, timeMatrix: costs.map((c, i) => speeds.map((_, d) => c * (0.5 + raw[(i + 7 * d) % 32]!))) };
        if (kind === 'equal') p = { ...p, equalHeadsPerDevice: true };
        if (kind === 'groups' && items >= 2) p = { ...p, groups: [[0, 1]] };
        if (kind === 'pinned') p = { ...p, pinned: [{ item: 0, device: m - 1 }] };
        const opt = bruteForceOptimum(p).makespan;
        for (const solver of ['auto', 'exact', 'local'] as SolverName[]) {
          const r = solveLayerSync(p, solver, { timeLimitMs: 10_000, effort });
          holds(placedOnce(p, r), `${solver} placedOnce`);
          holds(constraintsHold(p, r), `${solver} constraintsHold`);
          holds(makespanConsistent(p, r), `${solver} makespanConsistent`);
          holds(makespanAtLeastLowerBound(r), `${solver} makespan ≥ lowerBound`);
          holds(truthfulGap(r, opt), `${solver} truthful status and gap`);
          same(r, solveLayerSync(p, solver, { timeLimitMs: 5_000, effort }), `${solver} repeat`);
        }
      },
    ),
    { seed: baseSeed, numRuns: 60 },
  );
});

test('planModel with an effort: identical plans in this thread and in worker threads, and run to run', async () => {
  const model: ModelShape = { name: 'effort', layers: 3, queryHeads: 16, kvHeads: 16, headDim: 64 };
  const n = 1 << 20;
  const budgets = [0, 1, 2].map((l) => Array.from({ length: 16 }, (_, h) => 1000 + ((h * 7919 + l * 104729) % 90000)));
  const base = {
    model, contextLength: n, budgets, devices: makeDevices(4), constraints: { equalHeadsPerDevice: false, kv: 'replicate' as const },
    costModel: WORK_COST_MODEL, solver: 'auto' as const, timeLimitMs: 20_000, effort: 300_000, seed: 5,
  };
  const here = await planModel({ ...base, workers: 0 });
  const again = await planModel({ ...base, workers: 0, timeLimitMs: 15_000 });
  const pooled = await planModel({ ...base, workers: 2 });
  for (const r of [here, again, pooled]) if (E.isLeft(r)) assert.fail(formatError(r.left));
  const planOf = (r: typeof here) => {
    if (E.isLeft(r)) return assert.fail(formatError(r.left));
    return r.right.plan;
  };
  const strip = (r: typeof here) => {
    const p = planOf(r) as unknown as Record<string, unknown> & { solver: Record<string, unknown> };
    const { seconds: _s, layers, ...solver } = p.solver;
    return { ...p, solver: { ...solver, layers: (layers as Array<Record<string, unknown>>).map(({ seconds: _x, ...rest }) => rest) } };
  };
  assert.ok(E.isRight(validatePlan(planOf(here))));
  assert.deepEqual(strip(again), strip(here));
  assert.deepEqual(strip(pooled), strip(here));
});
