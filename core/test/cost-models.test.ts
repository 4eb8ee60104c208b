/** Named cost settings: work (token pairs), the paper's time ∝ budget, documented second-based defaults, link bandwidth. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { BUDGET_COST_MODEL, COST_MODEL_NAMES, decodeCostModel, headCost, kvCopyCost, modelPrefixCost, namedCostModel, partCost, withLinkBandwidth, DEFAULT_COST_MODELS } from '../src/cost.ts';
import { headWork, prefixRowWork, rowRangeWork } from '../src/work.ts';

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

test('perQueryRow: a head costs fixed + (perQueryRow·N + perTokenPair·W)/speed, a part its own rows, parts sum to the head plus their fixed costs', () => {
  const cm = { name: 'r', unit: 'seconds' as const, workModel: 'pairs' as const, fixed: 1e-4, perTokenPair: 1.4e-7, perQueryRow: 1.3e-6 };
  const n = 1024, b = 96;
  const whole = headCost(cm, b, n, 2);
  assert.ok(Math.abs(whole - (cm.fixed + (cm.perQueryRow * n + cm.perTokenPair * headWork(b, n)) / 2)) < 1e-15);
  const cuts = [0, 5, 300, 1024];
  const parts = cuts.slice(1).map((re, i) => partCost(cm, b, n, cuts[i]!, re, 2));
  assert.ok(Math.abs(parts.reduce((a, x) => a + x, 0) - (whole + 2 * cm.fixed)) < 1e-15);
  assert.ok(Math.abs(parts[0]! - (cm.fixed + (5 * cm.perQueryRow + cm.perTokenPair * rowRangeWork(b, 0, 5)) / 2)) < 1e-15);
  for (const x of [0, 1, 95, 96, 97, 1024]) assert.ok(Math.abs(modelPrefixCost(cm, b, x) - (cm.perQueryRow * x + cm.perTokenPair * prefixRowWork(b, x))) < 1e-15);
  // Absent, it is 0: the model without the field prices exactly as before.
  const { perQueryRow: _, ...old } = cm;
  assert.equal(headCost(old, b, n), cm.fixed + cm.perTokenPair * headWork(b, n));
  assert.ok(E.isRight(decodeCostModel(cm)));
  assert.match(E.isLeft(decodeCostModel({ ...cm, perQueryRow: -1 })) ? 'Left' : 'Right', /Left/);
});
