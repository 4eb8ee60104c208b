/**
 * `hplb inspect` through the real dispatcher (in-process, captured Io): the --json fields, budgets that follow each
 * format's rule, the text table, and one-line errors. Real-data cases skip when ../shared/data is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const D = sharedDataDir();
const skip = D === undefined ? SHARED_DATA_MISSING : false;

const run = async (...argv: string[]) => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: process.cwd() };
  const code = await main(['inspect', ...argv], io);
  return { code, out, err };
};

test('done-when: MInference Llama-3.1-8B at N=131072 --json gives per-layer stats following min(N, max(v,30)+max(s,50))', { skip }, async () => {
  const file = join(D!, 'minference/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
  const r = await run(file, '--format', 'minference', '--context', '131072', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.format, 'minference');
  assert.equal(j.contextLength, 131072);
  assert.equal(j.unit, 'tokens');
  assert.deepEqual(j.model, { name: 'Llama-3.1-8B-Instruct', layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128 });
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, [string, number, number, number]>[];
  assert.equal(j.layers.length, 32);
  raw.forEach((layer, l) => {
    const b = Object.values(layer).map(([, v, s]) => Math.min(131072, Math.max(v, 30) + Math.max(s, 50)));
    const row = j.layers[l];
    assert.deepEqual(Object.keys(row).slice(0, 6), ['layer', 'heads', 'budgetMin', 'budgetMean', 'budgetMax', 'maxOverMin']);
    assert.equal(row.layer, l);
    assert.equal(row.heads, 32);
    assert.equal(row.budgetMin, Math.min(...b));
    assert.equal(row.budgetMax, Math.max(...b));
    assert.ok(Math.abs(row.budgetMean - b.reduce((x, y) => x + y, 0) / 32) < 1e-9);
    assert.equal(row.maxOverMin, Math.max(...b) / Math.min(...b));
  });
  // Recall per layer (MInference scores), absent for the integer-scored files.
  assert.ok(j.layers.every((l: { recallMean: number }) => l.recallMean > 0 && l.recallMean <= 1));
  const yi = JSON.parse((await run(join(D!, 'minference/Yi_9B_200k_kv_out_v32_fit_o_best_pattern.json'), '--json')).out);
  assert.ok(yi.layers.every((l: object) => !('recallMean' in l)), 'integer scores are not recall');
  // The same file at N = 4096: budgets clamp to N.
  const small = JSON.parse((await run(file, '--format', 'minference', '--context', '4096', '--json')).out);
  assert.equal(Math.max(...small.layers.map((l: { budgetMax: number }) => l.budgetMax)), 4096);
});

test('text output is a table; DuoAttention folders, MoA and XAttention (unit top-p) inspect', { skip }, async () => {
  const t = await run(join(D!, 'minference/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern_v2.json'));
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /layer\s+heads\s+min\s+mean\s+max\s+max\/min/);
  assert.match(t.out, /\n\s+31\s+32\s+2560\s+2560\.0\s+2560\s+1\.00\s+1\n/);
  const duo = await run(join(D!, 'duo/Meta-Llama-3.1-8B-Instruct'), '--format', 'duo', '--sparsity', '0.5', '--json');
  assert.equal(duo.code, 0, duo.err);
  const dj = JSON.parse(duo.out);
  assert.equal(dj.contextLength, 131072);
  assert.equal(dj.summary.budgetMin, 384);
  assert.equal(dj.summary.budgetMax, 131072);
  const moa = JSON.parse((await run(join(D!, 'moa/gradientai--Llama-3-8B-Instruct-262k/moa_alpha_beta.json'), '--format', 'moa', '--context', '131072', '--json')).out);
  assert.equal(moa.summary.maxOverMinLargest, 127);
  const x = await run(join(D!, 'xattention/llama3.1_8b_per_head_thresholds.json'), '--format', 'xattention', '--json');
  assert.equal(x.code, 0, x.err);
  const xj = JSON.parse(x.out);
  assert.equal(xj.unit, 'top-p');
  assert.ok(xj.summary.budgetMax <= 1, 'thresholds, not tokens');
  const xt = await run(join(D!, 'xattention/llama3.1_8b_per_head_thresholds.json'), '--format', 'xattention');
  assert.match(xt.out, /unit: top-p.*NOT tokens/);
});

test('hplb profiles inspect (curve kind uses the recovery target); XAttention converts with --curves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-inspect-'));
  const model = { name: 'tiny', layers: 1, queryHeads: 2, kvHeads: 1, headDim: 8 };
  const curve = { tokens: [100, 400], mass: [0.5, 0.9] };
  const cfile = join(dir, 'curves.json');
  writeFileSync(cfile, JSON.stringify({ format: 'hplb.profile/1', kind: 'curve', model, contextLength: 1000, curves: [[curve, curve]] }));
  const c = await run(cfile, '--json', '--recovery', '0.9');
  assert.equal(c.code, 0, c.err);
  assert.equal(JSON.parse(c.out).layers[0].budgetMax, 400);
  const xfile = join(dir, 'x.json');
  writeFileSync(xfile, JSON.stringify({ max: [[0.5, 0.9]] }));
  const x = await run(xfile, '--format', 'xattention', '--model', 'tiny-not-registered');
  assert.equal(x.code, 2);
  assert.match(x.err, /at --model: expected a registered model/);
  const xp = join(dir, 'xp.json');
  writeFileSync(xp, JSON.stringify({ format: 'hplb.profile/1', kind: 'required', model, contextLength: 1000, budgets: [], topP: [[0.5, 0.9]] }));
  const conv = await run(xp, '--curves', cfile, '--json');
  assert.equal(conv.code, 0, conv.err);
  const cj = JSON.parse(conv.out);
  assert.equal(cj.unit, 'tokens');
  assert.deepEqual([cj.layers[0].budgetMin, cj.layers[0].budgetMax], [100, 400]);
  const noCurves = await run(xp, '--json');
  assert.equal(JSON.parse(noCurves.out).unit, 'top-p');
});

test('DuoAttention: the streaming window comes from config.json next to the TSV; --sink/--recent override it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-duo-'));
  const tsv = join(dir, 'full_attention_heads.tsv');
  // Llama-3.2-1B-Instruct: 16 layers × 8 KV heads.
  writeFileSync(tsv, Array.from({ length: 16 }, (_, l) => Array.from({ length: 8 }, (_, k) => ((l * 8 + k) % 10) / 10).join('\t')).join('\n'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ sink_size: 64, recent_size: 192, deploy_sink_size: null, deploy_recent_size: null }));
  const a = JSON.parse((await run(dir, '--format', 'duo', '--model', 'Llama-3.2-1B-Instruct', '--threshold', '0.5', '--json')).out);
  assert.equal(a.summary.budgetMin, 256);
  const b = JSON.parse((await run(tsv, '--format', 'duo', '--model', 'Llama-3.2-1B-Instruct', '--threshold', '0.5', '--sink', '10', '--recent', '20', '--json')).out);
  assert.equal(b.summary.budgetMin, 30);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ sink_size: -1, recent_size: 192 }));
  const bad = await run(dir, '--format', 'duo', '--model', 'Llama-3.2-1B-Instruct', '--threshold', '0.5');
  assert.equal(bad.code, 1);
  assert.equal(bad.err, `hplb: ${join(dir, 'config.json')}: at $.sink_size: expected a non-negative integer, got -1\n`);
});

test('errors: one line naming the file, the path and what was expected', async () => {
  const r = await run('/nonexistent/profile.json', '--format', 'hplb');
  assert.equal(r.code, 1);
  assert.equal(r.err, 'hplb: /nonexistent/profile.json: at $: expected a readable file, got no such file\n');
  const u = await run();
  assert.equal(u.code, 2);
  assert.match(u.err, /at <file>: expected exactly one profile file/);
});

test('a truncated JSON profile is reported as invalid JSON with line and column, not as an undetectable format (issue 21)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-inspect-trunc-'));
  const file = join(dir, 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
  writeFileSync(file, readFileSync(join(import.meta.dirname, '..', '..', 'core', 'src', 'data', 'published', 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json'), 'utf8').slice(0, 500));
  const r = await run(file);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /at \$: expected valid JSON, got line 1, column 501/);
  assert.equal(r.err.trim().split('\n').length, 1);
});
