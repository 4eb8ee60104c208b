/**
 * The plan executor: runs an `hplb.plan/1` plan on an attention backend and compares measured with predicted time.
 *
 * Each simulated device (`deviceRunner.ts`) runs, for every layer, its whole heads and its split-head row ranges; a
 * barrier ends each layer (all devices report before the next layer starts). Execution "workers" (the default) puts
 * each device in its own worker thread (`deviceWorker.ts`), each with its own backend instance. Backends that
 * declare `capabilities.workerThreads: false` (gpujs GPU mode: headless-gl loads in one thread per process) run in
 * execution "serial": one backend instance on the calling thread, shared by the devices, which run their tasks of a
 * layer one device after another; each device's busy time is still measured on its own, and the layer makespan is
 * still the max over devices, so both modes report the same quantities. Per layer it
 * measures each device's busy time (Σ kernel time / device speed; each task
 * best of `repeats` passes over the layer, taken round-robin over the devices), the layer makespan (max over devices) and, over
 * all layers, the bubbleFraction (1 − Σ mean busy / Σ makespan), next to the plan's prediction recomputed with a
 * calibrated cost model in seconds.
 *
 * Scaling rule (plans are made for long contexts; the run uses a small N' so it fits a CPU): every tokenBudget is
 * scaled with the context, b' = b · N'/N, then realised in whole blocks: k = round(b'/B + ½) key blocks per query
 * block (at least 1, at most Qb), which attend to b'' = (k − ½)·B keys per late row (`budgetKeys`, `budgetLayout`);
 * split-part row boundaries scale the same way, r' = round(r · N'/N), and parts left empty are dropped. Prediction
 * (W(b'', N') through the calibrated cost model) and execution both use b'' and r'.
 *
 * `concurrency` devices run at once (default 1: devices of a layer take turns, so on a shared CPU each device's
 * busy time is measured alone, as on its own GPU; the barrier semantics are unchanged). Serial execution always
 * runs one device at a time.
 */
import * as E from 'fp-ts/lib/Either.js';
import { kvHeadOf, hplbError, issueText, recomputeLoads, validatePlan, type Calibration, type CostModel, type HplbError, type Plan, type Split } from '@hplb/core';
import { siblingModule, spawnTsWorker } from '@hplb/core/node';
import { budgetKeys } from '@hplb/core/kernel';
import { makeAttentionParams } from '@hplb/core/kernel';
import { startBackend } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel';
import type { Worker } from 'node:worker_threads';
import { backendCandidate, isBackendName } from './backends.ts';
import type { Clock } from './calibration.ts';
import { median } from './calibration.ts';
import { DeviceRunner, type DeviceReply, type DeviceRequest, type DeviceTask, type SharedBackend } from './deviceRunner.ts';

/** How the simulated devices ran: one worker thread each, or one after another on the calling thread (module doc). */
export type Execution = 'workers' | 'serial';
export const EXECUTIONS: ReadonlyArray<Execution> = ['workers', 'serial'];

export interface ExecuteOptions {
  readonly backend: string;
  readonly backendOptions?: Record<string, unknown>;
  /** N' of the run (default 2048, capped at the plan's N). */
  readonly contextLength?: number;
  /** Run only the first K layers (default all). */
  readonly layers?: number;
  readonly blockSize?: number;
  /** Seconds cost model for the prediction (from a calibration); required. */
  readonly costModel: CostModel;
  readonly concurrency?: number;
  /** Force an execution mode (default: "serial" when the backend declares `workerThreads: false`, else "workers"). */
  readonly execution?: Execution;
  readonly clock: Clock;
  readonly seed?: number;
  /** Passes over each layer (round-robin over the devices); each task's fastest run counts (default 1). */
  readonly repeats?: number;
  /** Keep every task's output (tests: split parts vs the unsplit head). */
  readonly keepOutputs?: boolean;
  readonly onLayer?: (done: number, total: number) => void;
}

export interface LayerResult {
  readonly layer: number;
  /** Predicted layer makespan, seconds. */
  readonly predicted: number;
  /** Measured layer makespan (max device busy time), seconds. */
  readonly measured: number;
  readonly predictedDeviceLoad: number[];
  readonly measuredDeviceBusy: number[];
  /** Wall time of the layer including the barrier and the untimed setup. */
  readonly wallSeconds: number;
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
  /** |measured − predicted| / predicted per layer: median and max. */
  readonly makespanError: { median: number; max: number };
  readonly outputs?: TaskOutput[];
}

// ---------------------------------------------------------------- scaling

export const scaleBudget = (b: number, fromN: number, toN: number, blockSize: number): number =>
  budgetKeys({ tokens: toN, blockSize, blocks: Math.ceil(toN / blockSize) } as AttentionParams, (b * toN) / fromN);

/** The plan at context N' restricted to its first `layers` layers, budgets and split rows scaled (module doc). */
export const scalePlan = (plan: Plan, toN: number, layers: number, blockSize: number): Plan => {
  const n = plan.contextLength;
  const row = (r: number) => Math.round((r * toN) / n);
  const splits = (plan.splits ?? []).filter((s) => s.layer < layers).map((s) => ({
    ...s, parts: s.parts.map((p) => ({ ...p, rowStart: row(p.rowStart), rowEnd: row(p.rowEnd) })).filter((p) => p.rowEnd > p.rowStart),
  }));
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
const chooseExecution = async (opts: ExecuteOptions): Promise<E.Either<HplbError, { execution: Execution; instance?: AttentionBackend }>> => {
  if (!isBackendName(opts.backend)) return E.right({ execution: opts.execution ?? 'workers' }); // the device's loadBackend names the problem
  let instance: AttentionBackend;
  try {
    instance = (await backendCandidate(opts.backend, opts.backendOptions).create()) as AttentionBackend;
  } catch (e) {
    return E.left(backendError(`${opts.backend}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const execution = opts.execution ?? (instance.capabilities.workerThreads === false ? 'serial' : 'workers');
  if (execution === 'serial') return E.right({ execution, instance });
  await instance.dispose();
  return E.right({ execution });
};

// ---------------------------------------------------------------- operations

export const executePlan = async (rawPlan: Plan, opts: ExecuteOptions, file?: string): Promise<E.Either<HplbError, ExecutionResult>> => {
  const valid = validatePlan(rawPlan, file);
  if (E.isLeft(valid)) return valid;
  const plan0 = valid.right;
  const B = opts.blockSize ?? 64;
  const N = Math.min(plan0.contextLength, opts.contextLength ?? 2048);
  const L = Math.min(plan0.model.layers, opts.layers ?? plan0.model.layers);
  const G = plan0.devices.length;
  const plan = scalePlan(plan0, N, L, B);
  const predictedLoads = recomputeLoads({ ...plan, costModel: opts.costModel as Plan['costModel'], predicted: { ...plan.predicted, unit: 'seconds' } });
  const chosen = await chooseExecution(opts);
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
        blockSize: B, seed: opts.seed ?? 1, clock: opts.clock, keepOutputs: opts.keepOutputs ?? false, warmUp: shared === undefined || g === 0,
      });
      if (r.op === 'error') return E.left(backendError(r.message));
      if (r.op === 'ready') deviceName = r.device;
    }
    const layers: LayerResult[] = [];
    const outputs: TaskOutput[] = [];
    for (let l = 0; l < L; l++) {
      const tasks = layerTasks(plan, l);
      const t0 = performance.now();
      const busy = Array<number>(G).fill(0);
      const passes = Math.max(1, opts.repeats ?? 1);
      for (let pass = 0; pass < passes; pass++)
      for (let g0 = 0; g0 < G; g0 += concurrency) {
        const batch = devices.slice(g0, g0 + concurrency).map((d, i) => d.ask({ op: 'layer', layer: l, tasks: tasks[g0 + i]!, pass, passes }));
        const replies = await Promise.all(batch); // the barrier (per batch; the layer ends when every batch is done)
        for (const [i, r] of replies.entries()) {
          if (r.op === 'error') return E.left(backendError(`device ${g0 + i}: ${r.message}`));
          if (r.op !== 'layer') continue;
          busy[g0 + i] = r.busy / plan.devices[g0 + i]!.speed;
          if (opts.keepOutputs) for (const t of r.tasks) if (t.out && t.lse) outputs.push({ layer: l, head: t.head, device: g0 + i, start: t.start, end: t.end, out: t.out, lse: t.lse });
        }
      }
      const pred = predictedLoads[l]!;
      layers.push({
        layer: l,
        predicted: Math.max(0, ...pred),
        measured: Math.max(0, ...busy),
        predictedDeviceLoad: pred,
        measuredDeviceBusy: busy,
        wallSeconds: (performance.now() - t0) / 1000,
      });
      opts.onLayer?.(l + 1, L);
    }
    const bubble = (rows: number[][]) => {
      const tot = rows.reduce((s, r) => s + Math.max(0, ...r), 0);
      const mean = rows.reduce((s, r) => s + r.reduce((a, b) => a + b, 0) / r.length, 0);
      return tot === 0 ? 0 : 1 - mean / tot;
    };
    const errs = layers.map((x) => (x.predicted > 0 ? Math.abs(x.measured - x.predicted) / x.predicted : 0));
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
      clock: opts.clock,
      costModel: opts.costModel.source ?? opts.costModel.name,
      layers,
      predictedTotal: layers.reduce((s, x) => s + x.predicted, 0),
      measuredTotal: layers.reduce((s, x) => s + x.measured, 0),
      predictedBubbleFraction: bubble(layers.map((x) => x.predictedDeviceLoad)),
      measuredBubbleFraction: bubble(layers.map((x) => x.measuredDeviceBusy)),
      makespanError: { median: errs.length ? median(errs) : 0, max: Math.max(0, ...errs) },
      ...(opts.keepOutputs ? { outputs } : {}),
    });
  } finally {
    await Promise.all(devices.map((d) => d.close()));
    await shared?.backend.dispose();
  }
};

export type { Calibration };
