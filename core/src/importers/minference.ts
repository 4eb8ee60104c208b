/**
 * MInference best-pattern files (microsoft/MInference `*_kv_out_v32_fit_o_best_pattern*.json`) → a `required` profile.
 *
 * Input: a JSON list with one object per layer, `"q_head" -> [pattern, vertical_size, slash_size, score]`.
 *   - `vertical_and_slash`: budget = max(v, 30) + max(s, 50) tokens per query (the kernel clamps v ≥ 30, s ≥ 50);
 *   - `stream_llm` (Phi-3): the two sizes are the init and local token counts, budget = init + local.
 * At context N the budget is min(N, that), applied by `budgetsAt`; the profile stores the unclamped count so one
 * import serves every N. The profile's contextLength is the reference N the import was asked for.
 * `score` is kept as recall (share of dense softmax mass inside the mask), except for the two files whose integer
 * scores come from an older, undocumented metric (Llama-3-8B-Instruct-262k and Yi-9B-200K): recall is null there.
 * Scores that exceed 1 by float rounding (≤ 1 + 1e-3 in the published files) are clipped to 1.
 * Used by `hplb inspect --format minference` and anything that plans from MInference data.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { NonNegative, Finite } from '../brand.ts';
import { decode, hplbError, issue, parseJson, words, type HplbError } from '../errors.ts';
import { PROFILE_FORMAT, type RequiredProfile } from '../profile.ts';
import type { ModelShape } from '../model.ts';
import { defaultContextLength, positiveIntOption, resolveModel, withFileOf, type ImportOptions } from './common.ts';

// ---------------------------------------------------------------- model

/** The kernel's lower clamps on the vertical and slash sizes. */
export const MINFERENCE_MIN_VERTICAL = 30;
export const MINFERENCE_MIN_SLASH = 50;
/** How far above 1 a recall score may be (float rounding in the published files) before it is an error. */
export const RECALL_TOLERANCE = 1e-3;
/** Models whose MInference `score` is an integer from an older metric, not recall (README of shared/data). */
export const MINFERENCE_INTEGER_SCORED = ['Llama-3-8B-Instruct-262k', 'Yi-9B-200K'] as const;

export const MinferencePatternC = t.union([t.literal('vertical_and_slash'), t.literal('stream_llm')], '"vertical_and_slash" or "stream_llm"');

const entryInner = t.tuple([MinferencePatternC, NonNegative, NonNegative, Finite], 'a [pattern, vertical_size, slash_size, score] entry');

/** One head's entry: exactly `[pattern, vertical_size, slash_size, score]` (io-ts tuples ignore extra items; this does not). */
export const MinferenceEntryC = new t.Type<t.TypeOf<typeof entryInner>, t.OutputOf<typeof entryInner>, unknown>(
  'a [pattern, vertical_size, slash_size, score] entry',
  (u): u is t.TypeOf<typeof entryInner> => entryInner.is(u) && (u as unknown[]).length === 4,
  (u, c) => (Array.isArray(u) && u.length !== 4 ? t.failure(u, c, 'a 4-item [pattern, vertical_size, slash_size, score] entry') : entryInner.validate(u, c)),
  entryInner.encode,
);
export type MinferenceEntry = t.TypeOf<typeof MinferenceEntryC>;

export const MinferenceFileC = t.array(
  t.record(t.string, MinferenceEntryC, 'an object {"q_head": [pattern, vertical_size, slash_size, score]}'),
  'a JSON list with one {"q_head": [pattern, vertical_size, slash_size, score]} object per layer',
);

export interface MinferenceOptions extends ImportOptions {
  /** Read `score` as recall. Default: true except for `MINFERENCE_INTEGER_SCORED` models. */
  readonly scoreIsRecall?: boolean;
}

// ---------------------------------------------------------------- operations

/** Tokens per query of one entry before clamping to N. */
export const minferenceBudget = (e: MinferenceEntry): number =>
  e[0] === 'stream_llm' ? e[1] + e[2] : Math.max(e[1], MINFERENCE_MIN_VERTICAL) + Math.max(e[2], MINFERENCE_MIN_SLASH);

const table = (m: ModelShape, layers: ReadonlyArray<Record<string, MinferenceEntry>>, file?: string): E.Either<HplbError, MinferenceEntry[][]> => {
  const err = (path: string, expected: string, actual?: unknown) => E.left(hplbError('decode', [issue(path, expected, actual)], file));
  if (layers.length !== m.layers) return err('$', `${m.layers} layers (one object per layer) for ${m.name}`, words(`${layers.length} layers`));
  const out: MinferenceEntry[][] = [];
  for (let l = 0; l < layers.length; l++) {
    const row = layers[l]!;
    const keys = Object.keys(row);
    for (const k of keys)
      if (!/^(0|[1-9]\d*)$/.test(k) || Number(k) >= m.queryHeads)
        return err(`$[${l}][${JSON.stringify(k)}]`, `a query head key "0".."${m.queryHeads - 1}" for ${m.name}`, k);
    if (keys.length !== m.queryHeads) return err(`$[${l}]`, `${m.queryHeads} query heads ("0".."${m.queryHeads - 1}") for ${m.name}`, words(`${keys.length} heads`));
    out.push(Array.from({ length: m.queryHeads }, (_, h) => row[String(h)]!));
  }
  return E.right(out);
};

/** Decode MInference pattern JSON (already parsed) into a `required` profile. */
export const minferenceProfile = (u: unknown, opts: MinferenceOptions = {}): E.Either<HplbError, RequiredProfile> => {
  const file = opts.file;
  return withFileOf(
    file,
    pipe(
      decode(MinferenceFileC, u, file, 1),
      E.chain((layers) =>
        pipe(
          E.Do,
          E.bind('model', () =>
            resolveModel(opts, undefined, {
              layers: { value: layers.length, path: '$' },
              ...(layers.length > 0 ? { queryHeads: { value: Object.keys(layers[0]!).length, path: '$[0]' } } : {}),
            }),
          ),
          E.bind('n', () => positiveIntOption('$.contextLength', opts.contextLength, defaultContextLength(opts), file)),
          E.bind('rows', ({ model }) => table(model, layers, file)),
        ),
      ),
      E.chain(({ model, n, rows }) => {
        const recallKnown = opts.scoreIsRecall ?? !(MINFERENCE_INTEGER_SCORED as ReadonlyArray<string>).includes(model.name);
        const patterns: Record<string, number> = {};
        let clipped = 0;
        const recall: (number | null)[][] = [];
        for (let l = 0; l < rows.length; l++) {
          const r: (number | null)[] = [];
          for (let h = 0; h < rows[l]!.length; h++) {
            const e = rows[l]![h]!;
            patterns[e[0]] = (patterns[e[0]] ?? 0) + 1;
            if (!recallKnown) {
              r.push(null);
              continue;
            }
            const s = e[3];
            if (!(s >= 0 && s <= 1 + RECALL_TOLERANCE))
              return E.left(hplbError('decode', [issue(`$[${l}][${JSON.stringify(String(h))}][3]`, `a recall score in [0, 1] for ${model.name}`, s)], file));
            if (s > 1) clipped++;
            r.push(Math.min(1, s));
          }
          recall.push(r);
        }
        const profile = {
          format: PROFILE_FORMAT,
          kind: 'required' as const,
          model,
          contextLength: n,
          budgets: rows.map((row) => row.map(minferenceBudget)),
          recall,
          source: {
            format: 'minference',
            ...(file !== undefined ? { file } : {}),
            upstream: 'microsoft/MInference best-pattern configs',
            budgetRule: 'min(N, max(v,30) + max(s,50)); stream_llm: min(N, init + local)',
            patterns,
            score: recallKnown ? 'recall (share of dense softmax mass inside the mask)' : 'integer score from an older, undocumented metric: not recall (recall = null)',
            ...(clipped > 0 ? { recallClippedToOne: clipped } : {}),
          },
        };
        return E.right(profile as unknown as RequiredProfile);
      }),
    ),
  );
};

/** Parse and import MInference pattern JSON text. */
export const importMinference = (text: string, opts: MinferenceOptions = {}): E.Either<HplbError, RequiredProfile> =>
  E.chain((u: unknown) => minferenceProfile(u, opts))(parseJson(text, opts.file));
