/**
 * Recovery curves: for one head, the share of dense attention mass kept (its recovery, in [0, 1]) as a function of
 * its token budget b (tokens per query) at one context length N. Used by every budget policy
 * (`core/src/budgets/`), by the simulator's recovery statistics and by the `hplb plan` / `hplb pareto` pipelines.
 *
 * Model: a monotone piecewise-linear function through measured points (budget ascending, mass non-decreasing), with
 * r(0) = 0 and r(N) = 1 unless the points say otherwise, and its exact inverse `tokensFor` ("tokens needed for
 * recovery r"). Piecewise-linear is chosen over PCHIP because its inverse is exact and cheap, it never overshoots,
 * and on a concave curve it errs low (it under-states the recovery a budget buys), which is the safe side.
 *
 * One-point sources do not publish curves, so each gets an explicit, named curve model (`CURVE_MODELS`) whose
 * assumption is stated here and in docs/budgets.md:
 *   - `power-through-point` (MInference budget + recall; MoA span at an assumed recovery): r(b) = (b/N)^γ with γ
 *     chosen so that r(b0) = r0, capped at 1 (concave: a point below the diagonal r = b/N is lifted onto it).
 *     r(0) = 0, r(N) = 1; assumes mass over ranked keys follows a power law.
 *   - `duo-gate` (DuoAttention): a streaming head (sink 128 + recent 256 = 384 tokens) keeps 1 − α of the mass at 384
 *     tokens, where α is its learned gate clipped to [0.01, 0.99]; then the power law through that point.
 * Sources with no recall information (MInference scores from the older integer metric, XAttention's top-p targets,
 * raw budgets) have no curve: `profileCurves` says so, naming the missing information, and policies that need
 * curves refuse to run on them.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, type HplbError } from './errors.ts';
import type { CurveProfile, ElasticProfile, Profile, RequiredProfile } from './profile.ts';

// ---------------------------------------------------------------- model

/** A monotone piecewise-linear recovery curve at context length `contextLength`. */
export interface RecoveryCurve {
  /** Budgets in tokens, strictly ascending, first 0, last = contextLength. */
  readonly tokens: ReadonlyArray<number>;
  /** Recovery at each budget, non-decreasing in [0, 1]. */
  readonly mass: ReadonlyArray<number>;
  readonly contextLength: number;
}

/** recoveryCurve[layer][head] for a whole model at one context length. */
export type CurveSet = ReadonlyArray<ReadonlyArray<RecoveryCurve>>;

// ---------------------------------------------------------------- constructors

/**
 * Build a curve from raw points at context n. Points are sorted by budget (a point at budget 0 is ignored: r(0) = 0), budgets clamped to [0, n], mass clamped
 * to [0, 1] and made non-decreasing (running maximum: a larger budget always keeps at least the same keys).
 * The end points (0, 0) and (n, 1) are added when missing: with every key kept all mass is kept.
 */
export const makeRecoveryCurve = (tokens: ReadonlyArray<number>, mass: ReadonlyArray<number>, n: number): E.Either<HplbError, RecoveryCurve> => {
  if (!(Number.isFinite(n) && n >= 1)) return fail('argument', '$.contextLength', 'a context length ≥ 1', n);
  if (tokens.length !== mass.length) return fail('decode', '$.mass', `${tokens.length} values (one per budget point)`, mass.length);
  const pts: Array<[number, number]> = [];
  for (let i = 0; i < tokens.length; i++) {
    const b = tokens[i]!;
    const r = mass[i]!;
    if (!Number.isFinite(b) || b < 0) return fail('decode', `$.tokens[${i}]`, 'a budget ≥ 0 tokens', b);
    if (!Number.isFinite(r) || r < 0 || r > 1) return fail('decode', `$.mass[${i}]`, 'a recovery in [0, 1]', r);
    pts.push([Math.min(b, n), r]);
  }
  pts.sort((a, b) => a[0] - b[0]);
  const ts: number[] = [0];
  const ms: number[] = [0];
  for (const [b, r] of pts) {
    const last = ts.length - 1;
    if (b === 0) continue; // no tokens keep no mass: r(0) = 0 by definition
    if (b === ts[last]) ms[last] = Math.max(ms[last]!, r);
    else {
      ts.push(b);
      ms.push(Math.max(ms[last]!, r));
    }
  }
  if (ts[ts.length - 1]! < n) {
    ts.push(n);
    ms.push(1);
  } else ms[ms.length - 1] = Math.max(ms[ms.length - 1]!, 1);
  return E.right({ tokens: ts, mass: ms, contextLength: n });
};

/** Sample a recovery function on a log-spaced budget grid (plus 0 and n) into a piecewise-linear curve. */
export const sampleCurve = (r: (b: number) => number, n: number, points = 24): RecoveryCurve => {
  const ts = budgetGrid(n, points);
  const ms: number[] = [];
  let prev = 0;
  for (const b of ts) {
    const v = b === 0 ? 0 : b >= n ? 1 : Math.min(1, Math.max(prev, r(b)));
    ms.push(v);
    prev = v;
  }
  return { tokens: ts, mass: ms, contextLength: n };
};

/** 0, then `points` budgets geometric from 16 to n (integers, distinct), last = n. */
export const budgetGrid = (n: number, points = 24): number[] => {
  const out = new Set<number>([0]);
  const lo = Math.min(16, n);
  for (let i = 0; i < points; i++) out.add(Math.round(lo * Math.pow(n / lo, i / Math.max(points - 1, 1))));
  out.add(n);
  return [...out].sort((a, b) => a - b);
};

// ---------------------------------------------------------------- operations

/** Recovery at budget b (tokens), interpolating linearly; 0 below 0, the last mass at or above N. */
export const recoveryAt = (c: RecoveryCurve, b: number): number => {
  const ts = c.tokens;
  const ms = c.mass;
  if (b <= 0) return ms[0]!;
  const last = ts.length - 1;
  if (b >= ts[last]!) return ms[last]!;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= b) lo = mid;
    else hi = mid;
  }
  const t0 = ts[lo]!;
  const t1 = ts[hi]!;
  return ms[lo]! + ((ms[hi]! - ms[lo]!) * (b - t0)) / (t1 - t0);
};

/**
 * Tokens needed for recovery r: the smallest integer budget b in [0, N] with recoveryAt(b) ≥ r, or N when the curve
 * never reaches r. Exact on the piecewise-linear curve (the segment is inverted, then the integer is checked).
 */
export const tokensFor = (c: RecoveryCurve, r: number): number => {
  const ts = c.tokens;
  const ms = c.mass;
  const n = c.contextLength;
  if (r <= ms[0]!) return 0;
  const last = ts.length - 1;
  if (r > ms[last]!) return n;
  // First point index with mass ≥ r.
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ms[mid]! >= r) hi = mid;
    else lo = mid;
  }
  const t0 = ts[lo]!;
  const t1 = ts[hi]!;
  const m0 = ms[lo]!;
  const m1 = ms[hi]!;
  let b = m1 === m0 ? t1 : Math.ceil(t0 + ((r - m0) * (t1 - t0)) / (m1 - m0));
  b = Math.min(Math.max(b, 0), n);
  while (b > 0 && recoveryAt(c, b - 1) >= r) b--;
  while (b < n && recoveryAt(c, b) < r) b++;
  return b;
};

/** Round a budget up to a multiple of `block`, within [block, N] (N itself need not be a multiple). */
export const roundBudget = (b: number, block: number, n: number): number => Math.min(n, Math.max(block, Math.ceil(b / block) * block));

/** Mean and minimum of a table of recoveries. */
export const recoveryStats = (r: ReadonlyArray<ReadonlyArray<number>>): { min: number; mean: number } => {
  let min = Infinity;
  let sum = 0;
  let count = 0;
  for (const row of r) for (const v of row) {
    min = Math.min(min, v);
    sum += v;
    count++;
  }
  return count === 0 ? { min: 1, mean: 1 } : { min, mean: sum / count };
};

/** recovery[l][h] of given budgets on a curve set. */
export const recoveriesOf = (curves: CurveSet, budgets: ReadonlyArray<ReadonlyArray<number>>): number[][] =>
  curves.map((row, l) => row.map((c, h) => recoveryAt(c, budgets[l]![h]!)));

// ---------------------------------------------------------------- named curve models for one-point sources

export type CurveModelName = 'measured' | 'power-through-point' | 'duo-gate';

export interface CurveModelInfo {
  readonly name: CurveModelName;
  readonly sources: string;
  readonly assumption: string;
}

/** Every curve model, with its stated assumption (printed by the CLI and in docs/budgets.md). */
export const CURVE_MODELS: ReadonlyArray<CurveModelInfo> = [
  { name: 'measured', sources: 'hplb curve profiles (profiler, synthetic default)', assumption: 'none: linear interpolation between measured points (errs low on concave curves)' },
  {
    name: 'power-through-point',
    sources: 'MInference (budget + recall score); MoA (span at an assumed recovery)',
    assumption: 'mass over ranked keys follows a power law: r(b) = (b/N)^γ with γ = ln r0 / ln(b0/N), through the one published point (b0, r0) and (N, 1); γ ≤ 1 (ranked-key mass is concave), so a point below the diagonal is lifted to r = b/N',
  },
  {
    name: 'duo-gate',
    sources: 'DuoAttention (gate α per KV head)',
    assumption: 'at the streaming budget (128 sink + 256 recent = 384 tokens) a head keeps 1 − α of the mass (α clipped to [0.01, 0.99]); power law through that point and (N, 1)',
  },
];

/** Power law through (b0, r0) and (N, 1), sampled. r0 is clamped to [1e-6, 1]. */
export const powerCurveThrough = (b0: number, r0: number, n: number, points = 24): RecoveryCurve => {
  const bb = Math.min(Math.max(b0, 1), n);
  const rr = Math.min(Math.max(r0, 1e-6), 1);
  if (bb >= n || rr >= 1) {
    // Full recovery already at b0 (or b0 = N): linear to (b0, r0), flat after.
    return sampleCurve((b) => Math.min(1, (rr * b) / bb), n);
  }
  // Mass over keys ranked by weight is concave in the keys kept, so γ ≤ 1: a point below the diagonal (r0 < b0/N, e.g.
  // an assumed recovery at a span close to N) is lifted to the diagonal r(b) = b/N (uniform attention).
  const gamma = Math.min(1, Math.log(rr) / Math.log(bb / n));
  return sampleCurve((b) => Math.pow(b / n, gamma), n);
};

/** DuoAttention's streaming budget: 128 sink + 256 recent tokens (shared/data/duo config.json). */
export const DUO_STREAMING_TOKENS = 384;

// ---------------------------------------------------------------- profiles → curves

/** Curves of a profile at context n, or an error naming what the profile lacks. */
export interface ProfileCurves {
  readonly curves: CurveSet;
  readonly model: CurveModelName;
}

/** How tokens of a curve measured at n0 map to context n: the density rule b/N is kept (documented in docs/budgets.md). */
export const rescaleCurve = (c: RecoveryCurve, n: number): RecoveryCurve => {
  if (c.contextLength === n) return c;
  const f = n / c.contextLength;
  const ts: number[] = [];
  const ms: number[] = [];
  c.tokens.forEach((t, i) => {
    const v = i === c.tokens.length - 1 ? n : Math.round(t * f);
    if (ts.length > 0 && v <= ts[ts.length - 1]!) {
      ms[ms.length - 1] = Math.max(ms[ms.length - 1]!, c.mass[i]!);
      return;
    }
    ts.push(v);
    ms.push(c.mass[i]!);
  });
  return { tokens: ts, mass: ms, contextLength: n };
};

const curveProfileCurves = (p: CurveProfile, n: number): E.Either<HplbError, ProfileCurves> => {
  const out: RecoveryCurve[][] = [];
  for (let l = 0; l < p.curves.length; l++) {
    const row: RecoveryCurve[] = [];
    for (let h = 0; h < p.curves[l]!.length; h++) {
      const hc = p.curves[l]![h]!;
      const c = makeRecoveryCurve(hc.tokens, hc.mass, p.contextLength);
      if (E.isLeft(c)) return fail('decode', `$.curves[${l}][${h}]${c.left.issues[0]?.path.slice(1) ?? ''}`, c.left.issues[0]?.expected ?? 'a valid curve');
      row.push(rescaleCurve(c.right, n));
    }
    out.push(row);
  }
  return E.right({ curves: out, model: 'measured' });
};

const requiredProfileCurves = (p: RequiredProfile, n: number): E.Either<HplbError, ProfileCurves> => {
  if (!p.recall) {
    const why = p.topP ? 'per-head top-p targets are mass targets, not (budget, recall) points' : 'the profile has budgets only';
    return fail('argument', '$.recall', `per-head recall (share of attention mass kept at each budget) to build recovery curves; ${why}`);
  }
  const out: RecoveryCurve[][] = [];
  for (let l = 0; l < p.budgets.length; l++) {
    const row: RecoveryCurve[] = [];
    for (let h = 0; h < p.budgets[l]!.length; h++) {
      const r0 = p.recall[l]?.[h];
      if (r0 === null || r0 === undefined) return fail('argument', `$.recall[${l}][${h}]`, 'a recall value for every head to build recovery curves (it is unknown here, e.g. MInference scores from the older integer metric are not recall)');
      const b0 = (p.budgets[l]![h]! * n) / p.contextLength;
      row.push(powerCurveThrough(b0, r0, n));
    }
    out.push(row);
  }
  return E.right({ curves: out, model: 'power-through-point' });
};

const elasticProfileCurves = (p: ElasticProfile, n: number, assumedRecovery: number | undefined): E.Either<HplbError, ProfileCurves> => {
  const gsize = p.gate ? p.alpha[0]!.length / Math.max(p.gate[0]?.length ?? 1, 1) : 1;
  if (p.gate) {
    // DuoAttention: gate per KV head; query head h reads gate[l][floor(h / group)].
    const out = p.alpha.map((row, l) => row.map((_, h) => {
      const g = p.gate![l]![Math.floor(h / gsize)] ?? 0;
      const a = Math.min(0.99, Math.max(0.01, g));
      return powerCurveThrough(DUO_STREAMING_TOKENS, 1 - a, n);
    }));
    return E.right({ curves: out, model: 'duo-gate' });
  }
  if (assumedRecovery === undefined)
    return fail('argument', '$.alpha', 'recall information: MoA spans carry no recovery value; pass an assumed recovery at each span ($.spanRecovery = R) to use the power-through-point curve model');
  const rule = p.spanRule ?? { multiple: 64, minimum: 128 };
  const out = p.alpha.map((row, l) => row.map((a, h) => {
    const span = Math.min(n, Math.max(rule.minimum, Math.ceil((a + p.beta[l]![h]! * n) / rule.multiple) * rule.multiple));
    return powerCurveThrough(span, assumedRecovery, n);
  }));
  return E.right({ curves: out, model: 'power-through-point' });
};

/**
 * Recovery curves of any profile at context n, through the curve model its source allows. Fails, naming the missing
 * information, for profiles without recall.
 */
export const profileCurves = (p: Profile, n: number, opts: { spanRecovery?: number } = {}): E.Either<HplbError, ProfileCurves> => {
  switch (p.kind) {
    case 'curve':
      return curveProfileCurves(p, n);
    case 'required':
      return requiredProfileCurves(p, n);
    case 'elastic':
      return elasticProfileCurves(p, n, opts.spanRecovery);
  }
};
