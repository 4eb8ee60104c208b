/**
 * A fixed pool of worker threads for the CPU backend: tasks go to the first idle worker (so heads of unequal cost
 * balance themselves). Workers are referenced only while they have work, so an undisposed backend never keeps the
 * process alive. `terminate()` on dispose.
 */
import type { Worker } from 'node:worker_threads';
import { siblingModule, spawnTsWorker } from '@hplb/core/node';
import type { WorkerReply, WorkerRequest } from './worker.ts';

type Job = { req: WorkerRequest; transfer: ArrayBuffer[]; resolve: (r: WorkerReply) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<number, { job: Job; worker: Worker }>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (r: WorkerReply) => this.done(w, r));
      w.on('error', (e) => this.crash(w, e));
      w.unref();
      this.idle.push(w);
    }
  }

  /** Start `n` workers and wait until each has loaded the kernel module (or fail with the reason). */
  static async start(n: number): Promise<WorkerPool> {
    const workers = Array.from({ length: n }, () => spawnTsWorker(siblingModule(import.meta.url, 'worker')));
    const pool = new WorkerPool(workers);
    // A ping: a mass job on a 1-token head proves the module is loaded.
    const p = { tokens: 1, headDim: 1, blockSize: 1, blocks: 1, causal: true, scale: 1, precision: 'fp32' as const };
    await Promise.all(workers.map(() => pool.run({ op: 'mass', q: new Float32Array(1), k: new Float32Array(1), params: p })));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  run(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new Error('the CPU backend was disposed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { ...req, id: this.nextId++ } as WorkerRequest, transfer, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.pending.set(job.req.id, { job, worker: w });
      w.ref();
      w.postMessage(job.req, job.transfer);
    }
  }

  private done(w: Worker, r: WorkerReply): void {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    w.unref();
    this.idle.push(w);
    p.job.resolve(r);
    this.pump();
  }

  private crash(w: Worker, e: Error): void {
    for (const [id, p] of this.pending) if (p.worker === w) { this.pending.delete(id); p.job.reject(e); }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('the CPU backend was disposed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
