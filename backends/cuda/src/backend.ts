/**
 * The CUDA attention backend: the `AttentionBackend` of @hplb/backend-cuda, over an injected `CudaBinding`.
 * It validates every call once on the JS side (capabilities, tensor shapes and finiteness, CSR layouts, row
 * ranges: the checks in @hplb/core/kernel/params.ts and layout.ts, so errors read the same as on every backend),
 * packs many heads (each with its own layout and row range) into ONE native launch, splits the outputs back per
 * head, and turns native failures into `HplbError`s at this edge: a CUDA failure keeps its code and name in the
 * message ("error 2 cudaErrorMemoryAllocation: out of memory"). Used through `createBackend` (src/index.ts) by the
 * CLI's backend registry, the conformance suite and the benchmarks.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError, type Issue } from '@hplb/core';
import { checkAttentionInputs, checkOutputFinite, checkRows } from '@hplb/core/kernel';
import { validateLayout } from '@hplb/core/kernel';
import type {
  AttentionBackend, AttentionOutput, AttentionParams, BackendCapabilities, BackendInfo, BlockLayout, HeadInput, RowRange,
} from '@hplb/core/kernel';
import { CUDA_KERNEL_VARIANTS, loadCudaBinding, type CudaAttentionRequest, type CudaKernelVariant, type CudaBinding, type CudaCallError, type CudaContext, type CudaDeviceInfo, type CudaTiming } from './binding.ts';

// ---------------------------------------------------------------- model

/**
 * What the kernels support. Tensor-core tiles need B to be a multiple of 16 and pad d up to 32/64/128; the fp32
 * path takes any B and d ≤ 256, but one table serves all precisions, so the tighter limits are declared.
 * maxTokens keeps N·d below 2^31 (32-bit element indices in the kernels) at d = 128.
 */
export const CUDA_CAPABILITIES: BackendCapabilities = {
  precisions: ['fp32', 'fp16', 'bf16'],
  maxHeadDim: 128,
  blockSizes: [16, 32, 64, 128, 256],
  multiHead: true,
  maxTokens: 1 << 20,
};

/** Oldest GPU the addon carries machine code for (sm_80; sm_86/89 run it too; sm_90 has its own; newer JIT the PTX). */
export const MIN_COMPUTE_CAPABILITY = 8.0;

export interface CudaBackendOptions {
  /** The native surface; tests inject a fake. Absent: the addon is loaded lazily by init(). */
  readonly binding?: CudaBinding;
  /** Path of hplb_cuda.node (else $HPLB_CUDA_ADDON, else build/Release/hplb_cuda.node). */
  readonly addonPath?: string;
  /** CUDA device index, default 0. */
  readonly device?: number;
  /** Tensor-core kernel variant, default $HPLB_CUDA_KERNEL, else `pipelined`. */
  readonly kernel?: CudaKernelVariant;
}

/** The AttentionBackend plus what a benchmark wants to know about the last native call. */
export interface CudaBackend extends AttentionBackend {
  /** Device time (CUDA events) and whole-call time of the last successful native call. */
  lastTiming(): CudaTiming | undefined;
}

// ---------------------------------------------------------------- errors at the native edge

const backendError = (path: string, expected: string, actual?: string): HplbError =>
  hplbError('backend', [actual === undefined ? { path, expected } : { path, expected, actual }]);

/** "error 35 cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version" */
export const describeCudaError = (e: unknown): string => {
  const err = e as Partial<CudaCallError>;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof err.cudaCode !== 'number') return message;
  const at = message.indexOf(': error ');
  return at >= 0 ? message.slice(at + 2) : `error ${err.cudaCode} ${err.cudaName ?? ''}: ${message}`;
};

/** A thrown native error as an HplbError: CUDA failures -> 'backend', argument rejections -> 'argument'. */
export const fromNative = (operation: string, e: unknown): HplbError => {
  const err = e as Partial<CudaCallError>;
  if (typeof err.cudaCode === 'number') return backendError(`cuda.${operation}`, `${operation} to succeed on the GPU`, describeCudaError(e));
  if (typeof err.argument === 'string') {
    const message = e instanceof Error ? e.message : String(e);
    return hplbError('argument', [{ path: err.argument, expected: message.replace(/^at [^:]*: expected /, '') }]);
  }
  return hplbError('internal', [{ path: `cuda.${operation}`, expected: 'the CUDA addon to return a result', actual: e instanceof Error ? e.message : String(e) }]);
};

// ---------------------------------------------------------------- packing (pure)

/** Per-head validation; issue paths get a `$.heads[h]` prefix when more than one head is checked. */
const checkHead = (h: HeadInput, p: AttentionParams, index: number | undefined): E.Either<HplbError, RowRange> => {
  const out: Issue[] = [];
  const collect = <A>(x: E.Either<HplbError, A>): void => { if (E.isLeft(x)) out.push(...x.left.issues); };
  collect(checkAttentionInputs(CUDA_CAPABILITIES, p, h, 'cuda'));
  collect(validateLayout(h.layout, p));
  const rows = checkRows(p, h.rows);
  collect(rows);
  if (out.length > 0) {
    const issues = index === undefined ? out : out.map((i) => ({ ...i, path: i.path.replace(/^\$/, `$.heads[${index}]`) }));
    return E.left(hplbError('argument', issues));
  }
  return rows;
};

/**
 * One native request for many heads: layouts concatenated with offsets rebased into the shared index array, row
 * ranges as two Int32Arrays. Pure; exported for tests.
 */
export const packHeads = (
  heads: ReadonlyArray<HeadInput>, p: AttentionParams, ranges: ReadonlyArray<RowRange>, kernel: CudaKernelVariant = 'pipelined',
): CudaAttentionRequest => {
  const H = heads.length;
  const Qb = p.blocks;
  const nnz = heads.reduce((s, h) => s + h.layout.indices.length, 0);
  const offsets = new Int32Array(H * (Qb + 1));
  const indices = new Int32Array(nnz);
  const rowStart = new Int32Array(H);
  const rowEnd = new Int32Array(H);
  let base = 0;
  heads.forEach((h, i) => {
    const L: BlockLayout = h.layout;
    for (let qb = 0; qb <= Qb; qb++) offsets[i * (Qb + 1) + qb] = base + L.offsets[qb]!;
    indices.set(L.indices, base);
    base += L.indices.length;
    rowStart[i] = ranges[i]!.start;
    rowEnd[i] = ranges[i]!.end;
  });
  return {
    heads: H, kernel, q: heads.map((h) => h.q), k: heads.map((h) => h.k), v: heads.map((h) => h.v),
    offsets, indices, rowStart, rowEnd,
    tokens: p.tokens, headDim: p.headDim, blockSize: p.blockSize, blocks: p.blocks, causal: p.causal, scale: p.scale, precision: p.precision,
  };
};

/** Split the packed outputs back into one AttentionOutput per head (views, no copies). */
export const splitOutputs = (out: Float32Array, lse: Float32Array, ranges: ReadonlyArray<RowRange>, d: number): AttentionOutput[] => {
  let row = 0;
  return ranges.map((r) => {
    const n = r.end - r.start;
    const o = { out: out.subarray(row * d, (row + n) * d), lse: lse.subarray(row, row + n) };
    row += n;
    return o;
  });
};

// ---------------------------------------------------------------- options

const decodeOptions = (raw: Record<string, unknown> | undefined): E.Either<HplbError, CudaBackendOptions> => {
  const o = raw ?? {};
  const out: Issue[] = [];
  const b = o['binding'];
  if (b !== undefined && !(typeof b === 'object' && b !== null && typeof (b as CudaBinding).deviceCount === 'function' && typeof (b as CudaBinding).open === 'function'))
    out.push(issue('$.binding', 'a CudaBinding (deviceCount, open)', b));
  const path = o['addonPath'];
  if (path !== undefined && typeof path !== 'string') out.push(issue('$.addonPath', 'a path to hplb_cuda.node', path));
  const device = o['device'];
  if (device !== undefined && !(typeof device === 'number' && Number.isInteger(device) && device >= 0)) out.push(issue('$.device', 'a CUDA device index ≥ 0', device));
  const kernel = o['kernel'] ?? process.env['HPLB_CUDA_KERNEL'];
  if (kernel !== undefined && !CUDA_KERNEL_VARIANTS.includes(kernel as CudaKernelVariant))
    out.push(issue(o['kernel'] !== undefined ? '$.kernel' : 'HPLB_CUDA_KERNEL', `a kernel variant (${CUDA_KERNEL_VARIANTS.join('|')})`, kernel));
  if (out.length > 0) return E.left(hplbError('argument', out));
  return E.right({
    ...(kernel !== undefined ? { kernel: kernel as CudaKernelVariant } : {}),
    ...(b !== undefined ? { binding: b as CudaBinding } : {}),
    ...(typeof path === 'string' ? { addonPath: path } : {}),
    ...(typeof device === 'number' ? { device } : {}),
  });
};

const describeDevice = (i: CudaDeviceInfo): string =>
  `${i.name} (sm_${i.computeCapability.replace('.', '')}, ${i.multiProcessors} SMs, ${(i.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB)`;

const version = (v: number): string => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;

// ---------------------------------------------------------------- the backend

type State =
  | { readonly tag: 'new' }
  | { readonly tag: 'ready'; readonly ctx: CudaContext; readonly info: BackendInfo; readonly kernel: CudaKernelVariant }
  | { readonly tag: 'disposed' };

export const createCudaBackend = (rawOptions?: Record<string, unknown>): CudaBackend => {
  let state: State = { tag: 'new' };
  let timing: CudaTiming | undefined;

  const start = (): E.Either<HplbError, { ctx: CudaContext; info: BackendInfo; kernel: CudaKernelVariant }> => {
    const opts = decodeOptions(rawOptions);
    if (E.isLeft(opts)) return opts;
    const o = opts.right;
    const bound = o.binding !== undefined ? E.right(o.binding) : loadCudaBinding(o.addonPath);
    if (E.isLeft(bound)) return bound;
    const binding = bound.right;
    let count: number;
    try {
      count = binding.deviceCount();
    } catch (e) {
      return E.left(backendError('cuda', 'a CUDA device', `no CUDA device (${describeCudaError(e)})`));
    }
    if (count === 0) return E.left(backendError('cuda', 'a CUDA device', 'no CUDA device (cudaGetDeviceCount found 0)'));
    const device = o.device ?? 0;
    if (device >= count) return E.left(hplbError('argument', [issue('$.device', `a CUDA device index below ${count}`, device)]));
    let ctx: CudaContext;
    let dev: CudaDeviceInfo;
    try {
      ctx = binding.open(device);
    } catch (e) {
      return E.left(fromNative('open', e));
    }
    try {
      dev = ctx.info();
    } catch (e) {
      ctx.close();
      return E.left(fromNative('info', e));
    }
    if (Number(dev.computeCapability) < MIN_COMPUTE_CAPABILITY) {
      ctx.close();
      return E.left(backendError('cuda', `a GPU of compute capability ≥ ${MIN_COMPUTE_CAPABILITY} (mma.sync bf16)`, `${dev.name}, compute capability ${dev.computeCapability}`));
    }
    const kernel = o.kernel ?? 'pipelined';
    const info: BackendInfo = {
      name: 'cuda',
      device: describeDevice(dev),
      mode: `mma.sync m16n8k16 tensor cores, ${kernel} kernel (fp16/bf16, fp32 accumulation); fp32 CUDA-core path`,
      details: {
        computeCapability: dev.computeCapability,
        multiProcessors: dev.multiProcessors,
        totalMemoryBytes: dev.totalMemoryBytes,
        driver: version(dev.driverVersion),
        runtime: version(dev.runtimeVersion),
        addonRuntime: version(binding.build.cudaRuntime),
        archs: binding.build.archs,
        kernel,
      },
    };
    return E.right({ ctx, info, kernel });
  };

  const ready = (): E.Either<HplbError, CudaContext> => {
    if (state.tag === 'ready') return E.right(state.ctx);
    return E.left(backendError('cuda', state.tag === 'new' ? 'init() to have succeeded before a kernel call' : 'a backend that was not disposed'));
  };

  const run = <A extends CudaTiming>(operation: string, call: () => A): E.Either<HplbError, A> => {
    try {
      const r = call();
      timing = { kernelMs: r.kernelMs, totalMs: r.totalMs };
      return E.right(r);
    } catch (e) {
      return E.left(fromNative(operation, e));
    }
  };

  const attendHeads = (heads: ReadonlyArray<HeadInput>, p: AttentionParams, single: boolean): E.Either<HplbError, AttentionOutput[]> => {
    const ctx = ready();
    if (E.isLeft(ctx)) return ctx;
    if (heads.length === 0) return E.right([]);
    const ranges: RowRange[] = [];
    const issues: Issue[] = [];
    heads.forEach((h, i) => {
      const r = checkHead(h, p, single ? undefined : i);
      if (E.isLeft(r)) issues.push(...r.left.issues);
      else ranges.push(r.right);
    });
    if (issues.length > 0) return E.left(hplbError('argument', issues));
    const kernel = state.tag === 'ready' ? state.kernel : 'pipelined';
    const result = run('sparseAttention', () => ctx.right.sparseAttention(packHeads(heads, p, ranges, kernel)));
    if (E.isLeft(result)) return result;
    const outs = splitOutputs(result.right.out, result.right.lse, ranges, p.headDim);
    for (const o of outs) {
      const fin = checkOutputFinite('out', o.out, p.headDim, 'cuda');
      if (E.isLeft(fin)) return fin;
    }
    return E.right(outs);
  };

  return {
    name: 'cuda',
    capabilities: CUDA_CAPABILITIES,
    async init() {
      if (state.tag === 'ready') return E.right(state.info);
      if (state.tag === 'disposed') return E.left(backendError('cuda', 'a backend that was not disposed'));
      const s = start();
      if (E.isLeft(s)) return s;
      state = { tag: 'ready', ...s.right };
      return E.right(s.right.info);
    },
    async blockMass(q, k, p) {
      const ctx = ready();
      if (E.isLeft(ctx)) return ctx;
      const checked = checkAttentionInputs(CUDA_CAPABILITIES, p, { q, k }, 'cuda');
      if (E.isLeft(checked)) return checked;
      const kernel = state.tag === 'ready' ? state.kernel : 'pipelined';
      const r = run('blockMass', () => ctx.right.blockMass({
        q, k, kernel, tokens: p.tokens, headDim: p.headDim, blockSize: p.blockSize, blocks: p.blocks, causal: p.causal, scale: p.scale, precision: p.precision,
      }));
      if (E.isLeft(r)) return r;
      return checkOutputFinite('mass', r.right.mass, p.blocks, 'cuda');
    },
    async sparseAttention(q, k, v, layout, p, rows) {
      const r = attendHeads([{ q, k, v, layout, ...(rows !== undefined ? { rows } : {}) }], p, true);
      return E.isLeft(r) ? r : E.right(r.right[0]!);
    },
    async sparseAttentionHeads(heads, p) {
      return attendHeads(heads, p, false);
    },
    async dispose() {
      if (state.tag === 'ready') state.ctx.close();
      state = { tag: 'disposed' };
    },
    lastTiming: () => timing,
  };
};
