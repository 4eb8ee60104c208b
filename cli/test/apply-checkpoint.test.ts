/**
 * `hplb export` + `hplb apply` end to end through the CLI on tiny safetensors checkpoints written here (Llama in two
 * shards with an index, Qwen2 with q/k/v biases in bfloat16): the command writes exactly what the library's
 * `applyLayout` writes (whose numerical identity engines/test/apply.test.ts checks), untouched tensors are
 * byte-identical and config.json gets the new num_key_value_heads. Then every bad input exits ≠ 0 with a one-line
 * reason naming the CLI's flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, decodeEngineLayout, makeDevices, type ModelShape } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';
import { applyLayout, closeSafetensors, openSafetensors, readTensor, writeSafetensors } from '@hplb/engines/node';
import { rng } from '@hplb/solvers';

const randomFloats = (r: () => number, n: number) => Float32Array.from({ length: n }, () => r() - 0.5);

const capture = () => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

const M: ModelShape = { name: 'tiny-llama', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 4 };
const HIDDEN = 12;
const N = 6;
const TP = 4;

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** bfloat16 (truncated float32: the top 16 bits), as most real checkpoints store weights. */
const toBf16 = (a: Float32Array): { data: Uint8Array; value: Float32Array } => {
  const u32 = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const u16 = Uint16Array.from(u32, (x) => x >>> 16);
  return { data: new Uint8Array(u16.buffer), value: new Float32Array(Uint32Array.from(u16, (x) => x << 16).buffer) };
};
type Dtype = 'F32' | 'BF16';
const encode = (a: Float32Array, dtype: Dtype) => (dtype === 'F32' ? { data: bytes(a), value: a } : toBf16(a));

interface Ckpt {
  readonly dir: string;
}

/** Write a tiny HF checkpoint: config.json, tokenizer.json, shards (+ index when sharded). */
const writeCheckpoint = (root: string, name: string, arch: string, biases: boolean, sharded: boolean, seed: number, dtype: Dtype = 'F32'): Ckpt => {
  const dir = join(root, name);
  const rw = rng(seed);
  const qd = M.queryHeads * M.headDim;
  const kd = M.kvHeads * M.headDim;
  const raw = Array.from({ length: M.layers }, () => ({
    wq: randomFloats(rw, qd * HIDDEN), wk: randomFloats(rw, kd * HIDDEN), wv: randomFloats(rw, kd * HIDDEN), wo: randomFloats(rw, HIDDEN * qd),
    ...(biases ? { bq: randomFloats(rw, qd), bk: randomFloats(rw, kd), bv: randomFloats(rw, kd) } : {}),
  }));
  const enc = raw.map((w) => ({
    wq: encode(w.wq, dtype), wk: encode(w.wk, dtype), wv: encode(w.wv, dtype), wo: encode(w.wo, dtype),
    ...(w.bq ? { bq: encode(w.bq, dtype), bk: encode(w.bk!, dtype), bv: encode(w.bv!, dtype) } : {}),
  }));
  const r = rng(seed + 99);
  const embed = Float32Array.from({ length: 10 * HIDDEN }, () => r());
  const shards: { name: string; dtype: string; shape: number[]; data: Uint8Array }[][] = [[], []];
  shards[0]!.push({ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [10, HIDDEN], data: bytes(embed) });
  enc.forEach((w, l) => {
    const p = `model.layers.${l}.self_attn`;
    const s = shards[sharded ? l % 2 : 0]!;
    s.push(
      { name: `${p}.q_proj.weight`, dtype, shape: [M.queryHeads * M.headDim, HIDDEN], data: w.wq.data },
      { name: `${p}.k_proj.weight`, dtype, shape: [M.kvHeads * M.headDim, HIDDEN], data: w.wk.data },
      { name: `${p}.v_proj.weight`, dtype, shape: [M.kvHeads * M.headDim, HIDDEN], data: w.wv.data },
      { name: `${p}.o_proj.weight`, dtype, shape: [HIDDEN, M.queryHeads * M.headDim], data: w.wo.data },
      { name: `model.layers.${l}.input_layernorm.weight`, dtype: 'F32', shape: [HIDDEN], data: bytes(Float32Array.from({ length: HIDDEN }, () => r())) },
    );
    if (biases)
      s.push(
        { name: `${p}.q_proj.bias`, dtype, shape: [M.queryHeads * M.headDim], data: w.bq!.data },
        { name: `${p}.k_proj.bias`, dtype, shape: [M.kvHeads * M.headDim], data: w.bk!.data },
        { name: `${p}.v_proj.bias`, dtype, shape: [M.kvHeads * M.headDim], data: w.bv!.data },
      );
  });
  mkdirSync(dir, { recursive: true });
  const files = sharded ? ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'] : ['model.safetensors'];
  files.forEach((f, i) => writeSafetensors(join(dir, f), shards[i]!, { format: 'pt' }));
  if (sharded) {
    const weight_map: Record<string, string> = {};
    files.forEach((f, i) => shards[i]!.forEach((t) => (weight_map[t.name] = f)));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map }));
  }
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ architectures: [arch], model_type: arch.startsWith('Qwen2') ? 'qwen2' : 'llama', hidden_size: HIDDEN, num_attention_heads: M.queryHeads, num_key_value_heads: M.kvHeads, num_hidden_layers: M.layers, head_dim: M.headDim, torch_dtype: 'float32' }),
  );
  writeFileSync(join(dir, 'tokenizer.json'), '{"tiny": true}');
  return { dir };
};

/** Load every tensor of a checkpoint directory by name. */
const loadAll = (dir: string): Map<string, { shape: number[]; data: Buffer }> => {
  const out = new Map<string, { shape: number[]; data: Buffer }>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
    const st = openSafetensors(join(dir, f));
    assert.ok(E.isRight(st));
    for (const t of st.right.tensors) out.set(t.name, { shape: t.shape, data: readTensor(st.right, t) });
    closeSafetensors(st.right);
  }
  return out;
};

const root = mkdtempSync(join(tmpdir(), 'hplb-apply-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/** Plan (engine layout, TP 4, r = 2) and export it; returns the layout path. */
const planAndExport = async (seed: number): Promise<string> => {
  const r = rng(seed);
  const budgets = Array.from({ length: M.layers }, () => Array.from({ length: M.queryHeads }, () => 1 + Math.floor(r() * N)));
  const res = planEngineLayout({ model: M, devices: makeDevices(TP), lengths: [{ contextLength: N, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 2, timeLimitMs: 200, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  const planFile = join(root, `plan-${seed}.json`);
  writeFileSync(planFile, JSON.stringify(res.right.plan));
  const layoutFile = join(root, `layout-${seed}.json`);
  const c = capture();
  assert.equal(await main(['export', planFile, '--engine', 'vllm', '--out', layoutFile], c.io), 0, c.err);
  return layoutFile;
};

for (const [arch, biases, sharded, dtype] of [['LlamaForCausalLM', false, true, 'F32'], ['Qwen2ForCausalLM', true, false, 'BF16']] as const) {
  test(`hplb apply on a tiny ${dtype} ${arch} checkpoint${sharded ? ' (2 shards + index)' : ''} writes what applyLayout writes`, async () => {
    const seed = arch.length * 31 + (biases ? 1 : 0) + (dtype === 'BF16' ? 5 : 0);
    const ck = writeCheckpoint(root, `ck-${arch}-${dtype}`, arch, biases, sharded, seed, dtype);
    const layoutFile = await planAndExport(seed);
    const outDir = join(root, `out-${arch}-${dtype}`);
    const c = capture();
    assert.equal(await main(['apply', layoutFile, '--checkpoint', ck.dir, '--out', outDir], c.io), 0, c.err);
    assert.match(c.out, new RegExp(`^rewrote ${sharded ? 2 : 1} shard\\(s\\) of ${arch} for vllm TP ${TP}: num_key_value_heads ${M.kvHeads} → ${M.kvHeads * 2} \\(K/V ×2\\), q/k/v rows and o_proj columns permuted in ${M.layers} layers → `));
    const cfg = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8'));
    assert.equal(cfg.num_key_value_heads, M.kvHeads * 2);
    assert.equal(cfg.num_attention_heads, M.queryHeads);
    assert.equal(readFileSync(join(outDir, 'tokenizer.json'), 'utf8'), '{"tiny": true}');
    assert.equal(existsSync(join(outDir, 'model.safetensors.index.json')), sharded);
    const before = loadAll(ck.dir);
    const after = loadAll(outDir);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [name, t] of before) if (!name.includes('self_attn')) assert.ok(t.data.equals(after.get(name)!.data), `${name} must be copied unchanged`);
    assert.deepEqual(after.get('model.layers.0.self_attn.k_proj.weight')!.shape, [M.kvHeads * 2 * M.headDim, HIDDEN]);
    // The command is the library call: the same layout and checkpoint through applyLayout give the same bytes.
    const layout = decodeEngineLayout(JSON.parse(readFileSync(layoutFile, 'utf8')));
    assert.ok(E.isRight(layout));
    const libDir = join(root, `lib-${arch}-${dtype}`);
    assert.ok(E.isRight(await applyLayout(layout.right, { checkpoint: ck.dir, out: libDir })));
    assert.deepEqual(readdirSync(outDir).sort(), readdirSync(libDir).sort());
    for (const f of readdirSync(libDir)) assert.ok(readFileSync(join(outDir, f)).equals(readFileSync(join(libDir, f))), `${f} differs from applyLayout's`);
  });
}

// ---------------------------------------------------------------- bad inputs

const expectFail = async (argv: string[], pattern: RegExp) => {
  const c = capture();
  const code = await main(argv, c.io);
  assert.notEqual(code, 0, `expected failure for ${argv.join(' ')}`);
  assert.match(c.err, pattern);
  assert.doesNotMatch(c.err, /\n\s+at /, 'no stack trace');
};

test('hplb apply refuses a checkpoint missing a tensor, naming it', async () => {
  const ck = writeCheckpoint(root, 'ck-missing', 'LlamaForCausalLM', false, false, 3);
  const layoutFile = await planAndExport(3);
  const st = openSafetensors(join(ck.dir, 'model.safetensors'));
  assert.ok(E.isRight(st));
  const keep = st.right.tensors.filter((t) => t.name !== 'model.layers.1.self_attn.v_proj.weight').map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: readTensor(st.right, t) }));
  closeSafetensors(st.right);
  writeSafetensors(join(ck.dir, 'model.safetensors'), keep);
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o1')], /model\.layers\.1\.self_attn\.v_proj\.weight.*missing/);
  assert.equal(existsSync(join(root, 'o1')), false, 'no partial output');
});

test('hplb apply refuses a tensor with the wrong shape, naming the shape expected', async () => {
  const ck = writeCheckpoint(root, 'ck-shape', 'LlamaForCausalLM', false, false, 4);
  const layoutFile = await planAndExport(4);
  const st = openSafetensors(join(ck.dir, 'model.safetensors'));
  assert.ok(E.isRight(st));
  const ts = st.right.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.name === 'model.layers.0.self_attn.o_proj.weight' ? [M.queryHeads * M.headDim, HIDDEN] : t.shape, data: readTensor(st.right, t) }));
  closeSafetensors(st.right);
  writeSafetensors(join(ck.dir, 'model.safetensors'), ts);
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o2')], /o_proj\.weight.*shape.*\[12, 32\]/);
});

test('hplb apply refuses unknown and fused-QKV architectures, naming what is missing', async () => {
  const layoutFile = await planAndExport(5);
  const ck = writeCheckpoint(root, 'ck-gemma', 'GemmaForCausalLM', false, false, 5);
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o3')], /GemmaForCausalLM is unknown to hplb apply/);
  const ck2 = writeCheckpoint(root, 'ck-phi', 'Phi3ForCausalLM', false, false, 5);
  await expectFail(['apply', layoutFile, '--checkpoint', ck2.dir, '--out', join(root, 'o3')], /fused QKV projection \(qkv_proj\)/);
  const ck3 = writeCheckpoint(root, 'ck-bloom', 'BloomForCausalLM', false, false, 5);
  await expectFail(['apply', layoutFile, '--checkpoint', ck3.dir, '--out', join(root, 'o3')], /ALiBi/);
});

test('hplb apply refuses a config that does not match the layout, an existing --out, and a layout whose q head lost its KV slot', async () => {
  const layoutFile = await planAndExport(6);
  const ck = writeCheckpoint(root, 'ck-cfg', 'LlamaForCausalLM', false, false, 6);
  const cfg = JSON.parse(readFileSync(join(ck.dir, 'config.json'), 'utf8'));
  writeFileSync(join(ck.dir, 'config.json'), JSON.stringify({ ...cfg, num_attention_heads: 16 }));
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o4')], /num_attention_heads: expected 8/);
  writeFileSync(join(ck.dir, 'config.json'), JSON.stringify(cfg));
  mkdirSync(join(root, 'exists'), { recursive: true });
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'exists')], /does not exist yet/);
  const lay = JSON.parse(readFileSync(layoutFile, 'utf8'));
  const L = lay.layers[0];
  const gs = M.queryHeads / M.kvHeads;
  // Swap two positions that read different KV groups.
  const p0 = 0;
  const p1 = L.qSource.findIndex((q: number) => Math.floor(q / gs) !== Math.floor(L.qSource[0] / gs));
  [L.qSource[p0], L.qSource[p1]] = [L.qSource[p1], L.qSource[p0]];
  const bad = join(root, 'bad-layout.json');
  writeFileSync(bad, JSON.stringify(lay));
  await expectFail(['apply', bad, '--checkpoint', ck.dir, '--out', join(root, 'o5')], /lost its KV slot/);
});

test('hplb apply: a truncated shard is a clear error; --force replaces an existing output', async () => {
  const layoutFile = await planAndExport(8);
  const ck = writeCheckpoint(root, 'ck-trunc', 'LlamaForCausalLM', false, false, 8);
  const good = readFileSync(join(ck.dir, 'model.safetensors'));
  writeFileSync(join(ck.dir, 'model.safetensors'), good.subarray(0, good.length - 100));
  await expectFail(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o6')], /model\.safetensors: at .*data_offsets: expected a range inside the file/);
  writeFileSync(join(ck.dir, 'model.safetensors'), good);
  const out = join(root, 'o7');
  const c0 = capture();
  assert.equal(await main(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out], c0.io), 0, c0.err);
  writeFileSync(join(out, 'stale.txt'), 'old');
  const c = capture();
  assert.equal(await main(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out, '--force'], c.io), 0, c.err);
  assert.equal(existsSync(join(out, 'stale.txt')), false, 'the old output is replaced as a whole');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_key_value_heads, 4);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('hplb-tmp')), [], 'no temporary directory left behind');
});

// ---------------------------------------------------------------- hardening (issue 21): every class is one line, exit 1 or 2, nothing written

/** The command fails with exit `code`, one line on stderr matching `pattern`, no stack trace, and `out` never appears. */
const failsCleanly = async (argv: string[], code: 1 | 2, pattern: RegExp, out?: string) => {
  const c = capture();
  const t0 = Date.now();
  assert.equal(await main(argv, c.io), code, c.err);
  assert.ok(Date.now() - t0 < 10_000, 'refused at once');
  assert.equal(c.err.trimEnd().split('\n').length, 1, `one line: ${c.err}`);
  assert.match(c.err, pattern);
  assert.doesNotMatch(c.err, /internal error|\n\s+at /);
  if (out) assert.equal(existsSync(out), false, 'nothing written');
};

/** Re-encode a shard with a new header text (the data bytes kept). */
const rewriteHeader = (file: string, edit: (header: Record<string, unknown>) => string): void => {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const json = Buffer.from(edit(JSON.parse(b.subarray(8, 8 + n).toString('utf8'))), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, b.subarray(8 + n)]));
};

test('hplb apply --out never deletes an input: the parent of --checkpoint with --force exits 2 and leaves it, and --force replaces only a folder hplb wrote', async () => {
  const layoutFile = await planAndExport(21);
  const models = join(root, 'models');
  const ck = writeCheckpoint(models, 'llama', 'LlamaForCausalLM', false, true, 21);
  mkdirSync(join(models, 'sibling'));
  writeFileSync(join(models, 'sibling', 'keep'), 'x');
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', models, '--force'], 2, /at --out: expected a directory other than --checkpoint, neither inside it nor containing any input, got it contains the checkpoint/);
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(ck.dir, 'tp4')], 2, /at --out: .*lies inside the checkpoint/, join(ck.dir, 'tp4'));
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', layoutFile, '--force'], 2, /is the layout/);
  assert.ok(existsSync(join(ck.dir, 'config.json')) && existsSync(join(models, 'sibling', 'keep')) && existsSync(layoutFile));
  const mine = join(root, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes'), 'x');
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', mine, '--force'], 1, /mine: at --out: expected a folder hplb wrote, with its \.hplb-output marker \(--force replaces only those\)/);
  assert.equal(readFileSync(join(mine, 'notes'), 'utf8'), 'x');
});

test('hplb apply copies the bytes behind symbolic links (a Hugging Face cache snapshot)', async () => {
  const layoutFile = await planAndExport(22);
  const ck = writeCheckpoint(root, 'ck-linked-src', 'LlamaForCausalLM', false, true, 22);
  const snap = join(root, 'snapshot');
  mkdirSync(snap);
  for (const f of readdirSync(ck.dir)) symlinkSync(join(ck.dir, f), join(snap, f));
  const out = join(root, 'o-snap');
  const c = capture();
  assert.equal(await main(['apply', layoutFile, '--checkpoint', snap, '--out', out], c.io), 0, c.err);
  assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), '{"tiny": true}');
  assert.equal(readdirSync(out).filter((f) => f.endsWith('.safetensors')).length, 2);
});

test('hplb apply refuses duplicate shard names, index paths leaving the checkpoint, overlapping data_offsets and a deep __metadata__, each in one line', async () => {
  const layoutFile = await planAndExport(23);
  const out = join(root, 'o-bad');
  const ck = writeCheckpoint(root, 'ck-bad', 'LlamaForCausalLM', false, true, 23);
  const idxFile = join(ck.dir, 'model.safetensors.index.json');
  const idx = readFileSync(idxFile, 'utf8');
  const shard2 = 'model-00002-of-00002.safetensors';
  writeFileSync(idxFile, idx.split(shard2).join(`../elsewhere/${shard2}`));
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out], 1, /index\.json: at \$\.weight_map\[".*"\]: expected a shard path inside the checkpoint/, out);
  mkdirSync(join(ck.dir, 'a'));
  mkdirSync(join(ck.dir, 'b'));
  writeFileSync(join(ck.dir, 'a', 'model.safetensors'), readFileSync(join(ck.dir, 'model-00001-of-00002.safetensors')));
  writeFileSync(join(ck.dir, 'b', 'model.safetensors'), readFileSync(join(ck.dir, shard2)));
  writeFileSync(idxFile, idx.split('model-00001-of-00002.safetensors').join('a/model.safetensors').split(shard2).join('b/model.safetensors'));
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out], 1, /at \$\.weight_map\[".*"\]: expected shard files with distinct names/, out);
  writeFileSync(idxFile, idx);
  const good = readFileSync(join(ck.dir, shard2));
  rewriteHeader(join(ck.dir, shard2), (h) => {
    const [a, b] = Object.keys(h).filter((k) => k !== '__metadata__') as [string, string];
    (h[b] as { data_offsets: number[] }).data_offsets = [...(h[a] as { data_offsets: number[] }).data_offsets];
    (h[b] as { shape: number[] }).shape = [...(h[a] as { shape: number[] }).shape];
    (h[b] as { dtype: string }).dtype = (h[a] as { dtype: string }).dtype;
    return JSON.stringify(h);
  });
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out], 1, /00002\.safetensors: at \$\[".*"\]\.data_offsets: expected a range that does not overlap another tensor's/, out);
  writeFileSync(join(ck.dir, shard2), good);
  rewriteHeader(join(ck.dir, shard2), (h) => {
    delete h['__metadata__'];
    return `{"__metadata__":${'{"a":'.repeat(100_000)}"x"${'}'.repeat(100_000)},${JSON.stringify(h).slice(1)}`;
  });
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', out], 1, /at \$\["__metadata__"\]\["a"\]: expected a string/, out);
});

test('hplb apply refuses a FIFO (as the layout, as config.json) at once instead of blocking', { timeout: 30_000 }, async () => {
  const layoutFile = await planAndExport(24);
  const ck = writeCheckpoint(root, 'ck-fifo', 'LlamaForCausalLM', false, false, 24);
  const fifo = join(root, 'layout.fifo');
  execFileSync('mkfifo', [fifo]);
  await failsCleanly(['apply', fifo, '--checkpoint', ck.dir, '--out', join(root, 'o-fifo')], 1, /layout\.fifo: at \$: expected a readable file, got a FIFO/);
  rmSync(join(ck.dir, 'config.json'));
  execFileSync('mkfifo', [join(ck.dir, 'config.json')]);
  await failsCleanly(['apply', layoutFile, '--checkpoint', ck.dir, '--out', join(root, 'o-fifo')], 1, /config\.json: at \$: expected a readable file, got a FIFO/, join(root, 'o-fifo'));
});
