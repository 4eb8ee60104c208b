/** Named cost settings: work (token pairs), the paper's time ∝ budget, documented second-based defaults, link bandwidth. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUDGET_COST_MODEL, COST_MODEL_NAMES, headCost, kvCopyCost, namedCostModel, withLinkBandwidth, DEFAULT_COST_MODELS } from '../src/cost.ts';
import { headWork } from '../src/work.ts';

test('work counts token pairs; paper-budget is time ∝ budget; named models resolve', () => {
  const n = 1000;
  assert.equal(headCost(namedCostModel('work')!, 100, n), headWork(100, n));
  assert.equal(headCost(namedCostModel('paper-budget')!, 100, n), 100 * n);
  assert.equal(namedCostModel('paper-budget'), BUDGET_COST_MODEL);
  for (const name of COST_MODEL_NAMES) assert.ok(namedCostModel(name), name);
  assert.equal(namedCostModel('nope'), undefined);
});

test('a = fixed + c·W/speed per backend default, and the KV-copy term is bytes / bandwidth', () => {
  const cm = DEFAULT_COST_MODELS['cuda-h100']!;
  assert.equal(cm.unit, 'seconds');
  const t1 = headCost(cm, 4096, 131072, 1);
  const t2 = headCost(cm, 4096, 131072, 2);
  assert.ok(Math.abs(t1 - (cm.fixed + cm.perTokenPair * headWork(4096, 131072))) < 1e-15);
  assert.ok(Math.abs((t1 - cm.fixed) / 2 - (t2 - cm.fixed)) < 1e-15);
  assert.equal(kvCopyCost(cm, 1e9, 131072), 0, 'no link term unless asked for');
  const link = withLinkBandwidth(cm, 100e9);
  assert.ok(Math.abs(kvCopyCost(link, 1e9, 131072) - 0.01) < 1e-12);
});
