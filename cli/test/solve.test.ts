/**
 * `hplb solve` through the real dispatcher (in-process, captured Io) and the shared solver flags: the --json fields,
 * the shared bench file by --name, constraints in the instance, and one-line errors for bad input (zero GPUs, time
 * limit ≤ 0, impossible equal heads naming the nearest GPU counts, unknown instance, speed / memory list lengths).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findModel } from '@hplb/core';
import { sharedBenchDir } from '@hplb/core/node';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';
import { parseArgs } from '../src/args.ts';
import { CliFailure } from '../src/io.ts';
import { SOLVER_FLAG_SPEC, readSolverFlags } from '../src/solverFlags.ts';

const run = async (...argv: string[]) => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: process.cwd() };
  const code = await main(['solve', ...argv], io);
  return { code, out, err };
};
const dir = mkdtempSync(join(tmpdir(), 'hplb-solve-'));
const write = (name: string, v: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(v));
  return f;
};

test('solve --json prints {makespan, lowerBound, status, gap, seconds, assignment} and proves a small instance', async () => {
  const f = write('a.json', { costs: [5, 5, 4, 4, 3, 3, 3], gpus: 3 });
  const r = await run(f, '--json', '--time-limit', '2');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), ['makespan', 'lowerBound', 'status', 'gap', 'seconds', 'assignment']);
  assert.equal(j.makespan, 9);
  assert.equal(j.status, 'optimal');
  assert.equal(j.gap, 0);
  const loads = [0, 0, 0];
  j.assignment.forEach((d: number, i: number) => { loads[d] += [5, 5, 4, 4, 3, 3, 3][i]!; });
  assert.equal(Math.max(...loads), 9);
  const lpt = JSON.parse((await run(f, '--json', '--solver', 'lpt')).out);
  assert.equal(lpt.makespan, 11);
});

test('solve honours constraints in the instance (equal heads, groups, pinned, speeds)', async () => {
  const f = write('c.json', { costs: [6, 1, 1, 1, 2, 2, 5, 5], gpus: 2, constraints: { equalHeadsPerDevice: true, groups: [[0, 1], [2, 3], [4, 5], [6, 7]], pinned: [{ item: 0, device: 1 }], speeds: [1, 2] } });
  const r = await run(f, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.assignment[0], 1);
  for (const [a, b] of [[0, 1], [2, 3], [4, 5], [6, 7]]) assert.equal(j.assignment[a], j.assignment[b]);
  assert.equal(j.assignment.filter((d: number) => d === 0).length, 4);
  // Optimality against brute force is the laws' job (solvers/test/laws.test.ts); here: valid and no worse than LPT.
  const lpt = JSON.parse((await run(f, '--json', '--solver', 'lpt')).out);
  assert.ok(j.makespan <= lpt.makespan);
});

test('solve reads the shared bench file with --name', { skip: sharedBenchDir() ? false : 'shared bench file absent' }, async () => {
  const f = join(sharedBenchDir()!, 'partition-instances.json');
  const r = await run(f, '--name', 'GrahamLPTworst_k4', '--json', '--time-limit', '1');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).makespan, 12);
  const bad = await run(f, '--name', 'nope');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--name: expected one of the 29 instances/);
});

test('bad input: one line, exit ≠ 0, naming what was expected', async () => {
  const zero = await run(write('z.json', { costs: [1, 2], gpus: 0 }));
  assert.notEqual(zero.code, 0);
  assert.match(zero.err, /\$\.gpus: expected at least one GPU/);
  const tl = await run(write('t.json', { costs: [1, 2], gpus: 2 }), '--time-limit', '0');
  assert.equal(tl.code, 2);
  assert.match(tl.err, /--time-limit: expected a time limit in seconds > 0/);
  const eq = await run(write('e.json', { costs: [1, 2, 3], gpus: 2, constraints: { equalHeadsPerDevice: true } }));
  assert.equal(eq.code, 1);
  assert.match(eq.err, /equalHeadsPerDevice.*nearest feasible GPU counts: 1, 3/);
  const sp = await run(write('s.json', { costs: [1, 2, 3], gpus: 2, constraints: { speeds: [1] } }));
  assert.match(sp.err, /2 speeds, one per GPU/);
  const shape = await run(write('x.json', { costs: 'no', gpus: 2 }));
  assert.match(shape.err, /\$\.costs/);
  for (const r of [zero, tl, eq, sp, shape]) assert.equal(r.err.trim().split('\n').length, 1, r.err);
});

const flags = (...argv: string[]) => parseArgs(argv, SOLVER_FLAG_SPEC);
const llama8 = findModel('Llama-3.1-8B-Instruct')!;
const failure = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof CliFailure) return `${e.error.code} ${e.exitCode} ${e.error.issues.map((i) => `${i.path}: ${i.expected} / ${i.actual ?? ''}`).join('; ')}`;
    throw e;
  }
  return 'no failure';
};

test('readSolverFlags: devices, constraints, cost model and split heads', () => {
  const f = readSolverFlags(flags('--gpus', '4', '--speeds', '1,1,0.5,0.5', '--memory-gb', '40', '--kv', 'group', '--equal-heads', '--split-heads', '--max-splits', '3', '--time-limit', '0.5', '--solver', 'exact', '--seed', '9'), llama8, 131072);
  assert.equal(f.devices.length, 4);
  assert.deepEqual(f.devices.map((d) => d.speed), [1, 1, 0.5, 0.5]);
  assert.equal(f.devices[0]!.memoryBytes, 40e9);
  assert.deepEqual(f.constraints, { equalHeadsPerDevice: true, kv: 'group' });
  assert.equal(f.timeLimitMs, 500);
  assert.equal(f.solver, 'exact');
  assert.deepEqual(f.splitHeads, { maxSplits: 3 });
  assert.equal(f.costModel.name, 'work');
  assert.equal(readSolverFlags(flags('--gpus', '2', '--cost', 'budget'), llama8, 1024).costModel.workModel, 'budget');
});

test('readSolverFlags: the issue’s bad inputs fail with clear, typed errors', () => {
  assert.match(failure(() => readSolverFlags(flags('--gpus', '0'), llama8, 1024)), /argument 2 --gpus: at least one GPU/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '3', '--speeds', '1,1'), llama8, 1024)), /--speeds: 3 speeds, one per GPU/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '3', '--memory-gb', '1,1'), llama8, 1024)), /--memory-gb: one value for all GPUs or 3 values/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '2', '--time-limit', '-1'), llama8, 1024)), /--time-limit/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '3', '--equal-heads'), llama8, 1024)), /infeasible 1 --equal-heads: .*32 query heads.*--gpus 2 or 4/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '16', '--equal-heads', '--kv', 'group'), llama8, 1024)), /8 whole GQA groups.*--gpus 8/);
  // 32 layers × 8 KV heads × 64 MB at N=131072 = 17.2 GB: 4 GPUs × 4 GB cannot hold one copy of each.
  assert.match(failure(() => readSolverFlags(flags('--gpus', '4', '--memory-gb', '4'), llama8, 131072)), /infeasible 1 --memory-gb: room for one copy of every KV head: 17\.18 GB/);
  assert.match(failure(() => readSolverFlags(flags('--gpus', '2', '--solver', 'magic'), llama8, 1024)), /--solver: one of auto\|exact/);
});
