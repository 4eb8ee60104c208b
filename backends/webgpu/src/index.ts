/**
 * @hplb/backend-webgpu: block-sparse attention and block masses as WGSL compute kernels on WebGPU, through Dawn
 * (the npm `webgpu` package): Vulkan on Linux (Mesa's lavapipe on machines without a GPU), Metal on macOS, D3D12
 * on Windows. f32 throughout; tiled with online softmax in workgroup memory; many heads per dispatch.
 *
 * Convention shared by every backend package: `createBackend(options?)` returns an `AttentionBackend`; importing
 * this module loads no native code, and `init()` says what is missing (and how to install it) when no adapter is
 * found. Options: `powerPreference` ('high-performance' | 'low-power'), `idleReleaseMs` (see `backend.ts`).
 */
import type { AttentionBackend } from '@hplb/core/kernel';
import { parseWebGpuOptions, WebGpuBackend } from './backend.ts';

export { WEBGPU_CAPABILITIES, WebGpuBackend, parseWebGpuOptions, type WebGpuBackendOptions } from './backend.ts';
export { diagnoseNoAdapter } from './device.ts';
export { attentionShader, blockMassShader, chooseTile, type Tile } from './shaders.ts';

export const createBackend = (options?: Record<string, unknown>): AttentionBackend & WebGpuBackend => new WebGpuBackend(parseWebGpuOptions(options));
