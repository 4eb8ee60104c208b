/**
 * The built-in default profile: decodes, is labelled synthetic, names the profiler that made it, is reproducible from
 * its seed (the archetypes of all heads, and sampled heads re-profiled byte for byte: regenerating all 1024 heads
 * takes minutes, so the full check is the generator script), and meets its calibration targets on the committed
 * curves (at 95% recovery: within-layer max/min about 5–50x, layer spread about 3–4x).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { readFileSync } from 'node:fs';
import {
  calibrationStats, DEFAULT_PROFILE_SEED, defaultHeads, layerArchetypeCounts, profileDefaultHead,
  serializeProfile, type Archetype, type CalibrationStats,
} from '../src/defaultProfile.ts';
import { profileCurves, tokensFor } from '../src/recovery.ts';
import { DEFAULT_PROFILE_URL, loadDefaultProfile } from '../src/node/defaultProfile.ts';

const load = () => {
  const p = loadDefaultProfile();
  assert.ok(E.isRight(p), E.isLeft(p) ? JSON.stringify(p.left) : '');
  return p.right;
};
const sourceOf = (p: ReturnType<typeof load>) => p.source as { seed: number; archetypes: string[]; calibration: CalibrationStats; profiler: { function: string; contextLength: number; sampleRows: number }; note: string };

test('the committed default profile decodes, is synthetic, has the Llama-3.1-8B shape and names its profiler', () => {
  const p = load();
  assert.equal(p.synthetic, true);
  assert.deepEqual([p.model.layers, p.model.queryHeads, p.model.kvHeads, p.model.headDim], [32, 32, 8, 128]);
  assert.equal(p.contextLength, 131072);
  assert.match(p.model.name, /synthetic/);
  const s = sourceOf(p);
  assert.match(s.note, /SYNTHETIC/);
  assert.equal(s.profiler.function, 'profileHead');
  assert.equal(s.seed, DEFAULT_PROFILE_SEED);
  assert.equal(p.curves.length, 32);
  assert.ok(p.curves.every((row) => row.length === 32));
});

test('the file is in its serialized form (re-serializing the decoded profile gives the same bytes)', () => {
  assert.equal(serializeProfile(load()), readFileSync(DEFAULT_PROFILE_URL, 'utf8'));
});

test('the seed reproduces every head\'s archetype, and sampled heads re-profile to the committed curves byte for byte', () => {
  const p = load();
  const heads = defaultHeads(DEFAULT_PROFILE_SEED);
  assert.deepEqual(heads.map((row) => row.map((h) => h.spec.archetype).join(',')), sourceOf(p).archetypes, 'archetypes are stale: run npx tsx scripts/generate-default-profile.ts');
  // One head of each archetype, from different layers.
  const picks: Array<[number, number]> = [];
  for (const a of ['sink-local', 'vertical', 'slash', 'diffuse'] as const) {
    const l = ({ 'sink-local': 3, vertical: 17, slash: 24, diffuse: 0 } as const)[a];
    picks.push([l, heads[l]!.findIndex((h) => h.spec.archetype === a)]);
  }
  for (const [l, h] of picks) {
    assert.ok(h >= 0);
    const c = profileDefaultHead(heads[l]![h]!);
    assert.ok(E.isRight(c), E.isLeft(c) ? JSON.stringify(c.left) : '');
    assert.equal(JSON.stringify(c.right), JSON.stringify(p.curves[l]![h]), `curve [${l}][${h}] is stale: run npx tsx scripts/generate-default-profile.ts`);
  }
});

test('heterogeneity is calibrated: within-layer 5–50x (median), layer spread 3–4x, and matches the stored statistics', () => {
  const p = load();
  const c = profileCurves(p, p.contextLength);
  assert.ok(E.isRight(c));
  const s = calibrationStats(c.right.curves, 0.95);
  assert.ok(s.withinLayerRatioMedian >= 5 && s.withinLayerRatioMedian <= 50, `median within-layer ratio ${s.withinLayerRatioMedian}`);
  assert.ok(s.withinLayerRatio.every((r) => r >= 3 && r <= 60), `within-layer ratios ${s.withinLayerRatio.join(' ')}`);
  assert.ok(s.layerSpread >= 3 && s.layerSpread <= 4.5, `layer spread ${s.layerSpread}`);
  const stored = sourceOf(p).calibration;
  assert.deepEqual([stored.withinLayerRatio, stored.withinLayerRatioMedian, stored.layerSpread], [s.withinLayerRatio, s.withinLayerRatioMedian, s.layerSpread]);
});

test('the profiled curves follow their archetypes: diffuse heads need far more than sink+local heads', () => {
  const p = load();
  const c = profileCurves(p, p.contextLength);
  assert.ok(E.isRight(c));
  const kinds = sourceOf(p).archetypes.map((row) => row.split(',') as Archetype[]);
  const by: Record<string, number[]> = {};
  c.right.curves.forEach((row, l) => row.forEach((curve, h) => (by[kinds[l]![h]!] ??= []).push(tokensFor(curve, 0.95) / p.contextLength)));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  assert.ok(med(by['diffuse']!) > 0.8, `diffuse median ${med(by['diffuse']!)}`);
  for (const a of ['sink-local', 'vertical', 'slash']) assert.ok(med(by[a]!) < 0.4 && med(by['diffuse']!) > 3 * med(by[a]!), `${a} median ${med(by[a]!)}`);
});

test('layer archetype counts fill every layer and put diffuse heads at both ends', () => {
  for (const L of [1, 2, 5, 32]) for (let l = 0; l < L; l++) {
    const k = layerArchetypeCounts(l, L, 32);
    assert.equal(k['sink-local'] + k.vertical + k.slash + k.diffuse, 32, `layer ${l} of ${L}`);
    assert.ok(Object.values(k).every((x) => x >= 0));
  }
  const mid = layerArchetypeCounts(17, 32, 32).diffuse;
  assert.ok(layerArchetypeCounts(0, 32, 32).diffuse > mid && layerArchetypeCounts(31, 32, 32).diffuse > mid);
});

test('different seeds give different heads (the seed matters)', () => {
  const a = defaultHeads(1)[5]!.map((h) => h.spec);
  const b = defaultHeads(2)[5]!.map((h) => h.spec);
  assert.notDeepEqual(a, b);
  const ca = profileDefaultHead(defaultHeads(1)[5]![0]!);
  const cb = profileDefaultHead(defaultHeads(2)[5]![0]!);
  assert.ok(E.isRight(ca) && E.isRight(cb));
  assert.notDeepEqual(ca.right, cb.right);
});
