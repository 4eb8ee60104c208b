/**
 * MoA elastic spans (thu-nics/MoA `moa_alpha_beta.json`, `streamingllm_alpha_beta.json`) → an `elastic` profile.
 *
 * Input: `{"alphas": [L][H], "betas": [L][H]}` per query head; the span of head h at context N is alpha_h + beta_h·N.
 * The MoA runtime clamps the span to at most N, rounds it up to a multiple of 64 and keeps at least 128: stored as
 * `spanRule {multiple: 64, minimum: 128}` and applied by `budgetsAt` (which finally caps at N).
 * Alphas may be negative (the published files use −1024); betas are elasticities d span / d N, so ≥ 0.
 * Used by `hplb inspect --format moa` and planners reading MoA data.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { Finite, NonNegative } from '../brand.ts';
import { decode, parseJson, type HplbError } from '../errors.ts';
import { PROFILE_FORMAT, type ElasticProfile } from '../profile.ts';
import { checkTable, resolveModel, withFileOf, type ImportOptions } from './common.ts';

// ---------------------------------------------------------------- model

/** MoA's runtime span rule. */
export const MOA_SPAN_RULE = { multiple: 64, minimum: 128 } as const;

export const MoaFileC = t.type(
  {
    alphas: t.array(t.array(Finite, 'a list of per-head alphas (finite numbers)'), 'a [layer][head] table of alphas'),
    betas: t.array(t.array(NonNegative, 'a list of per-head betas (finite numbers ≥ 0)'), 'a [layer][head] table of betas'),
  },
  'an object {"alphas": [layer][head], "betas": [layer][head]}',
);

// ---------------------------------------------------------------- operations

/** Decode parsed MoA JSON into an `elastic` profile with MoA's span rule. */
export const moaProfile = (u: unknown, opts: ImportOptions = {}): E.Either<HplbError, ElasticProfile> => {
  const file = opts.file;
  return withFileOf(
    file,
    pipe(
      decode(MoaFileC, u, file, 1),
      E.bindTo('data'),
      E.bind('model', ({ data }) =>
        resolveModel(opts, undefined, {
          layers: { value: data.alphas.length, path: '$.alphas' },
          ...(data.alphas.length > 0 ? { queryHeads: { value: data.alphas[0]!.length, path: '$.alphas[0]' } } : {}),
        }),
      ),
      E.chainFirst(({ data, model }) => checkTable('$.alphas', data.alphas, model, model.queryHeads, 'query heads', file)),
      E.chainFirst(({ data, model }) => checkTable('$.betas', data.betas, model, model.queryHeads, 'query heads (the shape of alphas)', file)),
      E.map(({ data, model }) => {
        const profile = {
          format: PROFILE_FORMAT,
          kind: 'elastic' as const,
          model,
          alpha: data.alphas,
          beta: data.betas,
          spanRule: { ...MOA_SPAN_RULE },
          source: {
            format: 'moa',
            ...(file !== undefined ? { file } : {}),
            upstream: 'thu-nics/MoA alpha/beta profiles',
            spanRule: 'span(N) = alpha + beta·N, clamped to N, rounded up to a multiple of 64, at least 128',
          },
        };
        return profile as unknown as ElasticProfile;
      }),
    ),
  );
};

/** Parse and import MoA alpha/beta JSON text. */
export const importMoa = (text: string, opts: ImportOptions = {}): E.Either<HplbError, ElasticProfile> =>
  E.chain((u: unknown) => moaProfile(u, opts))(parseJson(text, opts.file));
