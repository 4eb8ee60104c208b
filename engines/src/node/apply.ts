/**
 * `applyLayout`: rewrite a Hugging Face checkpoint so a stock engine runs an hplb engine layout (tier 1); what
 * `hplb apply` does. Streams the safetensors shards one tensor at a time: per layer it permutes q_proj rows (and
 * bias), permutes and duplicates k_proj / v_proj rows (and biases) into the KV slots, permutes o_proj columns;
 * every other tensor is copied byte for byte. config.json gets the layout's config changes (num_key_value_heads,
 * head_dim) and an `hplb_engine_layout` record. Llama, Mistral and Qwen2 only; anything else is refused naming what
 * is missing (arch.ts). The output directory appears atomically: it is written to a temporary sibling and renamed,
 * so a failure leaves nothing behind and an existing output (with `force`) is replaced only as a whole.
 *
 * Errors name the layout's, config's, index's and shards' JSON paths with their files, and options as `$.out`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, issueText, parseJson, validateEngineLayout, type EngineLayout, type HplbError } from '@hplb/core';
import { FUSED_QKV_MARKERS, checkCheckpointConfig } from '../arch.ts';
import { permuteColumnBlocks, permuteRowBlocks } from '../transform.ts';
import { DTYPE_BYTES, SafetensorsWriter, closeSafetensors, openSafetensors, readTensor, type SafetensorsFile, type TensorSpec } from './safetensors.ts';

// ---------------------------------------------------------------- model

export interface ApplyOptions {
  /** The Hugging Face checkpoint directory: config.json + *.safetensors (one file, or shards with model.safetensors.index.json). */
  readonly checkpoint: string;
  /** The directory to write; it must not exist unless `force`. */
  readonly out: string;
  /** Replace `out` if it exists (as a whole, after the new output is complete). Default false. */
  readonly force?: boolean;
  /** Base for relative `checkpoint` / `out` (default `process.cwd()`). */
  readonly cwd?: string;
  /** The layout's file, named in its errors. */
  readonly layoutFile?: string;
  /** Progress in bytes of tensor data read, with the shard being written. */
  readonly onProgress?: (doneBytes: number, totalBytes: number, shard: string) => void;
}

/** What `applyLayout` wrote. */
export interface ApplyReport {
  /** The absolute output directory. */
  readonly out: string;
  readonly architecture: string;
  readonly engine: EngineLayout['engine'];
  readonly tpSize: number;
  readonly kvCopies: number;
  /** num_key_value_heads before (the model's KV heads) and after (the layout's KV slots). */
  readonly kvHeads: number;
  readonly kvSlots: number;
  readonly layers: number;
  /** The safetensors files rewritten, in order. */
  readonly shards: ReadonlyArray<string>;
  /** Bytes of tensor data written. */
  readonly tensorBytes: number;
  /** Subdirectories of the checkpoint that were not copied (they are not rewritten, e.g. Meta's `original/`). */
  readonly skipped: ReadonlyArray<string>;
}

// ---------------------------------------------------------------- helpers

/** A refusal raised deep in the rewrite; `applyLayout` returns it as a Left. */
class Refusal {
  constructor(readonly error: HplbError) {}
}

const refuse = (code: HplbError['code'], path: string, expected: string, actual?: unknown, file?: string): never => {
  throw new Refusal(hplbError(code, [issue(path, expected, actual)], file));
};

const need = <A>(r: E.Either<HplbError, A>): A => {
  if (E.isLeft(r)) throw new Refusal(r.left);
  return r.right;
};

const readJsonFile = (file: string): E.Either<HplbError, unknown> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : e instanceof Error ? e.message : String(e);
    return E.left(hplbError('io', [issueText('$', 'a readable file', what)], file));
  }
  return parseJson(text, file);
};

/** The shards of a checkpoint directory, in a stable order. */
const listShards = (dir: string): { shards: string[]; index: string | undefined } => {
  const indexFile = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexFile)) {
    const idx = need(readJsonFile(indexFile)) as { weight_map?: Record<string, string> };
    if (typeof idx.weight_map !== 'object' || idx.weight_map === null) refuse('decode', '$.weight_map', 'an object tensor name → shard file', undefined, indexFile);
    const shards = [...new Set(Object.values(idx.weight_map!))].sort();
    for (const s of shards) if (!existsSync(join(dir, s))) refuse('io', `$.weight_map`, `shard ${s} present in ${dir}`, 'missing', indexFile);
    return { shards, index: 'model.safetensors.index.json' };
  }
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (shards.length === 0) refuse('io', '$', 'safetensors weights (*.safetensors); PyTorch .bin checkpoints must be converted first', 'none', dir);
  if (shards.length > 1) refuse('io', '$', 'model.safetensors.index.json next to several shards', 'no index', dir);
  return { shards, index: undefined };
};

/** How one attention tensor is rewritten. */
interface Rewrite {
  readonly kind: 'q' | 'kv' | 'o' | 'qb' | 'kvb';
  readonly layer: number;
}

// ---------------------------------------------------------------- operations

/**
 * Rewrite the checkpoint in `options.checkpoint` for a tier-1 engine layout into `options.out`. The result loads
 * unchanged in vLLM, SGLang and TensorRT-LLM at the layout's TP size. Expected failures (an unsupported or
 * mismatched checkpoint, a missing tensor, an existing output) are Lefts; the output is all or nothing.
 *
 * @example
 * const r = await applyLayout(layout, { checkpoint: 'Meta-Llama-3.1-8B-Instruct', out: 'Llama-3.1-8B-hplb-tp8' });
 * if (E.isLeft(r)) console.error(formatError(r.left));
 */
export const applyLayout = async (layout: EngineLayout, options: ApplyOptions): Promise<E.Either<HplbError, ApplyReport>> => {
  try {
    return E.right(rewrite(layout, options));
  } catch (e) {
    if (e instanceof Refusal) return E.left(e.error);
    // File-system failures (no space, no permission, ...) are expected failures too; anything else is a bug.
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') return E.left(hplbError('io', [issueText('$', 'a writable output directory', (e as Error).message)], options.out));
    throw e;
  }
};

const rewrite = (layout: EngineLayout, options: ApplyOptions): ApplyReport => {
  for (const key of ['checkpoint', 'out'] as const)
    if (typeof options?.[key] !== 'string' || options[key] === '') refuse('argument', `$.${key}`, key === 'out' ? 'the directory to write' : 'the checkpoint directory', options?.[key]);
  need(validateEngineLayout(layout, options.layoutFile));
  if (layout.tier !== 1 || layout.virtualHeads)
    refuse('argument', '$.tier', `a tier-1 layout: this one has virtual heads (split heads), which no engine can run from a rewritten checkpoint (${layout.virtualHeads?.requirement ?? 'tier 3'})`, layout.tier, options.layoutFile);
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.checkpoint);
  const out = resolve(cwd, options.out);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) refuse('io', '$', 'a checkpoint directory', 'not a directory', options.checkpoint);
  if (out === dir) refuse('argument', '$.out', 'a directory other than the checkpoint', options.out);
  if (existsSync(out) && !options.force) refuse('io', '$.out', 'a path that does not exist yet (or force: true to replace it)', 'exists', options.out);

  const cfgFile = join(dir, 'config.json');
  const cfg = need(readJsonFile(cfgFile)) as Record<string, unknown>;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) refuse('decode', '$', 'a JSON object', undefined, cfgFile);
  const { arch, hidden } = need(checkCheckpointConfig(cfg, layout, cfgFile));
  const { shards, index } = listShards(dir);

  // Open every shard's header, then check every attention tensor is there with the right shape.
  const files: SafetensorsFile[] = [];
  try {
    for (const s of shards) files.push(need(openSafetensors(join(dir, s))));
    const where = new Map<string, SafetensorsFile>();
    for (const f of files) for (const t of f.tensors) where.set(t.name, f);
    for (const name of where.keys())
      if (FUSED_QKV_MARKERS.some((mk) => name.includes(`.${mk}.`)))
        refuse('argument', `$[${JSON.stringify(name)}]`, `separate q_proj/k_proj/v_proj tensors (${arch.architecture} with a fused QKV tensor is not supported)`, name, where.get(name)!.path);
    const m = layout.model;
    const d = m.headDim;
    const H = m.queryHeads;
    const K = m.kvHeads;
    const S = layout.geometry.kvSlots;
    const rewrites = new Map<string, Rewrite>();
    for (let l = 0; l < m.layers; l++) {
      const n = arch.tensors(l);
      const want: [string, Rewrite['kind'], number[]][] = [
        [n.q, 'q', [H * d, hidden]],
        [n.k, 'kv', [K * d, hidden]],
        [n.v, 'kv', [K * d, hidden]],
        [n.o, 'o', [hidden, H * d]],
      ];
      const hasBias = where.has(n.qBias) || where.has(n.kBias) || where.has(n.vBias);
      if (arch.biases === 'required' || (arch.biases === 'optional' && hasBias)) want.push([n.qBias, 'qb', [H * d]], [n.kBias, 'kvb', [K * d]], [n.vBias, 'kvb', [K * d]]);
      else if (hasBias) refuse('decode', `$[${JSON.stringify(n.qBias)}]`, `no q/k/v biases (${arch.architecture} has none)`, 'present', dir);
      for (const [name, kind, shape] of want) {
        const f = where.get(name);
        if (!f) refuse('decode', `$[${JSON.stringify(name)}]`, `tensor ${name} (${arch.architecture}, layer ${l}) in the checkpoint`, 'missing', index ? join(dir, index) : dir);
        const t = f!.byName.get(name)!;
        if (t.shape.join(',') !== shape.join(','))
          refuse('decode', `$[${JSON.stringify(name)}].shape`, `[${shape.join(', ')}] (${H} query heads, ${K} KV heads, head dim ${d}, hidden ${hidden})`, `[${t.shape.join(', ')}]`, f!.path);
        rewrites.set(name, { kind, layer: l });
      }
    }

    // Subdirectories (e.g. Meta's original/ consolidated weights) are not rewritten, so they are not copied either.
    const skipped: string[] = [];
    // Write into a temporary sibling, then rename.
    const tmp = join(dirname(out), `.${basename(out)}.hplb-tmp-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    let totalOut = 0;
    try {
      const total = files.reduce((s, f) => s + f.tensors.reduce((a, t) => a + (t.end - t.start), 0), 0);
      let done = 0;
      for (const f of files) {
        const specs: TensorSpec[] = f.tensors.map((t) => {
          const rw = rewrites.get(t.name);
          const shape = rw?.kind === 'kv' ? [S * d, hidden] : rw?.kind === 'kvb' ? [S * d] : t.shape;
          return { name: t.name, dtype: t.dtype, shape };
        });
        const w = new SafetensorsWriter(join(tmp, basename(f.path)), specs, f.metadata);
        try {
          for (const t of f.tensors) {
            const raw = readTensor(f, t);
            const rw = rewrites.get(t.name);
            let data: Uint8Array = raw;
            if (rw) {
              const eb = DTYPE_BYTES[t.dtype]!;
              const L = layout.layers[rw.layer]!;
              if (rw.kind === 'q') data = permuteRowBlocks(raw, d * hidden * eb, L.qSource);
              else if (rw.kind === 'kv') data = permuteRowBlocks(raw, d * hidden * eb, L.kvSource);
              else if (rw.kind === 'qb') data = permuteRowBlocks(raw, d * eb, L.qSource);
              else if (rw.kind === 'kvb') data = permuteRowBlocks(raw, d * eb, L.kvSource);
              else data = permuteColumnBlocks(raw, hidden, H * d, eb, d, L.qSource);
            }
            w.write(t.name, data);
            totalOut += data.byteLength;
            done += t.end - t.start;
            options.onProgress?.(done, total, basename(f.path));
          }
        } finally {
          w.close();
        }
      }
      // config.json with the layout's changes; the index with the new total size; every other file copied.
      const newCfg: Record<string, unknown> = { ...cfg, ...layout.configChanges, hplb_engine_layout: { format: layout.format, engine: layout.engine, tpSize: layout.tpSize, kvCopies: layout.kvCopies, originalKvHeads: K } };
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(newCfg, null, 2) + '\n');
      if (index) {
        const idx = need(readJsonFile(join(dir, index))) as { metadata?: Record<string, unknown>; weight_map: Record<string, string> };
        writeFileSync(join(tmp, index), JSON.stringify({ ...idx, metadata: { ...(idx.metadata ?? {}), total_size: totalOut } }, null, 2) + '\n');
      }
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) skipped.push(`${entry.name}/`);
        if (!entry.isFile() || entry.name === 'config.json' || entry.name === index || shards.includes(entry.name)) continue;
        copyFileSync(join(dir, entry.name), join(tmp, entry.name));
      }
      if (existsSync(out)) {
        const trash = `${tmp}-old`;
        renameSync(out, trash);
        renameSync(tmp, out);
        rmSync(trash, { recursive: true, force: true });
      } else renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return {
      out,
      architecture: arch.architecture,
      engine: layout.engine,
      tpSize: layout.tpSize,
      kvCopies: layout.kvCopies,
      kvHeads: K,
      kvSlots: S,
      layers: m.layers,
      shards,
      tensorBytes: totalOut,
      skipped,
    };
  } finally {
    for (const f of files) closeSafetensors(f);
  }
};
