/**
 * The serving step (core serving.ts) and planning against it (issue 20): the arithmetic by hand on a small model,
 * decode on a split head's last part, dense against sparse decode, the KV projection charged once per group and once
 * per copy, the plan's serving block checked by the validator, bad input as one-line Lefts, and the law the planner
 * promises: the written plan's objective is never above contiguous's, over every shared profile at HP 2/4/8 in both
 * workloads (skipped with the reason when ../shared/data is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  HARDWARE_PRESETS, allReduceSeconds, attentionCostModel, deviceLoadsOfLayer, formatError, headCost, registeredModel, resolveHardware,
  resolveWorkload, servingCost, servingCostModel, validatePlan, type ModelDims, type ModelShape,
} from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';
import { comparePipelines, loadProfileText, planProfile, publishedLoadedProfile, type LoadProfileOptions, type LoadedProfile } from '@hplb/planner';

const defaultProfile = publishedLoadedProfile;
const loadProfile = (file: string, o: LoadProfileOptions = {}) => loadProfileText(readFileSync(file, 'utf8'), { ...o, fileName: file });

const hw = HARDWARE_PRESETS['h100-sxm']!;
const m: ModelShape = { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 64 };
const dims: ModelDims = { hiddenSize: 256, intermediateSize: 1024, vocabSize: 1000, tieWordEmbeddings: false, weightDtype: 'bfloat16', weightBytesPerElement: 2, source: 'test' };
const n = 4096;
const budgets = [[512, 1024, 2048, 4096], [256, 256, 256, 256]];

test('prefill: per-GPU block = attention + Q/O per row + K/V per KV head held; MLP and 2 all-reduces per layer; by hand', () => {
  const placement = [[0, 0, 1, 1], [0, 1, 0, 1]];
  const w = { mode: 'prefill' as const, outputTokens: 0, batch: 1 };
  const c = servingCost({ model: m, dims, hardware: hw, workload: w, contextLength: n, budgets, placement, speeds: [1, 1] });
  const att = attentionCostModel(hw, m.headDim);
  const F = hw.bf16Flops * hw.gemmEfficiency;
  const qoRow = (2 * 2 * dims.hiddenSize * m.headDim) / F;
  const kvTok = qoRow;
  // Layer 0: GPU 0 holds heads 0, 1 (KV head 0), GPU 1 heads 2, 3 (KV head 1): no copies.
  const g0 = headCost(att, 512, n) + headCost(att, 1024, n) + 2 * n * qoRow + n * kvTok;
  const g1 = headCost(att, 2048, n) + headCost(att, 4096, n) + 2 * n * qoRow + n * kvTok;
  assert.ok(Math.abs(c.prefillBlockLoads[0]![0]! - g0) / g0 < 1e-12);
  assert.ok(Math.abs(c.prefillBlockLoads[0]![1]! - g1) / g1 < 1e-12);
  // Layer 1: heads alternate, so each GPU holds both KV heads: one home each plus one copy each.
  const l1 = 2 * headCost(att, 256, n) + 2 * n * qoRow + 2 * n * kvTok;
  for (const v of c.prefillBlockLoads[1]!) assert.ok(Math.abs(v - l1) / l1 < 1e-12);
  const mlp = Math.max((6 * dims.hiddenSize * dims.intermediateSize * n) / 2 / F, (3 * dims.hiddenSize * dims.intermediateSize * 2) / 2 / (hw.hbmBytesPerSecond * hw.hbmEfficiency));
  const common = mlp + 2 * allReduceSeconds(hw, n * dims.hiddenSize * 2, 2);
  assert.ok(Math.abs(c.prefillCommonSeconds - common) / common < 1e-12);
  const prefill = (Math.max(g0, g1) + l1 + 2 * common) * 1e3;
  assert.ok(Math.abs(c.prefillMs - prefill) / prefill < 1e-12);
  assert.equal(c.requestMs, c.prefillMs, 'prefill mode: the objective is prefill');
  // The planner's loads with the serving cost model are the same numbers (one arithmetic).
  const cm = servingCostModel(hw, m, dims);
  const loads = deviceLoadsOfLayer({ model: m, contextLength: n, budgets: budgets[1]!, speeds: [1, 1], placement: placement[1]!, costModel: cm });
  assert.deepEqual(loads, c.prefillBlockLoads[1]);
});

test('decode: a split head decodes on its last part; dense decode reads N + T/2 per KV head, sparse reads the budget', () => {
  const placement = [[0, 0, 0, 0], [0, 0, 0, 0]];
  const splits = [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 1024 }, { device: 1, rowStart: 1024, rowEnd: n }] }];
  const w = { mode: 'colocated' as const, outputTokens: 100, batch: 2 };
  const dense = servingCost({ model: m, dims, hardware: hw, workload: w, contextLength: n, budgets, placement, splits, speeds: [1, 1] });
  const headW = 2 * dims.hiddenSize * m.headDim * 2;
  const kvTok = 2 * m.headDim * 2;
  // GPU 1 decodes head 0 (its last part): Q/O rows of one head, K/V rows of KV head 0 and its KV for 2 sequences.
  assert.equal(dense.decodeBytes[0]![1], headW + headW + 2 * (n + 50) * kvTok);
  // GPU 0 decodes heads 1-3 (KV heads 0 and 1).
  assert.equal(dense.decodeBytes[0]![0], 3 * headW + 2 * (headW + 2 * (n + 50) * kvTok));
  const sparse = servingCost({ model: m, dims, hardware: hw, workload: w, contextLength: n, budgets, placement, splits, speeds: [1, 1], decodeSparse: true });
  assert.equal(sparse.decodeBytes[0]![1], 2 * headW + 2 * 512 * kvTok, 'head 0 reads its budget 512');
  assert.ok(sparse.decodeMsPerToken < dense.decodeMsPerToken);
  assert.ok(Math.abs(dense.requestMs - (dense.prefillMs + 100 * dense.decodeMsPerToken)) < 1e-9);
  // KV memory: GPU 1's copy of KV head 0 is read by decode (N + T tokens); GPU 0 keeps both KV heads of both layers.
  assert.equal(dense.kvBytesPerDevice[1], 2 * (n + 100) * kvTok);
  assert.equal(dense.kvBytesPerDevice[0], 2 * 2 * 2 * (n + 100) * kvTok);
});

test('bad input: unknown hardware, efficiency above 1, negative or fractional token counts are Lefts at their paths', () => {
  const h = resolveHardware('b200');
  assert.ok(E.isLeft(h) && /at \$\.hardware: expected a hardware preset: one of h100-sxm\|h200\|a100-80gb, got "b200"/.test(formatError(h.left)));
  const e = resolveHardware('h200', { hbmEfficiency: 1.5 });
  assert.ok(E.isLeft(e) && e.left.issues[0]!.path === '$.hardware.hbmEfficiency');
  const o = resolveWorkload({ outputTokens: -1 });
  assert.ok(E.isLeft(o) && o.left.issues[0]!.path === '$.workload.outputTokens');
  const b = resolveWorkload({ batch: 1.5 });
  assert.ok(E.isLeft(b) && b.left.issues[0]!.path === '$.workload.batch');
  const mode = resolveWorkload({ mode: 'offline' as never });
  assert.ok(E.isLeft(mode) && mode.left.issues[0]!.path === '$.workload.mode');
});

test('the written plan carries a serving block the validator checks; a lying requestMs is named', async () => {
  const r = await planProfile(defaultProfile(), { gpus: 4, effort: 2000 });
  assert.ok(E.isRight(r), E.isLeft(r) ? formatError(r.left) : '');
  const plan = r.right.plan;
  assert.ok(plan.serving);
  assert.deepEqual(Object.keys(plan.serving), ['hardware', 'workload', 'prefillMs', 'decodeMsPerToken', 'requestMs', 'attentionMs', 'kvBytesPerDevice', 'fits']);
  assert.equal(plan.serving.hardware, 'h100-sxm');
  assert.deepEqual(plan.serving.workload, { mode: 'colocated', outputTokens: 256, batch: 1, context: 131072 });
  assert.ok(E.isRight(validatePlan(plan)));
  const lie = { ...plan, serving: { ...plan.serving, requestMs: plan.serving.prefillMs } };
  const v = validatePlan(lie);
  assert.ok(E.isLeft(v) && v.left.issues.some((i) => i.path === '$.serving.requestMs'));
  // Registered dims reach the model: Llama-3.1-8B is 4096 wide with a 14336 MLP.
  assert.equal(registeredModel('Llama-3.1-8B-Instruct')!.dims!.intermediateSize, 14336);
  // A workload whose KV fits no placement: one Left saying what it needs against what it has.
  const big = await planProfile(defaultProfile(), { gpus: 2, effort: 2000, workload: { batch: 4000 } });
  assert.ok(E.isLeft(big));
  assert.match(formatError(big.left), /needs [\d.]+ GB on its busiest GPU against 80\.00 GB/);
});

test('decode at home: contiguous + split heads keeps every head\'s last rows on its contiguous GPU, so decode is contiguous\'s', async () => {
  const c = await comparePipelines(defaultProfile(), { gpus: 8, effort: 2000 });
  assert.ok(E.isRight(c), E.isLeft(c) ? formatError(c.left) : '');
  const rows = c.right.rows.flatMap((r) => (r.ok ? [r] : []));
  const contiguous = rows.find((r) => r.name === 'contiguous')!;
  const home = rows.find((r) => r.name === 'hplb serving (contiguous + split heads, decode at home)')!;
  assert.ok(home, rows.map((r) => r.name).join(', '));
  const splits = home.run.plan.splits ?? [];
  assert.ok(splits.length > 0, 'some heads are split');
  for (const s of splits) {
    const last = s.parts[s.parts.length - 1]!;
    assert.equal(last.rowEnd, 131072);
    assert.equal(last.device, contiguous.run.plan.placement[s.layer]![s.head], `layer ${s.layer} head ${s.head}: decode stays home`);
  }
  assert.equal(home.run.plan.serving!.decodeMsPerToken, contiguous.run.plan.serving!.decodeMsPerToken);
  assert.ok(home.run.plan.serving!.prefillMs < contiguous.run.plan.serving!.prefillMs);
  // The colocated objective picks it over contiguous here (request latency), and it validates.
  assert.equal(c.right.rows[c.right.chosen]!.name, home.name);
  assert.ok(E.isRight(validatePlan(home.run.plan)));
});

const D = sharedDataDir();
const skip = D === undefined ? SHARED_DATA_MISSING : false;

/** Every shared profile the planner plans with its own budgets: MInference patterns, DuoAttention at sparsity 0.5, MoA spans. */
const sharedProfiles = (): Array<{ name: string; load: () => LoadedProfile }> => {
  const out: Array<{ name: string; load: () => LoadedProfile }> = [];
  const get = (r: E.Either<unknown, LoadedProfile>, what: string): LoadedProfile => {
    if (E.isLeft(r)) throw new Error(`${what}: ${JSON.stringify(r.left)}`);
    return r.right;
  };
  for (const f of readdirSync(join(D!, 'minference')).filter((x) => x.endsWith('.json')).sort())
    out.push({ name: `minference/${f}`, load: () => get(loadProfile(join(D!, 'minference', f)), f) });
  for (const d of readdirSync(join(D!, 'duo')).sort())
    out.push({ name: `duo/${d}`, load: () => get(loadProfile(join(D!, 'duo', d, 'full_attention_heads.tsv'), { format: 'duo', sparsity: 0.5 }), d) });
  for (const d of readdirSync(join(D!, 'moa')).sort())
    out.push({ name: `moa/${d}`, load: () => get(loadProfile(join(D!, 'moa', d, 'moa_alpha_beta.json'), { format: 'moa' }), d) });
  return out;
};

test('law: on every shared profile at HP 2/4/8, both workloads, the written plan is never worse than contiguous by the model', { skip }, async () => {
  let cases = 0;
  let refused = 0;
  for (const { name, load } of sharedProfiles()) {
    const loaded = load();
    const m0 = loaded.profile.model;
    for (const gpus of [2, 4, 8]) {
      if (m0.queryHeads % gpus !== 0) continue;
      for (const mode of ['colocated', 'prefill'] as const) {
        const c = await comparePipelines(loaded, { gpus, workload: { mode }, effort: 2000, contextLength: Math.min(131072, loaded.profile.kind === 'required' ? loaded.profile.contextLength : 131072) });
        if (E.isLeft(c)) {
          // Weights and KV fit no placement (e.g. a 70B model on 2 GPUs of 80 GB): refused, saying what it needs.
          assert.match(formatError(c.left), /^at \$\.workload\.batch: expected a workload whose weights and KV fit some placement: the lightest plan needs [\d.]+ GB/, `${name} ${gpus} ${mode}`);
          refused++;
          continue;
        }
        const rows = c.right.rows.flatMap((r) => (r.ok ? [r] : []));
        const contiguous = rows.find((r) => r.run.spec.solver === 'contiguous');
        const written = c.right.rows[c.right.chosen];
        assert.ok(contiguous?.run.plan.serving && written?.ok && written.run.plan.serving, `${name} ${gpus} ${mode}: priced rows`);
        const a = written.run.plan.serving!;
        const b = contiguous.run.plan.serving!;
        assert.ok(!b.fits || a.fits, `${name} ${gpus} ${mode}: the written plan fits where contiguous does`);
        if (a.fits === b.fits) assert.ok(a.requestMs <= b.requestMs * (1 + 1e-9), `${name} ${gpus} ${mode}: ${written.name} ${a.requestMs} ms > contiguous ${b.requestMs} ms`);
        assert.ok(E.isRight(validatePlan(written.run.plan)), `${name} ${gpus} ${mode}: the written plan validates`);
        cases++;
      }
    }
  }
  assert.ok(cases >= 60, `cases run: ${cases} (${refused} refused: nothing fits)`);
});

test('law: a model given only by its config.json (dims from the config, not the registry) is priced and never worse than contiguous', { skip }, async () => {
  const file = join(D!, 'minference', 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
  const config = { text: JSON.stringify({ _name_or_path: 'acme/unregistered-8b', num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, hidden_size: 4096, intermediate_size: 14336, vocab_size: 128256, max_position_embeddings: 131072 }), fileName: 'config.json' };
  const loaded = loadProfile(file, { format: 'minference', modelConfig: config });
  assert.ok(E.isRight(loaded), E.isLeft(loaded) ? formatError(loaded.left) : '');
  assert.equal(loaded.right.profile.model.name, 'acme/unregistered-8b');
  for (const mode of ['colocated', 'prefill'] as const) {
    const c = await comparePipelines(loaded.right, { gpus: 8, workload: { mode }, effort: 2000 });
    assert.ok(E.isRight(c), E.isLeft(c) ? formatError(c.left) : '');
    const contiguous = c.right.rows.find((r) => r.ok && r.run.spec.solver === 'contiguous');
    const written = c.right.rows[c.right.chosen]!;
    assert.ok(contiguous?.ok && written.ok);
    assert.ok(written.run.plan.serving!.requestMs <= contiguous.run.plan.serving!.requestMs * (1 + 1e-9));
    // Same dims as the registry's Llama-3.1-8B: the same contiguous prefill as the main job's.
    assert.equal(contiguous.run.plan.serving!.prefillMs.toFixed(1), '785.3');
  }
});
