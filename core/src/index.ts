/**
 * @hplb/core: typed data (models, devices, budgets, profiles, plans), decoders, work and cost model, lower bounds,
 * the plan validator and the attention-kernel interface. Total: functions return `Either`, never throw.
 * Node-only edges (atomic writes, worker threads, reading the default profile) live under `@hplb/core/node`.
 */
export * from './brand.ts';
export * from './errors.ts';
export * from './model.ts';
export * from './modelConfig.ts';
export * from './publishedProfile.ts';
export * from './work.ts';
export * from './bounds.ts';
export * from './cost.ts';
export * from './serving.ts';
export * from './kv.ts';
export * from './profile.ts';
export * from './plan.ts';
export * from './loads.ts';
export * from './validate.ts';
export * from './kernel/types.ts';
export * from './budgetsAt.ts';
export * from './importers/index.ts';
export * from './budgets/index.ts';
export * from './recovery.ts';
export * from './simulate.ts';
export * from './engineLayout.ts';
export * from './jsonSchema.ts';
export * from './schemas.ts';
export * from './defaultProfile.ts';
export * from './builtinProfile.ts';
export * from './kernel/index.ts';
