/**
 * The serving phases (runtime serving.ts): which projections and decode reads each device runs (core's KV residency
 * and decoder rules), the prediction's arithmetic against a hand computation, a tiny plan's prefill and decode
 * phases reporting finite predicted and measured figures, the serving calibration's coefficients, and bad options.
 * Small sizes throughout; no timing assertion beyond sanity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { recomputeLoads, type CostModel, type Plan } from '@hplb/core';
import { handPlan } from '@hplb/spec';
import {
  calibrateServing, decodeTasks, executePlan, projectionTasks, scaledHiddenSize, scalePlan, servingPredictions, type ServingCoefficients,
} from '@hplb/runtime';

const N = 256;
const tinyPlanSpec = () => ({
  model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 32 }, contextLength: N, devices: 2,
  budgets: [[64, 128, 256, 32], [32, 32, 64, 128]], placement: [[0, 0, 1, 1], [1, 0, 0, 1]],
  splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 150 }, { device: 0, rowStart: 150, rowEnd: N }] }],
});
const tinyPlan = (): Plan => handPlan(tinyPlanSpec());
const costModel: CostModel = { name: 'test', unit: 'seconds', workModel: 'pairs', fixed: 1e-5, perTokenPair: 2e-9, perQueryRow: 1e-7 };
const coefficients: ServingCoefficients = {
  projection: { fixedSeconds: 2e-5, secondsPerFlop: 3e-10, secondsPerRow: 1e-7 },
  decode: { fixedSeconds: 5e-6, secondsPerByte: 1e-9, kvReadSeconds: 2e-5, secondsPerWeightByte: 4e-10 },
};

test('the work of a layer: Q/O per head or part, K/V per KV head held (home, then copies), decode where a head\'s last row is, also at N\'', () => {
  const plan = tinyPlan();
  const p0 = projectionTasks(plan, 0);
  const key = (ts: ReturnType<typeof projectionTasks>[number]) => ts.map((t) => `${t.what}${t.head}[${t.start},${t.end})`);
  // Layer 0: heads 0, 1 on device 0; head 2 split (rows [0,150) on 1, [150,256) on 0); head 3 on 1. KV head 0 lives
  // on device 0; KV head 1's home is device 1 (head 2's first part) with a copy on device 0 (head 2's second part).
  assert.deepEqual(key(p0[0]!), ['qo0[0,256)', 'qo1[0,256)', 'qo2[150,256)', 'kv0[0,256)', 'kv1[0,256)']);
  assert.deepEqual(key(p0[1]!), ['qo2[0,150)', 'qo3[0,256)', 'kv1[0,256)']);
  const d0 = decodeTasks(plan, 0, false);
  assert.deepEqual(d0.map((t) => t?.heads), [[0, 1, 2], [3]], 'head 2 decodes on the part holding its last row');
  assert.deepEqual(d0.map((t) => t?.groups.map((g) => [g.kvHead, g.budget])), [[[0, null], [1, null]], [[1, null]]]);
  // Sparse decode: a group reads the largest budget of its decoded heads.
  assert.deepEqual(decodeTasks(plan, 1, true).map((t) => t?.groups.map((g) => [g.kvHead, g.head, g.budget])), [[[0, 1, 32], [1, 2, 64]], [[0, 0, 32], [1, 3, 128]]]);
  // Scaled to N' = 64, head 2's parts split at row 37; a sliver of a last part keeps one row with keepParts.
  const sliver = handPlan({ ...tinyPlanSpec(), splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 254 }, { device: 0, rowStart: 254, rowEnd: N }] }] });
  assert.deepEqual(scalePlan(sliver, 64, 1, 16).splits!.map((s) => s.parts.map((p) => [p.device, p.rowStart, p.rowEnd])), [[[1, 0, 64]]]);
  assert.deepEqual(scalePlan(sliver, 64, 1, 16, true).splits!.map((s) => s.parts.map((p) => [p.device, p.rowStart, p.rowEnd])), [[[1, 0, 63], [0, 63, 64]]]);
  assert.deepEqual(decodeTasks(scalePlan(sliver, 64, 1, 16, true), 0, false).map((t) => t?.heads), [[0, 1, 2], [3]], 'head 2 still decodes on device 0');
  assert.equal(scaledHiddenSize(4096, 131072, 1024), 32);
  assert.equal(scaledHiddenSize(4096, 131072, 8), 1);
});

test('the prediction: attention + projections per row and per KV head held + fixed terms; decode by bytes read', () => {
  const plan = tinyPlan();
  const H = 16, d = 32;
  const pr = servingPredictions(plan, coefficients, H, costModel, false);
  assert.ok(E.isRight(pr), JSON.stringify(pr));
  const attention = recomputeLoads({ ...plan, costModel: costModel as Plan['costModel'], predicted: { ...plan.predicted, unit: 'seconds' } });
  const perRow = coefficients.projection.secondsPerFlop * 4 * H * d + coefficients.projection.secondsPerRow!;
  // Device 0 of layer 0: rows 256 + 256 + 106 of Q/O and 2 KV heads of 256 tokens, 5 products.
  const want0 = attention[0]![0]! + perRow * (256 + 256 + 106 + 2 * 256) + 5 * coefficients.projection.fixedSeconds;
  assert.ok(Math.abs(pr.right.prefill[0]![0]! - want0) < 1e-12 * want0, `${pr.right.prefill[0]![0]} vs ${want0}`);
  // Device 1 of layer 0 decodes head 3 of KV head 1: 2 weight reads of [H × 2d] fp32 and N keys of K and V, 3 reads
  // of which 1 KV read.
  const w = 2 * 2 * H * d * 4, kv = N * 2 * d * 4;
  const want1 = 3 * coefficients.decode.fixedSeconds + coefficients.decode.kvReadSeconds! + coefficients.decode.secondsPerWeightByte! * w + coefficients.decode.secondsPerByte * kv;
  assert.ok(Math.abs(pr.right.decode[0]![1]! - want1) < 1e-12 * want1, `${pr.right.decode[0]![1]} vs ${want1}`);
  const bad = servingPredictions(plan, { ...coefficients, projection: { fixedSeconds: 0, secondsPerFlop: 0 } }, H, costModel, false);
  assert.ok(E.isLeft(bad) && bad.left.issues[0]!.path === 'options.serving');
});

test('prefill and decode phases run on a tiny plan: finite predicted and measured per phase and layer', async () => {
  const r = await executePlan(tinyPlan(), {
    backend: 'cpu', contextLength: N, costModel, serving: coefficients, hiddenSize: 16, phases: ['decode', 'prefill'], repeats: 2, timing: { maxRemeasures: 0 },
  });
  assert.ok(E.isRight(r), E.isLeft(r) ? JSON.stringify(r.left) : '');
  const x = r.right;
  assert.deepEqual(Object.keys(x.phases ?? {}), ['prefill', 'decode'], 'phases run in the order attention, prefill, decode');
  assert.equal(x.hiddenSize, 16);
  assert.equal(x.layers, x.phases!.prefill!.layers, 'the top-level figures are the first phase\'s');
  for (const p of [x.phases!.prefill!, x.phases!.decode!]) {
    assert.equal(p.layers.length, 2);
    for (const l of p.layers) {
      assert.ok(Number.isFinite(l.predicted) && l.predicted > 0 && Number.isFinite(l.measured) && l.measured > 0, JSON.stringify(l));
      assert.equal(l.measuredDeviceBusy.length, 2);
    }
    assert.ok(Number.isFinite(p.makespanError.median) && typeof p.makespanError.noisy === 'boolean' && p.makespanError.note.length > 0);
  }
  // Prefill holds the attention the plan predicts and more.
  const attention = recomputeLoads({ ...tinyPlan(), costModel: costModel as Plan['costModel'], predicted: { ...tinyPlan().predicted, unit: 'seconds' } });
  for (const l of x.phases!.prefill!.layers) assert.ok(l.predicted > Math.max(...attention[l.layer]!));
  // The default (attention alone) has no phases.
  const a = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, layers: 1, repeats: 1, timing: { maxRemeasures: 0 } });
  assert.ok(E.isRight(a) && a.right.phases === undefined && a.right.hiddenSize === undefined);
});

test('serving calibration: positive coefficients; bad options and a model of unknown size are named', async () => {
  const s = await calibrateServing('cpu', { contextLength: N, headDim: 32, hiddenSizes: [8, 16], repeats: 2, timing: { maxRemeasures: 0 }, force: true });
  assert.ok(E.isRight(s), JSON.stringify(s));
  assert.ok(s.right.projection.secondsPerFlop > 0 && s.right.decode.secondsPerByte > 0, JSON.stringify({ p: s.right.projection, d: s.right.decode }));
  assert.ok(s.right.projection.fixedSeconds >= 0 && s.right.decode.fixedSeconds >= 0 && s.right.samples.every((x) => x.seconds > 0));
  assert.equal(s.right.samples.length, 2 * (4 + 6), 'per hidden size: 4 row counts and 3 decode shapes × 2 key lengths');
  const bad = await calibrateServing('cpu', { contextLength: N, headDim: 32, hiddenSizes: [0], force: true });
  assert.ok(E.isLeft(bad) && bad.left.issues[0]!.path === 'options.serving.hiddenSizes');
  const phases = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, phases: ['attention', 'attention'] });
  assert.ok(E.isLeft(phases) && phases.left.issues[0]!.path === 'options.phases');
  const hidden = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, serving: coefficients, phases: ['prefill'] });
  assert.ok(E.isLeft(hidden) && hidden.left.issues[0]!.path === 'options.hiddenSize', 'the tiny model is not in the registry');
});
