/**
 * Reading the committed default profile from disk (Node only): `core/src/data/default-profile.json` (emitted next to
 * the compiled code as `dist/data/default-profile.json`). The platform-neutral `defaultProfile()` of `@hplb/core` holds
 * the same data as a JSON module.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { decode, hplbError, issue, parseJson, type HplbError } from '../errors.ts';
import { CurveProfileC, type CurveProfile } from '../profile.ts';


export const DEFAULT_PROFILE_URL = new URL('../data/default-profile.json', import.meta.url);

/** Read and decode the committed default profile. */
export const loadDefaultProfile = (): E.Either<HplbError, CurveProfile> => {
  const file = DEFAULT_PROFILE_URL.pathname;
  let text: string;
  try {
    text = readFileSync(DEFAULT_PROFILE_URL, 'utf8');
  } catch (e) {
    return E.left(hplbError('io', [issue('$', 'the default profile (run: npx tsx scripts/generate-default-profile.ts)', e instanceof Error ? e.message : String(e))], file));
  }
  return E.chain((u: unknown) => decode(CurveProfileC, u, file))(parseJson(text, file));
};
