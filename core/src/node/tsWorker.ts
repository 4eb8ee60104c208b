/**
 * Worker threads on hplb's own modules. In the shipped packages every module is compiled JavaScript and a worker
 * starts on it directly. In development (tests and examples run the TypeScript sources through tsx), a module URL
 * ending in `.ts` is bootstrapped through tsx's ESM loader instead; tsx is then a dev dependency, never loaded by
 * compiled code. `terminate()` on the returned Worker is the hard time limit for blocking work (ILP engines, kernels).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The URL of a sibling module of `importMetaUrl` named `name` (no extension), with the caller's own extension:
 * `siblingModule(import.meta.url, 'worker')` is `./worker.js` from compiled code and `./worker.ts` from sources.
 */
export const siblingModule = (importMetaUrl: string, name: string): URL => {
  const ext = /\.ts$/.test(new URL(importMetaUrl).pathname) ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, importMetaUrl);
};

export const spawnTsWorker = (moduleUrl: URL | string, options: WorkerOptions = {}): Worker => {
  const url = typeof moduleUrl === 'string' ? new URL(moduleUrl) : moduleUrl;
  if (!/\.ts$/.test(url.pathname)) return new Worker(url, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
};
