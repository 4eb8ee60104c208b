/**
 * `planEngineLayoutForProfile` and `planLengthDistribution`: a profile and options (no flags) give the same plan
 * the engine-layout solver gives for the budgets the profile states at each length; the projection price defaults
 * as documented; bad options are Lefts at option paths (`$.gpus`, `$.kvCopies`, `$.lengths`, `$.devices[*].speed`,
 * `$.devices[*].memoryBytes`, `$.equalHeadsPerDevice`), never CLI flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, budgetsAt, makeDevices, validatePlan, type HplbError, type Profile } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { kvProjectionPrice, planEngineLayoutForProfile, planLengthDistribution } from '../src/index.ts';

const model = { name: 'synthetic-engine', layers: 3, queryHeads: 16, kvHeads: 4, headDim: 64 };
const profile = {
  format: 'hplb.profile/1',
  kind: 'required',
  model,
  contextLength: 8192,
  synthetic: true,
  budgets: Array.from({ length: 3 }, (_, l) => Array.from({ length: 16 }, (_, h) => [256, 512, 1024, 4096, 8192][(h * 7 + l * 3) % 5]!)),
} as unknown as Profile;

const left = (r: E.Either<HplbError, unknown>): HplbError => {
  assert.ok(E.isLeft(r), 'expected a Left');
  assert.doesNotMatch(`${r.left.issues[0]!.path} ${r.left.issues[0]!.expected}`, /--[a-z]/, 'options, never CLI flags');
  return r.left;
};

test('the plan is the solver\'s for the profile\'s budgets at each length, with the default projection price', () => {
  const lengths = [{ contextLength: 2048, weight: 0.5 }, { contextLength: 8192, weight: 0.5 }];
  const r = planEngineLayoutForProfile(profile, { gpus: 4, kvCopies: 2, lengths, timeLimitMs: 100 });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  assert.ok(E.isRight(validatePlan(r.right.plan)));
  const el = r.right.plan.engineLayout;
  assert.deepEqual([el.tp, el.kvCopies, el.kvSlots], [4, 2, 8]);
  assert.deepEqual(el.lengths.map((p) => p.contextLength), [2048, 8192]);
  assert.equal(el.pricing.projectionPerTokenPerSlot, model.queryHeads * model.headDim, 'default: hidden size token-pair equivalents');
  assert.deepEqual((r.right.plan as unknown as { budgetPolicy: unknown }).budgetPolicy, { kind: 'profile', lengths });
  // The same solve by hand: budgets from the profile at each length.
  const points = lengths.map((p) => ({ ...p, budgets: (budgetsAt(profile, p.contextLength) as E.Right<number[][]>).right }));
  const direct = planEngineLayout({ model, devices: makeDevices(4), lengths: points, costModel: WORK_COST_MODEL, kvCopies: 2, timeLimitMs: 100, kvBytesPerElement: 2, projection: kvProjectionPrice(model, WORK_COST_MODEL), budgetPolicy: { kind: 'profile', lengths } });
  assert.ok(E.isRight(direct));
  // What depends only on the budgets (not on the time-limited search) agrees exactly.
  assert.deepEqual(r.right.plan.budgets, direct.right.plan.budgets);
  assert.deepEqual(el.lengths.map((p) => [p.contiguousTotal, p.projectionTotal]), direct.right.plan.engineLayout.lengths.map((p) => [p.contiguousTotal, p.projectionTotal]));
});

test('projection price: the option, else the calibrated price, else the hidden size', () => {
  assert.deepEqual(kvProjectionPrice(model, WORK_COST_MODEL, { kvProjection: { perTokenPerSlot: 7, source: 'mine' } }), { perTokenPerSlot: 7, source: 'mine' });
  assert.equal(kvProjectionPrice(model, { ...WORK_COST_MODEL, kvProjectionPerToken: 3 }).perTokenPerSlot, 3);
  assert.equal(kvProjectionPrice(model, { ...WORK_COST_MODEL, perTokenPair: 2 }, { hiddenSize: 100 }).perTokenPerSlot, 200);
});

test('auto picks the candidate with the lowest expected latency; a length distribution without the slot rule beats contiguous', () => {
  const r = planEngineLayoutForProfile(profile, { gpus: 4, timeLimitMs: 100 });
  assert.ok(E.isRight(r));
  const best = r.right.candidates.reduce((a, b) => (b.expectedLatency! < a.expectedLatency! ? b : a));
  assert.equal(r.right.plan.engineLayout.kvCopies, best.kvCopies);
  const f = planLengthDistribution(profile, { gpus: 4, lengths: [{ contextLength: 1024, weight: 0.25 }, { contextLength: 8192, weight: 0.75 }], timeLimitMs: 100 });
  assert.ok(E.isRight(f));
  const L = f.right.plan.lengthDistribution.lengths;
  assert.ok(L.reduce((s, p) => s + p.weight * p.attentionTotal, 0) <= L.reduce((s, p) => s + p.weight * p.contiguousTotal, 0) * (1 + 1e-12));
});

test('bad options name option paths', () => {
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: 3 })).issues[0]!.path, '$.gpus');
  assert.match(left(planEngineLayoutForProfile(profile, { gpus: 3 })).issues[0]!.expected, /feasible: 1, 2, 4, 8, 16/);
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: makeDevices(3) })).issues[0]!.path, '$.devices');
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: 0 })).issues[0]!.path, '$.gpus');
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: 4, kvCopies: 3 })).issues[0]!.path, '$.kvCopies');
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: 4, lengths: [{ contextLength: 2048, weight: 0.5 }, { contextLength: 8192, weight: 0.4 }] })).issues[0]!.path, '$.lengths');
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: makeDevices(4, [1, 1, 1, 0.5]) })).issues[0]!.path, '$.devices[*].speed');
  assert.equal(left(planEngineLayoutForProfile(profile, { gpus: makeDevices(4, undefined, 1e6) })).issues[0]!.path, '$.devices[*].memoryBytes');
  const eq = left(planLengthDistribution(profile, { gpus: 3, equalHeadsPerDevice: true, lengths: [{ contextLength: 1024, weight: 0.5 }, { contextLength: 2048, weight: 0.5 }] }));
  assert.equal(eq.issues[0]!.path, '$.equalHeadsPerDevice');
  const speeds = left(planLengthDistribution(profile, { gpus: makeDevices(4, [1, 1, 1, 0.5]), lengths: 1024 }));
  assert.match(speeds.issues[0]!.expected, /at one context length/);
});

test('options from JavaScript are decoded: a wrong type is a Left at its path, never a throw', () => {
  const js = planEngineLayoutForProfile as (p: Profile, o: unknown) => E.Either<HplbError, unknown>;
  assert.equal(left(js(profile, { gpus: 'eight' })).issues[0]!.path, '$.gpus');
  assert.equal(left(js(profile, {})).issues[0]!.path, '$.gpus');
  assert.equal(left(js(profile, { gpus: 4, kvCopies: 0 })).issues[0]!.path, '$.kvCopies');
  assert.equal(left(js(profile, { gpus: 4, timeLimitMs: 'soon' })).issues[0]!.path, '$.timeLimitMs');
  assert.equal(left(js(profile, null)).issues[0]!.path, '$');
  const free = planLengthDistribution as (p: Profile, o: unknown) => E.Either<HplbError, unknown>;
  assert.equal(left(free(profile, { gpus: 4, kv: 'pairs' })).issues[0]!.path, '$.kv');
});
