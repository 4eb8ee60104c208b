/**
 * The calibration runner: times a backend's `sparseAttention` over a grid of context lengths N and token budgets
 * b (the sink+local layout `budgetLayout` builds, the one the executor runs), and fits two linear models:
 *   - kernel level:  seconds = fixedSeconds + secondsPerBlock · computed blocks          (fit.r2)
 *   - cost model:    seconds = fixed + perTokenPair · W(b, N)    (core/src/cost.ts, workModel "pairs", seconds)
 * The result is an `hplb.calibration/1` document that `hplb plan --calibration F` and `hplb execute` use.
 * The grid runs once to warm up (JIT, caches), then `repeats` more times round-robin; each point keeps its fastest
 * time (best of R: on a machine shared with other jobs, interference only ever adds time, and round-robin spreads a
 * burst of it over many points). The executor uses the same statistic.
 * Used by `hplb calibrate`, `hplb execute` (when no calibration file is given) and examples/bench-kernels.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { headWork, hplbError, issue, type Calibration, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel/params.ts';
import { budgetKeys, budgetLayout, layoutBlocks } from '@hplb/core/kernel/layout.ts';
import { gaussian, rng } from '@hplb/core/kernel/synthetic.ts';
import type { AttentionBackend, BackendInfo, Precision } from '@hplb/core/kernel/types.ts';

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
  readonly r2: number;
}

/** Ordinary least squares y = intercept + slope·x, with R². A negative intercept is refitted through the origin. */
export const fitLinear = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>, nonNegative = true): LinearFit => {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2; syy += (ys[i]! - my) ** 2; }
  let slope = sxx > 0 ? sxy / sxx : 0;
  let intercept = my - slope * mx;
  if (nonNegative && intercept < 0) {
    let xy = 0, xx = 0;
    for (let i = 0; i < n; i++) { xy += xs[i]! * ys[i]!; xx += xs[i]! * xs[i]!; }
    slope = xx > 0 ? xy / xx : 0;
    intercept = 0;
  }
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  return { intercept, slope, r2: syy > 0 ? 1 - sse / syy : 1 };
};

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

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
}

/** Time the grid on a started backend and fit. */
export const runCalibration = async (backend: AttentionBackend, info: BackendInfo, opts: CalibrationOptions): Promise<E.Either<HplbError, CalibrationRun>> => {
  const samples: { contextLength: number; budget: number; blocks: number; tokenPairs: number; seconds: number }[] = [];
  let done = 0;
  const clock = opts.clock ?? defaultClock(info.name);
  // Build every grid point first, then time them round-robin: repeat r runs the whole grid once, so a burst of
  // other jobs on a shared machine hits one repeat of many points rather than every repeat of one point.
  const points: { n: number; budget: number; layout: import('@hplb/core/kernel/types.ts').BlockLayout; p: import('@hplb/core/kernel/types.ts').AttentionParams; x: { q: Float32Array; k: Float32Array; v: Float32Array }; best: number }[] = [];
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
  const kernel = fitLinear(samples.map((s) => s.blocks), samples.map((s) => s.seconds));
  const cm = fitLinear(samples.map((s) => s.tokenPairs), samples.map((s) => s.seconds));
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
      source: `hplb calibrate --backend ${info.name} on ${machine} (R² ${cm.r2.toFixed(4)} over ${samples.length} points, N ∈ {${opts.contexts.join(', ')}})`,
    },
    fit: { fixedSeconds: kernel.intercept, secondsPerBlock: kernel.slope, r2: kernel.r2 },
    samples,
    date: new Date().toISOString(),
    machine,
  };
  return E.right({ calibration: calibration as unknown as Calibration, costModelR2: cm.r2 });
};
