/**
 * The built-in default profile: decodes, is labelled synthetic, is byte-identical to a fresh seeded regeneration, and
 * meets its calibration targets (at 95% recovery: within-layer max/min about 5–50x, layer spread about 3–4x).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { readFileSync } from 'node:fs';
import { calibrationStats, DEFAULT_PROFILE_URL, generateDefaultProfile, loadDefaultProfile, serializeProfile } from '../src/defaultProfile.ts';
import { profileCurves } from '../src/recovery.ts';

test('the committed default profile decodes, is synthetic, and has the Llama-3.1-8B shape', () => {
  const p = loadDefaultProfile();
  assert.ok(E.isRight(p), E.isLeft(p) ? JSON.stringify(p.left) : '');
  assert.equal(p.right.synthetic, true);
  assert.deepEqual([p.right.model.layers, p.right.model.queryHeads, p.right.model.kvHeads, p.right.model.headDim], [32, 32, 8, 128]);
  assert.match(p.right.model.name, /synthetic/);
});

test('regenerating with the seed reproduces the committed bytes', () => {
  const fresh = serializeProfile(generateDefaultProfile());
  assert.equal(fresh, readFileSync(DEFAULT_PROFILE_URL, 'utf8'), 'core/data/default-profile.json is stale: run npx tsx scripts/generate-default-profile.ts');
});

test('heterogeneity is calibrated: within-layer 5–50x (median), layer spread 3–4x', () => {
  const p = loadDefaultProfile();
  assert.ok(E.isRight(p));
  const c = profileCurves(p.right, p.right.contextLength);
  assert.ok(E.isRight(c));
  const s = calibrationStats(c.right.curves, 0.95);
  assert.ok(s.withinLayerRatioMedian >= 5 && s.withinLayerRatioMedian <= 50, `median within-layer ratio ${s.withinLayerRatioMedian}`);
  assert.ok(s.withinLayerRatio.every((r) => r >= 3 && r <= 60), `within-layer ratios ${s.withinLayerRatio.join(' ')}`);
  assert.ok(s.layerSpread >= 3 && s.layerSpread <= 4.5, `layer spread ${s.layerSpread}`);
});

test('different seeds give different profiles (the seed matters)', () => {
  assert.notDeepEqual(generateDefaultProfile(1).curves[5], generateDefaultProfile(2).curves[5]);
});
