/**
 * The identity behind tier 1 and tier 3: rewriting a layer's Q/K/V/O weights for an engine layout (permuted query
 * heads, duplicated KV heads, permuted o_proj columns) and running each TP rank's heads separately, summing the
 * ranks' o_proj outputs, reproduces the original layer. With split heads, the virtual heads' row ranges on different
 * ranks sum to the whole head. Tiny random layers on CPU (seeds printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, recomputeLoads, summarizeLoads, validatePlan, type ModelShape, type Plan } from '@hplb/core';
import type { EngineLayer } from '@hplb/core';
import { feasibleKvCopies, planEngineLayout } from '@hplb/solvers';
import { buildEngineLayout } from '../src/index.ts';
import { permuteColumnBlocks, permuteRowBlocks } from '../src/index.ts';
import { TOLERANCE, layerOutput, maxRelError, randomInput, randomWeights, rng, shardedOutput, type LayerWeights } from './reference.ts';

const f32 = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The rewrite `hplb apply` performs, on in-memory float32 weights. */
const rewrite = (w: LayerWeights, L: EngineLayer): LayerWeights => {
  const d = w.headDim;
  const rowBytes = d * w.hidden * 4;
  return {
    hidden: w.hidden,
    headDim: d,
    queryHeads: L.qSource.length,
    kvHeads: L.kvSource.length,
    wq: f32(permuteRowBlocks(bytes(w.wq), rowBytes, L.qSource)),
    wk: f32(permuteRowBlocks(bytes(w.wk), rowBytes, L.kvSource)),
    wv: f32(permuteRowBlocks(bytes(w.wv), rowBytes, L.kvSource)),
    wo: f32(permuteColumnBlocks(bytes(w.wo), w.hidden, w.queryHeads * d, 4, d, L.qSource)),
    ...(w.bq ? { bq: f32(permuteRowBlocks(bytes(w.bq), d * 4, L.qSource)) } : {}),
    ...(w.bk ? { bk: f32(permuteRowBlocks(bytes(w.bk), d * 4, L.kvSource)) } : {}),
    ...(w.bv ? { bv: f32(permuteRowBlocks(bytes(w.bv), d * 4, L.kvSource)) } : {}),
  };
};

const tiny: ModelShape = { name: 'tiny-gqa', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 4 };
const N = 7;
const HIDDEN = 12;

const randomBudgets = (seed: number, m: ModelShape, n: number) => {
  const r = rng(seed);
  return Array.from({ length: m.layers }, () => Array.from({ length: m.queryHeads }, () => 1 + Math.floor(r() * n)));
};

let permuted = 0;
for (const tp of [1, 2, 4, 8]) {
  test(`engine layout identity: TP ${tp}, every feasible K/V duplication factor, with and without q/k/v biases`, () => {
    for (const r of feasibleKvCopies(tiny, tp)) {
      for (const biases of [false, true]) {
        const seed = 1000 * tp + 10 * r + (biases ? 1 : 0);
        const res = planEngineLayout({
          model: tiny,
          devices: makeDevices(tp),
          lengths: [{ contextLength: N, weight: 1, budgets: randomBudgets(seed, tiny, N) }],
          costModel: WORK_COST_MODEL,
          kvCopies: r,
          timeLimitMs: 200,
          projection: { perTokenPerSlot: 0, source: 'test' },
        });
        assert.ok(E.isRight(res), `seed ${seed}: ${JSON.stringify(E.isLeft(res) ? res.left : '')}`);
        const layout = buildEngineLayout(res.right.plan, { engine: 'vllm' });
        assert.ok(E.isRight(layout), `seed ${seed}: ${JSON.stringify(E.isLeft(layout) ? layout.left : '')}`);
        assert.equal(layout.right.geometry.kvSlots, tiny.kvHeads * r);
        if (layout.right.layers.some((L) => L.qSource.some((q, p) => q !== p))) permuted++;
        for (let l = 0; l < tiny.layers; l++) {
          const w = randomWeights(seed + l, HIDDEN, tiny.queryHeads, tiny.kvHeads, tiny.headDim, biases);
          const x = randomInput(seed + 7, N, HIDDEN);
          const want = layerOutput(x, N, w);
          const got = shardedOutput(x, N, rewrite(w, layout.right.layers[l]!), tp);
          const { err, at } = maxRelError(got, want);
          assert.ok(err <= TOLERANCE.f32WeightsF64Math, `seed ${seed} TP ${tp} r ${r} layer ${l}: error ${err} at ${at}: got ${got[at]} want ${want[at]}`);
        }
      }
    }
  });
}

test('the identity cases above include real permutations (not only the identity layout)', () => {
  assert.ok(permuted >= 4, `${permuted} of the layouts permute heads`);
});

test('engine layout identity fails when a query head loses its KV slot (the check can fail)', () => {
  const seed = 77;
  const res = planEngineLayout({
    model: tiny,
    devices: makeDevices(4),
    lengths: [{ contextLength: N, weight: 1, budgets: randomBudgets(seed, tiny, N) }],
    costModel: WORK_COST_MODEL,
    kvCopies: 2,
    timeLimitMs: 200,
    projection: { perTokenPerSlot: 0, source: 'test' },
  });
  assert.ok(E.isRight(res));
  const layout = buildEngineLayout(res.right.plan, { engine: 'vllm' });
  assert.ok(E.isRight(layout));
  const L = layout.right.layers[0]!;
  const broken = { ...L, kvSource: L.kvSource.map((k) => (k === 0 ? 1 : 0)) } as EngineLayer;
  const w = randomWeights(seed, HIDDEN, tiny.queryHeads, tiny.kvHeads, tiny.headDim, false);
  const x = randomInput(seed, N, HIDDEN);
  const { err } = maxRelError(shardedOutput(x, N, rewrite(w, broken), 4), layerOutput(x, N, w));
  assert.ok(err > 1e-3, `seed ${seed}: swapped KV slots must change the output (error ${err})`);
});

/** A plan with split heads: parts of a head on different ranks, each computing only its query rows. */
const splitPlan = (): Plan => {
  const m: ModelShape = { name: 'tiny-split', layers: 1, queryHeads: 8, kvHeads: 2, headDim: 4 };
  const base = {
    format: 'hplb.plan/1',
    model: m,
    contextLength: N,
    devices: makeDevices(4),
    constraints: { equalHeadsPerDevice: false, kv: 'replicate' },
    budgets: [[7, 7, 3, 2, 5, 1, 4, 6]],
    placement: [[0, 0, 1, 1, 2, 2, 3, 3]],
    splits: [
      { layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 4 }, { device: 1, rowStart: 4, rowEnd: 7 }] },
      { layer: 0, head: 4, parts: [{ device: 2, rowStart: 0, rowEnd: 2 }, { device: 3, rowStart: 2, rowEnd: 5 }, { device: 0, rowStart: 5, rowEnd: 7 }] },
    ],
    solver: { name: 'handmade', status: 'feasible', gap: 0, seconds: 0 },
  } as unknown as Plan;
  const loads = recomputeLoads(base);
  const plan = { ...base, predicted: summarizeLoads('token-pairs', loads, [0]) } as Plan;
  const v = validatePlan(plan);
  assert.ok(E.isRight(v), JSON.stringify(E.isLeft(v) ? v.left : ''));
  return plan;
};

test('split heads: virtual heads with row ranges on different ranks sum to the original layer (tier 3)', () => {
  const plan = splitPlan();
  const layout = buildEngineLayout(plan, { engine: 'vllm' });
  assert.ok(E.isRight(layout), JSON.stringify(E.isLeft(layout) ? layout.left : ''));
  const lay = layout.right;
  assert.equal(lay.tier, 3);
  assert.ok(lay.virtualHeads && /row-range-aware attention backend/.test(lay.virtualHeads.requirement));
  assert.ok(lay.geometry.queryHeads > plan.model.queryHeads);
  for (const seed of [5, 6, 7]) {
    const w = randomWeights(seed, HIDDEN, 8, 2, 4, seed === 6);
    const x = randomInput(seed + 100, N, HIDDEN);
    const L = lay.layers[0]!;
    const want = layerOutput(x, N, w);
    const got = shardedOutput(x, N, rewrite(w, L), lay.tpSize, L.rowRange);
    const { err, at } = maxRelError(got, want);
    assert.ok(err <= TOLERANCE.f32WeightsF64Math, `seed ${seed}: error ${err} at ${at}`);
    // Without row ranges (a stock engine) the split heads are double-counted: the output is wrong.
    const stock = maxRelError(shardedOutput(x, N, rewrite(w, L), lay.tpSize), want);
    assert.ok(stock.err > 1e-3, `seed ${seed}: a stock engine must not reproduce the layer with virtual heads (error ${stock.err})`);
  }
});

test('plans without engine slots (free equal-heads placement) export to a layout that passes the same identity', async () => {
  const { planFreeLengths } = await import('@hplb/solvers');
  for (const [tp, kv] of [[2, 'replicate'], [4, 'replicate'], [2, 'group']] as const) {
    const seed = 300 + tp + (kv === 'group' ? 1 : 0);
    const res = planFreeLengths({
      model: tiny,
      devices: makeDevices(tp),
      lengths: [{ contextLength: N, weight: 1, budgets: randomBudgets(seed, tiny, N) }],
      costModel: WORK_COST_MODEL,
      timeLimitMs: 100,
      equalHeadsPerDevice: true,
      kv,
    });
    assert.ok(E.isRight(res));
    const layout = buildEngineLayout(res.right.plan, { engine: 'trtllm' });
    assert.ok(E.isRight(layout), `seed ${seed}: ${JSON.stringify(E.isLeft(layout) ? layout.left : '')}`);
    assert.equal(layout.right.tier, 1);
    for (let l = 0; l < tiny.layers; l++) {
      const w = randomWeights(seed + l, HIDDEN, tiny.queryHeads, tiny.kvHeads, tiny.headDim, true);
      const x = randomInput(seed, N, HIDDEN);
      const { err, at } = maxRelError(shardedOutput(x, N, rewrite(w, layout.right.layers[l]!), tp), layerOutput(x, N, w));
      assert.ok(err <= TOLERANCE.f32WeightsF64Math, `seed ${seed} TP ${tp} ${kv} layer ${l}: error ${err} at ${at}`);
    }
  }
});
