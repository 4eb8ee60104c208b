/**
 * Issue 21, "a UTF-8 BOM makes every file invalid": the one text reader drops a leading byte order mark, so every
 * file the CLI reads — plans, profiles (JSON and text formats), config.json, calibration files, MInference configs —
 * reads the same with or without one (files saved by Windows editors start with it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, formatError, makeDevices, type ModelShape } from '@hplb/core';
import { readTextFile } from '@hplb/core/node';
import { loadProfile } from 'hplb/node';
import { planEngineLayout } from '@hplb/solvers';
import { main } from '../src/main.ts';
import { readJson, readText, type Io } from '../src/io.ts';

const root = mkdtempSync(join(tmpdir(), 'hplb-bom-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** `text` written with a UTF-8 byte order mark in front. */
const withBom = (name: string, text: string | Buffer): string => {
  const f = join(root, name);
  writeFileSync(f, Buffer.concat([BOM, Buffer.from(text)]));
  return f;
};

const capture = () => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: root };
  return { io, get out() { return out; }, get err() { return err; } };
};

const right = <A>(r: E.Either<{ code: string }, A>): A => {
  if (E.isLeft(r)) assert.fail(formatError(r.left as never));
  return r.right;
};

test('readTextFile, readText and readJson drop a UTF-8 BOM', () => {
  const f = withBom('x.json', '{"a": [1, 2]}');
  assert.equal(right(readTextFile(f)), '{"a": [1, 2]}');
  assert.equal(right(readText(f)), '{"a": [1, 2]}');
  assert.deepEqual(right(readJson(f)), { a: [1, 2] });
  // Only the leading mark: one inside a string is data.
  const g = withBom('y.json', '{"a": "\uFEFF"}');
  assert.deepEqual(right(readJson(g)), { a: '\uFEFF' });
});

test('profiles with a BOM load as without: hplb JSON and MInference JSON', () => {
  const hplbText = readFileSync(new URL('../../core/src/data/default-profile.json', import.meta.url));
  const a = right(loadProfile(withBom('default-profile.json', hplbText)));
  const mfName = 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json';
  const mfText = readFileSync(new URL(`../../core/src/data/published/${mfName}`, import.meta.url));
  const b = right(loadProfile(withBom(mfName, mfText)));
  assert.equal(a.profile.model.layers, 32);
  assert.equal(b.profile.model.queryHeads, 32);
});

const M: ModelShape = { name: 'tiny-bom', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 8 };

test('hplb export reads a plan, a MInference config and a config.json that start with a BOM', async () => {
  const budgets = Array.from({ length: M.layers }, (_, l) => Array.from({ length: M.queryHeads }, (_, h) => 64 + ((h * 977 + l * 131) % 900)));
  const res = planEngineLayout({ model: M, devices: makeDevices(2), lengths: [{ contextLength: 1024, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 1, timeLimitMs: 50, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  const planFile = withBom('plan.json', JSON.stringify(res.right.plan, null, 2));
  const mf = withBom('mf.json', JSON.stringify(Array.from({ length: M.layers }, (_, l) => Object.fromEntries(Array.from({ length: M.queryHeads }, (_, h) => [String(h), ['vertical_and_slash', l, h, 0.9]])))));
  const cfg = withBom('config.json', JSON.stringify({ num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 64, head_dim: 8 }));
  const out = join(root, 'layout.json');
  const c = capture();
  assert.equal(await main(['export', planFile, '--engine', 'vllm', '--minference', mf, '--model-config', cfg, '--out', out], c.io), 0, c.err);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).format, 'hplb.engine-layout/1');
  assert.ok(Array.isArray(JSON.parse(readFileSync(join(root, 'layout.minference.json'), 'utf8'))));
});

test('hplb inspect and hplb plan --engine-layout read a profile that starts with a BOM', { timeout: 120_000 }, async () => {
  const mfName = 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json';
  const profile = withBom(mfName, readFileSync(new URL(`../../core/src/data/published/${mfName}`, import.meta.url)));
  const c = capture();
  assert.equal(await main(['inspect', profile], c.io), 0, c.err);
  const d = capture();
  const out = join(root, 'engine-plan.json');
  assert.equal(await main(['plan', '--engine-layout', '--kv-copies', '1', '--profile', profile, '--gpus', '2', '--time-limit', '0.02', '--out', out], d.io), 0, d.err);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).format, 'hplb.plan/1');
});
