/**
 * Engine-compatible placement (`hplb plan --engine-layout --kv-copies r|auto`): the engines' sharding rule, the
 * per-layer solver and the model-level planner with the K/V duplication factor as a decision.
 */
export * from './geometry.ts';
export * from './layer.ts';
export * from './model.ts';
