/**
 * The placement problem, one instance per layer (P||Cmax with serving constraints), and the model-level input.
 * Shared by every solver in this package, the ILP engines, split heads, engine-layout mode and the CLI.
 * Owned by the solvers package: extend, never rename.
 */
import type { CostModel, Device, ModelShape, Plan, SolverStatus } from '@hplb/core';

/** Items are query heads (or KV groups, after grouping); loads are in the cost model's unit. */
export interface LayerProblem {
  readonly layer: number;
  /** costs[i]: time of item i on a speed-1 device (cost model applied). */
  readonly costs: ReadonlyArray<number>;
  /** Relative device speeds (load = cost / speed), one per device. */
  readonly speeds: ReadonlyArray<number>;
  /** Optional per-item × per-device time matrix; overrides costs/speeds when present. */
  readonly timeMatrix?: ReadonlyArray<ReadonlyArray<number>>;
  /** Items that must share a device (kv: "group": GQA groups). */
  readonly groups?: ReadonlyArray<ReadonlyArray<number>>;
  /** Every device holds the same number of items. */
  readonly equalHeadsPerDevice?: boolean;
  /** Pinned items: item → device. */
  readonly pinned?: ReadonlyArray<{ readonly item: number; readonly device: number }>;
  /** Previous assignment for a stable re-plan: lexicographic (makespan first, then moves × migrationWeight). */
  readonly previous?: ReadonlyArray<number>;
  readonly migrationWeight?: number;
  /**
   * kv: "replicate" bookkeeping: kvGroupOf[i] = KV head read by item i. Needed only with `maxKvPerDevice`,
   * `maxExtraKvCopies` or `kvCopyCost` (a device that runs any item of a KV group holds a copy of that KV head).
   */
  readonly kvGroupOf?: ReadonlyArray<number>;
  /** Memory: at most this many KV head copies (this layer's share) on each device. null = unconstrained. */
  readonly maxKvPerDevice?: ReadonlyArray<number | null>;
  /** Replication cap: at most this many extra KV head copies (beyond one per KV head) in this layer. */
  readonly maxExtraKvCopies?: number;
  /**
   * Extra time on device d for each extra KV copy it holds (cost model's KV-copy terms). The group's home, which is
   * not charged, is the device of its first item (as in core's kvSummary).
   */
  readonly kvCopyCost?: ReadonlyArray<number>;
}

/** A solved layer's status: core's `SolverStatus` (the plan format's union), not a second list. */
export type LayerStatus = SolverStatus;

/**
 * What proved a layer optimal: a lower bound its makespan meets (`bound:L0` mean / largest head, `bound:L1`
 * pigeonhole, `bound:L2` Martello–Toth L2 lifted over the capacity, `bound:L3` the same for L3 (L2 after fixing
 * dominant bins), `bound:loads` the least achievable load above
 * the others, `bound:equal-counts`, `bound:groups` whole KV groups, `bound:pinned`, `bound:matrix` time-matrix
 * bound, `bound:given` a bound handed to the exact search, `bound:split` the divisible-work bound of a layer with
 * split heads), the class-count DP (`dp`), the bin-completion search
 * (`search`), branch and bound (`branch`), or an ILP engine's own bound (`ilp:highs`, `ilp:glpk`).
 */
export type ProofName =
  | 'bound:L0' | 'bound:L1' | 'bound:L2' | 'bound:L3' | 'bound:loads' | 'bound:equal-counts' | 'bound:groups' | 'bound:pinned'
  | 'bound:matrix' | 'bound:given' | 'bound:split' | 'dp' | 'search' | 'branch' | 'ilp:highs' | 'ilp:glpk';

export type LayerResult =
  | {
      readonly status: LayerStatus;
      /** assignment[i] = device of item i */
      readonly assignment: ReadonlyArray<number>;
      readonly makespan: number;
      /** The best bound proven for this layer (≤ makespan). */
      readonly lowerBound: number;
      /** makespan / lowerBound − 1: 0 exactly when proven optimal (then `proof` says how), never rounded down. */
      readonly gap: number;
      readonly seconds: number;
      /** What proved the layer optimal (present exactly when status is optimal). */
      readonly proof?: ProofName;
    }
  | { readonly status: 'infeasible'; readonly constraint: string; readonly message: string };

/** An ILP engine that cannot start (not installed, no engine in this runtime, start-up failed): not a property of the layer. */
export interface EngineUnavailable {
  readonly status: 'unavailable';
  readonly engine: 'highs' | 'glpk';
  readonly message: string;
}

/** What `solveLayer` answers: a layer result, or that the chosen ILP engine is unavailable. */
export type SolveResult = LayerResult | EngineUnavailable;

export interface SolveOptions {
  /** Wall-clock budget per layer in milliseconds. */
  readonly timeLimitMs: number;
  readonly seed?: number;
  /** Start from this assignment (e.g. the best heuristic's) when the solver can use one. */
  readonly warmStart?: ReadonlyArray<number>;
  /**
   * Deterministic effort budget for `auto`, `exact` and `local` (and the ILP engines' warm start): at most this many
   * search steps per layer (a branch-and-bound or bin-completion node, eight count-vector states of the class DP, a candidate
   * move or swap evaluated by local search, a subset sum of a pairwise re-split; see effort.ts). Every phase spends
   * shares of it instead of shares of the time limit, so the result depends only on the instance, the seed and the
   * effort. `timeLimitMs` stays a hard safety net: a solve it cuts first is still valid, with a truthful gap, and is
   * reported `timedout`; a solve that spends its effort without a proof is `feasible` (with its gap). Absent (or not a
   * finite number > 0): phases share the time limit, as before.
   * Rough scale: 10^6 units are a few hundred milliseconds of search on one core.
   */
  readonly effort?: number;
}

/** Every solver name, in help order: the one list `SolverName` is derived from. */
export const SOLVER_NAMES = ['auto', 'exact', 'lpt', 'kk', 'multifit', 'local', 'contiguous', 'roundrobin', 'ilp-glpk', 'ilp-highs'] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];

/**
 * The one settings record of a planning run: what the user chose (model, context, devices, constraints, cost model,
 * solver budget, KV and split options, a previous plan), built once (by the `hplb` facade from its options, or by any
 * caller) and passed unchanged to the budget planner (`@hplb/planner`) and, with budgets and a solver added, to the
 * multi-layer driver (`PlanInput`). Extend it here; never copy its fields into another record.
 */
export interface PlanSettings {
  readonly model: ModelShape;
  readonly contextLength: number;
  readonly devices: ReadonlyArray<Device>;
  readonly constraints: { readonly equalHeadsPerDevice: boolean; readonly kv: 'group' | 'replicate' };
  readonly costModel: CostModel;
  /** Wall-clock budget per layer solve, milliseconds (> 0). */
  readonly timeLimitMs: number;
  /** Split the heaviest heads' query rows across devices (present = split), with these options. */
  readonly splitHeads?: { readonly maxSplits?: number; readonly minRows?: number; readonly homeDecode?: boolean };
  /** Bytes per KV element (default 2). */
  readonly kvBytesPerElement?: number;
  /** Cap on replicated KV bytes (kv "replicate"); null or absent = no cap. */
  readonly kvReplicationCapBytes?: number | null;
  /** Stable re-plan: the previous plan (lexicographic: makespan first, then moves × migrationWeight). */
  readonly previous?: Plan;
  readonly migrationWeight?: number;
  readonly onProgress?: (doneLayers: number, totalLayers: number) => void;
  /**
   * Deterministic effort budget per layer solve (SolveOptions.effort) for the anytime solvers: the plan then depends
   * only on the inputs, the seed and the effort, never on machine load (`timeLimitMs` is the safety net).
   */
  readonly effort?: number;
  /** Seed for the randomised parts (perturbation in local search). Default 1. */
  readonly seed?: number;
  /** Budget block size in tokens (the budget planner's granularity; the placement solvers do not read it). */
  readonly blockSize?: number;
  /**
   * Where solving runs (worker threads and ILP engines in Node: `nodeSolverRuntime` from `@hplb/solvers/node`). The
   * budget planner passes it to `planModel`; absent = in the calling thread.
   */
  readonly runtime?: SolverRuntime;
}

/** Model-level input: what `hplb plan` hands the multi-layer driver: the settings, the budgets and the solver. */
export interface PlanInput extends PlanSettings {
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
  readonly solver: SolverName;
  /** Worker threads for the multi-layer driver: 0 = solve in this thread, undefined = decide ("where it pays"). */
  readonly workers?: number;
}

/** One layer to solve, as handed to a runtime's worker pool. */
export interface LayerJob {
  readonly layer: number;
  readonly problem: LayerProblem;
  readonly solver: SolverName;
  readonly options: SolveOptions;
}

/** What an ILP engine call takes (the engines run in worker threads, so they come with a runtime). */
export interface IlpCall {
  readonly engine: 'glpk' | 'highs';
  readonly timeLimitMs: number;
  readonly warmStart?: ReadonlyArray<number>;
}

/**
 * Where solving runs. The package root is platform-neutral: without a runtime every layer is solved in the calling
 * thread and the ILP solvers report that no engine is available. `@hplb/solvers/node` supplies `nodeSolverRuntime`
 * (a worker-thread pool, HiGHS and the optional GLPK engine) and uses it by default.
 */
export interface SolverRuntime {
  /** Threads the pool may use (the driver uses at most 4). */
  readonly parallelism?: number;
  /** A worker's start-up time: below it, a pool does not pay. */
  readonly workerStartupMs?: number;
  /** Solve jobs on `workers` threads; resolves in job order and calls `onDone` per finished job. */
  readonly solveInWorkers?: (jobs: ReadonlyArray<LayerJob>, workers: number, onDone: () => void) => Promise<SolveResult[]>;
  /** Run an ILP engine on one layer (the result is re-checked by the registry). */
  readonly solveIlp?: (problem: LayerProblem, call: IlpCall) => Promise<LayerResult>;
}
