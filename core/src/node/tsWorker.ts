/**
 * Start a worker thread on a TypeScript module. The worker is bootstrapped through tsx's ESM loader, so it works
 * whether the parent process was started with `node --import tsx` (tests) or through the `hplb` bin.
 * `terminate()` on the returned Worker is the hard time limit for blocking work (ILP engines, kernels).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

const tsxApi = import.meta.resolve('tsx/esm/api');

export const spawnTsWorker = (moduleUrl: URL | string, options: WorkerOptions = {}): Worker => {
  const target = typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
};
