/**
 * Worker-thread entry of the multi-layer driver: receives `{ id, problem, solver, options }`, answers
 * `{ id, result }` (a LayerResult) or `{ id, error }`. Started with core's `spawnTsWorker`.
 */
import { parentPort } from 'node:worker_threads';
import { solveLayer } from '../registry.ts';
import type { LayerProblem, SolveOptions, SolverName } from '../types.ts';
import { solveIlp } from '../ilp/index.ts';

export interface WorkerRequest {
  readonly id: number;
  readonly problem: LayerProblem;
  readonly solver: SolverName;
  readonly options: SolveOptions;
}

parentPort?.on('message', (msg: WorkerRequest) => {
  solveLayer(msg.problem, msg.solver, msg.options, { solveIlp }).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (e: unknown) => parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
