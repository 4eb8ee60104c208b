/**
 * `hplb export`: a plan from the engine-layout planner becomes a valid `hplb.engine-layout/1` file (budgets in the
 * new order, per-rank lists, config changes), a MInference config is re-indexed to the new head order, split heads
 * become tier-3 virtual heads that `hplb apply` refuses, and plans that break the engines' rule exit ≠ 0 naming why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, recomputeLoads, summarizeLoads, type ModelShape, type Plan } from '@hplb/core';
import { decodeEngineLayout, validateEngineLayout } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};
const root = mkdtempSync(join(tmpdir(), 'hplb-export-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const M: ModelShape = { name: 'tiny-export', layers: 3, queryHeads: 16, kvHeads: 4, headDim: 8 };
const N = 4096;
const budgets = Array.from({ length: M.layers }, (_, l) => Array.from({ length: M.queryHeads }, (_, h) => 1 + ((h * 977 + l * 131) ** 2 % (N - 1))));

const enginePlan = (tp: number, r: number): Plan & { engineLayout: unknown } => {
  const res = planEngineLayout({ model: M, devices: makeDevices(tp), lengths: [{ contextLength: N, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: r, timeLimitMs: 100, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  return res.right.plan;
};

const writePlan = (name: string, plan: unknown) => {
  const f = join(root, name);
  writeFileSync(f, JSON.stringify(plan));
  return f;
};

const expectFail = async (argv: string[], pattern: RegExp) => {
  const c = capture();
  const code = await main(argv, c.io);
  assert.notEqual(code, 0, `expected failure for ${argv.join(' ')}`);
  assert.match(c.err, pattern);
  assert.equal(c.err.trim().split('\n').length, 1, `one line: ${c.err}`);
};

for (const [tp, r] of [[4, 1], [4, 2], [8, 4], [8, 1]] as const) {
  test(`export a TP ${tp}, r=${r} engine plan: a valid layout, budgets in the new order, MInference config re-indexed`, async () => {
    const plan = enginePlan(tp, r);
    const planFile = writePlan(`plan-${tp}-${r}.json`, plan);
    // A MInference-format config for the tiny model: entry h holds a pattern identifying head h.
    const mf = Array.from({ length: M.layers }, (_, l) => Object.fromEntries(Array.from({ length: M.queryHeads }, (_, h) => [String(h), ['vertical_and_slash', l, h, 0.9]])));
    const mfFile = writePlan('mf.json', mf);
    const out = join(root, `layout-${tp}-${r}.json`);
    const c = capture();
    assert.equal(await main(['export', planFile, '--engine', 'sglang', '--out', out, '--minference', mfFile], c.io), 0, c.err);
    const u = JSON.parse(readFileSync(out, 'utf8'));
    const lay = decodeEngineLayout(u);
    assert.ok(E.isRight(lay));
    assert.ok(E.isRight(validateEngineLayout(lay.right)));
    const L = lay.right;
    assert.equal(L.tier, 1);
    assert.equal(L.tpSize, tp);
    assert.equal(L.geometry.kvSlots, M.kvHeads * r);
    assert.equal(L.configChanges['num_key_value_heads'], M.kvHeads * r);
    assert.equal(L.kvCopies, r);
    L.layers.forEach((layer, l) => {
      layer.qSource.forEach((q, p) => assert.equal(layer.budgets[p], plan.budgets[l]![q!]));
      layer.ranks.forEach((rank) => rank.qHeads.forEach((q) => assert.equal(plan.placement[l]![q], rank.rank, 'per-rank lists follow the plan')));
    });
    const re = JSON.parse(readFileSync(join(root, `layout-${tp}-${r}.minference.json`), 'utf8'));
    assert.equal(u.minferenceConfig, `layout-${tp}-${r}.minference.json`);
    L.layers.forEach((layer, l) => layer.qSource.forEach((q, p) => assert.deepEqual(re[l][String(p)], ['vertical_and_slash', l, q, 0.9])));
  });
}

test('export refuses a plan with unequal heads per rank', async () => {
  const base = { ...enginePlan(4, 4) } as Record<string, unknown>;
  delete base['engineLayout'];
  const placement = (base['placement'] as number[][]).map((row) => [...row]);
  const moved = placement[1]!.findIndex((d) => d === 0);
  placement[1]![moved] = 1;
  const plan = { ...base, placement, constraints: { equalHeadsPerDevice: false, kv: 'replicate' } } as unknown as Plan;
  // The moved head voids the plan's bounds and proofs: state no bound (0) and claim no optimality (the validator
  // refuses "optimal" where the bound proves nothing).
  const { layers: _layers, ...solver } = plan.solver;
  const fixed = { ...plan, solver: { ...solver, status: 'feasible', gap: 0 }, predicted: summarizeLoads('token-pairs', recomputeLoads(plan), plan.predicted.layerLowerBound.map(() => 0)), kvReplication: undefined };
  delete (fixed as Record<string, unknown>)['kvReplication'];
  await expectFail(['export', writePlan('unequal.json', fixed), '--engine', 'vllm', '--out', join(root, 'x.json')], /placement\[1\].*4 query heads on every rank/);
});

test('export refuses a plan whose engine slots put a query head away from its KV head', async () => {
  const plan = enginePlan(4, 2) as unknown as { engineLayout: { layers: { ranks: { slots: { kvHead: number; queryHeads: number[] }[] }[] }[] } };
  const slots = plan.engineLayout.layers[0]!.ranks[0]!.slots;
  slots[0]!.kvHead = (slots[0]!.kvHead + 1) % M.kvHeads;
  await expectFail(['export', writePlan('noslot.json', plan), '--engine', 'vllm', '--out', join(root, 'x.json')], /without its KV slot/);
});

test('export refuses a TP size that does not divide the query heads', async () => {
  const m: ModelShape = { ...M, name: 'tiny-tp3', layers: 1 };
  const base = {
    format: 'hplb.plan/1', model: m, contextLength: N, devices: makeDevices(3), constraints: { equalHeadsPerDevice: false, kv: 'replicate' },
    budgets: [budgets[0]], placement: [Array.from({ length: 16 }, (_, h) => h % 3)], solver: { name: 'rr', status: 'feasible', gap: 0, seconds: 0 },
  } as unknown as Plan;
  const plan = { ...base, predicted: summarizeLoads('token-pairs', recomputeLoads(base), [0]) };
  await expectFail(['export', writePlan('tp3.json', plan), '--engine', 'trtllm', '--out', join(root, 'x.json')], /TP size that divides the 16 query heads/);
});

test('export: split heads give a tier-3 layout with virtual heads, which hplb apply refuses', async () => {
  const m: ModelShape = { name: 'tiny-split', layers: 1, queryHeads: 8, kvHeads: 2, headDim: 4 };
  const base = {
    format: 'hplb.plan/1', model: m, contextLength: 64, devices: makeDevices(2), constraints: { equalHeadsPerDevice: false, kv: 'replicate' },
    budgets: [[64, 8, 8, 8, 8, 8, 8, 8]], placement: [[0, 0, 0, 0, 1, 1, 1, 1]],
    splits: [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 40 }, { device: 1, rowStart: 40, rowEnd: 64 }] }],
    solver: { name: 'hand', status: 'feasible', gap: 0, seconds: 0 },
  } as unknown as Plan;
  const plan = { ...base, predicted: summarizeLoads('token-pairs', recomputeLoads(base), [0]) };
  const out = join(root, 'tier3.json');
  const c = capture();
  assert.equal(await main(['export', writePlan('split.json', plan), '--engine', 'vllm', '--out', out], c.io), 0, c.err);
  assert.match(c.out, /tier 3/);
  const lay = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(lay.tier, 3);
  assert.equal(lay.geometry.queryHeads, 10, '9 virtual heads padded to 5 per rank');
  assert.match(lay.virtualHeads.requirement, /row-range-aware attention backend \(tier 3\), which no engine/);
  assert.ok(lay.layers[0].rowRange.some((r: unknown) => r !== null));
  await expectFail(['apply', out, '--checkpoint', root, '--out', join(root, 'never')], /tier-1 layout.*virtual heads/);
});

test('export flags: a missing or unknown --engine is a usage error', async () => {
  const planFile = writePlan('p.json', enginePlan(4, 1));
  await expectFail(['export', planFile, '--out', join(root, 'x.json')], /--engine: expected one of vllm\|sglang\|trtllm/);
  await expectFail(['export', planFile, '--engine', 'tgi', '--out', join(root, 'x.json')], /--engine: expected one of vllm\|sglang\|trtllm, got "tgi"/);
});

test('export on a plan whose engineLayout slots are missing, not a list or malformed: one line at the path, exit 1, never exit 70 (issue 21)', async () => {
  const base = enginePlan(4, 4) as unknown as { engineLayout: { layers: Array<{ ranks: Array<Record<string, unknown>> }> } };
  const cases: Array<[string, (r: Record<string, unknown>) => void, RegExp]> = [
    ['missing', (r) => { delete r['slots']; }, /at \$\.engineLayout\.layers\[0\]\.ranks\[0\]\.slots: expected a list of slots, got nothing/],
    ['number', (r) => { r['slots'] = 5; }, /at \$\.engineLayout\.layers\[0\]\.ranks\[0\]\.slots: expected a list of slots, got 5/],
    ['null slot', (r) => { r['slots'] = [null]; }, /slots\[0\]: expected a slot \{kvHead, queryHeads\}, got null/],
  ];
  for (const [name, mutate, want] of cases) {
    const plan = structuredClone(base);
    mutate(plan.engineLayout.layers[0]!.ranks[0]!);
    await expectFail(['export', writePlan(`slots-${name.replace(' ', '-')}.json`, plan as never), '--engine', 'vllm', '--out', join(root, `out-slots-${name.replace(' ', '-')}.json`)], want);
  }
});
