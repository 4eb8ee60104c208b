/**
 * The built-in default profile as data: the SYNTHETIC Llama-3.1-8B-shaped curve profile of `defaultProfile.ts`,
 * embedded as a JSON module (`core/src/data/default-profile.json`), so it loads on every platform (no file system).
 * `@hplb/core/node`'s `loadDefaultProfile` reads the same file from disk and decodes it the same way.
 */
import * as E from 'fp-ts/lib/Either.js';
import data from './data/default-profile.json' with { type: 'json' };
import { decode, formatError } from './errors.ts';
import { CurveProfileC, type CurveProfile } from './profile.ts';

/** Where plans say the built-in default came from (written into `plan.source.profile`). */
export const BUILTIN_PROFILE_SOURCE = 'built-in default (core/data/default-profile.json)';

let cached: CurveProfile | undefined;

/**
 * The built-in default profile, decoded once (the same object on every call; treat it as read-only). The embedded
 * data is checked by the tests, so decoding cannot fail at run time; if it ever did, that is a broken build and the
 * function throws with the decoder's message.
 */
export const builtinProfile = (): CurveProfile => {
  if (cached === undefined) {
    const r = decode(CurveProfileC, data as unknown, 'core/src/data/default-profile.json');
    if (E.isLeft(r)) throw new Error(`hplb: the embedded default profile does not decode: ${formatError(r.left)}`);
    cached = r.right;
  }
  return cached;
};
