/**
 * Reading attention-input dumps for `hplb profile <dump-dir>`: post-RoPE queries and keys per layer and head,
 * produced from PyTorch. Two layouts are accepted (see backends/cpu/README.md, "Dump format", for the snippet):
 *
 *   .npy per head:  q_l{L}_h{H}.npy  [N, d]   query head H of layer L
 *                   k_l{L}_h{G}.npy  [N, d]   KV head G of layer L (GQA: Hkv ≤ Hq files)
 *   safetensors:    any *.safetensors with tensors  q.{L}  [Hq, N, d]  and  k.{L}  [Hkv, N, d]
 *   optional meta.json: {"model": "<registry name>" | {name, layers, queryHeads, kvHeads, headDim}}
 *
 * dtypes: float32, float16 (npy '<f4' '<f2' '<f8'; safetensors F32 F16 BF16 F64), converted to Float32Array.
 * The index is checked up front: every (layer, head) present, one N and d everywhere, Hq a multiple of Hkv, and
 * against meta.json's model when given. A dump with missing heads names them. Tensors are read lazily, one head
 * at a time (safetensors by byte range), so a dump larger than memory still profiles.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { findModel, hplbError, issue, parseJson, type HplbError, type Issue, type ModelShape } from '@hplb/core';

// ---------------------------------------------------------------- model

export interface DumpIndex {
  readonly dir: string;
  readonly format: 'npy' | 'safetensors';
  readonly layers: number;
  readonly queryHeads: number;
  readonly kvHeads: number;
  readonly tokens: number;
  readonly headDim: number;
  readonly model?: ModelShape;
  readQ(layer: number, head: number): E.Either<HplbError, Float32Array>;
  readK(layer: number, kvHead: number): E.Either<HplbError, Float32Array>;
}

type DType = 'f2' | 'f4' | 'f8' | 'bf16';
interface TensorRef { file: string; offset: number; dtype: DType; shape: number[] }

const err = (file: string, path: string, expected: string, actual?: unknown): HplbError => hplbError('decode', [issue(path, expected, actual)], file);

// ---------------------------------------------------------------- byte-level readers

const readBytes = (file: string, offset: number, length: number): Buffer => {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got < length) throw new Error(`file ends after ${offset + got} bytes, expected ${offset + length}`);
    return buf;
  } finally {
    closeSync(fd);
  }
};

const halfToFloat = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
};

const bytesPer: Record<DType, number> = { f2: 2, f4: 4, f8: 8, bf16: 2 };

const decodeData = (buf: Buffer, dtype: DType, count: number): Float32Array => {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'f4': out[i] = buf.readFloatLE(i * 4); break;
      case 'f8': out[i] = buf.readDoubleLE(i * 8); break;
      case 'f2': out[i] = halfToFloat(buf.readUInt16LE(i * 2)); break;
      case 'bf16': { const b = Buffer.alloc(4); b.writeUInt16LE(buf.readUInt16LE(i * 2), 2); out[i] = b.readFloatLE(0); break; }
    }
  }
  return out;
};

/** Parse a .npy header: dtype, shape and where the data starts. */
export const npyHeader = (file: string): E.Either<HplbError, TensorRef> => {
  let head: Buffer;
  try { head = readBytes(file, 0, Math.min(statSync(file).size, 4096)); } catch (e) { return E.left(hplbError('io', [issue('$', 'a readable .npy file', String(e))], file)); }
  if (head.length < 10 || head[0] !== 0x93 || head.toString('latin1', 1, 6) !== 'NUMPY') return E.left(err(file, '$', 'a .npy file (magic \\x93NUMPY)'));
  const major = head[6]!;
  const hlen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const text = head.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return E.left(err(file, '$.header', 'a .npy header with descr, fortran_order and shape', text.slice(0, 60)));
  if (fortran === 'True') return E.left(err(file, '$.header.fortran_order', 'C order (np.ascontiguousarray)', 'Fortran order'));
  const dt = ({ '<f4': 'f4', '<f2': 'f2', '<f8': 'f8' } as Record<string, DType>)[descr];
  if (dt === undefined) return E.left(err(file, '$.header.descr', 'little-endian float16/32/64 (<f2, <f4, <f8)', descr));
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  return E.right({ file, offset: start + hlen, dtype: dt, shape });
};

/** Every tensor of a safetensors file, by name. */
export const safetensorsIndex = (file: string): E.Either<HplbError, Map<string, TensorRef>> => {
  try {
    const n = Number(readBytes(file, 0, 8).readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000) return E.left(err(file, '$', 'a safetensors file (8-byte header length, JSON header)', `header length ${n}`));
    const json = parseJson(readBytes(file, 8, n).toString('utf8'), file);
    if (E.isLeft(json)) return json;
    const out = new Map<string, TensorRef>();
    const dtypes: Record<string, DType> = { F32: 'f4', F16: 'f2', BF16: 'bf16', F64: 'f8' };
    for (const [name, v] of Object.entries(json.right as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const t = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
      const dt = dtypes[t.dtype ?? ''];
      if (dt === undefined) return E.left(err(file, `$["${name}"].dtype`, 'F32, F16, BF16 or F64', t.dtype));
      out.set(name, { file, offset: 8 + n + (t.data_offsets?.[0] ?? 0), dtype: dt, shape: t.shape ?? [] });
    }
    return E.right(out);
  } catch (e) {
    return E.left(hplbError('io', [issue('$', 'a readable safetensors file', e instanceof Error ? e.message : String(e))], file));
  }
};

const readTensor = (t: TensorRef, skipElems: number, count: number): E.Either<HplbError, Float32Array> => {
  try {
    const buf = readBytes(t.file, t.offset + skipElems * bytesPer[t.dtype], count * bytesPer[t.dtype]);
    return E.right(decodeData(buf, t.dtype, count));
  } catch (e) {
    return E.left(hplbError('io', [issue('$', 'a complete tensor', e instanceof Error ? e.message : String(e))], t.file));
  }
};

// ---------------------------------------------------------------- the dump index

const readMeta = (dir: string): E.Either<HplbError, ModelShape | undefined> => {
  const file = join(dir, 'meta.json');
  if (!existsSync(file)) return E.right(undefined);
  let text: string;
  try { text = readBytes(file, 0, statSync(file).size).toString('utf8'); } catch (e) { return E.left(hplbError('io', [issue('$', 'a readable meta.json', String(e))], file)); }
  return E.chain((u: unknown): E.Either<HplbError, ModelShape | undefined> => {
    const m = (u as { model?: unknown }).model;
    if (m === undefined) return E.right(undefined);
    if (typeof m === 'string') {
      const found = findModel(m);
      return found ? E.right(found) : E.left(err(file, '$.model', 'a registered model name or a {name, layers, queryHeads, kvHeads, headDim} shape', m));
    }
    const s = m as Partial<ModelShape>;
    for (const key of ['layers', 'queryHeads', 'kvHeads', 'headDim'] as const)
      if (!(typeof s[key] === 'number' && Number.isInteger(s[key]) && s[key]! > 0)) return E.left(err(file, `$.model.${key}`, 'a positive integer', s[key]));
    return E.right({ name: s.name ?? 'dump', layers: s.layers!, queryHeads: s.queryHeads!, kvHeads: s.kvHeads!, headDim: s.headDim! });
  })(parseJson(text, file));
};

/** Names for the first few missing files, in one error. */
const missingError = (dir: string, missing: string[], layers: number, hq: number, hkv: number): HplbError =>
  hplbError('decode', [issue('$', `every head of ${layers} layers × ${hq} query heads (${hkv} KV heads) in the dump`,
    `${missing.length} missing: ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', …' : ''}`)], dir);

/** Scan a dump directory; check completeness and shapes. */
export const openDump = (dir: string): E.Either<HplbError, DumpIndex> => {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return E.left(hplbError('io', [issue('$', 'a dump directory', 'a file')], dir));
    names = readdirSync(dir);
  } catch {
    return E.left(hplbError('io', [issue('$', 'a dump directory', 'no such directory')], dir));
  }
  const meta = readMeta(dir);
  if (E.isLeft(meta)) return meta;
  const q = new Map<string, TensorRef>();
  const k = new Map<string, TensorRef>();
  let format: 'npy' | 'safetensors' = 'npy';
  const st = names.filter((n) => n.endsWith('.safetensors')).sort();
  if (st.length > 0) {
    format = 'safetensors';
    for (const f of st) {
      const idx = safetensorsIndex(join(dir, f));
      if (E.isLeft(idx)) return idx;
      for (const [name, t] of idx.right) {
        const m = /^([qk])\.(\d+)$/.exec(name);
        if (m === null) continue;
        if (t.shape.length !== 3) return E.left(err(t.file, `$["${name}"].shape`, '[heads, N, d]', JSON.stringify(t.shape)));
        for (let h = 0; h < t.shape[0]!; h++) {
          const ref = { ...t, offset: t.offset + h * t.shape[1]! * t.shape[2]! * bytesPer[t.dtype], shape: t.shape.slice(1) };
          (m[1] === 'q' ? q : k).set(`${m[2]}/${h}`, ref);
        }
      }
    }
  } else {
    for (const n of names) {
      const m = /^([qk])_l(\d+)_h(\d+)\.npy$/.exec(n);
      if (m === null) continue;
      const h = npyHeader(join(dir, n));
      if (E.isLeft(h)) return h;
      const shape = h.right.shape.length === 3 && h.right.shape[0] === 1 ? h.right.shape.slice(1) : h.right.shape;
      if (shape.length !== 2) return E.left(err(h.right.file, '$.header.shape', '[N, d]', `(${h.right.shape.join(', ')})`));
      (m[1] === 'q' ? q : k).set(`${Number(m[2])}/${Number(m[3])}`, { ...h.right, shape });
    }
  }
  if (q.size === 0) return E.left(hplbError('decode', [issue('$', 'q_l{L}_h{H}.npy / k_l{L}_h{G}.npy files, or *.safetensors with q.{L} and k.{L} tensors', 'no attention dump files')], dir));
  const keys = (m: Map<string, TensorRef>) => [...m.keys()].map((s) => s.split('/').map(Number) as [number, number]);
  const model = meta.right;
  const layers = model?.layers ?? Math.max(...keys(q).map(([l]) => l)) + 1;
  const hq = model?.queryHeads ?? Math.max(...keys(q).map(([, h]) => h)) + 1;
  const hkv = model?.kvHeads ?? (k.size === 0 ? 1 : Math.max(...keys(k).map(([, h]) => h)) + 1);
  const missing: string[] = [];
  const name = (w: 'q' | 'k', l: number, h: number) => (format === 'npy' ? `${w}_l${l}_h${h}.npy` : `${w}.${l}[${h}]`);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < hq; h++) if (!q.has(`${l}/${h}`)) missing.push(name('q', l, h));
    for (let g = 0; g < hkv; g++) if (!k.has(`${l}/${g}`)) missing.push(name('k', l, g));
  }
  if (missing.length > 0) return E.left(missingError(dir, missing, layers, hq, hkv));
  if (hq % hkv !== 0) return E.left(hplbError('decode', [issue('$', `a KV head count dividing the query heads (${hq})`, hkv)], dir));
  const first = q.get('0/0')!;
  const [tokens, headDim] = first.shape as [number, number];
  const issues: Issue[] = [];
  for (const [key, t] of [...q, ...k]) {
    if (t.shape[0] !== tokens || t.shape[1] !== headDim) { issues.push(issue(`$["${key}"]`, `shape [${tokens}, ${headDim}] like ${name('q', 0, 0)}`, `[${t.shape.join(', ')}]`)); break; }
  }
  if (model !== undefined && model.headDim !== headDim) issues.push(issue('$.model.headDim', `the dump's head dim ${headDim}`, model.headDim));
  if (issues.length > 0) return E.left(hplbError('decode', issues, dir));
  const read = (m: Map<string, TensorRef>, l: number, h: number) => readTensor(m.get(`${l}/${h}`)!, 0, tokens * headDim);
  return E.right({
    dir, format, layers, queryHeads: hq, kvHeads: hkv, tokens, headDim,
    ...(model !== undefined ? { model } : {}),
    readQ: (l, h) => read(q, l, h),
    readK: (l, g) => read(k, l, g),
  });
};

/** Write a float32 [rows, cols] .npy (tests and `hplb profile --synthetic --dump-out`). */
export const npyBytes = (data: Float32Array, rows: number, cols: number): Buffer => {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93; pre.write('NUMPY', 1, 'latin1'); pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
};
