/**
 * Attention parameters and call checks, validated once. Every backend (cpu, webgpu, gpujs, cuda) builds its
 * `AttentionParams` through `makeAttentionParams` and checks each call's inputs through `checkAttentionInputs`,
 * so a mismatched shape, a head dim over the backend's capability, NaN in the inputs or a bad row range gives the
 * same clear error whichever backend runs. Dimension letters follow the glossary in `types.ts` (N, d, B, Qb, Kb).
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, hplbError, issue, type HplbError, type Issue } from '../errors.ts';
import type { AttentionParams, BackendCapabilities, BlockLayout, MatmulShape, Precision, RowRange } from './types.ts';
import { validateLayout } from './layout.ts';

// ---------------------------------------------------------------- model

/** What a caller supplies; everything but N and d has a default. */
export interface RawAttentionParams {
  readonly tokens: number;
  readonly headDim: number;
  /** Default 64 (MInference / XAttention block size). */
  readonly blockSize?: number;
  /** Default true (causal prefill). */
  readonly causal?: boolean;
  /** Default 1/sqrt(d). */
  readonly scale?: number;
  /** Default fp32. */
  readonly precision?: Precision;
}

export const PRECISIONS: ReadonlyArray<Precision> = ['fp32', 'fp16', 'bf16'];
export const DEFAULT_BLOCK_SIZE = 64;

const posInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

// ---------------------------------------------------------------- constructors

/** Validate raw parameters once into the normalized record (every problem reported, not just the first). */
export const makeAttentionParams = (raw: RawAttentionParams): E.Either<HplbError, AttentionParams> => {
  const out: Issue[] = [];
  const blockSize = raw.blockSize ?? DEFAULT_BLOCK_SIZE;
  const causal = raw.causal ?? true;
  const precision = raw.precision ?? 'fp32';
  if (!posInt(raw.tokens)) out.push(issue('$.tokens', 'a positive integer token count N', raw.tokens));
  if (!posInt(raw.headDim)) out.push(issue('$.headDim', 'a positive integer head dim d', raw.headDim));
  if (!posInt(blockSize)) out.push(issue('$.blockSize', 'a positive integer block size B', blockSize));
  if (typeof causal !== 'boolean') out.push(issue('$.causal', 'true or false', causal));
  if (!PRECISIONS.includes(precision)) out.push(issue('$.precision', `one of ${PRECISIONS.join('|')}`, precision));
  const scale = raw.scale ?? (posInt(raw.headDim) ? 1 / Math.sqrt(raw.headDim) : NaN);
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) out.push(issue('$.scale', 'a finite positive softmax scale', scale));
  if (out.length > 0) return E.left(hplbError('argument', out));
  return E.right({ tokens: raw.tokens, headDim: raw.headDim, blockSize, blocks: Math.ceil(raw.tokens / blockSize), causal, scale, precision });
};

// ---------------------------------------------------------------- checks

/** Does this backend support these parameters? Every unmet capability is one issue. */
export const checkCapabilities = (caps: BackendCapabilities, p: AttentionParams, backend = 'backend'): E.Either<HplbError, AttentionParams> => {
  const out: Issue[] = [];
  if (p.headDim > caps.maxHeadDim) out.push(issue('$.headDim', `a head dim ≤ ${caps.maxHeadDim} (the ${backend} backend's maximum)`, p.headDim));
  if (!caps.blockSizes.includes(p.blockSize)) out.push(issue('$.blockSize', `a block size the ${backend} backend supports (${caps.blockSizes.join(', ')})`, p.blockSize));
  if (!caps.precisions.includes(p.precision)) out.push(issue('$.precision', `a precision the ${backend} backend supports (${caps.precisions.join(', ')})`, p.precision));
  if (p.tokens > caps.maxTokens) out.push(issue('$.tokens', `at most ${caps.maxTokens} tokens (the ${backend} backend's maximum)`, p.tokens));
  return out.length === 0 ? E.right(p) : E.left(hplbError('argument', out));
};

/** First non-finite entry of a tensor (of its entries [from, to) when given), or -1. */
export const firstNonFinite = (x: Float32Array, from = 0, to = x.length): number => {
  for (let i = from; i < to; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
};

/** A tensor's shape: a Float32Array of rows × d values. */
const checkShape = (name: string, x: unknown, rows: number, d: number): E.Either<HplbError, Float32Array> => {
  if (!(x instanceof Float32Array)) return fail('argument', `$.${name}`, `a Float32Array [${rows} × ${d}]`, typeof x);
  if (x.length !== rows * d) return fail('argument', `$.${name}`, `${rows * d} values ([N=${rows} × d=${d}], row-major)`, `${x.length} values`);
  return E.right(x);
};

/** Finite values in rows [r0, r1) of a row-major [N × d] tensor (NaN / ±Inf reported with row and column). */
const checkFiniteRows = (name: string, x: Float32Array, d: number, r0: number, r1: number): E.Either<HplbError, Float32Array> => {
  const bad = firstNonFinite(x, r0 * d, r1 * d);
  return bad >= 0 ? fail('argument', `$.${name}[${Math.floor(bad / d)}][${bad % d}]`, 'a finite number (NaN/Inf in attention inputs are not propagated)', x[bad]) : E.right(x);
};

/** Check one tensor: length rows × d and finite values (NaN / ±Inf are reported with row and column). */
export const checkTensor = (name: string, x: unknown, rows: number, d: number): E.Either<HplbError, Float32Array> =>
  E.chain((t: Float32Array) => checkFiniteRows(name, t, d, 0, rows))(checkShape(name, x, rows, d));

/** A row range must lie in [0, N) and be non-empty; absent means all rows. */
export const checkRows = (p: AttentionParams, rows?: RowRange): E.Either<HplbError, RowRange> => {
  if (rows === undefined) return E.right({ start: 0, end: p.tokens });
  if (!Number.isInteger(rows.start) || !Number.isInteger(rows.end) || rows.start < 0 || rows.end > p.tokens || rows.start >= rows.end)
    return fail('argument', '$.rows', `a row range 0 ≤ start < end ≤ ${p.tokens}`, `[${rows.start}, ${rows.end})`);
  return E.right(rows);
};

/**
 * Everything a backend checks before computing: capabilities, q/k (and v) shapes and finiteness, the layout
 * (see `validateLayout`, passed in to keep this module free of layout code) and the row range.
 */
export const checkAttentionInputs = (
  caps: BackendCapabilities,
  p: AttentionParams,
  t: { readonly q: Float32Array; readonly k: Float32Array; readonly v?: Float32Array },
  backend = 'backend',
): E.Either<HplbError, AttentionParams> => {
  const out: Issue[] = [];
  const collect = (e: E.Either<HplbError, unknown>) => { if (E.isLeft(e)) out.push(...e.left.issues); };
  collect(checkCapabilities(caps, p, backend));
  collect(checkTensor('q', t.q, p.tokens, p.headDim));
  collect(checkTensor('k', t.k, p.tokens, p.headDim));
  if (t.v !== undefined) collect(checkTensor('v', t.v, p.tokens, p.headDim));
  return out.length === 0 ? E.right(p) : E.left(hplbError('argument', out));
};

/**
 * Every check a backend makes before one kernel call, collected into one error: capabilities, q/k (and v) shapes and
 * finiteness, the layout (when given) and the row range. Returns the row range to compute (all rows by default).
 * The single place backends validate calls, so their errors read the same.
 *
 * With a valid layout and row range, finiteness is checked over what the call reads: q rows [start, end) and the
 * k/v rows of the key blocks the layout lists for the query blocks those rows fall in. A call's check then costs
 * what its reads cost, not O(N·d) per call: a split part of a few rows at N = 1024 spent 0.63 ms scanning all of
 * q, k and v against 0.14 ms of attention, and that scan was timed as attention by calibration and the executor.
 * Without a layout (or when it is invalid) every value is checked.
 */
export const checkKernelCall = (
  caps: BackendCapabilities,
  p: AttentionParams,
  t: { readonly q: Float32Array; readonly k: Float32Array; readonly v?: Float32Array },
  backend: string,
  layout?: BlockLayout,
  rows?: RowRange,
): E.Either<HplbError, RowRange> => {
  const out: Issue[] = [];
  const collect = <A>(e: E.Either<HplbError, A>): e is E.Right<A> => { if (E.isLeft(e)) out.push(...e.left.issues); return E.isRight(e); };
  const lay = layout === undefined ? undefined : validateLayout(layout, p);
  const r = checkRows(p, rows);
  const region = layout !== undefined && lay !== undefined && E.isRight(lay) && E.isRight(r) ? r.right : undefined;
  if (region === undefined || layout === undefined) collect(checkAttentionInputs(caps, p, t, backend));
  else {
    collect(checkCapabilities(caps, p, backend));
    const d = p.headDim;
    const q = checkShape('q', t.q, p.tokens, d);
    if (collect(q)) collect(checkFiniteRows('q', q.right, d, region.start, region.end));
    const kv = (['k', 'v'] as const).flatMap((name) => {
      const x = t[name];
      if (x === undefined) return [];
      const c = checkShape(name, x, p.tokens, d);
      return collect(c) ? [{ name, x: c.right }] : [];
    });
    if (kv.length > 0) {
      // Key blocks read: those listed for the query blocks of [start, end), each checked once.
      const B = p.blockSize;
      const read = new Uint8Array(p.blocks);
      for (let qb = Math.floor(region.start / B); qb * B < region.end; qb++)
        for (let x = layout.offsets[qb]!; x < layout.offsets[qb + 1]!; x++) read[layout.indices[x]!] = 1;
      for (const { name, x } of kv)
        for (let kb = 0; kb < p.blocks; kb++) if (read[kb] === 1 && !collect(checkFiniteRows(name, x, d, kb * B, Math.min(p.tokens, (kb + 1) * B)))) break;
    }
  }
  if (lay !== undefined) collect(lay);
  collect(r);
  return out.length > 0 ? E.left(hplbError('argument', out)) : r;
};

/** Output sanity after a kernel ran: NaN in outputs is a backend bug, reported rather than returned. */
export const checkOutputFinite = (name: string, out: Float32Array, d: number, backend = 'backend'): E.Either<HplbError, Float32Array> => {
  const bad = firstNonFinite(out);
  return bad < 0 ? E.right(out) : fail('backend', `$.${name}[${Math.floor(bad / d)}][${bad % d}]`, `a finite output from the ${backend} backend`, out[bad]);
};

/**
 * The checks of one dense product (`AttentionBackend.matmul`): whole positive dimensions and Float32Arrays of
 * rows × inner (A) and inner × cols (B) values, every problem one issue. Values are not scanned here (that would
 * cost a GEMV as much as the product and be timed as it): `checkMatmulOutput` looks at the inputs only when the
 * output is not finite.
 */
export const checkMatmulCall = (a: unknown, b: unknown, shape: MatmulShape): E.Either<HplbError, MatmulShape> => {
  const out: Issue[] = [];
  for (const k of ['rows', 'inner', 'cols'] as const) if (!posInt(shape?.[k])) out.push(issue(`$.shape.${k}`, 'a positive integer', shape?.[k]));
  if (out.length > 0) return E.left(hplbError('argument', out));
  const { rows, inner, cols } = shape;
  for (const [name, x, r, c] of [['a', a, rows, inner], ['b', b, inner, cols]] as const) {
    if (!(x instanceof Float32Array)) out.push(issue(`$.${name}`, `a Float32Array [${r} × ${c}]`, typeof x));
    else if (x.length !== r * c) out.push(issue(`$.${name}`, `${r * c} values ([${r} × ${c}], row-major)`, `${x.length} values`));
  }
  return out.length === 0 ? E.right(shape) : E.left(hplbError('argument', out));
};

/**
 * After a product ran: a finite output is returned; otherwise the first non-finite input is named (an argument
 * error at `$.a[i][j]` or `$.b[i][j]`), and a non-finite output from finite inputs is the backend's fault.
 */
export const checkMatmulOutput = (c: Float32Array, a: Float32Array, b: Float32Array, shape: MatmulShape, backend = 'backend'): E.Either<HplbError, Float32Array> => {
  if (firstNonFinite(c) < 0) return E.right(c);
  for (const [name, x, w] of [['a', a, shape.inner], ['b', b, shape.cols]] as const) {
    const bad = firstNonFinite(x);
    if (bad >= 0) return fail('argument', `$.${name}[${Math.floor(bad / w)}][${bad % w}]`, 'a finite number (NaN/Inf in matmul inputs are not propagated)', x[bad]);
  }
  return checkOutputFinite('c', c, shape.cols, backend);
};

/** Reused by layout code: a layout's geometry must match the params. */
export const layoutMatches = (l: BlockLayout, p: AttentionParams): boolean => l.blockSize === p.blockSize && l.blocks === p.blocks;
