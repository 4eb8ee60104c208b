/** The executor: split-head parts equal the unsplit head, per-layer results with their spread, the scaling rule, the layer sample. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { type CostModel, type Plan } from '@hplb/core';
import { handPlan } from '@hplb/spec';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout } from '@hplb/core/kernel';
import { createBackend } from '@hplb/backend-cpu';
import { calibrate, executePlan, scaleBudget, scalePlan, sampleLayers } from '@hplb/runtime';
import { headInputs } from '@hplb/runtime';

const N = 512;
const tinyPlan = (): Plan => handPlan({
  model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 32 }, contextLength: N, devices: 2,
  budgets: [[128, 256, 512, 64], [64, 64, 128, 256]], placement: [[0, 0, 1, 1], [1, 0, 0, 1]],
  splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 300 }, { device: 0, rowStart: 300, rowEnd: N }] }],
});
const costModel: CostModel = { name: 'test', unit: 'seconds', workModel: 'pairs', fixed: 1e-4, perTokenPair: 2e-9 };

test('a split head\'s parts, put together, equal the unsplit head\'s output', async () => {
  const r = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, clock: 'wall', keepOutputs: true });
  assert.ok(E.isRight(r), E.isLeft(r) ? JSON.stringify(r.left) : '');
  const parts = r.right.outputs!.filter((o) => o.layer === 0 && o.head === 2).sort((a, b) => a.start - b.start);
  assert.deepEqual(parts.map((p) => [p.device, p.start, p.end]), [[1, 0, 300], [0, 300, N]]);
  const d = 32;
  const joined = new Float32Array(N * d);
  const lse = new Float32Array(N);
  for (const p of parts) { joined.set(p.out, p.start * d); lse.set(p.lse, p.start); }
  const params = makeAttentionParams({ tokens: N, headDim: d, blockSize: 64 });
  assert.ok(E.isRight(params));
  const layout = budgetLayout(params.right, 512);
  assert.ok(E.isRight(layout));
  const x = headInputs(1, 0, 2, 1, N, d);
  const cpu = createBackend();
  const whole = await cpu.sparseAttention(x.q, x.k, x.v, layout.right, params.right);
  assert.ok(E.isRight(whole));
  assert.deepEqual(joined, whole.right.out);
  assert.deepEqual(lse, whole.right.lse);
  // per-layer results: every device did work, predictions from the cost model, bubble fractions in [0, 1)
  assert.equal(r.right.layers.length, 2);
  for (const l of r.right.layers) {
    assert.ok(l.measuredDeviceBusy.every((b) => b > 0));
    assert.equal(l.measured, Math.max(...l.measuredDeviceBusy));
    assert.ok(l.predicted > 0);
  }
  assert.ok(r.right.measuredBubbleFraction >= 0 && r.right.measuredBubbleFraction < 1);
  // devices running at once (concurrency 2) and several passes compute the same outputs
  const r2 = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, clock: 'wall', keepOutputs: true, concurrency: 2, repeats: 2 });
  assert.ok(E.isRight(r2));
  const key = (o: { layer: number; head: number; start: number }) => `${o.layer}/${o.head}/${o.start}`;
  const byKey = new Map(r.right.outputs!.map((o) => [key(o), o.out] as const));
  assert.equal(r2.right.outputs!.length, r.right.outputs!.length);
  for (const o of r2.right.outputs!) assert.deepEqual(o.out, byKey.get(key(o)));
});

test('scaling rule: budgets b·N\'/N realised in whole blocks, split rows scaled, empty parts dropped', () => {
  assert.equal(scaleBudget(6554, 131072, 1024, 64), 32); // b' = 51.2 → 1 block → 32 keys per late row
  assert.equal(scaleBudget(40000, 131072, 2048, 64), 608); // b' = 625 → 10 blocks → 9.5·64
  assert.equal(scaleBudget(131072, 131072, 1024, 64), 992); // everything: 16 blocks
  const s = scalePlan(tinyPlan(), 128, 1, 64);
  assert.equal(s.model.layers, 1);
  assert.deepEqual(s.budgets, [[32, 96, 96, 32]]);
  assert.deepEqual(s.splits![0]!.parts.map((p) => [p.rowStart, p.rowEnd]), [[0, 75], [75, 128]]);
});


test('per-layer results carry the error with its spread; the summary states the noise level; the layer sample is reported', async () => {
  const r = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, repeats: 3, timing: { maxRemeasures: 1 } });
  assert.ok(E.isRight(r), E.isLeft(r) ? JSON.stringify(r.left) : '');
  assert.deepEqual(r.right.sampledLayers, [0, 1]);
  for (const l of r.right.layers) {
    assert.ok(l.measuredRange[0] <= l.measured + 1e-15 && l.measured <= l.measuredRange[1] + 1e-15, JSON.stringify(l));
    assert.ok(Math.abs(l.error - (l.measured / l.predicted - 1)) < 1e-12);
    assert.ok(l.errorRange[0] <= l.errorRange[1] && l.spread >= 0 && l.warmupSeconds > 0);
    if (l.spread > r.right.timing.protocol.maxSpread) assert.ok(l.noisy, 'a layer spreading over maxSpread is noisy');
    assert.ok(Number.isInteger(l.noisyTasks) && l.noisyTasks >= 0);
    assert.equal(l.speed, undefined, 'a bare cost model has no reference to compare with');
  }
  const m = r.right.makespanError;
  assert.equal(m.noisyLayers, r.right.layers.filter((l) => l.noisy).length);
  if (m.noisyLayers > r.right.layers.length / 4) assert.ok(m.noisy);
  assert.match(m.note, m.noisy ? /^NOISY: / : /^quiet: /);
  assert.equal(r.right.timing.protocol.repeats, 3);
  assert.equal(r.right.timing.points, 9); // layer 0: 4 heads, head 2 split in two parts (5 tasks); layer 1: 4 heads
  assert.ok(r.right.timing.reference !== undefined && r.right.timing.reference.probes > 0);
  const sampled = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, repeats: 1, sampleLayers: 1, timing: { maxRemeasures: 0 } });
  assert.ok(E.isRight(sampled));
  assert.deepEqual(sampled.right.layers.map((l) => l.layer), [0]);
  const bad = await executePlan(tinyPlan(), { backend: 'tpu', costModel });
  assert.ok(E.isLeft(bad) && bad.left.issues[0]!.path === '$.backend');
});

test('with a calibration timed at the run\'s N, every layer reports the machine\'s speed against calibration and its error at that speed', async () => {
  const cal = await calibrate('cpu', { contexts: [N, 2 * N], fractions: [0.25, 1], headDim: 32, blockSize: 64, repeats: 1, force: true, timing: { maxRemeasures: 0 } });
  assert.ok(E.isRight(cal), E.isLeft(cal) ? JSON.stringify(cal.left) : '');
  const reference = cal.right.calibration.reference;
  assert.ok(reference !== undefined && reference.contextLength === N && reference.keyBlocks === 2 && reference.clock === 'cpu' && reference.seconds > 0);
  const r = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, calibration: cal.right.calibration, repeats: 1, timing: { maxRemeasures: 0 } });
  assert.ok(E.isRight(r), E.isLeft(r) ? JSON.stringify(r.left) : '');
  for (const l of r.right.layers) {
    assert.ok(l.speed !== undefined && l.speed > 0 && l.atCalibrationSpeed !== undefined, JSON.stringify(l));
    assert.ok(Math.abs(l.atCalibrationSpeed.measured - l.measured / l.speed) < 1e-15);
    assert.ok(Math.abs(l.atCalibrationSpeed.error - (l.measured / l.speed / l.predicted - 1)) < 1e-12);
  }
  const m = r.right.makespanError;
  assert.ok(m.speed !== undefined && m.atCalibrationSpeed !== undefined);
  assert.equal(m.speed.drift, Math.abs(m.speed.median - 1) > r.right.timing.protocol.maxSpread);
  // A run at another N than the calibration's reference has nothing comparable: no speed.
  const other = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N / 2, calibration: cal.right.calibration, repeats: 1, timing: { maxRemeasures: 0 } });
  assert.ok(E.isRight(other));
  assert.ok(other.right.layers.every((l) => l.speed === undefined) && other.right.makespanError.speed === undefined);
});
