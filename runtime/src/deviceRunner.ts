/**
 * One simulated device of the executor: it loads the backend by name (or uses one the executor shares with it),
 * then for each layer runs its tasks (whole heads and split-head row ranges) one after another and reports its
 * busy time (Σ over tasks of the best of its runs, by the chosen clock). The executor asks for `passes` passes over
 * the task list, round-robin over the devices, so a burst of other jobs on a shared machine hits one pass of some
 * devices, not every run of one task. Input generation and layout building are not timed.
 *
 * It runs either inside a worker thread (`deviceWorker.ts`, execution "workers") or on the executor's own thread
 * (execution "serial", for backends whose `capabilities.workerThreads` is false): the requests and replies are the
 * same, so both modes measure the same thing.
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams, BlockLayout } from '@hplb/core/kernel';
import { loadBackend } from './backends.ts';
import { clockNow, type Clock } from './calibration.ts';
import { headInputs } from './inputs.ts';

export interface DeviceTask { readonly head: number; readonly kvHead: number; readonly budget: number; readonly start: number; readonly end: number }

export type DeviceRequest =
  /** `warmUp: false` skips the untimed warm-up (serial execution warms the shared backend once, on device 0). */
  | { op: 'init'; backend: string; options?: Record<string, unknown>; tokens: number; headDim: number; blockSize: number; seed: number; clock: Clock; keepOutputs: boolean; warmUp?: boolean }
  /** One pass over the layer's tasks; the executor sends `passes` of them, round-robin over the devices. */
  | { op: 'layer'; layer: number; tasks: DeviceTask[]; pass: number; passes: number }
  | { op: 'close' };

export type DeviceReply =
  | { op: 'ready'; device: string }
  | { op: 'pass'; layer: number; pass: number }
  | { op: 'layer'; layer: number; busy: number; tasks: { head: number; start: number; end: number; seconds: number; out?: Float32Array; lse?: Float32Array }[] }
  | { op: 'closed' }
  | { op: 'error'; message: string };

/** A backend already started by the executor (serial execution): the runner uses it and never disposes it. */
export interface SharedBackend {
  readonly backend: AttentionBackend;
  readonly device: string;
}

type Prepared = { t: DeviceTask; x: ReturnType<typeof headInputs>; layout: BlockLayout; best: number; out?: Float32Array; lse?: Float32Array };

export class DeviceRunner {
  private backend: AttentionBackend | undefined;
  private params: AttentionParams | undefined;
  private cfg: Extract<DeviceRequest, { op: 'init' }> | undefined;
  private readonly layouts = new Map<number, BlockLayout>();
  private current: { layer: number; prepared: Prepared[] } | undefined;

  constructor(private readonly shared?: SharedBackend) {}

  async handle(req: DeviceRequest): Promise<DeviceReply> {
    try {
      return await this.step(req);
    } catch (e) {
      return { op: 'error', message: e instanceof Error ? e.message : String(e) };
    }
  }

  private async step(req: DeviceRequest): Promise<DeviceReply> {
    if (req.op === 'init') return this.init(req);
    if (req.op === 'close') {
      if (this.shared === undefined) await this.backend?.dispose();
      this.backend = undefined;
      return { op: 'closed' };
    }
    const { backend, params, cfg } = this;
    if (backend === undefined || params === undefined || cfg === undefined) return { op: 'error', message: 'device used before init' };
    // Pass 0 sets up every task (untimed); each pass runs the task list once; each task keeps its fastest run.
    if (req.pass === 0 || this.current === undefined || this.current.layer !== req.layer) {
      const prepared: Prepared[] = [];
      for (const t of req.tasks) {
        let layout = this.layouts.get(t.budget);
        if (layout === undefined) {
          const l = budgetLayout(params, t.budget);
          if (E.isLeft(l)) return { op: 'error', message: formatError(l.left) };
          layout = l.right;
          this.layouts.set(t.budget, layout);
        }
        prepared.push({ t, x: headInputs(cfg.seed, req.layer, t.head, t.kvHead, params.tokens, params.headDim), layout, best: Infinity });
      }
      this.current = { layer: req.layer, prepared };
    }
    const prepared = this.current.prepared;
    for (const pt of prepared) {
      const t0 = clockNow(cfg.clock);
      const r = await backend.sparseAttention(pt.x.q, pt.x.k, pt.x.v, pt.layout, params, { start: pt.t.start, end: pt.t.end });
      const dt = clockNow(cfg.clock) - t0;
      if (E.isLeft(r)) return { op: 'error', message: `layer ${req.layer} head ${pt.t.head} rows [${pt.t.start}, ${pt.t.end}): ${formatError(r.left)}` };
      pt.best = Math.min(pt.best, dt);
      if (pt.out === undefined) { pt.out = r.right.out; pt.lse = r.right.lse; }
    }
    if (req.pass < req.passes - 1) return { op: 'pass', layer: req.layer, pass: req.pass };
    this.current = undefined;
    let busy = 0;
    const tasks: Extract<DeviceReply, { op: 'layer' }>['tasks'] = [];
    for (const pt of prepared) {
      busy += pt.best;
      tasks.push({ head: pt.t.head, start: pt.t.start, end: pt.t.end, seconds: pt.best, ...(cfg.keepOutputs && pt.out && pt.lse ? { out: pt.out, lse: pt.lse } : {}) });
    }
    return { op: 'layer', layer: req.layer, busy, tasks };
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
    return { op: 'ready', device };
  }
}
