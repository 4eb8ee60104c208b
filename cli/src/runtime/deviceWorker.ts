/**
 * One simulated device of the executor, in its own worker thread: it loads the backend by name, then for each
 * layer runs its tasks (whole heads and split-head row ranges) one after another and reports its busy time
 * (Σ over tasks of the best of its runs, by the chosen clock). The executor asks for `passes` passes over the task
 * list, round-robin over the devices, so a burst of other jobs on a shared machine hits one pass of some devices,
 * not every run of one task. Input generation and layout building are not timed.
 */
import { parentPort } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel/params.ts';
import { budgetLayout } from '@hplb/core/kernel/layout.ts';
import type { AttentionBackend, AttentionParams, BlockLayout } from '@hplb/core/kernel/types.ts';
import { loadBackend } from '../backends.ts';
import { clockNow, type Clock } from './calibration.ts';
import { headInputs } from './inputs.ts';

export interface DeviceTask { readonly head: number; readonly kvHead: number; readonly budget: number; readonly start: number; readonly end: number }

export type DeviceRequest =
  | { op: 'init'; backend: string; options?: Record<string, unknown>; tokens: number; headDim: number; blockSize: number; seed: number; clock: Clock; keepOutputs: boolean }
  /** One pass over the layer's tasks; the executor sends `passes` of them, round-robin over the devices. */
  | { op: 'layer'; layer: number; tasks: DeviceTask[]; pass: number; passes: number }
  | { op: 'close' };

export type DeviceReply =
  | { op: 'ready'; device: string }
  | { op: 'pass'; layer: number; pass: number }
  | { op: 'layer'; layer: number; busy: number; tasks: { head: number; start: number; end: number; seconds: number; out?: Float32Array; lse?: Float32Array }[] }
  | { op: 'error'; message: string };

const port = parentPort;
let backend: AttentionBackend | undefined;
let params: AttentionParams | undefined;
let cfg: Extract<DeviceRequest, { op: 'init' }> | undefined;
const layouts = new Map<number, BlockLayout>();
type Prepared = { t: DeviceTask; x: ReturnType<typeof headInputs>; layout: BlockLayout; best: number; out?: Float32Array; lse?: Float32Array };
let current: { layer: number; prepared: Prepared[] } | undefined;

const reply = (r: DeviceReply) => port!.postMessage(r);

const handle = async (req: DeviceRequest): Promise<void> => {
  if (req.op === 'init') {
    cfg = req;
    const p = makeAttentionParams({ tokens: req.tokens, headDim: req.headDim, blockSize: req.blockSize });
    if (E.isLeft(p)) return reply({ op: 'error', message: formatError(p.left) });
    params = p.right;
    const b = await loadBackend(req.backend, req.options, params);
    if (E.isLeft(b)) return reply({ op: 'error', message: formatError(b.left) });
    backend = b.right.backend;
    // Warm-up (untimed): JIT-compile the kernels on this thread before layer 0 is measured.
    const x = headInputs(req.seed, -1, 0, 0, params.tokens, params.headDim);
    for (const budget of [params.blockSize, 4 * params.blockSize, params.tokens]) {
      const l = budgetLayout(params, budget);
      if (E.isLeft(l)) return reply({ op: 'error', message: formatError(l.left) });
      const r = await backend.sparseAttention(x.q, x.k, x.v, l.right, params, { start: 0, end: params.tokens });
      if (E.isLeft(r)) return reply({ op: 'error', message: formatError(r.left) });
    }
    return reply({ op: 'ready', device: b.right.info.device });
  }
  if (req.op === 'close') {
    await backend?.dispose();
    port!.close();
    return;
  }
  if (backend === undefined || params === undefined || cfg === undefined) return reply({ op: 'error', message: 'device worker used before init' });
  // Pass 0 sets up every task (untimed); each pass runs the task list once; each task keeps its fastest run.
  if (req.pass === 0 || current === undefined || current.layer !== req.layer) {
    const prepared: Prepared[] = [];
    for (const t of req.tasks) {
      let layout = layouts.get(t.budget);
      if (layout === undefined) {
        const l = budgetLayout(params, t.budget);
        if (E.isLeft(l)) return reply({ op: 'error', message: formatError(l.left) });
        layout = l.right;
        layouts.set(t.budget, layout);
      }
      prepared.push({ t, x: headInputs(cfg.seed, req.layer, t.head, t.kvHead, params.tokens, params.headDim), layout, best: Infinity });
    }
    current = { layer: req.layer, prepared };
  }
  const prepared = current.prepared;
  for (const pt of prepared) {
    const t0 = clockNow(cfg.clock);
    const r = await backend.sparseAttention(pt.x.q, pt.x.k, pt.x.v, pt.layout, params, { start: pt.t.start, end: pt.t.end });
    const dt = clockNow(cfg.clock) - t0;
    if (E.isLeft(r)) return reply({ op: 'error', message: `layer ${req.layer} head ${pt.t.head} rows [${pt.t.start}, ${pt.t.end}): ${formatError(r.left)}` });
    pt.best = Math.min(pt.best, dt);
    if (pt.out === undefined) { pt.out = r.right.out; pt.lse = r.right.lse; }
  }
  if (req.pass < req.passes - 1) return reply({ op: 'pass', layer: req.layer, pass: req.pass });
  current = undefined;
  let busy = 0;
  const tasks: Extract<DeviceReply, { op: 'layer' }>['tasks'] = [];
  for (const pt of prepared) {
    busy += pt.best;
    tasks.push({ head: pt.t.head, start: pt.t.start, end: pt.t.end, seconds: pt.best, ...(cfg.keepOutputs && pt.out && pt.lse ? { out: pt.out, lse: pt.lse } : {}) });
  }
  return reply({ op: 'layer', layer: req.layer, busy, tasks });
};

if (port !== null) port.on('message', (req: DeviceRequest) => { handle(req).catch((e: unknown) => reply({ op: 'error', message: e instanceof Error ? e.message : String(e) })); });
