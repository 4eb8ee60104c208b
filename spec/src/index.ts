/**
 * @hplb/spec: what every hplb package is checked against: fast-check arbitraries derived from the core codecs (and
 * valid profiles / plans built on them), the bad-input corpus (spec/bad-inputs) and the attention conformance suite.
 * Other modules may append their exports below.
 */
export * from './arbitraries.ts';
export * from './laws.ts';
export { attentionConformance, compareArrays, referenceAttention, referenceBlockMass, roundToPrecision, TOLERANCES, type ConformanceOptions } from './conformance.ts';
export { handPlan, type HandPlanSpec } from './fixtures.ts';
export { pictureStats, type PictureStats } from './png.ts';
