/**
 * The WebGPU attention backend: validates each call through `@hplb/core/kernel/params.ts`, uploads the tensors,
 * runs the WGSL kernels of `shaders.ts` on a WebGPU device and reads the results back. Platform-neutral: the `GPU`
 * object comes from a `GpuProvider` (Dawn in Node, `index.ts`; `navigator.gpu` in browsers, `browser.ts`). Used
 * through `createBackend` (the runtime registry, examples/bench-kernels.ts, the conformance test, the web page).
 *
 * Device lifetime: `init()` requests the adapter and a device; `dispose()` destroys the device. Because a live
 * Dawn device keeps Node's event loop alive, the device is also destroyed after `idleReleaseMs` without work
 * (default 2 s, an unref'd timer) and re-created by the next call, so a caller that forgets `dispose()` delays its
 * exit instead of hanging. Calls are serialized (one GPU queue); concurrent callers simply wait their turn.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, hplbError, issue, words, type HplbError, type Issue } from '@hplb/core';
import { checkKernelCall, checkOutputFinite } from '@hplb/core/kernel';
import type {
  AttentionBackend, AttentionOutput, AttentionParams, BackendCapabilities, BackendInfo, BlockLayout, HeadInput, RowRange,
} from '@hplb/core/kernel';
import { adapterFacts, BufferUsage, MapMode, requestAdapter, requestDevice, type GpuProvider } from './device.ts';
import { attentionShader, blockMassShader, chooseTile, NEG, PARAM_WORDS, paramsBytes, type Tile } from './shaders.ts';

// ---------------------------------------------------------------- model

export interface WebGpuBackendOptions {
  /** Adapter preference passed to requestAdapter (default high-performance). */
  readonly powerPreference: GPUPowerPreference;
  /** Destroy the device after this many ms without work; 0 keeps it until dispose() (default 2000). */
  readonly idleReleaseMs: number;
}

/**
 * fp32 only (WGSL f32 storage and arithmetic); any head dim up to 256 (padded to vec4 on load) and any block size,
 * the declared list being the ones the conformance suite and the planner use. maxTokens: N·d·4 bytes of one head
 * must fit one storage binding (128 MiB on lavapipe, d = 256); calls beyond the device's limits are refused
 * with the limit named.
 */
export const WEBGPU_CAPABILITIES: BackendCapabilities = {
  precisions: ['fp32'],
  maxHeadDim: 256,
  blockSizes: [8, 16, 32, 64, 128],
  multiHead: true,
  maxTokens: 131072,
  /** Each thread gets its own Dawn instance and device (checked: `hplb execute --backend webgpu` on 2 workers). */
  workerThreads: true,
};

const NAME = 'webgpu';
const DEFAULTS: WebGpuBackendOptions = { powerPreference: 'high-performance', idleReleaseMs: 2000 };

export const parseWebGpuOptions = (options: Record<string, unknown> | undefined): E.Either<HplbError, WebGpuBackendOptions> => {
  const pp = options?.['powerPreference'] ?? DEFAULTS.powerPreference;
  const idle = options?.['idleReleaseMs'] ?? DEFAULTS.idleReleaseMs;
  const out: Issue[] = [];
  for (const k of Object.keys(options ?? {}))
    if (!(k in DEFAULTS)) out.push(issue(`$.backends.webgpu.${k}`, `one of the webgpu options (${Object.keys(DEFAULTS).join(', ')})`, words(`an unknown option ${JSON.stringify(k)}`)));
  if (pp !== 'high-performance' && pp !== 'low-power') out.push(issue('$.backends.webgpu.powerPreference', 'high-performance or low-power', pp));
  if (typeof idle !== 'number' || !Number.isInteger(idle) || idle < 0) out.push(issue('$.backends.webgpu.idleReleaseMs', 'a whole number of milliseconds ≥ 0', idle));
  return out.length > 0 ? E.left(hplbError('argument', out)) : E.right({ powerPreference: pp as GPUPowerPreference, idleReleaseMs: idle as number });
};

/** A live device and what was compiled on it. */
interface DeviceState {
  readonly device: GPUDevice;
  readonly pipelines: Map<string, GPUComputePipeline>;
  lost: boolean;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));
const gpuFail = (expected: string, actual: unknown): E.Either<HplbError, never> =>
  E.left(hplbError('backend', [{ path: '$.backends.webgpu', expected, actual: reason(actual) }]));

/** Prefix every issue path with `$.heads[h]` (batched calls). */
const atHead = (h: number, e: HplbError): HplbError => hplbError(e.code, e.issues.map((i) => ({ ...i, path: `$.heads[${h}]${i.path.slice(1)}` })));

// ---------------------------------------------------------------- the backend

export class WebGpuBackend implements AttentionBackend {
  readonly name = NAME;
  readonly capabilities = WEBGPU_CAPABILITIES;
  private adapter: GPUAdapter | undefined;
  private state: DeviceState | undefined;
  private info: BackendInfo | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = 0;
  /** Milliseconds spent creating pipelines (WGSL → Vulkan compile), summed over the backend's life. */
  compileMs = 0;
  /** How many times a device was created (1 + re-creations after idle release or loss). */
  deviceStarts = 0;

  /** `provider`: where the `GPU` object comes from (Dawn in Node, `navigator.gpu` in browsers, or injected). */
  constructor(private readonly options: E.Either<HplbError, WebGpuBackendOptions>, private readonly provider: GpuProvider) {}

  async init(): Promise<E.Either<HplbError, BackendInfo>> {
    if (E.isLeft(this.options)) return this.options;
    if (this.info !== undefined) return E.right(this.info);
    const a = await requestAdapter(this.provider, this.options.right.powerPreference);
    if (E.isLeft(a)) return a;
    this.adapter = a.right;
    const d = await this.exclusive(() => this.deviceState());
    if (E.isLeft(d)) return d;
    const facts = adapterFacts(a.right);
    this.info = {
      name: NAME,
      device: facts.device,
      mode: facts.details['softwareRasterizer'] === true ? 'webgpu on a software rasterizer (CPU)' : 'webgpu on a hardware adapter',
      details: { ...facts.details, gpu: this.provider.label, idleReleaseMs: this.options.right.idleReleaseMs },
    };
    return E.right(this.info);
  }

  // -------------------------------------------------------------- device and pipelines

  /** Run `f` after every earlier call finished (one GPU queue, shared buffers never race). */
  private exclusive<A>(f: () => Promise<A>): Promise<A> {
    this.inFlight++;
    if (this.idleTimer !== undefined) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    const run = this.tail.then(f, f);
    this.tail = run.then(() => undefined, () => undefined).then(() => this.settled());
    return run;
  }

  private settled(): void {
    this.inFlight--;
    const idle = E.isRight(this.options) ? this.options.right.idleReleaseMs : 0;
    if (this.inFlight === 0 && idle > 0 && this.state !== undefined) {
      this.idleTimer = setTimeout(() => { if (this.inFlight === 0) this.releaseDevice(); }, idle);
      // Node: an unref'd timer never keeps the process alive (browsers have no unref and need none).
      (this.idleTimer as { unref?: () => void }).unref?.();
    }
  }

  private releaseDevice(): void {
    const s = this.state;
    this.state = undefined;
    if (s !== undefined && !s.lost) s.device.destroy();
  }

  private async deviceState(): Promise<E.Either<HplbError, DeviceState>> {
    if (this.state !== undefined && !this.state.lost) return E.right(this.state);
    if (this.adapter === undefined) return fail('backend', '$.backends.webgpu', 'init() to have succeeded before a kernel call', 'no adapter');
    let d = await requestDevice(this.adapter);
    if (E.isLeft(d)) {
      // An adapter can only hand out one device; after a destroy or loss ask for a fresh adapter.
      const a = await requestAdapter(this.provider, E.isRight(this.options) ? this.options.right.powerPreference : DEFAULTS.powerPreference);
      if (E.isLeft(a)) return a;
      this.adapter = a.right;
      d = await requestDevice(a.right);
      if (E.isLeft(d)) return d;
    }
    const state: DeviceState = { device: d.right, pipelines: new Map(), lost: false };
    void d.right.lost.then(() => { state.lost = true; });
    this.state = state;
    this.deviceStarts++;
    return E.right(state);
  }

  private async pipeline(s: DeviceState, key: string, code: () => string): Promise<E.Either<HplbError, GPUComputePipeline>> {
    const hit = s.pipelines.get(key);
    if (hit !== undefined) return E.right(hit);
    const t0 = performance.now();
    let module: GPUShaderModule | undefined;
    try {
      module = s.device.createShaderModule({ code: code(), label: key });
      const p = await s.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      s.pipelines.set(key, p);
      return E.right(p);
    } catch (e) {
      // The WGSL compiler's own first error says more than the pipeline's "invalid module".
      const info = await module?.getCompilationInfo().catch(() => undefined);
      const first = info?.messages.find((m) => m.type === 'error');
      return gpuFail(`the WGSL kernel ${key} to compile`, first !== undefined ? `line ${first.lineNum}: ${first.message}` : e);
    } finally {
      this.compileMs += performance.now() - t0;
    }
  }

  private tileFor(s: DeviceState, d: number, B: number): E.Either<HplbError, Tile> {
    const limit = s.device.limits.maxComputeWorkgroupStorageSize;
    const t = chooseTile(d, B, limit);
    return t === undefined ? fail('backend', '$.headDim', `a head dim whose tiles fit ${limit} bytes of workgroup memory`, d) : E.right(t);
  }

  /** Refuse a call the device's limits cannot hold, naming the limit. */
  private fits(s: DeviceState, what: string, bytes: number, workgroups: number): E.Either<HplbError, void> {
    const l = s.device.limits;
    if (bytes > l.maxStorageBufferBindingSize) return fail('argument', '$.tokens', `${what} within the device's maxStorageBufferBindingSize (${l.maxStorageBufferBindingSize} bytes)`, `${bytes} bytes`);
    if (workgroups > l.maxComputeWorkgroupsPerDimension) return fail('argument', '$.tokens', `${what} within the device's maxComputeWorkgroupsPerDimension (${l.maxComputeWorkgroupsPerDimension})`, workgroups);
    return E.right(undefined);
  }

  // -------------------------------------------------------------- checks

  private check(q: Float32Array, k: Float32Array, v: Float32Array | undefined, p: AttentionParams, layout?: BlockLayout, rows?: RowRange): E.Either<HplbError, RowRange> {
    return checkKernelCall(this.capabilities, p, v === undefined ? { q, k } : { q, k, v }, NAME, layout, rows);
  }

  // -------------------------------------------------------------- operations

  async blockMass(q: Float32Array, k: Float32Array, p: AttentionParams): Promise<E.Either<HplbError, Float32Array>> {
    const c = this.check(q, k, undefined, p);
    if (E.isLeft(c)) return c;
    return this.exclusive(async () => {
      const s = await this.deviceState();
      if (E.isLeft(s)) return s;
      const r = await this.runBlockMass(s.right, q, k, p);
      return E.isLeft(r) ? r : checkOutputFinite('mass', r.right, p.blocks, NAME);
    });
  }

  async sparseAttention(q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, rows?: RowRange): Promise<E.Either<HplbError, AttentionOutput>> {
    const c = this.check(q, k, v, p, layout, rows);
    if (E.isLeft(c)) return c;
    const r = await this.exclusive(() => this.attentionBatches([{ q, k, v, layout, rows: c.right }], p));
    return E.isLeft(r) ? r : E.right(r.right[0]!);
  }

  async sparseAttentionHeads(heads: ReadonlyArray<HeadInput>, p: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>> {
    const checked: HeadInput[] = [];
    for (const [h, x] of heads.entries()) {
      const c = this.check(x.q, x.k, x.v, p, x.layout, x.rows);
      if (E.isLeft(c)) return E.left(atHead(h, c.left));
      checked.push({ ...x, rows: c.right });
    }
    if (checked.length === 0) return E.right([]);
    return this.exclusive(() => this.attentionBatches(checked, p));
  }

  async dispose(): Promise<void> {
    await this.tail;
    if (this.idleTimer !== undefined) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    this.releaseDevice();
    this.info = undefined;
    this.adapter = undefined;
  }

  // -------------------------------------------------------------- kernels

  /** Split the heads into batches whose concatenated q/k/v fit one storage binding, run each. */
  private async attentionBatches(heads: ReadonlyArray<HeadInput>, p: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>> {
    const s = await this.deviceState();
    if (E.isLeft(s)) return s;
    const headBytes = p.tokens * p.headDim * 4;
    const perBatch = Math.max(1, Math.floor(s.right.device.limits.maxStorageBufferBindingSize / headBytes));
    const outs: AttentionOutput[] = [];
    for (let h0 = 0; h0 < heads.length; h0 += perBatch) {
      const r = await this.runAttention(s.right, heads.slice(h0, h0 + perBatch), p);
      if (E.isLeft(r)) return r;
      for (const o of r.right) {
        const f = checkOutputFinite('out', o.out, p.headDim, NAME);
        if (E.isLeft(f)) return f;
        outs.push(o);
      }
    }
    return E.right(outs);
  }

  private async runAttention(s: DeviceState, heads: ReadonlyArray<HeadInput>, p: AttentionParams): Promise<E.Either<HplbError, AttentionOutput[]>> {
    const { tokens: N, headDim: d, blockSize: B, blocks } = p;
    const tile = this.tileFor(s, d, B);
    if (E.isLeft(tile)) return tile;
    const t = tile.right;
    const H = heads.length;
    const rows = heads.map((x) => x.rows!);
    const totalRows = rows.reduce((a, r) => a + r.end - r.start, 0);
    const qbFirst = Math.min(...rows.map((r) => Math.floor(r.start / B)));
    const qbLast = Math.max(...rows.map((r) => Math.floor((r.end - 1) / B)));
    const sub = Math.ceil(B / t.tq);
    const gridX = (qbLast - qbFirst + 1) * sub;
    const ok = this.fits(s, `N·d·heads = ${N}·${d}·${H} values`, H * N * d * 4, Math.max(gridX, H));
    if (E.isLeft(ok)) return ok;
    const outFits = this.fits(s, 'the output rows', totalRows * d * 4, 0);
    if (E.isLeft(outFits)) return outFits;

    const pipe = await this.pipeline(s, `attention:dv${t.dvMax}:${t.tq}x${t.tk}`, () => attentionShader(t, true));
    if (E.isLeft(pipe)) return pipe;

    // Head table, concatenated CSR (offsets made absolute into the concatenated indices).
    const table = new Uint32Array(4 * H);
    const offsets = new Uint32Array(H * (blocks + 1));
    const indexCount = heads.reduce((a, x) => a + x.layout.indices.length, 0);
    const indices = new Uint32Array(Math.max(1, indexCount));
    let outRow = 0;
    let idx = 0;
    for (const [h, x] of heads.entries()) {
      table.set([rows[h]!.start, rows[h]!.end, outRow, h * (blocks + 1)], 4 * h);
      outRow += rows[h]!.end - rows[h]!.start;
      for (let qb = 0; qb <= blocks; qb++) offsets[h * (blocks + 1) + qb] = idx + x.layout.offsets[qb]!;
      indices.set(x.layout.indices, idx);
      idx += x.layout.indices.length;
    }

    const dev = s.device;
    return withGpuBuffers(dev, 'the attention kernel to run', async (buffer) => {
      const storageIn = BufferUsage.STORAGE | BufferUsage.COPY_DST;
      const qBuf = buffer(H * N * d * 4, storageIn, 'q');
      const kBuf = buffer(H * N * d * 4, storageIn, 'k');
      const vBuf = buffer(H * N * d * 4, storageIn, 'v');
      for (const [h, x] of heads.entries()) {
        dev.queue.writeBuffer(qBuf, h * N * d * 4, x.q);
        dev.queue.writeBuffer(kBuf, h * N * d * 4, x.k);
        dev.queue.writeBuffer(vBuf, h * N * d * 4, x.v);
      }
      const offBuf = buffer(offsets.byteLength, storageIn, 'offsets');
      dev.queue.writeBuffer(offBuf, 0, offsets);
      const idxBuf = buffer(indices.byteLength, storageIn, 'indices');
      dev.queue.writeBuffer(idxBuf, 0, indices);
      const headBuf = buffer(table.byteLength, storageIn, 'heads');
      dev.queue.writeBuffer(headBuf, 0, table);
      const paramBuf = buffer(PARAM_WORDS * 4, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
      dev.queue.writeBuffer(paramBuf, 0, paramsBytes({ ...p, qbFirst, heads: H }, t));
      const outBytes = totalRows * d * 4;
      const outBuf = buffer(outBytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC, 'out');
      const lseBuf = buffer(totalRows * 4, BufferUsage.STORAGE | BufferUsage.COPY_SRC, 'lse');
      const readBuf = buffer(outBytes + totalRows * 4, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');

      const bind = dev.createBindGroup({
        layout: pipe.right.getBindGroupLayout(0),
        entries: [qBuf, kBuf, vBuf, offBuf, idxBuf, headBuf, outBuf, lseBuf, paramBuf].map((b, binding) => ({ binding, resource: { buffer: b } })),
      });
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe.right);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(gridX, H);
      pass.end();
      enc.copyBufferToBuffer(outBuf, 0, readBuf, 0, outBytes);
      enc.copyBufferToBuffer(lseBuf, 0, readBuf, outBytes, totalRows * 4);
      dev.queue.submit([enc.finish()]);
      const err = await popErrors(dev);
      if (err !== undefined) return gpuFail('the attention kernel to run', err);
      await readBuf.mapAsync(MapMode.READ);
      const all = new Float32Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      const res: AttentionOutput[] = [];
      let r0 = 0;
      for (const r of rows) {
        const n = r.end - r.start;
        const out = all.slice(r0 * d, (r0 + n) * d);
        const lse = all.slice(totalRows * d + r0, totalRows * d + r0 + n);
        for (let i = 0; i < n; i++) if (lse[i]! <= NEG / 2) lse[i] = -Infinity;
        res.push({ out, lse });
        r0 += n;
      }
      return E.right(res);
    });
  }

  private async runBlockMass(s: DeviceState, q: Float32Array, k: Float32Array, p: AttentionParams): Promise<E.Either<HplbError, Float32Array>> {
    const { tokens: N, headDim: d, blockSize: B, blocks } = p;
    const tile = this.tileFor(s, d, B);
    if (E.isLeft(tile)) return tile;
    const t = tile.right;
    const sub = Math.ceil(B / t.tq);
    const ok = this.fits(s, `N·d = ${N}·${d} values`, N * d * 4, blocks * sub);
    if (E.isLeft(ok)) return ok;
    const massFits = this.fits(s, `the Qb×Kb = ${blocks}² block masses (× ${sub} query tiles)`, blocks * blocks * sub * 4, blocks * sub);
    if (E.isLeft(massFits)) return massFits;
    const stats = await this.pipeline(s, `rowStats:dv${t.dvMax}:${t.tq}x${t.tk}`, () => attentionShader(t, false));
    if (E.isLeft(stats)) return stats;
    const massPipe = await this.pipeline(s, `blockMass:dv${t.dvMax}:${t.tq}x${t.tk}`, () => blockMassShader(t));
    if (E.isLeft(massPipe)) return massPipe;

    const dev = s.device;
    return withGpuBuffers(dev, 'the blockMass kernels to run', async (buffer) => {
      const storageIn = BufferUsage.STORAGE | BufferUsage.COPY_DST;
      const qBuf = buffer(N * d * 4, storageIn, 'q');
      const kBuf = buffer(N * d * 4, storageIn, 'k');
      dev.queue.writeBuffer(qBuf, 0, q);
      dev.queue.writeBuffer(kBuf, 0, k);
      const headBuf = buffer(16, storageIn, 'heads');
      dev.queue.writeBuffer(headBuf, 0, new Uint32Array([0, N, 0, 0]));
      const paramBuf = buffer(PARAM_WORDS * 4, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'params');
      dev.queue.writeBuffer(paramBuf, 0, paramsBytes({ ...p, qbFirst: 0, heads: 1 }, t));
      const lseBuf = buffer(N * 4, BufferUsage.STORAGE, 'lse');
      const partials = blocks * sub * blocks;
      const massBuf = buffer(partials * 4, BufferUsage.STORAGE | BufferUsage.COPY_SRC, 'mass');
      const readBuf = buffer(partials * 4, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
      const statsBind = dev.createBindGroup({
        layout: stats.right.getBindGroupLayout(0),
        entries: [[0, qBuf], [1, kBuf], [5, headBuf], [7, lseBuf], [8, paramBuf]].map(([binding, b]) => ({ binding: binding as number, resource: { buffer: b as GPUBuffer } })),
      });
      const massBind = dev.createBindGroup({
        layout: massPipe.right.getBindGroupLayout(0),
        entries: [[0, qBuf], [1, kBuf], [7, lseBuf], [8, paramBuf], [9, massBuf]].map(([binding, b]) => ({ binding: binding as number, resource: { buffer: b as GPUBuffer } })),
      });
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(stats.right);
      pass.setBindGroup(0, statsBind);
      pass.dispatchWorkgroups(blocks * sub, 1);
      pass.setPipeline(massPipe.right);
      pass.setBindGroup(0, massBind);
      pass.dispatchWorkgroups(blocks, blocks * sub);
      pass.end();
      enc.copyBufferToBuffer(massBuf, 0, readBuf, 0, partials * 4);
      dev.queue.submit([enc.finish()]);
      const err = await popErrors(dev);
      if (err !== undefined) return gpuFail('the blockMass kernels to run', err);
      await readBuf.mapAsync(MapMode.READ);
      const part = new Float32Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      // Add the query tiles' partial means: mass[qb][kb] = Σ_sub part[(qb·sub + sub)·Kb + kb].
      const mass = new Float32Array(blocks * blocks);
      for (let qb = 0; qb < blocks; qb++)
        for (let u = 0; u < sub; u++)
          for (let kb = 0; kb < blocks; kb++) mass[qb * blocks + kb]! += part[(qb * sub + u) * blocks + kb]!;
      return E.right(mass);
    });
  }
}

type MakeBuffer = (bytes: number, usage: number, label: string) => GPUBuffer;

/**
 * One submission's lifetime: push the validation and out-of-memory error scopes, hand `run` a buffer maker that
 * tracks every buffer it creates (sizes rounded up to 4 bytes, at least 16), turn a thrown error into
 * `gpuFail(what, …)` after popping the scopes, and destroy every buffer afterwards.
 */
const withGpuBuffers = async <A>(dev: GPUDevice, what: string, run: (buffer: MakeBuffer) => Promise<E.Either<HplbError, A>>): Promise<E.Either<HplbError, A>> => {
  const made: GPUBuffer[] = [];
  const buffer: MakeBuffer = (bytes, usage, label) => {
    const b = dev.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage, label });
    made.push(b);
    return b;
  };
  dev.pushErrorScope('out-of-memory');
  dev.pushErrorScope('validation');
  try {
    return await run(buffer);
  } catch (e) {
    await popErrors(dev).catch(() => undefined);
    return gpuFail(what, e);
  } finally {
    for (const b of made) b.destroy();
  }
};

/** Pop the validation and out-of-memory scopes pushed around a submission; the first error's message. */
const popErrors = async (dev: GPUDevice): Promise<string | undefined> => {
  const validation = await dev.popErrorScope();
  const oom = await dev.popErrorScope();
  const e = validation ?? oom;
  return e === null ? undefined : e.message;
};
