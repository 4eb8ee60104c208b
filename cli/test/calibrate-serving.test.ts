/** hplb calibrate --serving: the serving step's coefficients are fitted and written (positive, decodable), with their rates in hardware. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { CalibrationC, decode } from '@hplb/core';
import { run as calibrate } from '../src/commands/calibrate.ts';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s; }, err: (s) => { err += s; }, tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

test('hplb calibrate --serving writes positive projection and decode coefficients, and their rates as hardware', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-cal-serving-'));
  try {
    const file = join(dir, 'cal.json');
    const c = capture();
    const args = ['--backend', 'cpu', '--contexts', '256', '--fractions', '0.25,1', '--head-dim', '32', '--repeats', '2', '--max-remeasures', '0', '--force'];
    assert.equal(await calibrate([...args, '--serving', '--serving-hidden', '8,16', '--out', file], c.io), 0, c.err);
    assert.match(c.out, /projections: .* ps\/flop .*\n {2}decode: .* ps\/KV byte/);
    const cal = decode(CalibrationC, JSON.parse(readFileSync(file, 'utf8')));
    assert.ok(E.isRight(cal), JSON.stringify(cal));
    const s = cal.right.serving!;
    assert.ok(s.projection.secondsPerFlop > 0 && s.decode.secondsPerByte > 0, JSON.stringify(s));
    assert.ok(s.projection.fixedSeconds >= 0 && s.decode.fixedSeconds >= 0);
    assert.deepEqual(s.hiddenSizes, [8, 16]);
    assert.equal(s.contextLength, 256);
    assert.ok(Math.abs(cal.right.hardware!.bf16Flops! * s.projection.secondsPerFlop - 1) < 1e-12 && cal.right.hardware!.gemmEfficiency === 1);
    assert.ok(Math.abs(cal.right.hardware!.hbmBytesPerSecond! * s.decode.secondsPerByte - 1) < 1e-12 && cal.right.hardware!.hbmEfficiency === 1);
    // --serving-hidden without --serving is refused, naming it.
    await assert.rejects(calibrate([...args, '--serving-hidden', '8'], capture().io), (e: { error: { issues: { path: string }[] } }) => e.error.issues[0]!.path === '--serving-hidden');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
