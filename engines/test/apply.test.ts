/**
 * `applyLayout` (@hplb/engines/node) on tiny safetensors checkpoints written here (Llama in two shards with an
 * index, Qwen2 with q/k/v biases, Mistral, bfloat16): the rewritten tensors, loaded the way a TP engine loads them,
 * reproduce the original layers (the identity of identity.test.ts); untouched tensors are byte-identical;
 * config.json gets the new num_key_value_heads. Then every refusal is a Left naming the file and JSON path (options
 * as `$.out`, never a CLI flag), and nothing is left behind. Last, one test per class fuzzing found (issue 21): an
 * output over an input, symbolic links, duplicate shard names, index paths leaving the checkpoint, overlapping
 * offsets, a deep `__metadata__`, streaming in bounded chunks (a sparse 4.3 GB tensor), FIFOs, a shard that shrinks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, formatError, makeDevices, type EngineLayout, type HplbError, type ModelShape } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { OUTPUT_MARKER, SafetensorsWriter, applyLayout, closeSafetensors, exportEngineLayout, openSafetensors, readTensor, tensorChunks, writeSafetensors } from '../src/node/index.ts';
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
  assert.ok(E.isRight(await applyLayout(layout, { checkpoint: ck.dir, out })));
  assert.ok(existsSync(join(out, OUTPUT_MARKER)), 'every output carries the marker force needs');
  writeFileSync(join(out, 'stale.txt'), 'old');
  const r = await applyLayout(layout, { checkpoint: ck.dir, out, force: true });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  assert.equal(existsSync(join(out, 'stale.txt')), false, 'the old output is replaced as a whole');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_key_value_heads, 4);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('hplb-tmp')), [], 'no temporary directory left behind');
});

// ---------------------------------------------------------------- hardening (issue 21): one test per class

/** A shard file from a header given as JSON text and the data bytes after it. */
const writeRaw = (file: string, headerText: string, data: Uint8Array = new Uint8Array(0)): void => {
  const json = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, data]));
};

/** Re-encode a shard with its header text changed by `edit` (the data bytes kept: offsets are relative to them). */
const editHeader = (file: string, edit: (header: Record<string, any>) => string | void): void => {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const text = edit(header);
  writeRaw(file, text ?? JSON.stringify(header), b.subarray(8 + n));
};

/** Every file of a directory (links followed) → its bytes. */
const snapshot = (dir: string): Map<string, Buffer> => new Map(readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).map((f) => [f, readFileSync(join(dir, f))]));

test('applyLayout never writes over an input: an output that is, contains or lies inside the checkpoint or the layout is refused, force or not; force replaces only a folder hplb wrote', async () => {
  const layout = planAndExport(11);
  const models = join(root, 'models');
  const ck = writeCheckpoint(models, 'llama', 'LlamaForCausalLM', false, true, 11);
  mkdirSync(join(models, 'other'));
  writeFileSync(join(models, 'other', 'keep.txt'), 'sibling');
  const before = snapshot(ck.dir);
  symlinkSync(models, join(root, 'models-alias'));
  const layoutFile = join(root, 'layout-11.json');
  writeFileSync(layoutFile, JSON.stringify(layout));
  const cases: [string, RegExp][] = [
    [models, /contains the checkpoint/], // `--out models --force` once deleted the checkpoint and every sibling
    [join(ck.dir, 'sub'), /lies inside the checkpoint/],
    [join(ck.dir, '..', 'llama'), /other than the checkpoint/],
    [join(root, 'models-alias'), /contains the checkpoint/], // a symbolic link to the parent: real paths are compared
    [join(root, 'models-alias', 'llama', 'x'), /lies inside the checkpoint/],
    [layoutFile, /is the layout/],
    [join(ck.dir, 'model-00001-of-00002.safetensors'), /.*/],
  ];
  for (const [out, why] of cases)
    for (const force of [false, true]) {
      const e = await refused(layout, { checkpoint: ck.dir, out, force, layoutFile }, /^\$\.out$/, /other than the checkpoint/);
      assert.equal(e.code, 'argument', out);
      assert.match(`${e.issues[0]!.expected} ${e.issues[0]!.actual ?? ''}`, why, out);
    }
  assert.deepEqual(snapshot(ck.dir), before, 'the checkpoint is untouched');
  assert.equal(readFileSync(join(models, 'other', 'keep.txt'), 'utf8'), 'sibling');
  assert.ok(existsSync(layoutFile));
  // A folder hplb did not write (no marker) is never replaced, nor is a file or a link.
  const precious = join(root, 'precious');
  mkdirSync(precious);
  writeFileSync(join(precious, 'thesis.tex'), 'years of work');
  const e = await refused(layout, { checkpoint: ck.dir, out: precious, force: true }, /^\$\.out$/, /a folder hplb wrote, with its \.hplb-output marker \(force replaces only those\)/, /precious$/);
  assert.equal(e.code, 'io');
  assert.match(e.issues[0]!.actual ?? '', /without \.hplb-output/);
  assert.equal(readFileSync(join(precious, 'thesis.tex'), 'utf8'), 'years of work');
  writeFileSync(join(root, 'a-file'), 'x');
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'a-file'), force: true }, /^\$\.out$/, /marker/);
  const out = join(root, 'o-marked');
  assert.ok(E.isRight(await applyLayout(layout, { checkpoint: ck.dir, out })));
  symlinkSync(out, join(root, 'o-link'));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-link'), force: true }, /^\$\.out$/, /marker/);
  assert.ok(E.isRight(await applyLayout(layout, { checkpoint: ck.dir, out, force: true })), 'an output hplb wrote is replaced');
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('hplb-tmp')), []);
});

test('applyLayout follows symbolic links (a Hugging Face cache snapshot is made of them) and copies their targets\' bytes; a broken link is refused', async () => {
  const layout = planAndExport(12);
  const ck = writeCheckpoint(root, 'ck-real', 'LlamaForCausalLM', false, true, 12);
  // hub/models--x/blobs/<n> holds the bytes; hub/models--x/snapshots/rev/<name> → ../../blobs/<n>, as huggingface_hub lays them out.
  const repo = join(root, 'hub', 'models--tiny');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  const snap = join(repo, 'snapshots', 'rev');
  mkdirSync(snap, { recursive: true });
  readdirSync(ck.dir).forEach((f, i) => {
    writeFileSync(join(repo, 'blobs', `blob${i}`), readFileSync(join(ck.dir, f)));
    symlinkSync(join('..', '..', 'blobs', `blob${i}`), join(snap, f));
  });
  const direct = join(root, 'o-direct');
  const viaLinks = join(root, 'o-links');
  assert.ok(E.isRight(await applyLayout(layout, { checkpoint: ck.dir, out: direct })));
  const r = await applyLayout(layout, { checkpoint: snap, out: viaLinks });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  assert.deepEqual(readdirSync(viaLinks).sort(), readdirSync(direct).sort());
  assert.ok(readdirSync(viaLinks).includes('tokenizer.json'), 'a linked file beside the weights is copied, not dropped');
  for (const f of readdirSync(direct)) {
    assert.ok(lstatSync(join(viaLinks, f)).isFile(), `${f} is a file, not a link`);
    if (f !== OUTPUT_MARKER) assert.ok(readFileSync(join(viaLinks, f)).equals(readFileSync(join(direct, f))), `${f} differs when read through links`);
  }
  // The blobs are inputs too: an output there is refused.
  await refused(layout, { checkpoint: snap, out: join(repo, 'blobs'), force: true }, /^\$\.out$/, /other than the checkpoint/);
  symlinkSync(join(root, 'nowhere'), join(snap, 'generation_config.json'));
  await refused(layout, { checkpoint: snap, out: join(root, 'o-broken') }, /^\$$/, /readable file/, /generation_config\.json$/);
  assert.equal(existsSync(join(root, 'o-broken')), false);
});

test('applyLayout refuses two shards with one file name in different folders (they would overwrite each other)', async () => {
  const layout = planAndExport(13);
  const ck = writeCheckpoint(root, 'ck-dupname', 'LlamaForCausalLM', false, true, 13);
  const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  files.forEach((f, i) => {
    mkdirSync(join(ck.dir, `part${i}`));
    renameSync(join(ck.dir, f), join(ck.dir, `part${i}`, 'model.safetensors'));
  });
  const idxFile = join(ck.dir, 'model.safetensors.index.json');
  const idx = JSON.parse(readFileSync(idxFile, 'utf8'));
  for (const [k, v] of Object.entries(idx.weight_map)) idx.weight_map[k] = `part${files.indexOf(v as string)}/model.safetensors`;
  writeFileSync(idxFile, JSON.stringify(idx));
  const e = await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-dupname') }, /^\$\.weight_map\[".*"\]$/, /distinct names.*part0\/model\.safetensors and part1\/model\.safetensors/, /index\.json$/);
  assert.equal(e.issues.length, 1);
  assert.equal(existsSync(join(root, 'o-dupname')), false);
});

test('applyLayout refuses index entries that leave the checkpoint, and an index that misplaces a tensor', async () => {
  const layout = planAndExport(14);
  const ck = writeCheckpoint(root, 'ck-escape', 'LlamaForCausalLM', false, true, 14);
  mkdirSync(join(root, 'x'), { recursive: true });
  writeFileSync(join(root, 'x', 'model.safetensors'), readFileSync(join(ck.dir, 'model-00002-of-00002.safetensors')));
  const idxFile = join(ck.dir, 'model.safetensors.index.json');
  const good = JSON.parse(readFileSync(idxFile, 'utf8'));
  const withEntry = (value: string, pick = 'model-00002-of-00002.safetensors') => {
    const idx = JSON.parse(JSON.stringify(good));
    for (const [k, v] of Object.entries(idx.weight_map)) if (v === pick) idx.weight_map[k] = value;
    writeFileSync(idxFile, JSON.stringify(idx));
  };
  for (const escape of ['../x/model.safetensors', join(root, 'x', 'model.safetensors'), 'sub/../../x/model.safetensors'])
    {
      withEntry(escape);
      await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-escape') }, /^\$\.weight_map\[".*"\]$/, /inside the checkpoint/, /index\.json$/);
    }
  withEntry('config.json');
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-escape') }, /^\$\.weight_map\[/, /\.safetensors shard/);
  // Every tensor where the index says it is, and no tensor twice.
  const idx = JSON.parse(JSON.stringify(good));
  idx.weight_map['model.embed_tokens.weight'] = 'model-00002-of-00002.safetensors';
  writeFileSync(idxFile, JSON.stringify(idx));
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-escape') }, /^\$\.weight_map\["model\.embed_tokens\.weight"\]$/, /model-00001-of-00002\.safetensors, the shard that holds/);
  assert.equal(existsSync(join(root, 'o-escape')), false);
});

test('openSafetensors checks every offset before a tensor byte is read: in bounds, disjoint, end − start = dtype bytes × product(shape)', () => {
  const file = join(root, 'crafted.safetensors');
  const data = new Uint8Array(32);
  const left = (header: unknown, path: RegExp, expected: RegExp, raw?: string) => {
    writeRaw(file, raw ?? JSON.stringify(header), data);
    const r = openSafetensors(file);
    assert.ok(E.isLeft(r), `expected a Left for ${raw?.slice(0, 80) ?? JSON.stringify(header)}`);
    assert.equal(r.left.file, file);
    assert.match(r.left.issues[0]!.path, path);
    assert.match(r.left.issues[0]!.expected, expected);
    assert.doesNotMatch(formatError(r.left), /\n/);
  };
  const f32 = (a: number, b: number, n = 4) => ({ dtype: 'F32', shape: [n], data_offsets: [a, b] });
  left({ a: f32(0, 16), b: f32(8, 24) }, /^\$\["b"\]\.data_offsets$/, /does not overlap another tensor's \(a holds 0\.\.16\)/);
  left({ b: f32(8, 24), a: f32(0, 16) }, /^\$\["b"\]\.data_offsets$/, /overlap/);
  left({ a: f32(0, 16), b: f32(0, 16) }, /^\$\["b"\]\.data_offsets$|^\$\["a"\]\.data_offsets$/, /overlap/);
  left({ a: f32(0, 12) }, /^\$\["a"\]\.data_offsets$/, /end − start = 16 bytes for F32 \[4\]/);
  left({ a: f32(24, 40) }, /^\$\["a"\]\.data_offsets$/, /inside the file's 32 data bytes/);
  left({ a: f32(16, 0, 0) }, /^\$\["a"\]\.data_offsets$/, /start ≤ end/);
  left({ a: f32(0, 2 ** 60) }, /^\$\["a"\]\.data_offsets$/, /byte offsets/);
  left({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } }, /^\$\["a"\]\.data_offsets$/, /dtype bytes × product\(shape\)/);
  left({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, /^\$\["a"\]\.shape$/, /non-negative integers/);
  left({ a: { dtype: 'toString', shape: [4], data_offsets: [0, 16] } }, /^\$\["a"\]\.dtype$/, /safetensors dtype/);
  left({ a: null }, /^\$\["a"\]$/, /tensor entry/);
  left(undefined, /^\$$/, /JSON safetensors header/, '{"a": {"dtype": "F32",\n "shape": [4]');
  // Tensors that tile the data, in any header order, are accepted (a 0-byte tensor overlaps nothing).
  writeRaw(file, JSON.stringify({ b: f32(16, 32), a: f32(0, 16), e: f32(16, 16, 0), __proto__x: f32(32, 32, 0) }), data);
  const ok = openSafetensors(file);
  assert.ok(E.isRight(ok), JSON.stringify(E.isLeft(ok) ? ok.left : ''));
  assert.deepEqual(ok.right.tensors.map((t) => t.name).slice(0, 1), ['a']);
  closeSafetensors(ok.right);
});

test('applyLayout refuses a shard whose tensors overlap (a tensor would be written from another\'s bytes)', async () => {
  const layout = planAndExport(15);
  const ck = writeCheckpoint(root, 'ck-overlap', 'LlamaForCausalLM', false, false, 15);
  const shard = join(ck.dir, 'model.safetensors');
  editHeader(shard, (h) => {
    // The layer norm now reads the first bytes of the embedding.
    const ln = h['model.layers.0.input_layernorm.weight'];
    const len = ln.data_offsets[1] - ln.data_offsets[0];
    ln.data_offsets = [h['model.embed_tokens.weight'].data_offsets[0], h['model.embed_tokens.weight'].data_offsets[0] + len];
  });
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-overlap') }, /\.data_offsets$/, /does not overlap another tensor's/, /model\.safetensors$/);
  assert.equal(existsSync(join(root, 'o-overlap')), false);
});

test('a safetensors __metadata__ nested 10^5 deep, or not a flat string → string map, is a Left at its key, never a throw', async () => {
  const layout = planAndExport(16);
  const ck = writeCheckpoint(root, 'ck-deep', 'LlamaForCausalLM', false, false, 16);
  const shard = join(ck.dir, 'model.safetensors');
  const good = readFileSync(shard);
  const deep = (n: number) => '{"a":'.repeat(n) + '"x"' + '}'.repeat(n);
  editHeader(shard, (h) => {
    delete h['__metadata__'];
    return `{"__metadata__":${deep(100_000)},${JSON.stringify(h).slice(1)}`;
  });
  const e = await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-deep') }, /^\$\["__metadata__"\]\["a"\]$/, /a string \(safetensors __metadata__ is a flat map of strings to strings\)/, /model\.safetensors$/);
  assert.doesNotMatch(formatError(e), /\n/);
  for (const meta of ['[1, 2]', '"pt"', '{"format": 1}', '{"format": null}']) {
    writeFileSync(shard, good);
    editHeader(shard, (h) => {
      delete h['__metadata__'];
      return `{"__metadata__":${meta},${JSON.stringify(h).slice(1)}`;
    });
    await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-deep') }, /^\$\["__metadata__"\]/, /string/);
  }
  // config.json and the index nested absurdly deep are Lefts too (they are written back out).
  writeFileSync(shard, good);
  writeFileSync(join(ck.dir, 'config.json'), `{"extra":${deep(100_000)},${readFileSync(join(ck.dir, 'config.json'), 'utf8').slice(1)}`);
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-deep') }, /^\$\.extra(\.a)+$/, /nested at most 64 deep/, /config\.json$/);
  assert.equal(existsSync(join(root, 'o-deep')), false);
});

test('applyLayout streams every tensor in bounded chunks: a 7-byte chunk writes the same bytes, and no piece is longer than the chunk (or one o_proj row)', async () => {
  const layout = planAndExport(17);
  const ck = writeCheckpoint(root, 'ck-chunks', 'Qwen2ForCausalLM', true, true, 17);
  const whole = join(root, 'o-whole');
  assert.ok(E.isRight(await applyLayout(layout, { checkpoint: ck.dir, out: whole })));
  const pieces: number[] = [];
  const original = SafetensorsWriter.prototype.writeChunks;
  SafetensorsWriter.prototype.writeChunks = function (name: string, chunks: Iterable<Uint8Array>) {
    const seen = function* () {
      for (const c of chunks) {
        pieces.push(c.byteLength);
        yield c;
      }
    };
    return original.call(this, name, seen());
  };
  try {
    const r = await applyLayout(layout, { checkpoint: ck.dir, out: join(root, 'o-chunked'), chunkBytes: 7 });
    assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  } finally {
    SafetensorsWriter.prototype.writeChunks = original;
  }
  const oRow = M.queryHeads * M.headDim * 4;
  assert.ok(pieces.length > 100 && Math.max(...pieces) <= Math.max(7, oRow), `pieces up to ${Math.max(...pieces)} bytes`);
  for (const f of readdirSync(whole)) assert.ok(readFileSync(join(root, 'o-chunked', f)).equals(readFileSync(join(whole, f))), `${f} differs with 7-byte chunks`);
  await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-c0'), chunkBytes: 0 }, /^\$\.chunkBytes$/, /positive whole number/);
});

test('a tensor over 4 GiB (past Node\'s Buffer limit) is decoded and streamed chunk by chunk, never held in one Buffer', () => {
  // A sparse file: 8 + header + 4.3 GB of zeros that take no disk space.
  const file = join(root, 'big.safetensors');
  const big = 4_300_000_000;
  assert.ok(big > 2 ** 32, 'over Buffer.constants.MAX_LENGTH on Node 20');
  writeRaw(file, JSON.stringify({ __metadata__: { format: 'pt' }, 'model.embed_tokens.weight': { dtype: 'BF16', shape: [big / 2], data_offsets: [0, big] }, tail: { dtype: 'U8', shape: [8], data_offsets: [big, big + 8] } }));
  truncateSync(file, statSync(file).size + big + 8);
  const r = openSafetensors(file);
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  try {
    const t = r.right.byName.get('model.embed_tokens.weight')!;
    assert.equal(t.end - t.start, big);
    const chunk = 1 << 20;
    let n = 0;
    for (const c of tensorChunks(r.right, t, chunk)) {
      assert.equal(c.byteLength, chunk);
      if (++n === 3) break;
    }
    const tail = r.right.byName.get('tail')!;
    assert.equal(tail.start, t.end);
    assert.deepEqual([...tensorChunks(r.right, tail, chunk)].map((c) => c.byteLength), [8]);
  } finally {
    closeSafetensors(r.right);
    rmSync(file);
  }
});

test('non-regular files (a FIFO, a socket) are refused at once, never opened for reading, so nothing blocks', { timeout: 20_000 }, async () => {
  const layout = planAndExport(18);
  for (const [target, path, file] of [
    ['config.json', /^\$$/, /config\.json$/],
    ['model.safetensors', /^\$$/, /model\.safetensors$/],
    ['generation_config.json', /^\$$/, /generation_config\.json$/],
    ['model.safetensors.index.json', /^\$$/, /index\.json$/],
  ] as const) {
    const ck = writeCheckpoint(root, `ck-fifo-${target}`, 'LlamaForCausalLM', false, false, 18);
    rmSync(join(ck.dir, target), { force: true });
    execFileSync('mkfifo', [join(ck.dir, target)]);
    const t0 = Date.now();
    const e = await refused(layout, { checkpoint: ck.dir, out: join(root, 'o-fifo') }, path, /regular file|readable/, file);
    assert.match(e.issues[0]!.actual ?? '', /FIFO/);
    assert.ok(Date.now() - t0 < 5000, 'refused at once');
    assert.equal(existsSync(join(root, 'o-fifo')), false);
  }
  const st = openSafetensors('/dev/zero');
  assert.ok(E.isLeft(st) && /character device/.test(st.left.issues[0]!.actual ?? ''), 'a device is never read');
});

test('a shard that shrinks while it is rewritten: the read failure is reported, naming the shard and tensor, and nothing is written', async () => {
  const layout = planAndExport(19);
  const ck = writeCheckpoint(root, 'ck-shrink', 'LlamaForCausalLM', false, false, 19);
  const shard = join(ck.dir, 'model.safetensors');
  const headerEnd = 8 + Number(readFileSync(shard).readBigUInt64LE(0));
  let cut = false;
  const e = await refused(
    layout,
    { checkpoint: ck.dir, out: join(root, 'o-shrink'), onProgress: () => void (cut || (truncateSync(shard, headerEnd), (cut = true))) },
    /^\$\[".*"\]$/,
    /bytes at offset/,
    /model\.safetensors$/,
  );
  assert.doesNotMatch(formatError(e), /never written/);
  assert.equal(existsSync(join(root, 'o-shrink')), false);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('hplb-tmp')), []);
});
