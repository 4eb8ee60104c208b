/**
 * The planner's options: what a caller (the `hplb` facade, the CLI, a browser page) says about a planning run, as
 * plain data with io-ts codecs, so options from JavaScript callers are decoded at the edge like any file. Errors name
 * the option by its JSON path (`$.gpus`, `$.density`, `$.constraints.kv`), never a CLI flag.
 *
 *   PlanOptions     devices, constraints, cost model, solver budget, KV and split options, a previous plan, budgets
 *   PlanOptionsC    its codec (`decodePlanOptions` = decode + the cross-field rules io-ts cannot state)
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import {
  CostModelC, DeviceC, HardwareOverridesC, editDistance, WORKLOAD_MODES, type HardwareOverrides, type ModelDims, type WorkloadMode, NonNegative, NonNegativeInt, POLICY_NAMES, PlanC, Positive, PositiveInt, decode, hplbError, issue,
  type CostModel, type Device, type HplbError, type Plan,
} from '@hplb/core';
import { SOLVER_NAMES, type SolverName, type SolverRuntime } from '@hplb/solvers';

// ---------------------------------------------------------------- model

/** A budget policy of core (`uniform`, `top-p`, `max-min`, `bubble-fill`, `joint`) or `profile` (the profile's own). */
export type BudgetPolicy = (typeof POLICY_NAMES)[number] | 'profile';
/** Every budget policy name, in help order. */
export const BUDGET_POLICIES: ReadonlyArray<BudgetPolicy> = [...POLICY_NAMES, 'profile'];

/** Split-head options: `maxSplits` cuts per layer at most, `minRows` query rows per part at least. */
export interface SplitOptions {
  readonly maxSplits?: number;
  readonly minRows?: number;
}

/**
 * What the placement side of a run needs (shared by planning, comparing, sweeping). Every field is optional; the
 * defaults are those of `hplb plan`.
 */
export interface SettingsOptions {
  /** GPUs: a count (identical devices `gpu0…`, speed 1, no memory limit) or the devices themselves. Default 8. */
  readonly gpus?: number | ReadonlyArray<Device>;
  /** Relative speeds, one per GPU (with a GPU count). */
  readonly speeds?: ReadonlyArray<number>;
  /** KV memory per GPU in GB (10⁹ bytes): one value for all, or one per GPU (with a GPU count). */
  readonly memoryGb?: number | ReadonlyArray<number>;
  /** `equalHeadsPerDevice` (default false) and `kv`: "group" keeps GQA groups whole, "replicate" (default) lets query heads move. */
  readonly constraints?: { readonly equalHeadsPerDevice?: boolean; readonly kv?: 'group' | 'replicate' };
  /** A cost model, or a name: `work` (default, token pairs), `budget`/`paper-budget` (N·b), `cuda-h100`, `cpu` (seconds). */
  readonly costModel?: CostModel | string;
  /** KV-copy communication term: replicated KV bytes / (linkGbps GB/s), charged per layer (cost models in seconds). */
  readonly linkGbps?: number;
  /**
   * Split the heaviest heads' query rows: true / options (the split-head stage's settings). `planProfile` reads its
   * own `splitHeads` (below) to decide whether the planned row splits; reference rows use these options.
   */
  readonly splitHeads?: boolean | SplitOptions;
  /** Context length N (default: the profile's, else 131072). */
  readonly contextLength?: number;
  /** Budget block size in tokens (default 64, at most N). */
  readonly blockSize?: number;
  /** Bytes per KV element (default 2). */
  readonly kvBytesPerElement?: number;
  /** Cap on replicated KV bytes (kv "replicate" only). */
  readonly kvReplicationCapBytes?: number | null;
  /** Wall-clock safety net per layer solve, ms (> 0; default 250). */
  readonly timeLimitMs?: number;
  /** Seed for randomised search (default 1). */
  readonly seed?: number;
  /** Deterministic effort per layer solve for `auto`/`exact`/`local` (default 10⁶ for `auto`). */
  readonly effort?: number;
  /** Stable re-plan: the previous plan of the same model and GPU count. */
  readonly previous?: Plan;
  /** Accept a makespan up to (1 + w)× the best to save moves (default 0). */
  readonly migrationWeight?: number;
  /** MoA: the recovery assumed at each head's span (MoA publishes none). */
  readonly spanRecovery?: number;
  /** Where solving runs (default: this thread; `hplb/node` defaults to worker threads). */
  readonly runtime?: SolverRuntime;
  /** Progress: layers done of the total, per pipeline run, and the pipeline's name. */
  readonly onProgress?: (done: number, total: number, pipeline: string) => void;
  /** Provenance written into the plan's `source.profile` (default: the profile's file, or "built-in default …"). */
  readonly profileName?: string;
  /**
   * Price plans in the serving step (core serving.ts) and choose the written plan by its objective (default true
   * whenever the model's hidden and MLP sizes are known: registry, config.json or `modelDims`). false: attention
   * alone, as hplb planned before, and no `serving` block. `price`: price every row, add no serving rows and keep the
   * chosen pipeline as the written plan.
   */
  readonly serving?: boolean | 'price';
  /** The hardware preset (`h100-sxm`, the default; `h200`; `a100-80gb`), or `{name?, …numbers}` overriding its numbers. */
  readonly hardware?: string | ({ readonly name?: string } & HardwareOverrides);
  /** What is served: `mode` colocated (default) | prefill, `outputTokens` (default 256), `batch` (default 1). */
  readonly workload?: { readonly mode?: WorkloadMode; readonly outputTokens?: number; readonly batch?: number };
  /** Hidden size, MLP size, … where neither the registry nor config.json states them (each field overrides). */
  readonly modelDims?: Partial<ModelDims>;
}

/** How much the budget policy may spend, or what it must reach (at most one of density, totalTokens, totalWork). */
export interface BudgetOptions {
  /** Mean budget as a share of N, in (0, 1] (default 0.2). */
  readonly density?: number;
  /** Total tokens over all heads instead of a density. */
  readonly totalTokens?: number;
  /** Total causal-prefill work Σ W(b, N) in token pairs instead. */
  readonly totalWork?: number;
  /** top-p target in (0, 1] (default 0.95). */
  readonly p?: number;
}

/** Options of `planProfile` and `comparePipelines`. */
export interface PlanOptions extends SettingsOptions, BudgetOptions {
  /** Budget policy (default: `profile`, the budgets a published profile states; for curve profiles `bubble-fill`, hplb's). */
  readonly policy?: BudgetPolicy;
  /** Solver of the planned row (default `auto` with the deterministic effort). */
  readonly solver?: SolverName;
  /**
   * Split heavy heads' query rows: true / options, or false for whole heads. Default: split when no solver is named,
   * KV is replicated and head counts are free (hplb's row).
   */
  readonly splitHeads?: boolean | SplitOptions;
}

// ---------------------------------------------------------------- codecs

const fn = new t.Type<(...a: never[]) => unknown, (...a: never[]) => unknown, unknown>('a function', (u): u is (...a: never[]) => unknown => typeof u === 'function', (u, c) => (typeof u === 'function' ? t.success(u as (...a: never[]) => unknown) : t.failure(u, c)), (a) => a);
const RuntimeC = t.UnknownRecord;
const SplitOptionsC = t.partial({ maxSplits: NonNegativeInt, minRows: PositiveInt }, 'SplitOptions');
const DensityC = t.refinement(t.number, (n) => Number.isFinite(n) && n > 0 && n <= 1, 'a density in (0, 1] (the mean budget as a share of the context length)');
const PC = t.refinement(t.number, (n) => Number.isFinite(n) && n > 0 && n <= 1, 'a recovery target p in (0, 1]');
const SpanRecoveryC = t.refinement(t.number, (n) => Number.isFinite(n) && n > 0 && n <= 1, 'a recovery in (0, 1]');
const literalUnion = <T extends string>(xs: ReadonlyArray<T>, name: string) =>
  t.keyof(Object.fromEntries(xs.map((x) => [x, null])) as Record<T, null>, name);

/** Codec of `SettingsOptions` (decode with `decodeOptions`): wrong types are Lefts at the option's path. */
export const SettingsOptionsC = t.partial({
  gpus: t.union([NonNegativeInt, t.array(DeviceC)], 'a number of GPUs ≥ 1 or a list of devices {id, speed, memoryBytes}'),
  speeds: t.array(Positive, 'a list of positive speeds'),
  memoryGb: t.union([NonNegative, t.array(NonNegative)], 'a memory size in GB (≥ 0), or one per GPU'),
  constraints: t.partial({ equalHeadsPerDevice: t.boolean, kv: t.keyof({ group: null, replicate: null }, 'group|replicate') }),
  costModel: t.union([t.string, CostModelC], 'a cost model or its name'),
  linkGbps: t.refinement(Positive, () => true, 'a link bandwidth in GB/s > 0'),
  splitHeads: t.union([t.boolean, SplitOptionsC], 'true, false or {maxSplits?, minRows?}'),
  contextLength: t.refinement(PositiveInt, () => true, 'a context length ≥ 1 token'),
  blockSize: t.refinement(PositiveInt, () => true, 'a block size ≥ 1 token'),
  kvBytesPerElement: t.refinement(PositiveInt, () => true, 'bytes per KV element ≥ 1'),
  kvReplicationCapBytes: t.union([NonNegative, t.null], 'a replicated-KV cap in bytes (≥ 0) or null'),
  timeLimitMs: t.refinement(Positive, () => true, 'a time limit in ms > 0'),
  seed: t.refinement(t.number, (n) => Number.isInteger(n), 'an integer'),
  effort: t.refinement(Positive, () => true, 'an effort > 0 (search steps per layer)'),
  previous: PlanC,
  migrationWeight: t.refinement(NonNegative, () => true, 'a migration weight ≥ 0'),
  spanRecovery: SpanRecoveryC,
  runtime: RuntimeC,
  onProgress: fn,
  profileName: t.string,
  serving: t.union([t.boolean, t.literal('price')], 'true, false or "price"'),
  hardware: t.union([t.string, t.intersection([t.partial({ name: t.string }), HardwareOverridesC])], 'a hardware preset name or {name?, bf16Flops?, …}'),
  workload: t.partial({
    mode: t.keyof(Object.fromEntries(WORKLOAD_MODES.map((m) => [m, null])) as Record<WorkloadMode, null>, WORKLOAD_MODES.join('|')),
    outputTokens: t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'a whole number of output tokens ≥ 0'),
    batch: t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1, 'a whole number of concurrent sequences ≥ 1'),
  }),
  modelDims: t.partial({
    hiddenSize: PositiveInt, intermediateSize: PositiveInt, vocabSize: PositiveInt, tieWordEmbeddings: t.boolean,
    weightDtype: t.string, weightBytesPerElement: PositiveInt,
    moe: t.intersection([t.type({ experts: PositiveInt, topK: PositiveInt }), t.partial({ sharedExpertIntermediateSize: NonNegativeInt })]),
    source: t.string,
  }),
}, 'SettingsOptions');

/** Codec of `BudgetOptions` (the cross-field rule is `checkBudgetOptions`). */
export const BudgetOptionsC = t.partial({
  density: DensityC,
  totalTokens: t.refinement(Positive, () => true, 'a total number of tokens > 0'),
  totalWork: t.refinement(Positive, () => true, 'a total work in token pairs > 0'),
  p: PC,
}, 'BudgetOptions');

/** Codec of `PlanOptions` (decode with `decodePlanOptions`, which adds the budget rule). */
export const PlanOptionsC = t.intersection([
  SettingsOptionsC,
  BudgetOptionsC,
  t.partial({
    policy: literalUnion(BUDGET_POLICIES, `one of ${BUDGET_POLICIES.join('|')}`),
    solver: literalUnion(SOLVER_NAMES, `one of ${SOLVER_NAMES.join('|')}`),
    splitHeads: t.union([t.boolean, SplitOptionsC], 'true, false or {maxSplits?, minRows?}'),
  }),
], 'PlanOptions');

// ---------------------------------------------------------------- operations

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** The one cross-field rule of the budget options: at most one of density, totalTokens, totalWork. */
export const checkBudgetOptions = (o: BudgetOptions): E.Either<HplbError, BudgetOptions> =>
  [o.density, o.totalTokens, o.totalWork].filter((x) => x !== undefined).length > 1
    ? E.left(hplbError('argument', [issue('$.totalTokens', 'one of $.density, $.totalTokens or $.totalWork, not several')]))
    : E.right(o);

/**
 * Decode options from any caller (a JavaScript object, parsed JSON): an object whose fields have the types above.
 * Left (`argument`) names the field by its JSON path and says what was expected, e.g. `at $.gpus: expected a number
 * of GPUs ≥ 1 or a list of devices {id, speed, memoryBytes}, got "eight"`. Absent options are `{}`.
 */
/** The keys an object codec knows (partial, type, intersections and refinements of them); undefined for other codecs. */
const codecKeys = (c: t.Mixed): string[] | undefined => {
  if (c instanceof t.InterfaceType || c instanceof t.PartialType) return Object.keys(c.props as Record<string, unknown>);
  if (c instanceof t.IntersectionType) {
    const ks = (c.types as t.Mixed[]).map(codecKeys);
    return ks.some((k) => k === undefined) ? undefined : [...new Set(ks.flat() as string[])];
  }
  if (c instanceof t.RefinementType || c instanceof t.ExactType || c instanceof t.ReadonlyType) return codecKeys(c.type as t.Mixed);
  return undefined;
};

/** An unknown option key: Left naming it and the nearest known option (`{ gpu: 4 }` would otherwise plan 8 GPUs). */
const unknownKey = (u: Record<string, unknown>, known: ReadonlyArray<string>): HplbError | undefined => {
  for (const k of Object.keys(u)) {
    if (known.includes(k) || u[k] === undefined) continue;
    const near = [...known].sort((a, b) => editDistance(k.toLowerCase(), a.toLowerCase()) - editDistance(k.toLowerCase(), b.toLowerCase()) || a.localeCompare(b))[0];
    return hplbError('argument', [issue(`$.${k}`, `a known option${near !== undefined ? ` (did you mean $.${near}?)` : ''}: ${[...known].sort().join(', ')}`, u[k])]);
  }
  return undefined;
};

export const decodeOptions = <A>(codec: t.Type<A, unknown, unknown>, u: unknown): E.Either<HplbError, A> => {
  if (u === undefined) return E.right({} as A);
  if (!isRecord(u)) return E.left(hplbError('argument', [issue('$', 'an options object', u)]));
  const known = codecKeys(codec as unknown as t.Mixed);
  const unknown = known ? unknownKey(u, known) : undefined;
  if (unknown) return E.left(unknown);
  return E.mapLeft((e: HplbError): HplbError => ({ ...e, code: 'argument' }))(decode(codec as t.Type<A, unknown, unknown>, u));
};

/** `decodeOptions(PlanOptionsC, u)` plus the budget rule. */
export const decodePlanOptions = (u: unknown): E.Either<HplbError, PlanOptions> =>
  E.chain((o: PlanOptions) => E.map(() => o)(checkBudgetOptions(o)))(decodeOptions(PlanOptionsC as unknown as t.Type<PlanOptions, unknown, unknown>, u));

