/**
 * What an ILP engine is asked and what it answers, as plain data (it crosses the worker_threads boundary).
 * Implemented by `highs.ts` (in @hplb/solvers) and by @hplb/solver-glpk (GPL, loaded only dynamically).
 * The answer is the engine's CLAIM; `index.ts` re-checks it before anything is reported.
 */
import type { LinearModel } from './model.ts';

export interface EngineRequest {
  readonly model: LinearModel;
  /** CPLEX LP text of `model` (what HiGHS reads). */
  readonly lp: string;
  /** Column names in engine order. */
  readonly columns: ReadonlyArray<string>;
  /** A feasible start vector in column order (HiGHS uses it; GLPK gets the upper bound on T instead). */
  readonly start: ReadonlyArray<number> | null;
  /** The engine's own time limit, seconds (the caller also enforces a hard limit by terminating the worker). */
  readonly timeLimitSec: number;
  /**
   * Let the engine presolve (default true). The tiny configuration models solve faster without it in HiGHS;
   * GLPK always presolves (glpk.js's integer solves need it).
   */
  readonly presolve?: boolean;
}

export type EngineClaim = 'optimal' | 'feasible' | 'infeasible' | 'nosolution' | 'error';

export interface EngineAnswer {
  readonly claim: EngineClaim;
  /** Column values keyed by name (claims optimal / feasible). */
  readonly values?: Readonly<Record<string, number>>;
  readonly objective?: number;
  /** The engine's proven bound on the objective, when it reports one. */
  readonly dualBound?: number;
  /** Seconds inside the engine. */
  readonly seconds: number;
  readonly message?: string;
}
