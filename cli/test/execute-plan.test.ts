/** hplb execute / hplb calibrate: the CLI JSON and its errors (the executor itself: runtime/test/executor.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Plan } from '@hplb/core';
import { handPlan } from '@hplb/spec';
import { run as execute } from '../src/commands/execute.ts';
import { run as calibrate } from '../src/commands/calibrate.ts';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s; }, err: (s) => { err += s; }, tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

const N = 512;
const tinyPlan = (): Plan => handPlan({
  model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 32 }, contextLength: N, devices: 2,
  budgets: [[128, 256, 512, 64], [64, 64, 128, 256]], placement: [[0, 0, 1, 1], [1, 0, 0, 1]],
  splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 300 }, { device: 0, rowStart: 300, rowEnd: N }] }],
});

test('hplb calibrate --json then hplb execute --calibration --json: {backend, layers: [{layer, predicted, measured}]}', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-exec-'));
  try {
    const cal = join(dir, 'cal.json');
    const c1 = capture();
    assert.equal(await calibrate(['--backend', 'cpu', '--contexts', '256,512', '--fractions', '0.25,1', '--head-dim', '32', '--repeats', '1', '--out', cal, '--json', '--force'], c1.io), 0, c1.err);
    const fit = JSON.parse(c1.out);
    assert.equal(fit.format, 'hplb.calibration/1');
    assert.ok(typeof fit.r2 === 'number' && fit.r2 <= 1);
    assert.equal(fit.samples.length, 12, '2 contexts × 2 budgets, each a whole head and two split parts');
    assert.ok(fit.costModel.perQueryRow >= 0 && fit.reference.contextLength === 256);
    assert.equal(fit.costModel.unit, 'seconds');
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(tinyPlan()));
    const c2 = capture();
    assert.equal(await execute([planFile, '--backend', 'cpu', '--calibration', cal, '--context', '256', '--layers', '1', '--repeats', '1', '--json'], c2.io), 0, c2.err);
    const out = JSON.parse(c2.out);
    assert.equal(out.backend, 'cpu');
    assert.equal(out.contextLength, 256);
    assert.equal(out.layers.length, 1);
    assert.deepEqual(Object.keys(out.layers[0]).slice(0, 3), ['layer', 'predicted', 'measured']);
    assert.ok(out.layers[0].measured > 0 && out.layers[0].predicted > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad inputs: an invalid plan names the field; an unknown backend lists the registered ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-exec-'));
  try {
    const bad = tinyPlan() as unknown as { budgets: number[][] };
    bad.budgets[1]![3] = 9999;
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify(bad));
    await assert.rejects(execute([f, '--backend', 'cpu'], capture().io), (e: { error: { issues: { path: string }[] } }) => {
      assert.ok(e.error.issues.some((i) => i.path === '$.budgets[1][3]'), JSON.stringify(e.error.issues));
      return true;
    });
    await assert.rejects(execute([f, '--backend', 'tpu'], capture().io), (e: { error: { issues: { expected: string }[] } }) => {
      assert.match(e.error.issues[0]!.expected, /cuda\|webgpu\|gpujs\|cpu/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
