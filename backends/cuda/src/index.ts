/**
 * @hplb/backend-cuda: block-sparse attention on NVIDIA GPUs through a Node-API addon (src/addon.cc, src/kernels.cu).
 * `createBackend(options?)` is the convention every backend package follows (the CLI registry imports it lazily);
 * importing this module never loads native code: the addon is loaded by `init()`, which says why when it cannot run
 * (addon not built, no driver / no device with its CUDA error code, GPU too old).
 *
 * Options: `device` (CUDA device index, default 0), `addonPath` (a built hplb_cuda.node), `kernel` (`pipelined`, the
 * default, or `simple`; also $HPLB_CUDA_KERNEL), `binding` (an injected `CudaBinding`, for tests).
 */
import type { AttentionBackend } from '@hplb/core/kernel';
import { createCudaBackend, type CudaBackend } from './backend.ts';

export { CUDA_CAPABILITIES, MIN_COMPUTE_CAPABILITY, createCudaBackend, describeCudaError, fromNative, packHeads, splitOutputs } from './backend.ts';
export type { CudaBackend, CudaBackendOptions } from './backend.ts';
export { CUDA_KERNEL_VARIANTS, NOT_BUILT, addonCandidates, loadCudaBinding, packageRoot } from './binding.ts';
export type * from './binding.ts';

export const createBackend = (options?: Record<string, unknown>): AttentionBackend & CudaBackend => createCudaBackend(options);
