/**
 * One simulated device of the executor: it loads the backend by name (or uses one the executor shares with it),
 * then runs what the executor asks: one pass over some of a layer's tasks (whole heads and split-head row ranges)
 * in a given order, each task timed once (`timeRun`: the chosen clock plus wall and CPU seconds), with the
 * device's reference kernel (a fixed two-block run at the executor's N) timed before the pass. The executor
 * decides the order (interleaved), the warm-up pass and the re-measures, and computes the statistics, all by the
 * timing protocol (`timing.ts`). Input generation and layout building are not timed.
 *
 * Besides attention tasks, a device runs the serving phases' tasks (`serving.ts`): a projection (one dense product
 * through the backend's `matmul`) and a decode step (weight GEMVs and one query row per KV head, timed as one task).
 * Their inputs (the layer's hidden states, per-head weights, decode rows and layouts) are set up untimed too.
 *
 * It runs either inside a worker thread (`deviceWorker.ts`, execution "workers") or on the executor's own thread
 * (execution "serial", for backends whose `capabilities.workerThreads` is false): the requests and replies are the
 * same, so both modes measure the same thing.
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError, hplbError, issueText } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetKeys, budgetLayout } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams, BlockLayout } from '@hplb/core/kernel';
import { loadBackend } from './backends.ts';
import { timeRun, type Clock } from './clock.ts';
import './heap.ts';
import { headInputs, referenceKernel } from './inputs.ts';
import { DEFAULT_DECODE_STEPS, hiddenStates, matmulOf, perStep, prepareDecode, prepareProjection, runDecode, runProjection, type DecodeTask, type PreparedDecode, type PreparedProjection, type ProjectionTask } from './serving.ts';
import type { Reading } from './timing.ts';

/** Attention of one head over its rows [start, end) (the whole head, or a split part). */
export interface AttentionTask { readonly kind?: 'attention'; readonly head: number; readonly kvHead: number; readonly budget: number; readonly start: number; readonly end: number }

/** What a device runs: attention, or a serving phase's projection or decode step (`serving.ts`). */
export type DeviceTask = AttentionTask | ProjectionTask | DecodeTask;

export type DeviceRequest =
  /** `warmUp: false` skips the untimed warm-up (serial execution warms the shared backend once, on device 0). */
  /** `hiddenSize`: H' of the serving phases' projections (absent: the run has none); `decodeSteps`: decode steps per timed run. */
  | { op: 'init'; backend: string; options?: Record<string, unknown>; tokens: number; headDim: number; blockSize: number; seed: number; clock: Clock; keepOutputs: boolean; warmUp?: boolean; hiddenSize?: number; decodeSteps?: number }
  /**
   * One pass: run `tasks[order[j]]` for j = 0, 1, … (inputs for a new layer, or a new `phase` of it, are set up
   * first, untimed), each timed once; with `probe`, the reference kernel is timed before the first task. `final`
   * also times it after the last.
   */
  | { op: 'run'; layer: number; phase?: string; tasks: DeviceTask[]; order: number[]; probe: boolean; final?: boolean }
  | { op: 'close' };

export type DeviceReply =
  | { op: 'ready'; device: string }
  /** `readings[j]` is the run of `tasks[order[j]]`; `probes` the reference times, in order (before; after when final). */
  | { op: 'ran'; layer: number; readings: Reading[]; probes: number[]; outputs?: { task: number; out: Float32Array; lse: Float32Array }[] }
  | { op: 'closed' }
  | { op: 'error'; message: string };

/** A backend already started by the executor (serial execution): the runner uses it and never disposes it. */
export interface SharedBackend {
  readonly backend: AttentionBackend;
  readonly device: string;
}

type Prepared =
  | { kind: 'attention'; t: AttentionTask; x: ReturnType<typeof headInputs>; layout: BlockLayout; kept: boolean }
  | { kind: 'projection'; t: ProjectionTask; x: PreparedProjection }
  | { kind: 'decode'; t: DecodeTask; x: PreparedDecode };

export class DeviceRunner {
  private backend: AttentionBackend | undefined;
  private params: AttentionParams | undefined;
  private cfg: Extract<DeviceRequest, { op: 'init' }> | undefined;
  private readonly layouts = new Map<number, BlockLayout>();
  private current: { key: string; prepared: Prepared[] } | undefined;
  private reference: { x: ReturnType<typeof headInputs>; layout: BlockLayout } | undefined;

  constructor(private readonly shared?: SharedBackend) {}

  async handle(req: DeviceRequest): Promise<DeviceReply> {
    try {
      return await this.step(req);
    } catch (e) {
      return { op: 'error', message: e instanceof Error ? e.message : String(e) };
    }
  }

  private layout(budget: number): E.Either<string, BlockLayout> {
    let layout = this.layouts.get(budget);
    if (layout === undefined) {
      const l = budgetLayout(this.params!, budget);
      if (E.isLeft(l)) return E.left(formatError(l.left));
      layout = l.right;
      this.layouts.set(budget, layout);
    }
    return E.right(layout);
  }

  private async step(req: DeviceRequest): Promise<DeviceReply> {
    if (req.op === 'init') return this.init(req);
    if (req.op === 'close') {
      if (this.shared === undefined) await this.backend?.dispose();
      this.backend = undefined;
      return { op: 'closed' };
    }
    const { backend, params, cfg, reference } = this;
    if (backend === undefined || params === undefined || cfg === undefined || reference === undefined) return { op: 'error', message: 'device used before init' };
    const key = `${req.phase ?? 'attention'}/${req.layer}`;
    if (this.current === undefined || this.current.key !== key) {
      const prepared: Prepared[] = [];
      let states: Float32Array | undefined;
      const hidden = cfg.hiddenSize;
      for (const t of req.tasks) {
        if (t.kind === 'projection' || t.kind === 'decode') {
          if (hidden === undefined) return { op: 'error', message: 'a serving task on a device started without a hidden size' };
          states ??= hiddenStates(cfg.seed, req.layer, params.tokens, hidden);
          if (t.kind === 'projection') { prepared.push({ kind: 'projection', t, x: prepareProjection(t, states, cfg.seed, req.layer, hidden, params.headDim) }); continue; }
          const x = prepareDecode(t, states, cfg.seed, req.layer, params, hidden, (b) => E.mapLeft((m: string) => hplbError('argument', [issueText('$.budget', 'a decode layout', m)]))(this.layout(b)));
          if (E.isLeft(x)) return { op: 'error', message: formatError(x.left) };
          prepared.push({ kind: 'decode', t, x: x.right });
          continue;
        }
        const layout = this.layout(t.budget);
        if (E.isLeft(layout)) return { op: 'error', message: layout.left };
        prepared.push({ kind: 'attention', t, x: headInputs(cfg.seed, req.layer, t.head, t.kvHead, params.tokens, params.headDim), layout: layout.right, kept: false });
      }
      this.current = { key, prepared };
    }
    const prepared = this.current.prepared;
    const probes: number[] = [];
    const probe = async (): Promise<string | undefined> => {
      const { value, reading } = await timeRun(cfg.clock, () => backend.sparseAttention(reference.x.q, reference.x.k, reference.x.v, reference.layout, params));
      if (E.isLeft(value)) return `reference kernel: ${formatError(value.left)}`;
      probes.push(reading.seconds);
      return undefined;
    };
    if (req.probe) { const bad = await probe(); if (bad !== undefined) return { op: 'error', message: bad }; }
    const readings: Reading[] = [];
    const outputs: { task: number; out: Float32Array; lse: Float32Array }[] = [];
    for (const j of req.order) {
      const pt = prepared[j];
      if (pt === undefined) return { op: 'error', message: `layer ${req.layer}: no task ${j}` };
      if (pt.kind === 'projection') {
        const { value, reading } = await timeRun(cfg.clock, () => runProjection(backend, pt.x));
        if (E.isLeft(value)) return { op: 'error', message: `layer ${req.layer} ${pt.t.what === 'qo' ? `Q/O projection of head ${pt.t.head}` : `K/V projection of KV head ${pt.t.head}`} rows [${pt.t.start}, ${pt.t.end}): ${formatError(value.left)}` };
        readings.push(reading);
        continue;
      }
      if (pt.kind === 'decode') {
        const steps = cfg.decodeSteps ?? DEFAULT_DECODE_STEPS;
        const { value, reading } = await timeRun(cfg.clock, () => runDecode(backend, params, pt.x, steps));
        if (E.isLeft(value)) return { op: 'error', message: `layer ${req.layer} decode step (heads ${pt.t.heads.join(', ')}): ${formatError(value.left)}` };
        readings.push(perStep(reading, steps));
        continue;
      }
      const { value, reading } = await timeRun(cfg.clock, () => backend.sparseAttention(pt.x.q, pt.x.k, pt.x.v, pt.layout, params, { start: pt.t.start, end: pt.t.end }));
      if (E.isLeft(value)) return { op: 'error', message: `layer ${req.layer} head ${pt.t.head} rows [${pt.t.start}, ${pt.t.end}): ${formatError(value.left)}` };
      readings.push(reading);
      if (cfg.keepOutputs && !pt.kept) { pt.kept = true; outputs.push({ task: j, out: value.right.out, lse: value.right.lse }); }
    }
    if (req.probe && req.final === true) { const bad = await probe(); if (bad !== undefined) return { op: 'error', message: bad }; }
    return { op: 'ran', layer: req.layer, readings, probes, ...(cfg.keepOutputs ? { outputs } : {}) };
  }

  private async init(req: Extract<DeviceRequest, { op: 'init' }>): Promise<DeviceReply> {
    this.cfg = req;
    const p = makeAttentionParams({ tokens: req.tokens, headDim: req.headDim, blockSize: req.blockSize });
    if (E.isLeft(p)) return { op: 'error', message: formatError(p.left) };
    const params = p.right;
    this.params = params;
    let device: string;
    if (this.shared !== undefined) {
      this.backend = this.shared.backend;
      device = this.shared.device;
    } else {
      const b = await loadBackend(req.backend, req.options, params);
      if (E.isLeft(b)) return { op: 'error', message: formatError(b.left) };
      this.backend = b.right.backend;
      device = b.right.info.device;
    }
    // The reference kernel (`referenceKernel`: two key blocks per query block at N, inputs no task uses).
    const ref = referenceKernel(req.seed, params);
    if (E.isLeft(ref)) return { op: 'error', message: formatError(ref.left) };
    this.reference = ref.right;
    if (req.warmUp !== false) {
      // Warm-up (untimed): JIT-compile the kernels on this thread before layer 0 is measured.
      const x = headInputs(req.seed, -1, 0, 0, params.tokens, params.headDim);
      for (const budget of [params.blockSize, 4 * params.blockSize, params.tokens]) {
        const l = budgetLayout(params, budget);
        if (E.isLeft(l)) return { op: 'error', message: formatError(l.left) };
        const r = await this.backend.sparseAttention(x.q, x.k, x.v, l.right, params, { start: 0, end: params.tokens });
        if (E.isLeft(r)) return { op: 'error', message: formatError(r.left) };
      }
    }
    if (req.hiddenSize !== undefined) {
      // The serving phases need the dense product: say so before any layer runs, and warm it up (untimed).
      const mm = matmulOf(this.backend);
      if (E.isLeft(mm)) return { op: 'error', message: formatError(mm.left) };
      const states = hiddenStates(req.seed, -1, params.tokens, req.hiddenSize);
      for (const rows of req.warmUp !== false ? [params.tokens, 1] : []) {
        const r = await mm.right(states.subarray(0, rows * req.hiddenSize), new Float32Array(req.hiddenSize * 2 * params.headDim), { rows, inner: req.hiddenSize, cols: 2 * params.headDim });
        if (E.isLeft(r)) return { op: 'error', message: formatError(r.left) };
      }
    }
    return { op: 'ready', device };
  }
}
