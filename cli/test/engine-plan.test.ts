/**
 * `hplb plan --engine-layout --kv-copies r|auto` and `--context N:w,...` through the real CLI dispatcher: the plan
 * validates, carries the engine layout and each length's efficiency, and bad flags exit ≠ 0 with one line.
 * The real-data case is skipped when ../shared/data is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodePlan, validatePlan } from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};
const root = mkdtempSync(join(tmpdir(), 'hplb-eplan-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const model = { name: 'synthetic-engine', layers: 4, queryHeads: 16, kvHeads: 4, headDim: 64 };
const profileFile = join(root, 'profile.json');
writeFileSync(
  profileFile,
  JSON.stringify({
    format: 'hplb.profile/1',
    kind: 'required',
    model,
    contextLength: 8192,
    synthetic: true,
    budgets: Array.from({ length: 4 }, (_, l) => Array.from({ length: 16 }, (_, h) => [256, 512, 1024, 4096, 8192][(h * 7 + l * 3) % 5])),
  }),
);

const valid = (text: string) => {
  const p = decodePlan(JSON.parse(text));
  assert.ok(E.isRight(p), JSON.stringify(E.isLeft(p) ? p.left : ''));
  const v = validatePlan(p.right);
  assert.ok(E.isRight(v), JSON.stringify(E.isLeft(v) ? v.left : ''));
  return JSON.parse(text);
};

test('hplb plan --engine-layout over a length distribution writes a valid plan with every length reported', async () => {
  const out = join(root, 'plan.json');
  const c = capture();
  const code = await main(['plan', '--profile', profileFile, '--format', 'hplb', '--gpus', '4', '--engine-layout', '--kv-copies', '2', '--context', '2048:0.5,8192:0.5', '--out', out], c.io);
  assert.equal(code, 0, c.err);
  assert.match(c.out, /eff@2048/);
  assert.match(c.out, /num_key_value_heads 4 → 8/);
  const plan = valid(readFileSync(out, 'utf8'));
  assert.equal(plan.contextLength, 8192);
  assert.equal(plan.engineLayout.kvCopies, 2);
  assert.deepEqual(plan.engineLayout.lengths.map((p: { contextLength: number }) => p.contextLength), [2048, 8192]);
  assert.equal(plan.constraints.equalHeadsPerDevice, true);
});

test('hplb plan --kv-copies auto --json: one candidate row per feasible r, the chosen one the cheapest', async () => {
  const c = capture();
  assert.equal(await main(['plan', '--profile', profileFile, '--gpus', '4', '--kv-copies', 'auto', '--json'], c.io), 0, c.err);
  const plan = valid(c.out);
  const cands = plan.engineLayout.candidates as { kvCopies: number; expectedLatency: number }[];
  assert.deepEqual(cands.map((x) => x.kvCopies), [1, 2, 4]);
  assert.equal(plan.engineLayout.kvCopies, cands.reduce((a, b) => (b.expectedLatency < a.expectedLatency ? b : a)).kvCopies);
});

test('hplb plan --context N:w,... without --engine-layout: one free placement for every length', async () => {
  const c = capture();
  assert.equal(await main(['plan', '--profile', profileFile, '--gpus', '4', '--context', '1024:0.25,8192:0.75', '--json'], c.io), 0, c.err);
  const plan = valid(c.out);
  assert.equal(plan.lengthDistribution.lengths.length, 2);
  // One placement serves both lengths: the expected latency beats contiguous, though one length may lose.
  const L = plan.lengthDistribution.lengths as { weight: number; attentionTotal: number; contiguousTotal: number }[];
  const expected = L.reduce((s, p) => s + p.weight * p.attentionTotal, 0);
  const contiguous = L.reduce((s, p) => s + p.weight * p.contiguousTotal, 0);
  assert.ok(expected <= contiguous * (1 + 1e-12), `${expected} vs contiguous ${contiguous}`);
});

const expectFail = async (argv: string[], pattern: RegExp) => {
  const c = capture();
  const code = await main(argv, c.io);
  assert.notEqual(code, 0, `expected failure for ${argv.join(' ')}`);
  assert.match(c.err, pattern);
  assert.equal(c.err.trim().split('\n').length, 1, c.err);
};

test('hplb plan engine mode: bad input exits ≠ 0 with one line', async () => {
  const base = ['plan', '--profile', profileFile, '--engine-layout'];
  await expectFail([...base, '--gpus', '3'], /divides the 16 query heads.*feasible: 1, 2, 4, 8, 16/);
  await expectFail([...base, '--gpus', '4', '--kv-copies', '3'], /dividing the group size 4/);
  await expectFail([...base, '--gpus', '4', '--kv-copies', 'two'], /--kv-copies: expected a positive integer/);
  await expectFail([...base, '--gpus', '4', '--context', '2048:0.5,8192:0.4'], /weights that sum to 1/);
  await expectFail([...base, '--gpus', '4', '--context', '2048:x'], /--context: expected a context length N, or a distribution/);
  await expectFail([...base, '--gpus', '4', '--split-heads'], /tier 3/);
  await expectFail([...base, '--gpus', '4', '--speeds', '1,1,1,0.5'], /identical speeds/);
  await expectFail([...base, '--gpus', '4', '--memory-gb', '0.001'], /room for the KV cache/);
});

const data = sharedDataDir();
test('hplb plan --engine-layout on real MInference Llama-3.1-8B budgets at TP 8 (time ∝ budget)', { skip: data ? false : SHARED_DATA_MISSING }, async () => {
  const c = capture();
  const f = join(data!, 'minference/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
  assert.equal(await main(['plan', '--profile', f, '--format', 'minference', '--gpus', '8', '--engine-layout', '--cost', 'budget', '--json', '--time-limit', '0.2'], c.io), 0, c.err);
  const plan = valid(c.out);
  const eff = Object.fromEntries((plan.engineLayout.candidates as { kvCopies: number; efficiencyByLength: number[] }[]).map((x) => [x.kvCopies, x.efficiencyByLength[0]!]));
  assert.ok(Math.abs(eff[1]! - 0.511) < 0.0005);
  assert.ok(eff[2]! >= 0.742 && eff[4]! >= 0.833, JSON.stringify(eff));
});
