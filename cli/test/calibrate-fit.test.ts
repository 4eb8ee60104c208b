/** hplb calibrate's bad flags (the fit itself: runtime/test/calibration-fit.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/commands/calibrate.ts';
import type { Io } from '../src/io.ts';

const io: Io = { out: () => {}, err: () => {}, tty: false, cwd: process.cwd() };

test('calibrate: a missing backend, an unknown backend and a one-point grid are argument errors', async () => {
  await assert.rejects(run([], io), (e: { exitCode: number }) => e.exitCode === 2);
  await assert.rejects(run(['--backend', 'tpu'], io), (e: { error: { issues: { path: string }[] } }) => e.error.issues[0]!.path === '--backend');
  await assert.rejects(run(['--backend', 'cpu', '--contexts', '256', '--fractions', '0.5'], io), (e: { exitCode: number }) => e.exitCode === 2);
  await assert.rejects(run(['--backend', 'cpu', '--head-dim', '512', '--contexts', '64', '--fractions', '0.5,1'], io),
    (e: { error: { issues: { expected: string }[] } }) => /head dim ≤ 256/.test(e.error.issues[0]!.expected));
});

test('calibrate: library errors come back under the flags that set them', async () => {
  // two fractions that round to the same whole-block budget leave one grid point: the library's options.fractions
  await assert.rejects(run(['--backend', 'cpu', '--contexts', '256', '--fractions', '0.01,0.02', '--head-dim', '32'], io), (e: { error: { issues: { path: string; expected: string }[] } }) => {
    assert.equal(e.error.issues[0]!.path, '--fractions');
    assert.match(e.error.issues[0]!.expected, /distinct whole-block budgets/);
    return true;
  });
});
