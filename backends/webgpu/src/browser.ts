/**
 * @hplb/backend-webgpu for browsers: the same WGSL backend (`backend.ts`) on `navigator.gpu`. What bundlers resolve
 * for a browser target (the package's `browser` export condition), and the `@hplb/backend-webgpu/browser` subpath.
 * No Node built-ins, no Dawn. A second argument to `createBackend` injects another `GPU` object or provider (e.g.
 * a worker's `navigator.gpu`).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AttentionBackend } from '@hplb/core/kernel';
import { parseWebGpuOptions, WebGpuBackend } from './backend.ts';
import { backendIssue, injectedGpu, type GpuProvider } from './device.ts';

export { WEBGPU_CAPABILITIES, WebGpuBackend, parseWebGpuOptions, type WebGpuBackendOptions } from './backend.ts';
export { injectedGpu, type GpuProvider } from './device.ts';
export { attentionShader, blockMassShader, chooseTile, type Tile } from './shaders.ts';

const NO_ADAPTER = 'the browser exposes WebGPU but offers no adapter: WebGPU may be disabled or blocklisted for this GPU or driver '
  + '(Chrome: chrome://gpu says why; headless Chromium needs --enable-unsafe-webgpu and no --disable-gpu)';

/** `navigator.gpu` (of the window or the worker) as a provider; Left when this browser has no WebGPU. */
export const navigatorGpuProvider: GpuProvider = {
  gpu: async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (gpu !== undefined) return E.right(gpu);
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    return E.left(backendIssue('navigator.gpu (a browser with WebGPU)',
      `navigator.gpu is missing${secure === false ? ' (WebGPU needs a secure context: https or localhost)' : ''}: this browser has no WebGPU or has it turned off`));
  },
  diagnoseNoAdapter: () => NO_ADAPTER,
  label: 'navigator.gpu',
};

/** A provider from what the caller passed: a provider as is, a `GPU` object wrapped. */
export const gpuProvider = (gpu: GPU | GpuProvider): GpuProvider => ('label' in gpu && typeof (gpu as GpuProvider).diagnoseNoAdapter === 'function' ? (gpu as GpuProvider) : injectedGpu(gpu as GPU, 'an injected GPU object', NO_ADAPTER));

/** The WebGPU backend on `navigator.gpu`, or on the injected `gpu`. */
export const createBackend = (options?: Record<string, unknown>, gpu?: GPU | GpuProvider): AttentionBackend & WebGpuBackend =>
  new WebGpuBackend(parseWebGpuOptions(options), gpu === undefined ? navigatorGpuProvider : gpuProvider(gpu));
