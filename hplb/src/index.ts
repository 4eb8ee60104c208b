/**
 * hplb: plan how sparse LLM attention is served across GPUs. The public API (platform-neutral).
 */
export * from '@hplb/core';
