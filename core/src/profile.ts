/**
 * Sparsity profiles: what each head needs. Three kinds, matching what real sources publish:
 *   - `curve`:    per head, monotone points (budget tokens → fraction of attention mass kept) measured at a
 *                 reference context length (hplb's profiler, or the synthetic default profile);
 *   - `required`: per head, one budget (tokens per query) at a reference context length, with optional recall
 *                 (MInference's best pattern + score). The budget is a token count that does not grow with N; at
 *                 context N a head gets min(N, budget) (`budgetsAt`), so it may exceed the reference N.
 *                 Top-p variant (XAttention): `topP[l][h]` mass targets and `budgets: []` (no token counts known);
 *                 turning it into tokens needs recovery curves;
 *   - `elastic`:  per head, span(N) = alpha + beta·N tokens (MoA; DuoAttention's streaming/retrieval split maps to
 *                 alpha = sink+recent, beta = 0 vs alpha = 0, beta = 1).
 * Importers (`core/src/importers/`) produce these; `hplb.profile/1` is hplb's own JSON serialization of them.
 * Read one with `decodeProfile` (format, then kind, then codec, then `checkProfile` for what codecs cannot say);
 * turn one into token budgets at a context length with `budgetsAt` (core/src/budgetsAt.ts).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, PositiveInt, Fraction } from './brand.ts';
import { MODEL_REGISTRY, ModelShapeC, type ModelShape } from './model.ts';
import { decode, errorText, hplbError, issue, issueText, words, type HplbError } from './errors.ts';

export const PROFILE_FORMAT = 'hplb.profile/1' as const;

/** One head's recovery curve: tokens ascending, mass non-decreasing in [0,1]. */
export const HeadCurveC = t.type(
  { tokens: t.array(NonNegative, 'a list of token counts (finite numbers ≥ 0)'), mass: t.array(Fraction, 'a list of mass fractions in [0, 1]') },
  'a recovery curve {tokens, mass}',
);
export type HeadCurve = t.TypeOf<typeof HeadCurveC>;

/** The rounding a runtime applies to elastic spans (MoA: clamp to N, round up to 64, at least 128). */
export const SpanRuleC = t.type({ multiple: PositiveInt, minimum: NonNegative }, 'a span rule {multiple, minimum}');

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
  t.type({ ...common, kind: t.literal('curve'), contextLength: PositiveInt, curves: t.array(t.array(HeadCurveC, 'a list of per-head curves'), 'a [layer][head] table of {tokens, mass} curves') }),
  t.partial(commonOptional),
], 'CurveProfile');

export const RequiredProfileC = t.intersection([
  t.type({ ...common, kind: t.literal('required'), contextLength: PositiveInt, budgets: t.array(t.array(NonNegative, 'a list of per-head budgets (finite numbers ≥ 0)'), 'a [layer][head] table of budgets (tokens)') }),
  t.partial({
    ...commonOptional,
    /** recall[l][h]: share of dense attention mass kept at that budget (null where unknown). */
    recall: t.array(t.array(t.union([Fraction, t.null], 'a recall in [0, 1] or null'), 'a list of per-head recalls'), 'a [layer][head] table of recalls'),
    /** topP[l][h]: a per-head mass target (XAttention thresholds). A target, not a token count. */
    topP: t.array(t.array(Fraction, 'a list of per-head top-p targets in [0, 1]'), 'a [layer][head] table of top-p targets'),
  }),
], 'RequiredProfile');

export const ElasticProfileC = t.intersection([
  t.type({ ...common, kind: t.literal('elastic'), alpha: t.array(t.array(t.number, 'a list of per-head alphas'), 'a [layer][head] table of alphas'), beta: t.array(t.array(t.number, 'a list of per-head betas'), 'a [layer][head] table of betas') }),
  t.partial({ ...commonOptional, spanRule: SpanRuleC, gate: t.array(t.array(t.number, 'a list of per-head gates'), 'a [layer][head] table of gates') }),
], 'ElasticProfile');

export const ProfileC = t.union([CurveProfileC, RequiredProfileC, ElasticProfileC], 'Profile');

export type CurveProfile = t.TypeOf<typeof CurveProfileC>;
export type RequiredProfile = t.TypeOf<typeof RequiredProfileC>;
export type ElasticProfile = t.TypeOf<typeof ElasticProfileC>;
export type Profile = t.TypeOf<typeof ProfileC>;
export type ProfileKind = Profile['kind'];

// ---------------------------------------------------------------- decoding and checks

/**
 * Decode `hplb.profile/1` JSON: `format` first (so an unknown format is named as such), then `kind`, then that kind's
 * codec, then `checkProfile`. One path-precise issue on failure. Total: a value whose reads throw is a Left at `$`.
 */
export const decodeProfile = (u: unknown, file?: string): E.Either<HplbError, Profile> => {
  try {
    return decodeProfileUnsafe(u, file);
  } catch (e) {
    return E.left(hplbError('decode', [issueText('$', `an ${PROFILE_FORMAT} object of plain JSON data`, `a value that cannot be read (${errorText(e)})`)], file));
  }
};

const decodeProfileUnsafe = (u: unknown, file?: string): E.Either<HplbError, Profile> => {
  const err = (code: 'decode' | 'format', path: string, expected: string, actual?: unknown) => E.left(hplbError(code, [issue(path, expected, actual)], file));
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return err('decode', '$', `an ${PROFILE_FORMAT} object`, u);
  const o = u as Record<string, unknown>;
  if (o['format'] !== PROFILE_FORMAT) return err('format', '$.format', `"${PROFILE_FORMAT}"`, o['format'] === undefined ? words('nothing') : o['format']);
  const codec = o['kind'] === 'curve' ? CurveProfileC : o['kind'] === 'required' ? RequiredProfileC : o['kind'] === 'elastic' ? ElasticProfileC : undefined;
  if (codec === undefined) return err('decode', '$.kind', '"curve", "required" or "elastic"', o['kind'] === undefined ? words('nothing') : o['kind']);
  return E.chain((p: Profile) => checkProfile(p, file))(decode(codec as t.Type<Profile, unknown, unknown>, u, file, 1));
};

const sameShape = (a: ModelShape, b: ModelShape) => a.layers === b.layers && a.queryHeads === b.queryHeads && a.kvHeads === b.kvHeads && a.headDim === b.headDim;

/**
 * What the codecs cannot express: the model's GQA divisibility and, for a registered model name, its registered
 * shape; every table is [layers][queryHeads]; curves have matching lengths, tokens strictly ascending and ≤ the
 * reference N, mass non-decreasing; elastic spans finite with beta ≥ 0; top-p profiles carry `topP` (and then may
 * leave `budgets` empty: no token counts are known). Returns the first problem with its JSON path.
 */
export const checkProfile = (p: Profile, file?: string): E.Either<HplbError, Profile> => {
  const err = (path: string, expected: string, actual?: unknown) => E.left(hplbError('decode', [issue(path, expected, actual)], file));
  const m = p.model;
  if (m.queryHeads % m.kvHeads !== 0) return err('$.model.kvHeads', `a divisor of queryHeads (${m.queryHeads})`, m.kvHeads);
  const reg = MODEL_REGISTRY.find((r) => r.name === m.name || r.aliases.includes(m.name));
  if (reg && !sameShape(reg, m)) {
    for (const k of ['layers', 'queryHeads', 'kvHeads', 'headDim'] as const)
      if (reg[k] !== m[k]) return err(`$.model.${k}`, `${reg[k]} (${k} of ${reg.name} in the model registry)`, m[k]);
  }
  const table = (path: string, rows: ReadonlyArray<ReadonlyArray<unknown>>, what: string): E.Either<HplbError, void> => {
    if (rows.length !== m.layers) return err(path, `${m.layers} layers for ${m.name}`, words(`${rows.length} layers`));
    for (let l = 0; l < rows.length; l++) if (rows[l]!.length !== m.queryHeads) return err(`${path}[${l}]`, `${m.queryHeads} ${what} for ${m.name}`, words(`${rows[l]!.length} entries`));
    return E.right(undefined);
  };
  const ok = E.right(p);
  switch (p.kind) {
    case 'curve': {
      const t1 = table('$.curves', p.curves, 'query heads (one curve each)');
      if (E.isLeft(t1)) return t1;
      for (let l = 0; l < p.curves.length; l++)
        for (let h = 0; h < p.curves[l]!.length; h++) {
          const c = p.curves[l]![h]!;
          const at = `$.curves[${l}][${h}]`;
          if (c.tokens.length === 0) return err(`${at}.tokens`, 'at least one (tokens, mass) point', words('none'));
          if (c.mass.length !== c.tokens.length) return err(`${at}.mass`, `${c.tokens.length} points (as many as tokens)`, words(`${c.mass.length} points`));
          for (let i = 0; i < c.tokens.length; i++) {
            if (c.tokens[i]! > p.contextLength) return err(`${at}.tokens[${i}]`, `at most the context length ${p.contextLength}`, c.tokens[i]);
            if (i > 0 && !(c.tokens[i]! > c.tokens[i - 1]!)) return err(`${at}.tokens[${i}]`, `more than the previous point's ${c.tokens[i - 1]} (tokens strictly ascending)`, c.tokens[i]);
            if (i > 0 && !(c.mass[i]! >= c.mass[i - 1]!)) return err(`${at}.mass[${i}]`, `at least the previous point's ${c.mass[i - 1]} (mass non-decreasing)`, c.mass[i]);
          }
        }
      return ok;
    }
    case 'required': {
      if (p.topP !== undefined) {
        const t1 = table('$.topP', p.topP, 'query heads (one top-p target each)');
        if (E.isLeft(t1)) return t1;
      }
      if (p.topP === undefined || p.budgets.length > 0) {
        const t2 = table('$.budgets', p.budgets, 'query heads (one budget each)');
        if (E.isLeft(t2)) return t2;
      }
      if (p.recall !== undefined) {
        const t3 = table('$.recall', p.recall, 'query heads (one recall or null each)');
        if (E.isLeft(t3)) return t3;
      }
      return ok;
    }
    case 'elastic': {
      for (const [path, rows] of [['$.alpha', p.alpha], ['$.beta', p.beta]] as const) {
        const t1 = table(path, rows, 'query heads');
        if (E.isLeft(t1)) return t1;
        for (let l = 0; l < rows.length; l++)
          for (let h = 0; h < rows[l]!.length; h++) {
            const v = rows[l]![h]!;
            if (!Number.isFinite(v) || (path === '$.beta' && v < 0)) return err(`${path}[${l}][${h}]`, path === '$.beta' ? 'a finite number ≥ 0 (span grows with N)' : 'a finite number', v);
          }
      }
      if (p.gate !== undefined) {
        const t1 = table('$.gate', p.gate, 'query heads');
        if (E.isLeft(t1)) return t1;
        for (let l = 0; l < p.gate.length; l++)
          for (let h = 0; h < p.gate[l]!.length; h++) if (!(p.gate[l]![h]! >= 0 && p.gate[l]![h]! <= 1)) return err(`$.gate[${l}][${h}]`, 'a gate in [0, 1]', p.gate[l]![h]);
      }
      return ok;
    }
  }
};
