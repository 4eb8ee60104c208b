/**
 * `applyLayout` (@hplb/engines/node) on tiny safetensors checkpoints written here (Llama in two shards with an
 * index, Qwen2 with q/k/v biases, Mistral, bfloat16): the rewritten tensors, loaded the way a TP engine loads them,
 * reproduce the original layers (the identity of identity.test.ts); untouched tensors are byte-identical;
 * config.json gets the new num_key_value_heads. Then every refusal is a Left naming the file and JSON path (options
 * as `$.out`, never a CLI flag), and nothing is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, type EngineLayout, type HplbError, type ModelShape } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { applyLayout, closeSafetensors, exportEngineLayout, openSafetensors, readTensor, writeSafetensors } from '../src/node/index.ts';
import { TOLERANCE, layerOutput, maxRelError, randomInput, randomWeights, rng, shardedOutput, type LayerWeights } from './reference.ts';

const M: ModelShape = { name: 'tiny-llama', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 4 };
const HIDDEN = 12;
const N = 6;
const TP = 4;

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** bfloat16 (truncated float32: the top 16 bits), as most real checkpoints store weights. */
const toBf16 = (a: Float32Array): { data: Uint8Array; value: Float32Array } => {
  const u32 = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const u16 = Uint16Array.from(u32, (x) => x >>> 16);
  return { data: new Uint8Array(u16.buffer), value: new Float32Array(Uint32Array.from(u16, (x) => x << 16).buffer) };
};
const fromBf16 = (b: Buffer): Float32Array => {
  const u16 = new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return new Float32Array(Uint32Array.from(u16, (x) => x << 16).buffer);
};
type Dtype = 'F32' | 'BF16';
const encode = (a: Float32Array, dtype: Dtype) => (dtype === 'F32' ? { data: bytes(a), value: a } : toBf16(a));
const decodeT = (b: Buffer, dtype: Dtype) => (dtype === 'F32' ? f32(b) : fromBf16(b));

interface Ckpt {
  readonly dir: string;
  readonly weights: LayerWeights[];
}

/** Write a tiny HF checkpoint: config.json, tokenizer.json, shards (+ index when sharded). */
const writeCheckpoint = (root: string, name: string, arch: string, biases: boolean, sharded: boolean, seed: number, dtype: Dtype = 'F32'): Ckpt => {
  const dir = join(root, name);
  const raw = Array.from({ length: M.layers }, (_, l) => randomWeights(seed + l, HIDDEN, M.queryHeads, M.kvHeads, M.headDim, biases));
  // The reference weights are the stored values (rounded to bfloat16 when stored so).
  const enc = raw.map((w) => ({
    wq: encode(w.wq, dtype), wk: encode(w.wk, dtype), wv: encode(w.wv, dtype), wo: encode(w.wo, dtype),
    ...(w.bq ? { bq: encode(w.bq, dtype), bk: encode(w.bk!, dtype), bv: encode(w.bv!, dtype) } : {}),
  }));
  const weights: LayerWeights[] = raw.map((w, l) => {
    const e = enc[l]!;
    return { ...w, wq: e.wq.value, wk: e.wk.value, wv: e.wv.value, wo: e.wo.value, ...(e.bq ? { bq: e.bq.value, bk: e.bk!.value, bv: e.bv!.value } : {}) };
  });
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
  return { dir, weights };
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

const weightsFrom = (all: Map<string, { shape: number[]; data: Buffer }>, l: number, H: number, S: number, dtype: Dtype): LayerWeights => {
  const p = `model.layers.${l}.self_attn`;
  const g = (n: string) => decodeT(all.get(`${p}.${n}`)!.data, dtype);
  return {
    hidden: HIDDEN, headDim: M.headDim, queryHeads: H, kvHeads: S,
    wq: g('q_proj.weight'), wk: g('k_proj.weight'), wv: g('v_proj.weight'), wo: g('o_proj.weight'),
    ...(all.has(`${p}.q_proj.bias`) ? { bq: g('q_proj.bias'), bk: g('k_proj.bias'), bv: g('v_proj.bias') } : {}),
  };
};

const root = mkdtempSync(join(tmpdir(), 'hplb-apply-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/** Plan (engine layout, TP 4, r = 2) and export it; returns the layout (round-tripped through JSON, as files are). */
const planAndExport = (seed: number): EngineLayout => {
  const r = rng(seed);
  const budgets = Array.from({ length: M.layers }, () => Array.from({ length: M.queryHeads }, () => 1 + Math.floor(r() * N)));
  const res = planEngineLayout({ model: M, devices: makeDevices(TP), lengths: [{ contextLength: N, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 2, timeLimitMs: 200, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  const ex = exportEngineLayout(res.right.plan, { engine: 'vllm' });
  assert.ok(E.isRight(ex), JSON.stringify(E.isLeft(ex) ? ex.left : ''));
  return JSON.parse(JSON.stringify(ex.right.layout)) as EngineLayout;
};

for (const [arch, biases, sharded, dtype] of [['LlamaForCausalLM', false, true, 'F32'], ['Qwen2ForCausalLM', true, false, 'F32'], ['MistralForCausalLM', false, false, 'F32'], ['Qwen2ForCausalLM', true, true, 'BF16']] as const) {
  test(`hplb apply on a tiny ${dtype} ${arch} checkpoint${sharded ? ' (2 shards + index)' : ''}: engine-sharded output equals the original`, async () => {
    const seed = arch.length * 31 + (biases ? 1 : 0) + (dtype === 'BF16' ? 5 : 0);
    const ck = writeCheckpoint(root, `ck-${arch}-${dtype}`, arch, biases, sharded, seed, dtype);
    const layout = planAndExport(seed);
    const outDir = join(root, `out-${arch}-${dtype}`);
    const progress: number[] = [];
    const rep = await applyLayout(layout, { checkpoint: ck.dir, out: outDir, onProgress: (d) => progress.push(d) });
    assert.ok(E.isRight(rep), JSON.stringify(E.isLeft(rep) ? rep.left : ''));
    assert.equal(rep.right.out, outDir);
    assert.equal(rep.right.architecture, arch);
    assert.deepEqual([rep.right.kvHeads, rep.right.kvSlots, rep.right.kvCopies, rep.right.layers], [M.kvHeads, M.kvHeads * 2, 2, M.layers]);
    assert.equal(rep.right.shards.length, sharded ? 2 : 1);
    assert.ok(progress.length > 0 && progress.every((d, i) => i === 0 || d >= progress[i - 1]!), 'progress grows');
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
    const S = cfg.num_key_value_heads as number;
    for (let l = 0; l < M.layers; l++) {
      const x = randomInput(seed + l, N, HIDDEN);
      const want = layerOutput(x, N, ck.weights[l]!);
      const w2 = weightsFrom(after, l, M.queryHeads, S, dtype);
      for (const tp of [1, TP]) {
        const { err, at } = maxRelError(shardedOutput(x, N, w2, tp), want);
        assert.ok(err <= TOLERANCE.f32WeightsF64Math, `seed ${seed} layer ${l} TP ${tp}: error ${err} at ${at}`);
      }
    }
    assert.equal(layout.geometry.kvSlots, S);
  });
}

// ---------------------------------------------------------------- refusals

const refused = async (layout: EngineLayout, options: Parameters<typeof applyLayout>[1], path: RegExp, expected: RegExp, file?: RegExp): Promise<HplbError> => {
  const r = await applyLayout(layout, options);
  assert.ok(E.isLeft(r), 'expected a refusal');
  const i = r.left.issues[0]!;
  assert.match(i.path, path);
  assert.match(i.expected, expected);
  if (file) assert.match(r.left.file ?? '', file);
  assert.doesNotMatch(`${i.path} ${i.expected}`, /--[a-z]/, 'library errors name options, never CLI flags');
  return r.left;
};

test('applyLayout refuses a checkpoint missing a tensor or with a wrong shape, naming it; nothing is written', async () => {
  const ck = writeCheckpoint(root, 'ck-missing', 'LlamaForCausalLM', false, false, 3);
  const layout = planAndExport(3);
  const st = openSafetensors(join(ck.dir, 'model.safetensors'));
  assert.ok(E.isRight(st));
  const all = st.right.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: readTensor(st.right, t) }));
  closeSafetensors(st.right);
  writeSafetensors(join(ck.dir, 'model.safetensors'), all.filter((t) => t.name !== 'model.layers.1.self_attn.v_proj.weight'));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o1') }, /model\.layers\.1\.self_attn\.v_proj\.weight/, /in the checkpoint/);
  assert.equal(existsSync(join(root, 'o1')), false, 'no partial output');
  writeSafetensors(join(ck.dir, 'model.safetensors'), all.map((t) => (t.name === 'model.layers.0.self_attn.o_proj.weight' ? { ...t, shape: [M.queryHeads * M.headDim, HIDDEN] } : t)));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o2') }, /o_proj\.weight"\]\.shape/, /\[12, 32\]/, /model\.safetensors$/);
});

test('applyLayout refuses unknown, fused-QKV and ALiBi architectures, naming what is missing', async () => {
  const layout = planAndExport(5);
  const ck = writeCheckpoint(root, 'ck-gemma', 'GemmaForCausalLM', false, false, 5);
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o3') }, /^\$\.architectures\[0\]$/, /GemmaForCausalLM is unknown to hplb apply/, /config\.json$/);
  const ck2 = writeCheckpoint(root, 'ck-phi', 'Phi3ForCausalLM', false, false, 5);
  await refused(layout, { checkpoint: ck2.dir, out: join(root, 'o3') }, /architectures/, /fused QKV projection \(qkv_proj\)/);
  const ck3 = writeCheckpoint(root, 'ck-bloom', 'BloomForCausalLM', false, false, 5);
  await refused(layout, { checkpoint: ck3.dir, out: join(root, 'o3') }, /architectures/, /ALiBi/);
});

test('applyLayout: a config that does not match, the output options, a tier-3 layout, a layout that lost a KV slot', async () => {
  const layout = planAndExport(6);
  const ck = writeCheckpoint(root, 'ck-cfg', 'LlamaForCausalLM', false, false, 6);
  const cfg = JSON.parse(readFileSync(join(ck.dir, 'config.json'), 'utf8'));
  writeFileSync(join(ck.dir, 'config.json'), JSON.stringify({ ...cfg, num_attention_heads: 16 }));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o4') }, /^\$\.num_attention_heads$/, /^8 /);
  writeFileSync(join(ck.dir, 'config.json'), JSON.stringify(cfg));
  mkdirSync(join(root, 'exists'), { recursive: true });
  const e = await refused(layout, { checkpoint: ck.dir, out: join(root, 'exists') }, /^\$\.out$/, /does not exist yet \(or force: true/);
  assert.equal(e.code, 'io');
  assert.equal((await refused(layout, { checkpoint: 'ck-cfg', out: 'ck-cfg', cwd: root }, /^\$\.out$/, /other than the checkpoint/)).code, 'argument');
  await refused(layout, { checkpoint: join(root, 'nowhere'), out: join(root, 'o5') }, /^\$$/, /a checkpoint directory/, /nowhere$/);
  const tier3 = { ...layout, tier: 3 } as unknown as EngineLayout;
  await refused(tier3, { checkpoint: ck.dir, out: join(root, 'o5'), layoutFile: 'l.json' }, /^\$\.tier$/, /tier-1 layout/, /^l\.json$/);
  const lay = JSON.parse(JSON.stringify(layout));
  const L = lay.layers[0];
  const gs = M.queryHeads / M.kvHeads;
  const p1 = L.qSource.findIndex((q: number) => Math.floor(q / gs) !== Math.floor(L.qSource[0] / gs));
  [L.qSource[0], L.qSource[p1]] = [L.qSource[p1], L.qSource[0]];
  await refused(lay, { checkpoint: ck.dir, out: join(root, 'o5'), layoutFile: 'bad.json' }, /qSource/, /lost its KV slot/, /^bad\.json$/);
  assert.equal(existsSync(join(root, 'o5')), false);
});

test('applyLayout: a truncated shard is a Left; force replaces an existing output as a whole, leaving no temporary directory', async () => {
  const layout = planAndExport(8);
  const ck = writeCheckpoint(root, 'ck-trunc', 'LlamaForCausalLM', false, false, 8);
  const good = readFileSync(join(ck.dir, 'model.safetensors'));
  writeFileSync(join(ck.dir, 'model.safetensors'), good.subarray(0, good.length - 100));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o6') }, /data_offsets/, /a range inside the file/, /model\.safetensors$/);
  writeFileSync(join(ck.dir, 'model.safetensors'), good);
  const out = join(root, 'o7');
  mkdirSync(out);
  writeFileSync(join(out, 'stale.txt'), 'old');
  const r = await applyLayout(layout, { checkpoint: ck.dir, out, force: true });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  assert.equal(existsSync(join(out, 'stale.txt')), false, 'the old output is replaced as a whole');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_key_value_heads, 4);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('hplb-tmp')), [], 'no temporary directory left behind');
});
