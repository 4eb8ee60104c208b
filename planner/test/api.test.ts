/**
 * The planner's library API on a small curve profile (fast, deterministic effort): options → the one settings record
 * (placementSettings / planSettings) with option-path errors, planProfile = the chosen row of comparePipelines byte
 * for byte, the comparison rows (reference pipelines, chosen row appended or found), the Pareto sweep's skyline marks,
 * and inspectProfile's statistics against a direct computation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, validatePlan, type CurveProfile, type Profile } from '@hplb/core';
import {
  asLoadedProfile, comparePipelines, decodePlanOptions, inspectProfile, layerStats, paretoSweep, placementSettings, planProfile, planSettings,
} from '@hplb/planner';

/** A 4-layer, 8-head curve profile: head h of layer l needs more tokens as h grows (curves through (b, r) points). */
const tiny = (): CurveProfile => {
  const n = 4096;
  const curves = Array.from({ length: 4 }, (_, l) => Array.from({ length: 8 }, (_, h) => {
    const k = 64 * (1 + ((l * 3 + h * 5) % 11));
    return { tokens: [k, 4 * k, n], mass: [0.5, 0.9, 1] };
  }));
  return { format: 'hplb.profile/1', kind: 'curve', model: { name: 'tiny', layers: 4, queryHeads: 8, kvHeads: 2, headDim: 64 }, contextLength: n, curves } as unknown as CurveProfile;
};
const fast = { gpus: 3, effort: 20_000, timeLimitMs: 200 } as const;
const leftOf = <A>(r: E.Either<{ issues: ReadonlyArray<{ path: string; expected: string }> }, A>) => (E.isLeft(r) ? r.left.issues[0]! : undefined);

test('placementSettings: devices, constraints and cost model from options; infeasible options name their path', () => {
  const m = tiny().model;
  const s = placementSettings(m, 4096, { gpus: 4, speeds: [1, 1, 2, 2], memoryGb: 1, constraints: { kv: 'group' }, costModel: 'budget', splitHeads: { maxSplits: 2 } });
  assert.ok(E.isRight(s), E.isLeft(s) ? formatError(s.left) : '');
  assert.deepEqual(s.right.devices.map((d) => d.speed), [1, 1, 2, 2]);
  assert.equal(s.right.devices[0]!.memoryBytes, 1e9);
  assert.deepEqual(s.right.constraints, { equalHeadsPerDevice: false, kv: 'group' });
  assert.equal(s.right.costModel.workModel, 'budget');
  assert.deepEqual(s.right.splitHeads, { maxSplits: 2 });
  const devices = [{ id: 'a', speed: 1, memoryBytes: null }, { id: 'b', speed: 2, memoryBytes: 5e9 }];
  const given = placementSettings(m, 4096, { gpus: devices });
  assert.deepEqual(E.isRight(given) ? given.right.devices : undefined, devices);
  assert.equal(leftOf(placementSettings(m, 4096, { gpus: [] }))?.path, '$.gpus');
  assert.equal(leftOf(placementSettings(m, 4096, { gpus: 0 }))?.path, '$.gpus');
  assert.equal(leftOf(placementSettings(m, 4096, { gpus: 3, speeds: [1] }))?.path, '$.speeds');
  const eq = leftOf(placementSettings(m, 4096, { gpus: 3, constraints: { equalHeadsPerDevice: true } }));
  assert.equal(eq?.path, '$.constraints.equalHeadsPerDevice');
  assert.match(eq!.expected, /nearest feasible: \$\.gpus = 2 or 4/);
  assert.equal(leftOf(placementSettings(m, 4096, { costModel: 'nope' }))?.path, '$.costModel');
  assert.equal(leftOf(placementSettings(m, 4096, { blockSize: 8192 }))?.path, '$.blockSize');
  assert.equal(leftOf(placementSettings(m, 4096, { kvReplicationCapBytes: 1, constraints: { kv: 'group' } }))?.path, '$.kvReplicationCapBytes');
});

test('decodePlanOptions: any caller; wrong types and several budget totals name the option path', () => {
  assert.ok(E.isRight(decodePlanOptions(undefined)));
  assert.equal(leftOf(decodePlanOptions({ gpus: 'eight' }))?.path, '$.gpus');
  assert.equal(leftOf(decodePlanOptions({ density: 2 }))?.path, '$.density');
  assert.equal(leftOf(decodePlanOptions({ policy: 'best' }))?.path, '$.policy');
  assert.equal(leftOf(decodePlanOptions({ constraints: { kv: 'all' } }))?.path, '$.constraints.kv');
  assert.equal(leftOf(decodePlanOptions({ density: 0.1, totalTokens: 100 }))?.path, '$.totalTokens');
  assert.equal(leftOf(decodePlanOptions(7))?.path, '$');
});

test('planProfile is the chosen row of comparePipelines, byte for byte, and its plan validates', async () => {
  const p = tiny();
  const one = await planProfile(p, fast);
  assert.ok(E.isRight(one), E.isLeft(one) ? formatError(one.left) : '');
  const cmp = await comparePipelines(p, fast);
  assert.ok(E.isRight(cmp), E.isLeft(cmp) ? formatError(cmp.left) : '');
  const row = cmp.right.rows[cmp.right.chosen]!;
  assert.ok(row.ok && row.chosen);
  assert.equal(JSON.stringify(one.right.plan, null, 2), JSON.stringify(row.run.plan, null, 2));
  assert.ok(E.isRight(validatePlan(one.right.plan)));
  // Defaults: bubble-fill, auto with the effort, split heads (KV replicated, free head counts).
  assert.equal(one.right.pipeline.policy, 'bubble-fill');
  assert.equal(one.right.pipeline.solver, 'auto');
  assert.equal(one.right.pipeline.splitHeads, true);
  assert.equal(one.right.plan.devices.length, 3);
  // Per-layer report agrees with the plan.
  assert.equal(one.right.layers.length, 4);
  one.right.layers.forEach((l, i) => {
    assert.equal(l.makespan, one.right.plan.predicted.layerMakespan[i]);
    assert.ok(l.lowerBound <= l.makespan * (1 + 1e-9));
    assert.equal(l.budgetMax, Math.max(...one.right.plan.budgets[i]!));
  });
});

test('comparePipelines: the reference rows in order; a chosen row not among them is appended', async () => {
  const p = tiny();
  const cmp = await comparePipelines(p, fast);
  assert.ok(E.isRight(cmp));
  assert.deepEqual(cmp.right.rows.map((r) => r.name), ['contiguous + uniform', 'contiguous + max-min', 'LPT + max-min (paper)', 'hplb (split heads + max-min + bubble-fill)']);
  assert.equal(cmp.right.chosen, 3);
  const lpt = await comparePipelines(p, { ...fast, solver: 'lpt', policy: 'max-min' });
  assert.ok(E.isRight(lpt));
  assert.equal(lpt.right.chosen, 2, 'LPT + max-min whole heads is the paper row');
  const kk = await comparePipelines(p, { ...fast, solver: 'kk', policy: 'uniform', density: 0.1 });
  assert.ok(E.isRight(kk));
  assert.equal(kk.right.rows.length, 5);
  assert.equal(kk.right.rows[4]!.name, 'chosen: kk + uniform');
  // Grouped KV: hplb's row keeps whole heads and says so.
  const grouped = await comparePipelines(p, { ...fast, constraints: { kv: 'group' } });
  assert.ok(E.isRight(grouped));
  assert.equal(grouped.right.rows[3]!.name, 'hplb (whole heads + max-min + bubble-fill)');
});

test('paretoSweep: one point per density (per p for top-p); skyline marks are the non-dominated points', async () => {
  const r = await paretoSweep(tiny(), { ...fast, densities: [0.05, 0.2], ps: [0.9] });
  assert.ok(E.isRight(r), E.isLeft(r) ? formatError(r.left) : '');
  assert.deepEqual(r.right.series.map((s) => s.points.length), [2, 1, 2, 2]);
  const pts = r.right.points;
  for (const [i, p] of pts.entries()) {
    const dominated = pts.some((q, j) => j !== i && q.latency <= p.latency && q.min >= p.min && (q.latency < p.latency || q.min > p.min));
    if (p.skylineMin) assert.ok(!dominated, `${p.pipeline} at ${p.density} is on the min skyline but dominated`);
  }
  assert.ok(pts.some((p) => p.skylineMin) && pts.some((p) => p.skylineMean));
});

test('a profile without curves: curve policies fail naming what is missing; the profile policy runs', async () => {
  const req = { format: 'hplb.profile/1', kind: 'required', model: tiny().model, contextLength: 4096, budgets: Array.from({ length: 4 }, (_, l) => Array.from({ length: 8 }, (_, h) => 64 * (1 + ((l + h) % 7)))) } as unknown as Profile;
  const bad = await planProfile(req, { ...fast, policy: 'max-min' });
  assert.ok(E.isLeft(bad));
  assert.match(bad.left.issues[0]!.expected, /\$\.policy = max-min needs recovery curves/);
  const ok = await planProfile(req, { ...fast, policy: 'profile', solver: 'lpt' });
  assert.ok(E.isRight(ok), E.isLeft(ok) ? formatError(ok.left) : '');
  assert.deepEqual(ok.right.plan.budgets, (req as { budgets: number[][] }).budgets);
});

test('planSettings: provenance of the built-in default and of a labelled profile', () => {
  const s = planSettings(asLoadedProfile(tiny()), { gpus: 2 });
  assert.ok(E.isRight(s));
  assert.equal(s.right.source['profile'], 'a profile given by the caller');
  assert.ok(s.right.curves);
});

test('inspectProfile: per-layer statistics equal a direct computation on the budgets', () => {
  const req = { format: 'hplb.profile/1', kind: 'required', model: tiny().model, contextLength: 4096, budgets: [[64, 128, 64, 256, 64, 64, 64, 512], [64, 64, 64, 64, 64, 64, 64, 64], [100, 200, 300, 400, 500, 600, 700, 800], [1, 2, 3, 4, 5, 6, 7, 8]] } as unknown as Profile;
  const r = inspectProfile(req);
  assert.ok(E.isRight(r));
  assert.deepEqual(r.right.layers, layerStats((req as { budgets: number[][] }).budgets));
  assert.equal(r.right.layers[0]!.maxOverMin, 8);
  assert.equal(r.right.layers[1]!.distinct, 1);
  assert.equal(r.right.summary.budgetMax, 800);
  assert.equal(r.right.unit, 'tokens');
  assert.equal(r.right.summary.layerMeanSpread, 450 / 4.5, 'layer means 125, 64, 450, 4.5');
});
