/** The calibration fit: least squares with R², the non-negative intercept rule, and bad flags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLinear } from '@hplb/runtime';
import { run } from '../src/commands/calibrate.ts';
import type { Io } from '../src/io.ts';

const io: Io = { out: () => {}, err: () => {}, tty: false, cwd: process.cwd() };

test('fitLinear recovers an exact line (R² = 1) and reports worse fits', () => {
  const f = fitLinear([1, 2, 3, 4], [2.5, 4.5, 6.5, 8.5]);
  assert.ok(Math.abs(f.intercept - 0.5) < 1e-12 && Math.abs(f.slope - 2) < 1e-12 && Math.abs(f.r2 - 1) < 1e-12);
  const g = fitLinear([1, 2, 3, 4], [1, 3, 2, 4]);
  assert.ok(g.r2 < 0.7 && g.r2 > 0);
});

test('a negative intercept is refitted through the origin (cost models are non-negative)', () => {
  const f = fitLinear([1, 2, 3], [0.5, 2.5, 4.5]);
  assert.equal(f.intercept, 0);
  assert.ok(f.slope > 0);
});

test('calibrate: a missing backend, an unknown backend and a one-point grid are argument errors', async () => {
  await assert.rejects(run([], io), (e: { exitCode: number }) => e.exitCode === 2);
  await assert.rejects(run(['--backend', 'tpu'], io), (e: { error: { issues: { path: string }[] } }) => e.error.issues[0]!.path === '--backend');
  await assert.rejects(run(['--backend', 'cpu', '--contexts', '256', '--fractions', '0.5'], io), (e: { exitCode: number }) => e.exitCode === 2);
  await assert.rejects(run(['--backend', 'cpu', '--head-dim', '512', '--contexts', '64', '--fractions', '0.5,1'], io),
    (e: { error: { issues: { expected: string }[] } }) => /head dim ≤ 256/.test(e.error.issues[0]!.expected));
});
