/**
 * The CUDA backend against the shared attention conformance suite, once per precision (and once more per 16-bit
 * precision with the simple tensor-core kernel). requireInit is false in CI:
 * on a machine without a GPU each run reports itself skipped with init()'s reason, e.g. "no CUDA device (error 35
 * cudaErrorInsufficientDriver: …)" or "the CUDA addon is not built". scripts/device-check.sh runs this file on the
 * GPU with HPLB_CUDA_REQUIRE_INIT=1, so there a backend that cannot start fails instead of skipping.
 */
import { attentionConformance } from '@hplb/spec';
import { createBackend } from '../src/index.ts';

const requireInit = process.env['HPLB_CUDA_REQUIRE_INIT'] === '1';
for (const precision of ['fp32', 'bf16', 'fp16'] as const)
  attentionConformance({ name: 'cuda', create: () => createBackend(), precision, requireInit });
// The simple tensor-core kernel (the fallback when the pipelined one cannot run) at the tensor-core precisions.
for (const precision of ['bf16', 'fp16'] as const)
  attentionConformance({ name: 'cuda (simple kernel)', create: () => createBackend({ kernel: 'simple' }), precision, requireInit });
