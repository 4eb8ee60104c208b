/**
 * The CUDA backend against the shared attention conformance suite, once per precision. requireInit is false:
 * on a machine without a GPU (CI) each run reports itself skipped with init()'s reason, e.g. "no CUDA device
 * (error 35 cudaErrorInsufficientDriver: …)" or "the CUDA addon is not built"; on a GPU the cases run for real
 * (backends/cuda/scripts/device-check.sh runs this file there).
 */
import { attentionConformance } from '@hplb/spec/conformance.ts';
import { createBackend } from '../src/index.ts';

for (const precision of ['fp32', 'bf16', 'fp16'] as const)
  attentionConformance({ name: 'cuda', create: () => createBackend(), precision, requireInit: false });
