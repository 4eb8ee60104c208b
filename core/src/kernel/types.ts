/**
 * The attention-kernel interface: data and types only, no backend code. Backends (`backends/<name>/`) implement
 * `AttentionBackend` and declare their capabilities; the conformance suite in `spec/` runs against each of them.
 *
 * Dimension glossary (one letter per concept, used in every backend):
 *   N   tokens: query rows = key rows (self-attention prefill over one sequence)
 *   d   head dim
 *   B   block size in tokens, for query and key blocks alike
 *   Qb  query blocks = ceil(N / B);  Kb  key blocks = ceil(N / B)
 *   H   heads in one batched call
 * Tensors are row-major Float32Array: q, k, v are [N × d]; outputs are [rows × d]; lse is [rows].
 * The optional dense product (`matmul`, the serving step's projections) has its own letters, spelled out in
 * `MatmulShape`: C [rows × cols] = A [rows × inner] · B [inner × cols].
 * Precision says how the backend computes (fp32, or fp16/bf16 inputs with fp32 accumulation); inputs and outputs
 * cross the interface as fp32.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '../errors.ts';

export type Precision = 'fp32' | 'fp16' | 'bf16';

/** Normalized attention parameters, validated once by `makeAttentionParams`. */
export interface AttentionParams {
  /** N */
  readonly tokens: number;
  /** d */
  readonly headDim: number;
  /** B */
  readonly blockSize: number;
  /** Qb = Kb = ceil(N / B) */
  readonly blocks: number;
  /** Causal masking: row i sees keys j ≤ i. */
  readonly causal: boolean;
  /** Softmax scale, default 1/sqrt(d). */
  readonly scale: number;
  readonly precision: Precision;
}

/**
 * Block layout in CSR form: query block qb attends to key blocks indices[offsets[qb] .. offsets[qb+1]),
 * sorted ascending, unique, each < blocks. With causal masking, key blocks above the diagonal are ignored
 * by construction (builders never emit them) and masked inside the diagonal block.
 */
export interface BlockLayout {
  readonly blockSize: number;
  readonly blocks: number;
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
}

/** A query-row range [start, end): what one part of a split head computes. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

export interface AttentionOutput {
  /** [rows × d] */
  readonly out: Float32Array;
  /** [rows]: log Σ_j exp(scale·q_i·k_j) over the attended keys (natural log, scale applied). */
  readonly lse: Float32Array;
}

/** One head's inputs for a batched call. */
export interface HeadInput {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly layout: BlockLayout;
  readonly rows?: RowRange;
}

/**
 * The shape of one dense product C [rows × cols] = A [rows × inner] · B [inner × cols], row-major fp32: what a
 * serving step's projections are (a Q, K, V or O projection: query rows × hidden by hidden × headDim; a decode step's
 * weight read: one row, a GEMV). Checked by `checkMatmulCall`.
 */
export interface MatmulShape {
  readonly rows: number;
  readonly inner: number;
  readonly cols: number;
}

export interface BackendCapabilities {
  readonly precisions: ReadonlyArray<Precision>;
  readonly maxHeadDim: number;
  readonly blockSizes: ReadonlyArray<number>;
  /** Runs many heads (each with its own layout) in one call efficiently. */
  readonly multiHead: boolean;
  /** Largest N it accepts (memory / index limits). */
  readonly maxTokens: number;
  /**
   * Whether several instances may run at once in different worker threads of one process (default true when
   * absent). False when a native dependency loads in only one thread per process (e.g. headless-gl, whose addon
   * is not context-aware): the executor then runs every simulated device on the main thread, one after another
   * (`execution: "serial"`), instead of one worker thread per device.
   */
  readonly workerThreads?: boolean;
}

/** What a backend says about itself after init: device/adapter name, mode actually used, versions. */
export interface BackendInfo {
  readonly name: string;
  readonly device: string;
  readonly mode?: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface AttentionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Start the backend. A Left says why it cannot run here (missing driver, no device, ...). */
  init(): Promise<E.Either<HplbError, BackendInfo>>;
  /**
   * mass[qb · blocks + kb] = mean over the rows of query block qb of the exact softmax mass that row puts on
   * key block kb (causal-masked when params.causal). Each query block's row of masses sums to 1.
   */
  blockMass(q: Float32Array, k: Float32Array, params: AttentionParams): Promise<E.Either<HplbError, Float32Array>>;
  /** Block-sparse attention over the layout, for all rows or only `rows`. */
  sparseAttention(
    q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, params: AttentionParams, rows?: RowRange,
  ): Promise<E.Either<HplbError, AttentionOutput>>;
  /** Many heads at once (same params); backends without batching loop over `sparseAttention`. */
  sparseAttentionHeads(heads: ReadonlyArray<HeadInput>, params: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>>;
  /**
   * Optional: the dense product C [rows × cols] = A [rows × inner] · B [inner × cols] (`MatmulShape`, fp32 in and
   * out). The serving step's projections run through it: the executor's prefill and decode phases
   * (`executePlan` with `phases`) and `calibrate` with `serving`; they refuse a backend without it, naming it.
   * Backends that only do attention leave it out and still conform.
   */
  matmul?(a: Float32Array, b: Float32Array, shape: MatmulShape): Promise<E.Either<HplbError, Float32Array>>;
  dispose(): Promise<void>;
}
