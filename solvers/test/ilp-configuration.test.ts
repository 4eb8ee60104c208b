/**
 * The configuration ILP: for every candidate makespan of small class instances, HiGHS's feasibility answer (ILP and
 * LP relaxation) agrees with an exhaustive packing search, and every pattern solution it returns decodes to a
 * packing with the right counts and loads ≤ T.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enumeratePatterns, feasibilityModel, searchPacking, decodePatterns } from '../src/ilp/configuration.ts';
import { columnOrder, lpText } from '../src/ilp/model.ts';
import { runHighs } from '../src/ilp/highs.ts';

const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

test('configuration ILP feasibility = exhaustive search; LP infeasible ⇒ ILP infeasible', async () => {
  const seed = Number(process.env['ILP_SEED'] ?? 2024);
  console.log(`instance seed ${seed}`);
  const r = rng(seed);
  for (let inst = 0; inst < 4; inst++) {
    const K = 2 + Math.floor(r() * 3);
    const counts = Array.from({ length: K }, () => 1 + Math.floor(r() * 5));
    const costs = Array.from({ length: K }, () => 10 + Math.floor(r() * 90));
    const m = 2 + Math.floor(r() * 3);
    const total = counts.reduce((a, c, k) => a + c * costs[k]!, 0);
    const upper = total; // everything on one device
    const set = enumeratePatterns(counts, costs, counts.map(() => 1), upper, null)!;
    const loads = [...new Set(set.loads)].sort((a, b) => a - b).filter((l) => l * m >= total);
    for (const T of loads.slice(0, 4)) {
      const classes = [{ devices: m, set }];
      const exhaustive = searchPacking(classes, counts, T, Number.POSITIVE_INFINITY);
      const fm = feasibilityModel(classes, counts, T, 't');
      if (!fm) {
        assert.equal(exhaustive, null);
        continue;
      }
      const req = { model: fm.model, lp: lpText(fm.model), columns: columnOrder(fm.model), start: null, timeLimitSec: 20, presolve: false };
      const ip = await runHighs(req);
      const lp = await runHighs({ ...req, model: { ...fm.model, generals: [] }, lp: lpText({ ...fm.model, generals: [] }) });
      const where = `counts ${counts} costs ${costs} m ${m} T ${T}`;
      if (exhaustive) {
        assert.equal(ip.claim, 'optimal', where);
        assert.notEqual(lp.claim, 'infeasible', where);
        const per = decodePatterns(classes, fm.used, new Map(Object.entries(ip.values ?? {})), counts);
        assert.ok(per, where);
        for (const c of per![0]!) assert.ok(c.reduce((a, x, k) => a + x * costs[k]!, 0) <= T, where);
      } else {
        assert.equal(ip.claim, 'infeasible', where);
      }
    }
  }
});
