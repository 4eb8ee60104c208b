/**
 * @hplb/runtime (Node): runs plans on attention-kernel backends: the backend registry (`createBackend`, also on the
 * platform-neutral subpath `@hplb/runtime/backends`), the timing protocol every measurement follows (`timing.ts`,
 * also `@hplb/runtime/timing`), kernel calibration (`calibrate`: fits the cost model, `hplb.calibration/1`), the
 * plan executor (`executePlan`: a worker per simulated GPU, a barrier per layer, predicted vs measured; with `phases`,
 * the serving step's work, `serving.ts`) and Q/K dump reading for the profiler.
 */
export * from './backends.ts';
export * from './timing.ts';
export * from './clock.ts';
export * from './calibration.ts';
export * from './executor.ts';
export * from './dump.ts';
export * from './inputs.ts';
export * from './deviceRunner.ts';
export * from './profileDump.ts';
export * from './serving.ts';
export * from './heap.ts';
