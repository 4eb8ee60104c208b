/**
 * @hplb/solvers/node: everything in `@hplb/solvers`, plus the Node runtime — a worker-thread pool for the driver's
 * second pass and the ILP engines (HiGHS; GLPK through the optional GPL package @hplb/solver-glpk) in worker threads.
 * `planModel` and `solveLayer` here use `nodeSolverRuntime` unless given another runtime.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '@hplb/core';
import { siblingModule, spawnTsWorker } from '@hplb/core/node';
import type { LayerJob, LayerProblem, LayerResult, PlanInput, SolveOptions, SolveResult, SolverName, SolverRuntime } from '../types.ts';
import { planModel as planModelWith, type PlanResult } from '../driver.ts';
import { solveLayer as solveLayerWith } from '../registry.ts';
import { solveIlp } from '../ilp/index.ts';

export * from '../index.ts';
export * from '../ilp/index.ts';
export * from '../ilp/model.ts';
export * from '../ilp/engine.ts';
export * from '../ilp/configuration.ts';

/** Solve jobs on a small pool of worker threads; resolves in job order. */
export const solveInWorkers = async (jobs: ReadonlyArray<LayerJob>, workers: number, onDone: () => void): Promise<LayerResult[]> => {
  const url = siblingModule(import.meta.url, 'worker');
  const pool: Worker[] = Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, () => spawnTsWorker(url));
  const results: LayerResult[] = Array(jobs.length);
  let next = 0;
  try {
    await Promise.all(pool.map((w) => new Promise<void>((resolve, reject) => {
      const feed = () => {
        if (next >= jobs.length) return resolve();
        const id = next++;
        const j = jobs[id]!;
        w.once('message', (msg: { id: number; result?: LayerResult; error?: string }) => {
          if (msg.error !== undefined || !msg.result) return reject(new Error(msg.error ?? 'worker returned nothing'));
          results[id] = msg.result;
          onDone();
          feed();
        });
        w.postMessage({ id, problem: j.problem, solver: j.solver, options: j.options });
      };
      w.once('error', reject);
      feed();
    })));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
};

/** The Node runtime: up to 4 worker threads for the driver, the ILP engines in their own worker threads. */
export const nodeSolverRuntime: SolverRuntime = {
  parallelism: availableParallelism(),
  workerStartupMs: 300,
  solveInWorkers,
  solveIlp,
};

/** `planModel` with the input's runtime (`PlanSettings.runtime`), else the Node runtime. */
export const planModel = (input: PlanInput, runtime: SolverRuntime = input.runtime ?? nodeSolverRuntime): Promise<E.Either<HplbError, PlanResult>> =>
  planModelWith(input, runtime);

/** `solveLayer` with the Node runtime (ILP engines available) by default. */
export const solveLayer = (problem: LayerProblem, solver: SolverName, options: SolveOptions, runtime: SolverRuntime = nodeSolverRuntime): Promise<SolveResult> =>
  solveLayerWith(problem, solver, options, runtime);
