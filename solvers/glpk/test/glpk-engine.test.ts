/**
 * @hplb/solver-glpk: the LP text that @hplb/solvers writes for HiGHS is the text glpk.js's own `glp_write_lp`
 * prints for the same model (token for token), and GLPK solves the model to the known optimum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, lpText, decodeAssignment, type IlpProblem } from '@hplb/solvers/node';
import { glpkLpText, runGlpk } from '../src/index.ts';

const tokens = (s: string) => s.replace(/\\\*[^*]*\*\\/g, '').split(/\s+/).filter(Boolean);

const problems: { name: string; pr: IlpProblem; opt: number }[] = [
  { name: 'aggregated classes', pr: { layer: 0, costs: [5, 5, 5, 5, 3, 3, 3, 2, 2], speeds: [1, 1, 1] }, opt: 12 },
  { name: 'pinned (binary model)', pr: { layer: 1, costs: [4, 3, 3, 2, 2], speeds: [1, 1], pinned: [{ item: 0, device: 1 }] }, opt: 7 },
  { name: 'kv bookkeeping', pr: { layer: 2, costs: [4, 3, 3, 2], speeds: [1, 1], kvGroupOf: [0, 0, 1, 1], maxKvPerDevice: [1, 1] }, opt: 7 },
];

for (const { name, pr, opt } of problems) {
  test(`glpk.write prints our LP text; GLPK solves it (${name})`, async () => {
    const b = buildModel(pr);
    assert.ok(b.ok);
    if (!b.ok) return;
    assert.deepEqual(tokens(await glpkLpText(b.built.model)), tokens(lpText(b.built.model)));
    const ans = await runGlpk({ model: b.built.model, lp: lpText(b.built.model), columns: b.built.columns, start: null, timeLimitSec: 10 });
    assert.equal(ans.claim, 'optimal');
    const a = decodeAssignment(b.built, new Map(Object.entries(ans.values ?? {})), pr.costs.length);
    assert.ok(a);
    const load = Array<number>(pr.speeds.length).fill(0);
    a!.forEach((d, i) => (load[d]! += pr.costs[i]!));
    assert.equal(Math.max(...load), opt);
  });
}
