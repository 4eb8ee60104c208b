/**
 * Safetensors, read and written directly: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [start, end]}, __metadata__?: {string: string}}`, then the raw little-endian
 * tensor bytes (offsets relative to the end of the header). The reader opens only a regular file (a FIFO or device
 * is refused unread) and checks the whole header before a tensor byte is read: header length, dtypes, shapes,
 * `__metadata__` a flat string map, and `data_offsets` inside the data, disjoint, and exactly dtype bytes ×
 * product(shape) long. Streaming: tensors are read by offset in bounded chunks (`tensorChunks`); the writer takes the
 * whole header up front and then each tensor in order, in chunks, so memory never holds a whole tensor (a 4.2 GB
 * embedding is past Node's Buffer limit). Used by `hplb apply` (checkpoint rewrite) and its tests.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, issueText, words, type HplbError } from '@hplb/core';
import { DEFAULT_CHUNK_BYTES, Refusal, oneLine, openRegular, readChunks, readExactly } from './files.ts';

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON path of a header key. */
const keyPath = (name: string): string => `$[${JSON.stringify(name)}]`;

/**
 * Decode a parsed header: `__metadata__` a flat string → string map (the safetensors format; anything else, however
 * deep, is refused at its key), every other key a tensor whose dtype is known, whose shape is a list of
 * non-negative integers and whose `data_offsets` hold exactly dtype bytes × product(shape) inside the data, without
 * overlapping another tensor. Offsets are relative to the data (`dataStart` in the file, `dataBytes` long).
 */
const decodeHeader = (path: string, header: Record<string, unknown>, dataStart: number, dataBytes: number): E.Either<HplbError, { tensors: TensorInfo[]; metadata: Record<string, string> | undefined }> => {
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of Object.entries(header)) {
    const p = keyPath(name);
    if (name === '__metadata__') {
      if (!isRecord(v)) return bad(path, p, 'a flat map of strings to strings (safetensors __metadata__)', v);
      const m: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== 'string') return bad(path, `${p}[${JSON.stringify(k)}]`, 'a string (safetensors __metadata__ is a flat map of strings to strings)', x);
        m[k] = x;
      }
      metadata = m;
      continue;
    }
    if (!isRecord(v)) return bad(path, p, 'a tensor entry {dtype, shape, data_offsets}', v);
    const { dtype, shape, data_offsets: off } = v;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) return bad(path, `${p}.dtype`, `a safetensors dtype (${Object.keys(DTYPE_BYTES).join(', ')})`, dtype);
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) return bad(path, `${p}.shape`, 'a list of non-negative integers', shape);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x): x is number => Number.isSafeInteger(x) && x >= 0) || off[0]! > off[1]!)
      return bad(path, `${p}.data_offsets`, '[start, end] byte offsets with start ≤ end', off);
    let bytes = DTYPE_BYTES[dtype]!;
    for (const d of shape) bytes *= d;
    const [a, b] = off as [number, number];
    if (!Number.isSafeInteger(bytes) || b - a !== bytes)
      return bad(path, `${p}.data_offsets`, `end − start = ${Number.isSafeInteger(bytes) ? bytes : 'dtype bytes × product(shape)'} bytes for ${dtype} [${shape.join(', ')}]`, words(`${b - a} bytes`));
    if (b > dataBytes) return bad(path, `${p}.data_offsets`, `a range inside the file's ${dataBytes} data bytes`, words(`${a}..${b}`));
    tensors.push({ name, dtype, shape, start: dataStart + a, end: dataStart + b });
  }
  tensors.sort((x, y) => x.start - y.start || x.end - y.end);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1]!;
    const t = tensors[i]!;
    // Empty tensors (0 bytes) occupy nothing and overlap nothing.
    if (t.start < prev.end && t.end > t.start)
      return bad(path, `${keyPath(t.name)}.data_offsets`, `a range that does not overlap another tensor's (${prev.name} holds ${prev.start - dataStart}..${prev.end - dataStart})`, words(`${t.start - dataStart}..${t.end - dataStart}`));
  }
  return E.right({ tensors, metadata });
};

/**
 * Open a shard and decode its header (the tensor data stays on disk); the header is checked whole before a tensor
 * byte is read. A FIFO, device or directory is refused before it is read. Close with `closeSafetensors`.
 */
export const openSafetensors = (path: string): E.Either<HplbError, SafetensorsFile> => {
  const opened = openRegular(path, 'a readable safetensors file (a regular file)');
  if (E.isLeft(opened)) return opened;
  const { fd, size } = opened.right;
  const fail = (r: E.Either<HplbError, never>) => {
    closeSync(fd);
    return r;
  };
  try {
    const lenBuf = Buffer.alloc(8);
    if (size < 8) return fail(bad(path, '$', 'a safetensors file (8-byte header length)', words(`${size} bytes`)));
    readExactly(fd, lenBuf, 8, 0, path);
    const n64 = lenBuf.readBigUInt64LE(0);
    if (n64 > BigInt(MAX_HEADER) || 8n + n64 > BigInt(size)) return fail(bad(path, '$', `a header length within the file (${size} bytes) and at most ${MAX_HEADER}`, words(String(n64))));
    const n = Number(n64);
    const hb = Buffer.alloc(n);
    readExactly(fd, hb, n, 8, path);
    let header: unknown;
    try {
      header = JSON.parse(hb.toString('utf8'));
    } catch (e) {
      return fail(E.left(hplbError('decode', [issueText('$', 'a JSON safetensors header', oneLine(e instanceof Error ? e.message : String(e)).slice(0, 200))], path)));
    }
    if (!isRecord(header)) return fail(bad(path, '$', 'a JSON object header', header));
    const decoded = decodeHeader(path, header, 8 + n, size - 8 - n);
    if (E.isLeft(decoded)) return fail(decoded);
    const { tensors, metadata } = decoded.right;
    return E.right({ path, fd, tensors, byName: new Map(tensors.map((t) => [t.name, t])), metadata });
  } catch (e) {
    closeSync(fd);
    if (e instanceof Refusal) return E.left(e.error);
    return E.left(hplbError('io', [issueText('$', 'a readable safetensors file', oneLine(e instanceof Error ? e.message : String(e)))], path));
  }
};

export const closeSafetensors = (f: SafetensorsFile): void => closeSync(f.fd);

/** Read one tensor's bytes whole (tests, small tensors; `applyLayout` streams with `tensorChunks`). */
export const readTensor = (f: SafetensorsFile, t: TensorInfo): Buffer => {
  const buf = Buffer.allocUnsafe(t.end - t.start);
  readExactly(f.fd, buf, buf.length, t.start, f.path, keyPath(t.name));
  return buf;
};

/** One tensor's bytes in chunks of at most `chunkBytes` (one reused buffer: consume each before the next). */
export const tensorChunks = (f: SafetensorsFile, t: TensorInfo, chunkBytes = DEFAULT_CHUNK_BYTES): Generator<Uint8Array> =>
  readChunks(f.fd, t.start, t.end - t.start, chunkBytes, f.path, keyPath(t.name));

export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: ReadonlyArray<number>;
}

export const tensorBytes = (t: TensorSpec): number => t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[t.dtype] ?? NaN);

/** The header bytes (length prefix + JSON padded with spaces to 8-byte alignment) for tensors in this order. */
export const encodeHeader = (tensors: ReadonlyArray<TensorSpec>, metadata?: Record<string, string>): Buffer => {
  // No prototype: a tensor named "__proto__" is a key like any other.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata) header['__metadata__'] = { ...metadata };
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
 * A streaming shard writer: header first, then every tensor in header order, whole (`write(name, bytes)`) or in
 * chunks (`writeChunks(name, chunks)`, so no tensor is ever held in one buffer). `close()` fsyncs and checks that
 * every tensor was written; `discard()` only closes (after a failure, so the failure is what is reported). The
 * caller makes the whole output atomic (temp dir + rename).
 */
export class SafetensorsWriter {
  private readonly fd: number;
  private next = 0;
  constructor(readonly path: string, private readonly tensors: ReadonlyArray<TensorSpec>, metadata?: Record<string, string>) {
    this.fd = openSync(path, 'w');
    const h = encodeHeader(tensors, metadata);
    this.put(h);
  }
  private put(data: Uint8Array): void {
    let at = 0;
    while (at < data.byteLength) at += writeSync(this.fd, data, at, data.byteLength - at);
  }
  write(name: string, data: Uint8Array): void {
    this.writeChunks(name, [data]);
  }
  /** Write tensor `name` (the next in header order) from its bytes in order, in pieces of any size. */
  writeChunks(name: string, chunks: Iterable<Uint8Array>): void {
    const t = this.tensors[this.next];
    if (!t || t.name !== name) throw new Error(`${this.path}: tensor ${name} written out of order (expected ${t?.name ?? 'no more tensors'})`);
    const want = tensorBytes(t);
    let got = 0;
    for (const c of chunks) {
      if (got + c.byteLength > want) throw new Error(`${this.path}: tensor ${name} has over ${got + c.byteLength} bytes, header says ${want}`);
      this.put(c);
      got += c.byteLength;
    }
    if (got !== want) throw new Error(`${this.path}: tensor ${name} has ${got} bytes, header says ${want}`);
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
  discard(): void {
    closeSync(this.fd);
  }
}

/** Write a whole shard from in-memory tensors (tests, tiny checkpoints). */
export const writeSafetensors = (path: string, tensors: ReadonlyArray<TensorSpec & { readonly data: Uint8Array }>, metadata?: Record<string, string>): void => {
  const w = new SafetensorsWriter(path, tensors, metadata);
  for (const t of tensors) w.write(t.name, t.data);
  w.close();
};
