/**
 * DuoAttention gates (mit-han-lab/duo-attention `attn_patterns/<model>/full_attention_heads.tsv`) → an `elastic` profile.
 *
 * Input: a tab-separated float matrix, rows = layers, columns = KV heads; each value is a learned gate alpha, clipped
 * to [0, 1]. High = retrieval head (full attention), low = streaming head (sink + recent tokens only). The gates alone
 * do not say which heads stream: deployment picks either
 *   - a sparsity s ∈ [0, 1]: the round(s · L · Hkv) KV heads with the lowest gates stream, or
 *   - a threshold τ: KV heads whose gate is below τ stream.
 * (Upstream `sparsify_attention_heads` adds uniform noise below 1e-6 to break ties, then keeps gates above the
 * s-quantile or τ as retrieval heads; here ties break reproducibly by layer, then head, with the same counts.)
 * The streaming window comes from the training `config.json` next to the TSV when the caller passes it
 * (`duoWindowFromConfig`: deploy_sink_size / deploy_recent_size when set, else sink_size / recent_size).
 * Mapping (GQA: every query head of a KV group inherits its group's gate and class):
 *   streaming: alpha = sink + recent (128 + 256 = 384 by default), beta = 0  → span 384 at any N;
 *   retrieval: alpha = 0, beta = 1                                           → span N (dense).
 * The clipped gates are kept, expanded to query heads, in the profile's `gate`.
 * Used by `hplb inspect --format duo` and by planners reading DuoAttention data.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegativeInt } from '../brand.ts';
import { decode, hplbError, issue, issueText, words, type HplbError } from '../errors.ts';
import { kvHeadOf, type ModelShape } from '../model.ts';
import { PROFILE_FORMAT, type ElasticProfile } from '../profile.ts';
import { resolveModel, type ImportOptions } from './common.ts';

// ---------------------------------------------------------------- model

/** DuoAttention's deployed streaming window: 128 attention-sink tokens + 256 recent tokens. */
export const DUO_SINK_TOKENS = 128;
export const DUO_RECENT_TOKENS = 256;

export interface DuoOptions extends ImportOptions {
  /** Share of KV heads made streaming (lowest gates first). Exactly one of sparsity / threshold. */
  readonly sparsity?: number;
  /** Gates below this make a KV head streaming. Exactly one of sparsity / threshold. */
  readonly threshold?: number;
  readonly sinkTokens?: number;
  readonly recentTokens?: number;
}

const OptionalSize = t.union([t.null, t.undefined, NonNegativeInt]);
export const DuoConfigC = t.type(
  { sink_size: NonNegativeInt, recent_size: NonNegativeInt, deploy_sink_size: OptionalSize, deploy_recent_size: OptionalSize },
  'a DuoAttention config {sink_size, recent_size, deploy_sink_size?, deploy_recent_size?}',
);

// ---------------------------------------------------------------- operations

/** The deployed streaming window of a DuoAttention training `config.json` (already parsed). */
export const duoWindowFromConfig = (u: unknown, file?: string): E.Either<HplbError, { sinkTokens: number; recentTokens: number }> =>
  E.map((c: t.TypeOf<typeof DuoConfigC>) => ({ sinkTokens: c.deploy_sink_size ?? c.sink_size, recentTokens: c.deploy_recent_size ?? c.recent_size }))(
    decode(DuoConfigC, u, file, 1),
  );

/** Parse the gate TSV: a rectangular matrix of finite numbers (not yet clipped). Paths are `$[row][column]`, 0-based. */
export const parseGateTsv = (text: string, file?: string): E.Either<HplbError, number[][]> => {
  const err = (code: 'parse' | 'decode', path: string, expected: string, actual?: unknown) => E.left(hplbError(code, [issue(path, expected, actual)], file));
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) return err('parse', '$', 'a tab-separated matrix of gates (rows = layers, columns = KV heads)', words('an empty file'));
  const rows: number[][] = [];
  for (let r = 0; r < lines.length; r++) {
    const line = lines[r]!;
    if (line.trim() === '') return err('parse', `$[${r}]`, `a row of tab-separated gates (line ${r + 1})`, words('an empty line'));
    const cells = line.split('\t');
    const row: number[] = [];
    for (let c = 0; c < cells.length; c++) {
      const s = cells[c]!.trim();
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) return err('parse', `$[${r}][${c}]`, `a finite number (line ${r + 1}, column ${c + 1})`, s);
      row.push(v);
    }
    if (rows.length > 0 && row.length !== rows[0]!.length)
      return err('parse', `$[${r}]`, `${rows[0]!.length} tab-separated columns like line 1 (line ${r + 1})`, words(`${row.length} columns`));
    rows.push(row);
  }
  return E.right(rows);
};

/** Which KV heads stream: `streaming[l][k]`. Sparsity picks the lowest gates; threshold picks gates below τ. */
export const duoStreaming = (gates: ReadonlyArray<ReadonlyArray<number>>, rule: { sparsity: number } | { threshold: number }): boolean[][] => {
  const out = gates.map((row) => row.map(() => false));
  if ('threshold' in rule) {
    gates.forEach((row, l) => row.forEach((g, k) => (out[l]![k] = g < rule.threshold)));
    return out;
  }
  const all: [number, number, number][] = [];
  gates.forEach((row, l) => row.forEach((g, k) => all.push([g, l, k])));
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const count = Math.round(rule.sparsity * all.length);
  for (let i = 0; i < count; i++) out[all[i]![1]]![all[i]![2]] = true;
  return out;
};

const option = (file: string | undefined, path: string, expected: string, actual?: unknown) =>
  E.left(hplbError('argument', [issue(path, expected, actual)], file));

/** Import DuoAttention gate TSV text into an `elastic` profile. */
export const importDuo = (text: string, opts: DuoOptions = {}): E.Either<HplbError, ElasticProfile> => {
  const file = opts.file;
  const { sparsity, threshold } = opts;
  if (sparsity === undefined && threshold === undefined)
    return option(file, '$.sparsity', 'a sparsity s in [0, 1] or a threshold τ ($.threshold): DuoAttention gates only say which heads stream once one is chosen');
  if (sparsity !== undefined && threshold !== undefined) return option(file, '$.threshold', 'either $.sparsity or $.threshold, not both', threshold);
  if (sparsity !== undefined && !(Number.isFinite(sparsity) && sparsity >= 0 && sparsity <= 1)) return option(file, '$.sparsity', 'a number in [0, 1]', sparsity);
  if (threshold !== undefined && !Number.isFinite(threshold)) return option(file, '$.threshold', 'a finite number', threshold);
  const sink = opts.sinkTokens ?? DUO_SINK_TOKENS;
  const recent = opts.recentTokens ?? DUO_RECENT_TOKENS;
  if (!(Number.isInteger(sink) && sink >= 0)) return option(file, '$.sinkTokens', 'a non-negative integer', sink);
  if (!(Number.isInteger(recent) && recent >= 0)) return option(file, '$.recentTokens', 'a non-negative integer', recent);
  return E.chain((raw: number[][]) =>
    E.chain((m: ModelShape) => {
      if (raw.length !== m.layers) return E.left(hplbError('decode', [issueText('$', `${m.layers} rows (layers) for ${m.name}`, `${raw.length} rows`)], file));
      if (raw[0]!.length !== m.kvHeads)
        return E.left(hplbError('decode', [issueText('$[0]', `${m.kvHeads} columns (KV heads) for ${m.name}`, `${raw[0]!.length} columns`)], file));
      const gates = raw.map((row) => row.map((g) => Math.min(1, Math.max(0, g))));
      const streaming = duoStreaming(gates, sparsity !== undefined ? { sparsity } : { threshold: threshold! });
      const window = sink + recent;
      const perQuery = <A>(f: (l: number, k: number) => A): A[][] =>
        Array.from({ length: m.layers }, (_, l) => Array.from({ length: m.queryHeads }, (_, q) => f(l, kvHeadOf(m, q))));
      const streamingKv = streaming.flat().filter(Boolean).length;
      const profile = {
        format: PROFILE_FORMAT,
        kind: 'elastic' as const,
        model: m,
        alpha: perQuery((l, k) => (streaming[l]![k] ? window : 0)),
        beta: perQuery((l, k) => (streaming[l]![k] ? 0 : 1)),
        gate: perQuery((l, k) => gates[l]![k]!),
        source: {
          format: 'duo',
          ...(file !== undefined ? { file } : {}),
          upstream: 'mit-han-lab/duo-attention attn_patterns',
          rule: sparsity !== undefined ? { sparsity } : { threshold },
          sinkTokens: sink,
          recentTokens: recent,
          streamingKvHeads: streamingKv,
          streamingFraction: streamingKv / (m.layers * m.kvHeads),
          clippedGates: raw.flat().filter((g) => g < 0 || g > 1).length,
        },
      };
      return E.right(profile as unknown as ElasticProfile);
    })(
      resolveModel(opts, undefined, {
        layers: { value: raw.length, path: '$' },
        ...(raw.length > 0 ? { kvHeads: { value: raw[0]!.length, path: '$[0]' } } : {}),
      }),
    ),
  )(parseGateTsv(text, file));
};
