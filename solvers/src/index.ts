/**
 * @hplb/solvers: head-placement solvers (heuristics, local search, exact anytime search, ILP engines, split heads),
 * the `auto` portfolio and the multi-layer driver that turns budgets into a validated `hplb.plan/1`. Platform-neutral
 * (no Node built-ins): worker threads and the ILP engines come with `@hplb/solvers/node`.
 * Used by the CLI (`hplb plan`, `hplb solve`), the budgets planner and the benchmarks.
 */
export * from './types.ts';
export * from './problem.ts';
export * from './bounds.ts';
export * from './heuristics.ts';
export * from './local.ts';
export * from './exact.ts';
export * from './registry.ts';
export * from './deadline.ts';
export * from './layerProblem.ts';
export * from './assemble.ts';
export * from './driver.ts';
export * from './branch.ts';
export * from './split/index.ts';
export * from './engine/index.ts';
