/**
 * Execution modes of the executor: backends declaring `capabilities.workerThreads: false` (gpujs GPU mode:
 * headless-gl loads in one thread per process) run every simulated device on the main thread, one after another,
 * with each device's busy time measured on its own; both modes compute the same outputs; a device's failure is
 * reported with the backend's full reason; `--backend-option key=value` reaches createBackend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, type CostModel, type Plan } from '@hplb/core';
import { handPlan } from '@hplb/spec';
import { makeAttentionParams } from '@hplb/core/kernel';
import { executePlan, type ExecutionResult } from '@hplb/runtime';
import { parseBackendOptions, takeBackendOptions } from '../src/backendFlags.ts';
import { loadBackend } from '@hplb/runtime';
import { run as execute } from '../src/commands/execute.ts';
import { run as calibrate } from '../src/commands/calibrate.ts';
import { CliFailure, type Io } from '../src/io.ts';

const capture = () => {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s; }, err: (s) => { err += s; }, tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

const N = 256;
/** 2 layers × 4 heads on 3 devices (device 2 idle in layer 1), head 2 of layer 0 split over devices 1 and 0. */
const tinyPlan = (): Plan => handPlan({
  model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 32 }, contextLength: N, devices: 3,
  budgets: [[64, 128, 256, 64], [64, 64, 128, 256]], placement: [[0, 2, 1, 1], [1, 0, 0, 1]],
  splits: [{ layer: 0, head: 2, parts: [{ device: 1, rowStart: 0, rowEnd: 150 }, { device: 0, rowStart: 150, rowEnd: N }] }],
});
const costModel: CostModel = { name: 'test', unit: 'seconds', workModel: 'pairs', fixed: 1e-4, perTokenPair: 2e-9 };
const key = (o: { layer: number; head: number; start: number }) => `${o.layer}/${o.head}/${o.start}`;

const checkShape = (r: ExecutionResult) => {
  assert.equal(r.layers.length, 2);
  for (const l of r.layers) {
    assert.equal(l.measuredDeviceBusy.length, 3);
    assert.equal(l.measured, Math.max(...l.measuredDeviceBusy));
  }
  // layer 0: every device has work; layer 1: device 2 has none, so its busy time is exactly 0
  assert.ok(r.layers[0]!.measuredDeviceBusy.every((b) => b > 0), JSON.stringify(r.layers[0]!.measuredDeviceBusy));
  assert.equal(r.layers[1]!.measuredDeviceBusy[2], 0);
  assert.ok(r.layers[1]!.measuredDeviceBusy[0]! > 0 && r.layers[1]!.measuredDeviceBusy[1]! > 0);
};

test('serial execution (devices one after another on this thread) measures each device and computes what workers compute', async () => {
  const serial = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, clock: 'wall', keepOutputs: true, execution: 'serial', concurrency: 3, repeats: 2 });
  assert.ok(E.isRight(serial), E.isLeft(serial) ? formatError(serial.left) : '');
  assert.equal(serial.right.execution, 'serial');
  assert.equal(serial.right.concurrency, 1, 'serial execution runs one device at a time whatever --concurrency says');
  checkShape(serial.right);
  const workers = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, clock: 'wall', keepOutputs: true });
  assert.ok(E.isRight(workers), E.isLeft(workers) ? formatError(workers.left) : '');
  assert.equal(workers.right.execution, 'workers', 'the cpu backend declares no workerThreads limit');
  checkShape(workers.right);
  const byKey = new Map(workers.right.outputs!.map((o) => [key(o), o] as const));
  assert.equal(serial.right.outputs!.length, workers.right.outputs!.length);
  for (const o of serial.right.outputs!) {
    const w = byKey.get(key(o));
    assert.ok(w !== undefined, key(o));
    assert.equal(o.device, w.device);
    assert.deepEqual(o.out, w.out);
    assert.deepEqual(o.lse, w.lse);
  }
});

test('gpujs GPU mode (workerThreads: false) runs a multi-device plan serially on the thread that holds headless-gl', async (t) => {
  const p = makeAttentionParams({ tokens: N, headDim: 32, blockSize: 64 });
  assert.ok(E.isRight(p));
  // Load headless-gl on this (main) thread first, as `hplb execute` does when it calibrates: a worker thread could
  // not load it any more, so this run only passes in serial execution.
  const probe = await loadBackend('gpujs', { mode: 'gpu' }, p.right);
  if (E.isLeft(probe)) { t.skip(`gpujs GPU mode cannot start here: ${formatError(probe.left)}`); return; }
  assert.equal(probe.right.backend.capabilities.workerThreads, false);
  await probe.right.backend.dispose();
  const r = await executePlan(tinyPlan(), { backend: 'gpujs', backendOptions: { mode: 'gpu' }, contextLength: N, costModel, clock: 'wall', keepOutputs: true });
  assert.ok(E.isRight(r), E.isLeft(r) ? formatError(r.left) : '');
  assert.equal(r.right.execution, 'serial');
  assert.match(r.right.device, /headless-gl/);
  checkShape(r.right);
  // the same outputs as the CPU reference, within fp32 tolerance
  const cpu = await executePlan(tinyPlan(), { backend: 'cpu', contextLength: N, costModel, clock: 'wall', keepOutputs: true, execution: 'serial' });
  assert.ok(E.isRight(cpu));
  const ref = new Map(cpu.right.outputs!.map((o) => [key(o), o.out] as const));
  for (const o of r.right.outputs!) {
    const e = ref.get(key(o))!;
    for (let i = 0; i < e.length; i++) assert.ok(Math.abs(o.out[i]! - e[i]!) <= 1e-4 * (1 + Math.abs(e[i]!)), `${key(o)}[${i}]: ${o.out[i]} vs ${e[i]}`);
  }
});

test('a device that cannot start reports the backend\'s full reason, not a 40-character excerpt', async () => {
  const r = await executePlan(tinyPlan(), { backend: 'cpu', backendOptions: { workers: -1 }, contextLength: N, costModel, clock: 'wall' });
  assert.ok(E.isLeft(r));
  const text = formatError(r.left);
  assert.match(text, /\$\.backends\.cpu\.workers: expected a worker count in \[0, 256\], got -1/, text);
  assert.doesNotMatch(text, /…/);
});

test('--backend-option key=value: repeatable, comma-separated, typed; malformed values name the flag', () => {
  const t = takeBackendOptions(['plan.json', '--backend-option', 'mode=cpu,idleReleaseMs=0', '--json', '--backend-option=flag=true', '--backend', 'x']);
  assert.deepEqual(t.argv, ['plan.json', '--json', '--backend', 'x']);
  assert.deepEqual(t.options, { mode: 'cpu', idleReleaseMs: 0, flag: true });
  assert.equal(takeBackendOptions(['--json']).options, undefined);
  for (const bad of [['--backend-option', 'mode'], ['--backend-option', '=cpu'], ['--backend-option', 'mode='], ['--backend-option'], ['--backend-option', 'a=1,,b=2'], ['--backend-option', 'a=1', '--backend-option', 'a=2']]) {
    assert.throws(() => takeBackendOptions(bad), (e: unknown) => {
      assert.ok(e instanceof CliFailure, String(e));
      assert.equal(e.error.issues[0]!.path, '--backend-option');
      return true;
    }, bad.join(' '));
  }
  assert.deepEqual(parseBackendOptions(['x=1e3', 'y=-2.5', 'z=0x10']), { x: 1000, y: -2.5, z: '0x10' });
});

test('hplb calibrate and hplb execute forward --backend-option to the backend (and its checks)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-exec-serial-'));
  try {
    const c1 = capture();
    assert.equal(await calibrate(['--backend', 'cpu', '--contexts', '256', '--fractions', '0.25,1', '--head-dim', '32', '--repeats', '1', '--backend-option', 'workers=1', '--json', '--force'], c1.io), 0, c1.err);
    assert.match(JSON.parse(c1.out).machine, /1 worker threads/);
    await assert.rejects(calibrate(['--backend', 'cpu', '--contexts', '256', '--fractions', '0.25,1', '--backend-option', 'mode=cpu'], capture().io), (e: CliFailure) => {
      assert.equal(e.error.issues[0]!.path, '$.backends.cpu.mode');
      return true;
    });
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(tinyPlan()));
    const c2 = capture();
    assert.equal(await execute([planFile, '--backend', 'gpujs', '--backend-option', 'mode=cpu', '--context', '128', '--layers', '1', '--repeats', '1', '--json'], c2.io), 0, c2.err);
    const out = JSON.parse(c2.out);
    assert.equal(out.execution, 'workers', 'gpujs CPU mode declares worker threads');
    assert.match(out.device, /CPU mode/);
    const c3 = capture();
    assert.equal(await execute([planFile, '--backend', 'cpu', '--execution', 'serial', '--context', '128', '--layers', '1', '--repeats', '1'], c3.io), 0, c3.err);
    assert.match(c3.out, /execution serial/);
    await assert.rejects(execute([planFile, '--backend', 'cpu', '--backend-option', 'workers'], capture().io), (e: CliFailure) => {
      assert.equal(e.error.issues[0]!.path, '--backend-option');
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
