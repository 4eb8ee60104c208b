/** Recovery curves: monotone interpolation, exact inverse, named one-point models, and profiles without recall. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { makeRecoveryCurve, powerCurveThrough, profileCurves, recoveryAt, roundBudget, tokensFor, rescaleCurve } from '../src/recovery.ts';
import type { Profile } from '../src/profile.ts';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1e9);
console.log(`recovery-curves: fast-check seed ${seed} (FC_SEED to replay)`);

const arbCurve = fc.record({
  n: fc.integer({ min: 64, max: 200_000 }),
  pts: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 12 }),
});

test('curves are monotone, pass through (0,0) and (N,1), and tokensFor is the exact inverse', () => {
  fc.assert(
    fc.property(arbCurve, fc.double({ min: 0, max: 1, noNaN: true }), ({ n, pts }, r) => {
      const c = makeRecoveryCurve(pts.map(([t]) => Math.round(t * n)), pts.map(([, m]) => m), n);
      assert.ok(E.isRight(c));
      const cv = c.right;
      assert.equal(recoveryAt(cv, 0), 0);
      assert.equal(recoveryAt(cv, n), 1);
      for (let i = 1; i < cv.mass.length; i++) assert.ok(cv.mass[i]! >= cv.mass[i - 1]! && cv.tokens[i]! > cv.tokens[i - 1]!);
      const b = tokensFor(cv, r);
      assert.ok(Number.isInteger(b) && b >= 0 && b <= n);
      assert.ok(recoveryAt(cv, b) >= r - 1e-12, `r(${b}) = ${recoveryAt(cv, b)} < ${r}`);
      if (b > 0) assert.ok(recoveryAt(cv, b - 1) < r, `b − 1 = ${b - 1} already reaches ${r}`);
    }),
    { seed, numRuns: 300 },
  );
});

test('bad points are refused with their path', () => {
  const c = makeRecoveryCurve([0, 10], [0, 1.5], 100);
  assert.ok(E.isLeft(c) && c.left.issues[0]!.path === '$.mass[1]');
});

test('power-through-point passes through its point and is concave-ish (below the chord nowhere above 1)', () => {
  const c = powerCurveThrough(4096, 0.9, 131072);
  assert.ok(Math.abs(recoveryAt(c, 4096) - 0.9) < 0.01, `r(4096) = ${recoveryAt(c, 4096)}`);
  assert.equal(recoveryAt(c, 131072), 1);
  assert.ok(recoveryAt(c, 1024) < 0.9 && recoveryAt(c, 1024) > 0.5);
});

test('power-through-point stays concave: a point below the diagonal gives r = b/N', () => {
  const c = powerCurveThrough(130048, 0.95, 131072);
  assert.ok(Math.abs(recoveryAt(c, 65536) - 0.5) < 0.01, `r(N/2) = ${recoveryAt(c, 65536)}`);
  assert.ok(recoveryAt(c, 1024) >= 1024 / 131072 - 1e-9);
});

test('roundBudget stays in [block, N] on block multiples', () => {
  assert.equal(roundBudget(0, 64, 1000), 64);
  assert.equal(roundBudget(65, 64, 1000), 128);
  assert.equal(roundBudget(999, 64, 1000), 1000);
});

test('rescaling keeps the density rule', () => {
  const c = powerCurveThrough(1024, 0.8, 8192);
  const d = rescaleCurve(c, 16384);
  assert.equal(d.contextLength, 16384);
  assert.ok(Math.abs(recoveryAt(d, 2048) - recoveryAt(c, 1024)) < 1e-9);
});

const model = { name: 'm', layers: 1, queryHeads: 2, kvHeads: 1, headDim: 64 };

test('profiles without recall name the missing information', () => {
  const required = { format: 'hplb.profile/1', kind: 'required', model, contextLength: 1024, budgets: [[100, 200]] } as unknown as Profile;
  const r = profileCurves(required, 1024);
  assert.ok(E.isLeft(r));
  assert.match(r.left.issues[0]!.expected, /recall/);
  const xa = { ...required, topP: [[0.9, 0.95]] } as unknown as Profile;
  const rx = profileCurves(xa, 1024);
  assert.ok(E.isLeft(rx) && /top-p targets are mass targets/.test(rx.left.issues[0]!.expected));
  const moa = { format: 'hplb.profile/1', kind: 'elastic', model, alpha: [[100, 0]], beta: [[0, 0.5]] } as unknown as Profile;
  const rm = profileCurves(moa, 1024);
  assert.ok(E.isLeft(rm) && /MoA spans carry no recovery/.test(rm.left.issues[0]!.expected));
  assert.ok(E.isRight(profileCurves(moa, 1024, { spanRecovery: 0.95 })));
  const withRecall = { ...required, recall: [[0.9, null]] } as unknown as Profile;
  const rr = profileCurves(withRecall, 1024);
  assert.ok(E.isLeft(rr) && rr.left.issues[0]!.path === '$.recall[0][1]');
});

test('MInference-style required profiles with recall get power-through-point curves', () => {
  const p = { format: 'hplb.profile/1', kind: 'required', model, contextLength: 131072, budgets: [[1000, 7096]], recall: [[0.9, 0.97]] } as unknown as Profile;
  const r = profileCurves(p, 131072);
  assert.ok(E.isRight(r));
  assert.equal(r.right.model, 'power-through-point');
  assert.ok(Math.abs(recoveryAt(r.right.curves[0]![1]!, 7096) - 0.97) < 0.01);
});

test('duo gates: a streaming head (low gate) keeps most mass at 384 tokens, a retrieval head does not', () => {
  const p = { format: 'hplb.profile/1', kind: 'elastic', model, alpha: [[384, 0]], beta: [[0, 1]], gate: [[0.05]] } as unknown as Profile;
  const r = profileCurves(p, 131072);
  assert.ok(E.isRight(r) && r.right.model === 'duo-gate');
  const q = { ...p, gate: [[0.9]] } as unknown as Profile;
  const rq = profileCurves(q, 131072);
  assert.ok(E.isRight(rq));
  assert.ok(recoveryAt(r.right.curves[0]![0]!, 384) > 0.9 && recoveryAt(rq.right.curves[0]![0]!, 384) < 0.2);
});
