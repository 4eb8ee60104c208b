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

test('KV memory / replication caps go through the configuration model, and its optimum equals brute force', async (t) => {
  const { solveIlp, ilpEngineAvailable, kvConfigurationClasses } = await import('../src/ilp/index.ts');
  const { buildModel } = await import('../src/ilp/model.ts');
  const avail = await ilpEngineAvailable('highs');
  if (avail !== true) return t.skip(`highs unavailable: ${avail}`);
  const r = rng(Number(process.env['ILP_SEED'] ?? 7));
  for (let inst = 0; inst < 6; inst++) {
    const n = 8;
    const m = 2 + (inst % 2);
    const kvGroupOf = Array.from({ length: n }, (_, i) => Math.floor(i / 2)); // 4 KV groups of 2 heads
    const costs = Array.from({ length: n }, () => [30, 50, 80][Math.floor(r() * 3)]!);
    const cap = m === 2 ? 3 : 2;
    const extra = inst >= 4 ? 1 : undefined;
    const pr = { layer: inst, costs, speeds: Array<number>(m).fill(1), kvGroupOf, maxKvPerDevice: Array<number>(m).fill(cap), ...(extra !== undefined ? { maxExtraKvCopies: extra } : {}) };
    // Brute force over every assignment that keeps the caps.
    let opt = Infinity;
    const a = Array<number>(n).fill(0);
    for (let code = 0; code < m ** n; code++) {
      let c = code;
      for (let i = 0; i < n; i++) { a[i] = c % m; c = Math.floor(c / m); }
      const held = Array.from({ length: m }, () => new Set<number>());
      a.forEach((d, i) => held[d]!.add(kvGroupOf[i]!));
      if (held.some((h) => h.size > cap)) continue;
      if (extra !== undefined && held.reduce((s, h) => s + h.size, 0) > 4 + extra) continue;
      const loads = Array<number>(m).fill(0);
      a.forEach((d, i) => { loads[d]! += costs[i]!; });
      opt = Math.min(opt, Math.max(...loads));
    }
    const built = buildModel(pr);
    assert.ok(built.ok && kvConfigurationClasses(pr, built.built) !== null, 'the configuration model takes this layer');
    const res = await solveIlp(pr, { engine: 'highs', timeLimitMs: 20_000 });
    const where = JSON.stringify({ costs, m, cap, extra });
    assert.equal(res.status, 'optimal', where);
    if (res.status === 'optimal') assert.equal(res.makespan, opt, where);
  }
});
