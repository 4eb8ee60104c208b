/**
 * @hplb/backend-gpujs: block-sparse attention and block masses as gpu.js kernels, in GPU mode (WebGL 1 through
 * headless-gl, under an X display such as Xvfb) or CPU mode (gpu.js's JavaScript kernels). The mode actually used
 * is reported by `init()` (`BackendInfo.mode`, `details.kernel`); GPU mode never falls back silently.
 *
 * Convention shared by every backend package: `createBackend(options?)` returns an `AttentionBackend`; importing
 * this module loads neither gpu.js nor headless-gl. Options: `mode` ('gpu' | 'cpu', default 'gpu'); unknown keys are refused.
 * GPU mode declares `capabilities.workerThreads: false` (headless-gl loads in one thread per process).
 */
import type { AttentionBackend } from '@hplb/core/kernel';
import { GpuJsBackend, parseGpuJsOptions } from './backend.ts';

export { CHUNK_VALUES, GPUJS_CAPABILITIES, GpuJsBackend, gpujsCapabilities, parseGpuJsOptions, type GpuJsBackendOptions, type GpuJsMode } from './backend.ts';
export { probeHeadlessGl, type HeadlessGl } from './environment.ts';

export const createBackend = (options?: Record<string, unknown>): AttentionBackend & GpuJsBackend => new GpuJsBackend(parseGpuJsOptions(options));
