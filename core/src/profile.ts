/**
 * Sparsity profiles: what each head needs. Three kinds, matching what real sources publish:
 *   - `curve`:    per head, monotone points (budget tokens → fraction of attention mass kept) measured at a
 *                 reference context length (hplb's profiler, or the synthetic default profile);
 *   - `required`: per head, one budget (tokens per query) at a reference context length, with optional recall
 *                 (MInference's best pattern + score; XAttention's top-p targets keep `topP` instead);
 *   - `elastic`:  per head, span(N) = alpha + beta·N tokens (MoA; DuoAttention's streaming/retrieval split maps to
 *                 alpha = sink+recent, beta = 0 vs alpha = 0, beta = 1).
 * Importers (`core/src/importers/`) produce these; `hplb.profile/1` is hplb's own JSON serialization of them.
 */
import * as t from 'io-ts';
import { NonNegative, PositiveInt, Fraction } from './brand.ts';
import { ModelShapeC } from './model.ts';

export const PROFILE_FORMAT = 'hplb.profile/1' as const;

/** One head's recovery curve: tokens ascending, mass non-decreasing in [0,1]. */
export const HeadCurveC = t.type({ tokens: t.array(NonNegative), mass: t.array(Fraction) }, 'HeadCurve');
export type HeadCurve = t.TypeOf<typeof HeadCurveC>;

/** The rounding a runtime applies to elastic spans (MoA: clamp to N, round up to 64, at least 128). */
export const SpanRuleC = t.type({ multiple: PositiveInt, minimum: NonNegative }, 'SpanRule');

const common = {
  format: t.literal(PROFILE_FORMAT),
  model: ModelShapeC,
};
const commonOptional = {
  /** Free-form provenance: source file, upstream repository and commit, parameters used. */
  source: t.UnknownRecord,
  /** True for generated (not measured on a real model) data. Shown everywhere the profile is used. */
  synthetic: t.boolean,
};

export const CurveProfileC = t.intersection([
  t.type({ ...common, kind: t.literal('curve'), contextLength: PositiveInt, curves: t.array(t.array(HeadCurveC)) }),
  t.partial(commonOptional),
], 'CurveProfile');

export const RequiredProfileC = t.intersection([
  t.type({ ...common, kind: t.literal('required'), contextLength: PositiveInt, budgets: t.array(t.array(NonNegative)) }),
  t.partial({
    ...commonOptional,
    /** recall[l][h]: share of dense attention mass kept at that budget (null where unknown). */
    recall: t.array(t.array(t.union([Fraction, t.null]))),
    /** topP[l][h]: a per-head mass target (XAttention thresholds). A target, not a token count. */
    topP: t.array(t.array(Fraction)),
  }),
], 'RequiredProfile');

export const ElasticProfileC = t.intersection([
  t.type({ ...common, kind: t.literal('elastic'), alpha: t.array(t.array(t.number)), beta: t.array(t.array(t.number)) }),
  t.partial({ ...commonOptional, spanRule: SpanRuleC, gate: t.array(t.array(t.number)) }),
], 'ElasticProfile');

export const ProfileC = t.union([CurveProfileC, RequiredProfileC, ElasticProfileC], 'Profile');

export type CurveProfile = t.TypeOf<typeof CurveProfileC>;
export type RequiredProfile = t.TypeOf<typeof RequiredProfileC>;
export type ElasticProfile = t.TypeOf<typeof ElasticProfileC>;
export type Profile = t.TypeOf<typeof ProfileC>;
export type ProfileKind = Profile['kind'];
