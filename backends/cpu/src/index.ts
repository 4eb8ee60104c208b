/**
 * @hplb/backend-cpu: the reference attention backend. Float32Array tensors, online softmax (no N×N buffer), causal
 * masking, exact block masses; heads run in parallel over worker_threads when `workers` ≥ 1. It is the source of
 * the golden outputs (spec/golden/) and what `hplb execute|calibrate|profile --backend cpu` run by default. It
 * also implements the kernel interface's optional dense product (`matmul`, blocked loops in `matmul.ts`, always on
 * the calling thread): the serving step's projections the executor's prefill and decode phases measure.
 *
 * Convention shared by every backend package: `createBackend(options?)` returns an `AttentionBackend`; `init()`
 * says why it cannot run. Options: `workers` (number, default 0 = run on the calling thread).
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism, cpus } from 'node:os';
import { fail, hplbError, issue, words, type HplbError } from '@hplb/core';
import { checkKernelCall, checkMatmulCall, checkMatmulOutput, checkOutputFinite } from '@hplb/core/kernel';
import type {
  AttentionBackend, AttentionOutput, AttentionParams, BackendCapabilities, BackendInfo, BlockLayout, HeadInput, MatmulShape, RowRange,
} from '@hplb/core/kernel';
import { blockMassAll, sparseAttentionRows } from './kernel.ts';
import { matmulRows } from './matmul.ts';
import { WorkerPool } from './pool.ts';

export { blockMassAll, executedFlops, sparseAttentionRows } from './kernel.ts';
export { matmulRows } from './matmul.ts';

export interface CpuBackendOptions {
  /** Worker threads for multi-head calls (0 = the calling thread). */
  readonly workers?: number;
}

export const CPU_CAPABILITIES: BackendCapabilities = {
  precisions: ['fp32'],
  maxHeadDim: 256,
  blockSizes: [8, 16, 32, 64, 128],
  multiHead: false,
  maxTokens: 1 << 20,
};

const NAME = 'cpu';

const parseOptions = (options: Record<string, unknown> | undefined): E.Either<HplbError, CpuBackendOptions> => {
  const unknown = Object.keys(options ?? {}).filter((k) => k !== 'workers');
  if (unknown.length > 0) return fail('argument', `$.backends.cpu.${unknown[0]}`, 'one of the cpu options (workers)', words(`an unknown option ${JSON.stringify(unknown[0])}`));
  const w = options?.['workers'] ?? 0;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 256) return fail('argument', '$.backends.cpu.workers', 'a worker count in [0, 256]', w);
  return E.right({ workers: w });
};

class CpuBackend implements AttentionBackend {
  readonly name = NAME;
  readonly capabilities: BackendCapabilities;
  private pool: WorkerPool | undefined;

  constructor(private readonly options: E.Either<HplbError, CpuBackendOptions>) {
    const workers = E.isRight(options) ? options.right.workers ?? 0 : 0;
    this.capabilities = { ...CPU_CAPABILITIES, multiHead: workers > 1 };
  }

  async init(): Promise<E.Either<HplbError, BackendInfo>> {
    if (E.isLeft(this.options)) return this.options;
    const workers = this.options.right.workers ?? 0;
    if (workers > 0 && this.pool === undefined) {
      try {
        this.pool = await WorkerPool.start(workers);
      } catch (e) {
        return E.left(hplbError('backend', [issue('$.backends.cpu', 'worker threads that start', e instanceof Error ? e.message : String(e))]));
      }
    }
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    return E.right({ name: NAME, device: `${cpu} (${availableParallelism()} cores)`, mode: workers > 0 ? `${workers} worker threads` : 'calling thread', details: { workers, node: process.version } });
  }

  private check(q: Float32Array, k: Float32Array, v: Float32Array | undefined, p: AttentionParams, layout?: BlockLayout, rows?: RowRange): E.Either<HplbError, RowRange> {
    return checkKernelCall(this.capabilities, p, v === undefined ? { q, k } : { q, k, v }, NAME, layout, rows);
  }

  async blockMass(q: Float32Array, k: Float32Array, p: AttentionParams): Promise<E.Either<HplbError, Float32Array>> {
    const c = this.check(q, k, undefined, p);
    if (E.isLeft(c)) return c;
    if (this.pool !== undefined) {
      const r = await this.pool.run({ op: 'mass', q, k, params: p });
      return r.ok ? checkOutputFinite('mass', r.out, p.blocks, NAME) : fail('backend', '$.backends.cpu', 'a worker that completes', r.message);
    }
    return checkOutputFinite('mass', blockMassAll(q, k, p), p.blocks, NAME);
  }

  async sparseAttention(q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, rows?: RowRange): Promise<E.Either<HplbError, AttentionOutput>> {
    const c = this.check(q, k, v, p, layout, rows);
    if (E.isLeft(c)) return c;
    return this.finish(p, sparseAttentionRows(q, k, v, layout, p, c.right.start, c.right.end));
  }

  private finish(p: AttentionParams, r: { out: Float32Array; lse: Float32Array }): E.Either<HplbError, AttentionOutput> {
    return E.map(() => ({ out: r.out, lse: r.lse }))(checkOutputFinite('out', r.out, p.headDim, NAME));
  }

  async sparseAttentionHeads(heads: ReadonlyArray<HeadInput>, p: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>> {
    const ranges: RowRange[] = [];
    for (const [h, x] of heads.entries()) {
      const c = this.check(x.q, x.k, x.v, p, x.layout, x.rows);
      if (E.isLeft(c)) return E.left(hplbError('argument', c.left.issues.map((i) => ({ ...i, path: `$.heads[${h}]${i.path.slice(1)}` }))));
      ranges.push(c.right);
    }
    const pool = this.pool;
    if (pool === undefined) {
      const outs: AttentionOutput[] = [];
      for (const [h, x] of heads.entries()) {
        const r = this.finish(p, sparseAttentionRows(x.q, x.k, x.v, x.layout, p, ranges[h]!.start, ranges[h]!.end));
        if (E.isLeft(r)) return r;
        outs.push(r.right);
      }
      return E.right(outs);
    }
    const replies = await Promise.all(heads.map((x, h) => pool.run({ op: 'attention', q: x.q, k: x.k, v: x.v, layout: x.layout, params: p, start: ranges[h]!.start, end: ranges[h]!.end })));
    const outs: AttentionOutput[] = [];
    for (const r of replies) {
      if (!r.ok) return fail('backend', '$.backends.cpu', 'a worker that completes', r.message);
      const f = this.finish(p, { out: r.out, lse: r.lse! });
      if (E.isLeft(f)) return f;
      outs.push(f.right);
    }
    return E.right(outs);
  }

  /** C = A · B on the calling thread (the pool's workers run attention heads only). */
  async matmul(a: Float32Array, b: Float32Array, shape: MatmulShape): Promise<E.Either<HplbError, Float32Array>> {
    const c = checkMatmulCall(a, b, shape);
    if (E.isLeft(c)) return c;
    return checkMatmulOutput(matmulRows(a, b, shape.rows, shape.inner, shape.cols), a, b, shape, NAME);
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await pool.close();
  }
}

/** The backend-package convention: every `@hplb/backend-<name>` exports this. */
export const createBackend = (options?: Record<string, unknown>): AttentionBackend => new CpuBackend(parseOptions(options));
