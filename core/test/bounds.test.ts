/**
 * Lower bounds never exceed the brute-force optimum: for small random layers (≤ 8 heads, ≤ 3 devices), every bound and
 * `layerLowerBound` is ≤ the best makespan over all placements satisfying the same constraints (identical or uniform
 * devices, equal heads per device, GQA groups kept whole). Plus hand-checked values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { equalCountBound, layerLowerBound, pigeonholeBound, trivialBound } from '@hplb/core';

interface Instance {
  costs: number[];
  speeds: number[];
  groupSize: number;
}

/** Best makespan over all assignments, with the given constraints; Infinity when none is feasible. */
const optimum = (inst: Instance, equal: boolean, grouped: boolean): number => {
  const { costs, speeds } = inst;
  const n = costs.length;
  const m = speeds.length;
  const units = grouped ? n / inst.groupSize : n;
  let best = Infinity;
  const assign = Array<number>(units).fill(0);
  const total = m ** units;
  for (let code = 0; code < total; code++) {
    let c = code;
    for (let i = 0; i < units; i++) {
      assign[i] = c % m;
      c = Math.floor(c / m);
    }
    const load = Array<number>(m).fill(0);
    const count = Array<number>(m).fill(0);
    for (let h = 0; h < n; h++) {
      const d = assign[grouped ? Math.floor(h / inst.groupSize) : h]!;
      load[d]! += costs[h]! / speeds[d]!;
      count[d]!++;
    }
    if (equal && count.some((k) => k !== n / m)) continue;
    best = Math.min(best, Math.max(...load));
  }
  return best;
};

const instance = (identical: boolean): fc.Arbitrary<Instance> =>
  fc
    .record({
      m: fc.integer({ min: 1, max: 3 }),
      groupSize: fc.integer({ min: 1, max: 2 }),
      units: fc.integer({ min: 1, max: 4 }),
      costs: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 8, maxLength: 8 }),
      speeds: fc.array(fc.constantFrom(0.5, 1, 1.5, 2), { minLength: 3, maxLength: 3 }),
    })
    .map(({ m, groupSize, units, costs, speeds }) => ({
      costs: costs.slice(0, groupSize * units),
      speeds: identical ? Array<number>(m).fill(1) : speeds.slice(0, m),
      groupSize,
    }));

const le = (bound: number, opt: number, what: string) => assert.ok(bound <= opt * (1 + 1e-12) + 1e-9, `${what}: bound ${bound} > optimum ${opt}`);

test('every bound ≤ the brute-force optimum on identical devices (fast-check)', () => {
  fc.assert(
    fc.property(instance(true), fc.boolean(), fc.boolean(), (inst, equal, grouped) => {
      const m = inst.speeds.length;
      const opt = optimum(inst, equal, grouped);
      if (!Number.isFinite(opt)) return;
      const groups = grouped ? Array.from({ length: inst.costs.length / inst.groupSize }, (_, g) => Array.from({ length: inst.groupSize }, (_, i) => g * inst.groupSize + i)) : undefined;
      le(trivialBound(inst.costs, m), opt, 'trivial');
      le(pigeonholeBound(inst.costs, m), opt, 'pigeonhole');
      if (equal) le(equalCountBound(inst.costs, m), opt, 'equal count');
      le(layerLowerBound(inst.costs, { devices: m, equalHeadsPerDevice: equal, ...(groups ? { groups } : {}) }), opt, 'layerLowerBound');
    }),
    { seed: 2026, numRuns: 400, verbose: 1 },
  );
});

test('every bound ≤ the brute-force optimum on uniform (mixed-speed) devices (fast-check)', () => {
  fc.assert(
    fc.property(instance(false), fc.boolean(), fc.boolean(), (inst, equal, grouped) => {
      const opt = optimum(inst, equal, grouped);
      if (!Number.isFinite(opt)) return;
      const groups = grouped ? Array.from({ length: inst.costs.length / inst.groupSize }, (_, g) => Array.from({ length: inst.groupSize }, (_, i) => g * inst.groupSize + i)) : undefined;
      le(trivialBound(inst.costs, inst.speeds), opt, 'trivial (uniform)');
      le(layerLowerBound(inst.costs, { devices: inst.speeds, equalHeadsPerDevice: equal, ...(groups ? { groups } : {}) }), opt, 'layerLowerBound (uniform)');
    }),
    { seed: 2027, numRuns: 400, verbose: 1 },
  );
});

test('hand-checked bounds', () => {
  // 5 items on 2 devices: mean load 40/2 = 20 ≥ largest 10; pigeonhole t=1: 2 smallest of the 3 largest = 9+8 = 17,
  // t=2: the 3 smallest of the 5 largest = 8+7+6 = 21.
  assert.equal(trivialBound([10, 9, 8, 7, 6], 2), 20);
  assert.equal(pigeonholeBound([10, 9, 8, 7, 6], 2), 21);
  // Equal heads: 4 items on 2 devices, 2 each: largest 100 + smallest 1.
  assert.equal(equalCountBound([100, 1, 2, 3], 2), 101);
  assert.equal(equalCountBound([1, 2, 3], 2), 0, 'not divisible: no bound');
  // GQA groups kept whole: two groups of 2 heads on 2 devices, groups sum 11 and 3.
  assert.equal(layerLowerBound([10, 1, 2, 1], { devices: 2, groups: [[0, 1], [2, 3]] }), 11);
  // Uniform machines: one 2x device: the largest item alone takes 10/2.
  assert.equal(trivialBound([10], [2, 1]), 5);
  assert.equal(layerLowerBound([], { devices: 3 }), 0);
});
