/**
 * `deviceLoadsOfLayer`, core's one per-device load function, on small cases computed by hand (whole heads, a split
 * head, KV replication copies, mixed speeds, a seconds cost model), and the callers that must be nothing but it:
 * the validator's `recomputeLoads` and the simulator's `layerLoads` / `deviceLoads` give its numbers bit for bit.
 * (The solvers' incremental `LoadState` is checked against it in solvers/test/loads-agree.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deviceLoadsOfLayer, type LayerLoadsInput } from '../src/loads.ts';
import { kvExtraCopiesOfLayer, kvSummary } from '../src/kv.ts';
import { BUDGET_COST_MODEL, DEFAULT_COST_MODELS, WORK_COST_MODEL, modelPrefixWork, partCost, withLinkBandwidth, type CostModel } from '../src/cost.ts';
import { deviceLoads, extraKvCopies, layerLoads, type Layout } from '../src/simulate.ts';
import { recomputeLoads } from '../src/validate.ts';
import { makeDevices, type ModelShape } from '../src/model.ts';
import type { Plan } from '../src/plan.ts';

const model = (queryHeads: number, kvHeads: number, headDim = 128): ModelShape => ({ name: 't', layers: 1, queryHeads, kvHeads, headDim });

/** Relative agreement for hand-written decimal literals (they are rounded once more than the computed value). */
const near = (got: ReadonlyArray<number>, want: ReadonlyArray<number>) => {
  assert.equal(got.length, want.length, `${got.length} devices, expected ${want.length}`);
  want.forEach((w, d) => assert.ok(Math.abs(got[d]! - w) <= 1e-12 * Math.abs(w), `device ${d}: ${got[d]} vs hand-computed ${w}`));
};

test('whole heads, token pairs: each device sums W(b,N) = N·b − b(b−1)/2 of its heads', () => {
  // N = 100: W(10) = 955, W(20) = 1810, W(30) = 2565, W(100) = 5050. One query head per KV head: no copies.
  const loads = deviceLoadsOfLayer({ model: model(4, 4), contextLength: 100, budgets: [10, 20, 30, 100], speeds: [1, 1], placement: [0, 1, 0, 1] });
  assert.deepEqual(loads, [955 + 2565, 1810 + 5050]);
});

test('a split head: each part adds the work of its rows; the receiving device is charged one KV copy', () => {
  // N = 100, one KV group of 2 query heads. Head 1 (b = 50) is split at row 60: rows [0,60) do
  // Σ_{i≤60} min(i,50) = 1275 + 10·50 = 1775 pairs on device 0, rows [60,100) do 40·50 = 2000 pairs on device 1.
  // Device 1 does not hold the group's home (device of head 0), so it receives one extra KV copy.
  const input: LayerLoadsInput = {
    model: model(2, 1),
    contextLength: 100,
    budgets: [10, 50],
    speeds: [1, 1],
    placement: [0, 0],
    splits: [{ layer: 0, head: 1, parts: [{ device: 0, rowStart: 0, rowEnd: 60 }, { device: 1, rowStart: 60, rowEnd: 100 }] }],
  };
  assert.deepEqual(deviceLoadsOfLayer(input), [955 + 1775, 2000], 'work cost model: KV copies are free');
  const projecting: CostModel = { ...WORK_COST_MODEL, name: 'work+projection', kvProjectionPerToken: 3 };
  assert.deepEqual(deviceLoadsOfLayer({ ...input, costModel: projecting }), [955 + 1775, 2000 + 3 * 100], 'a copy re-projects K/V: 3 per context token');
  // The paper's budget model: a part of r rows costs r·b.
  assert.deepEqual(deviceLoadsOfLayer({ ...input, costModel: BUDGET_COST_MODEL }), [100 * 10 + 60 * 50, 40 * 50]);
  assert.deepEqual(deviceLoadsOfLayer({ ...input, extraKvCopies: [], costModel: projecting }), [955 + 1775, 2000], '[] leaves the KV terms out');
});

test('KV replication copies: a device hosting two foreign KV heads pays two copies', () => {
  // 4 query heads in 2 KV groups; placement [0, 1, 2, 1]: group 0's home is device 0 (head 0), its head 1 runs on
  // device 1; group 1's home is device 2 (head 2), its head 3 runs on device 1. Device 1 receives 2 copies.
  const m = model(4, 2);
  const placement = [0, 1, 2, 1];
  assert.deepEqual(kvExtraCopiesOfLayer(m, 3, placement, []), [0, 2, 0]);
  const cm: CostModel = { ...WORK_COST_MODEL, name: 'work+copy', kvCopySecondsPerByte: 0.001 };
  // One copy of one KV head at N = 100, 2 bytes per element: 2 · 128 · 2 · 100 = 51200 bytes → 51.2 per copy.
  const loads = deviceLoadsOfLayer({ model: m, contextLength: 100, budgets: [10, 20, 30, 100], speeds: [1, 1, 1], placement, costModel: cm });
  near(loads, [955, 1810 + 5050 + 2 * 51.2, 2565]);
});

test('mixed speeds and a seconds cost model: fixed + perTokenPair · W / speed per head, copies over the link', () => {
  // cuda-h100: fixed 5e-6 s, 1.3e-12 s per pair; NVLink-class link at 50 GB/s → 2e-11 s per byte.
  // N = 1000: W(100) = 95050, W(200) = 180100, W(1000) = 500500, W(50) = 48775; one KV head copy = 512000 bytes.
  const cm = withLinkBandwidth(DEFAULT_COST_MODELS['cuda-h100']!, 50e9);
  const loads = deviceLoadsOfLayer({
    model: model(4, 2), contextLength: 1000, budgets: [100, 200, 1000, 50], speeds: [1, 2, 0.5], placement: [0, 1, 2, 1], costModel: cm,
  });
  near(loads, [
    5e-6 + 1.23565e-7, //                                  head 0 at speed 1
    2 * 5e-6 + 1.17065e-7 + 3.170375e-8 + 2 * 1.024e-5, // heads 1 and 3 at speed 2, two KV copies of 512000 · 2e-11 s
    5e-6 + 1.3013e-6, //                                   head 2 at speed 0.5
  ]);
});

test('devices out of range and missing budgets add nothing', () => {
  const loads = deviceLoadsOfLayer({ model: model(3, 3), contextLength: 100, budgets: [10], speeds: [1, 1], placement: [0, 5, -1] });
  assert.deepEqual(loads, [955, 0]);
});

// ---------------------------------------------------------------- the callers are this function

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1e9);
console.log(`loads: fast-check seed ${seed} (FC_SEED to replay)`);

const arbLayout = fc
  .record({
    layers: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 3 }),
    gsize: fc.integer({ min: 1, max: 3 }),
    g: fc.integer({ min: 1, max: 4 }),
    n: fc.integer({ min: 128, max: 4096 }),
    cost: fc.constantFrom('work', 'budget', 'seconds'),
    speeds: fc.array(fc.constantFrom(0.5, 1, 1.5, 2), { minLength: 4, maxLength: 4 }),
    raw: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
    cut: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
  })
  .map(({ layers, groups, gsize, g, n, cost, speeds, raw, cut }) => {
    const H = groups * gsize;
    const m: ModelShape = { name: 't', layers, queryHeads: H, kvHeads: groups, headDim: 64 };
    const budgets = Array.from({ length: layers }, (_, l) => Array.from({ length: H }, (_, h) => 1 + Math.floor(raw[(l * H + h) % 32]! * (n - 1))));
    const placement = Array.from({ length: layers }, (_, l) => Array.from({ length: H }, (_, h) => Math.floor(raw[(l * 5 + h * 3 + 1) % 32]! * g) % g));
    const row = Math.floor(cut * n);
    const splits = g >= 2
      ? placement.map((p, l) => ({ layer: l, head: l % H, parts: [{ device: p[l % H]!, rowStart: 0, rowEnd: row }, { device: (p[l % H]! + 1) % g, rowStart: row, rowEnd: n }] }))
      : [];
    const costModel: CostModel = cost === 'work' ? WORK_COST_MODEL : cost === 'budget' ? BUDGET_COST_MODEL
      : { ...withLinkBandwidth(DEFAULT_COST_MODELS['cuda-h100']!, 50e9), kvProjectionPerToken: 1e-11 };
    const layout: Layout = { model: m, contextLength: n, devices: makeDevices(g, speeds.slice(0, g)), placement, splits, costModel, kvBytesPerElement: 2 };
    return { layout, budgets };
  });

test('recomputeLoads, deviceLoads and layerLoads are deviceLoadsOfLayer, bit for bit (fast-check)', () => {
  fc.assert(
    fc.property(arbLayout, ({ layout, budgets }) => {
      const { model: m, contextLength: n, devices, placement, splits } = layout;
      const want = placement.map((row, l) => deviceLoadsOfLayer({
        model: m, contextLength: n, budgets: budgets[l]!, speeds: devices.map((d) => d.speed), placement: row,
        splits: (splits ?? []).filter((s) => s.layer === l), costModel: layout.costModel!, kvBytesPerElement: 2,
      }));
      const plan = { ...layout, budgets } as unknown as Plan;
      assert.deepEqual(recomputeLoads(plan), want, 'validator');
      assert.deepEqual(deviceLoads(layout, budgets), want, 'simulator');
      const extra = extraKvCopies(layout);
      assert.deepEqual(extra, kvSummary(m, n, devices.length, placement, splits ?? [], 2).extra);
      placement.forEach((_, l) => assert.deepEqual(layerLoads(layout, l, budgets[l]!, extra[l]), want[l], `layerLoads, layer ${l}`));
    }),
    { seed, numRuns: 150 },
  );
});

test('a part\'s work term is the difference of modelPrefixWork at its rows (what the split solver inverts) (fast-check)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 17 }), fc.double({ min: 0, max: 1.2, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (n, bf, x, y) => {
      const b = Math.max(1, Math.round(bf * n));
      const [rs, re] = [Math.floor(Math.min(x, y) * n), Math.floor(Math.max(x, y) * n)];
      const bb = Math.min(b, n);
      for (const cm of [WORK_COST_MODEL, BUDGET_COST_MODEL]) {
        assert.equal(partCost(cm, b, n, rs, re), modelPrefixWork(cm, bb, re) - modelPrefixWork(cm, bb, rs), `${cm.name}: b ${b}, rows [${rs}, ${re}) of ${n}`);
      }
    }),
    { seed, numRuns: 300 },
  );
});
