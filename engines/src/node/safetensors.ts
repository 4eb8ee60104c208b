/**
 * Safetensors, read and written directly: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [start, end]}, __metadata__?: {string: string}}`, then the raw little-endian
 * tensor bytes (offsets relative to the end of the header). Streaming: the reader opens a shard and reads one
 * tensor at a time by offset; the writer takes the whole header up front and then one tensor at a time, in order,
 * so memory holds one tensor. Used by `hplb apply` (checkpoint rewrite) and its tests.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';

/** Bytes per element of every safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  /** Absolute byte range in the file. */
  readonly start: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly path: string;
  readonly fd: number;
  /** Tensors in file order. */
  readonly tensors: TensorInfo[];
  readonly byName: Map<string, TensorInfo>;
  readonly metadata: Record<string, string> | undefined;
}

const bad = (file: string, path: string, expected: string, actual?: unknown): E.Either<HplbError, never> => E.left(hplbError('decode', [issue(path, expected, actual)], file));

const MAX_HEADER = 100 * 2 ** 20;

/** Open a shard and decode its header (the tensor data stays on disk). Close with `closeSafetensors`. */
export const openSafetensors = (path: string): E.Either<HplbError, SafetensorsFile> => {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return E.left(hplbError('io', [issue('$', 'a readable safetensors file', (e as NodeJS.ErrnoException).code ?? String(e))], path));
  }
  const fail = (r: E.Either<HplbError, never>) => {
    closeSync(fd);
    return r;
  };
  const size = fstatSync(fd).size;
  const lenBuf = Buffer.alloc(8);
  if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) return fail(bad(path, '$', 'a safetensors file (8-byte header length)', `${size} bytes`));
  const n = Number(lenBuf.readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > size) return fail(bad(path, '$', `a header length within the file (${size} bytes)`, n));
  const hb = Buffer.alloc(n);
  readSync(fd, hb, 0, n, 8);
  let header: unknown;
  try {
    header = JSON.parse(hb.toString('utf8'));
  } catch (e) {
    return fail(bad(path, '$', 'a JSON safetensors header', e instanceof Error ? e.message : String(e)));
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail(bad(path, '$', 'a JSON object header'));
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const p = `$[${JSON.stringify(name)}]`;
    if (typeof t.dtype !== 'string' || DTYPE_BYTES[t.dtype] === undefined) return fail(bad(path, `${p}.dtype`, `a safetensors dtype (${Object.keys(DTYPE_BYTES).join(', ')})`, t.dtype));
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) return fail(bad(path, `${p}.shape`, 'a list of non-negative integers', t.shape));
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0)) return fail(bad(path, `${p}.data_offsets`, '[start, end] byte offsets', off));
    const bytes = (t.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]!;
    if (off[1] - off[0] !== bytes) return fail(bad(path, `${p}.data_offsets`, `${bytes} bytes for ${t.dtype} ${JSON.stringify(t.shape)}`, off[1] - off[0]));
    const start = 8 + n + (off[0] as number);
    if (start + bytes > size) return fail(bad(path, `${p}.data_offsets`, `a range inside the file (${size} bytes)`, `${off[0]}..${off[1]}`));
    tensors.push({ name, dtype: t.dtype, shape: t.shape as number[], start, end: start + bytes });
  }
  tensors.sort((a, b) => a.start - b.start);
  return E.right({ path, fd, tensors, byName: new Map(tensors.map((t) => [t.name, t])), metadata });
};

export const closeSafetensors = (f: SafetensorsFile): void => closeSync(f.fd);

/** Read one tensor's bytes. */
export const readTensor = (f: SafetensorsFile, t: TensorInfo): Buffer => {
  const buf = Buffer.allocUnsafe(t.end - t.start);
  let at = 0;
  while (at < buf.length) {
    const got = readSync(f.fd, buf, at, buf.length - at, t.start + at);
    if (got === 0) throw new Error(`${f.path}: unexpected end of file in tensor ${t.name}`);
    at += got;
  }
  return buf;
};

export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: ReadonlyArray<number>;
}

export const tensorBytes = (t: TensorSpec): number => t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[t.dtype] ?? NaN);

/** The header bytes (length prefix + JSON padded with spaces to 8-byte alignment) for tensors in this order. */
export const encodeHeader = (tensors: ReadonlyArray<TensorSpec>, metadata?: Record<string, string>): Buffer => {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let off = 0;
  for (const t of tensors) {
    const b = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [off, off + b] };
    off += b;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json]);
};

/**
 * A streaming shard writer: header first, then `write(name, bytes)` for every tensor in header order. `close()`
 * fsyncs and checks that every tensor was written. The caller makes the whole output atomic (temp dir + rename).
 */
export class SafetensorsWriter {
  private readonly fd: number;
  private next = 0;
  constructor(readonly path: string, private readonly tensors: ReadonlyArray<TensorSpec>, metadata?: Record<string, string>) {
    this.fd = openSync(path, 'w');
    const h = encodeHeader(tensors, metadata);
    writeSync(this.fd, h, 0, h.length);
  }
  write(name: string, data: Uint8Array): void {
    const t = this.tensors[this.next];
    if (!t || t.name !== name) throw new Error(`${this.path}: tensor ${name} written out of order (expected ${t?.name ?? 'no more tensors'})`);
    if (data.byteLength !== tensorBytes(t)) throw new Error(`${this.path}: tensor ${name} has ${data.byteLength} bytes, header says ${tensorBytes(t)}`);
    let at = 0;
    while (at < data.byteLength) at += writeSync(this.fd, data, at, data.byteLength - at);
    this.next++;
  }
  close(): void {
    try {
      if (this.next !== this.tensors.length) throw new Error(`${this.path}: ${this.tensors.length - this.next} tensors never written`);
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Write a whole shard from in-memory tensors (tests, tiny checkpoints). */
export const writeSafetensors = (path: string, tensors: ReadonlyArray<TensorSpec & { readonly data: Uint8Array }>, metadata?: Record<string, string>): void => {
  const w = new SafetensorsWriter(path, tensors, metadata);
  for (const t of tensors) w.write(t.name, t.data);
  w.close();
};
