/**
 * The plan executor: runs an `hplb.plan/1` plan on an attention backend and compares measured with predicted time.
 *
 * Each simulated device (`deviceRunner.ts`) runs, for every layer, its whole heads and its split-head row ranges; a
 * barrier ends each layer (all devices report before the next layer starts). Execution "workers" puts each device
 * in its own worker thread (`deviceWorker.ts`), each with its own backend instance. Execution "serial" keeps one
 * backend instance on the calling thread, shared by the devices, which run their tasks of a layer one device after
 * another: the default with the cpu clock and one device at a time (process CPU time counts every thread, so other
 * isolates would be timed too), and for backends that declare `capabilities.workerThreads: false` (gpujs GPU mode:
 * headless-gl loads in one thread per process); workers otherwise. In both modes each device's busy time is still measured on its own, and the layer makespan is
 * still the max over devices, so both modes report the same quantities. Per layer it
 * measures each device's busy time (Σ over its tasks of the task's median time / device speed), the layer makespan
 * (max over devices) and, over all layers, the bubbleFraction (1 − Σ mean busy / Σ makespan), next to the plan's
 * prediction recomputed with a calibrated cost model in seconds (given, or calibrated here first at N').
 *
 * Timing follows the protocol of `timing.ts`, per layer: a warm-up pass over every device's tasks (reported apart,
 * `warmupSeconds`), then `repeats` passes (default 3) in which each device runs its tasks in an interleaved order
 * (rotated every pass) with its reference kernel timed before each pass and after the last; contended runs (the
 * protocol's reference rule) or descheduled ones (cpu clock: wall / CPU over the threshold) are rejected and their
 * tasks re-measured in extra passes, and, under `normalize`, every run is expressed at the run's reference baseline
 * speed (statistics are taken once all layers are measured, against the final baseline). Each layer reports its
 * error with a spread: the makespan at the tasks' first and third quartiles (`measuredRange`, `errorRange`,
 * `spread`), the re-measures and rejects, `noisy` (judged on the layer) and, against a comparable calibration
 * reference, `speed`; `makespanError` states the noise level over the layers and `timing` summarises the protocol
 * for the whole run.
 *
 * Layers measured: `layers: K` runs the first K layers; otherwise a documented sample, `sampleLayers` (default 8)
 * layers evenly spaced from the first to the last (`sampledLayers`; every layer when the plan has at most that
 * many, or with `sampleLayers: 'all'`).
 *
 * Scaling rule (plans are made for long contexts; the run uses a small N' so it fits a CPU): every tokenBudget is
 * scaled with the context, b' = b · N'/N, then realised in whole blocks: k = round(b'/B + ½) key blocks per query
 * block (at least 1, at most Qb), which attend to b'' = (k − ½)·B keys per late row (`budgetKeys`, `budgetLayout`);
 * split-part row boundaries scale the same way, r' = round(r · N'/N), and parts left empty are dropped (the serving
 * phases keep them, one row each: `scalePlan`'s keepParts). Prediction
 * (W(b'', N') through the calibrated cost model) and execution both use b'' and r'.
 *
 * `concurrency` devices run at once (default 1: devices of a layer take turns, so on a shared CPU each device's
 * busy time is measured alone, as on its own GPU; the barrier semantics are unchanged). Serial execution always
 * runs one device at a time.
 *
 * Phases (`phases`, default `['attention']`: everything above, and the result exactly as before). The serving step's
 * placement-dependent work per device (issue 20; `serving.ts` says what runs and how it is scaled):
 *   - `prefill`: each device's attention tasks plus its Q/O projections (the rows it computes) and K/V projections
 *     (each KV head it holds), products through the backend's `matmul` at the scaled hidden size H' = H·N'/N;
 *   - `decode`: one decode step per device (weight GEMVs and one query row over each KV head it decodes), one task.
 * Each phase is measured over the same layers by the same protocol (its own reference times and baseline) and
 * predicted by core `servingCost` priced with serving coefficients (`serving`, else the calibration's `serving`
 * block, else calibrated here on the same backend at N' and H'), plus the calibrated attention cost model. The
 * result's top-level layers, totals, makespanError and timing are the first phase's (attention, prefill, decode in
 * that order); `phases` holds each phase's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeIsSparse, kvHeadOf, hplbError, issue, issueText, modelDimsOf, recomputeLoads, validatePlan, type Calibration, type CostModel, type HplbError, type Plan, type Split } from '@hplb/core';
import { siblingModule, spawnTsWorker } from '@hplb/core/node';
import { budgetKeys } from '@hplb/core/kernel';
import { makeAttentionParams } from '@hplb/core/kernel';
import { startBackend } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel';
import type { Worker } from 'node:worker_threads';
import { backendCandidate, isBackendName } from './backends.ts';
import { calibrate, calibrateServing, median, type ServingCalibration } from './calibration.ts';
import { decodeTasks, projectionTasks, scaledHiddenSize, servingPredictions, type ServingCoefficients, type ServingPrediction } from './serving.ts';
import { defaultClock, wallCpuCheckApplies, type Clock } from './clock.ts';
import { DeviceRunner, type AttentionTask, type DeviceReply, type DeviceRequest, type DeviceTask, type SharedBackend } from './deviceRunner.ts';
import {
  DEFAULT_TIMING, NOISY_SHARE, assessPoint, interleavedOrder, quantile, referenceBaseline, sampleBetween, summarizeTimings, timingProtocol,
  type PointTiming, type Reading, type Sample, type TimingProtocol, type TimingSummary,
} from './timing.ts';

/** How the simulated devices ran: one worker thread each, or one after another on the calling thread (module doc). */
export type Execution = 'workers' | 'serial';
export const EXECUTIONS: ReadonlyArray<Execution> = ['workers', 'serial'];

/** What the devices run per layer (module doc): attention alone, or the serving step's prefill or decode work. */
export type Phase = 'attention' | 'prefill' | 'decode';
/** Every phase, in the order a run measures them. */
export const PHASES: ReadonlyArray<Phase> = ['attention', 'prefill', 'decode'];
/** The executor's default: attention alone (the result then has no `phases`). */
export const DEFAULT_PHASES: ReadonlyArray<Phase> = ['attention'];

export interface ExecuteOptions {
  /** A registered backend name (`BACKEND_NAMES`). */
  readonly backend: string;
  readonly backendOptions?: Record<string, unknown>;
  /** N' of the run (default 2048, capped at the plan's N). */
  readonly contextLength?: number;
  /** Run only the first K layers (default: the sample of `sampleLayers`). */
  readonly layers?: number;
  /** Layers measured when `layers` is not given: this many, evenly spaced, first and last included (default 8), or 'all'. */
  readonly sampleLayers?: number | 'all';
  readonly blockSize?: number;
  /** Seconds cost model for the prediction (from a calibration). Default: `calibration`'s, else calibrate here at N' first. */
  readonly costModel?: CostModel;
  /** A calibration whose cost model predicts (ignored when `costModel` is given). */
  readonly calibration?: Calibration;
  readonly concurrency?: number;
  /** Force an execution mode (default: "serial" when the backend declares `workerThreads: false`, else "workers"). */
  readonly execution?: Execution;
  /** How kernel time is read (default `defaultClock(backend)`: cpu for the cpu backend, wall otherwise). */
  readonly clock?: Clock;
  readonly seed?: number;
  /** Steady runs per task, k of the timing protocol (default 3; `timing.repeats` wins when both are given). */
  readonly repeats?: number;
  /** Protocol settings beyond `repeats` (warm-ups, spread threshold, re-measures, contention tolerances). */
  readonly timing?: Partial<TimingProtocol>;
  /** Keep every task's output (tests: split parts vs the unsplit head). */
  readonly keepOutputs?: boolean;
  readonly onLayer?: (done: number, total: number) => void;
  /** Progress of the calibration run first when no cost model is given. */
  readonly onCalibration?: (done: number, total: number) => void;
  /** The phases measured (default `DEFAULT_PHASES`; module doc): distinct, run in the order of `PHASES`. */
  readonly phases?: ReadonlyArray<Phase>;
  /** H' of the serving phases (default `scaledHiddenSize`: the model's hidden size · N'/N; required when the registry does not know the model). */
  readonly hiddenSize?: number;
  /** Serving coefficients for the prediction (default: `calibration.serving`, else calibrated here at N' and H'). */
  readonly serving?: ServingCoefficients;
  /** Decode reads each head's budget instead of the whole context (default: by the plan's source format, core `decodeIsSparse`). */
  readonly decodeSparse?: boolean;
  /** Decode steps timed together per run, reported per step (default `DEFAULT_DECODE_STEPS`). */
  readonly decodeSteps?: number;
}

/** The executor's default number of steady runs per task. */
export const DEFAULT_EXECUTE_REPEATS = 3;
/** The executor's default layer sample. */
export const DEFAULT_SAMPLE_LAYERS = 8;

export interface LayerResult {
  readonly layer: number;
  /** Predicted layer makespan, seconds. */
  readonly predicted: number;
  /** Measured layer makespan (max device busy time; each task its median, at the run's reference baseline speed under the protocol's `normalize`), seconds. */
  readonly measured: number;
  readonly predictedDeviceLoad: number[];
  readonly measuredDeviceBusy: number[];
  /** Wall time of the layer including the barrier, the warm-up, the reference kernel and the untimed setup. */
  readonly wallSeconds: number;
  /** measured / predicted − 1. */
  readonly error: number;
  /** The makespan with every task at its first / third quartile: the measurement's spread. */
  readonly measuredRange: readonly [number, number];
  /** measuredRange / predicted − 1. */
  readonly errorRange: readonly [number, number];
  /** (measuredRange[1] − measuredRange[0]) / measured. */
  readonly spread: number;
  /** Makespan of the warm-up pass (reported apart, never in `measured`). */
  readonly warmupSeconds: number;
  /** Extra runs (re-measures) and rejected contended runs over the layer's tasks. */
  readonly remeasures: number;
  readonly rejected: number;
  /**
   * The layer's measurement is not resolved: its `spread` (the makespan with every task at its first vs third
   * quartile, relative) exceeds the protocol's `maxSpread`, or a task was left short of `repeats` accepted runs
   * (contended throughout). Judged on the layer, the unit whose error is reported: a single task spreading more
   * while the layer's makespan holds does not make the layer noisy (`noisyTasks`).
   */
  readonly noisy: boolean;
  /** Tasks of the layer still spreading more than `maxSpread` after their re-measures. */
  readonly noisyTasks: number;
  /**
   * The speed this layer's times are at, against calibration: the baseline (10th percentile) of the run's
   * reference-kernel times (under the protocol's `normalize`, which expresses every run at that baseline's speed;
   * otherwise the layer's own) over the calibration's (`Calibration.reference`; present only when the run's N,
   * clock, head dim and block size are the calibration reference's). 1.3 = the machine took 1.3x as long as at
   * calibration.
   */
  readonly speed?: number;
  /** measured / speed and its error: the layer at the machine's calibration speed (present with `speed`). */
  readonly atCalibrationSpeed?: { readonly measured: number; readonly error: number };
}

/** One phase of a run: per-layer predicted vs measured makespan, with its noise and how it was predicted. */
export interface PhaseResult extends Pick<ExecutionResult, 'layers' | 'predictedTotal' | 'measuredTotal' | 'predictedBubbleFraction' | 'measuredBubbleFraction' | 'makespanError'> {
  readonly phase: Phase;
  /** What predicted: the attention cost model, or the serving prediction's line (`ServingPrediction.source`). */
  readonly costModel: string;
  /** How the phase's tasks were timed (its own reference times and baseline). */
  readonly timing: TimingSummary;
}

export interface TaskOutput { readonly layer: number; readonly head: number; readonly device: number; readonly start: number; readonly end: number; readonly out: Float32Array; readonly lse: Float32Array }

export interface ExecutionResult {
  readonly backend: string;
  readonly device: string;
  readonly contextLength: number;
  readonly planContextLength: number;
  readonly blockSize: number;
  readonly headDim: number;
  readonly devices: number;
  /** "workers" (a worker thread per device) or "serial" (devices one after another on the calling thread). */
  readonly execution: Execution;
  /** Devices that ran at once (always 1 in serial execution). */
  readonly concurrency: number;
  readonly clock: Clock;
  readonly costModel: string;
  readonly layers: LayerResult[];
  readonly predictedTotal: number;
  readonly measuredTotal: number;
  readonly predictedBubbleFraction: number;
  readonly measuredBubbleFraction: number;
  /**
   * |measured − predicted| / predicted per layer: median and max; with the noise level: the median and max of the
   * layers' spreads, the layers flagged noisy, and one sentence saying it (`note`).
   */
  readonly makespanError: {
    median: number; max: number;
    spread: { median: number; max: number };
    /**
     * The median error is not resolved: the layers' median spread exceeds the protocol's maxSpread, more than a
     * quarter of the layers are noisy (`NOISY_SHARE`), or the speed drifted against calibration (`speed.drift`).
     * `noisyLayers` counts the noisy layers whatever the verdict.
     */
    noisy: boolean; noisyLayers: number;
    /**
     * The machine's speed against calibration over the layers (`LayerResult.speed`): median, min, max; and
     * whether it drifted (|median − 1| > maxSpread): then the errors above mix the model's error with the drift.
     */
    speed?: { median: number; min: number; max: number; drift: boolean };
    /** |measured / speed − predicted| / predicted per layer: the error at the machine's calibration speed. */
    atCalibrationSpeed?: { median: number; max: number };
    note: string;
  };
  /** The plan layers measured (the first K, or the sample). */
  readonly sampledLayers: number[];
  /** How every task was timed (protocol, spread, re-measures, contention), over the whole run. */
  readonly timing: TimingSummary;
  /** The calibration run first when no cost model was given (its fit and timing), absent otherwise. */
  readonly calibration?: { r2: number; relativeError: { median: number; max: number }; timing: TimingSummary };
  /** Each phase's result, when `phases` asked for a serving phase (absent for attention alone). */
  readonly phases?: { readonly [P in Phase]?: PhaseResult };
  /** H' of the serving phases (with `phases`). */
  readonly hiddenSize?: number;
  /** Whether decode read each head's budget (with `phases`). */
  readonly decodeSparse?: boolean;
  /** The serving calibration run here when no coefficients were given (its fits and timing), absent otherwise. */
  readonly servingCalibration?: {
    projection: { r2: number; relativeError: { median: number; max: number } };
    decode: { r2: number; relativeError: { median: number; max: number } };
    timing: TimingSummary;
  };
  readonly outputs?: TaskOutput[];
}

// ---------------------------------------------------------------- scaling

export const scaleBudget = (b: number, fromN: number, toN: number, blockSize: number): number =>
  budgetKeys({ tokens: toN, blockSize, blocks: Math.ceil(toN / blockSize) } as AttentionParams, (b * toN) / fromN);

/**
 * The plan at context N' restricted to its first `layers` layers, budgets and split rows scaled (module doc). With
 * `keepParts` (the serving phases), no part is dropped: a part whose rows round to none keeps one row (its
 * neighbours give it up), so every part keeps its device, and a split head still decodes where the plan decodes it
 * (a head's last rows are often such a sliver: 64 of 131072 rows are half a row at N' = 1024).
 */
export const scalePlan = (plan: Plan, toN: number, layers: number, blockSize: number, keepParts = false): Plan => {
  const n = plan.contextLength;
  const row = (r: number) => Math.round((r * toN) / n);
  const splits = (plan.splits ?? []).filter((s) => s.layer < layers).map((s) => {
    const k = s.parts.length;
    const b = [...s.parts.map((p) => row(p.rowStart)), row(s.parts[k - 1]!.rowEnd)];
    if (!keepParts || k > b[k]! - b[0]!) return { ...s, parts: s.parts.map((p) => ({ ...p, rowStart: row(p.rowStart), rowEnd: row(p.rowEnd) })).filter((p) => p.rowEnd > p.rowStart) };
    // Boundaries b_0 < b_1 < … < b_k: the inner ones rounded, then pushed apart to one row each (forward, then backward).
    for (let i = 1; i < k; i++) b[i] = Math.max(b[i]!, b[i - 1]! + 1);
    for (let i = k - 1; i > 0; i--) b[i] = Math.min(b[i]!, b[i + 1]! - 1);
    return { ...s, parts: s.parts.map((p, i) => ({ ...p, rowStart: b[i]!, rowEnd: b[i + 1]! })) };
  });
  return {
    ...plan,
    model: { ...plan.model, layers: layers as Plan['model']['layers'] },
    contextLength: toN as Plan['contextLength'],
    budgets: plan.budgets.slice(0, layers).map((r) => r.map((b) => scaleBudget(b, n, toN, blockSize))) as Plan['budgets'],
    placement: plan.placement.slice(0, layers),
    splits: splits as Plan['splits'],
  };
};

/** Each device's tasks in one layer of a (scaled) plan. */
export const layerTasks = (plan: Plan, layer: number): DeviceTask[][] => {
  const tasks: DeviceTask[][] = plan.devices.map(() => []);
  const splits = new Map<number, Split>((plan.splits ?? []).filter((s) => s.layer === layer).map((s) => [s.head, s] as const));
  for (let h = 0; h < plan.model.queryHeads; h++) {
    const budget = plan.budgets[layer]![h]!;
    const kvHead = kvHeadOf(plan.model, h);
    const s = splits.get(h);
    if (s !== undefined) for (const p of s.parts) tasks[p.device]!.push({ head: h, kvHead, budget, start: p.rowStart, end: p.rowEnd });
    else tasks[plan.placement[layer]![h]! as number]!.push({ head: h, kvHead, budget, start: 0, end: plan.contextLength });
  }
  return tasks;
};

// ---------------------------------------------------------------- devices

interface Device {
  ask(req: DeviceRequest): Promise<DeviceReply>;
  close(): Promise<void>;
}

/** A device in its own worker thread (execution "workers"). */
class WorkerDevice implements Device {
  private waiting: ((r: DeviceReply) => void) | undefined;
  private failure: string | undefined;
  constructor(private readonly worker: Worker) {
    worker.on('message', (r: DeviceReply) => { const w = this.waiting; this.waiting = undefined; w?.(r); });
    worker.on('error', (e) => { this.failure = e.message; const w = this.waiting; this.waiting = undefined; w?.({ op: 'error', message: e.message }); });
  }
  ask(req: DeviceRequest): Promise<DeviceReply> {
    if (this.failure !== undefined) return Promise.resolve({ op: 'error', message: this.failure });
    return new Promise((resolve) => { this.waiting = resolve; this.worker.postMessage(req); });
  }
  async close(): Promise<void> {
    this.worker.postMessage({ op: 'close' } satisfies DeviceRequest);
    await this.worker.terminate();
  }
}

/** A device on the calling thread sharing the executor's backend (execution "serial"). */
class InlineDevice implements Device {
  private readonly runner: DeviceRunner;
  constructor(shared: SharedBackend) { this.runner = new DeviceRunner(shared); }
  ask(req: DeviceRequest): Promise<DeviceReply> { return this.runner.handle(req); }
  async close(): Promise<void> { await this.runner.handle({ op: 'close' }); }
}

/** The backend's full reason, never shortened: it is what the user needs to act on. */
const backendError = (message: string): HplbError => hplbError('backend', [issueText('$.backend', 'a backend that runs the plan', message)]);

/**
 * The execution mode a backend asks for: an instance is created (not started: creating loads no native library)
 * just to read `capabilities.workerThreads`. Serial execution keeps that instance to start it on this thread.
 */
const chooseExecution = async (opts: ExecuteOptions, clock: Clock): Promise<E.Either<HplbError, { execution: Execution; instance?: AttentionBackend }>> => {
  if (!isBackendName(opts.backend)) return E.right({ execution: opts.execution ?? 'workers' }); // the device's loadBackend names the problem
  let instance: AttentionBackend;
  try {
    instance = (await backendCandidate(opts.backend, opts.backendOptions).create()) as AttentionBackend;
  } catch (e) {
    return E.left(backendError(`${opts.backend}: ${e instanceof Error ? e.message : String(e)}`));
  }
  // The cpu clock reads process CPU time, which counts every thread of the process: with one device at a time it
  // measures a device alone only when no other isolate (a device worker's JIT and GC threads) shares the process.
  const execution = opts.execution ?? (instance.capabilities.workerThreads === false || (clock === 'cpu' && (opts.concurrency ?? 1) <= 1) ? 'serial' : 'workers');
  if (execution === 'serial') return E.right({ execution, instance });
  await instance.dispose();
  return E.right({ execution });
};

// ---------------------------------------------------------------- operations

/** The layers a run measures: the first `layers`, or `sample` evenly spaced from the first to the last (all when L ≤ sample). */
export const sampleLayers = (total: number, layers?: number, sample: number | 'all' = DEFAULT_SAMPLE_LAYERS): number[] => {
  if (layers !== undefined) return Array.from({ length: Math.min(total, layers) }, (_, l) => l);
  if (sample === 'all' || sample >= total) return Array.from({ length: total }, (_, l) => l);
  if (sample <= 1) return [0];
  return [...new Set(Array.from({ length: sample }, (_, i) => Math.round((i * (total - 1)) / (sample - 1))))];
};

/** Statistics of one layer from its tasks' timings (pure; the executor's loop feeds it). */
export const layerStatistics = (
  timings: ReadonlyArray<ReadonlyArray<PointTiming>>, speeds: ReadonlyArray<number>, predicted: number,
  protocol: Pick<TimingProtocol, 'maxSpread' | 'repeats'> = DEFAULT_TIMING,
): Pick<LayerResult, 'measured' | 'measuredDeviceBusy' | 'measuredRange' | 'error' | 'errorRange' | 'spread' | 'warmupSeconds' | 'remeasures' | 'rejected' | 'noisy' | 'noisyTasks'> => {
  const sum = (g: number, f: (t: PointTiming) => number) => timings[g]!.reduce((s, t) => s + f(t), 0) / speeds[g]!;
  const busy = timings.map((_, g) => sum(g, (t) => t.median));
  const lo = Math.max(0, ...timings.map((_, g) => sum(g, (t) => t.q1)));
  const hi = Math.max(0, ...timings.map((_, g) => sum(g, (t) => t.q3)));
  const warm = Math.max(0, ...timings.map((_, g) => sum(g, (t) => t.warmup[0] ?? 0)));
  const measured = Math.max(0, ...busy);
  const rel = (x: number) => (predicted > 0 ? x / predicted - 1 : 0);
  const all = timings.flat();
  const spread = measured > 0 ? (hi - lo) / measured : 0;
  return {
    measured, measuredDeviceBusy: busy, measuredRange: [lo, hi], error: rel(measured), errorRange: [rel(lo), rel(hi)],
    spread, warmupSeconds: warm,
    remeasures: all.reduce((s, t) => s + t.remeasures, 0), rejected: all.reduce((s, t) => s + t.rejected, 0),
    // Quartiles need the runs: a task left short of `repeats` accepted runs (contended throughout) leaves the layer unresolved.
    noisy: spread > protocol.maxSpread || all.some((t) => t.samples.length < protocol.repeats), noisyTasks: all.filter((t) => t.noisy).length,
  };
};

/** The makespanError summary (pure): median and max relative error, with the noise level and speed over the layers. */
export const makespanErrorSummary = (
  layers: ReadonlyArray<Pick<LayerResult, 'predicted' | 'measured' | 'spread' | 'noisy'> & Partial<Pick<LayerResult, 'speed' | 'atCalibrationSpeed'>>>, protocol: TimingProtocol,
): ExecutionResult['makespanError'] => {
  const errs = layers.map((x) => (x.predicted > 0 ? Math.abs(x.measured - x.predicted) / x.predicted : 0));
  const spreads = layers.map((x) => x.spread);
  const spread = { median: spreads.length ? quantile(spreads, 0.5) : 0, max: Math.max(0, ...spreads) };
  const noisyLayers = layers.filter((x) => x.noisy).length;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const med = errs.length ? median(errs) : 0;
  const speeds = layers.flatMap((x) => (x.speed !== undefined ? [x.speed] : []));
  const withSpeed = speeds.length > 0 && speeds.length === layers.length;
  const speed = withSpeed ? { median: quantile(speeds, 0.5), min: Math.min(...speeds), max: Math.max(...speeds), drift: Math.abs(quantile(speeds, 0.5) - 1) > protocol.maxSpread } : undefined;
  const atErrs = withSpeed ? layers.map((x) => Math.abs(x.atCalibrationSpeed?.error ?? 0)) : [];
  const atCalibrationSpeed = withSpeed ? { median: median(atErrs), max: Math.max(0, ...atErrs) } : undefined;
  const unresolved = spread.median > protocol.maxSpread || noisyLayers > NOISY_SHARE * layers.length;
  const noise = `${noisyLayers} of ${layers.length} layers noisy (at most ${Math.floor(NOISY_SHARE * layers.length)} allowed); layer spread (makespan at the tasks' quartiles) median ${pct(spread.median)}, max ${pct(spread.max)} (threshold ${pct(protocol.maxSpread)}), against a median error of ${pct(med)}${unresolved ? ': an error below that is not resolved' : ''}`;
  const prefix = unresolved ? 'NOISY' : speed?.drift === true ? 'NOISY (speed drift)' : 'quiet';
  const drift = speed === undefined ? '' : speed.drift
    ? `; DRIFT: the reference kernel took ${speed.median.toFixed(3)}x its calibration time (layers ${speed.min.toFixed(3)}-${speed.max.toFixed(3)}x): the machine ran at another speed than at calibration, so the errors mix the model's with the drift; at calibration speed the median error is ${pct(atCalibrationSpeed!.median)}, max ${pct(atCalibrationSpeed!.max)}`
    : `; the reference kernel took ${speed.median.toFixed(3)}x its calibration time (layers ${speed.min.toFixed(3)}-${speed.max.toFixed(3)}x); at calibration speed the median error is ${pct(atCalibrationSpeed!.median)}`;
  return {
    median: med, max: Math.max(0, ...errs), spread, noisy: unresolved || speed?.drift === true, noisyLayers,
    ...(speed ? { speed } : {}), ...(atCalibrationSpeed ? { atCalibrationSpeed } : {}),
    note: `${prefix}: ${noise}${drift}`,
  };
};

/** One phase's measurement, before the run's summary fields are assembled. */
interface MeasuredPhase {
  readonly layers: LayerResult[];
  readonly timings: PointTiming[];
  readonly probes: number[];
  readonly ratios: number[];
}

/**
 * Run a plan on a backend and compare measured with predicted time per layer (module doc). A Left names what is
 * wrong: the plan (its JSON path, `file` when given), an option (`options.<name>`) or the backend (`$.backend`).
 */
export const executePlan = async (rawPlan: Plan, opts: ExecuteOptions, file?: string): Promise<E.Either<HplbError, ExecutionResult>> => {
  const valid = validatePlan(rawPlan, file);
  if (E.isLeft(valid)) return valid;
  const plan0 = valid.right;
  if (!isBackendName(opts.backend)) return E.left(hplbError('argument', [issue('$.backend', 'a registered backend (cuda|webgpu|gpujs|cpu)', opts.backend)]));
  const phases = checkPhases(opts.phases);
  if (E.isLeft(phases)) return phases;
  const serving = phases.right.some((p) => p !== 'attention');
  const clock = opts.clock ?? defaultClock(opts.backend);
  const protocol = timingProtocol({
    ...opts.timing,
    repeats: opts.timing?.repeats ?? opts.repeats ?? DEFAULT_EXECUTE_REPEATS,
    ...(opts.timing?.maxWallCpuRatio === undefined && !wallCpuCheckApplies(clock) ? { maxWallCpuRatio: null } : {}),
  });
  if (E.isLeft(protocol)) return protocol;
  const P = protocol.right;
  const N = Math.min(plan0.contextLength, opts.contextLength ?? 2048);
  const sampled = sampleLayers(plan0.model.layers, opts.layers, opts.sampleLayers);
  const G = plan0.devices.length;
  let B = opts.blockSize ?? opts.calibration?.blockSize ?? 64;
  let costModel = opts.costModel ?? opts.calibration?.costModel;
  let calibrationInfo: ExecutionResult['calibration'];
  let reference = opts.costModel === undefined ? opts.calibration?.reference : undefined;
  if (opts.costModel === undefined && opts.calibration !== undefined) {
    if ((opts.calibration.headDim as number) !== (plan0.model.headDim as number)) return E.left(hplbError('argument', [issue('options.calibration.headDim', `a calibration at the plan's head dim ${plan0.model.headDim}`, opts.calibration.headDim)]));
    if (opts.blockSize !== undefined && opts.blockSize !== opts.calibration.blockSize) return E.left(hplbError('argument', [issue('options.blockSize', `the calibration's block size ${opts.calibration.blockSize}`, opts.blockSize)]));
    B = opts.calibration.blockSize;
  }
  // The serving phases' scaled hidden size and decode sparsity (serving.ts).
  let hiddenSize: number | undefined;
  const decodeSparse = opts.decodeSparse ?? decodeIsSparse(typeof plan0.source?.['format'] === 'string' ? (plan0.source['format'] as string) : undefined);
  if (serving) {
    if (opts.hiddenSize !== undefined && !(Number.isInteger(opts.hiddenSize) && opts.hiddenSize >= 1)) return E.left(hplbError('argument', [issue('options.hiddenSize', 'a whole hidden size ≥ 1', opts.hiddenSize)]));
    const hidden = modelDimsOf(plan0.model)?.hiddenSize;
    if (opts.hiddenSize === undefined && hidden === undefined) return E.left(hplbError('argument', [issue('options.hiddenSize', `the run's hidden size H': the plan's model ${plan0.model.name} is not in the registry, so its hidden size H (H' = H·N'/N) is unknown`)]));
    hiddenSize = opts.hiddenSize ?? scaledHiddenSize(hidden!, plan0.contextLength, N);
  }
  if (opts.decodeSteps !== undefined && !(Number.isInteger(opts.decodeSteps) && opts.decodeSteps >= 1)) return E.left(hplbError('argument', [issue('options.decodeSteps', 'a whole number of decode steps ≥ 1', opts.decodeSteps)]));
  const servingGrid = hiddenSize === undefined ? undefined : {
    hiddenSizes: [hiddenSize], rows: [...new Set([N / 32, N / 8, N / 2, N].map((r) => Math.max(1, Math.round(r))))], contextLength: N,
    ...(opts.decodeSteps !== undefined ? { decodeSteps: opts.decodeSteps } : {}),
  };
  let coefficients: ServingCoefficients | undefined = opts.serving ?? opts.calibration?.serving;
  let servingCalibrationInfo: ExecutionResult['servingCalibration'];
  const calibrationTiming = { ...opts.timing, repeats: P.repeats };
  if (costModel === undefined) {
    // No cost model: calibrate the same backend at N' first (always kept: its noise is reported in `calibration`),
    // with the serving grid when a serving phase runs and no coefficients were given.
    const cal = await calibrate(opts.backend, {
      contexts: [N], fractions: [0.0625, 0.125, 0.25, 0.5, 0.75, 1], headDim: plan0.model.headDim, blockSize: B, precision: 'fp32', clock, force: true,
      timing: calibrationTiming, ...(opts.backendOptions ? { backendOptions: opts.backendOptions } : {}),
      ...(opts.onCalibration ? { onProgress: opts.onCalibration } : {}),
      ...(servingGrid !== undefined && coefficients === undefined ? { serving: servingGrid } : {}),
    });
    if (E.isLeft(cal)) return cal;
    costModel = cal.right.calibration.costModel;
    reference = cal.right.calibration.reference;
    calibrationInfo = { r2: cal.right.costModelR2, relativeError: cal.right.costModelRelativeError, timing: cal.right.timing };
    const s = (cal.right.calibration as { serving?: ServingCalibration }).serving;
    if (s !== undefined) { coefficients = s; servingCalibrationInfo = servingInfo(s); }
  }
  if (servingGrid !== undefined && coefficients === undefined) {
    const s = await calibrateServing(opts.backend, {
      ...servingGrid, headDim: plan0.model.headDim, blockSize: B, precision: 'fp32', clock, force: true, timing: calibrationTiming,
      ...(opts.backendOptions ? { backendOptions: opts.backendOptions } : {}), ...(opts.onCalibration ? { onProgress: opts.onCalibration } : {}),
    });
    if (E.isLeft(s)) return s;
    coefficients = s.right;
    servingCalibrationInfo = servingInfo(s.right);
  }
  // The calibration's reference kernel is comparable with the devices' when it was timed at this N, B and clock.
  const referenceSeconds = reference !== undefined && reference.contextLength === N && reference.keyBlocks === 2 && reference.clock === clock && reference.seconds > 0 ? reference.seconds : undefined;
  const plan = scalePlan(plan0, N, Math.max(...sampled) + 1, B);
  // The serving phases keep every split part (decode stays where the plan puts it; scalePlan's keepParts).
  const servingPlan = serving ? scalePlan(plan0, N, Math.max(...sampled) + 1, B, true) : plan;
  const predictedLoads = recomputeLoads({ ...plan, costModel: costModel as Plan['costModel'], predicted: { ...plan.predicted, unit: 'seconds' } });
  let prediction: ServingPrediction | undefined;
  if (hiddenSize !== undefined && coefficients !== undefined) {
    const pr = servingPredictions(servingPlan, coefficients, hiddenSize, costModel, decodeSparse);
    if (E.isLeft(pr)) return pr;
    prediction = pr.right;
  }
  const chosen = await chooseExecution(opts, clock);
  if (E.isLeft(chosen)) return chosen;
  const { execution } = chosen.right;
  const concurrency = execution === 'serial' ? 1 : Math.max(1, Math.min(G, opts.concurrency ?? 1));
  let shared: SharedBackend | undefined;
  if (chosen.right.instance !== undefined) {
    const params = makeAttentionParams({ tokens: N, headDim: plan.model.headDim, blockSize: B });
    if (E.isLeft(params)) return params;
    const instance = chosen.right.instance;
    const started = await startBackend({ name: opts.backend, create: () => instance }, params.right);
    if (E.isLeft(started)) { await instance.dispose(); return started; }
    shared = { backend: started.right.backend, device: started.right.info.device };
  }
  const devices: Device[] = Array.from({ length: G }, () =>
    shared !== undefined ? new InlineDevice(shared) : new WorkerDevice(spawnTsWorker(siblingModule(import.meta.url, 'deviceWorker'))));
  try {
    let deviceName = '';
    for (const [g, d] of devices.entries()) {
      const r = await d.ask({
        op: 'init', backend: opts.backend, ...(opts.backendOptions ? { options: opts.backendOptions } : {}), tokens: N, headDim: plan.model.headDim,
        blockSize: B, seed: opts.seed ?? 1, clock, keepOutputs: opts.keepOutputs ?? false, warmUp: shared === undefined || g === 0,
        ...(hiddenSize !== undefined ? { hiddenSize } : {}), ...(opts.decodeSteps !== undefined ? { decodeSteps: opts.decodeSteps } : {}),
      });
      if (r.op === 'error') return E.left(backendError(r.message));
      if (r.op === 'ready') deviceName = r.device;
    }
    const outputs: TaskOutput[] = [];
    const total = phases.right.length * sampled.length;
    let done = 0;

    /** Measure one phase over the sampled layers: `tasksOf(l)` per device, `predictedOf(l)` per device (seconds). */
    const measurePhase = async (phase: Phase, tasksOf: (l: number) => DeviceTask[][], predictedOf: (l: number) => ReadonlyArray<number>): Promise<E.Either<HplbError, MeasuredPhase>> => {
      const measuredLayers: { l: number; warm: number[][][]; samples: Sample[][][]; probes: number[]; wallSeconds: number }[] = [];
      // Attention outputs once: from the attention phase, or from prefill's attention tasks when it runs alone.
      const keepOutputs = opts.keepOutputs === true && (phase === 'attention' || !phases.right.includes('attention'));
      const probes: number[] = [];
      const ratios: number[] = [];
      for (const l of sampled) {
        const tasks = tasksOf(l);
        const t0 = performance.now();
        const probesBefore = probes.length;
        const warm = tasks.map((ts) => ts.map(() => [] as number[]));
        const samples = tasks.map((ts) => ts.map(() => [] as Sample[]));
        // Runs of a device waiting for its next reference time (each gets the larger of its two neighbours).
        const pending = tasks.map(() => [] as { j: number; reading: Reading; before: number | undefined }[]);
        let round = 0;
        /** One pass: each device with a non-empty order runs it; the devices take turns in batches of `concurrency`. */
        const pass = async (orders: number[][], kind: 'warmup' | 'steady', final: boolean): Promise<E.Either<HplbError, void>> => {
          for (let g0 = 0; g0 < G; g0 += concurrency) {
            const batch = devices.slice(g0, g0 + concurrency).map((d, i) => ({ g: g0 + i, d })).filter(({ g }) => orders[g]!.length > 0);
            const replies = await Promise.all(batch.map(({ g, d }) => d.ask({ op: 'run', layer: l, ...(phase !== 'attention' ? { phase } : {}), tasks: tasks[g]!, order: orders[g]!, probe: kind !== 'warmup', final })));
            for (const [i, r] of replies.entries()) {
              const g = batch[i]!.g;
              if (r.op === 'error') return E.left(backendError(`device ${g}: ${r.message}`));
              if (r.op !== 'ran') continue;
              if (keepOutputs) for (const o of r.outputs ?? []) { const t = tasks[g]![o.task]! as AttentionTask; outputs.push({ layer: l, head: t.head, device: g, start: t.start, end: t.end, out: o.out, lse: o.lse }); }
              if (kind === 'warmup') { for (const [k, j] of orders[g]!.entries()) warm[g]![j]!.push(r.readings[k]!.seconds); continue; }
              const before = r.probes[0];
              // The probe before this pass closes the device's previous pass.
              if (before !== undefined) { for (const p of pending[g]!) samples[g]![p.j]!.push(sampleBetween(p.reading, p.before, before)); pending[g] = []; probes.push(before); }
              for (const [k, j] of orders[g]!.entries()) {
                const reading = r.readings[k]!;
                if (reading.wallSeconds !== undefined && reading.cpuSeconds !== undefined && reading.cpuSeconds > 0) ratios.push(reading.wallSeconds / reading.cpuSeconds);
                pending[g]!.push({ j, reading, before });
              }
              const after = r.probes[1];
              if (after !== undefined) { for (const p of pending[g]!) samples[g]![p.j]!.push(sampleBetween(p.reading, p.before, after)); pending[g] = []; probes.push(after); }
            }
          }
          return E.right(undefined);
        };
        const rotate = (idx: ReadonlyArray<number>) => interleavedOrder(idx.length, round).map((i) => idx[i]!);
        const every = tasks.map((ts) => ts.map((_, j) => j));
        for (let w = 0; w < P.warmups; w++, round++) { const r = await pass(every.map(rotate), 'warmup', false); if (E.isLeft(r)) return r; }
        for (let k = 0; k < P.repeats; k++, round++) { const r = await pass(every.map(rotate), 'steady', k === P.repeats - 1); if (E.isLeft(r)) return r; }
        for (;;) {
          const base = referenceBaseline(probes);
          const want = samples.map((ss, g) => ss.flatMap((s, j) => (assessPoint(warm[g]![j]!, s, P, base).remeasure ? [j] : [])));
          if (want.every((w) => w.length === 0)) break;
          const r = await pass(want.map(rotate), 'steady', true);
          round++;
          if (E.isLeft(r)) return r;
        }
        measuredLayers.push({ l, warm, samples, probes: probes.slice(probesBefore), wallSeconds: (performance.now() - t0) / 1000 });
        opts.onLayer?.(++done, total);
      }
      // Statistics once every layer is measured, against the phase's final reference baseline: under `normalize`
      // every run is expressed at that one speed, so all layers' times are on one scale.
      const base = referenceBaseline(probes);
      const timings: PointTiming[] = [];
      const layers: LayerResult[] = measuredLayers.map(({ l, warm, samples, probes: layerProbes, wallSeconds }) => {
        const ts = samples.map((ss, g) => ss.map((s, j) => assessPoint(warm[g]![j]!, s, P, base).timing));
        timings.push(...ts.flat());
        const pred = [...predictedOf(l)];
        const predicted = Math.max(0, ...pred);
        const st = layerStatistics(ts, plan.devices.map((d) => d.speed), predicted, P);
        // Against the calibration's reference: the speed the layer's times are expressed at (the run's baseline when
        // normalized, else the layer's own baseline: the uncontended end, where its accepted runs were timed).
        const at = P.normalize ? base : referenceBaseline(layerProbes);
        const speed = referenceSeconds !== undefined && at !== undefined ? at / referenceSeconds : undefined;
        return {
          layer: l, predicted, measured: st.measured, predictedDeviceLoad: pred, measuredDeviceBusy: st.measuredDeviceBusy, wallSeconds,
          error: st.error, measuredRange: st.measuredRange, errorRange: st.errorRange, spread: st.spread, warmupSeconds: st.warmupSeconds,
          remeasures: st.remeasures, rejected: st.rejected, noisy: st.noisy, noisyTasks: st.noisyTasks,
          ...(speed !== undefined ? { speed, atCalibrationSpeed: { measured: st.measured / speed, error: predicted > 0 ? st.measured / speed / predicted - 1 : 0 } } : {}),
        };
      });
      return E.right({ layers, timings, probes, ratios });
    };

    const bubble = (rows: number[][]) => {
      const tot = rows.reduce((s, r) => s + Math.max(0, ...r), 0);
      const mean = rows.reduce((s, r) => s + r.reduce((a, b) => a + b, 0) / r.length, 0);
      return tot === 0 ? 0 : 1 - mean / tot;
    };
    const results: PhaseResult[] = [];
    for (const phase of phases.right) {
      const m = phase === 'attention'
        ? await measurePhase(phase, (l) => layerTasks(plan, l), (l) => predictedLoads[l]!)
        : phase === 'prefill'
          ? await measurePhase(phase, (l) => { const p = projectionTasks(servingPlan, l); return layerTasks(servingPlan, l).map((ts, g) => [...ts, ...p[g]!]); }, (l) => prediction!.prefill[l]!)
          : await measurePhase(phase, (l) => decodeTasks(servingPlan, l, decodeSparse).map((t) => (t === undefined ? [] : [t])), (l) => prediction!.decode[l]!);
      if (E.isLeft(m)) return m;
      const { layers } = m.right;
      results.push({
        phase,
        costModel: phase === 'attention' ? costModel.source ?? costModel.name : prediction!.source,
        layers,
        predictedTotal: layers.reduce((s, x) => s + x.predicted, 0),
        measuredTotal: layers.reduce((s, x) => s + x.measured, 0),
        predictedBubbleFraction: bubble(layers.map((x) => x.predictedDeviceLoad)),
        measuredBubbleFraction: bubble(layers.map((x) => x.measuredDeviceBusy)),
        makespanError: makespanErrorSummary(layers, P),
        timing: summarizeTimings(m.right.timings, P, clock, m.right.probes, m.right.ratios),
      });
    }
    const first = results[0]!;
    return E.right({
      backend: opts.backend,
      device: deviceName,
      contextLength: N,
      planContextLength: plan0.contextLength,
      blockSize: B,
      headDim: plan.model.headDim,
      devices: G,
      execution,
      concurrency,
      clock,
      costModel: first.costModel,
      layers: first.layers,
      predictedTotal: first.predictedTotal,
      measuredTotal: first.measuredTotal,
      predictedBubbleFraction: first.predictedBubbleFraction,
      measuredBubbleFraction: first.measuredBubbleFraction,
      makespanError: first.makespanError,
      sampledLayers: sampled,
      timing: first.timing,
      ...(calibrationInfo ? { calibration: calibrationInfo } : {}),
      ...(serving ? { phases: Object.fromEntries(results.map((r) => [r.phase, r])), hiddenSize, decodeSparse } : {}),
      ...(servingCalibrationInfo ? { servingCalibration: servingCalibrationInfo } : {}),
      ...(opts.keepOutputs ? { outputs } : {}),
    });
  } finally {
    await Promise.all(devices.map((d) => d.close()));
    await shared?.backend.dispose();
  }
};

/** The phases option, checked: a non-empty list of distinct phases, run in the order of `PHASES`. */
const checkPhases = (phases: ReadonlyArray<Phase> | undefined): E.Either<HplbError, Phase[]> => {
  const given = phases ?? DEFAULT_PHASES;
  const bad = given.find((p) => !(PHASES as ReadonlyArray<string>).includes(p));
  if (given.length === 0 || bad !== undefined || new Set(given).size !== given.length)
    return E.left(hplbError('argument', [issue('options.phases', `distinct phases, one or more of ${PHASES.join('|')}`, bad ?? given)]));
  return E.right(PHASES.filter((p) => given.includes(p)));
};

/** What a serving calibration run here reports: its fits and timing. */
const servingInfo = (s: ServingCalibration): NonNullable<ExecutionResult['servingCalibration']> => ({
  projection: { r2: s.projection.r2, relativeError: s.projection.relativeError },
  decode: { r2: s.decode.r2, relativeError: s.decode.relativeError },
  timing: s.timing,
});

export type { Calibration };
