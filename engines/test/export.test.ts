/**
 * `exportEngineLayout`: a plan from the engine-layout planner becomes a valid layout whose budgets follow the new
 * head order; a MInference config is re-indexed (or skipped for tier 3, or refused at `$.minference`); plans that
 * break the engines' rule are refused naming the plan's JSON path and file, never a CLI flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, recomputeLoads, summarizeLoads, validateEngineLayout, type ModelShape, type Plan } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { exportEngineLayout } from '../src/index.ts';

const M: ModelShape = { name: 'tiny-export', layers: 3, queryHeads: 16, kvHeads: 4, headDim: 8 };
const N = 4096;
const budgets = Array.from({ length: M.layers }, (_, l) => Array.from({ length: M.queryHeads }, (_, h) => 1 + ((h * 977 + l * 131) ** 2 % (N - 1))));
const enginePlan = (tp: number, r: number): Plan => {
  const res = planEngineLayout({ model: M, devices: makeDevices(tp), lengths: [{ contextLength: N, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: r, timeLimitMs: 100, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  return res.right.plan;
};
/** Entry h of layer l identifies (l, h), so a re-indexed entry names the original head it came from. */
const mf = Array.from({ length: M.layers }, (_, l) => Object.fromEntries(Array.from({ length: M.queryHeads }, (_, h) => [String(h), ['vertical_and_slash', l, h, 0.9]])));

test('a TP 8, r = 4 engine plan: valid layout, budgets and MInference entries in the new head order', () => {
  const plan = enginePlan(8, 4);
  const r = exportEngineLayout(plan, { engine: 'sglang', planFile: 'plan.json', minference: { config: mf, file: 'mf.json', path: 'layout.minference.json' } });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  const { layout, minference } = r.right;
  assert.ok(E.isRight(validateEngineLayout(layout)));
  assert.deepEqual([layout.engine, layout.tier, layout.tpSize, layout.kvCopies, layout.geometry.kvSlots], ['sglang', 1, 8, 4, 16]);
  assert.equal((layout as { minferenceConfig?: string }).minferenceConfig, 'layout.minference.json');
  assert.equal((layout.source as { plan?: unknown }).plan, 'plan.json');
  layout.layers.forEach((L, l) => {
    L.qSource.forEach((q, p) => {
      assert.equal(L.budgets[p], plan.budgets[l]![q!]);
      assert.deepEqual(minference![l]![String(p)], ['vertical_and_slash', l, q, 0.9]);
    });
  });
});

test('a MInference config of the wrong shape names its file and path', () => {
  const plan = enginePlan(4, 2);
  const short = exportEngineLayout(plan, { engine: 'vllm', minference: { config: mf.slice(0, 2), file: 'mf.json' } });
  assert.ok(E.isLeft(short));
  assert.deepEqual([short.left.file, short.left.issues[0]!.path], ['mf.json', '$']);
  const hole = exportEngineLayout(plan, { engine: 'vllm', minference: { config: [{ '0': 1 }, ...mf.slice(1)], file: 'mf.json' } });
  assert.ok(E.isLeft(hole));
  assert.match(hole.left.issues[0]!.path, /^\$\[0\]\["\d+"\]$/);
});

test('split heads: a tier-3 layout; its MInference config is refused at $.minference, or skipped when asked', () => {
  const m: ModelShape = { name: 'tiny-split', layers: 1, queryHeads: 8, kvHeads: 2, headDim: 4 };
  const base = {
    format: 'hplb.plan/1', model: m, contextLength: 64, devices: makeDevices(2), constraints: { equalHeadsPerDevice: false, kv: 'replicate' },
    budgets: [[64, 8, 8, 8, 8, 8, 8, 8]], placement: [[0, 0, 0, 0, 1, 1, 1, 1]],
    splits: [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 40 }, { device: 1, rowStart: 40, rowEnd: 64 }] }],
    solver: { name: 'hand', status: 'feasible', gap: 0, seconds: 0 },
  } as unknown as Plan;
  const plan = { ...base, predicted: summarizeLoads('token-pairs', recomputeLoads(base), [0]) };
  const config = [Object.fromEntries(Array.from({ length: 8 }, (_, h) => [String(h), h]))];
  const refused = exportEngineLayout(plan, { engine: 'vllm', minference: { config, file: 'mf.json' } });
  assert.ok(E.isLeft(refused));
  assert.deepEqual([refused.left.issues[0]!.path, refused.left.file], ['$.minference', 'mf.json']);
  const skipped = exportEngineLayout(plan, { engine: 'vllm', minference: { config, ifVirtualHeads: 'skip' } });
  assert.ok(E.isRight(skipped));
  assert.equal(skipped.right.layout.tier, 3);
  assert.equal(skipped.right.minference, undefined);
  assert.match(skipped.right.minferenceSkipped!, /virtual heads/);
});

test('a plan with unequal heads per rank is refused at its placement path, naming options rather than flags', () => {
  const base = { ...enginePlan(4, 4) } as Record<string, unknown>;
  delete base['engineLayout'];
  const placement = (base['placement'] as number[][]).map((row) => [...row]);
  placement[1]![placement[1]!.findIndex((d) => d === 0)] = 1;
  const plan = { ...base, placement, constraints: { equalHeadsPerDevice: false, kv: 'replicate' } } as unknown as Plan;
  const r = exportEngineLayout(plan, { engine: 'vllm', planFile: 'unequal.json' });
  assert.ok(E.isLeft(r));
  assert.equal(r.left.file, 'unequal.json');
  assert.equal(r.left.issues[0]!.path, '$.placement[1]');
  assert.match(r.left.issues[0]!.expected, /4 query heads on every rank .*equal heads per device or an engine layout/);
  assert.doesNotMatch(r.left.issues[0]!.expected, /--/);
});

test('an unknown engine is a Left at $.engine', () => {
  const r = (exportEngineLayout as (p: Plan, o: unknown) => E.Either<import('@hplb/core').HplbError, unknown>)(enginePlan(4, 1), { engine: 'tgi' });
  assert.ok(E.isLeft(r));
  assert.equal(r.left.issues[0]!.path, '$.engine');
  assert.match(r.left.issues[0]!.expected, /vllm\|sglang\|trtllm/);
});
