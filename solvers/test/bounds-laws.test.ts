/**
 * Laws of the lower bounds (src/bounds/ and bounds.ts) against brute force on small instances (≤ 8 items, ≤ 4
 * devices, integer costs, often with repeated costs like real budget classes). Every bound must be ≤ the brute-force
 * optimum, every bin-packing bound (L1, L2, L3) ≤ the brute-force least number of bins, the class-count DP must equal it, and a
 * completed exact search must return the optimum with a bound that never exceeds it; at real scale (10^9) on speed-3
 * devices an "optimal" claim is the optimum. 12,500 fast-check cases in all.
 * Seeds are printed; replay with FC_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  achievableSums, binsNeededL1, binsNeededL2, binsNeededL3, classMinBins, classesOf, dellAmicoL0, dellAmicoL1, equalCountBound,
  liftCapacity, liftOverSums, relaxClasses,
} from '../src/bounds/index.ts';
import { layerLowerBound } from '@hplb/core';
import { instanceBound } from '../src/bounds.ts';
import { exactSearch } from '../src/exact.ts';
import { makespanOf, normalize } from '../src/problem.ts';

const baseSeed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
console.log(`bound laws: seed=${baseSeed} (FC_SEED=${baseSeed} to replay)`);
const run = <T>(arb: fc.Arbitrary<T>, pred: (x: T) => void, numRuns: number, offset: number) =>
  fc.assert(fc.property(arb, (x) => { pred(x); }), { numRuns, seed: baseSeed + offset });

// ---------------------------------------------------------------- brute force (independent of src/)

/** Can the items go into k bins of capacity C? Plain DFS over assignments (bins with equal loads tried once). */
const fitsBrute = (costs: ReadonlyArray<number>, k: number, C: number): boolean => {
  const items = [...costs].sort((a, b) => b - a);
  const load = Array<number>(k).fill(0);
  const rec = (i: number): boolean => {
    if (i === items.length) return true;
    const tried = new Set<number>();
    for (let d = 0; d < k; d++) {
      if (tried.has(load[d]!) || load[d]! + items[i]! > C) continue;
      tried.add(load[d]!);
      load[d]! += items[i]!;
      const ok = rec(i + 1);
      load[d]! -= items[i]!;
      if (ok) return true;
    }
    return false;
  };
  return rec(0);
};

/** Least number of bins of capacity C (Infinity when an item is larger). */
const minBinsBrute = (costs: ReadonlyArray<number>, C: number): number => {
  if (costs.some((c) => c > C)) return Infinity;
  for (let k = 0; k <= costs.length; k++) if (fitsBrute(costs, k, C)) return k;
  return Infinity;
};

/** Least makespan on m identical devices, optionally with exactly n/m items each. */
const optBrute = (costs: ReadonlyArray<number>, m: number, equalCounts = false): number => {
  const items = [...costs].sort((a, b) => b - a);
  const per = items.length / m;
  const load = Array<number>(m).fill(0);
  const cnt = Array<number>(m).fill(0);
  let best = Infinity;
  const rec = (i: number, mk: number) => {
    if (mk >= best) return;
    if (i === items.length) { best = mk; return; }
    const tried = new Set<string>();
    for (let d = 0; d < m; d++) {
      const key = `${load[d]}:${cnt[d]}`;
      if (tried.has(key) || (equalCounts && cnt[d]! >= per)) continue;
      tried.add(key);
      load[d]! += items[i]!;
      cnt[d]!++;
      rec(i + 1, Math.max(mk, load[d]!));
      load[d]! -= items[i]!;
      cnt[d]!--;
    }
  };
  rec(0, 0);
  return best;
};

// ---------------------------------------------------------------- generators

/** Integer costs, drawn from a few classes (like real budgets) or freely. */
const arbCosts = (maxN: number) =>
  fc.record({
    n: fc.integer({ min: 1, max: maxN }),
    classes: fc.integer({ min: 1, max: 8 }),
    pool: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 8, maxLength: 8 }),
    picks: fc.array(fc.nat(), { minLength: maxN, maxLength: maxN }),
  }).map(({ n, classes, pool, picks }) => picks.slice(0, n).map((p) => pool[p % classes]!));

const arbInstance = fc.record({ costs: arbCosts(8), m: fc.integer({ min: 1, max: 4 }) });
const desc = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => b - a);

// ---------------------------------------------------------------- laws

test('P||Cmax bounds (L0, L1, equal counts) never exceed the brute-force optimum', () => {
  run(arbInstance, ({ costs, m }) => {
    const opt = optBrute(costs, m);
    const d = desc(costs);
    assert.ok(dellAmicoL0(d, m) <= opt, `L0 ${dellAmicoL0(d, m)} > optimum ${opt} for ${JSON.stringify({ costs, m })}`);
    assert.ok(dellAmicoL1(d, m) <= opt, `L1 ${dellAmicoL1(d, m)} > optimum ${opt} for ${JSON.stringify({ costs, m })}`);
    if (costs.length % m === 0) {
      const optEq = optBrute(costs, m, true);
      assert.ok(equalCountBound(d, m) <= optEq, `equal counts ${equalCountBound(d, m)} > optimum ${optEq}`);
    }
  }, 2500, 1);
});

test('bin-packing bounds (L1, L2) never exceed the least number of bins; the class-count DP equals it', () => {
  run(fc.record({ costs: arbCosts(8), slack: fc.integer({ min: 0, max: 120 }) }), ({ costs, slack }) => {
    const C = Math.max(...costs) + slack;
    const need = minBinsBrute(costs, C);
    const d = desc(costs);
    assert.ok(binsNeededL1(d, C) <= need, `L1 bins ${binsNeededL1(d, C)} > ${need} at C=${C} for ${JSON.stringify(costs)}`);
    assert.ok(binsNeededL2(d, C) <= need, `L2 bins ${binsNeededL2(d, C)} > ${need} at C=${C} for ${JSON.stringify(costs)}`);
    assert.ok(binsNeededL3(d, C) <= need, `L3 bins ${binsNeededL3(d, C)} > ${need} at C=${C} for ${JSON.stringify(costs)}`);
    assert.ok(binsNeededL3(d, C) >= binsNeededL2(d, C), 'L3 is at least L2');
    const c = classesOf(costs);
    const dp = classMinBins(c, C);
    assert.notEqual(dp, 'stopped');
    if (dp === 'stopped') return;
    assert.equal(dp.bins, need, `class DP ${dp.bins} bins, brute force ${need}, at C=${C} for ${JSON.stringify(costs)}`);
    // Its packing is a packing: every item once, every bin within C.
    const used = c.vals.map(() => 0);
    for (const bin of dp.packing) {
      let load = 0;
      bin.forEach((k, t) => { used[t]! += k; load += k * c.vals[t]!; });
      assert.ok(load <= C, `DP bin load ${load} > C=${C}`);
    }
    assert.deepEqual(used, [...c.counts]);
    // A relaxation (classes rounded down) never needs more bins.
    const r = relaxClasses(c, Math.max(2, Math.floor(c.counts.reduce((a, k) => a * (k + 1), 1) / 3)));
    if (r) {
      const rb = classMinBins(r, C);
      assert.ok(rb !== 'stopped' && rb.bins <= need, `relaxed DP ${rb === 'stopped' ? rb : rb.bins} > ${need}`);
    }
  }, 3000, 2);
});

test('lifted bounds (L2 by bisection on the capacity, over integers and over achievable loads) never exceed the optimum', () => {
  run(arbInstance, ({ costs, m }) => {
    const opt = optBrute(costs, m);
    const d = desc(costs);
    const total = costs.reduce((a, b) => a + b, 0);
    const l2 = (C: number) => binsNeededL2(d, C);
    const lifted = liftCapacity(l2, m, dellAmicoL0(d, m), total);
    assert.ok(lifted <= opt, `lifted L2 ${lifted} > optimum ${opt} for ${JSON.stringify({ costs, m })}`);
    const lifted3 = liftCapacity((C) => binsNeededL3(d, C), m, dellAmicoL0(d, m), total);
    assert.ok(lifted3 <= opt, `lifted L3 ${lifted3} > optimum ${opt} for ${JSON.stringify({ costs, m })}`);
    const sums = achievableSums(classesOf(costs), 0, total);
    assert.ok(sums !== null && sums.includes(opt), 'the optimum is an achievable load');
    const overSums = liftOverSums(l2, m, sums!, dellAmicoL0(d, m), total);
    assert.ok(overSums <= opt, `L2 over loads ${overSums} > optimum ${opt} for ${JSON.stringify({ costs, m })}`);
    // The class DP lifted over the loads is the optimum itself.
    const dpLift = liftOverSums((C) => { const r = classMinBins(classesOf(costs), C); return r === 'stopped' ? 0 : r.bins; }, m, sums!, 0, total);
    assert.equal(dpLift, opt, `class DP lifted ${dpLift} ≠ optimum ${opt}`);
  }, 2500, 3);
});

test('instanceBound ≤ optimum, and a completed exact search returns the optimum with a truthful proof', () => {
  run(fc.record({ costs: arbCosts(8), m: fc.integer({ min: 1, max: 4 }), equal: fc.boolean() }), ({ costs, m, equal }) => {
    const eq = equal && costs.length % m === 0;
    const norm = normalize({ layer: 0, costs, speeds: Array<number>(m).fill(1), equalHeadsPerDevice: eq });
    assert.ok(norm.ok);
    if (!norm.ok) return;
    const inst = norm.inst;
    const opt = optBrute(costs, m, eq);
    const ub = costs.reduce((a, b) => a + b, 0);
    const b = instanceBound(inst, ub);
    assert.ok(b.value <= opt * (1 + 1e-12), `instanceBound ${b.value} (${b.proof}) > optimum ${opt} for ${JSON.stringify({ costs, m, eq })}`);
    // Never weaker than core's simple bound (mean, largest, pigeonhole), with or without a known makespan.
    const core = layerLowerBound(costs, { devices: m, equalHeadsPerDevice: eq });
    assert.ok(instanceBound(inst).value >= core, `instanceBound ${instanceBound(inst).value} < core's bound ${core}`);
    assert.ok(b.value >= core, `instanceBound(ub) ${b.value} < core's bound ${core}`);
    // Also at the scale of real work units (10^10): integer rounding must never pull a bound down.
    const big = costs.map((c) => c * 1_000_000_007);
    const bigNorm = normalize({ layer: 0, costs: big, speeds: Array<number>(m).fill(1) });
    const bigCore = layerLowerBound(big, { devices: m });
    if (bigNorm.ok) assert.ok(instanceBound(bigNorm.inst).value >= bigCore, `scaled instanceBound ${instanceBound(bigNorm.inst).value} < core's ${bigCore}`);
    // Start from the worst placement (everything on device 0, or round-robin under equal counts).
    const start = Int32Array.from({ length: inst.n }, (_, i) => (eq ? i % m : 0));
    const r = exactSearch(inst, start, 0, Infinity);
    assert.ok(r.lowerBound <= opt * (1 + 1e-12), `exact bound ${r.lowerBound} > optimum ${opt}`);
    if (r.complete) {
      const mk = makespanOf(inst, r.assign ?? start);
      assert.equal(mk, opt, `exact claims ${mk} optimal (${r.proof}), brute force ${opt}, for ${JSON.stringify({ costs, m, eq })}`);
      assert.ok(r.proof !== undefined, 'a completed search names its proof');
    }
  }, 4000, 4);
});

test('at real scale on identical devices of speed 3, an "optimal" claim is the brute-force optimum (float rounding never proves too much)', async () => {
  const { solveLayerSync } = await import('../src/registry.ts');
  run(fc.record({ costs: arbCosts(7), m: fc.integer({ min: 2, max: 3 }) }), ({ costs, m }) => {
    const big = costs.map((c) => c * 1_000_000_007 + (c % 3));
    const opt = optBrute(big, m) / 3;
    const r = solveLayerSync({ layer: 0, costs: big, speeds: Array<number>(m).fill(3) }, 'auto', { timeLimitMs: 10_000, effort: 200_000 });
    assert.notEqual(r.status, 'infeasible');
    if (r.status === 'infeasible') return;
    assert.ok(r.lowerBound <= opt * (1 + 1e-12), `bound ${r.lowerBound} > optimum ${opt} for ${JSON.stringify({ big, m })}`);
    if (r.status === 'optimal') assert.ok(Math.abs(r.makespan - opt) <= opt * 1e-12, `claims ${r.makespan} optimal (${r.proof}), brute force ${opt}`);
  }, 500, 5);
});
