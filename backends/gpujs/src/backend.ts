/**
 * The gpu.js attention backend: block-sparse attention and block masses as gpu.js kernels (`kernels.ts`), in GPU
 * mode (WebGL 1 through headless-gl; needs an X display, e.g. Xvfb) or CPU mode (gpu.js's JavaScript kernels).
 * Used through `createBackend` in `index.ts`.
 *
 * Falling back silently is not allowed: GPU mode asks gpu.js for its `headlessgl` kernel explicitly, `init()` fails
 * with what is missing (headless-gl not built, no display, shaders without fp32), and every kernel run is checked
 * to have executed on the kernel class the mode promises (`HeadlessGLKernel` or `CPUKernel`); `kernelClassesUsed`
 * lists what actually ran. Rows are processed in chunks so the score texture stays within CHUNK_VALUES and the
 * WebGL texture size.
 */
import * as E from 'fp-ts/lib/Either.js';
import { createRequire } from 'node:module';
import { fail, hplbError, words, type HplbError, type Issue } from '@hplb/core';
import { checkKernelCall, checkOutputFinite } from '@hplb/core/kernel';
import { fullLayout } from '@hplb/core/kernel';
import type {
  AttentionBackend, AttentionOutput, AttentionParams, BackendCapabilities, BackendInfo, BlockLayout, HeadInput, RowRange,
} from '@hplb/core/kernel';
import { loadGpuJs, probeHeadlessGl } from './environment.ts';
import { LOOP_MAX, MASS, ROW_MAX, ROW_SUM, SCORES, WEIGHTED } from './kernels.ts';

// ---------------------------------------------------------------- model

export type GpuJsMode = 'gpu' | 'cpu';

export interface GpuJsBackendOptions {
  /** 'gpu': WebGL through headless-gl (default); 'cpu': gpu.js's JavaScript kernels. */
  readonly mode: GpuJsMode;
}

/**
 * fp32: WebGL 1 highp floats in the shaders (23-bit mantissa, checked at init) and float32 textures
 * (OES_texture_float, gpu.js precision 'single'); CPU mode computes in float64 JavaScript and stores float32.
 * maxTokens: the score texture is [slots × rows] with slots ≤ N rounded up to a block, within WebGL's 16384 texture
 * size; float index arithmetic is exact below 2^24 (N·d ≤ 16384·256).
 */
export const GPUJS_CAPABILITIES: BackendCapabilities = {
  precisions: ['fp32'],
  maxHeadDim: 256,
  blockSizes: [8, 16, 32, 64, 128],
  multiHead: false,
  maxTokens: 16384,
  workerThreads: false,
};

/**
 * Capabilities of one instance: GPU mode runs on headless-gl, whose native addon loads in ONE thread per process
 * (it is not context-aware), so it declares `workerThreads: false` and the executor runs its devices on the main
 * thread; CPU mode is plain JavaScript (gpu.js only tries to load headless-gl and ignores a failure) and runs in
 * any number of worker threads.
 */
export const gpujsCapabilities = (mode: GpuJsMode): BackendCapabilities => ({ ...GPUJS_CAPABILITIES, workerThreads: mode === 'cpu' });

/** Score values per row chunk (16 MiB of float32 texture). */
export const CHUNK_VALUES = 1 << 22;

const NAME = 'gpujs';
const EXPECTED_KERNEL: Record<GpuJsMode, string> = { gpu: 'HeadlessGLKernel', cpu: 'CPUKernel' };

const OPTION_KEYS = ['mode'];

export const parseGpuJsOptions = (options: Record<string, unknown> | undefined): E.Either<HplbError, GpuJsBackendOptions> => {
  const unknown = Object.keys(options ?? {}).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length > 0) return fail('argument', `$.backends.gpujs.${unknown[0]}`, `one of the gpujs options (${OPTION_KEYS.join(', ')})`, words(`an unknown option ${JSON.stringify(unknown[0])}`));
  const mode = options?.['mode'] ?? 'gpu';
  if (mode !== 'gpu' && mode !== 'cpu') return fail('argument', '$.backends.gpujs.mode', 'gpu or cpu', mode);
  return E.right({ mode });
};

/** The slice of gpu.js's kernel shortcut we use. */
interface Kernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  readonly kernel?: { readonly constructor: { readonly name: string } };
  readonly fallbackReason?: string | null;
}

interface GpuInstance {
  createKernel(source: string, settings: Record<string, unknown>): Kernel;
  destroy(): unknown;
  readonly Kernel: { readonly name: string; readonly features?: Record<string, unknown> | null };
}

interface Kernels {
  readonly scores: Kernel;
  readonly rowMax: Kernel;
  readonly rowSum: Kernel;
  readonly weighted: Kernel;
  readonly mass: Kernel;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));
const backendIssue = (expected: string, actual: string): HplbError => hplbError('backend', [{ path: '$.backends.gpujs', expected, actual }]);
const atHead = (h: number, e: HplbError): HplbError => hplbError(e.code, e.issues.map((i) => ({ ...i, path: `$.heads[${h}]${i.path.slice(1)}` })));

/** A 2-D gpu.js result (rows of Float32Array) flattened row-major. */
const flatten = (rows: ArrayLike<ArrayLike<number>>, cols: number, into: Float32Array, at: number): void => {
  for (let r = 0; r < rows.length; r++) into.set(rows[r] as Float32Array, at + r * cols);
};

const gpujsVersion = (): string => {
  try {
    return (createRequire(import.meta.url)('gpu.js/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

// ---------------------------------------------------------------- the backend

export class GpuJsBackend implements AttentionBackend {
  readonly name = NAME;
  readonly capabilities: BackendCapabilities;
  private gpu: GpuInstance | undefined;
  private kernels: Kernels | undefined;
  private info: BackendInfo | undefined;
  private readonly used = new Set<string>();

  constructor(private readonly options: E.Either<HplbError, GpuJsBackendOptions>) {
    this.capabilities = gpujsCapabilities(E.isRight(options) ? options.right.mode : 'gpu');
  }

  /** The gpu.js kernel classes that actually ran (e.g. ['HeadlessGLKernel']). */
  kernelClassesUsed(): string[] {
    return [...this.used].sort();
  }

  async init(): Promise<E.Either<HplbError, BackendInfo>> {
    if (E.isLeft(this.options)) return this.options;
    if (this.info !== undefined) return E.right(this.info);
    const mode = this.options.right.mode;
    let gl: { renderer: string; version: string } | undefined;
    if (mode === 'gpu') {
      const probe = probeHeadlessGl();
      if ('problem' in probe) return E.left(backendIssue('gpu.js GPU mode: a WebGL context from headless-gl', probe.problem));
      gl = probe.ok;
    }
    let gpu: GpuInstance;
    try {
      const { GPU } = loadGpuJs();
      gpu = new GPU({ mode: mode === 'gpu' ? 'headlessgl' : 'cpu' }) as unknown as GpuInstance;
    } catch (e) {
      return E.left(backendIssue(`gpu.js in ${mode} mode (npm package gpu.js; run \`npm ci\`)`, reason(e)));
    }
    if (gpu.Kernel.name !== EXPECTED_KERNEL[mode]) {
      gpu.destroy();
      return E.left(backendIssue(`gpu.js ${mode} mode on ${EXPECTED_KERNEL[mode]}`, `gpu.js chose ${gpu.Kernel.name}`));
    }
    const f = gpu.Kernel.features ?? {};
    const high = f['highFloatPrecision'] as { precision?: number } | undefined;
    if (mode === 'gpu' && (high?.precision ?? 0) < 23) {
      gpu.destroy();
      return E.left(backendIssue('highp fragment-shader floats with a 23-bit mantissa (the backend declares fp32)', `${high?.precision ?? 'no'}-bit mantissa on ${gl?.renderer}`));
    }
    this.gpu = gpu;
    try {
      this.kernels = this.build(gpu, mode);
    } catch (e) {
      await this.dispose();
      return E.left(backendIssue('the gpu.js kernels to be created', reason(e)));
    }
    const details: Record<string, string | number | boolean> = { kernel: gpu.Kernel.name, gpujs: gpujsVersion() };
    if (mode === 'gpu') {
      details['renderer'] = gl!.renderer;
      details['webgl'] = gl!.version;
      details['textureFloat'] = f['isTextureFloat'] === true;
      details['shaderFloatMantissaBits'] = high?.precision ?? 0;
      details['maxTextureSize'] = Number(f['maxTextureSize'] ?? 0);
    }
    this.info = {
      name: NAME,
      device: mode === 'gpu' ? `${gl!.renderer} (WebGL 1 via headless-gl)` : 'JavaScript on the calling thread (gpu.js CPU mode)',
      mode,
      details,
    };
    return E.right(this.info);
  }

  private build(gpu: GpuInstance, mode: GpuJsMode): Kernels {
    const common = { dynamicOutput: true, dynamicArguments: true, loopMaxIterations: LOOP_MAX, precision: 'single', tactic: 'precision', output: [1] };
    const make = (src: string, extra: Record<string, unknown> = {}): Kernel => gpu.createKernel(src, { ...common, ...extra });
    return {
      // The score matrix stays on the GPU between the passes (pipeline mode); CPU mode returns arrays anyway.
      scores: make(SCORES, mode === 'gpu' ? { pipeline: true, output: [1, 1] } : { output: [1, 1] }),
      rowMax: make(ROW_MAX),
      rowSum: make(ROW_SUM),
      weighted: make(WEIGHTED, { output: [1, 1] }),
      mass: make(MASS, { output: [1, 1] }),
    };
  }

  /** Run one kernel and check it ran where the mode promises. */
  private run(name: string, k: Kernel, output: number[], args: unknown[]): E.Either<HplbError, unknown> {
    const mode = E.isRight(this.options) ? this.options.right.mode : 'gpu';
    let result: unknown;
    try {
      k.setOutput(output);
      result = k(...args);
    } catch (e) {
      return E.left(backendIssue(`the gpu.js ${name} kernel to run`, reason(e)));
    }
    const ran = k.kernel?.constructor.name ?? 'unknown';
    this.used.add(ran);
    if (ran !== EXPECTED_KERNEL[mode])
      return E.left(backendIssue(`the ${name} kernel to run on ${EXPECTED_KERNEL[mode]} (${mode} mode)`, `it ran on ${ran}${k.fallbackReason ? ` (${k.fallbackReason})` : ''}`));
    return E.right(result);
  }

  private ready(): E.Either<HplbError, Kernels> {
    return this.kernels === undefined ? fail('backend', '$.backends.gpujs', 'init() to have succeeded before a kernel call', 'not initialised') : E.right(this.kernels);
  }

  private check(q: Float32Array, k: Float32Array, v: Float32Array | undefined, p: AttentionParams, layout?: BlockLayout, rows?: RowRange): E.Either<HplbError, RowRange> {
    return checkKernelCall(this.capabilities, p, v === undefined ? { q, k } : { q, k, v }, NAME, layout, rows);
  }

  // -------------------------------------------------------------- operations

  /**
   * Scores, row max and row sum for rows [r0, r0 + R) over `slots` key slots of `layout`: the first two passes
   * both operations share.
   */
  private stats(ks: Kernels, q: Float32Array, k: Float32Array, off: Float32Array, idx: Float32Array, p: AttentionParams, r0: number, R: number, slots: number):
    E.Either<HplbError, { S: unknown; m: Float32Array; l: Float32Array }> {
    const S = this.run('scores', ks.scores, [slots, R], [q, k, off, idx, p.tokens, p.headDim, p.blockSize, p.causal ? 1 : 0, p.scale, r0]);
    if (E.isLeft(S)) return S;
    const m = this.run('rowMax', ks.rowMax, [R], [S.right, slots]);
    if (E.isLeft(m)) return m;
    const mf = Float32Array.from(m.right as ArrayLike<number>);
    const l = this.run('rowSum', ks.rowSum, [R], [S.right, mf, slots]);
    if (E.isLeft(l)) return l;
    return E.right({ S: S.right, m: mf, l: Float32Array.from(l.right as ArrayLike<number>) });
  }

  async sparseAttention(q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, rows?: RowRange): Promise<E.Either<HplbError, AttentionOutput>> {
    const c = this.check(q, k, v, p, layout, rows);
    if (E.isLeft(c)) return c;
    const ks = this.ready();
    if (E.isLeft(ks)) return ks;
    const { start, end } = c.right;
    const { headDim: d, blockSize: B } = p;
    // Key slots per row: the most key blocks any query block in the range attends to, times B.
    let most = 1;
    for (let qb = Math.floor(start / B); qb <= Math.floor((end - 1) / B); qb++) most = Math.max(most, layout.offsets[qb + 1]! - layout.offsets[qb]!);
    const slots = most * B;
    const chunk = Math.max(1, Math.min(GPUJS_CAPABILITIES.maxTokens, Math.floor(CHUNK_VALUES / slots)));
    const off = Float32Array.from(layout.offsets);
    const idx = layout.indices.length > 0 ? Float32Array.from(layout.indices) : new Float32Array(1);
    const out = new Float32Array((end - start) * d);
    const lse = new Float32Array(end - start);
    for (let r0 = start; r0 < end; r0 += chunk) {
      const R = Math.min(chunk, end - r0);
      const st = this.stats(ks.right, q, k, off, idx, p, r0, R, slots);
      if (E.isLeft(st)) return st;
      const { S, m, l } = st.right;
      const o = this.run('weighted', ks.right.weighted, [d, R], [S, m, l, v, off, idx, d, B, r0, slots]);
      if (E.isLeft(o)) return o;
      flatten(o.right as ArrayLike<ArrayLike<number>>, d, out, (r0 - start) * d);
      for (let x = 0; x < R; x++) lse[r0 - start + x] = l[x]! > 0 ? m[x]! + Math.log(l[x]!) : -Infinity;
    }
    const f = checkOutputFinite('out', out, d, NAME);
    return E.isLeft(f) ? f : E.right({ out, lse });
  }

  async sparseAttentionHeads(heads: ReadonlyArray<HeadInput>, p: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>> {
    const outs: AttentionOutput[] = [];
    for (const [h, x] of heads.entries()) {
      const r = await this.sparseAttention(x.q, x.k, x.v, x.layout, p, x.rows);
      if (E.isLeft(r)) return E.left(r.left.code === 'argument' ? atHead(h, r.left) : r.left);
      outs.push(r.right);
    }
    return E.right(outs);
  }

  async blockMass(q: Float32Array, k: Float32Array, p: AttentionParams): Promise<E.Either<HplbError, Float32Array>> {
    const c = this.check(q, k, undefined, p);
    if (E.isLeft(c)) return c;
    const ks = this.ready();
    if (E.isLeft(ks)) return ks;
    const { tokens: N, blockSize: B, blocks } = p;
    const layout = fullLayout(p);
    const off = Float32Array.from(layout.offsets);
    const idx = Float32Array.from(layout.indices);
    const slots = blocks * B;
    const qbChunk = Math.max(1, Math.floor(CHUNK_VALUES / (slots * B)));
    const mass = new Float32Array(blocks * blocks);
    for (let qb0 = 0; qb0 < blocks; qb0 += qbChunk) {
      const qbN = Math.min(qbChunk, blocks - qb0);
      const r0 = qb0 * B;
      const R = Math.min(N, (qb0 + qbN) * B) - r0;
      const st = this.stats(ks.right, q, k, off, idx, p, r0, R, slots);
      if (E.isLeft(st)) return st;
      const mk = this.run('mass', ks.right.mass, [blocks, qbN], [st.right.S, st.right.m, st.right.l, B, N, qb0, r0]);
      if (E.isLeft(mk)) return mk;
      flatten(mk.right as ArrayLike<ArrayLike<number>>, blocks, mass, qb0 * blocks);
    }
    return checkOutputFinite('mass', mass, blocks, NAME);
  }

  async dispose(): Promise<void> {
    const gpu = this.gpu;
    this.gpu = undefined;
    this.kernels = undefined;
    this.info = undefined;
    if (gpu !== undefined) await gpu.destroy();
  }
}
