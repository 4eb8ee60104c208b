/**
 * @hplb/engines: turning an hplb plan into what serving engines (vLLM, SGLang, TensorRT-LLM) run — the engine layout
 * (`hplb.engine-layout/1`), the architectures a checkpoint rewrite supports, row/column block permutations and the
 * re-indexed MInference config. Platform-neutral; checkpoint files are read and written under `@hplb/engines/node`.
 */
export * from './arch.ts';
export * from './layout.ts';
export * from './transform.ts';
export * from './plan.ts';
export * from './export.ts';
