/**
 * hplb execute --phases prefill,decode: one table per phase (and `phases` in the JSON) with finite predicted and
 * measured figures, predicted from a calibration file's serving coefficients; bad --phases and --hidden are named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handPlan } from '@hplb/spec';
import { run as execute } from '../src/commands/execute.ts';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s; }, err: (s) => { err += s; }, tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

const N = 256;
const plan = handPlan({
  model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 32 }, contextLength: N, devices: 2,
  budgets: [[64, 128, 256, 32], [32, 32, 64, 128]], placement: [[0, 0, 1, 1], [1, 0, 0, 1]],
  splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 150 }, { device: 0, rowStart: 150, rowEnd: N }] }],
});
/** A calibration file as `hplb calibrate --serving` writes it (the coefficients made up, of the CPU's order). */
const calibration = {
  format: 'hplb.calibration/1', backend: 'cpu', device: 'test', precision: 'fp32', blockSize: 64, headDim: 32,
  costModel: { name: 'test', unit: 'seconds', workModel: 'pairs', fixed: 1e-5, perTokenPair: 2e-9, perQueryRow: 1e-7 },
  fit: { fixedSeconds: 1e-5, secondsPerBlock: 1e-5, r2: 1 },
  serving: { projection: { fixedSeconds: 2e-5, secondsPerFlop: 3e-10, secondsPerRow: 1e-7 }, decode: { fixedSeconds: 5e-6, secondsPerByte: 1e-9 } },
};

test('hplb execute --phases prefill,decode --hidden: a table per phase; the JSON holds each phase with finite figures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-exec-phases-'));
  try {
    const planFile = join(dir, 'plan.json'), cal = join(dir, 'cal.json');
    writeFileSync(planFile, JSON.stringify(plan));
    writeFileSync(cal, JSON.stringify(calibration));
    const args = [planFile, '--backend', 'cpu', '--calibration', cal, '--context', String(N), '--repeats', '2', '--max-remeasures', '0', '--phases', 'prefill,decode', '--hidden', '16'];
    const text = capture();
    assert.equal(await execute(args, text.io), 0, text.err);
    assert.match(text.out, /hidden 16, decode dense/);
    assert.match(text.out, /\nprefill: core servingCost[^\n]*\nlayer {2}predicted ms/);
    assert.match(text.out, /\ndecode: core servingCost[^\n]*\nlayer {2}predicted ms/);
    const json = capture();
    assert.equal(await execute([...args, '--json'], json.io), 0, json.err);
    const out = JSON.parse(json.out);
    assert.deepEqual(Object.keys(out.phases), ['prefill', 'decode']);
    for (const p of Object.values(out.phases) as { layers: { predicted: number; measured: number }[]; makespanError: { median: number } }[]) {
      assert.equal(p.layers.length, 2);
      for (const l of p.layers) assert.ok(Number.isFinite(l.predicted) && l.predicted > 0 && Number.isFinite(l.measured) && l.measured > 0, JSON.stringify(l));
      assert.ok(Number.isFinite(p.makespanError.median));
    }
    await assert.rejects(execute([...args.slice(0, -4), '--phases', 'prefill,train'], capture().io), (e: { error: { issues: { path: string }[] } }) => e.error.issues[0]!.path === '--phases');
    await assert.rejects(execute([...args.slice(0, -2)], capture().io), (e: { error: { issues: { path: string }[] } }) => e.error.issues[0]!.path === '--hidden');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
