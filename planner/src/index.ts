/**
 * @hplb/planner: the planning pipeline (budgets → placement → split heads → bubble-fill → simulation), the reference
 * pipelines of the comparison table, Pareto sweeps and their skyline, and the SVG charts (timeline, Pareto).
 * Platform-neutral: it runs in Node and in browsers; solving in worker threads comes with a `SolverRuntime`.
 */
export * from './pipelines.ts';
export * from './svg/timeline.ts';
export * from './svg/pareto.ts';
export * from './svg/xml.ts';
export * from './svg/wellFormed.ts';
