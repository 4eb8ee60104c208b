/**
 * Importers: every published per-head sparsity format, decoded with io-ts into one of hplb's three profile kinds, with
 * path-precise errors (`Either<HplbError, Profile>`). Each takes the file's text (the CLI edge reads files) and options
 * (`file` for messages and the model name, `model`, `contextLength`, format-specific flags).
 *
 *   minference → required (budgets, recall)     duo → elastic (384 vs N, gates)
 *   moa        → elastic (alpha, beta, spanRule) xattention → required, top-p variant (thresholds, no tokens)
 *   hplb       → any kind (`hplb.profile/1`)
 *
 * `importProfile(format, text, options)` dispatches by format name; used by `hplb inspect` and the planner.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '../errors.ts';
import type { Profile } from '../profile.ts';
import { importDuo, type DuoOptions } from './duo.ts';
import { importHplbProfile } from './hplb.ts';
import { importMinference, type MinferenceOptions } from './minference.ts';
import { importMoa } from './moa.ts';
import { importXattention, type XattentionOptions } from './xattention.ts';

export { DEFAULT_CONTEXT_LENGTH, resolveModel, type ImportOptions } from './common.ts';
export * from './minference.ts';
export * from './duo.ts';
export * from './moa.ts';
export * from './xattention.ts';
export * from './hplb.ts';

export const PROFILE_FORMATS = ['minference', 'duo', 'moa', 'xattention', 'hplb'] as const;
export type ProfileFormat = (typeof PROFILE_FORMATS)[number];

export type ImportProfileOptions = MinferenceOptions & DuoOptions & XattentionOptions;

/**
 * Whether a format's method sparsifies decode too (the serving model then reads each head's budget per output token)
 * or only prefill (decode reads the whole context): DuoAttention's streaming heads keep sink + recent tokens in decode
 * as in prefill, and MoA's spans are per-head attention spans in both phases; MInference and XAttention sparsify the
 * prefill only (their papers' decode is dense). hplb profiles state no method: dense decode, the safe assumption.
 */
export const DECODE_SPARSE_FORMATS: ReadonlyArray<ProfileFormat> = ['duo', 'moa'];
export const decodeIsSparse = (format: string | undefined): boolean => (DECODE_SPARSE_FORMATS as ReadonlyArray<string>).includes(format ?? '');

export const isProfileFormat = (s: string): s is ProfileFormat => (PROFILE_FORMATS as ReadonlyArray<string>).includes(s);

/** Import `text` in the named format. An unknown format name is a `format` error naming the file. */
export const importProfile = (format: string, text: string, opts: ImportProfileOptions = {}): E.Either<HplbError, Profile> => {
  switch (format) {
    case 'minference':
      return importMinference(text, opts);
    case 'duo':
      return importDuo(text, opts);
    case 'moa':
      return importMoa(text, opts);
    case 'xattention':
      return importXattention(text, opts);
    case 'hplb':
      return importHplbProfile(text, opts);
    default:
      return E.left(hplbError('format', [issue('$.format', `one of ${PROFILE_FORMATS.join('|')}`, format)], opts.file));
  }
};

/**
 * Guess the format of a file from its name and content, or undefined: `.tsv` → duo; JSON with `format` → hplb;
 * `alphas`/`betas` → moa; a list of objects → minference; an object with a `max` table or `_meta` → xattention.
 */
export const detectFormat = (file: string, text: string): ProfileFormat | undefined => {
  if (/\.tsv$/i.test(file)) return 'duo';
  let u: unknown;
  try {
    u = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (Array.isArray(u)) return u.length > 0 && typeof u[0] === 'object' && !Array.isArray(u[0]) ? 'minference' : undefined;
  if (typeof u !== 'object' || u === null) return undefined;
  const o = u as Record<string, unknown>;
  if ('format' in o) return 'hplb';
  if ('alphas' in o || 'betas' in o) return 'moa';
  if ('max' in o || '_meta' in o) return 'xattention';
  return undefined;
};
