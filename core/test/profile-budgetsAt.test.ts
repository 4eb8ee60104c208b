/**
 * budgetsAt for every profile kind on small hand-made profiles, checkProfile's rules, and the importers' error paths on
 * small inline inputs (the corpus in spec/bad-inputs covers the CLI side).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import * as fc from 'fast-check';
import {
  DEFAULT_RECOVERY_TARGET,
  budgetsAt,
  curveMassAt,
  curveTokensFor,
  decodeProfile,
  elasticSpan,
  formatError,
  importDuo,
  importMinference,
  importMoa,
  importXattention,
  type CurveProfile,
  type HplbError,
  type ModelShape,
  type Profile,
} from '@hplb/core';

const tiny: ModelShape = { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 8 };
const right = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) assert.fail(formatError(e.left));
  return e.right;
};
const leftText = (e: E.Either<HplbError, unknown>): string => {
  assert.ok(E.isLeft(e), 'expected an error');
  return E.isLeft(e) ? formatError(e.left) : '';
};

const curveProfile = (n0: number, curves: CurveProfile['curves']): CurveProfile =>
  right(decodeProfile({ format: 'hplb.profile/1', kind: 'curve', model: tiny, contextLength: n0, curves }) as E.Either<HplbError, CurveProfile>);
const oneCurve = { tokens: [100, 400, 1000], mass: [0.5, 0.9, 0.99] };

test('curve budgets: fewest tokens reaching the target, interpolated, with implied (0,0) and (N,1); default target 0.95', () => {
  assert.equal(DEFAULT_RECOVERY_TARGET, 0.95);
  assert.equal(curveTokensFor(oneCurve, 4096, 0.5), 100);
  assert.equal(curveTokensFor(oneCurve, 4096, 0.25), 50);
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
  near(curveTokensFor(oneCurve, 4096, 0.95), 400 + (0.05 / 0.09) * 600);
  near(curveTokensFor(oneCurve, 4096, 0.995), 1000 + (0.005 / 0.01) * 3096);
  const p = curveProfile(4096, [Array(4).fill(oneCurve), Array(4).fill(oneCurve)]);
  const b = right(budgetsAt(p, 4096));
  assert.deepEqual(b[0], Array(4).fill(Math.ceil(400 + (0.05 / 0.09) * 600)));
  assert.deepEqual(right(budgetsAt(p, 4096, { recoveryTarget: 0.9 }))[1], Array(4).fill(400));
  assert.deepEqual(right(budgetsAt(p, 200, { recoveryTarget: 0.9 }))[1], Array(4).fill(200), 'capped at N');
  assert.deepEqual(right(budgetsAt(p, 8192, { recoveryTarget: 0.9, curveScaling: 'proportional' }))[1], Array(4).fill(800));
  assert.deepEqual(right(budgetsAt(p, 4096, { recoveryTarget: 0 }))[0], Array(4).fill(1), 'at least one token');
});

test('curveMassAt inverts curveTokensFor (property)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 4095 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (ts, ms, target) => {
        const tokens = [...ts].sort((a, b) => a - b);
        const mass = ms.slice(0, tokens.length).sort((a, b) => a - b);
        const c = { tokens, mass };
        const b = curveTokensFor(c, 4096, target);
        assert.ok(curveMassAt(c, 4096, b) >= target - 1e-9, `mass at ${b}`);
        if (b > 1e-6) assert.ok(curveMassAt(c, 4096, b - 1e-6 * Math.max(1, b)) < target + 1e-9);
      },
    ),
    { seed: 42, numRuns: 300, verbose: 1 },
  );
});

test('required budgets clamp to [1, N]; top-p profiles need curves, then read each target off its curve', () => {
  const req = right(decodeProfile({ format: 'hplb.profile/1', kind: 'required', model: tiny, contextLength: 8192, budgets: [[100, 200, 7096, 0], [1, 2, 3, 9000]] }));
  assert.deepEqual(right(budgetsAt(req, 4096)), [[100, 200, 4096, 1], [1, 2, 3, 4096]]);
  assert.deepEqual(right(budgetsAt(req, 131072))[1], [1, 2, 3, 9000], 'a required budget does not grow with N');
  const topP = right(decodeProfile({ format: 'hplb.profile/1', kind: 'required', model: tiny, contextLength: 4096, budgets: [], topP: [[0.5, 0.9, 0.95, 0], [0.5, 0.5, 0.5, 1]] }));
  assert.match(leftText(budgetsAt(topP, 4096)), /at \$\.topP: expected recovery curves .*not token counts/);
  const curves = curveProfile(4096, [Array(4).fill(oneCurve), Array(4).fill(oneCurve)]);
  assert.deepEqual(right(budgetsAt(topP, 4096, { curves })), [[100, 400, Math.ceil(400 + (0.05 / 0.09) * 600), 1], [100, 100, 100, 4096]]);
  const other = right(decodeProfile({ format: 'hplb.profile/1', kind: 'curve', model: { ...tiny, layers: 1 }, contextLength: 4096, curves: [Array(4).fill(oneCurve)] })) as CurveProfile;
  assert.match(leftText(budgetsAt(topP, 4096, { curves: other })), /\$\.curves/);
});

test('elastic spans: alpha + beta·N; MoA rule clamps to N, rounds up to 64, at least 128, capped at N', () => {
  const rule = { multiple: 64, minimum: 128 };
  assert.equal(elasticSpan(-1024, 1, 131072, rule), 130048);
  assert.equal(elasticSpan(0, 0.5, 1000, rule), 512);
  assert.equal(elasticSpan(10, 0, 131072, rule), 128);
  assert.equal(elasticSpan(0, 1, 1000, rule), 1000, 'rounding up past N is capped at N');
  assert.equal(elasticSpan(-5000, 0, 1000, rule), 128);
  assert.equal(elasticSpan(384, 0, 131072), 384);
  assert.equal(elasticSpan(384, 0, 100), 100);
  assert.equal(elasticSpan(0, 0.3, 1000), 300);
  assert.equal(elasticSpan(-10, 0, 1000), 1);
});

test('budgetsAt rejects a bad N or recovery target, naming the flag', () => {
  const p = right(decodeProfile({ format: 'hplb.profile/1', kind: 'elastic', model: tiny, alpha: [[0, 0, 0, 0], [0, 0, 0, 0]], beta: [[1, 1, 1, 1], [1, 1, 1, 1]] }));
  assert.match(leftText(budgetsAt(p, 0)), /at \$\.contextLength: expected a context length N/);
  assert.match(leftText(budgetsAt(p, 1.5)), /\$\.contextLength/);
  assert.match(leftText(budgetsAt(p, 10, { recoveryTarget: 1.5 })), /\$\.recoveryTarget/);
});

test('checkProfile: dimensions, registry shapes, monotone curves, finite spans, each with its JSON path', () => {
  const base = { format: 'hplb.profile/1', model: tiny };
  const cases: [unknown, RegExp][] = [
    [{ ...base, format: 'hplb.profile/2', kind: 'curve' }, /at \$\.format: expected "hplb\.profile\/1", got "hplb\.profile\/2"/],
    [{ ...base, kind: 'histogram' }, /at \$\.kind: expected "curve", "required" or "elastic"/],
    [{ ...base, kind: 'required', contextLength: 10, budgets: [[1, 2, 3, 4]] }, /at \$\.budgets: expected 2 layers for tiny, got 1 layers/],
    [{ ...base, kind: 'required', contextLength: 10, budgets: [[1, 2, 3, 4], [1, 2, 3]] }, /at \$\.budgets\[1\]: expected 4 query heads/],
    [{ ...base, kind: 'required', contextLength: 10, budgets: [[1, 2, 3, 4], [1, 2, -3, 4]] }, /at \$\.budgets\[1\]\[2\]: expected a finite number ≥ 0, got -3/],
    [{ ...base, kind: 'required', contextLength: 10, budgets: [], topP: [[1, 1, 1, 1], [1, 1, 1, 2]] }, /at \$\.topP\[1\]\[3\]: expected a number in \[0, 1\]/],
    [{ ...base, kind: 'curve', contextLength: 10, curves: [[oneCurve, oneCurve, oneCurve, oneCurve], [oneCurve, oneCurve, oneCurve, oneCurve]] }, /at \$\.curves\[0\]\[0\]\.tokens\[0\]: expected at most the context length 10, got 100/],
    [{ ...base, kind: 'curve', contextLength: 4096, curves: [[oneCurve, oneCurve, oneCurve, { tokens: [5, 5], mass: [0.1, 0.2] }], [oneCurve, oneCurve, oneCurve, oneCurve]] }, /at \$\.curves\[0\]\[3\]\.tokens\[1\]: expected more than the previous point's 5/],
    [{ ...base, kind: 'curve', contextLength: 4096, curves: [[oneCurve, oneCurve, oneCurve, oneCurve], [oneCurve, { tokens: [5, 6], mass: [0.3, 0.2] }, oneCurve, oneCurve]] }, /at \$\.curves\[1\]\[1\]\.mass\[1\]: expected at least the previous point's 0\.3/],
    [{ ...base, kind: 'curve', contextLength: 4096, curves: [[oneCurve, oneCurve, oneCurve, oneCurve], [oneCurve, { tokens: [5, 6], mass: [0.3] }, oneCurve, oneCurve]] }, /at \$\.curves\[1\]\[1\]\.mass: expected 2 points/],
    [{ ...base, kind: 'elastic', alpha: [[0, 0, 0, 0], [0, 0, 0, 0]], beta: [[1, 1, 1, 1], [1, -1, 1, 1]] }, /at \$\.beta\[1\]\[1\]: expected a finite number ≥ 0/],
    [{ ...base, model: { ...tiny, kvHeads: 3 }, kind: 'elastic', alpha: [], beta: [] }, /at \$\.model\.kvHeads: expected a divisor of queryHeads/],
    [{ ...base, model: { name: 'Llama-3.1-8B-Instruct', layers: 31, queryHeads: 32, kvHeads: 8, headDim: 128 }, kind: 'elastic', alpha: [], beta: [] }, /at \$\.model\.layers: expected 32 \(layers of Llama-3\.1-8B-Instruct in the model registry\), got 31/],
  ];
  for (const [u, re] of cases) assert.match(leftText(decodeProfile(u, 'p.json')), new RegExp(`^p\\.json: ${re.source}`), JSON.stringify(u).slice(0, 80));
});

test('MInference importer on inline input: formula, stream_llm, key and shape errors', () => {
  const layer = (f: (h: number) => unknown) => Object.fromEntries(Array.from({ length: 4 }, (_, h) => [String(h), f(h)]));
  const good = [layer(() => ['vertical_and_slash', 10, 20, 0.5]), layer((h) => (h === 0 ? ['stream_llm', 100, 800, 0.9] : ['vertical_and_slash', 1000, 6096, 1.0002]))];
  const p = right(importMinference(JSON.stringify(good), { model: tiny, file: 'm.json' }));
  assert.deepEqual(right(budgetsAt(p, 131072)), [[80, 80, 80, 80], [900, 7096, 7096, 7096]]);
  assert.equal(p.kind === 'required' ? p.recall![1]![1] : -1, 1, 'float-rounding recall clipped to 1');
  assert.match(leftText(importMinference(JSON.stringify(good.slice(0, 1)), { model: tiny, file: 'm.json' })), /^m\.json: at \$: expected 2 layers/);
  assert.match(leftText(importMinference(JSON.stringify([good[0], { ...good[1], 4: good[1]!['0'] }]), { model: tiny })), /at \$\[1\]\["4"\]: expected a query head key "0"\.\."3"/);
  assert.match(leftText(importMinference(JSON.stringify([good[0], layer(() => ['vertical_and_slash', 1, 2])]), { model: tiny })), /at \$\[1\]\["0"\]: expected a 4-item/);
  assert.match(leftText(importMinference(JSON.stringify([good[0], layer(() => ['block', 1, 2, 0.3])]), { model: tiny })), /at \$\[1\]\["0"\]\[0\]: expected "vertical_and_slash" or "stream_llm"/);
  assert.match(leftText(importMinference(JSON.stringify([good[0], layer(() => ['vertical_and_slash', 1, 2, 3])]), { model: tiny })), /at \$\[1\]\["0"\]\[3\]: expected a recall score in \[0, 1\]/);
  assert.match(leftText(importMinference(JSON.stringify(good), { model: 'no-such-model' })), /at \$\.model: expected a registered model/);
  assert.match(leftText(importMinference(JSON.stringify(good), { file: 'x.json' })), /^x\.json: at \$\.model: expected a model name/);
});

test('DuoAttention importer on inline TSV: sparsity and threshold rules, ragged rows, non-numbers', () => {
  const tsv = '0.9\t-0.2\n0.1\t1.5\n';
  const p = right(importDuo(tsv, { model: tiny, sparsity: 0.5 }));
  assert.deepEqual(right(budgetsAt(p, 1000)), [[1000, 1000, 384, 384], [384, 384, 1000, 1000]]);
  assert.deepEqual(p.kind === 'elastic' ? p.gate : [], [[0.9, 0.9, 0, 0], [0.1, 0.1, 1, 1]]);
  assert.deepEqual(right(budgetsAt(right(importDuo(tsv, { model: tiny, threshold: 0.95 })), 1000)), [[384, 384, 384, 384], [384, 384, 1000, 1000]]);
  assert.deepEqual(right(budgetsAt(right(importDuo(tsv, { model: tiny, sparsity: 1 })), 1000)).flat(), Array(8).fill(384));
  assert.match(leftText(importDuo('0.1\t0.2\n0.3\n', { model: tiny, sparsity: 0.5, file: 'g.tsv' })), /^g\.tsv: at \$\[1\]: expected 2 tab-separated columns/);
  assert.match(leftText(importDuo('0.1\tx\n0.3\t0.4\n', { model: tiny, sparsity: 0.5 })), /at \$\[0\]\[1\]: expected a finite number \(line 1, column 2\), got "x"/);
  assert.match(leftText(importDuo('0.1\t0.2\t0.3\n0.3\t0.4\t0.5\n', { model: tiny, sparsity: 0.5 })), /at \$\[0\]: expected 2 columns \(KV heads\)/);
  assert.match(leftText(importDuo('', { model: tiny, sparsity: 0.5 })), /at \$: expected a tab-separated matrix .*got an empty file/);
  assert.match(leftText(importDuo(tsv, { model: tiny })), /at \$\.sparsity/);
  assert.match(leftText(importDuo(tsv, { model: tiny, sparsity: 2 })), /at \$\.sparsity: expected a number in \[0, 1\]/);
});

test('MoA and XAttention importers on inline input: shape mismatches and missing tables', () => {
  const a = [[0, 0, 0, 0], [64, 64, 64, 64]];
  const b = [[0.5, 0.5, 0.5, 0.5], [0, 0, 0, 1]];
  const p = right(importMoa(JSON.stringify({ alphas: a, betas: b }), { model: tiny }));
  assert.deepEqual(right(budgetsAt(p, 1024)), [[512, 512, 512, 512], [128, 128, 128, 1024]]);
  assert.match(leftText(importMoa(JSON.stringify({ alphas: a, betas: [b[0]] }), { model: tiny })), /at \$\.betas: expected 2 layers/);
  assert.match(leftText(importMoa(JSON.stringify({ alphas: a, betas: [b[0], [1, 1, 1]] }), { model: tiny })), /at \$\.betas\[1\]: expected 4 query heads \(the shape of alphas\)/);
  assert.match(leftText(importMoa(JSON.stringify({ alphas: a }), { model: tiny })), /at \$\.betas: expected a \[layer\]\[head\] table of betas, got nothing/);
  assert.match(leftText(importMoa(JSON.stringify({ alphas: a, betas: [b[0], [1, -1, 1, 1]] }), { model: tiny })), /at \$\.betas\[1\]\[1\]: expected a finite number ≥ 0/);
  const x = { max: { values: [[0.9, 0.9, 0.5, 0.5], [1, 1, 0, 0]] }, other: [[0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1]] };
  const xp = right(importXattention(JSON.stringify(x), { model: tiny }));
  assert.deepEqual(xp.kind === 'required' ? xp.topP : [], x.max.values);
  assert.deepEqual(right(importXattention(JSON.stringify(x), { model: tiny, table: 'other' })).kind, 'required');
  assert.match(leftText(importXattention(JSON.stringify({ other: x.other }), { model: tiny })), /at \$\.max: expected a threshold table "max" \(tables in the file: other\)/);
  assert.match(leftText(importXattention(JSON.stringify({ max: [[0.9, 0.9, 0.5, 1.5], [1, 1, 0, 0]] }), { model: tiny })), /at \$\.max\[0\]\[3\]: expected a number in \[0, 1\]/);
});

test('every importer result passes decodeProfile (what importers write is valid hplb.profile/1)', () => {
  const layer = Object.fromEntries(Array.from({ length: 4 }, (_, h) => [String(h), ['vertical_and_slash', 10, 20, 0.5]]));
  const profiles: Profile[] = [
    right(importMinference(JSON.stringify([layer, layer]), { model: tiny })),
    right(importDuo('0.9\t0.2\n0.1\t0.5\n', { model: tiny, sparsity: 0.5 })),
    right(importMoa(JSON.stringify({ alphas: [[0, 0, 0, 0], [0, 0, 0, 0]], betas: [[1, 1, 1, 1], [1, 1, 1, 1]] }), { model: tiny })),
    right(importXattention(JSON.stringify({ max: [[0.9, 0.9, 0.5, 0.5], [1, 1, 0, 0]] }), { model: tiny })),
  ];
  for (const p of profiles) assert.deepEqual(right(decodeProfile(JSON.parse(JSON.stringify(p)))), p);
});
