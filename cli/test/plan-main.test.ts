/**
 * `hplb plan`, the main job: with no arguments it plans the built-in published MInference profile, prints the
 * [published] rows (contiguous 0.514 and LPT 0.919 balance efficiency at HP 8, as in the README) and the [modelled]
 * rows with notes saying which numbers are which, writes a valid hplb.plan/1 with the published budgets and a
 * before/after plan.svg, byte-identically on a second run; `--profile synthetic` keeps the synthetic curve profile;
 * bad input fails with one clear line and exit ≠ 0; engine flags are delegated to the engine planner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodePlan, publishedDefaultProfile } from '@hplb/core';
import { validatePlan } from '@hplb/core';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const capture = (cwd: string) => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), tty: false, cwd };
  return { io, get out() { return out; }, get err() { return err; } };
};

const tmp = () => mkdtempSync(join(tmpdir(), 'hplb-plan-'));

test('hplb plan with no arguments: the published MInference profile, [published] and [modelled] rows, valid plan.json, before/after plan.svg; byte-identical rerun', { timeout: 240_000 }, async () => {
  const a = tmp();
  const b = tmp();
  try {
    const c = capture(a);
    const code = await main([], c.io);
    assert.equal(code, 0, c.err);
    for (const row of [
      'built-in published profile: MInference Llama-3.1-8B-Instruct',
      // Colocated serving on an H100 (the defaults): moving heads off their KV group costs more decode reads than
      // balancing saves, so the written plan keeps the engines' contiguous split and sheds only the heaviest heads'
      // first rows, each head's decode staying home.
      '[published] contiguous (engines today)', '[published] LPT (paper)', '[published] engine layout (equal heads, K/V x', '[published] hplb (split heads)',
      '[published] hplb serving (split heads)', '[published] hplb serving (KV groups, equal heads)',
      '[published] hplb serving (contiguous + split heads, decode at home) *',
      '[modelled] contiguous + uniform', '[modelled] LPT + max-min (paper)', '[modelled] hplb (split heads + max-min + bubble-fill)',
      'modelled on NVIDIA H100 SXM 80GB (h100-sxm)', 'prefill ms', 'decode ms/tok', 'request ms', 'attention ms', 'KV GB max',
      'regime: attention is 15.9% of contiguous\'s prefill step', 'plan-frontier.svg',
      'balance eff.', 'min rec.', 'published: ', 'modelled: ', 'power-through-point',
    ]) assert.ok(c.out.includes(row), `output lacks "${row}":\n${c.out}`);
    assert.ok(!c.out.includes('SYNTHETIC'), 'the default is not synthetic');
    // The README's real-data numbers at HP 8: contiguous (engines) 0.514, LPT (paper) 0.919 balance efficiency.
    const cell = (name: string, k: number) => Number(c.out.split('\n').find((l) => l.startsWith(name) && !l.startsWith(`${name} (`))!.slice(name.length).replace(/^ \*/, '').trim().split(/\s+/)[k]);
    const eff = (name: string) => cell(name, 8);
    assert.equal(eff('[published] contiguous (engines today)').toFixed(3), '0.514');
    assert.equal(eff('[published] LPT (paper)').toFixed(3), '0.919');
    assert.ok(eff('[published] hplb (split heads)') > 0.999);
    // Whole-step figures: contiguous's prefill 785 ms and decode 2.1 ms per token; attention alone 125 ms.
    assert.equal(cell('[published] contiguous (engines today)', 0).toFixed(0), '785');
    assert.equal(cell('[published] contiguous (engines today)', 4).toFixed(0), '125');
    const text = readFileSync(join(a, 'plan.json'), 'utf8');
    const plan = decodePlan(JSON.parse(text));
    assert.ok(E.isRight(plan));
    assert.ok(E.isRight(validatePlan(plan.right)), 'the written plan passes the independent validator');
    assert.equal(plan.right.format, 'hplb.plan/1');
    assert.equal(plan.right.model.name, 'Llama-3.1-8B-Instruct');
    assert.equal(plan.right.contextLength, 131072);
    assert.equal((plan.right.budgetPolicy as { name: string }).name, 'profile');
    assert.equal(plan.right.devices.length, 8);
    const sv = plan.right.serving!;
    assert.equal(sv.hardware, 'h100-sxm');
    assert.equal(sv.workload.mode, 'colocated');
    assert.ok(Math.abs(sv.requestMs - (sv.prefillMs + 256 * sv.decodeMsPerToken)) < 1e-6);
    assert.ok(sv.fits);
    // Never worse than contiguous by the model; decode per token exactly contiguous's (each head decodes at home).
    const contiguousRequest = cell('[published] contiguous (engines today)', 2);
    assert.ok(sv.requestMs < contiguousRequest, `${sv.requestMs} vs ${contiguousRequest}`);
    assert.equal(sv.decodeMsPerToken.toFixed(3), cell('[published] contiguous (engines today)', 1).toFixed(3));
    // The written budgets are the published ones, and its recovery the published recall.
    const pub = publishedDefaultProfile();
    assert.ok(E.isRight(pub));
    assert.deepEqual(plan.right.budgets, pub.right.profile.budgets.map((row) => row.map((x) => Math.min(x, 131072))));
    assert.ok(plan.right.recovery && Math.abs(plan.right.recovery.min - 0.4383) < 1e-4);
    const svg = readFileSync(join(a, 'plan.svg'), 'utf8');
    assert.equal(svg.split('<g class="panel"').length - 1, 2, 'before and after panels');
    assert.ok(svg.includes('data-label="[published] contiguous (engines today)"'));
    const frontier = readFileSync(join(a, 'plan-frontier.svg'), 'utf8');
    assert.ok(frontier.includes('written plan: [published] hplb serving (contiguous + split heads, decode at home)') && frontier.includes('contiguous: [published] contiguous (engines today)'));
    // Same inputs and seed: the same bytes, through --out-dir this time.
    const c2 = capture(tmp());
    assert.equal(await main(['plan', '--out-dir', b], c2.io), 0, c2.err);
    assert.equal(readFileSync(join(b, 'plan.json'), 'utf8'), text, 'plan.json differs between two identical runs');
    assert.equal(readFileSync(join(b, 'plan.svg'), 'utf8'), svg, 'plan.svg differs between two identical runs');
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('--profile synthetic keeps the synthetic curve profile and the curve policies (max-min + bubble-fill)', { timeout: 180_000 }, async () => {
  const a = tmp();
  try {
    const c = capture(a);
    assert.equal(await main(['plan', '--profile', 'synthetic', '--out-dir', a], c.io), 0, c.err);
    for (const row of ['contiguous + uniform', 'LPT + max-min (paper)', 'hplb (split heads + max-min + bubble-fill)', 'SYNTHETIC']) assert.ok(c.out.includes(row), `table lacks "${row}":\n${c.out}`);
    const plan = decodePlan(JSON.parse(readFileSync(join(a, 'plan.json'), 'utf8')));
    assert.ok(E.isRight(plan) && E.isRight(validatePlan(plan.right)));
    assert.equal((plan.right.budgetPolicy as { name: string }).name, 'bubble-fill');
    assert.equal((plan.right.source as { synthetic: boolean }).synthetic, true);
    assert.ok(plan.right.recovery && plan.right.recovery.min > 0.5);
    const block = 64;
    plan.right.budgets.forEach((row) => row.forEach((x) => assert.ok(x >= block && x <= plan.right.contextLength && (x % block === 0 || Number(x) === Number(plan.right.contextLength)))));
  } finally {
    rmSync(a, { recursive: true, force: true });
  }
});

const failsWith = async (argv: string[], pattern: RegExp, cwd = tmp()) => {
  const c = capture(cwd);
  const code = await main(['plan', ...argv], c.io);
  assert.notEqual(code, 0, `${argv.join(' ')} succeeded`);
  assert.match(c.err, pattern);
  assert.equal(c.err.trim().split('\n').length, 1, `more than one line: ${c.err}`);
  assert.ok(!/\n\s+at /.test(c.err), 'no stack trace');
  assert.ok(!existsSync(join(cwd, 'plan.json')), 'nothing written on failure');
};

test('bad input: density and p outside (0, 1], total below one block per head', async () => {
  await failsWith(['--density', '0'], /--density: expected a density in \(0, 1\]/);
  await failsWith(['--density', '1.5'], /--density: expected a density in \(0, 1\]/);
  await failsWith(['--policy', 'top-p', '--p', '0'], /--p: expected a recovery target p in \(0, 1\]/);
  await failsWith(['--policy', 'top-p', '--p', '1.2'], /--p: expected a recovery target p in \(0, 1\]/);
  await failsWith(['--total-tokens', '1000'], /--total-tokens: expected a total of at least one block per head: 1024 heads × 64 tokens = 65536/);
  await failsWith(['--total-work', '1e6'], /--total-work: expected a total of at least one block per head: 1024 heads × W\(64, 131072\) token pairs/);
  await failsWith(['--density', '0.1', '--total-tokens', '1e9'], /expected one of --density, --total-tokens or --total-work/);
  await failsWith(['--cost-model', 'tpu'], /--cost-model: expected one of work\|paper-budget\|cuda-h100\|cpu/);
  await failsWith(['--cost-model', 'cpu', '--cost', 'work'], /--cost-model: expected either --cost-model or --cost\/--calibration/);
  await failsWith(['--link-gbps', '450'], /--link-gbps: expected a cost model in seconds/);
  await failsWith(['--policy', 'nope'], /--policy: expected one of uniform\|top-p\|max-min\|bubble-fill\|joint\|profile/);
});

test('a policy that needs curves, on a profile without them, names the missing information', async () => {
  const dir = tmp();
  const file = join(dir, 'budgets-only.json');
  writeFileSync(file, JSON.stringify({
    format: 'hplb.profile/1', kind: 'required', model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 64 }, contextLength: 4096,
    budgets: [[512, 1024, 256, 2048], [128, 4096, 640, 900]],
  }));
  await failsWith(['--profile', file, '--policy', 'max-min', '--gpus', '2'], /budgets-only\.json: at \$\.recall: expected per-head recall .*--policy max-min needs recovery curves/);
  // The profile's own budgets still plan (policy "profile"), with recovery n/a.
  const c = capture(dir);
  assert.equal(await main(['plan', '--profile', file, '--gpus', '2', '--out-dir', dir], c.io), 0, c.err);
  assert.match(c.out, /recovery: n\/a/);
  const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
  assert.deepEqual(plan.budgets, [[512, 1024, 256, 2048], [128, 4096, 640, 900]]);
  assert.equal(plan.budgetPolicy.name, 'profile');
});

test('policies run on a small curve profile: uniform, top-p, max-min, joint (with trajectory), --json', { timeout: 120_000 }, async () => {
  const dir = tmp();
  const file = join(dir, 'curves.json');
  const n = 8192;
  const grid = [0, 64, 256, 1024, 4096, 8192];
  const curve = (k: number) => ({ tokens: grid, mass: grid.map((t) => (t === 0 ? 0 : t >= n ? 1 : Math.min(0.999, 1 - Math.exp(-t / (100 + 700 * k))))) });
  writeFileSync(file, JSON.stringify({
    format: 'hplb.profile/1', kind: 'curve', model: { name: 'tiny', layers: 3, queryHeads: 4, kvHeads: 2, headDim: 64 }, contextLength: n,
    curves: [0, 1, 2].map((l) => [0, 1, 2, 3].map((h) => curve((l + 2 * h) % 5))),
  }));
  for (const policy of ['uniform', 'top-p', 'max-min', 'joint']) {
    const c = capture(dir);
    assert.equal(await main(['plan', '--profile', file, '--gpus', '2', '--policy', policy, '--density', '0.1', '--out-dir', join(dir, policy)], c.io), 0, `${policy}: ${c.err}`);
    const plan = JSON.parse(readFileSync(join(dir, policy, 'plan.json'), 'utf8'));
    assert.equal(plan.budgetPolicy.name, policy);
    assert.ok(plan.recovery.min > 0);
    if (policy === 'joint') assert.match(c.out, /joint trajectory: round 0/);
  }
  const j = capture(dir);
  assert.equal(await main(['plan', '--profile', file, '--gpus', '2', '--json'], j.io), 0, j.err);
  assert.equal(JSON.parse(j.out).format, 'hplb.plan/1');
  assert.ok(!existsSync(join(dir, 'plan.json')), '--json alone writes no files');
});

test('engine flags are delegated to the engine planner', async () => {
  const c = capture(tmp());
  const code = await main(['plan', '--engine-layout', '--help'], c.io);
  assert.equal(code, 0, c.err);
  assert.match(c.out, /--engine-layout/);
  assert.match(c.out, /--kv-copies/);
});
