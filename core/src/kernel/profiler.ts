/**
 * The head profiler: recovery curves from attention inputs, and the stability report.
 *
 * A head's recoveryCurve is "mass kept vs tokens kept" at block granularity, measured over sampled query rows the
 * way MInference estimates patterns from its last 64 queries: for those rows, the exact softmax mass each key
 * block receives (averaged over the rows), blocks sorted by mass, cumulative mass against cumulative tokens.
 * `requiredBudget` reads the tokenBudget that keeps a target mass off a curve.
 *
 * The stability report makes the S-HPLB paper's "stable elasticity" claim checkable: the Spearman rank correlation
 * of the heads' required budgets between every pair of profiling runs (different calibration samples, different
 * context lengths), and each head's spread in rank.
 *
 * Pure: `profileHead` computes the sampled rows itself (no N×N buffer, O(rows·N·d)); `profileHeadWithBackend` takes
 * the block masses from any backend's `blockMass` instead (for GPUs). Used by `hplb profile` and the budgets work.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, type HplbError } from '../errors.ts';
import type { HeadCurve } from '../profile.ts';
import { checkTensor } from './params.ts';
import type { AttentionBackend, AttentionParams, RowRange } from './types.ts';

// ---------------------------------------------------------------- model

export interface CurveOptions {
  /** Query rows sampled: the last `sampleRows` rows (default 64, MInference's last_q). */
  readonly sampleRows?: number;
  /** Points kept on the curve (log-spaced in blocks, first and last always kept). Default 48. */
  readonly maxPoints?: number;
}

export interface StabilityRun {
  /** e.g. "sample 2 @ N=4096" */
  readonly label: string;
  readonly sample: number;
  readonly contextLength: number;
  /** Required budget per head [layer][head], in tokens at this run's contextLength. */
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
}

export interface StabilityPair {
  readonly a: string;
  readonly b: string;
  readonly sameContext: boolean;
  readonly spearman: number;
}

export interface StabilityReport {
  readonly format: 'hplb.stability/1';
  readonly target: number;
  readonly heads: number;
  readonly runs: ReadonlyArray<{ label: string; sample: number; contextLength: number }>;
  readonly pairs: ReadonlyArray<StabilityPair>;
  /** Over pairs of runs at the same context length (different samples). null when there are none. */
  readonly acrossSamples: { min: number; mean: number } | null;
  /** Over pairs at different context lengths. null when there are none. */
  readonly acrossContexts: { min: number; mean: number } | null;
  /** Per head [layer][head]: max − min of its percentile rank across runs (0 = perfectly stable). */
  readonly rankSpread: number[][];
}

// ---------------------------------------------------------------- operations

/**
 * Mean over rows [start, end) of the exact softmax mass per key block (causal-masked when causal): [Kb].
 * Two passes per row over the keys: max, then exp-sum and per-block accumulation. Float64 throughout.
 */
export const sampledBlockMass = (q: Float32Array, k: Float32Array, p: AttentionParams, rows: RowRange): Float64Array => {
  const { tokens: N, headDim: d, blockSize: B, blocks, scale } = p;
  const mass = new Float64Array(blocks);
  const logits = new Float64Array(N);
  for (let i = rows.start; i < rows.end; i++) {
    const last = p.causal ? i : N - 1;
    let m = -Infinity;
    const qi = i * d;
    for (let j = 0; j <= last; j++) {
      const kj = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += q[qi + t]! * k[kj + t]!;
      s *= scale;
      logits[j] = s;
      if (s > m) m = s;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) { const e = Math.exp(logits[j]! - m); logits[j] = e; sum += e; }
    for (let j = 0; j <= last; j++) mass[Math.floor(j / B)]! += logits[j]! / sum;
  }
  const n = rows.end - rows.start;
  for (let b = 0; b < blocks; b++) mass[b]! /= n;
  return mass;
};

/** Indices 1..n, log-spaced, at most `max` of them, always with 1 and n. */
const logSpaced = (n: number, max: number): number[] => {
  if (n <= max) return Array.from({ length: n }, (_, i) => i + 1);
  const out = new Set<number>([1, n]);
  for (let x = 0; x < max - 1; x++) out.add(Math.min(n, Math.max(1, Math.round(Math.exp((Math.log(n) * x) / (max - 1))))));
  for (let x = 1; out.size < max && x <= n; x++) out.add(Math.round((x * n) / max));
  return [...out].filter((x) => x >= 1 && x <= n).sort((a, b) => a - b);
};

/**
 * A recoveryCurve from per-key-block masses [Kb] (summing to ~1): blocks by mass descending, tokens kept = sum of
 * their sizes (the last block may be ragged), mass kept = cumulative mass. Starts at (0, 0), ends at (N, 1).
 */
export const curveFromBlockMass = (mass: ArrayLike<number>, p: AttentionParams, maxPoints = 48): HeadCurve => {
  const { tokens: N, blockSize: B, blocks } = p;
  const order = Array.from({ length: blocks }, (_, b) => b).sort((a, b) => mass[b]! - mass[a]! || a - b);
  let total = 0;
  for (let b = 0; b < blocks; b++) total += mass[b]!;
  const cumT = new Float64Array(blocks + 1);
  const cumM = new Float64Array(blocks + 1);
  for (let x = 0; x < blocks; x++) {
    const b = order[x]!;
    cumT[x + 1] = cumT[x]! + (Math.min(N, (b + 1) * B) - b * B);
    cumM[x + 1] = cumM[x]! + (total > 0 ? mass[b]! / total : 0);
  }
  const tokens: number[] = [0];
  const kept: number[] = [0];
  for (const x of logSpaced(blocks, Math.max(2, maxPoints - 1))) {
    tokens.push(cumT[x]!);
    kept.push(Math.min(1, Math.max(kept[kept.length - 1]!, x === blocks ? 1 : cumM[x]!)));
  }
  return { tokens, mass: kept } as unknown as HeadCurve;
};

const sampleRange = (p: AttentionParams, sampleRows: number): RowRange => ({ start: Math.max(0, p.tokens - sampleRows), end: p.tokens });

/** One head's recoveryCurve from its q and k (checked: shapes and finiteness). */
export const profileHead = (q: Float32Array, k: Float32Array, p: AttentionParams, opts: CurveOptions = {}): E.Either<HplbError, HeadCurve> => {
  const rows = opts.sampleRows ?? 64;
  if (!Number.isInteger(rows) || rows < 1) return fail('argument', '$.sampleRows', 'a positive number of sampled query rows', rows);
  return E.chain(() => E.map(() => curveFromBlockMass(sampledBlockMass(q, k, p, sampleRange(p, rows)), p, opts.maxPoints))(checkTensor('k', k, p.tokens, p.headDim)))(
    checkTensor('q', q, p.tokens, p.headDim));
};

/** The same curve with the block masses from a backend's `blockMass` (the query blocks holding the sampled rows). */
export const profileHeadWithBackend = async (
  backend: AttentionBackend, q: Float32Array, k: Float32Array, p: AttentionParams, opts: CurveOptions = {},
): Promise<E.Either<HplbError, HeadCurve>> => {
  const r = await backend.blockMass(q, k, p);
  if (E.isLeft(r)) return r;
  const { start } = sampleRange(p, opts.sampleRows ?? 64);
  const qb0 = Math.floor(start / p.blockSize);
  const mass = new Float64Array(p.blocks);
  let weight = 0;
  for (let qb = qb0; qb < p.blocks; qb++) {
    const rowsIn = Math.min(p.tokens, (qb + 1) * p.blockSize) - Math.max(start, qb * p.blockSize);
    for (let kb = 0; kb < p.blocks; kb++) mass[kb]! += rowsIn * r.right[qb * p.blocks + kb]!;
    weight += rowsIn;
  }
  for (let kb = 0; kb < p.blocks; kb++) mass[kb]! /= weight;
  return E.right(curveFromBlockMass(mass, p, opts.maxPoints));
};

/** Smallest tokenBudget reaching `target` mass on a curve (linear between points); the last point's tokens if never. */
export const requiredBudget = (curve: HeadCurve, target: number): number => {
  const { tokens, mass } = curve;
  for (let i = 0; i < mass.length; i++) {
    if (mass[i]! >= target) {
      if (i === 0) return tokens[0]!;
      const m0 = mass[i - 1]!;
      const m1 = mass[i]!;
      const f = m1 > m0 ? (target - m0) / (m1 - m0) : 1;
      return tokens[i - 1]! + f * (tokens[i]! - tokens[i - 1]!);
    }
  }
  return tokens[tokens.length - 1] ?? 0;
};

/** Average ranks (ties share their mean rank), 0-based. */
export const ranks = (xs: ReadonlyArray<number>): number[] => {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]!] === xs[idx[i]!]) j++;
    for (let x = i; x <= j; x++) r[idx[x]!] = (i + j) / 2;
    i = j + 1;
  }
  return r;
};

/** Spearman rank correlation (Pearson on average ranks); 1 when either side is constant and both are equal. */
export const spearman = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) { num += (ra[i]! - ma) * (rb[i]! - mb); va += (ra[i]! - ma) ** 2; vb += (rb[i]! - mb) ** 2; }
  if (va === 0 || vb === 0) return va === vb ? 1 : 0;
  return num / Math.sqrt(va * vb);
};

/** Rank correlation of required budgets between every pair of runs, and each head's rank spread. */
export const stabilityReport = (runs: ReadonlyArray<StabilityRun>, target: number): E.Either<HplbError, StabilityReport> => {
  if (runs.length < 2) return fail('argument', '$.runs', 'at least two profiling runs (samples or context lengths) to compare', runs.length);
  const flat = runs.map((r) => r.budgets.flatMap((row) => row.map((b) => b / r.contextLength)));
  const heads = flat[0]!.length;
  for (const [i, f] of flat.entries()) if (f.length !== heads) return fail('argument', `$.runs[${i}].budgets`, `${heads} heads like the first run`, f.length);
  const pairs: StabilityPair[] = [];
  for (let i = 0; i < runs.length; i++)
    for (let j = i + 1; j < runs.length; j++)
      pairs.push({ a: runs[i]!.label, b: runs[j]!.label, sameContext: runs[i]!.contextLength === runs[j]!.contextLength, spearman: spearman(flat[i]!, flat[j]!) });
  const summary = (xs: StabilityPair[]) => (xs.length === 0 ? null : { min: Math.min(...xs.map((x) => x.spearman)), mean: xs.reduce((s, x) => s + x.spearman, 0) / xs.length });
  const pct = flat.map((f) => ranks(f).map((r) => (heads > 1 ? r / (heads - 1) : 0)));
  const rows = runs[0]!.budgets.map((r) => r.length);
  const rankSpread: number[][] = [];
  let h = 0;
  for (const len of rows) {
    const row: number[] = [];
    for (let x = 0; x < len; x++, h++) {
      const v = pct.map((pr) => pr[h]!);
      row.push(Math.max(...v) - Math.min(...v));
    }
    rankSpread.push(row);
  }
  return E.right({
    format: 'hplb.stability/1',
    target,
    heads,
    runs: runs.map((r) => ({ label: r.label, sample: r.sample, contextLength: r.contextLength })),
    pairs,
    acrossSamples: summary(pairs.filter((p) => p.sameContext)),
    acrossContexts: summary(pairs.filter((p) => !p.sameContext)),
    rankSpread,
  });
};
