/**
 * The timing protocol's statistics and decisions on synthetic timings: quantiles, median and IQR, the interleaved
 * order, contention (reference kernel, wall / CPU), re-measures and the noisy flag, the summary every JSON output
 * carries, and the executor's per-layer statistics built on them. Deterministic: no real clock in any assertion.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import {
  assessPoint, contention, DEFAULT_TIMING, interleavedOrder, layerStatistics, makespanErrorSummary, measurePoints, quantile,
  referenceBaseline, runTime, sampleLayers, settleHeap, settleHeapWith, settlesHeap, spreadOf, summarizeTimings, timeRun, timingProtocol,
  type PointTiming, type Reading, type TimingProtocol,
} from '@hplb/runtime';

const P: TimingProtocol = { ...DEFAULT_TIMING, warmups: 1, repeats: 5, maxSpread: 0.05, maxRemeasures: 4, referenceTolerance: 0.1, maxWallCpuRatio: 1.3 };
const at = (seconds: number): Promise<E.Either<never, Reading>> => Promise.resolve(E.right({ seconds }));

test('quantiles interpolate linearly; median, quartiles, IQR and the relative spread', () => {
  assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
  assert.deepEqual(spreadOf([5, 1, 4, 2, 3]), { median: 3, q1: 2, q3: 4, iqr: 2, spread: 2 / 3, n: 5 });
  const even = spreadOf([4, 1, 3, 2]);
  assert.deepEqual([even.median, even.q1, even.q3], [2.5, 1.75, 3.25]);
  assert.equal(spreadOf([7]).iqr, 0);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.equal(spreadOf([0, 0, 0]).spread, 0);
});

test('interleaved order: every round a permutation, every position taken once per point, no point twice in a row', () => {
  for (const count of [1, 2, 3, 5, 8]) {
    const rounds = Array.from({ length: count }, (_, r) => interleavedOrder(count, r));
    for (const o of rounds) assert.deepEqual([...o].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
    for (let pos = 0; pos < count; pos++) assert.equal(new Set(rounds.map((o) => o[pos])).size, count, `position ${pos} of ${count}`);
    if (count > 2) {
      const seq = Array.from({ length: 3 * count }, (_, r) => interleavedOrder(count, r)).flat();
      for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1]);
    }
  }
});

test('contention: a slow neighbouring reference time or a descheduled run is rejected; the check can be off', () => {
  assert.equal(contention({ seconds: 1, reference: 1.05 }, P, 1), undefined);
  assert.equal(contention({ seconds: 1, reference: 1.2 }, P, 1), 'reference');
  assert.equal(contention({ seconds: 1, wallSeconds: 2, cpuSeconds: 1 }, P, undefined), 'descheduled');
  assert.equal(contention({ seconds: 1, wallSeconds: 2, cpuSeconds: 1 }, { ...P, maxWallCpuRatio: null }, undefined), undefined);
  assert.equal(contention({ seconds: 1, wallSeconds: 0.5, cpuSeconds: 1 }, P, undefined), undefined); // parallel work
  assert.equal(referenceBaseline([3, 1, 2, 5, 4, 6, 7, 8, 9, 10, 11]), 2);
  assert.equal(referenceBaseline([]), undefined);
});

test('assessPoint: median of accepted runs; a wide or short point is re-measured while budget lasts, then flagged noisy', () => {
  const quiet = assessPoint([9], [1, 1.01, 0.99, 1, 1.02].map((seconds) => ({ seconds })), P, undefined);
  assert.equal(quiet.remeasure, false);
  assert.equal(quiet.timing.median, 1);
  assert.deepEqual(quiet.timing.warmup, [9]);
  assert.equal(quiet.timing.noisy, false);
  // two runs next to a slow reference: rejected, so the point is short of 5 accepted runs and wants more
  const hit = [1, 1, 1.5, 1.6, 1].map((seconds, i) => ({ seconds, reference: i === 2 || i === 3 ? 2 : 1 }));
  const a = assessPoint([], hit, P, 1);
  assert.deepEqual([a.timing.rejected, a.timing.median, a.remeasure, a.timing.noisy], [2, 1, true, false]);
  // wide spread, budget spent (5 + 4 runs): noisy, not re-measured
  const wide = [1, 2, 1, 2, 1, 2, 1, 2, 1].map((seconds) => ({ seconds }));
  const w = assessPoint([], wide, P, undefined);
  assert.deepEqual([w.remeasure, w.timing.noisy, w.timing.remeasures], [false, true, 4]);
  // before the steady runs are all in, a point is never re-measured
  assert.equal(assessPoint([], [{ seconds: 1 }], P, undefined).remeasure, false);
});

test('measurePoints: warm-up apart, interleaved rounds, exact medians on quiet synthetic timings', async () => {
  const calls: number[] = [];
  const base = [0.01, 0.02, 0.03];
  const seen = [0, 0, 0];
  const r = await measurePoints(3, (i) => { calls.push(i); return at(seen[i]!++ === 0 ? 10 * base[i]! : base[i]!); }, P);
  assert.ok(E.isRight(r));
  const { timings } = r.right;
  assert.deepEqual(timings.map((t) => t.median), base);
  assert.deepEqual(timings.map((t) => t.warmup), base.map((b) => [10 * b])); // the first run is reported apart
  assert.deepEqual(timings.map((t) => [t.iqr, t.remeasures, t.rejected, t.noisy]), base.map(() => [0, 0, 0, false]));
  assert.deepEqual(calls, [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2, 1, 2, 0, 2, 0, 1]); // rounds rotate
});

test('measurePoints: runs next to a slow reference time are rejected and re-measured; the median excludes them', async () => {
  // reference times: fast except the 4th probe (a burst of another job); runs on either side of it are inflated 50%
  let probe = 0;
  let burst = false;
  const reference = () => { probe++; burst = probe === 4; return at(burst ? 0.02 : 0.01); };
  const r = await measurePoints(2, () => at(burst ? 0.15 : 0.1), { ...P, warmups: 0 }, { reference });
  assert.ok(E.isRight(r));
  const t = r.right.timings;
  assert.deepEqual(t.map((x) => x.median), [0.1, 0.1]);
  assert.ok(t.reduce((s, x) => s + x.rejected, 0) >= 1);
  assert.ok(t.some((x) => x.remeasures > 0));
  assert.ok(t.every((x) => !x.noisy && x.samples.length >= 5 && x.samples.every((s) => s === 0.1)));
  const summary = summarizeTimings(t, P, 'synthetic', r.right.probes);
  assert.equal(summary.noisy, false);
  assert.match(summary.note, /^quiet: /);
  assert.ok(summary.reference!.maxRatio === 2 && summary.reference!.contended > 0);
});

test('measurePoints: persistent noise is re-measured up to the budget, then flagged noisy in the summary', async () => {
  let k = 0;
  const r = await measurePoints(2, () => at(k++ % 2 === 0 ? 1 : 1.5), P);
  assert.ok(E.isRight(r));
  const t = r.right.timings;
  assert.ok(t.every((x) => x.noisy && x.remeasures === P.maxRemeasures));
  const s = summarizeTimings(t, P, 'synthetic');
  assert.deepEqual([s.noisy, s.noisyPoints, s.remeasures], [true, 2, 2 * P.maxRemeasures]);
  assert.match(s.note, /^NOISY: /);
  assert.ok(s.spread.max > P.maxSpread);
});

test('measurePoints: descheduled runs (wall / CPU over the threshold) are rejected', async () => {
  let k = 0;
  const r = await measurePoints(1, () => { k++; return Promise.resolve(E.right(k === 3 ? { seconds: 1.3, wallSeconds: 3, cpuSeconds: 1.3 } : { seconds: 1, wallSeconds: 1, cpuSeconds: 1 })); }, P);
  assert.ok(E.isRight(r));
  assert.deepEqual([r.right.timings[0]!.median, r.right.timings[0]!.rejected, r.right.timings[0]!.remeasures], [1, 1, 1]);
  assert.ok(r.right.ratios.some((x) => x > 2));
});

test('measurePoints stops at the first failure; protocol options are checked by name', async () => {
  const r = await measurePoints(2, (i) => Promise.resolve(i === 1 ? E.left({ code: 'backend' as const, issues: [{ path: '$.backend', expected: 'x' }] }) : E.right({ seconds: 1 })), P);
  assert.ok(E.isLeft(r) && r.left.issues[0]!.path === '$.backend');
  for (const [o, path] of [[{ repeats: 0 }, 'options.repeats'], [{ maxSpread: -1 }, 'options.maxSpread'], [{ maxWallCpuRatio: 0.5 }, 'options.maxWallCpuRatio'], [{ warmups: 1.5 }, 'options.warmups']] as const) {
    const p = timingProtocol(o);
    assert.ok(E.isLeft(p) && p.left.issues[0]!.path === path, path);
  }
  assert.deepEqual(timingProtocol({ maxWallCpuRatio: null }), E.right({ ...DEFAULT_TIMING, maxWallCpuRatio: null }));
});

const point = (median: number, q1: number, q3: number, extra: Partial<PointTiming> = {}): PointTiming =>
  ({ median, q1, q3, iqr: q3 - q1, spread: (q3 - q1) / median, n: 5, warmup: [2 * median], samples: [], rejected: 0, remeasures: 0, noisy: false, ...extra });

test('executor statistics: device busy = Σ task medians / speed, the layer range from the quartiles, the error summary states the noise', () => {
  const timings = [[point(1, 0.9, 1.1), point(2, 1.9, 2.2)], [point(2, 2, 2.1, { remeasures: 2, rejected: 1 })]];
  const s = layerStatistics(timings, [1, 0.5], 3, { maxSpread: 0.06, repeats: 0 });
  assert.deepEqual(s.measuredDeviceBusy, [3, 4]);
  assert.equal(s.measured, 4);
  assert.deepEqual(s.measuredRange, [4, 4.2]);
  assert.ok(Math.abs(s.error - 1 / 3) < 1e-12);
  assert.ok(Math.abs(s.errorRange[0] - 1 / 3) < 1e-12 && Math.abs(s.errorRange[1] - 0.4) < 1e-12);
  assert.ok(Math.abs(s.spread - 0.05) < 1e-12);
  assert.deepEqual([s.warmupSeconds, s.remeasures, s.rejected, s.noisy], [8, 2, 1, false]);
  const quiet = makespanErrorSummary([{ predicted: 1, measured: 1.02, spread: 0.01, noisy: false }, { predicted: 1, measured: 0.96, spread: 0.03, noisy: false }], P);
  assert.ok(Math.abs(quiet.median - 0.03) < 1e-12 && Math.abs(quiet.max - 0.04) < 1e-12);
  assert.deepEqual([quiet.noisy, quiet.noisyLayers, quiet.spread.max], [false, 0, 0.03]);
  assert.match(quiet.note, /^quiet: /);
  const noisy = makespanErrorSummary([{ predicted: 1, measured: 1.3, spread: 0.2, noisy: true }], P);
  assert.deepEqual([noisy.noisy, noisy.noisyLayers], [true, 1]);
  assert.match(noisy.note, /^NOISY: 1 of 1 layers/);
});

test('a layer is noisy when its makespan spreads over maxSpread, whatever single tasks do; noisy tasks are counted', () => {
  // Device 0: one task spreading 20% (noisy after its re-measures) among steady ones: the layer's makespan at the
  // tasks' quartiles is 15.825-16.175 of 16, a 2.2% spread.
  const steady = (m: number) => point(m, m * 0.995, m * 1.005);
  const wild = point(1, 0.9, 1.1, { noisy: true });
  const held = layerStatistics([[wild, steady(5), steady(5), steady(5)], [steady(10)]], [1, 1], 10, { maxSpread: 0.05, repeats: 0 });
  assert.ok(held.spread < 0.05, String(held.spread));
  assert.deepEqual([held.noisy, held.noisyTasks], [false, 1]);
  // The same layer against a 0.5% threshold is noisy.
  const strict = layerStatistics([[wild, steady(5), steady(5), steady(5)], [steady(10)]], [1, 1], 10, { maxSpread: 0.005, repeats: 0 });
  assert.deepEqual([strict.noisy, strict.noisyTasks], [true, 1]);
  // A task left with fewer accepted runs than `repeats` (contended throughout) leaves the layer unresolved, however
  // narrow its quartiles look: one accepted run has no spread at all.
  const full = (m: number) => point(m, m, m, { samples: [m, m, m] });
  assert.equal(layerStatistics([[full(5), full(5)], [full(9)]], [1, 1], 10, { maxSpread: 0.05, repeats: 3 }).noisy, false);
  const short = layerStatistics([[full(5), point(5, 5, 5, { samples: [5] })], [full(9)]], [1, 1], 10, { maxSpread: 0.05, repeats: 3 });
  assert.deepEqual([short.spread, short.noisy], [0, true]);
});

test('speed against calibration: each layer at calibration speed, the summary flags a drift beyond maxSpread', () => {
  // Layer errors of +40% that are all machine speed: the reference kernel took 1.4x its calibration time.
  const layer = (predicted: number, measured: number, speed: number) =>
    ({ predicted, measured, spread: 0.01, noisy: false, speed, atCalibrationSpeed: { measured: measured / speed, error: measured / speed / predicted - 1 } });
  const drift = makespanErrorSummary([layer(1, 1.4, 1.4), layer(1, 1.43, 1.4), layer(2, 2.8, 1.38)], P);
  assert.ok(Math.abs(drift.median - 0.4) < 1e-12);
  assert.ok(drift.atCalibrationSpeed !== undefined && drift.atCalibrationSpeed.median < 0.015 && drift.atCalibrationSpeed.max < 0.025);
  assert.deepEqual([drift.speed?.median, drift.speed?.min, drift.speed?.max, drift.speed?.drift, drift.noisy, drift.noisyLayers], [1.4, 1.38, 1.4, true, true, 0]);
  assert.match(drift.note, /^NOISY \(speed drift\): .*DRIFT: the reference kernel took 1\.400x its calibration time/);
  // Within maxSpread of calibration speed: no drift, quiet, and the note still gives the speed.
  const steady = makespanErrorSummary([layer(1, 1.02, 1.01), layer(1, 0.99, 0.99)], P);
  assert.deepEqual([steady.speed?.drift, steady.noisy], [false, false]);
  assert.match(steady.note, /^quiet: .*reference kernel took 1\.000x/);
  // No speed (no comparable calibration reference): no speed fields at all.
  // The run's verdict is on its median: one noisy layer of 8 leaves it resolved; 3 of 8, or a median spread over
  // maxSpread, do not.
  const layers = (noisy: number, spread = 0.02) => Array.from({ length: 8 }, (_, i) => ({ predicted: 1, measured: 1.01, spread: i < noisy ? 0.2 : spread, noisy: i < noisy }));
  assert.deepEqual([makespanErrorSummary(layers(1), P).noisy, makespanErrorSummary(layers(1), P).noisyLayers], [false, 1]);
  assert.match(makespanErrorSummary(layers(1), P).note, /^quiet: 1 of 8 layers noisy \(at most 2 allowed\)/);
  assert.equal(makespanErrorSummary(layers(2), P).noisy, false);
  assert.equal(makespanErrorSummary(layers(3), P).noisy, true);
  assert.equal(makespanErrorSummary(layers(0, 0.06), P).noisy, true, 'the median layer spreads over 5%');
  const none = makespanErrorSummary([{ predicted: 1, measured: 1.02, spread: 0.01, noisy: false }], P);
  assert.equal(none.speed, undefined);
  assert.equal(none.atCalibrationSpeed, undefined);
});

test('the executor\'s layer sample: first K layers, or S evenly spaced including the first and the last', () => {
  assert.deepEqual(sampleLayers(32), [0, 4, 9, 13, 18, 22, 27, 31]);
  assert.deepEqual(sampleLayers(32, 3), [0, 1, 2]);
  assert.deepEqual(sampleLayers(6), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(sampleLayers(32, undefined, 'all').length, 32);
  assert.deepEqual(sampleLayers(80, undefined, 2), [0, 79]);
});

test('timeRun settles the heap before every run, untimed, and reads wall and CPU seconds', async () => {
  assert.equal(settlesHeap(), settleHeap !== undefined); // @hplb/runtime registers V8's collection
  let settled = 0;
  settleHeapWith(() => { settled++; });
  try {
    const { value, reading } = await timeRun('wall', async () => 42);
    assert.equal(value, 42);
    assert.equal(settled, 1);
    assert.ok(reading.seconds >= 0 && reading.wallSeconds === reading.seconds && reading.cpuSeconds !== undefined);
  } finally {
    settleHeapWith(settleHeap);
  }
});

test('importing @hplb/runtime sets no V8 flag: --expose-gc is set by the first collection, not on import', () => {
  const script = `import { runInNewContext } from 'node:vm';
    const { v8Collect } = await import('@hplb/runtime');
    const before = runInNewContext('typeof gc');
    v8Collect();
    console.log(JSON.stringify([before, runInNewContext('typeof gc')]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['undefined', 'function']);
});

test('normalize: runs are expressed at the reference baseline speed; a uniformly slow phase is corrected, a speed change during a run rejected', async () => {
  assert.equal(P.normalize, true, 'the default');
  assert.ok(Math.abs(runTime({ seconds: 1.3, referenceBefore: 1.3, referenceAfter: 1.3 }, P, 1) - 1) < 1e-12);
  assert.ok(Math.abs(runTime({ seconds: 1.2, referenceBefore: 1.1, referenceAfter: 1.3 }, P, 1) - 1) < 1e-12, 'divided by the mean of the two');
  assert.equal(contention({ seconds: 1.3, referenceBefore: 1.3, referenceAfter: 1.32 }, P, 1), undefined, 'slow but steady: kept, normalized');
  assert.equal(contention({ seconds: 1.3, referenceBefore: 1.0, referenceAfter: 1.3 }, P, 1), 'reference', 'the speed changed during the run');
  assert.equal(contention({ seconds: 2, referenceBefore: 1.6, referenceAfter: 1.6 }, P, 1), 'reference', 'beyond maxReferenceRatio');
  const off = { ...P, normalize: false };
  assert.equal(runTime({ seconds: 1.3, referenceBefore: 1.3, referenceAfter: 1.3 }, off, 1), 1.3);
  assert.equal(contention({ seconds: 1.3, reference: 1.3, referenceBefore: 1.3, referenceAfter: 1.3 }, off, 1), 'reference');
  // The machine runs at 1.3x for the second half of the rounds: normalized, the medians are the true times and the
  // points quiet; rejecting instead leaves the points short of runs.
  const phase = async (protocol: typeof P) => {
    let runs = 0;
    const slow = () => runs >= 12;
    const r = await measurePoints(2, (i) => { runs++; return at((i === 0 ? 0.1 : 0.2) * (slow() ? 1.3 : 1)); }, { ...protocol, warmups: 0, repeats: 10 }, { reference: () => at(slow() ? 0.013 : 0.01) });
    assert.ok(E.isRight(r));
    return r.right.timings;
  };
  const norm = await phase(P);
  assert.ok(norm.every((t, i) => Math.abs(t.median - (i === 0 ? 0.1 : 0.2)) < 1e-12 && t.spread < 1e-9 && !t.noisy), JSON.stringify(norm.map((t) => [t.median, t.spread, t.noisy])));
  assert.ok(norm.reduce((s, t) => s + t.rejected, 0) <= 2, 'only the run across the change is rejected');
  const rejected = await phase(off);
  assert.ok(rejected.every((t) => t.noisy), 'without normalize the slow half is rejected and the points stay short');
});
