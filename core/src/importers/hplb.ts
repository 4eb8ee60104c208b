/**
 * hplb's own profile JSON (`hplb.profile/1`) as an importer: parse, decode by `format` and `kind`, then the checks the
 * codec cannot express (`checkProfile`: dimensions against the model and the registry, monotone curves, finite spans).
 * An explicit `model` option must agree with the model the file states. Used by `hplb inspect --format hplb`, the
 * planner, and anything reading profiles written by `hplb profile`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { hplbError, issue, parseJson, type HplbError } from '../errors.ts';
import { decodeProfile, type Profile } from '../profile.ts';
import type { ModelShape } from '../model.ts';
import { resolveModel, type ImportOptions } from './common.ts';
import { statedShape } from '../modelConfig.ts';

/** Decode parsed `hplb.profile/1` JSON (with `checkProfile`), checking it against an explicit model when one is given. */
export const hplbProfile = (u: unknown, opts: ImportOptions = {}): E.Either<HplbError, Profile> =>
  pipe(
    decodeProfile(u, opts.file),
    E.chain((p) => {
      if (opts.model === undefined && opts.modelConfig === undefined) return E.right(p);
      const inferred = statedShape(p.model);
      return E.chain((m: ModelShape) => {
        for (const k of ['layers', 'queryHeads', 'kvHeads', 'headDim'] as const)
          if (m[k] !== p.model[k]) return E.left(hplbError('decode', [issue(`$.model.${k}`, `${m[k]} (${k} of ${m.name}, the model option given)`, p.model[k])], opts.file));
        return E.right(p);
      })(resolveModel(opts, undefined, inferred));
    }),
  );

/** Parse and import `hplb.profile/1` text. */
export const importHplbProfile = (text: string, opts: ImportOptions = {}): E.Either<HplbError, Profile> =>
  E.chain((u: unknown) => hplbProfile(u, opts))(parseJson(text, opts.file));
