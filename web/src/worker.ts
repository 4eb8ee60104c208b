/**
 * The solver Web Worker: answers the page's requests (protocol.ts) one at a time with the library's planner, so a
 * long solve (the 80-layer models) never blocks the page. Progress goes back as it is reported; errors go back as
 * the library's one-line messages. The page cancels by terminating this worker.
 */
import type { WorkerRequest, WorkerResponse } from './protocol.ts';
import { LIBRARY, planRequest, paretoRequest } from './engine.ts';

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}
const scope = self as unknown as WorkerScope;
const post = (m: WorkerResponse): void => scope.postMessage(m);

/** Requests run in order: a second one waits for the first (the page sends one at a time anyway). */
let queue: Promise<void> = Promise.resolve();

const handle = async (req: WorkerRequest): Promise<void> => {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const onProgress = (done: number, total: number, label: string) => post({ type: 'progress', id: req.id, done, total, label });
  try {
    switch (req.type) {
      case 'hello':
        post({ type: 'ready', id: req.id, library: LIBRARY });
        return;
      case 'plan': {
        const r = await planRequest(req.source, req.settings, onProgress);
        post(r.ok ? { type: 'plan-result', id: req.id, result: r.value, seconds: seconds() } : { type: 'error', id: req.id, message: r.message });
        return;
      }
      case 'pareto': {
        const r = await paretoRequest(req.source, req.settings, onProgress);
        post(r.ok ? { type: 'pareto-result', id: req.id, svg: r.value, seconds: seconds() } : { type: 'error', id: req.id, message: r.message });
        return;
      }
    }
  } catch (e) {
    // The library returns Either for expected failures; anything thrown is a bug, still reported on one line.
    post({ type: 'error', id: req.id, message: `internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
  }
};

scope.onmessage = (e) => {
  const req = e.data;
  queue = queue.then(() => handle(req));
};
