/**
 * Budget policy laws: budgets in [block, N] on block multiples; max-min never lowers the minimum recovery compared with
 * uniform at equal total work (or tokens); max-min respects its total; bubble-fill never raises a layer's makespan and
 * never lowers a budget; top-p reaches p; bad totals / p / density are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { sampleCurve, recoveryAt, type RecoveryCurve } from '../src/recovery.ts';
import { archetypeRecovery, ARCHETYPES } from '../src/defaultProfile.ts';
import { bubbleFillPolicy, densityTotal, jointPolicy, maxMinPolicy, topPPolicy, uniformPolicy, type BudgetProblem, type BudgetResult } from '../src/budgets/index.ts';
import { simulate, type Layout } from '../src/simulate.ts';
import { makeDevices } from '../src/model.ts';
import { WORK_COST_MODEL, DEFAULT_COST_MODELS } from '../src/cost.ts';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1e9);
console.log(`budgets-policies: fast-check seed ${seed} (FC_SEED to replay)`);

const arbProblem = fc
  .record({
    layers: fc.integer({ min: 1, max: 3 }),
    heads: fc.integer({ min: 2, max: 8 }),
    n: fc.integer({ min: 512, max: 16384 }),
    block: fc.constantFrom(16, 64),
    params: fc.array(fc.record({ a: fc.integer({ min: 0, max: 3 }), m: fc.double({ min: 0.5, max: 0.99, noNaN: true }), tau: fc.double({ min: 5, max: 3000, noNaN: true }), gamma: fc.double({ min: 0.2, max: 1, noNaN: true }) }), { minLength: 24, maxLength: 24 }),
  })
  .map(({ layers, heads, n, block, params }): BudgetProblem => ({
    contextLength: n,
    blockSize: block,
    curves: Array.from({ length: layers }, (_, l) =>
      Array.from({ length: heads }, (_, h): RecoveryCurve => {
        const p = params[(l * heads + h) % params.length]!;
        return sampleCurve(archetypeRecovery({ archetype: ARCHETYPES[p.a]!, m: p.m, tau: p.tau, gamma: p.gamma }, n), n, 12);
      })),
  }));

const assertBudgetsValid = (p: BudgetProblem, r: BudgetResult) => {
  const block = p.blockSize ?? 64;
  r.budgets.forEach((row, l) => row.forEach((b, h) => {
    assert.ok(b >= block && b <= p.contextLength, `budget[${l}][${h}] = ${b} outside [${block}, ${p.contextLength}]`);
    assert.ok(b % block === 0 || b === p.contextLength, `budget[${l}][${h}] = ${b} not a block multiple`);
  }));
};

test('max-min ≥ uniform minimum recovery at equal total work and equal tokens; totals respected; budgets in [block, N]', () => {
  fc.assert(
    fc.property(arbProblem, fc.double({ min: 0.01, max: 1, noNaN: true }), (p, density) => {
      const tot = densityTotal(density, p);
      assert.ok(E.isRight(tot));
      if (tot.right.value < (p.blockSize ?? 64) * p.curves.length * p.curves[0]!.length) return;
      const u = uniformPolicy(p, tot.right);
      assert.ok(E.isRight(u));
      assertBudgetsValid(p, u.right);
      for (const kind of ['work', 'tokens'] as const) {
        const total = { kind, value: kind === 'work' ? u.right.totalWork : u.right.totalTokens };
        const mm = maxMinPolicy(p, total);
        assert.ok(E.isRight(mm));
        assertBudgetsValid(p, mm.right);
        assert.ok(mm.right.min >= u.right.min - 1e-12, `${kind}: max-min min ${mm.right.min} < uniform min ${u.right.min}`);
        const spent = kind === 'work' ? mm.right.totalWork : mm.right.totalTokens;
        assert.ok(spent <= total.value * (1 + 1e-12), `${kind}: spent ${spent} > total ${total.value}`);
      }
    }),
    { seed, numRuns: 120 },
  );
});

test('max-min is exact: one more block on any head at the minimum would break the total at the next level', () => {
  fc.assert(
    fc.property(arbProblem, fc.double({ min: 0.02, max: 0.5, noNaN: true }), (p, density) => {
      const total = { kind: 'tokens' as const, value: density * p.contextLength * p.curves.length * p.curves[0]!.length };
      if (total.value < (p.blockSize ?? 64) * p.curves.length * p.curves[0]!.length) return;
      const mm = maxMinPolicy(p, total, { spendLeftover: false });
      assert.ok(E.isRight(mm));
      const level = mm.right.details['level'] as number;
      if (level >= 1) return;
      // Raising every head to just above `level` costs more than the total.
      let need = 0;
      p.curves.forEach((row) => row.forEach((c) => {
        let b = p.blockSize ?? 64;
        while (b < p.contextLength && recoveryAt(c, b) <= level) b = Math.min(p.contextLength, b + (p.blockSize ?? 64));
        need += b;
      }));
      assert.ok(need > total.value, `level ${level} is not maximal: ${need} ≤ ${total.value}`);
    }),
    { seed, numRuns: 80 },
  );
});

test('top-p reaches p on every head (or gives it N)', () => {
  fc.assert(
    fc.property(arbProblem, fc.double({ min: 0.05, max: 1, noNaN: true }), (p, target) => {
      const r = topPPolicy(p, target);
      assert.ok(E.isRight(r));
      assertBudgetsValid(p, r.right);
      r.right.recovery.forEach((row, l) => row.forEach((x, h) => assert.ok(x >= target - 1e-12 || r.right.budgets[l]![h] === p.contextLength)));
    }),
    { seed, numRuns: 100 },
  );
});

const lptLayout = (p: BudgetProblem, budgets: number[][], g: number, speeds?: number[]): Layout => {
  const heads = p.curves[0]!.length;
  const model = { name: 't', layers: p.curves.length, queryHeads: heads, kvHeads: 1, headDim: 64 };
  // Round-robin by descending budget: a deliberately imperfect placement, so there are bubbles to fill.
  const placement = budgets.map((row) => {
    const order = row.map((b, h) => [b, h] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const out = Array<number>(heads).fill(0);
    order.forEach(([, h], i) => (out[h] = i % g));
    return out;
  });
  return { model, contextLength: p.contextLength, devices: makeDevices(g, speeds), placement, costModel: WORK_COST_MODEL };
};

test('bubble-fill never raises any layer makespan and never lowers a budget; recovery does not fall', () => {
  fc.assert(
    fc.property(arbProblem, fc.double({ min: 0.02, max: 0.6, noNaN: true }), fc.integer({ min: 2, max: 4 }), fc.boolean(), (p, density, g, seconds) => {
      const tot = densityTotal(density, p);
      assert.ok(E.isRight(tot));
      if (tot.right.value < (p.blockSize ?? 64) * p.curves.length * p.curves[0]!.length) return;
      const mm = maxMinPolicy(p, tot.right);
      assert.ok(E.isRight(mm));
      const layout = { ...lptLayout(p, mm.right.budgets, g, [1, 0.8, 1, 0.5].slice(0, g)), ...(seconds ? { costModel: DEFAULT_COST_MODELS['cpu']! } : {}) };
      const before = simulate(layout, mm.right.budgets, p.curves);
      const bf = bubbleFillPolicy(p, layout, mm.right.budgets);
      assert.ok(E.isRight(bf));
      assertBudgetsValid(p, bf.right);
      const after = simulate(layout, bf.right.budgets, p.curves);
      before.layers.forEach((lt, l) => assert.ok(after.layers[l]!.makespan <= lt.makespan * (1 + 1e-12), `layer ${l}: makespan ${lt.makespan} → ${after.layers[l]!.makespan}`));
      mm.right.budgets.forEach((row, l) => row.forEach((b, h) => assert.ok(bf.right.budgets[l]![h]! >= b, `budget[${l}][${h}] lowered`)));
      assert.ok(bf.right.min >= mm.right.min - 1e-12 && bf.right.mean >= mm.right.mean - 1e-12);
      const d = bf.right.details as { before: { min: number }; after: { min: number } };
      assert.equal(d.before.min, mm.right.min);
    }),
    { seed, numRuns: 80 },
  );
});

test('bubble-fill fills: an idle device next to a busy one gets its heads raised', () => {
  const n = 4096;
  const c = sampleCurve((b) => Math.min(1, b / 2048), n);
  const p: BudgetProblem = { contextLength: n, blockSize: 64, curves: [[c, c, c]] };
  const layout: Layout = { model: { name: 't', layers: 1, queryHeads: 3, kvHeads: 1, headDim: 64 }, contextLength: n, devices: makeDevices(2), placement: [[0, 0, 1]] };
  const r = bubbleFillPolicy(p, layout, [[512, 512, 512]]);
  assert.ok(E.isRight(r));
  assert.deepEqual(r.right.budgets[0]!.slice(0, 2), [512, 512]);
  assert.ok(r.right.budgets[0]![2]! > 512, `head 2 stayed at ${r.right.budgets[0]![2]}`);
});

test('joint reports a trajectory and never ends worse than its first round', async () => {
  const n = 8192;
  const curves = [0, 1].map((l) => Array.from({ length: 6 }, (_, h) => sampleCurve(archetypeRecovery({ archetype: 'vertical', m: 0.9, tau: 50 + 300 * ((h * 7 + l) % 6), gamma: 0.5 }, n), n)));
  const p: BudgetProblem = { contextLength: n, blockSize: 64, curves };
  const base = { model: { name: 't', layers: 2, queryHeads: 6, kvHeads: 1, headDim: 64 }, contextLength: n, devices: makeDevices(3) };
  const place = async (b: ReadonlyArray<ReadonlyArray<number>>) => E.right({ placement: lptLayout(p, b.map((r) => [...r]), 3).placement });
  const j = await jointPolicy(p, { kind: 'tokens', value: 0.1 * n * 12 }, base, place);
  assert.ok(E.isRight(j));
  const t = j.right.trajectory;
  assert.ok(t.length >= 1 && t[0]!.accepted);
  assert.ok(j.right.result.min >= t[0]!.min - 1e-12);
  assert.ok(t.filter((s) => s.accepted).every((s) => s.latency <= t[0]!.latency * (1 + 1e-9)));
});

test('bad input: density and p outside (0, 1], total below one block per head', () => {
  const n = 1024;
  const p: BudgetProblem = { contextLength: n, blockSize: 64, curves: [[sampleCurve((b) => b / n, n), sampleCurve((b) => b / n, n)]] };
  for (const d of [0, -0.1, 1.5, Number.NaN]) assert.ok(E.isLeft(densityTotal(d, p)), `density ${d} accepted`);
  for (const x of [0, 1.01, -1]) {
    const r = topPPolicy(p, x);
    assert.ok(E.isLeft(r) && r.left.issues[0]!.path === '$.p');
  }
  const low = maxMinPolicy(p, { kind: 'tokens', value: 127 });
  assert.ok(E.isLeft(low));
  assert.match(low.left.issues[0]!.expected, /one block per head: 2 heads × 64 tokens = 128/);
  assert.ok(E.isLeft(uniformPolicy(p, { kind: 'work', value: 10 })));
});
