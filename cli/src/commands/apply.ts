/**
 * `hplb apply layout.json --checkpoint DIR --out DIR`: rewrite a Hugging Face checkpoint so a stock engine runs an
 * hplb engine layout (tier 1). Streams the safetensors shards one tensor at a time: per layer it permutes q_proj
 * rows (and bias), permutes and duplicates k_proj / v_proj rows (and biases) into the KV slots, permutes o_proj
 * columns; every other tensor is copied byte for byte. config.json gets the layout's config changes
 * (num_key_value_heads, head_dim). Llama, Mistral and Qwen2 only; anything else is refused naming what is missing.
 * The output directory appears atomically (written to a temporary sibling, then renamed); a progress bar shows bytes.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';
import { decodeEngineLayout, validateEngineLayout, type EngineLayout } from '@hplb/core';
import { parseArgs } from '../args.ts';
import { FUSED_QKV_MARKERS, REFUSED_ARCHS, SUPPORTED_ARCHS, type ArchSpec } from '@hplb/engines';
import { permuteColumnBlocks, permuteRowBlocks } from '@hplb/engines';
import { CliFailure, argumentError, orFail, readJson, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { DTYPE_BYTES, SafetensorsWriter, closeSafetensors, openSafetensors, readTensor, type SafetensorsFile, type TensorSpec } from '@hplb/engines/node';

export const summary = 'rewrite a Llama / Mistral / Qwen2 safetensors checkpoint for an engine layout (permute and duplicate q/k/v/o heads, update config.json)';

const USAGE = `Usage: hplb apply <layout.json> --checkpoint DIR --out DIR [--force]

  <layout.json>    an hplb.engine-layout/1 file from hplb export (tier 1)
  --checkpoint DIR a Hugging Face checkpoint: config.json + *.safetensors (sharded with model.safetensors.index.json, or one file)
  --out DIR        the rewritten checkpoint (must not exist unless --force); written atomically
  --force          replace --out if it exists
`;

const failure = (code: HplbError['code'], path: string, expected: string, actual?: unknown, file?: string): CliFailure =>
  new CliFailure(hplbError(code, [issue(path, expected, actual)], file));

/** What the checkpoint must hold for one layer, and how each tensor is rewritten. */
interface Rewrite {
  readonly kind: 'q' | 'kv' | 'o' | 'qb' | 'kvb';
  readonly layer: number;
  readonly shape: number[];
}

const configInt = (cfg: Record<string, unknown>, key: string, file: string): number | undefined => {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw failure('decode', `$.${key}`, 'a positive integer', v, file);
  return v;
};

/** Check config.json against the layout and pick the architecture spec. */
export const checkConfig = (cfg: Record<string, unknown>, layout: EngineLayout, file: string): { arch: ArchSpec; hidden: number } => {
  const archs = cfg['architectures'];
  const name = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (name === undefined) throw failure('decode', '$.architectures', `a list naming the architecture (supported: ${SUPPORTED_ARCHS.map((a) => a.architecture).join(', ')})`, archs, file);
  const arch = SUPPORTED_ARCHS.find((a) => a.architecture === name);
  if (!arch) {
    const why = REFUSED_ARCHS[name];
    throw failure(
      'argument',
      '$.architectures[0]',
      why
        ? `an architecture hplb apply can rewrite head by head (${SUPPORTED_ARCHS.map((a) => a.architecture).join(', ')}); ${name} lacks ${why}`
        : `a supported architecture (${SUPPORTED_ARCHS.map((a) => a.architecture).join(', ')}); ${name} is unknown to hplb apply: its attention tensor names, bias layout and position encoding would have to be added to cli/src/engine/arch.ts`,
      name,
      file,
    );
  }
  if (cfg['quantization_config'] !== undefined) throw failure('argument', '$.quantization_config', 'an unquantized checkpoint (quantized weights pack rows and scales; rewrite the original weights, then quantize)', 'present', file);
  const m = layout.model;
  const H = configInt(cfg, 'num_attention_heads', file);
  const K = configInt(cfg, 'num_key_value_heads', file) ?? H;
  const L = configInt(cfg, 'num_hidden_layers', file);
  const hidden = configInt(cfg, 'hidden_size', file);
  if (H !== m.queryHeads) throw failure('decode', '$.num_attention_heads', `${m.queryHeads} (the layout's model ${m.name})`, H, file);
  if (K !== m.kvHeads) throw failure('decode', '$.num_key_value_heads', `${m.kvHeads} (the layout's model ${m.name}; is this checkpoint already rewritten?)`, K, file);
  if (L !== m.layers) throw failure('decode', '$.num_hidden_layers', `${m.layers} (the layout's model ${m.name})`, L, file);
  if (hidden === undefined) throw failure('decode', '$.hidden_size', 'a positive integer', undefined, file);
  const d = configInt(cfg, 'head_dim', file) ?? hidden / H;
  if (d !== m.headDim) throw failure('decode', '$.head_dim', `${m.headDim} (the layout's head dim)`, d, file);
  return { arch, hidden };
};

/** The shards of a checkpoint directory, in a stable order. */
const listShards = (dir: string): { shards: string[]; index: string | undefined } => {
  const indexFile = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexFile)) {
    const idx = orFail(readJson(indexFile)) as { weight_map?: Record<string, string> };
    if (typeof idx.weight_map !== 'object' || idx.weight_map === null) throw failure('decode', '$.weight_map', 'an object tensor name → shard file', undefined, indexFile);
    const shards = [...new Set(Object.values(idx.weight_map))].sort();
    for (const s of shards) if (!existsSync(join(dir, s))) throw failure('io', `$.weight_map`, `shard ${s} present in ${dir}`, 'missing', indexFile);
    return { shards, index: 'model.safetensors.index.json' };
  }
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (shards.length === 0) throw failure('io', '$', 'safetensors weights (*.safetensors); PyTorch .bin checkpoints must be converted first', 'none', dir);
  if (shards.length > 1) throw failure('io', '$', 'model.safetensors.index.json next to several shards', 'no index', dir);
  return { shards, index: undefined };
};

export const run = async (argv: string[], io: Io): Promise<number> => {
  const args = parseArgs(argv, { values: ['checkpoint', 'out'], booleans: ['force', 'help'] });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw argumentError('<layout.json>', 'exactly one layout file (hplb apply layout.json --checkpoint DIR --out DIR)', args.positionals.join(' ') || undefined);
  const layoutFile = args.positionals[0]!;
  const ckpt = args.string('checkpoint');
  const outArg = args.string('out');
  if (ckpt === undefined) throw argumentError('--checkpoint', 'the checkpoint directory to rewrite');
  if (outArg === undefined) throw argumentError('--out', 'the directory to write the rewritten checkpoint to');
  const layout = orFail(
    E.mapLeft((e: HplbError) => ({ ...e, issues: e.issues.slice(0, 1) }))(
      E.chain((u: unknown) => E.chain((l: EngineLayout) => validateEngineLayout(l, layoutFile))(decodeEngineLayout(u, layoutFile)))(readJson(layoutFile)),
    ),
  );
  if (layout.tier !== 1 || layout.virtualHeads)
    throw failure('argument', '$.tier', `a tier-1 layout: this one has virtual heads (split heads), which no engine can run from a rewritten checkpoint (${layout.virtualHeads?.requirement ?? 'tier 3'})`, layout.tier, layoutFile);
  const dir = resolve(io.cwd, ckpt);
  const out = resolve(io.cwd, outArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw failure('io', '$', 'a checkpoint directory', 'not a directory', ckpt);
  if (out === dir) throw argumentError('--out', 'a directory other than --checkpoint', outArg);
  if (existsSync(out) && !args.flag('force')) throw failure('io', '--out', 'a path that does not exist yet (or --force to replace it)', 'exists', outArg);

  const cfgFile = join(dir, 'config.json');
  const cfg = orFail(readJson(cfgFile)) as Record<string, unknown>;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw failure('decode', '$', 'a JSON object', undefined, cfgFile);
  const { arch, hidden } = checkConfig(cfg, layout, cfgFile);
  const { shards, index } = listShards(dir);

  // Open every shard's header, then check every attention tensor is there with the right shape.
  const files: SafetensorsFile[] = [];
  try {
    for (const s of shards) files.push(orFail(openSafetensors(join(dir, s))));
    const where = new Map<string, SafetensorsFile>();
    for (const f of files) for (const t of f.tensors) where.set(t.name, f);
    for (const name of where.keys())
      if (FUSED_QKV_MARKERS.some((mk) => name.includes(`.${mk}.`)))
        throw failure('argument', `$[${JSON.stringify(name)}]`, `separate q_proj/k_proj/v_proj tensors (${arch.architecture} with a fused QKV tensor is not supported)`, name, where.get(name)!.path);
    const m = layout.model;
    const d = m.headDim;
    const H = m.queryHeads;
    const K = m.kvHeads;
    const S = layout.geometry.kvSlots;
    const rewrites = new Map<string, Rewrite>();
    for (let l = 0; l < m.layers; l++) {
      const n = arch.tensors(l);
      const want: [string, 'q' | 'kv' | 'o' | 'qb' | 'kvb', number[], boolean][] = [
        [n.q, 'q', [H * d, hidden], true],
        [n.k, 'kv', [K * d, hidden], true],
        [n.v, 'kv', [K * d, hidden], true],
        [n.o, 'o', [hidden, H * d], true],
      ];
      const hasBias = where.has(n.qBias) || where.has(n.kBias) || where.has(n.vBias);
      if (arch.biases === 'required' || (arch.biases === 'optional' && hasBias))
        want.push([n.qBias, 'qb', [H * d], true], [n.kBias, 'kvb', [K * d], true], [n.vBias, 'kvb', [K * d], true]);
      else if (hasBias) throw failure('decode', `$[${JSON.stringify(n.qBias)}]`, `no q/k/v biases (${arch.architecture} has none)`, 'present', dir);
      for (const [name, kind, shape] of want) {
        const f = where.get(name);
        if (!f) throw failure('decode', `$[${JSON.stringify(name)}]`, `tensor ${name} (${arch.architecture}, layer ${l}) in the checkpoint`, 'missing', index ? join(dir, index) : dir);
        const t = f.byName.get(name)!;
        if (t.shape.join(',') !== shape.join(','))
          throw failure('decode', `$[${JSON.stringify(name)}].shape`, `[${shape.join(', ')}] (${H} query heads, ${K} KV heads, head dim ${d}, hidden ${hidden})`, `[${t.shape.join(', ')}]`, f.path);
        rewrites.set(name, { kind, layer: l, shape });
      }
    }

    // Subdirectories (e.g. Meta's original/ consolidated weights) are not rewritten, so they are not copied either.
    const skipped: string[] = [];
    // Write into a temporary sibling, then rename.
    const tmp = join(dirname(out), `.${basename(out)}.hplb-tmp-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    try {
      const total = files.reduce((s, f) => s + f.tensors.reduce((a, t) => a + (t.end - t.start), 0), 0);
      const bar = progressBar(io, 'hplb apply');
      let done = 0;
      let totalOut = 0;
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
            bar.update(done, total, basename(f.path));
          }
        } finally {
          w.close();
        }
      }
      bar.finish();
      // config.json with the layout's changes; the index with the new total size; every other file copied.
      const newCfg: Record<string, unknown> = { ...cfg, ...layout.configChanges, hplb_engine_layout: { format: layout.format, engine: layout.engine, tpSize: layout.tpSize, kvCopies: layout.kvCopies, originalKvHeads: K } };
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(newCfg, null, 2) + '\n');
      if (index) {
        const idx = orFail(readJson(join(dir, index))) as { metadata?: Record<string, unknown>; weight_map: Record<string, string> };
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
    io.out(
      `rewrote ${shards.length} shard(s) of ${arch.architecture} for ${layout.engine} TP ${layout.tpSize}: num_key_value_heads ${K} → ${S} (K/V ×${layout.kvCopies}), ` +
        `q/k/v rows and o_proj columns permuted in ${m.layers} layers → ${outArg}` +
        (skipped.length > 0 ? `; not copied (not rewritten): ${skipped.join(', ')}` : '') +
        '\n',
    );
    return 0;
  } finally {
    for (const f of files) closeSafetensors(f);
  }
};
