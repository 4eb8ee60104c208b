/**
 * @hplb/planner: the planning pipeline (budgets → placement → split heads → bubble-fill → simulation), the reference
 * pipelines of the comparison table, Pareto sweeps and their skyline, profile statistics, raw instances, and the SVG
 * charts (timeline, Pareto). Platform-neutral: it runs in Node and in browsers; solving in worker threads comes with a
 * `SolverRuntime`. The library API is `api.ts` (planProfile, comparePipelines, paretoSweep) over `options.ts`
 * (options and their codecs), `settings.ts` (options → the one settings record) and `profiles.ts`.
 */
export * from './pipelines.ts';
export * from './options.ts';
export * from './profiles.ts';
export * from './settings.ts';
export * from './api.ts';
export * from './inspect.ts';
export * from './instance.ts';
export * from './svg/timeline.ts';
export * from './svg/timelinePanels.ts';
export * from './svg/pareto.ts';
export * from './svg/frontier.ts';
export * from './svg/xml.ts';
export * from './svg/wellFormed.ts';
export * from './report.ts';
