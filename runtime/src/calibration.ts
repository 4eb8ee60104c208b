/**
 * Calibration: times a backend's `sparseAttention` over a grid of context lengths N and token budgets b (the
 * sink+local layout `budgetLayout` builds, the one the executor runs), each budget as a whole head (rows [0, N))
 * and as split parts (the last f·N rows for each f of `partFractions`, default N/2 and N/4), and fits two linear models:
 *   - kernel level:  seconds = fixedSeconds + secondsPerBlock · computed blocks, over the whole heads   (fit.r2)
 *   - cost model:    seconds = fixed + perQueryRow · rows + perTokenPair · token pairs    (core/src/cost.ts,
 *                    workModel "pairs", seconds; token pairs W(b, N) for a head, the rows' share for a part)
 * both by relative least squares with every coefficient ≥ 0 (`fitLinearModel`, `FitWeighting`), each coefficient
 * with a 95% confidence interval. The part points are what identify the per-row term: over whole heads alone,
 * rows = N at every point of one context, and the fit folds N rows' cost into `fixed`, pricing a split part of a
 * few rows like a whole head. The result is an `hplb.calibration/1` document for `hplb plan --calibration F` and
 * `hplb execute`.
 *
 * Timing follows the protocol of `timing.ts`: one warm-up run per grid point (reported apart), `repeats` steady
 * runs in interleaved order with a reference kernel (`referenceKernel` at the smallest context) timed between
 * points, contended runs rejected and re-measured, runs expressed at the reference baseline's speed (`normalize`),
 * each point's median and spread (IQR / median). The default grid covers two context lengths (1024 and 4096) and
 * budgets from 0.5% to 50% of N (real per-head densities are 0.5-20%; heavy heads of max-min plans reach 50% and
 * more). `calibrate` refuses a noisy calibration (`calibrationNoise`: its points' median spread over
 * `timing.maxSpread`, or over a quarter of its points noisy after their re-measures) unless `force` is set; the
 * record always says how noisy it was (`timing`, `noisy`).
 * Used by `hplb calibrate`, `executePlan` (when given no cost model) and examples/bench-fidelity.ts.
 *
 * With `serving` (`hplb calibrate --serving`), the same backend is also timed on the serving step's work
 * (`serving.ts`; it needs the backend's `matmul`): projections, one product of rows × H' by H' × 2d for each hidden
 * size H' of `hiddenSizes` and each row count, and decode steps (weight GEMVs and one query row over a KV head's
 * keys, dense and at a quarter of the context, for 1 head of 1 KV head, 4 heads of 1 and 2 heads of 2). Two more fits,
 * relative least squares with coefficients ≥ 0: projection seconds = fixed + perRow · rows + perFlop · flops per
 * product, decode seconds = perRead · reads + perKvRead · KV reads + perByte · KV bytes + perWeightByte · weight bytes
 * per step (serving.ts says why a CPU needs the per-row and per-KV-read terms and the second byte rate). They go into the record as `serving` (core
 * `ServingCalibrationC`, with R², relative errors, 95% intervals, samples and timing) and as the rates of its
 * `hardware` block (bf16Flops = 1/perFlop and hbmBytesPerSecond = 1/perByte, efficiencies 1), so the executor's
 * prefill and decode phases, and a plan priced with this calibration, use what this backend measured. Without
 * `serving` nothing of it runs and the record is as before.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, issueText, rowRangeWork, type Calibration, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetKeys, budgetLayout, layoutBlocks } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams, BackendInfo, BlockLayout, Precision } from '@hplb/core/kernel';
import { headInputs, referenceKernel } from './inputs.ts';
import { createBackend, type ResolvedBackend } from './backends.ts';
import { defaultClock, timeRun, wallCpuCheckApplies, type Clock } from './clock.ts';
import { DEFAULT_TIMING, NOISY_SHARE, measurePoints, referenceBaseline, summarizeTimings, timingProtocol, type PointTiming, type Reading, type TimingProtocol, type TimingSummary } from './timing.ts';
import {
  DEFAULT_DECODE_STEPS, RUN_BYTES_PER_ELEMENT, decodeKeys, perStep, decodeReads, decodeWeightBytes, hiddenStates, matmulFlops, matmulOf, prepareDecode, prepareProjection, runDecode, runProjection,
  type DecodeTask, type PreparedDecode, type PreparedProjection, type ServingCoefficients,
} from './serving.ts';

// ---------------------------------------------------------------- model

export interface CalibrationOptions {
  readonly contexts: ReadonlyArray<number>;
  /** Budgets as fractions of N (points that round to the same whole-block budget at one N are timed once). */
  readonly fractions: ReadonlyArray<number>;
  /**
   * Split parts timed for every budget: the last f·N rows (rounded, at least one) for each f in (0, 1) (default 1/2,
   * 1/4: parts in the whole heads' cache regime; with 1/8 and 1/32 the per-row cost of the small parts, whose data
   * stay in L2, left whole 1-block heads underpredicted by 4-5%).
   */
  readonly partFractions?: ReadonlyArray<number>;
  readonly headDim: number;
  readonly blockSize: number;
  readonly precision: Precision;
  /** Steady runs per grid point (the protocol's k; `timing.repeats` wins when both are given). */
  readonly repeats: number;
  readonly seed?: number;
  /** How kernel time is read (see `Clock`). Default: `defaultClock(backend name)`. */
  readonly clock?: Clock;
  /** Protocol settings beyond `repeats` (warm-ups, spread threshold, re-measures, contention tolerances). */
  readonly timing?: Partial<TimingProtocol>;
  readonly onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = {
  contexts: [1024, 4096],
  fractions: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
  partFractions: [0.5, 0.25],
  headDim: 128,
  blockSize: 64,
  precision: 'fp32',
  repeats: DEFAULT_TIMING.repeats,
};

export interface LinearFit {
  readonly intercept: number;
  readonly slope: number;
  /** Ordinary R² of the line, whatever the weighting. */
  readonly r2: number;
  /** |predicted / measured − 1| over the points. */
  readonly relativeError: { readonly median: number; readonly max: number };
  /**
   * 95% confidence intervals of the coefficients, [low, high], from the weighted residuals (Student t, n − 2
   * degrees of freedom; n − 1 for the slope of a fit through the origin). When the fixed cost is constrained to 0,
   * its interval is the unconstrained one clipped at 0.
   */
  readonly confidence: { readonly level: number; readonly intercept: readonly [number, number]; readonly slope: readonly [number, number] };
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; beyond, 1.96 + 2.4/df (within 0.002). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
export const tQuantile975 = (df: number): number => (df < 1 ? Infinity : df <= 30 ? T975[Math.floor(df) - 1]! : 1.96 + 2.4 / df);

/**
 * How the residuals of a fit are weighed. "absolute": ordinary least squares, Σ (y − ŷ)². "relative": Σ ((y − ŷ)/y)²,
 * weighted least squares with weights 1/y², so a 20 ms point counts as much as a 4 s one. Calibration fits
 * relatively: the executor judges a prediction by its relative error per layer, and a plan's per-head tasks sit at
 * the small end of the grid, where absolute least squares (dominated by the largest times) leaves the largest
 * relative errors (backends/webgpu/README.md, "Calibration fit").
 */
export type FitWeighting = 'absolute' | 'relative';

/** A least-squares fit of y = Σ_j coefficients[j] · x_j: what `fitLinearModel` returns. */
export interface LinearModelFit {
  readonly coefficients: ReadonlyArray<number>;
  /** Ordinary R² of the fitted model, whatever the weighting. */
  readonly r2: number;
  /** |predicted / measured − 1| over the points. */
  readonly relativeError: { readonly median: number; readonly max: number };
  /**
   * 95% confidence interval of each coefficient (Student t on the weighted residuals of the fit over the
   * coefficients left free, n − free degrees of freedom). A coefficient held at 0 by its non-negativity constraint
   * gets the unconstrained model's interval clipped at 0.
   */
  readonly confidence: { readonly level: number; readonly intervals: ReadonlyArray<readonly [number, number]> };
}

/** Weighted least squares over the columns in `support` (the others 0): coefficients, weighted SSE, covariance / s². */
const leastSquaresOn = (X: ReadonlyArray<ReadonlyArray<number>>, ys: ReadonlyArray<number>, w: ReadonlyArray<number>, support: ReadonlyArray<number>) => {
  const k = support.length;
  const n = ys.length;
  // Columns scaled to unit max so the normal equations of (1, rows ~1e3, pairs ~1e6) stay well conditioned.
  const scale = support.map((j) => Math.max(1e-300, ...X.map((row) => Math.abs(row[j]!))));
  const A = Array.from({ length: k }, () => new Array<number>(2 * k + 1).fill(0));
  for (let i = 0; i < n; i++) {
    const xi = support.map((j, a) => X[i]![j]! / scale[a]!);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) A[a]![b]! += w[i]! * xi[a]! * xi[b]!;
      A[a]![2 * k]! += w[i]! * xi[a]! * ys[i]!;
    }
  }
  for (let a = 0; a < k; a++) A[a]![k + a] = 1;
  // Gauss-Jordan with partial pivoting on [XᵀWX | I | XᵀWy].
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    if (!(Math.abs(A[piv]![c]!) > 1e-12 * Math.max(1e-300, ...A.map((row, r) => Math.abs(row[r]!))))) return undefined; // singular
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    const d = A[c]![c]!;
    for (let x = 0; x <= 2 * k; x++) A[c]![x]! /= d;
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r]![c]!;
      if (f !== 0) for (let x = 0; x <= 2 * k; x++) A[r]![x]! -= f * A[c]![x]!;
    }
  }
  const beta = new Array<number>(X[0]?.length ?? 0).fill(0);
  support.forEach((j, a) => { beta[j] = A[a]![2 * k]! / scale[a]!; });
  let wsse = 0;
  for (let i = 0; i < n; i++) { let e = ys[i]!; for (const j of support) e -= beta[j]! * X[i]![j]!; wsse += w[i]! * e * e; }
  const variance = new Array<number>(beta.length).fill(NaN);
  support.forEach((j, a) => { variance[j] = A[a]![k + a]! / (scale[a]! * scale[a]!); });
  return { beta, wsse, variance };
};

/**
 * Least squares y ≈ Σ_j coefficients[j] · X[i][j] over the points i, weighted as `weighting` says, with the
 * coefficients flagged in `nonNegative` constrained to ≥ 0 (exactly: the best feasible fit over every subset of
 * the constrained coefficients held at 0, the supports a non-negative least-squares optimum can have). Returns the
 * ordinary R² of the result, its relative errors |ŷ/y − 1| (median, max) and 95% confidence intervals.
 */
export const fitLinearModel = (
  X: ReadonlyArray<ReadonlyArray<number>>, ys: ReadonlyArray<number>, nonNegative: ReadonlyArray<boolean>, weighting: FitWeighting = 'absolute',
): LinearModelFit => {
  const n = ys.length;
  const p = nonNegative.length;
  const w = ys.map((y) => (weighting === 'relative' && y > 0 ? 1 / (y * y) : 1));
  const constrained = nonNegative.flatMap((c, j) => (c ? [j] : []));
  const free = nonNegative.flatMap((c, j) => (c ? [] : [j]));
  const full = leastSquaresOn(X, ys, w, nonNegative.map((_, j) => j));
  let best: { beta: number[]; wsse: number; variance: number[]; support: number[] } | undefined;
  for (let mask = 0; mask < 1 << constrained.length; mask++) {
    const support = [...free, ...constrained.filter((_, i) => (mask & (1 << i)) === 0)].sort((a, b) => a - b);
    const f = mask === 0 ? full // every column: the unconstrained fit, already solved
      : support.length === 0 ? { beta: new Array<number>(p).fill(0), wsse: ys.reduce((s, y, i) => s + w[i]! * y * y, 0), variance: new Array<number>(p).fill(NaN) }
      : leastSquaresOn(X, ys, w, support);
    if (f === undefined || constrained.some((j) => f.beta[j]! < 0)) continue;
    if (best === undefined || f.wsse < best.wsse * (1 - 1e-12) - 1e-300) best = { ...f, support };
  }
  const fit = best ?? { beta: new Array<number>(p).fill(0), wsse: NaN, variance: new Array<number>(p).fill(NaN), support: [] as number[] };
  const ci = (beta: number, variance: number, s2: number, t: number): [number, number] => {
    const half = t * Math.sqrt(s2 * variance);
    return [beta - half, beta + half];
  };
  const dfFit = n - fit.support.length;
  const s2Fit = dfFit > 0 ? fit.wsse / dfFit : NaN;
  const dfFull = n - p;
  const s2Full = full !== undefined && dfFull > 0 ? full.wsse / dfFull : NaN;
  const intervals = nonNegative.map((_, j): [number, number] => {
    if (fit.support.includes(j)) return ci(fit.beta[j]!, fit.variance[j]!, s2Fit, tQuantile975(dfFit));
    const u = full === undefined ? [NaN, NaN] : ci(full.beta[j]!, full.variance[j]!, s2Full, tQuantile975(dfFull));
    return [Math.max(0, u[0]!), Math.max(0, u[1]!)];
  });
  const mean = ys.reduce((a, b) => a + b, 0) / n;
  let sse = 0, syy = 0;
  const rel: number[] = [];
  for (let i = 0; i < n; i++) {
    let e = ys[i]!;
    for (let j = 0; j < p; j++) e -= fit.beta[j]! * X[i]![j]!;
    sse += e * e;
    syy += (ys[i]! - mean) ** 2;
    if (ys[i]! > 0) rel.push(Math.abs(e) / ys[i]!);
  }
  return {
    coefficients: fit.beta, r2: syy > 0 ? 1 - sse / syy : 1,
    relativeError: { median: rel.length > 0 ? median(rel) : 0, max: Math.max(0, ...rel) },
    confidence: { level: 0.95, intervals },
  };
};

/**
 * Least squares y = intercept + slope·x (weighted as `weighting` says): `fitLinearModel` over the columns (1, x).
 * With `nonNegative`, the intercept is constrained to ≥ 0 (a negative fixed cost is meaningless): the constrained
 * optimum then lies on that boundary, the fit through the origin.
 */
export const fitLinear = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>, nonNegative = true, weighting: FitWeighting = 'absolute'): LinearFit => {
  const f = fitLinearModel(xs.map((x) => [1, x]), ys, [nonNegative, false], weighting);
  return {
    intercept: f.coefficients[0]!, slope: f.coefficients[1]!, r2: f.r2, relativeError: f.relativeError,
    confidence: { level: f.confidence.level, intercept: f.confidence.intervals[0]!, slope: f.confidence.intervals[1]! },
  };
};

export function median(xs: ReadonlyArray<number>): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seeded Gaussian [N × d] tensor. */
export const randomTensor = (n: number, d: number, seed: number): Float32Array => {
  const g = gaussian(rng(seed));
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = g();
  return x;
};

export interface CalibrationRun {
  readonly calibration: Calibration;
  /** R² of the cost-model fit (seconds vs W(b, N)). */
  readonly costModelR2: number;
  /** The cost model's relative error over the grid, |predicted / measured − 1|: median and max. */
  readonly costModelRelativeError: { readonly median: number; readonly max: number };
  /** 95% confidence intervals of the cost model's coefficients (seconds, seconds per query row, seconds per token pair). */
  readonly costModelConfidence: {
    readonly level: number; readonly fixed: readonly [number, number]; readonly perQueryRow: readonly [number, number]; readonly perTokenPair: readonly [number, number];
  };
  /** How the grid was timed: spread, re-measures, contention (also in `calibration.timing`). */
  readonly timing: TimingSummary;
  /**
   * The calibration's verdict on its own noise (`calibrationNoise`): noisy when its spread — the median of its
   * points' spreads — exceeds `timing.maxSpread`, or when more than a quarter of its points stay noisy after their
   * re-measures. Single noisy points are listed (`timing.noisyPoints`, per-sample `noisy`) but do not decide it: the
   * fit pools every point, the whole heads and the split parts of every budget.
   */
  readonly noisy: boolean;
}

/** A calibration's noise verdict from its timing summary (`CalibrationRun.noisy`), with the sentence saying why. */
export const calibrationNoise = (t: TimingSummary): { noisy: boolean; reason: string } => {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const wide = t.spread.median > t.protocol.maxSpread;
  const many = t.noisyPoints > NOISY_SHARE * t.points;
  const reason = `spread (median over ${t.points} points) ${pct(t.spread.median)} against ${pct(t.protocol.maxSpread)}; ${t.noisyPoints} points noisy (at most ${Math.floor(NOISY_SHARE * t.points)} allowed)`;
  return { noisy: wide || many, reason };
};

interface GridPoint { n: number; budget: number; start: number; end: number; layout: BlockLayout; p: AttentionParams; x: { q: Float32Array; k: Float32Array; v: Float32Array } }

/** The grid: contexts × fractions, budgets in whole blocks, a budget timed once per context, as a head and as parts. */
const gridPoints = (opts: CalibrationOptions): E.Either<HplbError, GridPoint[]> => {
  const points: GridPoint[] = [];
  for (const n of opts.contexts) {
    const p = makeAttentionParams({ tokens: n, headDim: opts.headDim, blockSize: opts.blockSize, precision: opts.precision });
    if (E.isLeft(p)) return p;
    const seed = opts.seed ?? 1;
    // The executor's inputs (uniform in [−1, 1), `headInputs`): on a CPU the kernel's time depends on the values
    // (exp of large negative scores is cheaper), so calibration and execution must time the same distribution.
    const x = headInputs(seed, -3, 0, 0, n, opts.headDim);
    const seen = new Set<number>();
    for (const f of opts.fractions) {
      // The keys a late row actually attends to, (k − ½)·B for k whole blocks: W(budget, N) is the work priced.
      const budget = budgetKeys(p.right, f * n);
      if (seen.has(budget)) continue;
      seen.add(budget);
      const layout = budgetLayout(p.right, budget);
      if (E.isLeft(layout)) return layout;
      points.push({ n, budget, start: 0, end: n, layout: layout.right, p: p.right, x });
      for (const f of opts.partFractions ?? []) points.push({ n, budget, start: n - Math.max(1, Math.round(f * n)), end: n, layout: layout.right, p: p.right, x });
    }
  }
  return E.right(points);
};

/** The timing protocol of a calibration run: the options' settings and repeats; no wall/CPU check where the clock cannot make one. */
const protocolOf = (opts: Pick<CalibrationOptions, 'timing' | 'repeats'>, clock: Clock) =>
  timingProtocol({
    ...opts.timing,
    repeats: opts.timing?.repeats ?? opts.repeats,
    ...(opts.timing?.maxWallCpuRatio === undefined && !wallCpuCheckApplies(clock) ? { maxWallCpuRatio: null } : {}),
  });

/** Time the grid on a started backend by the timing protocol and fit. Never refuses: see `calibrate` for that. */
export const runCalibration = async (backend: AttentionBackend, info: BackendInfo, opts: CalibrationOptions): Promise<E.Either<HplbError, CalibrationRun>> => {
  const clock = opts.clock ?? defaultClock(info.name);
  const protocol = protocolOf(opts, clock);
  if (E.isLeft(protocol)) return protocol;
  const grid = gridPoints(opts);
  if (E.isLeft(grid)) return grid;
  const points = grid.right;
  if (points.filter((pt) => pt.start === 0 && pt.end === pt.n).length < 2) return E.left(hplbError('argument', [issue('options.fractions', 'at least two grid points (contexts × budgets, distinct whole-block budgets)', points.length)]));
  // The reference kernel (`referenceKernel`) at the smallest context: the executor's devices time the same kernel at
  // their N, so a run at this N can say how fast the machine ran against now.
  const smallest = points.reduce((a, b) => (b.n < a.n ? b : a));
  const ref = referenceKernel(opts.seed ?? 1, smallest.p);
  if (E.isLeft(ref)) return ref;
  const runOnce = async (x: GridPoint['x'], layout: BlockLayout, p: AttentionParams, rows?: { start: number; end: number }) => {
    const { value, reading } = await timeRun(clock, () => backend.sparseAttention(x.q, x.k, x.v, layout, p, rows));
    return E.map(() => reading)(value);
  };
  const rounds = protocol.right.warmups + protocol.right.repeats;
  const measured = await measurePoints(points.length, (i) => runOnce(points[i]!.x, points[i]!.layout, points[i]!.p, { start: points[i]!.start, end: points[i]!.end }), protocol.right, {
    reference: () => runOnce(ref.right.x, ref.right.layout, smallest.p),
    onRound: (r) => opts.onProgress?.(Math.min(r + 1, rounds), rounds),
  });
  if (E.isLeft(measured)) return measured;
  const timings = measured.right.timings;
  const timing = summarizeTimings(timings, protocol.right, clock, measured.right.probes, measured.right.ratios);
  const noise = calibrationNoise(timing);
  const samples = points.map((pt, i) => sampleOf(pt, timings[i]!));
  // Relative least squares, coefficients ≥ 0 (see FitWeighting); the kernel-level fit over whole heads.
  const heads = samples.filter((s) => s.rowStart === 0 && s.rowEnd === s.contextLength);
  const kernel = fitLinear(heads.map((s) => s.blocks), heads.map((s) => s.seconds), true, 'relative');
  const cm = fitLinearModel(samples.map((s) => [1, s.rowEnd - s.rowStart, s.tokenPairs]), samples.map((s) => s.seconds), [true, true, true], 'relative');
  const [fixed, perQueryRow, perTokenPair] = cm.coefficients as [number, number, number];
  const [fixedCi, rowCi, pairCi] = cm.confidence.intervals as [readonly [number, number], readonly [number, number], readonly [number, number]];
  const machine = `${info.device}${info.mode ? `, ${info.mode}` : ''}; clock ${clock}`;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const costModelConfidence = { level: cm.confidence.level, fixed: fixedCi, perQueryRow: rowCi, perTokenPair: pairCi };
  const calibration = {
    format: 'hplb.calibration/1' as const,
    backend: info.name,
    device: info.device,
    precision: opts.precision,
    blockSize: opts.blockSize,
    headDim: opts.headDim,
    costModel: {
      name: `calibrated:${info.name}`,
      unit: 'seconds' as const,
      workModel: 'pairs' as const,
      fixed,
      perTokenPair,
      perQueryRow,
      source: `hplb calibrate --backend ${info.name} on ${machine} (relative least squares: R² ${cm.r2.toFixed(4)}, relative error median ${pct(cm.relativeError.median)} max ${pct(cm.relativeError.max)} over ${samples.length} points (${heads.length} whole heads, ${samples.length - heads.length} split parts), N ∈ {${opts.contexts.join(', ')}}; timing ${noise.noisy ? 'NOISY' : 'quiet'}: ${noise.reason})`,
    },
    fit: { fixedSeconds: kernel.intercept, secondsPerBlock: kernel.slope, r2: kernel.r2 },
    samples,
    date: new Date().toISOString(),
    machine,
    confidence: {
      level: cm.confidence.level,
      costModel: { fixed: fixedCi, perQueryRow: rowCi, perTokenPair: pairCi },
      fit: { fixedSeconds: kernel.confidence.intercept, secondsPerBlock: kernel.confidence.slope },
    },
    costModelR2: cm.r2,
    costModelRelativeError: cm.relativeError,
    // The reference's baseline (10th percentile, `referenceBaseline`): the uncontended end, where the accepted runs were timed.
    reference: { contextLength: smallest.n, keyBlocks: 2, clock, seconds: referenceBaseline(measured.right.probes) ?? NaN, probes: measured.right.probes.length },
    timing,
    noisy: noise.noisy,
  };
  return E.right({ calibration: calibration as unknown as Calibration, costModelR2: cm.r2, costModelRelativeError: cm.relativeError, costModelConfidence, timing, noisy: noise.noisy });
};

/** Blocks a row range computes: the layout's blocks of every query block the rows fall in. */
const rangeBlocks = (layout: BlockLayout, start: number, end: number): number =>
  layout.offsets[Math.ceil(end / layout.blockSize)]! - layout.offsets[Math.floor(start / layout.blockSize)]!;

/** A calibration sample: the grid point (a whole head, or the rows of a split part), its median time, and how that median was measured. */
const sampleOf = (pt: GridPoint, t: PointTiming) => ({
  contextLength: pt.n, budget: pt.budget, rowStart: pt.start, rowEnd: pt.end,
  blocks: pt.start === 0 && pt.end === pt.n ? layoutBlocks(pt.layout) : rangeBlocks(pt.layout, pt.start, pt.end),
  tokenPairs: rowRangeWork(Math.min(pt.budget, pt.n), pt.start, pt.end),
  seconds: t.median, q1: t.q1, q3: t.q3, spread: t.spread, runs: t.samples.length, rejected: t.rejected, remeasures: t.remeasures,
  warmupSeconds: t.warmup[0] ?? null, noisy: t.noisy,
});

/** Options of `calibrate`: the grid and protocol (defaults `DEFAULT_CALIBRATION`, `DEFAULT_TIMING`), plus what to load. */
/** The serving grid (`calibrate` with `serving`; module doc). */
export interface ServingCalibrationOptions {
  /** Hidden sizes H' of the products and GEMVs timed (default `DEFAULT_SERVING_HIDDEN_SIZES`). */
  readonly hiddenSizes?: ReadonlyArray<number>;
  /** Query rows of the projection products (default N/32, N/8, N/2 and N, at least 1). */
  readonly rows?: ReadonlyArray<number>;
  /** The context N of the projections' hidden states and the decode reads (default: the smallest of `contexts`). */
  readonly contextLength?: number;
  /** Decode steps timed together per run, reported per step (default `DEFAULT_DECODE_STEPS`). */
  readonly decodeSteps?: number;
}

/**
 * Default hidden sizes of the serving grid: H' = H·N'/N of 8B-70B models (H = 4096-8192) planned at 32K-128K tokens
 * and run at N' = 1024 (the executor's scaled size): 32 to 256.
 */
export const DEFAULT_SERVING_HIDDEN_SIZES: ReadonlyArray<number> = [32, 64, 128];

/** Decode steps of the serving grid: query heads and KV heads read per step. */
const DECODE_SHAPES: ReadonlyArray<{ heads: number; groups: number }> = [{ heads: 1, groups: 1 }, { heads: 4, groups: 1 }, { heads: 2, groups: 2 }];

/** One sample of the serving grid: what was run, its size in the fit's terms, and how its median was measured. */
export interface ServingSample {
  readonly kind: 'projection' | 'decode';
  readonly hiddenSize: number;
  /** Projection: rows of the product (× H' by H' × 2d). */
  readonly rows?: number;
  readonly flops?: number;
  /** Decode: query heads and KV heads of the step, keys per KV read, reads, bytes (weights and KV) and weight bytes. */
  readonly heads?: number;
  readonly groups?: number;
  readonly keys?: number;
  readonly reads?: number;
  readonly bytes?: number;
  readonly weightBytes?: number;
  readonly seconds: number;
  readonly q1: number;
  readonly q3: number;
  readonly spread: number;
  readonly runs: number;
  readonly rejected: number;
  readonly remeasures: number;
  readonly noisy: boolean;
}

/** A fit of the serving grid: R², relative errors and 95% intervals of its coefficients (in the order of the module doc's formula). */
export interface ServingFit {
  readonly r2: number;
  readonly relativeError: { readonly median: number; readonly max: number };
  readonly confidence: { readonly level: number; readonly intervals: ReadonlyArray<readonly [number, number]> };
}

/** The `serving` block a serving calibration writes (core `ServingCalibrationC` and more). */
export interface ServingCalibration extends ServingCoefficients {
  readonly projection: Required<ServingCoefficients['projection']> & ServingFit;
  readonly decode: Required<ServingCoefficients['decode']> & ServingFit;
  readonly hiddenSizes: ReadonlyArray<number>;
  readonly contextLength: number;
  readonly headDim: number;
  /** Decode steps timed per run (each decode sample is per step). */
  readonly decodeSteps: number;
  readonly samples: ReadonlyArray<ServingSample>;
  readonly timing: TimingSummary;
  readonly noisy: boolean;
  readonly source: string;
}

type ServingPoint =
  | { kind: 'projection'; hidden: number; x: PreparedProjection }
  | { kind: 'decode'; hidden: number; task: DecodeTask; keys: number; bytes: number; weightBytes: number; x: PreparedDecode };

/**
 * Time the serving grid on a started backend by the timing protocol and fit (module doc). A Left: a backend without
 * `matmul`, or bad grid options (`options.serving.*`). Never refuses a noisy run: `calibrate` does.
 */
export const runServingCalibration = async (
  backend: AttentionBackend, info: BackendInfo, opts: Pick<CalibrationOptions, 'headDim' | 'blockSize' | 'precision' | 'repeats' | 'seed' | 'clock' | 'timing' | 'onProgress'> & { readonly contexts: ReadonlyArray<number> },
  serving: ServingCalibrationOptions = {},
): Promise<E.Either<HplbError, ServingCalibration>> => {
  const mm = matmulOf(backend);
  if (E.isLeft(mm)) return mm;
  const clock = opts.clock ?? defaultClock(info.name);
  const protocol = protocolOf(opts, clock);
  if (E.isLeft(protocol)) return protocol;
  const n = serving.contextLength ?? Math.min(...opts.contexts);
  const hiddenSizes = serving.hiddenSizes ?? DEFAULT_SERVING_HIDDEN_SIZES;
  const rows = [...new Set(serving.rows ?? [n / 32, n / 8, n / 2, n].map((r) => Math.max(1, Math.round(r))))];
  const bad = (path: string, expected: string, actual: unknown) => E.left(hplbError('argument', [issue(`options.serving.${path}`, expected, actual)]));
  if (!Number.isInteger(n) || n < 1) return bad('contextLength', 'a positive integer context length', n);
  const badH = hiddenSizes.find((h) => !Number.isInteger(h) || h < 1);
  if (hiddenSizes.length === 0 || badH !== undefined) return bad('hiddenSizes', 'positive integer hidden sizes', badH ?? 'an empty list');
  const decodeSteps = serving.decodeSteps ?? DEFAULT_DECODE_STEPS;
  if (!Number.isInteger(decodeSteps) || decodeSteps < 1) return bad('decodeSteps', 'a whole number of decode steps ≥ 1', decodeSteps);
  const badR = rows.find((r) => !Number.isInteger(r) || r < 1 || r > n);
  if (rows.length < 2 || badR !== undefined) return bad('rows', `at least two row counts, whole numbers in [1, ${n}]`, badR ?? rows);
  const p = makeAttentionParams({ tokens: n, headDim: opts.headDim, blockSize: opts.blockSize, precision: opts.precision });
  if (E.isLeft(p)) return p;
  const params = p.right;
  const seed = opts.seed ?? 1;
  const layer = -5; // inputs no executed layer uses
  const points: ServingPoint[] = [];
  for (const hidden of hiddenSizes) {
    const states = hiddenStates(seed, layer, n, hidden);
    for (const r of rows) points.push({ kind: 'projection', hidden, x: prepareProjection({ kind: 'projection', what: 'qo', head: 0, start: n - r, end: n }, states, seed, layer, hidden, opts.headDim) });
    for (const shape of DECODE_SHAPES)
      for (const budget of [null, Math.max(1, Math.round(n / 4))]) {
        const perGroup = shape.heads / shape.groups;
        const task: DecodeTask = {
          kind: 'decode', heads: Array.from({ length: shape.heads }, (_, h) => h),
          groups: Array.from({ length: shape.groups }, (_, g) => ({ kvHead: g, head: g * perGroup, budget })),
        };
        const x = prepareDecode(task, states, seed, layer, params, hidden, (b) => budgetLayout(params, b));
        if (E.isLeft(x)) return x;
        const keys = x.right.reads.reduce((s, r) => s + decodeKeys(params, r.layout, r.row), 0);
        const weightBytes = decodeWeightBytes(task, hidden, opts.headDim);
        points.push({ kind: 'decode', hidden, task, keys: keys / shape.groups, bytes: weightBytes + RUN_BYTES_PER_ELEMENT * 2 * opts.headDim * keys, weightBytes, x: x.right });
      }
  }
  const ref = referenceKernel(seed, params);
  if (E.isLeft(ref)) return ref;
  const runOnce = async (f: () => Promise<E.Either<HplbError, unknown>>) => {
    const { value, reading } = await timeRun(clock, f);
    return E.map(() => reading)(value);
  };
  const rounds = protocol.right.warmups + protocol.right.repeats;
  const measured = await measurePoints(points.length, async (i) => {
    const pt = points[i]!;
    if (pt.kind === 'projection') return runOnce(() => runProjection(backend, pt.x));
    return E.map((r: Reading) => perStep(r, decodeSteps))(await runOnce(() => runDecode(backend, params, pt.x, decodeSteps)));
  }, protocol.right, {
    reference: () => runOnce(() => backend.sparseAttention(ref.right.x.q, ref.right.x.k, ref.right.x.v, ref.right.layout, params)),
    onRound: (r) => opts.onProgress?.(Math.min(r + 1, rounds), rounds),
  });
  if (E.isLeft(measured)) return measured;
  const timings = measured.right.timings;
  const timing = summarizeTimings(timings, protocol.right, clock, measured.right.probes, measured.right.ratios);
  const noise = calibrationNoise(timing);
  const samples: ServingSample[] = points.map((pt, i) => {
    const t = timings[i]!;
    const stats = { seconds: t.median, q1: t.q1, q3: t.q3, spread: t.spread, runs: t.samples.length, rejected: t.rejected, remeasures: t.remeasures, noisy: t.noisy };
    return pt.kind === 'projection'
      ? { kind: 'projection', hiddenSize: pt.hidden, rows: pt.x.shape.rows, flops: matmulFlops(pt.x.shape), ...stats }
      : { kind: 'decode', hiddenSize: pt.hidden, heads: pt.task.heads.length, groups: pt.task.groups.length, keys: pt.keys, reads: decodeReads(pt.task), bytes: pt.bytes, weightBytes: pt.weightBytes, ...stats };
  });
  const proj = samples.filter((x) => x.kind === 'projection');
  const dec = samples.filter((x) => x.kind === 'decode');
  const pf = fitLinearModel(proj.map((x) => [1, x.rows!, x.flops!]), proj.map((x) => x.seconds), [true, true, true], 'relative');
  const df = fitLinearModel(dec.map((x) => [x.reads!, x.groups!, x.bytes! - x.weightBytes!, x.weightBytes!]), dec.map((x) => x.seconds), [true, true, true, true], 'relative');
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const [fixedSeconds, secondsPerRow, secondsPerFlop] = pf.coefficients as [number, number, number];
  const [readSeconds, kvReadSeconds, secondsPerByte, secondsPerWeightByte] = df.coefficients as [number, number, number, number];
  return E.right({
    projection: { fixedSeconds, secondsPerRow, secondsPerFlop, r2: pf.r2, relativeError: pf.relativeError, confidence: pf.confidence },
    decode: { fixedSeconds: readSeconds, kvReadSeconds, secondsPerByte, secondsPerWeightByte, r2: df.r2, relativeError: df.relativeError, confidence: df.confidence },
    hiddenSizes, contextLength: n, headDim: opts.headDim, decodeSteps, samples, timing, noisy: noise.noisy,
    source: `hplb calibrate --serving --backend ${info.name} on ${info.device}; clock ${clock}: projections over ${proj.length} products (hidden ${hiddenSizes.join(', ')}; rows ${rows.join(', ')}) R² ${pf.r2.toFixed(4)}, relative error median ${pct(pf.relativeError.median)} max ${pct(pf.relativeError.max)}; decode over ${dec.length} steps at N = ${n} R² ${df.r2.toFixed(4)}, relative error median ${pct(df.relativeError.median)} max ${pct(df.relativeError.max)}; timing ${noise.noisy ? 'NOISY' : 'quiet'}: ${noise.reason}`,
  });
};

/** The `hardware` block of a serving calibration: its measured rates (`HardwareOverrides`), those that are positive. */
export const servingHardware = (s: ServingCoefficients): { bf16Flops?: number; gemmEfficiency?: number; hbmBytesPerSecond?: number; hbmEfficiency?: number } => ({
  ...(s.projection.secondsPerFlop > 0 ? { bf16Flops: 1 / s.projection.secondsPerFlop, gemmEfficiency: 1 } : {}),
  ...(s.decode.secondsPerByte > 0 ? { hbmBytesPerSecond: 1 / s.decode.secondsPerByte, hbmEfficiency: 1 } : {}),
});

export interface CalibrateOptions extends Partial<Omit<CalibrationOptions, 'timing'>> {
  /** Protocol settings (warm-ups, repeats, spread threshold, re-measures, contention tolerances). */
  readonly timing?: Partial<TimingProtocol>;
  /** When the backend is given by name: the options of its `createBackend` (e.g. `{ workers: 2 }` for cpu). */
  readonly backendOptions?: Record<string, unknown>;
  /** Return a calibration even when its points spread more than `timing.maxSpread` after every re-measure. */
  readonly force?: boolean;
  /** Also time and fit the serving step's work (module doc): true for the default grid, or the grid's options. */
  readonly serving?: boolean | ServingCalibrationOptions;
}

/**
 * Calibrate a backend: time the grid by the timing protocol, fit the cost model with confidence intervals, and
 * return the `hplb.calibration/1` record (`run.calibration`) with its timing summary. `backend` is a started backend
 * (`createBackend`; the caller keeps it) or a registered name (loaded, used and disposed here). A Left names the
 * option at fault (`options.contexts`, `options.fractions`, `$.backend`, ...), or refuses a noisy calibration
 * (`$.timing.spread`) unless `force` is set.
 */
export const calibrate = async (backend: ResolvedBackend | string, options: CalibrateOptions = {}): Promise<E.Either<HplbError, CalibrationRun>> => {
  const opts: CalibrationOptions = {
    contexts: options.contexts ?? DEFAULT_CALIBRATION.contexts,
    fractions: options.fractions ?? DEFAULT_CALIBRATION.fractions,
    headDim: options.headDim ?? DEFAULT_CALIBRATION.headDim,
    blockSize: options.blockSize ?? DEFAULT_CALIBRATION.blockSize,
    precision: options.precision ?? DEFAULT_CALIBRATION.precision,
    repeats: options.repeats ?? options.timing?.repeats ?? DEFAULT_CALIBRATION.repeats,
    partFractions: options.partFractions ?? DEFAULT_CALIBRATION.partFractions ?? [],
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.timing !== undefined ? { timing: options.timing } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  };
  const bad = opts.contexts.find((n) => !Number.isInteger(n) || n <= 0);
  if (opts.contexts.length === 0 || bad !== undefined) return E.left(hplbError('argument', [issue('options.contexts', 'positive integer context lengths', bad ?? 'an empty list')]));
  const badF = opts.fractions.find((f) => !(f > 0 && f <= 1));
  if (opts.fractions.length === 0 || badF !== undefined) return E.left(hplbError('argument', [issue('options.fractions', 'budget fractions in (0, 1]', badF ?? 'an empty list')]));
  const badP = (opts.partFractions ?? []).find((f) => !(f > 0 && f < 1));
  if (badP !== undefined) return E.left(hplbError('argument', [issue('options.partFractions', 'split-part row fractions in (0, 1)', badP)]));
  if (opts.contexts.length * opts.fractions.length < 2) return E.left(hplbError('argument', [issue('options.fractions', 'at least two grid points (contexts × fractions)', opts.contexts.length * opts.fractions.length)]));
  return withBackend(backend, opts, options.backendOptions, async (started) => {
    // The serving grid first when asked (a backend without matmul is refused before the long attention grid).
    const servingOptions = options.serving === true ? {} : options.serving === false ? undefined : options.serving;
    let serving: ServingCalibration | undefined;
    if (servingOptions !== undefined) {
      const s = await runServingCalibration(started.backend, started.info, opts, servingOptions);
      if (E.isLeft(s)) return s;
      serving = s.right;
    }
    const run0 = await runCalibration(started.backend, started.info, opts);
    const run = serving === undefined ? run0 : E.map((r: CalibrationRun): CalibrationRun => ({
      ...r, calibration: { ...r.calibration, hardware: servingHardware(serving), serving } as unknown as Calibration,
    }))(run0);
    if (E.isLeft(run) || options.force === true) return run;
    if (run.right.noisy) return refuseNoisy('$.timing.spread', run.right.timing);
    if (serving?.noisy === true) return refuseNoisy('$.serving.timing.spread', serving.timing);
    return run;
  });
};

/** A noisy calibration refused (`force` keeps it), at `path`. */
const refuseNoisy = <A>(path: string, t: TimingSummary): E.Either<HplbError, A> => E.left(hplbError('backend', [issueText(path,
  `a calibration whose points spread at most ${(100 * t.protocol.maxSpread).toFixed(1)}% (IQR/median, median over the points) with at most a quarter of them noisy after re-measures (options.force keeps a noisy one)`,
  `${calibrationNoise(t).reason} (${t.note})`)]));

/** Run `f` on a started backend: the one given (kept), or one loaded by name for `opts`' largest context (disposed). */
const withBackend = async <A>(
  backend: ResolvedBackend | string, opts: Pick<CalibrationOptions, 'contexts' | 'headDim' | 'blockSize' | 'precision'>, backendOptions: Record<string, unknown> | undefined,
  f: (started: ResolvedBackend) => Promise<E.Either<HplbError, A>>,
): Promise<E.Either<HplbError, A>> => {
  if (typeof backend !== 'string') return f(backend);
  const requires = makeAttentionParams({ tokens: Math.max(...opts.contexts), headDim: opts.headDim, blockSize: opts.blockSize, precision: opts.precision });
  if (E.isLeft(requires)) return requires;
  const r = await createBackend(backend, { ...(backendOptions ? { backendOptions } : {}), requires: requires.right });
  if (E.isLeft(r)) return r;
  try {
    return await f(r.right);
  } finally {
    await r.right.backend.dispose();
  }
};

/**
 * The serving grid alone (module doc) on a started backend or one loaded by name: the executor's own serving
 * calibration when its cost model came without one. Refuses a noisy grid unless `force` is set.
 */
export const calibrateServing = async (
  backend: ResolvedBackend | string,
  options: Pick<CalibrateOptions, 'headDim' | 'blockSize' | 'precision' | 'repeats' | 'seed' | 'clock' | 'timing' | 'onProgress' | 'backendOptions' | 'force'> & ServingCalibrationOptions & { readonly contextLength: number },
): Promise<E.Either<HplbError, ServingCalibration>> => {
  const opts = {
    contexts: [options.contextLength],
    headDim: options.headDim ?? DEFAULT_CALIBRATION.headDim,
    blockSize: options.blockSize ?? DEFAULT_CALIBRATION.blockSize,
    precision: options.precision ?? DEFAULT_CALIBRATION.precision,
    repeats: options.repeats ?? options.timing?.repeats ?? DEFAULT_CALIBRATION.repeats,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.timing !== undefined ? { timing: options.timing } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  };
  const grid = {
    contextLength: options.contextLength, ...(options.decodeSteps !== undefined ? { decodeSteps: options.decodeSteps } : {}),
    ...(options.hiddenSizes !== undefined ? { hiddenSizes: options.hiddenSizes } : {}),
    ...(options.rows !== undefined ? { rows: options.rows } : {}),
  };
  return withBackend(backend, opts, options.backendOptions, async (started) => {
    const s = await runServingCalibration(started.backend, started.info, opts, grid);
    if (E.isLeft(s) || options.force === true || !s.right.noisy) return s;
    return refuseNoisy('$.serving.timing.spread', s.right.timing);
  });
};
