/**
 * Budget policies: per-head token budgets (block-rounded, in [block, N]) and the recovery they reach.
 * `uniform` and `top-p` are the baselines, `max-min` is the S-HPLB paper's, `bubble-fill` and `joint` are hplb's.
 */
export * from './types.ts';
export * from './uniform.ts';
export * from './topP.ts';
export * from './maxMin.ts';
export * from './bubbleFill.ts';
export * from './joint.ts';
