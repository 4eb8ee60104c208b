/**
 * @hplb/backend-webgpu: block-sparse attention and block masses as WGSL compute kernels on WebGPU, through Dawn
 * (the npm `webgpu` package) in Node: Vulkan on Linux (Mesa's lavapipe on machines without a GPU), Metal on macOS,
 * D3D12 on Windows. f32 throughout; tiled with online softmax in workgroup memory; many heads per dispatch.
 * Bundlers targeting browsers get `browser.ts` instead (the package's `browser` export condition, also the
 * `@hplb/backend-webgpu/browser` subpath): the same backend on `navigator.gpu`.
 *
 * Convention shared by every backend package: `createBackend(options?)` returns an `AttentionBackend`; importing
 * this module loads no native code, and `init()` says what is missing (and how to install it) when no adapter is
 * found. Options: `powerPreference` ('high-performance' | 'low-power'), `idleReleaseMs` (see `backend.ts`). A second
 * argument injects the `GPU` object (or a `GpuProvider`) instead of Dawn's.
 */
import type { AttentionBackend } from '@hplb/core/kernel';
import { parseWebGpuOptions, WebGpuBackend } from './backend.ts';
import { dawnProvider } from './dawn.ts';
import { injectedGpu, type GpuProvider } from './device.ts';

export { WEBGPU_CAPABILITIES, WebGpuBackend, parseWebGpuOptions, type WebGpuBackendOptions } from './backend.ts';
export { dawn, diagnoseNoAdapter, dawnProvider } from './dawn.ts';
export { injectedGpu, type GpuProvider } from './device.ts';
export { attentionShader, blockMassShader, chooseTile, type Tile } from './shaders.ts';

/** A provider from what the caller passed: a provider as is, a `GPU` object wrapped. */
export const gpuProvider = (gpu: GPU | GpuProvider): GpuProvider => ('label' in gpu && typeof (gpu as GpuProvider).diagnoseNoAdapter === 'function' ? (gpu as GpuProvider) : injectedGpu(gpu as GPU));

/** The WebGPU backend on Dawn, or on the injected `gpu` (a `GPU` object or a `GpuProvider`). */
export const createBackend = (options?: Record<string, unknown>, gpu?: GPU | GpuProvider): AttentionBackend & WebGpuBackend =>
  new WebGpuBackend(parseWebGpuOptions(options), gpu === undefined ? dawnProvider : gpuProvider(gpu));
