/**
 * Worker-thread entry of the CPU backend's pool: receives one head (inputs copied in), runs the reference kernel,
 * transfers the output buffers back. Started by `pool.ts` through core's `spawnTsWorker`.
 */
import { parentPort } from 'node:worker_threads';
import type { AttentionParams, BlockLayout } from '@hplb/core/kernel';
import { blockMassAll, sparseAttentionRows } from './kernel.ts';

export type WorkerRequest =
  | { id: number; op: 'attention'; q: Float32Array; k: Float32Array; v: Float32Array; layout: BlockLayout; params: AttentionParams; start: number; end: number }
  | { id: number; op: 'mass'; q: Float32Array; k: Float32Array; params: AttentionParams };

export type WorkerReply =
  | { id: number; ok: true; out: Float32Array; lse?: Float32Array; seconds: number }
  | { id: number; ok: false; message: string };

const port = parentPort;
if (port !== null) {
  port.on('message', (req: WorkerRequest) => {
    try {
      const t0 = performance.now();
      if (req.op === 'attention') {
        const r = sparseAttentionRows(req.q, req.k, req.v, req.layout, req.params, req.start, req.end);
        const reply: WorkerReply = { id: req.id, ok: true, out: r.out, lse: r.lse, seconds: (performance.now() - t0) / 1000 };
        port.postMessage(reply, [r.out.buffer as ArrayBuffer, r.lse.buffer as ArrayBuffer]);
      } else {
        const out = blockMassAll(req.q, req.k, req.params);
        const reply: WorkerReply = { id: req.id, ok: true, out, seconds: (performance.now() - t0) / 1000 };
        port.postMessage(reply, [out.buffer as ArrayBuffer]);
      }
    } catch (e) {
      port.postMessage({ id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    }
  });
}
