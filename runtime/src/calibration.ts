/**
 * The calibration runner: times a backend's `sparseAttention` over a grid of context lengths N and token budgets
 * b (the sink+local layout `budgetLayout` builds, the one the executor runs), and fits two linear models:
 *   - kernel level:  seconds = fixedSeconds + secondsPerBlock · computed blocks          (fit.r2)
 *   - cost model:    seconds = fixed + perTokenPair · W(b, N)    (core/src/cost.ts, workModel "pairs", seconds)
 * both by relative least squares with a fixed cost ≥ 0 (`fitLinear`, `FitWeighting`).
 * The result is an `hplb.calibration/1` document that `hplb plan --calibration F` and `hplb execute` use.
 * The grid runs once to warm up (JIT, caches), then `repeats` more times round-robin; each point keeps its fastest
 * time (best of R: on a machine shared with other jobs, interference only ever adds time, and round-robin spreads a
 * burst of it over many points). The executor uses the same statistic.
 * Used by `hplb calibrate`, `hplb execute` (when no calibration file is given) and examples/bench-kernels.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { headWork, hplbError, issue, type Calibration, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetKeys, budgetLayout, layoutBlocks } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { AttentionBackend, BackendInfo, Precision } from '@hplb/core/kernel';

export interface CalibrationOptions {
  readonly contexts: ReadonlyArray<number>;
  /** Budgets as fractions of N. */
  readonly fractions: ReadonlyArray<number>;
  readonly headDim: number;
  readonly blockSize: number;
  readonly precision: Precision;
  readonly repeats: number;
  readonly seed?: number;
  /** How kernel time is read (see `Clock`). Default: `defaultClock(backend name)`. */
  readonly clock?: Clock;
  readonly onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = {
  contexts: [1024, 2048],
  fractions: [0.05, 0.1, 0.2, 0.35, 0.5, 0.75],
  headDim: 128,
  blockSize: 64,
  precision: 'fp32',
  repeats: 3,
};

/**
 * "wall": elapsed time (GPU backends: the device works while the thread waits).
 * "cpu": process CPU time (user + system) of the run, for the CPU backend on a machine shared with other jobs:
 * other processes then do not inflate the measurement. Valid while one thread computes at a time.
 */
export type Clock = 'wall' | 'cpu';
export const CLOCKS: ReadonlyArray<Clock> = ['wall', 'cpu'];
export const defaultClock = (backend: string): Clock => (backend === 'cpu' ? 'cpu' : 'wall');

/** A reading of the clock in seconds. */
export const clockNow = (clock: Clock): number => {
  if (clock === 'wall') return performance.now() / 1000;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export interface LinearFit {
  readonly intercept: number;
  readonly slope: number;
  /** Ordinary R² of the line, whatever the weighting. */
  readonly r2: number;
  /** |predicted / measured − 1| over the points. */
  readonly relativeError: { readonly median: number; readonly max: number };
}

/**
 * How the residuals of a fit are weighed. "absolute": ordinary least squares, Σ (y − ŷ)². "relative": Σ ((y − ŷ)/y)²,
 * weighted least squares with weights 1/y², so a 20 ms point counts as much as a 4 s one. Calibration fits
 * relatively: the executor judges a prediction by its relative error per layer, and a plan's per-head tasks sit at
 * the small end of the grid, where absolute least squares (dominated by the largest times) leaves the largest
 * relative errors (backends/webgpu/README.md, "Calibration fit").
 */
export type FitWeighting = 'absolute' | 'relative';

/**
 * Least squares y = intercept + slope·x (weighted as `weighting` says), with the ordinary R² of the resulting line
 * and its relative errors |ŷ/y − 1| (median, max). With `nonNegative`, a negative intercept is constrained to 0 (a
 * negative fixed cost is meaningless): the constrained optimum then lies on that boundary, the fit through the
 * origin.
 */
export const fitLinear = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>, nonNegative = true, weighting: FitWeighting = 'absolute'): LinearFit => {
  const n = xs.length;
  const w = ys.map((y) => (weighting === 'relative' && y > 0 ? 1 / (y * y) : 1));
  const W = w.reduce((a, b) => a + b, 0);
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += w[i]! * xs[i]!; my += w[i]! * ys[i]!; }
  mx /= W; my /= W;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { sxy += w[i]! * (xs[i]! - mx) * (ys[i]! - my); sxx += w[i]! * (xs[i]! - mx) ** 2; }
  let slope = sxx > 0 ? sxy / sxx : 0;
  let intercept = my - slope * mx;
  if (nonNegative && intercept < 0) {
    let xy = 0, xx = 0;
    for (let i = 0; i < n; i++) { xy += w[i]! * xs[i]! * ys[i]!; xx += w[i]! * xs[i]! * xs[i]!; }
    slope = xx > 0 ? xy / xx : 0;
    intercept = 0;
  }
  const mean = ys.reduce((a, b) => a + b, 0) / n;
  let sse = 0, syy = 0;
  const rel: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = ys[i]! - intercept - slope * xs[i]!;
    sse += e * e;
    syy += (ys[i]! - mean) ** 2;
    if (ys[i]! > 0) rel.push(Math.abs(e) / ys[i]!);
  }
  return {
    intercept, slope, r2: syy > 0 ? 1 - sse / syy : 1,
    relativeError: { median: rel.length > 0 ? median(rel) : 0, max: Math.max(0, ...rel) },
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
}

/** Time the grid on a started backend and fit. */
export const runCalibration = async (backend: AttentionBackend, info: BackendInfo, opts: CalibrationOptions): Promise<E.Either<HplbError, CalibrationRun>> => {
  const samples: { contextLength: number; budget: number; blocks: number; tokenPairs: number; seconds: number }[] = [];
  let done = 0;
  const clock = opts.clock ?? defaultClock(info.name);
  // Build every grid point first, then time them round-robin: repeat r runs the whole grid once, so a burst of
  // other jobs on a shared machine hits one repeat of many points rather than every repeat of one point.
  const points: { n: number; budget: number; layout: import('@hplb/core/kernel').BlockLayout; p: import('@hplb/core/kernel').AttentionParams; x: { q: Float32Array; k: Float32Array; v: Float32Array }; best: number }[] = [];
  for (const n of opts.contexts) {
    const p = makeAttentionParams({ tokens: n, headDim: opts.headDim, blockSize: opts.blockSize, precision: opts.precision });
    if (E.isLeft(p)) return p;
    const seed = opts.seed ?? 1;
    const x = { q: randomTensor(n, opts.headDim, seed), k: randomTensor(n, opts.headDim, seed + 1), v: randomTensor(n, opts.headDim, seed + 2) };
    for (const f of opts.fractions) {
      // The keys a late row actually attends to, (k − ½)·B for k whole blocks: W(budget, N) is the work priced.
      const budget = budgetKeys(p.right, f * n);
      const layout = budgetLayout(p.right, budget);
      if (E.isLeft(layout)) return layout;
      points.push({ n, budget, layout: layout.right, p: p.right, x, best: Infinity });
    }
  }
  for (let r = 0; r <= opts.repeats; r++) {
    for (const pt of points) {
      const t0 = clockNow(clock);
      const out = await backend.sparseAttention(pt.x.q, pt.x.k, pt.x.v, pt.layout, pt.p);
      const dt = clockNow(clock) - t0;
      if (E.isLeft(out)) return out;
      if (r > 0) pt.best = Math.min(pt.best, dt); // r = 0 is the warm-up
    }
    opts.onProgress?.(++done, opts.repeats + 1);
  }
  for (const pt of points) samples.push({ contextLength: pt.n, budget: pt.budget, blocks: layoutBlocks(pt.layout), tokenPairs: headWork(pt.budget, pt.n), seconds: pt.best });
  if (samples.length < 2) return E.left(hplbError('argument', [issue('$.grid', 'at least two grid points (contexts × budgets)', samples.length)]));
  // Relative least squares, fixed cost ≥ 0 (see FitWeighting).
  const kernel = fitLinear(samples.map((s) => s.blocks), samples.map((s) => s.seconds), true, 'relative');
  const cm = fitLinear(samples.map((s) => s.tokenPairs), samples.map((s) => s.seconds), true, 'relative');
  const machine = `${info.device}${info.mode ? `, ${info.mode}` : ''}; clock ${clock}`;
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
      fixed: cm.intercept,
      perTokenPair: cm.slope,
      source: `hplb calibrate --backend ${info.name} on ${machine} (relative least squares: R² ${cm.r2.toFixed(4)}, relative error median ${(cm.relativeError.median * 100).toFixed(1)}% max ${(cm.relativeError.max * 100).toFixed(1)}% over ${samples.length} points, N ∈ {${opts.contexts.join(', ')}})`,
    },
    fit: { fixedSeconds: kernel.intercept, secondsPerBlock: kernel.slope, r2: kernel.r2 },
    samples,
    date: new Date().toISOString(),
    machine,
  };
  return E.right({ calibration: calibration as unknown as Calibration, costModelR2: cm.r2, costModelRelativeError: cm.relativeError });
};
