/**
 * Work of a head in causal prefill: W(b,N) = N·b − b(b−1)/2 equals the row-by-row sum Σ_{i=1..N} min(i,b); split parts
 * tile it exactly; rowForWork returns exactly the smallest row reaching a work target (checked by brute force).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { headWork, prefixRowWork, rowForWork, rowRangeWork } from '@hplb/core';

const brute = (b: number, from: number, to: number): number => {
  let s = 0;
  for (let i = from + 1; i <= to; i++) s += Math.min(i, b);
  return s;
};

test('W(b,N) equals Σ_{i=1..N} min(i,b) for every 0 ≤ b ≤ N ≤ 120', () => {
  for (let n = 1; n <= 120; n++) for (let b = 0; b <= n; b++) assert.equal(headWork(b, n), brute(b, 0, n), `b=${b} N=${n}`);
});

test('W(b,N) at real sizes: closed form, clamped outside [0, N]', () => {
  assert.equal(headWork(7096, 131072), 131072 * 7096 - (7096 * 7095) / 2);
  assert.equal(headWork(131072, 131072), (131072 * 131073) / 2, 'dense: N(N+1)/2');
  assert.equal(headWork(200000, 131072), headWork(131072, 131072));
  assert.equal(headWork(-3, 100), 0);
  assert.equal(brute(830, 0, 20000), headWork(830, 20000));
});

test('rowRangeWork: random cuts of [0, N) tile W(b,N), and each part equals its brute-force row sum (fast-check)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (n, bf, cf) => {
      const b = Math.round(bf * n);
      const cuts = [...new Set([0, ...cf.map((c) => Math.floor(c * n)), n])].sort((x, y) => x - y);
      let total = 0;
      for (let i = 0; i + 1 < cuts.length; i++) {
        const w = rowRangeWork(b, cuts[i]!, cuts[i + 1]!);
        assert.equal(w, brute(b, cuts[i]!, cuts[i + 1]!), `rows [${cuts[i]}, ${cuts[i + 1]}) b=${b}`);
        total += w;
      }
      assert.equal(total, headWork(b, n));
    }),
    { seed: 7, numRuns: 300, verbose: 1 },
  );
});

test('rowForWork is exact: the smallest row r in [start, hi] with work(start, r) ≥ target, else hi (brute force)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1.2, noNaN: true }), (n, bf, sf, tf) => {
      const b = Math.max(1, Math.round(bf * n));
      const start = Math.floor(sf * n);
      const target = Math.round(tf * (headWork(b, n) - prefixRowWork(b, start)));
      let want = n;
      for (let r = start; r <= n; r++)
        if (brute(b, start, r) >= target) {
          want = r;
          break;
        }
      assert.equal(rowForWork(b, start, target, n), want, `b=${b} start=${start} target=${target} N=${n}`);
    }),
    { seed: 11, numRuns: 1000, verbose: 1 },
  );
});

test('rowForWork at 128k: halves of a dense and a sparse head', () => {
  const n = 131072;
  for (const b of [830, 7096, n]) {
    const half = headWork(b, n) / 2;
    const r = rowForWork(b, 0, half, n);
    assert.ok(rowRangeWork(b, 0, r) >= half && rowRangeWork(b, 0, r - 1) < half, `b=${b} r=${r}`);
  }
});
