/**
 * The typed surface of the native CUDA addon (`build/Release/hplb_cuda.node`, built from src/addon.cc) and its lazy
 * loader. The backend (`backend.ts`) only ever talks to a `CudaBinding`, so tests inject a fake one and CPU-only CI
 * runs the whole backend code path; `loadCudaBinding` is the one place that touches the `.node` file, and it runs
 * only when a backend's `init()` asks for it (importing this package never loads native code).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';
import type { Precision } from '@hplb/core/kernel';

// ---------------------------------------------------------------- model

/** Parameters every native call takes (the normalized AttentionParams, spelled out for the C++ side). */
export interface CudaCallParams {
  readonly tokens: number;
  readonly headDim: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly causal: boolean;
  readonly scale: number;
  readonly precision: Precision;
}

export interface CudaBlockMassRequest extends CudaCallParams {
  readonly kernel?: CudaKernelVariant;
  /** [N × d] */
  readonly q: Float32Array;
  readonly k: Float32Array;
}

/**
 * Many heads in one launch. Head h's layout is offsets[h·(Qb+1) .. (h+1)·(Qb+1)) into the shared `indices`
 * (already rebased: the head's first offset is where its indices begin), its rows are [rowStart[h], rowEnd[h]),
 * and its output rows follow the previous head's in `out` / `lse`.
 */
/** Tensor-core kernel variant (fp16/bf16): see src/kernels.h. `pipelined` falls back to `simple` when d ∉ {32, 64, 128}. */
export type CudaKernelVariant = 'pipelined' | 'simple';
export const CUDA_KERNEL_VARIANTS: ReadonlyArray<CudaKernelVariant> = ['pipelined', 'simple'];

export interface CudaAttentionRequest extends CudaCallParams {
  readonly heads: number;
  readonly kernel?: CudaKernelVariant;
  readonly q: ReadonlyArray<Float32Array>;
  readonly k: ReadonlyArray<Float32Array>;
  readonly v: ReadonlyArray<Float32Array>;
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
}

/** Device time of the kernels (CUDA events) and the whole call (uploads, kernels, downloads), in ms. */
export interface CudaTiming {
  readonly kernelMs: number;
  readonly totalMs: number;
}

export interface CudaAttentionResult extends CudaTiming {
  /** [Σ rows × d], heads in request order */
  readonly out: Float32Array;
  /** [Σ rows] */
  readonly lse: Float32Array;
  /** CTAs launched (work items: ≤ 64 rows of one query block each). */
  readonly items: number;
}

export interface CudaBlockMassResult extends CudaTiming {
  /** [Qb × Kb] */
  readonly mass: Float32Array;
}

export interface CudaDeviceInfo {
  readonly device: number;
  readonly name: string;
  readonly computeCapability: string;
  readonly multiProcessors: number;
  readonly totalMemoryBytes: number;
  readonly freeMemoryBytes: number;
  readonly sharedMemoryPerBlockOptin: number;
  /** e.g. 13000 for CUDA 13.0 (cudaDriverGetVersion) */
  readonly driverVersion: number;
  readonly runtimeVersion: number;
}

/** One device: a stream, timing events and grow-only device buffers, freed by `close()`. */
export interface CudaContext {
  info(): CudaDeviceInfo;
  blockMass(req: CudaBlockMassRequest): CudaBlockMassResult;
  sparseAttention(req: CudaAttentionRequest): CudaAttentionResult;
  close(): void;
}

export interface CudaBuildInfo {
  /** CUDART_VERSION the addon was compiled against, e.g. 13000 */
  readonly cudaRuntime: number;
  /** e.g. "sm_80,sm_90,compute_90" */
  readonly archs: string;
  readonly maxHeadDimMma: number;
  readonly maxHeadDimFp32: number;
}

/**
 * The addon's exports. Every method may throw a `CudaCallError`-shaped Error: CUDA failures carry `cudaCode`
 * (the cudaError_t number, e.g. 35 when no driver is loaded) and `cudaName`; argument failures carry `argument`.
 */
export interface CudaBinding {
  readonly build: CudaBuildInfo;
  /** Number of CUDA devices; throws with cudaCode when the runtime cannot start. */
  deviceCount(): number;
  /** Open a context on device `device` (constructor `new Context(device)` in the addon). */
  open(device: number): CudaContext;
}

/** What the addon throws. */
export interface CudaCallError extends Error {
  readonly cudaCode?: number;
  readonly cudaName?: string;
  readonly operation?: string;
  readonly argument?: string;
}

// ---------------------------------------------------------------- loading

/** The package root (backends/cuda), from this file's location. */
export const packageRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where the addon is looked for: an explicit path if given (only there), else $HPLB_CUDA_ADDON if set (only
 * there), else the node-gyp output build/Release/hplb_cuda.node.
 */
export const addonCandidates = (explicit?: string): string[] => {
  if (explicit !== undefined && explicit.length > 0) return [explicit];
  const env = process.env['HPLB_CUDA_ADDON'];
  if (env !== undefined && env.length > 0) return [env];
  return [join(packageRoot(), 'build/Release/hplb_cuda.node')];
};

export const NOT_BUILT =
  'the CUDA addon is not built: run `npm run build -w @hplb/backend-cuda` on a machine with nvcc (CUDA 12+), or set HPLB_CUDA_ADDON to a built hplb_cuda.node';

interface RawAddon {
  readonly build: CudaBuildInfo;
  deviceCount(): number;
  readonly Context: new (device: number) => CudaContext;
}

const isRawAddon = (m: unknown): m is RawAddon =>
  typeof m === 'object' && m !== null && typeof (m as RawAddon).deviceCount === 'function' && typeof (m as RawAddon).Context === 'function';

/** Load the native addon (lazily, once per path). A Left says why it cannot be loaded: not built, wrong ABI, ... */
export const loadCudaBinding = (explicitPath?: string): E.Either<HplbError, CudaBinding> => {
  const candidates = addonCandidates(explicitPath);
  const path = candidates.find((c) => existsSync(c));
  if (path === undefined) return E.left(hplbError('backend', [issue('cuda', NOT_BUILT, `nothing at ${candidates.join(', ')}`)]));
  const cached = loaded.get(path);
  if (cached !== undefined) return E.right(cached);
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (e) {
    return E.left(hplbError('backend', [issue('cuda', `a loadable CUDA addon at ${path}`, e instanceof Error ? e.message.split('\n')[0] : String(e))]));
  }
  if (!isRawAddon(mod)) return E.left(hplbError('backend', [issue('cuda', `the hplb CUDA addon at ${path} (deviceCount, Context)`, 'another module')]));
  const raw = mod;
  const binding: CudaBinding = {
    build: raw.build,
    deviceCount: () => raw.deviceCount(),
    open: (device) => new raw.Context(device),
  };
  loaded.set(path, binding);
  return E.right(binding);
};

const loaded = new Map<string, CudaBinding>();
