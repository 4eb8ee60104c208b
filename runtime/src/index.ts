/**
 * @hplb/runtime (Node): runs plans on attention-kernel backends — the backend registry, the plan executor (a worker
 * per simulated GPU, a barrier per layer, predicted vs measured), kernel calibration (fits the cost model) and Q/K
 * dump reading for the profiler.
 */
export * from './backends.ts';
export * from './calibration.ts';
export * from './executor.ts';
export * from './dump.ts';
export * from './inputs.ts';
export * from './deviceRunner.ts';
export * from './profileDump.ts';
