/**
 * The attention-kernel layer of @hplb/core: the interface (`types.ts`), parameter and input checks, block layouts
 * and their builders, backend resolution, the synthetic head generator and the profiler. Import as
 * `@hplb/core/kernel` (also re-exported from `@hplb/core`). No backend code lives here.
 */
export * from './types.ts';
export * from './params.ts';
export * from './layout.ts';
export * from './resolve.ts';
export * from './synthetic.ts';
export * from './profiler.ts';
