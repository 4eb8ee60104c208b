/**
 * `applyLayout`: rewrite a Hugging Face checkpoint so a stock engine runs an hplb engine layout (tier 1); what
 * `hplb apply` does. Streams the safetensors shards in bounded chunks (`chunkBytes`; no tensor is ever held in one
 * buffer, so a 4.2 GB embedding is no different from a bias): per layer it permutes q_proj rows (and bias), permutes
 * and duplicates k_proj / v_proj rows (and biases) into the KV slots, permutes o_proj columns; every other tensor
 * is copied byte for byte. config.json gets the layout's config changes (num_key_value_heads, head_dim) and an
 * `hplb_engine_layout` record. Llama, Mistral and Qwen2 only; anything else is refused naming what is missing
 * (arch.ts).
 *
 * Inputs are checked whole before anything is written: every input is a regular file (symbolic links, as in a
 * Hugging Face cache snapshot, are followed and their targets' bytes copied; a FIFO, socket or device is refused
 * unread), index entries stay inside the checkpoint and name distinct shard files, each tensor is in the shard the
 * index names, and every shard header passes `openSafetensors`. The output is never, contains or lies inside an
 * input (real paths compared). It appears atomically: it is written to a temporary sibling and renamed, so a
 * failure leaves nothing behind; with `force` an existing output is replaced as a whole, and only when it is a
 * folder hplb wrote (it carries the `.hplb-output` marker every output gets).
 *
 * Errors name the layout's, config's, index's and shards' JSON paths with their files, and options as `$.out`.
 */
import { closeSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync, fsyncSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, resolve, sep } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, issueText, validateEngineLayout, words, type EngineLayout, type HplbError } from '@hplb/core';
import { FUSED_QKV_MARKERS, checkCheckpointConfig } from '../arch.ts';
import { permuteColumnBlocks } from '../transform.ts';
import { DEFAULT_CHUNK_BYTES, OUTPUT_MARKER, Refusal, kindOf, lstatOrUndefined, oneLine, openRegular, overlap, readChunks, readExactly, readRegularJson, realPathOf, statFollow, zeroChunks } from './files.ts';
import { DTYPE_BYTES, SafetensorsWriter, closeSafetensors, openSafetensors, tensorBytes, tensorChunks, type SafetensorsFile, type TensorInfo, type TensorSpec } from './safetensors.ts';

// ---------------------------------------------------------------- model

export interface ApplyOptions {
  /** The Hugging Face checkpoint directory: config.json + *.safetensors (one file, or shards with model.safetensors.index.json). */
  readonly checkpoint: string;
  /** The directory to write; it must not exist unless `force`, and never be, contain or lie inside an input. */
  readonly out: string;
  /** Replace `out` if it exists and hplb wrote it (it has the `.hplb-output` marker), as a whole, after the new output is complete. Default false. */
  readonly force?: boolean;
  /** Base for relative `checkpoint` / `out` / `layoutFile` (default `process.cwd()`). */
  readonly cwd?: string;
  /** The layout's file, named in its errors (and never overwritten). */
  readonly layoutFile?: string;
  /** Progress in bytes of tensor data read, with the shard being written. */
  readonly onProgress?: (doneBytes: number, totalBytes: number, shard: string) => void;
  /** Bytes read, permuted and written at a time (default 64 MiB); memory holds about this much, never a whole tensor. */
  readonly chunkBytes?: number;
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
  /** The safetensors files written, in order. */
  readonly shards: ReadonlyArray<string>;
  /** Bytes of tensor data written. */
  readonly tensorBytes: number;
  /** Subdirectories of the checkpoint that were not copied (they are not rewritten, e.g. Meta's `original/`). */
  readonly skipped: ReadonlyArray<string>;
}

// ---------------------------------------------------------------- helpers

const refuse = (code: HplbError['code'], path: string, expected: string, actual?: unknown, file?: string): never => {
  throw new Refusal(hplbError(code, [issue(path, expected, actual)], file));
};

const need = <A>(r: E.Either<HplbError, A>): A => {
  if (E.isLeft(r)) throw new Refusal(r.left);
  return r.right;
};

const INDEX = 'model.safetensors.index.json';
/** Deeper JSON than this in config.json or the index is refused (real ones are 3 or 4 deep). */
const MAX_JSON_DEPTH = 64;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyPath = (base: string, key: string): string => `${base}[${JSON.stringify(key)}]`;

/** The JSON path of the first value nested deeper than `limit` (iteratively: any depth is safe), or undefined. */
const tooDeep = (v: unknown, limit: number): string | undefined => {
  const stack: [unknown, string, number][] = [[v, '$', 0]];
  while (stack.length > 0) {
    const [x, path, depth] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (depth >= limit) return path;
    if (Array.isArray(x)) x.forEach((y, i) => stack.push([y, `${path}[${i}]`, depth + 1]));
    else for (const [k, y] of Object.entries(x)) stack.push([y, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : keyPath(path, k), depth + 1]);
  }
  return undefined;
};

/** A JSON object file (config.json, the index), refusing FIFOs and devices unread, and absurd nesting. */
const readJsonObject = (file: string): Record<string, unknown> => {
  const v = need(readRegularJson(file));
  if (!isRecord(v)) return refuse('decode', '$', 'a JSON object', v, file);
  const deep = tooDeep(v, MAX_JSON_DEPTH);
  if (deep !== undefined) refuse('decode', deep, `a value nested at most ${MAX_JSON_DEPTH} deep`, words('deeper'), file);
  return v;
};

/** A shard of the checkpoint: where it is read from and the name it is written under. */
interface Shard {
  /** Its path relative to the checkpoint (as the index names it, normalized). */
  readonly rel: string;
  readonly path: string;
  /** The file name it is written under in the output. */
  readonly name: string;
}

/** An input regular file (symbolic links followed), or a refusal naming it and what it is. */
const regularInput = (path: string, jsonPath: string, what: string, file: string): void => {
  const st = statFollow(path);
  if (typeof st === 'string') refuse('io', jsonPath, what, words(st), file);
  else if (!st.isFile()) refuse('io', jsonPath, `${what} (a regular file)`, words(kindOf(st)), file);
};

/**
 * The shards of a checkpoint directory, in a stable order, with the index's tensor → shard map. Index entries must
 * be relative .safetensors paths inside the checkpoint, and distinct shards must have distinct file names (the
 * output holds them side by side).
 */
const listShards = (dir: string): { shards: Shard[]; index: { file: string; json: Record<string, unknown>; map: Map<string, string> } | undefined } => {
  const indexFile = join(dir, INDEX);
  if (lstatOrUndefined(indexFile) !== undefined) {
    const json = readJsonObject(indexFile);
    const wm = json['weight_map'];
    if (!isRecord(wm)) return refuse('decode', '$.weight_map', 'an object tensor name → shard file', wm, indexFile);
    const map = new Map<string, string>();
    const byRel = new Map<string, Shard>();
    const byName = new Map<string, string>();
    for (const [tensor, file] of Object.entries(wm)) {
      const p = keyPath('$.weight_map', tensor);
      if (typeof file !== 'string' || file === '') refuse('decode', p, 'a shard file name', file, indexFile);
      const f = file as string;
      const rel = posix.normalize(f);
      if (isAbsolute(f) || rel === '..' || rel.startsWith('../') || rel === '.' || rel.endsWith('/') || !resolve(dir, rel).startsWith(dir + sep))
        refuse('decode', p, 'a shard path inside the checkpoint (relative, never leaving it with ..)', f, indexFile);
      if (!rel.endsWith('.safetensors')) refuse('decode', p, 'a .safetensors shard file', f, indexFile);
      map.set(tensor, rel);
      if (byRel.has(rel)) continue;
      const name = posix.basename(rel);
      const other = byName.get(name);
      if (other !== undefined) refuse('decode', p, `shard files with distinct names (${other} and ${rel} would both be written as ${name})`, f, indexFile);
      const path = join(dir, rel);
      regularInput(path, p, `shard ${rel} present in ${dir}`, indexFile);
      byName.set(name, rel);
      byRel.set(rel, { rel, path, name });
    }
    if (byRel.size === 0) refuse('decode', '$.weight_map', 'at least one tensor → shard entry', words('none'), indexFile);
    return { shards: [...byRel.values()].sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0)), index: { file: indexFile, json, map } };
  }
  const names = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (names.length === 0) refuse('io', '$', 'safetensors weights (*.safetensors); PyTorch .bin checkpoints must be converted first', 'none', dir);
  if (names.length > 1) refuse('io', '$', 'model.safetensors.index.json next to several shards', 'no index', dir);
  return { shards: names.map((n) => ({ rel: n, path: join(dir, n), name: n })), index: undefined };
};

/** How one attention tensor is rewritten. */
interface Rewrite {
  readonly kind: 'q' | 'kv' | 'o' | 'qb' | 'kvb';
  readonly layer: number;
}

/** An input compared with the output by real path. */
interface Input {
  readonly what: string;
  readonly real: string;
}

// ---------------------------------------------------------------- operations

/**
 * Rewrite the checkpoint in `options.checkpoint` for a tier-1 engine layout into `options.out`. The result loads
 * unchanged in vLLM, SGLang and TensorRT-LLM at the layout's TP size. Expected failures (an unsupported, mismatched
 * or malformed checkpoint, a missing tensor, an output that exists or overlaps an input) are Lefts; the output is
 * all or nothing.
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
    if (typeof code === 'string') return E.left(hplbError('io', [issueText('$', 'a writable output directory', oneLine(String((e as Error).message)))], options.out));
    throw e;
  }
};

const rewrite = (layout: EngineLayout, options: ApplyOptions): ApplyReport => {
  if (!isRecord(options)) refuse('argument', '$', 'apply options { checkpoint, out }', options);
  for (const key of ['checkpoint', 'out'] as const)
    if (typeof options[key] !== 'string' || options[key] === '') refuse('argument', `$.${key}`, key === 'out' ? 'the directory to write' : 'the checkpoint directory', options[key]);
  for (const key of ['cwd', 'layoutFile'] as const) if (options[key] !== undefined && typeof options[key] !== 'string') refuse('argument', `$.${key}`, 'a path', options[key]);
  if (options.force !== undefined && typeof options.force !== 'boolean') refuse('argument', '$.force', 'true or false', options.force);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') refuse('argument', '$.onProgress', 'a function (doneBytes, totalBytes, shard)', options.onProgress);
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk < 1) refuse('argument', '$.chunkBytes', 'a positive whole number of bytes', options.chunkBytes);
  need(validateEngineLayout(layout, options.layoutFile));
  if (layout.tier !== 1 || layout.virtualHeads)
    refuse('argument', '$.tier', `a tier-1 layout: this one has virtual heads (split heads), which no engine can run from a rewritten checkpoint (${layout.virtualHeads?.requirement ?? 'tier 3'})`, layout.tier, options.layoutFile);
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.checkpoint);
  const out = resolve(cwd, options.out);
  const dirStat = statFollow(dir);
  if (typeof dirStat === 'string' || !dirStat.isDirectory()) refuse('io', '$', 'a checkpoint directory', words(typeof dirStat === 'string' ? dirStat : kindOf(dirStat)), options.checkpoint);

  // The output is never an input, nor contains one, nor lies inside one; real paths compared, so no spelling,
  // symbolic link or `..` slips through (`--out models --force` for `--checkpoint models/llama` must not delete it).
  const outReal = realPathOf(out);
  const guard = (inputs: ReadonlyArray<Input>): void => {
    for (const input of inputs) {
      const how = overlap(outReal, input.real);
      if (how === undefined) continue;
      if (input.what === 'the checkpoint' && how === 'is') refuse('argument', '$.out', 'a directory other than the checkpoint', options.out);
      refuse('argument', '$.out', 'a directory other than the checkpoint, neither inside it nor containing any input', words(`it ${how} ${input.what} (${input.real})`));
    }
  };
  const inputs: Input[] = [{ what: 'the checkpoint', real: realpathSync(dir) }];
  if (options.layoutFile !== undefined && typeof statFollow(resolve(cwd, options.layoutFile)) !== 'string') inputs.push({ what: 'the layout', real: realPathOf(resolve(cwd, options.layoutFile)) });
  guard(inputs);
  // An existing output: refused, or with force replaced only when hplb wrote it (its marker is there).
  const checkExisting = (): boolean => {
    const st = lstatOrUndefined(out);
    if (st === undefined) return false;
    if (!options.force) refuse('io', '$.out', 'a path that does not exist yet (or force: true to replace it)', 'exists', options.out);
    const replaceable = `a folder hplb wrote, with its ${OUTPUT_MARKER} marker (force replaces only those)`;
    if (st.isSymbolicLink() || !st.isDirectory()) refuse('io', '$.out', replaceable, words(`${st.isSymbolicLink() ? 'a symbolic link' : kindOf(st)}, kept`), options.out);
    const marker = statFollow(join(out, OUTPUT_MARKER));
    if (typeof marker === 'string' || !marker.isFile()) refuse('io', '$.out', replaceable, words(`a folder without ${OUTPUT_MARKER} (hplb did not write it), kept`), options.out);
    return true;
  };

  const cfgFile = join(dir, 'config.json');
  const cfg = readJsonObject(cfgFile);
  const { arch, hidden } = need(checkCheckpointConfig(cfg, layout, cfgFile));
  const { shards, index } = listShards(dir);

  // Every other entry of the checkpoint: regular files (links followed) are copied, folders are listed as not
  // copied, anything else (a FIFO, a socket, a device, a broken link) is refused before a byte is written.
  const skipped: string[] = [];
  const copies: string[] = [];
  const topShards = new Set(shards.map((s) => s.rel));
  for (const name of readdirSync(dir).sort()) {
    if (name === 'config.json' || name === INDEX || name === OUTPUT_MARKER || topShards.has(name)) continue;
    const path = join(dir, name);
    const st = statFollow(path);
    if (typeof st === 'string') refuse('io', '$', 'a readable file or folder (a symbolic link is followed)', words(st), path);
    else if (st.isDirectory()) skipped.push(`${name}/`);
    else if (st.isFile()) copies.push(name);
    else refuse('io', '$', 'a regular file or folder to copy', words(kindOf(st)), path);
  }
  guard([cfgFile, ...(index ? [index.file] : []), ...shards.map((s) => s.path), ...copies.map((c) => join(dir, c))].map((f) => ({ what: `the input ${f}`, real: realpathSync(f) })));
  checkExisting();

  // Open every shard's header, then check every attention tensor is there with the right shape.
  const files: { shard: Shard; file: SafetensorsFile }[] = [];
  try {
    for (const s of shards) files.push({ shard: s, file: need(openSafetensors(s.path)) });
    const where = new Map<string, SafetensorsFile>();
    for (const { shard, file: f } of files)
      for (const t of f.tensors) {
        const p = `$[${JSON.stringify(t.name)}]`;
        if (index) {
          const named = index.map.get(t.name);
          if (named !== shard.rel) refuse('decode', keyPath('$.weight_map', t.name), `${shard.rel}, the shard that holds tensor ${t.name}`, named ?? words('no entry'), index.file);
        }
        const first = where.get(t.name);
        if (first) refuse('decode', p, `a tensor in one shard only (it is also in ${first.path})`, words('a duplicate'), f.path);
        where.set(t.name, f);
      }
    if (index)
      for (const [name, rel] of index.map)
        if (!where.has(name)) refuse('decode', keyPath('$.weight_map', name), `a tensor that ${rel} holds`, words('missing from the shard'), index.file);
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
        if (!f) refuse('decode', `$[${JSON.stringify(name)}]`, `tensor ${name} (${arch.architecture}, layer ${l}) in the checkpoint`, 'missing', index ? index.file : dir);
        const t = f!.byName.get(name)!;
        if (t.shape.join(',') !== shape.join(','))
          refuse('decode', `$[${JSON.stringify(name)}].shape`, `[${shape.join(', ')}] (${H} query heads, ${K} KV heads, head dim ${d}, hidden ${hidden})`, `[${t.shape.join(', ')}]`, f!.path);
        rewrites.set(name, { kind, layer: l });
      }
    }

    const total = files.reduce((s, { file: f }) => s + f.tensors.reduce((a, t) => a + (t.end - t.start), 0), 0);
    let done = 0;
    /** A tensor's new bytes, in chunks: copied, or rewritten run by run (q/k/v rows) and row group by row group (o_proj columns). */
    function* tensorOut(f: SafetensorsFile, t: TensorInfo, shard: string): Generator<Uint8Array> {
      const rw = rewrites.get(t.name);
      if (!rw) {
        for (const c of tensorChunks(f, t, chunk)) {
          yield c;
          done += c.byteLength;
          options.onProgress?.(done, total, shard);
        }
        return;
      }
      const eb = DTYPE_BYTES[t.dtype]!;
      const L = layout.layers[rw.layer]!;
      const where = `$[${JSON.stringify(t.name)}]`;
      if (rw.kind === 'o') {
        const rowBytes = H * d * eb;
        const rowsPer = Math.max(1, Math.floor(chunk / rowBytes));
        const buf = Buffer.allocUnsafe(Math.min(rowsPer, hidden) * rowBytes);
        for (let r = 0; r < hidden; r += rowsPer) {
          const n = Math.min(rowsPer, hidden - r);
          readExactly(f.fd, buf, n * rowBytes, t.start + r * rowBytes, f.path, where);
          yield permuteColumnBlocks(buf.subarray(0, n * rowBytes), n, H * d, eb, d, L.qSource);
        }
      } else {
        const blockBytes = (rw.kind === 'q' || rw.kind === 'kv' ? d * hidden : d) * eb;
        const src = rw.kind === 'q' || rw.kind === 'qb' ? L.qSource : L.kvSource;
        const inBlocks = (t.end - t.start) / blockBytes;
        for (let i = 0; i < src.length; ) {
          const s0 = src[i];
          let n = 1;
          if (s0 === null || s0 === undefined) {
            while (i + n < src.length && src[i + n] === null) n++;
            yield* zeroChunks(n * blockBytes, chunk);
          } else {
            if (!(Number.isInteger(s0) && s0 >= 0 && s0 < inBlocks))
              refuse('decode', `$.layers[${rw.layer}].${rw.kind === 'q' || rw.kind === 'qb' ? 'qSource' : 'kvSource'}[${i}]`, `a head of the checkpoint (0..${inBlocks - 1})`, s0, options.layoutFile);
            while (i + n < src.length && src[i + n] === s0 + n && s0 + n < inBlocks) n++;
            yield* readChunks(f.fd, t.start + s0 * blockBytes, n * blockBytes, chunk, f.path, where);
          }
          i += n;
        }
      }
      done += t.end - t.start;
      options.onProgress?.(done, total, shard);
    }

    // Write into a temporary sibling, then rename.
    const tmp = join(dirname(out), `.${basename(out)}.hplb-tmp-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    let totalOut = 0;
    try {
      for (const { shard, file: f } of files) {
        const specs: TensorSpec[] = f.tensors.map((t) => {
          const rw = rewrites.get(t.name);
          const shape = rw?.kind === 'kv' ? [S * d, hidden] : rw?.kind === 'kvb' ? [S * d] : t.shape;
          return { name: t.name, dtype: t.dtype, shape };
        });
        const w = new SafetensorsWriter(join(tmp, shard.name), specs, f.metadata);
        let complete = false;
        try {
          for (const t of f.tensors) w.writeChunks(t.name, tensorOut(f, t, shard.name));
          complete = true;
        } finally {
          // After a failure only close: the failure, not the tensors it left unwritten, is what is reported.
          if (complete) w.close();
          else w.discard();
        }
        totalOut += specs.reduce((a, t) => a + tensorBytes(t), 0);
      }
      // config.json with the layout's changes; the index with the new total size and the shards' output names;
      // every other file copied (the bytes of a link's target); the marker that lets force replace this folder.
      const newCfg: Record<string, unknown> = { ...cfg, ...layout.configChanges, hplb_engine_layout: { format: layout.format, engine: layout.engine, tpSize: layout.tpSize, kvCopies: layout.kvCopies, originalKvHeads: K } };
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(newCfg, null, 2) + '\n');
      if (index) {
        const meta = isRecord(index.json['metadata']) ? index.json['metadata'] : {};
        const byRel = new Map(shards.map((s) => [s.rel, s.name]));
        const weightMap = Object.fromEntries([...index.map].map(([tensor, rel]) => [tensor, byRel.get(rel)!]));
        writeFileSync(join(tmp, INDEX), JSON.stringify({ ...index.json, metadata: { ...meta, total_size: totalOut }, weight_map: weightMap }, null, 2) + '\n');
      }
      for (const name of copies) copyRegular(join(dir, name), join(tmp, name), chunk);
      writeFileSync(join(tmp, OUTPUT_MARKER), JSON.stringify({ writtenBy: 'hplb apply', note: 'hplb apply --force replaces only folders with this file' }) + '\n');
      if (checkExisting()) {
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
      shards: shards.map((s) => s.name),
      tensorBytes: totalOut,
      skipped,
    };
  } finally {
    for (const { file: f } of files) closeSafetensors(f);
  }
};

/** Copy a regular file's bytes (a link's target's) in chunks, refusing anything that is not a regular file unread. */
const copyRegular = (from: string, to: string, chunk: number): void => {
  const src = need(openRegular(from, 'a regular file to copy'));
  try {
    const fd = openSync(to, 'w');
    try {
      for (const c of readChunks(src.fd, 0, src.size, chunk, from)) for (let at = 0; at < c.byteLength; ) at += writeSync(fd, c, at, c.byteLength - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(src.fd);
  }
};
