/**
 * Every file of ../shared/data (MInference, DuoAttention, MoA, XAttention) imports, and the imported profiles agree
 * with the facts published in shared/data/README.md and with the budget rules recomputed here from the raw files.
 * Skips (with SHARED_DATA_MISSING) when the data folder is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { budgetsAt, formatError, importProfile, kvHeadOf, type Profile, type ImportProfileOptions, type HplbError } from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';

const D = sharedDataDir();
const skip = D === undefined ? SHARED_DATA_MISSING : false;
const N = 131072;

const right = <A>(e: E.Either<HplbError, A>, what: string): A => {
  if (E.isLeft(e)) assert.fail(`${what}: ${formatError(e.left)}`);
  return e.right;
};
const load = (format: string, file: string, opts: ImportProfileOptions = {}): Profile =>
  right(importProfile(format, readFileSync(file, 'utf8'), { file, ...opts }), file);
const at = (p: Profile, n: number): number[][] => right(budgetsAt(p, n), `budgets at ${n}`);
const files = (sub: string): string[] => (D === undefined ? [] : readdirSync(join(D, sub)).sort().map((f) => join(D, sub, f)));
const ratio = (row: ReadonlyArray<number>) => Math.max(...row) / Math.min(...row);
const mean = (row: ReadonlyArray<number>) => row.reduce((a, b) => a + b, 0) / row.length;

test('MInference: every file imports; budgets are min(N, max(v,30)+max(s,50)) recomputed from the raw JSON', { skip }, () => {
  const all = files('minference');
  assert.equal(all.length, 12, 'twelve MInference files');
  for (const file of all) {
    const p = load('minference', file);
    assert.equal(p.kind, 'required');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, [string, number, number, number]>[];
    assert.equal(p.model.layers, raw.length, `${file}: layers`);
    for (const n of [N, 4096, 1000]) {
      const b = at(p, n);
      raw.forEach((layer, l) =>
        Object.entries(layer).forEach(([h, [pattern, v, s]]) => {
          const want = pattern === 'stream_llm' ? Math.min(n, v + s) : Math.min(n, Math.max(v, 30) + Math.max(s, 50));
          assert.equal(b[l]![Number(h)], want, `${file} N=${n} layer ${l} head ${h}`);
        }),
      );
    }
  }
});

test('MInference 128k files: 5-6 budget classes, 830..7096 tokens at N=131072, within-layer max/min ≤ 8.55', { skip }, () => {
  const big = files('minference').filter((f) => /128k/.test(f) && !/_v2\.json$/.test(f));
  assert.ok(big.length >= 6, 'the 128k files');
  for (const file of big) {
    const b = at(load('minference', file), N);
    const classes = new Set(b.flat());
    assert.ok(classes.size >= 5 && classes.size <= 6, `${file}: ${classes.size} classes`);
    assert.equal(Math.min(...classes), 830, file);
    assert.equal(Math.max(...classes), 7096, file);
    for (const row of b) assert.ok(ratio(row) <= 8.55, `${file}: within-layer ratio ${ratio(row)}`);
  }
  // The layer-to-layer spread of the mean budget is about 4x (Llama-3.1-8B).
  const llama = at(load('minference', files('minference').find((f) => /Llama_3\.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern\.json$/.test(f))!), N);
  const means = llama.map(mean);
  const spread = Math.max(...means) / Math.min(...means);
  assert.ok(spread > 3 && spread < 5, `layer mean spread ${spread}`);
});

test('MInference v2 file is uniform 512/2048 (2560 tokens); Qwen2.5-72B is ≥ 99% the densest class', { skip }, () => {
  const v2 = at(load('minference', files('minference').find((f) => /_v2\.json$/.test(f) && /8B/.test(f))!), N);
  assert.deepEqual(new Set(v2.flat()), new Set([512 + 2048]));
  const qwen = at(load('minference', files('minference').find((f) => /Qwen2\.5_72B/.test(f))!), N).flat();
  assert.ok(qwen.filter((b) => b === 7096).length / qwen.length >= 0.99);
});

test('MInference scores: recall in [0,1] except the two integer-scored files (recall null); Phi-3 stream_llm heads get init+local', { skip }, () => {
  for (const file of files('minference')) {
    const p = load('minference', file);
    assert.equal(p.kind, 'required');
    if (p.kind !== 'required') continue;
    const rec = p.recall!.flat();
    if (/Llama_3_8B_Instruct_262k|Yi_9B_200k/.test(file)) assert.ok(rec.every((r) => r === null), `${file}: integer scores are not recall`);
    else assert.ok(rec.every((r) => r !== null && r >= 0 && r <= 1), `${file}: recall`);
  }
  const phi = files('minference').find((f) => /Phi_3/.test(f))!;
  const raw = JSON.parse(readFileSync(phi, 'utf8')) as Record<string, [string, number, number, number]>[];
  const b = at(load('minference', phi), N);
  let streams = 0;
  raw.forEach((layer, l) =>
    Object.entries(layer).forEach(([h, e]) => {
      if (e[0] === 'stream_llm') {
        streams++;
        assert.equal(b[l]![Number(h)], e[1] + e[2]);
      }
    }),
  );
  assert.equal(streams, 43, 'Phi-3 has 43 stream_llm heads');
});

test('DuoAttention: every model imports; two classes (131072 vs 384, 341x); sparsity picks the lowest gates; GQA expansion', { skip }, () => {
  const dirs = files('duo');
  assert.equal(dirs.length, 6);
  for (const dir of dirs) {
    const file = join(dir, 'full_attention_heads.tsv');
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t').map(Number));
    const gates = rows.map((r) => r.map((g) => Math.min(1, Math.max(0, g))));
    for (const s of [0, 0.25, 0.5, 0.75, 1]) {
      const p = load('duo', file, { sparsity: s });
      assert.equal(p.kind, 'elastic');
      if (p.kind !== 'elastic') continue;
      const m = p.model;
      assert.equal(rows.length, m.layers, `${dir}: rows = layers`);
      assert.equal(rows[0]!.length, m.kvHeads, `${dir}: columns = KV heads`);
      const b = at(p, N);
      const flat = b.flat();
      assert.ok(flat.every((x) => x === 384 || x === N), `${dir}: two classes`);
      const streamingKv = Math.round(s * m.layers * m.kvHeads);
      assert.equal(flat.filter((x) => x === 384).length, streamingKv * (m.queryHeads / m.kvHeads), `${dir} s=${s}: streaming query heads`);
      // Every streaming KV head's gate is ≤ every retrieval KV head's gate.
      let maxStreaming = -Infinity;
      let minRetrieval = Infinity;
      for (let l = 0; l < m.layers; l++)
        for (let q = 0; q < m.queryHeads; q++) {
          const g = gates[l]![kvHeadOf(m, q)]!;
          assert.equal(p.gate![l]![q], g, 'gate kept per query head');
          assert.equal(b[l]![q], b[l]![kvHeadOf(m, q) * (m.queryHeads / m.kvHeads)], 'a GQA group shares its class');
          if (b[l]![q] === 384) maxStreaming = Math.max(maxStreaming, g);
          else minRetrieval = Math.min(minRetrieval, g);
        }
      assert.ok(maxStreaming <= minRetrieval, `${dir} s=${s}: lowest gates stream`);
      if (s === 0.5) assert.equal(Math.max(...flat) / Math.min(...flat), N / 384);
    }
    // Threshold rule: gate < τ streams.
    const p = load('duo', file, { threshold: 0.5 });
    const b = at(p, N);
    const m = p.model;
    for (let l = 0; l < m.layers; l++)
      for (let q = 0; q < m.queryHeads; q++) assert.equal(b[l]![q] === 384, gates[l]![kvHeadOf(m, q)]! < 0.5, `${dir} threshold layer ${l} head ${q}`);
  }
});

test('DuoAttention gates are bimodal: most lie within 0.1 of 0 or 1', { skip }, () => {
  for (const dir of files('duo')) {
    const g = readFileSync(join(dir, 'full_attention_heads.tsv'), 'utf8').trim().split(/\s+/).map(Number).map((x) => Math.min(1, Math.max(0, x)));
    const middle = g.filter((x) => x > 0.1 && x < 0.9).length / g.length;
    assert.ok(middle < 0.35, `${dir}: ${middle} of gates in (0.1, 0.9)`);
  }
});

test('MoA: every file imports; spans clamp to N, round up to 64, at least 128; Llama-3-8B-262k median ratio 7.9, max 127', { skip }, () => {
  const dirs = files('moa');
  assert.equal(dirs.length, 6);
  for (const dir of dirs) {
    for (const name of ['moa_alpha_beta.json', 'streamingllm_alpha_beta.json']) {
      const file = join(dir, name);
      const raw = JSON.parse(readFileSync(file, 'utf8')) as { alphas: number[][]; betas: number[][] };
      const p = load('moa', file);
      for (const n of [N, 16384, 1000, 100]) {
        const b = at(p, n);
        raw.alphas.forEach((row, l) =>
          row.forEach((a, h) => {
            const span = a + raw.betas[l]![h]! * n;
            const want = Math.min(n, Math.max(128, Math.ceil(Math.min(n, span) / 64) * 64));
            assert.equal(b[l]![h], want, `${file} N=${n} layer ${l} head ${h}`);
            if (n === N) assert.equal(b[l]![h]! % 64, 0);
          }),
        );
      }
      if (name.startsWith('streamingllm')) assert.ok(at(p, N).flat().every((x) => x === N / 2), 'uniform baseline: 0 + 0.5·N');
    }
  }
  const b = at(load('moa', join(dirs.find((d) => /Llama-3-8B-Instruct-262k/.test(d))!, 'moa_alpha_beta.json')), N);
  const r = b.map(ratio).sort((x, y) => x - y);
  const median = (r[(r.length - 1) >> 1]! + r[r.length >> 1]!) / 2;
  assert.ok(Math.abs(median - 7.9) < 0.05, `median ratio ${median}`);
  assert.equal(Math.max(...r), 127);
});

test('XAttention: every table imports as top-p targets; budgets need recovery curves', { skip }, () => {
  const file = files('xattention')[0]!;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { values: number[][] }>;
  for (const table of ['max', 'max_ratio', 'llama_fuse_4', 'llama_fuse_8', 'llama_fuse_16']) {
    const p = load('xattention', file, { table });
    assert.equal(p.kind, 'required');
    if (p.kind !== 'required') continue;
    assert.equal(p.model.name, 'Llama-3.1-8B-Instruct');
    assert.deepEqual(p.topP, raw[table]!.values, table);
    assert.deepEqual(p.budgets, [], 'no token budgets are known');
    const e = budgetsAt(p, N);
    assert.ok(E.isLeft(e));
    if (E.isLeft(e)) assert.match(formatError(e.left), /curves/);
  }
  const missing = importProfile('xattention', readFileSync(file, 'utf8'), { file, table: 'nope' });
  assert.ok(E.isLeft(missing));
  if (E.isLeft(missing)) assert.match(formatError(missing.left), /at \$\.nope: expected a threshold table "nope" \(tables in the file: .*max/);
});
