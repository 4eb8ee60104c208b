/**
 * XAttention per-head thresholds (mit-han-lab/x-attention; `llama3.1_8b_per_head_thresholds.json`) → a `required`
 * profile of the top-p variant.
 *
 * Input: an object of named tables (`max`, `max_ratio`, `llama_fuse_4/8/16`, plus `_meta`), each a [layer][query head]
 * table of thresholds tau ∈ [0, 1], either bare or as `{"values": [[...]]}`. The table is chosen by option (default
 * `max`, what the authors' evaluation loads).
 * tau is the share of estimated block attention mass a head must keep (a per-head top-p): a MASS TARGET, NOT A TOKEN
 * COUNT. The profile therefore keeps `topP[l][h] = tau` and an empty `budgets` (no token counts are known).
 * `budgetsAt` turns it into tokens only when given recovery curves of the same model (`options.curves`), and otherwise
 * returns an error naming that missing information. `hplb inspect` reports the thresholds with unit "top-p".
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { Fraction } from '../brand.ts';
import { decode, hplbError, issue, parseJson, words, type HplbError } from '../errors.ts';
import { PROFILE_FORMAT, type RequiredProfile } from '../profile.ts';
import { checkTable, defaultContextLength, positiveIntOption, resolveModel, withFileOf, type ImportOptions } from './common.ts';

// ---------------------------------------------------------------- model

/** The table the XAttention authors' evaluation uses. */
export const XATTENTION_DEFAULT_TABLE = 'max';

const TauTableC = t.array(t.array(Fraction, 'a list of per-head thresholds in [0, 1]'), 'a [layer][query head] table of thresholds');
export const XattentionTableC = t.union([TauTableC, t.type({ values: TauTableC })], 'a threshold table ([layer][head] thresholds, or {"values": [layer][head]})');
export const XattentionFileC = t.UnknownRecord;

export interface XattentionOptions extends ImportOptions {
  /** Which table to import (default `max`). */
  readonly table?: string;
}

// ---------------------------------------------------------------- operations

const keyPath = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `$.${k}` : `$[${JSON.stringify(k)}]`);

/** Decode parsed XAttention threshold JSON into a top-p `required` profile. */
export const xattentionProfile = (u: unknown, opts: XattentionOptions = {}): E.Either<HplbError, RequiredProfile> => {
  const file = opts.file;
  const key = opts.table ?? XATTENTION_DEFAULT_TABLE;
  return withFileOf(
    file,
    pipe(
      decode(t.UnknownRecord, u, file, 1),
      E.mapLeft((e) => ({ ...e, issues: [issue('$', 'an object of named threshold tables (e.g. "max")', words(e.issues[0]?.actual ?? 'nothing'))] })),
      E.chain((obj) => {
        const tables = Object.keys(obj).filter((k) => !k.startsWith('_'));
        if (!(key in obj)) return E.left(hplbError('decode', [issue(keyPath(key), `a threshold table "${key}" (tables in the file: ${tables.join(', ') || 'none'})`)], file));
        const meta = obj['_meta'];
        const hint = typeof meta === 'object' && meta !== null && typeof (meta as Record<string, unknown>)['model'] === 'string' ? ((meta as Record<string, unknown>)['model'] as string) : undefined;
        return pipe(
          decode(t.type({ [key]: XattentionTableC }), obj, file, 1),
          E.map((d) => {
            const raw = d[key]!;
            return { values: Array.isArray(raw) ? raw : raw.values, path: Array.isArray(raw) ? keyPath(key) : `${keyPath(key)}.values`, tables };
          }),
          E.bindTo('table'),
          E.bind('model', ({ table }) =>
            resolveModel(opts, hint, {
              layers: { value: table.values.length, path: table.path },
              ...(table.values.length > 0 ? { queryHeads: { value: table.values[0]!.length, path: `${table.path}[0]` } } : {}),
            }),
          ),
          E.bind('n', () => positiveIntOption('$.contextLength', opts.contextLength, defaultContextLength(opts), file)),
          E.chainFirst(({ table, model }) => checkTable(table.path, table.values, model, model.queryHeads, 'query heads', file)),
          E.map(({ table, model, n }) => {
            const profile = {
              format: PROFILE_FORMAT,
              kind: 'required' as const,
              model,
              contextLength: n,
              budgets: [],
              topP: table.values,
              source: {
                format: 'xattention',
                ...(file !== undefined ? { file } : {}),
                upstream: 'mit-han-lab/x-attention per-head thresholds (no upstream license: internal benchmarking only)',
                table: key,
                tables: table.tables,
                unit: 'top-p: share of estimated block attention mass to keep; not a token count',
              },
            };
            return profile as unknown as RequiredProfile;
          }),
        );
      }),
    ),
  );
};

/** Parse and import XAttention threshold JSON text. */
export const importXattention = (text: string, opts: XattentionOptions = {}): E.Either<HplbError, RequiredProfile> =>
  E.chain((u: unknown) => xattentionProfile(u, opts))(parseJson(text, opts.file));
