/**
 * The timing protocol: ONE way to time kernels, shared by calibration (`calibration.ts`), the plan executor
 * (`executor.ts`, `deviceRunner.ts`), examples/bench-kernels.ts (every backend) and the CUDA backend's
 * backends/cuda/scripts/bench-cuda.ts. Platform-neutral: it never reads a clock itself. A caller's `run` returns a `Reading`
 * (seconds by the chosen clock, plus wall and CPU seconds when it has them, or CUDA-event time), so the statistics
 * and decisions below are pure and tested on synthetic timings (runtime/test/timing.test.ts).
 *
 * The protocol, per point (a grid point of calibration, a head task of the executor, a budget of a benchmark):
 *   1. warm-up: `warmups` runs per point, timed and reported apart (`warmup`), never mixed with steady runs;
 *   2. `repeats` steady runs per point, in INTERLEAVED order: round r runs every point once, in the base order
 *      rotated by r (`interleavedOrder`), so no point is timed back to back and each point takes every position;
 *   3. contention detection, two signals:
 *      - a reference kernel (a fixed small run of the same backend) timed between points: a steady run whose
 *        neighbouring reference time exceeds the baseline (10th percentile of all reference times) by more than
 *        `referenceTolerance`
 *        ran while something else slowed the machine down (another job on the other core shares caches, memory
 *        bandwidth and clocks, even when the CPU clock does not count the other job's time);
 *      - the wall / CPU time ratio of a run, for single-threaded CPU work (`maxWallCpuRatio`; off for GPU
 *        backends, whose thread waits): above it the thread was descheduled;
 *      a contended run is rejected and the point re-measured;
 *      with `normalize` (the default) the reference rule reads: a run is contended when its two neighbouring
 *      reference times differ by more than `referenceTolerance` (the machine changed speed during the run) or one
 *      of them exceeds the baseline more than `maxReferenceRatio` times; every accepted run is then **expressed at
 *      the baseline's speed**, seconds · baseline / (mean of its two neighbouring reference times). A shared host
 *      changes a whole VM's speed by up to 40% for seconds to minutes; rejecting every run of a slow phase leaves
 *      points short of runs and a calibration made in one phase predicting an execution in another, while the
 *      ratio to a reference timed next to the run cancels the phase (measured: drift between the two halves of 40
 *      interleaved rounds 2-3% raw, 0.3-0.7% normalized);
 *   4. statistics over the accepted steady runs: median (the point's time), quartiles, IQR and the relative
 *      spread IQR / median; a point whose spread exceeds `maxSpread` is re-measured too;
 *   5. re-measures are bounded (`maxRemeasures` extra runs per point); a point that still lacks `repeats`
 *      accepted runs, or still spreads more than `maxSpread`, is flagged `noisy`, and so is every output built
 *      on it: the spread and the number of re-measures go into every JSON output (`TimingSummary`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';

// ---------------------------------------------------------------- model

/** The protocol's settings; every field documented with its default (`DEFAULT_TIMING`). */
export interface TimingProtocol {
  /** Runs per point before the steady runs, reported apart (default 1). */
  readonly warmups: number;
  /** Steady runs per point, k (default 5). */
  readonly repeats: number;
  /** Largest relative spread IQR / median a point may keep (default 0.05); above it the point is re-measured, then flagged. */
  readonly maxSpread: number;
  /** Extra runs per point at most, spent on re-measures (default 5). */
  readonly maxRemeasures: number;
  /** A reference time this much above the baseline (10th percentile of the reference times) marks its neighbouring runs as contended (default 0.1). */
  readonly referenceTolerance: number;
  /** Wall / CPU ratio above which a run counts as descheduled (default 1.3); null: not checked (GPU backends, parallel CPU). */
  readonly maxWallCpuRatio: number | null;
  /**
   * Express every run at the reference baseline's speed (default true; module doc, step 3): times are
   * seconds · baseline / (mean of the two neighbouring reference times). Only where a reference kernel is timed.
   */
  readonly normalize: boolean;
  /** With `normalize`: a run next to a reference time above this multiple of the baseline is rejected (default 1.5). */
  readonly maxReferenceRatio: number;
}

/**
 * The share of the units behind one summary figure that may stay noisy before the figure is: a calibration's grid
 * points (its fit pools them all) and an execution's layers (its error is their median). Either figure is also
 * noisy when its units' median spread exceeds `maxSpread`.
 */
export const NOISY_SHARE = 0.25;

export const DEFAULT_TIMING: TimingProtocol = {
  warmups: 1,
  repeats: 5,
  maxSpread: 0.05,
  maxRemeasures: 5,
  referenceTolerance: 0.1,
  maxWallCpuRatio: 1.3,
  normalize: true,
  maxReferenceRatio: 1.5,
};

/** One timed run. `seconds` is what counts (the chosen clock, or device time such as CUDA events). */
export interface Reading {
  readonly seconds: number;
  readonly wallSeconds?: number;
  readonly cpuSeconds?: number;
}

/** A steady run with what contention detection knows about it. */
export interface Sample extends Reading {
  /** The larger of the reference times measured just before and just after the run (absent: no reference kernel). */
  readonly reference?: number;
  /** The reference times just before and just after the run (`normalize` divides by their mean). */
  readonly referenceBefore?: number;
  readonly referenceAfter?: number;
}

/** Robust statistics of a list of times. Quartiles interpolate linearly (numpy's default, type 7). */
export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly iqr: number;
  /** IQR / median (0 when the median is 0). */
  readonly spread: number;
  readonly n: number;
}

/** One point after the protocol: the time that counts (median of accepted runs) with its spread and history. */
export interface PointTiming extends Spread {
  /** Warm-up runs, seconds, in order (reported apart, never part of the median). */
  readonly warmup: ReadonlyArray<number>;
  /** Accepted steady runs, seconds (at the reference baseline's speed under `normalize`), in the order taken. */
  readonly samples: ReadonlyArray<number>;
  /** Steady runs rejected as contended. */
  readonly rejected: number;
  /** Extra runs taken beyond `repeats` (re-measures). */
  readonly remeasures: number;
  /** Still too few accepted runs or too wide a spread after every allowed re-measure. */
  readonly noisy: boolean;
}

/** What every JSON output carries about how its times were measured. */
export interface TimingSummary {
  readonly protocol: TimingProtocol;
  /** The clock the times were read with ("cpu", "wall", "cuda-events", ...). */
  readonly clock: string;
  readonly points: number;
  /** Relative spread (IQR / median) over the points: median and max. */
  readonly spread: { readonly median: number; readonly max: number };
  /** Extra runs taken (sum over points). */
  readonly remeasures: number;
  /** Steady runs rejected as contended (sum over points). */
  readonly rejected: number;
  readonly noisyPoints: number;
  /** True when any point is noisy: the output's numbers carry more noise than `protocol.maxSpread`. */
  readonly noisy: boolean;
  /** First (warm-up) run over the steady median, median over the points: what the warm-up cost. */
  readonly warmupRatio: number;
  /** The reference kernel: baseline (10th percentile), median, highest / baseline, and the share of its times over tolerance. */
  readonly reference?: { readonly baseline: number; readonly median: number; readonly maxRatio: number; readonly probes: number; readonly contended: number };
  /** Wall / CPU over the steady runs (when both were read): median and max. */
  readonly wallCpuRatio?: { readonly median: number; readonly max: number };
  /** One sentence: how noisy the measurement was (what `noisy` means, with the numbers). */
  readonly note: string;
}

// ---------------------------------------------------------------- statistics

/** The q-quantile of xs (linear interpolation between order statistics; q in [0, 1]). NaN for an empty list. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
};

/** Median, quartiles, IQR and relative spread of xs. */
export const spreadOf = (xs: ReadonlyArray<number>): Spread => {
  const median = quantile(xs, 0.5), q1 = quantile(xs, 0.25), q3 = quantile(xs, 0.75);
  const iqr = q3 - q1;
  return { median, q1, q3, iqr, spread: median > 0 ? iqr / median : 0, n: xs.length };
};

/**
 * The order of round r over `count` points: the base order rotated by r. Every round runs every point once; over
 * `count` rounds each point takes every position once; for count > 2 no point runs twice in a row across a round
 * boundary.
 */
export const interleavedOrder = (count: number, round: number): number[] =>
  Array.from({ length: count }, (_, i) => (i + round) % Math.max(1, count));

/** Why a steady run was rejected, or undefined when it is accepted. */
export const contention = (s: Sample, protocol: TimingProtocol, referenceBaseline: number | undefined): 'reference' | 'descheduled' | undefined => {
  const n = normalizing(s, protocol, referenceBaseline);
  if (n !== undefined) {
    const { a, b, baseline } = n;
    if (Math.max(a, b) > Math.min(a, b) * (1 + protocol.referenceTolerance) || Math.max(a, b) > baseline * protocol.maxReferenceRatio) return 'reference';
  } else if (s.reference !== undefined && referenceBaseline !== undefined && referenceBaseline > 0 && s.reference > referenceBaseline * (1 + protocol.referenceTolerance)) return 'reference';
  if (protocol.maxWallCpuRatio !== null && s.wallSeconds !== undefined && s.cpuSeconds !== undefined && s.cpuSeconds > 0 && s.wallSeconds / s.cpuSeconds > protocol.maxWallCpuRatio) return 'descheduled';
  return undefined;
};

/** A run timed between the reference times `before` (absent: none yet) and `after`: what contention and `normalize` read. */
export const sampleBetween = (reading: Reading, before: number | undefined, after: number): Sample =>
  ({ ...reading, reference: Math.max(before ?? after, after), ...(before !== undefined ? { referenceBefore: before } : {}), referenceAfter: after });

/**
 * When `normalize` applies to a run: the two reference times around it (one of them twice when only one was timed)
 * and the baseline; otherwise undefined (normalize off, no baseline, or no reference time next to the run).
 */
const normalizing = (s: Sample, protocol: TimingProtocol, baseline: number | undefined): { a: number; b: number; baseline: number } | undefined => {
  if (!protocol.normalize || baseline === undefined || !(baseline > 0)) return undefined;
  const a = s.referenceBefore ?? s.referenceAfter, b = s.referenceAfter ?? s.referenceBefore;
  return a !== undefined && b !== undefined && a > 0 && b > 0 ? { a, b, baseline } : undefined;
};

/** A run's time as the statistics count it: at the baseline's speed with `normalize` (module doc), else as read. */
export const runTime = (s: Sample, protocol: TimingProtocol, referenceBaseline: number | undefined): number => {
  const n = normalizing(s, protocol, referenceBaseline);
  return n !== undefined ? (s.seconds * 2 * n.baseline) / (n.a + n.b) : s.seconds;
};

/** The state of one point given its runs so far: its statistics, and whether it wants another run. */
export interface Assessment {
  readonly timing: PointTiming;
  /** True while the point lacks `repeats` accepted runs or spreads more than `maxSpread`, and may still be re-measured. */
  readonly remeasure: boolean;
}

/**
 * Judge one point: reject contended runs, take statistics over the accepted ones (over all runs when none is
 * accepted), and decide between "re-measure" (budget left) and "noisy" (budget spent). `extraRuns` is how many
 * runs beyond `repeats` the point has had.
 */
export const assessPoint = (warmup: ReadonlyArray<number>, samples: ReadonlyArray<Sample>, protocol: TimingProtocol, referenceBaseline: number | undefined): Assessment => {
  const accepted = samples.filter((s) => contention(s, protocol, referenceBaseline) === undefined).map((s) => runTime(s, protocol, referenceBaseline));
  const used = accepted.length > 0 ? accepted : samples.map((s) => runTime(s, protocol, referenceBaseline));
  const st = spreadOf(used);
  const extraRuns = Math.max(0, samples.length - protocol.repeats);
  const short = accepted.length < protocol.repeats;
  // The spread is judged once there are enough accepted runs for quartiles to mean something (3 or more).
  const wide = accepted.length >= 3 && st.spread > protocol.maxSpread;
  const unsettled = short || wide;
  const budgetLeft = extraRuns < protocol.maxRemeasures;
  return {
    timing: { ...st, warmup, samples: accepted, rejected: samples.length - accepted.length, remeasures: extraRuns, noisy: unsettled && !budgetLeft },
    remeasure: unsettled && budgetLeft && samples.length >= protocol.repeats,
  };
};

/**
 * The baseline of a list of reference times: their 10th percentile. Interference only ever adds time, so the
 * uncontended time sits at the low end; the 10th percentile rather than the minimum keeps one lucky run from
 * making every other one look contended.
 */
export const referenceBaseline = (probes: ReadonlyArray<number>): number | undefined => (probes.length > 0 ? quantile(probes, 0.1) : undefined);

/** Summarise timed points for a JSON output. */
export const summarizeTimings = (
  timings: ReadonlyArray<PointTiming>, protocol: TimingProtocol, clock: string,
  probes: ReadonlyArray<number> = [], ratios: ReadonlyArray<number> = [],
): TimingSummary => {
  const spreads = timings.map((t) => t.spread);
  const noisyPoints = timings.filter((t) => t.noisy).length;
  const remeasures = timings.reduce((s, t) => s + t.remeasures, 0);
  const rejected = timings.reduce((s, t) => s + t.rejected, 0);
  const warm = timings.filter((t) => t.warmup.length > 0 && t.median > 0).map((t) => t.warmup[0]! / t.median);
  const base = referenceBaseline(probes);
  const spread = { median: spreads.length ? quantile(spreads, 0.5) : 0, max: Math.max(0, ...spreads) };
  const reference = base === undefined ? undefined : {
    baseline: base,
    median: quantile(probes, 0.5),
    maxRatio: base > 0 ? Math.max(...probes) / base : 1,
    probes: probes.length,
    contended: probes.filter((p) => p > base * (1 + protocol.referenceTolerance)).length / probes.length,
  };
  const noisy = noisyPoints > 0;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const note = `${noisy ? 'NOISY' : 'quiet'}: spread (IQR/median) median ${pct(spread.median)}, max ${pct(spread.max)} over ${timings.length} points` +
    ` (threshold ${pct(protocol.maxSpread)}); ${rejected} runs rejected as contended, ${remeasures} re-measured` +
    `${noisy ? `; ${noisyPoints} points still over the threshold or short of ${protocol.repeats} accepted runs` : ''}` +
    `${reference ? `; reference kernel up to ${reference.maxRatio.toFixed(2)}x its best, ${pct(reference.contended)} of probes contended` : ''}`;
  return {
    protocol, clock, points: timings.length, spread, remeasures, rejected, noisyPoints, noisy,
    warmupRatio: warm.length ? quantile(warm, 0.5) : 1,
    ...(reference ? { reference } : {}),
    ...(ratios.length ? { wallCpuRatio: { median: quantile(ratios, 0.5), max: Math.max(...ratios) } } : {}),
    note,
  };
};

// ---------------------------------------------------------------- the runner

export interface MeasureOptions {
  /** The reference kernel, timed before the first steady run and after every `probeEvery` runs. */
  readonly reference?: () => Promise<E.Either<HplbError, Reading>>;
  /** Steady runs between two reference times (default 1: one between every two points). */
  readonly probeEvery?: number;
  /** Called after each steady or re-measure round. */
  readonly onRound?: (round: number, phase: 'warmup' | 'steady' | 'remeasure') => void;
}

export interface MeasuredPoints {
  readonly timings: ReadonlyArray<PointTiming>;
  /** Every reference time, in order. */
  readonly probes: ReadonlyArray<number>;
  /** Wall / CPU ratio of every steady run that read both. */
  readonly ratios: ReadonlyArray<number>;
}

/**
 * Time `count` points by the protocol: warm-up rounds, `repeats` interleaved steady rounds with reference times
 * between runs, then re-measure rounds (interleaved over the points that want them) until every point is settled
 * or out of budget. `run(i)` runs point i once and returns its reading; a Left stops everything.
 */
export const measurePoints = async (
  count: number, run: (index: number) => Promise<E.Either<HplbError, Reading>>, protocol: TimingProtocol = DEFAULT_TIMING, opts: MeasureOptions = {},
): Promise<E.Either<HplbError, MeasuredPoints>> => {
  const warmup: number[][] = Array.from({ length: count }, () => []);
  const samples: Sample[][] = Array.from({ length: count }, () => []);
  const probes: number[] = [];
  const ratios: number[] = [];
  const every = Math.max(1, opts.probeEvery ?? 1);
  let round = 0;
  for (let w = 0; w < protocol.warmups; w++, round++) {
    for (const i of interleavedOrder(count, round)) {
      const r = await run(i);
      if (E.isLeft(r)) return r;
      warmup[i]!.push(r.right.seconds);
    }
    opts.onRound?.(round, 'warmup');
  }
  // Runs since the last reference time, waiting for the next one (each gets the larger of its two neighbours).
  let pending: { point: number; reading: Reading; before: number | undefined }[] = [];
  let last: number | undefined;
  const probe = async (): Promise<E.Either<HplbError, void>> => {
    if (opts.reference === undefined) return E.right(undefined);
    const r = await opts.reference();
    if (E.isLeft(r)) return r;
    const t = r.right.seconds;
    probes.push(t);
    for (const p of pending) samples[p.point]!.push(sampleBetween(p.reading, p.before, t));
    pending = [];
    last = t;
    return E.right(undefined);
  };
  const flush = () => {
    for (const p of pending) samples[p.point]!.push(p.reading);
    pending = [];
  };
  const once = async (i: number, sinceProbe: number): Promise<E.Either<HplbError, number>> => {
    const r = await run(i);
    if (E.isLeft(r)) return r;
    const { wallSeconds: w, cpuSeconds: c } = r.right;
    if (w !== undefined && c !== undefined && c > 0) ratios.push(w / c);
    if (opts.reference === undefined) samples[i]!.push(r.right);
    else pending.push({ point: i, reading: r.right, before: last });
    if (opts.reference !== undefined && sinceProbe + 1 >= every) {
      const p = await probe();
      if (E.isLeft(p)) return p;
      return E.right(0);
    }
    return E.right(sinceProbe + 1);
  };
  if (opts.reference !== undefined) {
    // The reference kernel's own warm-up (not counted), then the first reference time.
    const r = await opts.reference();
    if (E.isLeft(r)) return r;
    const p = await probe();
    if (E.isLeft(p)) return p;
  }
  let since = 0;
  for (let k = 0; k < protocol.repeats; k++, round++) {
    for (const i of interleavedOrder(count, round)) {
      const s = await once(i, since);
      if (E.isLeft(s)) return s;
      since = s.right;
    }
    opts.onRound?.(round, 'steady');
  }
  if (pending.length > 0) { const p = await probe(); if (E.isLeft(p)) return p; since = 0; }
  flush();
  for (;;) {
    const base = referenceBaseline(probes);
    const want = samples.map((s, i) => assessPoint(warmup[i]!, s, protocol, base)).flatMap((a, i) => (a.remeasure ? [i] : []));
    if (want.length === 0) break;
    for (const j of interleavedOrder(want.length, round)) {
      const s = await once(want[j]!, since);
      if (E.isLeft(s)) return s;
      since = s.right;
    }
    if (pending.length > 0) { const p = await probe(); if (E.isLeft(p)) return p; since = 0; }
    flush();
    opts.onRound?.(round++, 'remeasure');
  }
  const base = referenceBaseline(probes);
  return E.right({ timings: samples.map((s, i) => assessPoint(warmup[i]!, s, protocol, base).timing), probes, ratios });
};

/** A protocol with some settings replaced (undefined values keep the default), checked: a Left names the option. */
export const timingProtocol = (o: Partial<TimingProtocol> = {}, base: TimingProtocol = DEFAULT_TIMING): E.Either<HplbError, TimingProtocol> => {
  const p: TimingProtocol = {
    warmups: o.warmups ?? base.warmups,
    repeats: o.repeats ?? base.repeats,
    maxSpread: o.maxSpread ?? base.maxSpread,
    maxRemeasures: o.maxRemeasures ?? base.maxRemeasures,
    referenceTolerance: o.referenceTolerance ?? base.referenceTolerance,
    maxWallCpuRatio: o.maxWallCpuRatio === undefined ? base.maxWallCpuRatio : o.maxWallCpuRatio,
    normalize: o.normalize ?? base.normalize,
    maxReferenceRatio: o.maxReferenceRatio ?? base.maxReferenceRatio,
  };
  const bad = (path: string, expected: string, actual: unknown): E.Either<HplbError, TimingProtocol> =>
    E.left(hplbError('argument', [issue(path, expected, actual)]));
  if (!Number.isInteger(p.warmups) || p.warmups < 0) return bad('options.warmups', 'a warm-up count ≥ 0', p.warmups);
  if (!Number.isInteger(p.repeats) || p.repeats < 1) return bad('options.repeats', 'a positive repeat count', p.repeats);
  if (!(p.maxSpread >= 0)) return bad('options.maxSpread', 'a relative spread ≥ 0', p.maxSpread);
  if (!Number.isInteger(p.maxRemeasures) || p.maxRemeasures < 0) return bad('options.maxRemeasures', 'a re-measure count ≥ 0', p.maxRemeasures);
  if (!(p.referenceTolerance >= 0)) return bad('options.referenceTolerance', 'a tolerance ≥ 0', p.referenceTolerance);
  if (typeof p.normalize !== 'boolean') return bad('options.normalize', 'true or false', p.normalize);
  if (!(p.maxReferenceRatio >= 1)) return bad('options.maxReferenceRatio', 'a ratio ≥ 1', p.maxReferenceRatio);
  if (p.maxWallCpuRatio !== null && !(p.maxWallCpuRatio >= 1)) return bad('options.maxWallCpuRatio', 'a ratio ≥ 1, or null', p.maxWallCpuRatio);
  return E.right(p);
};
