/**
 * The placement laws of spec/src/laws.ts applied to EVERY solver, on fast-check instances small enough for brute
 * force (≤ 8 items, ≤ 4 devices; plain, mixed speeds, time matrix, equal heads, groups, pinned). Seeds are printed;
 * replay one with FC_SEED=<seed>. The ILP engines run a few cases each when their engine can start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bruteForceOptimum, constraintsHold, exactMatchesOptimum, exactNoWorse, idleDeviceNoWorse, listSchedulingBound, lptBound,
  makespanAtLeastLowerBound, makespanConsistent, permuteProblem, permutedPlan, placedOnce, scaledOptimum, truthfulGap,
  type Verdict,
} from '@hplb/spec';
import { NATIVE_SOLVERS, solveLayer, solveLayerSync, type LayerProblem, type LayerResult, type SolverName } from '../src/index.ts';
import { ilpEngineAvailable } from '../src/ilp/index.ts';
import { nodeSolverRuntime } from '../src/node/index.ts';

const baseSeed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
console.log(`solver laws: seed=${baseSeed} (FC_SEED=${baseSeed} to replay)`);

const holds = (v: Verdict, what: string) => {
  if (v !== true) assert.fail(`${what}: ${v}`);
};

type Kind = 'plain' | 'fast' | 'speeds' | 'matrix' | 'equal' | 'groups' | 'pinned';

const arbProblem = (kinds: ReadonlyArray<Kind>) =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    m: fc.integer({ min: 1, max: 4 }),
    n: fc.integer({ min: 1, max: 8 }),
    integral: fc.boolean(),
    raw: fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
  }).map(({ kind, m, n, integral, raw }): LayerProblem => {
    let items = n;
    if (kind === 'equal') items = m * Math.max(1, Math.floor(n / m));
    const costs = raw.slice(0, items).map((x) => (integral ? Math.max(1, Math.round(x * 1000)) : x * 1000));
    const speeds = Array<number>(m).fill(1);
    const p: LayerProblem = { layer: 0, costs, speeds };
    switch (kind) {
      case 'fast': return { ...p, speeds: speeds.map(() => 2.5) };
      case 'speeds': return { ...p, speeds: speeds.map((_, d) => 0.5 + raw[(20 + d) % 32]!) };
      case 'matrix': return { ...p, timeMatrix: costs.map((c, i) => speeds.map((_, d) => c * (0.5 + raw[(i + 7 * d) % 32]!))) };
      case 'equal': return { ...p, equalHeadsPerDevice: true };
      case 'groups': return items >= 2 ? { ...p, groups: [[0, 1]] } : p;
      case 'pinned': return { ...p, pinned: [{ item: 0, device: m - 1 }] };
      default: return p;
    }
  });

const ALL_KINDS: Kind[] = ['plain', 'fast', 'speeds', 'matrix', 'equal', 'groups', 'pinned'];
const isPlainIdentical = (p: LayerProblem) => !p.timeMatrix && !p.groups && !p.equalHeadsPerDevice && !p.pinned && p.speeds.every((s) => s === 1);

/** Laws every solver must satisfy on every instance. */
const checkCommon = (p: LayerProblem, r: LayerResult, solver: SolverName, opt: number) => {
  holds(placedOnce(p, r), `${solver} placedOnce`);
  holds(constraintsHold(p, r), `${solver} constraintsHold`);
  holds(makespanConsistent(p, r), `${solver} makespanConsistent`);
  holds(makespanAtLeastLowerBound(r), `${solver} makespan ≥ lowerBound`);
  holds(truthfulGap(r, opt), `${solver} truthful status and gap`);
};

/** Solvers that are list schedules (so (2 − 1/m)·OPT holds) and those at least as good as LPT. */
const LIST_SCHEDULES: ReadonlyArray<SolverName> = ['lpt', 'kk', 'multifit', 'local', 'exact', 'auto'];
const LPT_OR_BETTER: ReadonlyArray<SolverName> = ['lpt', 'kk', 'local', 'exact', 'auto'];

for (const solver of NATIVE_SOLVERS) {
  test(`laws hold for ${solver}: valid, constraints, makespan ≥ bound, truthful gap, approximation ratios`, () => {
    fc.assert(
      fc.property(arbProblem(ALL_KINDS), (p) => {
        const r = solveLayerSync(p, solver, { timeLimitMs: solver === 'exact' || solver === 'auto' ? 2000 : 200 });
        const opt = bruteForceOptimum(p).makespan;
        checkCommon(p, r, solver, opt);
        if (r.status === 'infeasible') return;
        const m = p.speeds.length;
        if (isPlainIdentical(p)) {
          if (LIST_SCHEDULES.includes(solver)) holds(listSchedulingBound(m, r.makespan, opt), solver);
          if (LPT_OR_BETTER.includes(solver)) holds(lptBound(m, r.makespan, opt), solver);
        }
        if (solver === 'exact' || solver === 'auto') {
          holds(exactMatchesOptimum(r, opt), `${solver} == brute force`);
          for (const h of ['lpt', 'kk', 'multifit', 'contiguous', 'roundrobin', 'local'] as const) {
            const hr = solveLayerSync(p, h, { timeLimitMs: 100 });
            if (hr.status !== 'infeasible') holds(exactNoWorse(r.makespan, hr.makespan, h), `${solver} vs ${h}`);
          }
        }
      }),
      { seed: baseSeed, numRuns: solver === 'exact' || solver === 'auto' ? 60 : 120 },
    );
  });
}

test('metamorphic: scaling all costs scales the optimum and keeps the optimal plan optimal (exact)', () => {
  fc.assert(
    fc.property(arbProblem(['plain', 'equal', 'groups']), fc.integer({ min: 2, max: 1000 }), (p, k) => {
      const a = solveLayerSync(p, 'exact', { timeLimitMs: 500 });
      const b = solveLayerSync({ ...p, costs: p.costs.map((c) => c * k) }, 'exact', { timeLimitMs: 500 });
      if (a.status === 'infeasible' || b.status === 'infeasible') return assert.equal(a.status, b.status);
      holds(scaledOptimum(p, k, a, b), 'scaledOptimum');
    }),
    { seed: baseSeed + 1, numRuns: 60 },
  );
});

test('metamorphic: permuting heads permutes the plan (LPT on distinct costs) and keeps the optimum (exact)', () => {
  fc.assert(
    fc.property(arbProblem(['plain']), fc.integer({ min: 0, max: 1e6 }), (p, salt) => {
      const n = p.costs.length;
      const perm = Array.from({ length: n }, (_, i) => i).sort((x, y) => ((x * 7919 + salt) % 101) - ((y * 7919 + salt) % 101) || x - y);
      const pp = { ...p, ...permuteProblem(p, perm) } as LayerProblem;
      const distinct = new Set(p.costs).size === n;
      if (distinct) holds(permutedPlan(perm, solveLayerSync(p, 'lpt', { timeLimitMs: 50 }), solveLayerSync(pp, 'lpt', { timeLimitMs: 50 }), true), 'lpt equivariant');
      holds(permutedPlan(perm, solveLayerSync(p, 'exact', { timeLimitMs: 500 }), solveLayerSync(pp, 'exact', { timeLimitMs: 500 }), false), 'exact invariant');
    }),
    { seed: baseSeed + 2, numRuns: 60 },
  );
});

test('metamorphic: adding an idle device never raises the makespan (exact, auto, local)', () => {
  fc.assert(
    fc.property(arbProblem(['plain', 'speeds', 'groups', 'pinned']), (p) => {
      const more = { ...p, speeds: [...p.speeds, p.speeds[0]!] };
      for (const s of ['exact', 'auto'] as const) {
        const a = solveLayerSync(p, s, { timeLimitMs: 300 });
        const b = solveLayerSync(more, s, { timeLimitMs: 300 });
        if (a.status === 'infeasible') continue;
        assert.notEqual(b.status, 'infeasible');
        // Optimal answers must not rise; others must not rise above the optimum of the smaller problem.
        if (a.status === 'optimal' && b.status === 'optimal') holds(idleDeviceNoWorse(a, b), s);
        else holds(idleDeviceNoWorse({ status: 'optimal', makespan: bruteForceOptimum(p).makespan }, b), `${s} (vs OPT)`);
      }
    }),
    { seed: baseSeed + 3, numRuns: 50 },
  );
});

test('a timed-out solve still returns a valid plan and a truthful gap', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2 ** 28, max: 2 ** 31 }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 2, max: 3 }), (costs, m) => {
      const p: LayerProblem = { layer: 0, costs, speeds: Array<number>(m).fill(1) };
      const opt = bruteForceOptimum(p).makespan;
      for (const s of ['exact', 'auto'] as const) {
        const r = solveLayerSync(p, s, { timeLimitMs: 1e-6 });
        assert.ok(['optimal', 'feasible', 'timedout'].includes(r.status), `${s}: ${r.status}`);
        checkCommon(p, r, s, opt);
      }
    }),
    { seed: baseSeed + 4, numRuns: 40 },
  );
});

for (const engine of ['ilp-highs', 'ilp-glpk'] as const) {
  test(`laws hold for ${engine} (a few cases; the engine runs in a worker)`, async (t) => {
    const ok = await ilpEngineAvailable(engine === 'ilp-highs' ? 'highs' : 'glpk');
    if (ok !== true) return t.skip(`${engine} unavailable: ${ok}`);
    await fc.assert(
      fc.asyncProperty(arbProblem(['plain', 'equal', 'groups', 'pinned']), async (p) => {
        const r = await solveLayer(p, engine, { timeLimitMs: 3000 }, nodeSolverRuntime);
        if (r.status === 'unavailable') return assert.fail(`${engine} was available, then: ${r.message}`);
        checkCommon(p, r, engine, bruteForceOptimum(p).makespan);
      }),
      { seed: baseSeed + 5, numRuns: 8 },
    );
  });
}
