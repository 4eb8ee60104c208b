/**
 * A test double for the native surface ONLY (`CudaBinding`): it answers like the addon does (device discovery,
 * contexts, CUDA errors carrying `cudaCode`) and computes the packed multi-head request with a plain float64
 * reference written against the packed format (rebased CSR offsets, row ranges, concatenated outputs). The real
 * backend code (validation, packing, splitting, error mapping) runs unchanged on top of it; tests compare its
 * results against @hplb/spec's independent reference on the unpacked inputs, so a packing bug shows up as a mismatch.
 * It also records every request and open/close, and can be told to fail like the GPU would.
 */
import type {
  CudaAttentionRequest, CudaAttentionResult, CudaBinding, CudaBlockMassRequest, CudaBlockMassResult, CudaCallError, CudaContext, CudaDeviceInfo,
} from '../src/binding.ts';

export const cudaError = (operation: string, code: number, name: string, text: string): CudaCallError =>
  Object.assign(new Error(`${operation}: error ${code} ${name}: ${text}`), { cudaCode: code, cudaName: name, operation });

export interface FakeBindingOptions {
  /** Devices reported, or the error cudaGetDeviceCount fails with. Default 1. */
  readonly devices?: number | CudaCallError;
  readonly computeCapability?: string;
  /** Thrown by the next kernel call (then cleared). */
  failNext?: CudaCallError;
}

export interface FakeBinding extends CudaBinding {
  readonly requests: CudaAttentionRequest[];
  readonly massRequests: CudaBlockMassRequest[];
  readonly events: string[];
  readonly options: FakeBindingOptions;
}

const attendPacked = (r: CudaAttentionRequest): { out: Float32Array; lse: Float32Array } => {
  const { tokens: N, headDim: d, blockSize: B, blocks: Qb } = r;
  let total = 0;
  for (let h = 0; h < r.heads; h++) total += r.rowEnd[h]! - r.rowStart[h]!;
  const out = new Float32Array(total * d);
  const lse = new Float32Array(total);
  let o = 0;
  for (let h = 0; h < r.heads; h++) {
    const q = r.q[h]!, k = r.k[h]!, v = r.v[h]!;
    for (let i = r.rowStart[h]!; i < r.rowEnd[h]!; i++, o++) {
      const qb = Math.floor(i / B);
      const keys: number[] = [];
      for (let e = r.offsets[h * (Qb + 1) + qb]!; e < r.offsets[h * (Qb + 1) + qb + 1]!; e++) {
        const kb = r.indices[e]!;
        for (let j = kb * B; j < Math.min((kb + 1) * B, N); j++) if (!r.causal || j <= i) keys.push(j);
      }
      if (keys.length === 0) { lse[o] = -Infinity; continue; }
      const logits = keys.map((j) => { let s = 0; for (let t = 0; t < d; t++) s += q[i * d + t]! * k[j * d + t]!; return s * r.scale; });
      const m = Math.max(...logits);
      let sum = 0;
      const acc = new Float64Array(d);
      keys.forEach((j, x) => { const w = Math.exp(logits[x]! - m); sum += w; for (let t = 0; t < d; t++) acc[t]! += w * v[j * d + t]!; });
      for (let t = 0; t < d; t++) out[o * d + t] = acc[t]! / sum;
      lse[o] = m + Math.log(sum);
    }
  }
  return { out, lse };
};

const massDense = (r: CudaBlockMassRequest): Float32Array => {
  const { tokens: N, headDim: d, blockSize: B, blocks: Qb } = r;
  const mass = new Float64Array(Qb * Qb);
  for (let i = 0; i < N; i++) {
    const qb = Math.floor(i / B);
    const last = r.causal ? i : N - 1;
    const logits = new Float64Array(last + 1);
    let m = -Infinity;
    for (let j = 0; j <= last; j++) { let s = 0; for (let t = 0; t < d; t++) s += r.q[i * d + t]! * r.k[j * d + t]!; logits[j] = s * r.scale; m = Math.max(m, logits[j]!); }
    let sum = 0;
    for (let j = 0; j <= last; j++) sum += Math.exp(logits[j]! - m);
    const rows = Math.min(B, N - qb * B);
    for (let j = 0; j <= last; j++) mass[qb * Qb + Math.floor(j / B)]! += Math.exp(logits[j]! - m) / sum / rows;
  }
  return Float32Array.from(mass);
};

export const fakeBinding = (options: FakeBindingOptions = {}): FakeBinding => {
  const requests: CudaAttentionRequest[] = [];
  const massRequests: CudaBlockMassRequest[] = [];
  const events: string[] = [];
  const failure = (): void => {
    const f = options.failNext;
    if (f !== undefined) { options.failNext = undefined; throw f; }
  };
  return {
    requests, massRequests, events, options,
    build: { cudaRuntime: 13000, archs: 'sm_80,sm_90,compute_90', maxHeadDimMma: 128, maxHeadDimFp32: 256 },
    deviceCount: () => {
      const dv = options.devices ?? 1;
      if (typeof dv !== 'number') throw dv;
      return dv;
    },
    open: (device: number): CudaContext => {
      events.push(`open ${device}`);
      let open = true;
      const info: CudaDeviceInfo = {
        device, name: 'Fake H100', computeCapability: options.computeCapability ?? '9.0', multiProcessors: 132,
        totalMemoryBytes: 80 * 2 ** 30, freeMemoryBytes: 79 * 2 ** 30, sharedMemoryPerBlockOptin: 232448, driverVersion: 13000, runtimeVersion: 13000,
      };
      const guard = (): void => { if (!open) throw Object.assign(new Error('at $: expected an open CUDA context (this one was closed)'), { argument: '$' }); };
      return {
        info: () => { guard(); return info; },
        sparseAttention: (r: CudaAttentionRequest): CudaAttentionResult => {
          guard();
          requests.push(r);
          failure();
          const { out, lse } = attendPacked(r);
          return { out, lse, items: r.heads, kernelMs: 0.5, totalMs: 1.5 };
        },
        blockMass: (r: CudaBlockMassRequest): CudaBlockMassResult => {
          guard();
          massRequests.push(r);
          failure();
          return { mass: massDense(r), kernelMs: 0.25, totalMs: 0.75 };
        },
        close: () => { if (open) events.push(`close ${device}`); open = false; },
      };
    },
  };
};
