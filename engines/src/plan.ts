/**
 * Planning for serving engines from a profile: the library half of `hplb plan --engine-layout` and of
 * `hplb plan --context N:w,...`. Given a profile and options (TP size, one context length or a distribution, K/V
 * duplication factor, cost model, projection price), it computes each length's budgets from the profile and runs
 * the engine-layout planner of `@hplb/solvers` (`planEngineLayout`: equal query heads and KV slots per rank, every
 * query head with its KV slot, K/V copies as a decision) or the free length-distribution planner
 * (`planFreeLengths`). The result holds an `hplb.plan/1` plan that `exportEngineLayout` turns into an engine layout.
 * Platform-neutral. Used by `hplb plan` and the `hplb` facade.
 *
 * Options are decoded (io-ts) like the facade's: a JavaScript caller's `{ gpus: 'eight' }` is a Left. Errors name
 * option names as JSON paths (`$.gpus`, `$.lengths`, `$.kvCopies`, `$.devices[*].speed`,
 * `$.devices[*].memoryBytes`, `$.equalHeadsPerDevice`, …), never CLI flags; a profile's own errors name its file.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import {
  CostModelC,
  DEFAULT_CONTEXT_LENGTH,
  DeviceC,
  Fraction,
  NonNegative,
  Positive,
  PositiveInt,
  WORK_COST_MODEL,
  budgetsAt,
  decode,
  fail,
  hplbError,
  issue,
  makeDevices,
  type CostModel,
  type Device,
  type HplbError,
  type ModelShape,
  type Plan,
  type Profile,
} from '@hplb/core';
import {
  planEngineLayout,
  planFreeLengths,
  type EngineLayerResult,
  type EnginePlanResult,
  type LengthDistributionExtension,
  type LengthPoint,
} from '@hplb/solvers';

// ---------------------------------------------------------------- model

/** One context length of a distribution and its weight (weights sum to 1). */
export interface ContextWeight {
  readonly contextLength: number;
  readonly weight: number;
}

/** Options shared by both planners. */
export interface LengthPlanOptions {
  /** The ranks: a count of identical GPUs, or the devices (speeds must be identical; `memoryBytes` caps the KV cache). */
  readonly gpus: number | ReadonlyArray<Device>;
  /**
   * One context length N, or a distribution (expected latency Σ w_k · latency(N_k) is minimised; weights sum to 1).
   * Default: the profile's reference length (`contextLength`), else `DEFAULT_CONTEXT_LENGTH`.
   */
  readonly lengths?: number | ReadonlyArray<ContextWeight>;
  /** Curve profiles: the attention mass each head keeps, in [0, 1] (default: core's `DEFAULT_RECOVERY_TARGET`). */
  readonly recoveryTarget?: number;
  /** Attention cost per head (default `WORK_COST_MODEL`: token pairs). */
  readonly costModel?: CostModel;
  /** Local-search time per layer (and per duplication factor), ms. Default 500. */
  readonly timeLimitMs?: number;
  /** Bytes per KV element (default 2). */
  readonly kvBytesPerElement?: number;
  /** Written into the plan's `source` (e.g. the profile file and format). */
  readonly source?: Record<string, unknown>;
  /** The profile's file, named in its errors. */
  readonly profileFile?: string;
  /** Progress: `done` of `total` layer solves. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** Options of `planEngineLayoutForProfile`. */
export interface EngineLayoutPlanOptions extends LengthPlanOptions {
  /** K/V duplication factor r (copies of every KV head), or `auto`: the r with the lowest expected latency. Default `auto`. */
  readonly kvCopies?: number | 'auto';
  /**
   * Price of one KV slot's K/V projection per context token, in cost units, and what it came from (recorded in the
   * plan). Default: the cost model's `kvProjectionPerToken`, else `hiddenSize` token-pair equivalents.
   */
  readonly kvProjection?: { readonly perTokenPerSlot: number; readonly source: string };
  /** The model's hidden size for the default projection price (default queryHeads · headDim). */
  readonly hiddenSize?: number;
}

/** Options of `planLengthDistribution`. */
export interface LengthDistributionPlanOptions extends LengthPlanOptions {
  /** Equal query-head counts per GPU (default false). */
  readonly equalHeadsPerDevice?: boolean;
  /** Items: single heads with their KV replicated (`replicate`, default) or whole GQA groups (`group`). */
  readonly kv?: 'group' | 'replicate';
}

/** A plan placed for several context lengths at once, with every length's balance in `lengthDistribution`. */
export interface LengthDistributionPlan {
  readonly plan: Plan & { lengthDistribution: LengthDistributionExtension };
  readonly layers: EngineLayerResult[];
}

// ---------------------------------------------------------------- codecs (options from JavaScript are decoded)

const LengthPlanOptionsC = t.partial({
  gpus: t.union([PositiveInt, t.array(DeviceC)], 'a number of GPUs ≥ 1 or a list of devices {id, speed, memoryBytes}'),
  lengths: t.union([PositiveInt, t.array(t.type({ contextLength: PositiveInt, weight: Positive }), 'a list of {contextLength, weight}')], 'a context length N or a list of {contextLength, weight}'),
  recoveryTarget: Fraction,
  costModel: CostModelC,
  timeLimitMs: Positive,
  kvBytesPerElement: PositiveInt,
  source: t.UnknownRecord,
  profileFile: t.string,
});

export const EngineLayoutPlanOptionsC = t.intersection([
  LengthPlanOptionsC,
  t.partial({
    kvCopies: t.union([PositiveInt, t.literal('auto')], 'a positive integer duplication factor, or auto'),
    kvProjection: t.type({ perTokenPerSlot: NonNegative, source: t.string }, 'a projection price {perTokenPerSlot ≥ 0, source}'),
    hiddenSize: PositiveInt,
  }),
]);

export const LengthDistributionPlanOptionsC = t.intersection([
  LengthPlanOptionsC,
  t.partial({ equalHeadsPerDevice: t.boolean, kv: t.keyof({ group: null, replicate: null }, 'group|replicate') }),
]);

/** Decode options (all but `onProgress`): a Left `argument` names the option by its JSON path. */
const checkOptions = <A, O>(codec: t.Type<A, O, unknown>, o: unknown): E.Either<HplbError, void> => {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return E.left(hplbError('argument', [issue('$', 'an options object', o)]));
  if ((o as { gpus?: unknown }).gpus === undefined) return fail('argument', '$.gpus', 'a number of GPUs ≥ 1 or a list of devices {id, speed, memoryBytes}');
  const { onProgress, ...data } = o as { onProgress?: unknown };
  if (onProgress !== undefined && typeof onProgress !== 'function') return fail('argument', '$.onProgress', 'a function (done, total, label)', typeof onProgress);
  return E.bimap((e: HplbError): HplbError => ({ ...e, code: 'argument' }), () => undefined)(decode(codec, data));
};

// ---------------------------------------------------------------- constructors

const DEFAULT_TIME_LIMIT_MS = 500;

/** Check `lengths` (weights are used as given: they must sum to 1 within 1e-6). */
const contextWeights = (lengths: LengthPlanOptions['lengths'], reference: number): E.Either<HplbError, ContextWeight[]> => {
  if (lengths === undefined) return E.right([{ contextLength: reference, weight: 1 }]);
  if (typeof lengths === 'number') return E.right([{ contextLength: lengths, weight: 1 }]);
  if (lengths.length === 0) return fail('argument', '$.lengths', 'at least one context length');
  const sum = lengths.reduce((s, p) => s + p.weight, 0);
  if (Math.abs(sum - 1) > 1e-6) return fail('argument', '$.lengths', `weights that sum to 1 (they sum to ${sum})`, sum);
  if (new Set(lengths.map((p) => p.contextLength)).size !== lengths.length) return fail('argument', '$.lengths', 'distinct context lengths', lengths.map((p) => p.contextLength).join(','));
  return E.right(lengths.map((p) => ({ contextLength: p.contextLength, weight: p.weight })));
};

interface Prepared {
  readonly common: {
    readonly model: Profile['model'];
    readonly devices: ReadonlyArray<Device>;
    readonly lengths: LengthPoint[];
    readonly costModel: CostModel;
    readonly timeLimitMs: number;
    readonly kvBytesPerElement: number;
    readonly source?: Record<string, unknown>;
    readonly budgetPolicy: Record<string, unknown>;
    readonly onProgress?: (done: number, total: number, label: string) => void;
  };
}

/** Options → the solvers' input: devices, each length's budgets from the profile, the budget policy record. */
const prepare = (profile: Profile, o: LengthPlanOptions): E.Either<HplbError, Prepared> => {
  const devices = typeof o.gpus === 'number' ? makeDevices(o.gpus) : o.gpus;
  const reference = 'contextLength' in profile ? profile.contextLength : DEFAULT_CONTEXT_LENGTH;
  const ctx = contextWeights(o.lengths, reference);
  if (E.isLeft(ctx)) return ctx;
  const lengths: LengthPoint[] = [];
  for (const c of ctx.right) {
    const b = budgetsAt(profile, c.contextLength, {
      ...(o.profileFile !== undefined ? { file: o.profileFile } : {}),
      ...(o.recoveryTarget !== undefined ? { recoveryTarget: o.recoveryTarget } : {}),
    });
    if (E.isLeft(b)) return b;
    lengths.push({ ...c, budgets: b.right });
  }
  const budgetPolicy = { kind: 'profile', lengths: ctx.right, ...(o.recoveryTarget !== undefined ? { recoveryTarget: o.recoveryTarget } : {}) };
  return E.right({
    common: {
      model: profile.model,
      devices,
      lengths,
      costModel: o.costModel ?? WORK_COST_MODEL,
      timeLimitMs: o.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
      kvBytesPerElement: o.kvBytesPerElement ?? 2,
      ...(o.source !== undefined ? { source: o.source } : {}),
      budgetPolicy,
      ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    },
  });
};

/** The K/V projection price: the option, else the cost model's calibrated price, else the hidden size in token pairs. */
export const kvProjectionPrice = (
  model: ModelShape,
  costModel: CostModel,
  options: Pick<EngineLayoutPlanOptions, 'kvProjection' | 'hiddenSize'> = {},
): { perTokenPerSlot: number; source: string } => {
  if (options.kvProjection !== undefined) return { perTokenPerSlot: options.kvProjection.perTokenPerSlot, source: options.kvProjection.source };
  if (costModel.kvProjectionPerToken !== undefined) return { perTokenPerSlot: costModel.kvProjectionPerToken, source: `cost model ${costModel.name}: kvProjectionPerToken` };
  const hidden = options.hiddenSize ?? model.queryHeads * model.headDim;
  return {
    perTokenPerSlot: hidden * costModel.perTokenPair,
    source: `hidden size ${hidden} token-pair equivalents per token (K and V projections: 2·hidden·headDim multiply-adds per token over 2·headDim per attention token pair)${costModel.unit === 'seconds' ? ' at the calibrated perTokenPair' : ''}`,
  };
};

// ---------------------------------------------------------------- operations

/**
 * A placement the serving engines (vLLM, SGLang, TensorRT-LLM) run after a checkpoint rewrite: every rank holds
 * H/T query heads and its KV slots, every query head sits with its KV slot, and the K/V duplication factor r is
 * fixed or chosen by expected latency (attention plus K/V projection), ruling out any r whose KV cache exceeds the
 * devices' `memoryBytes`. The plan carries the `engineLayout` extension (slots, every candidate r's report).
 *
 * @example
 * const r = planEngineLayoutForProfile(profile, { gpus: 8, kvCopies: 'auto', lengths: [{ contextLength: 8192, weight: 0.3 }, { contextLength: 131072, weight: 0.7 }] });
 * if (E.isRight(r)) console.log(r.right.plan.engineLayout.kvCopies, r.right.candidates);
 */
export const planEngineLayoutForProfile = (profile: Profile, options: EngineLayoutPlanOptions): E.Either<HplbError, EnginePlanResult> => {
  const ok = checkOptions(EngineLayoutPlanOptionsC, options);
  if (E.isLeft(ok)) return ok;
  return E.chain(({ common }: Prepared) =>
    renameDevices(options.gpus)(planEngineLayout({ ...common, kvCopies: options.kvCopies ?? 'auto', projection: kvProjectionPrice(common.model, common.costModel, options) })),
  )(prepare(profile, options));
};

/**
 * One placement for a distribution of context lengths without the engines' slot rule (what a head-parallel
 * runtime runs): minimises the expected latency Σ_k w_k Σ_layers makespan_k over heads (kv `replicate`) or whole
 * GQA groups (kv `group`), with equal or free counts per GPU. The plan's N is the longest length.
 */
export const planLengthDistribution = (profile: Profile, options: LengthDistributionPlanOptions): E.Either<HplbError, LengthDistributionPlan> => {
  const ok = checkOptions(LengthDistributionPlanOptionsC, options);
  if (E.isLeft(ok)) return ok;
  return E.chain(({ common }: Prepared) =>
    renameDevices(options.gpus)(planFreeLengths({ ...common, equalHeadsPerDevice: options.equalHeadsPerDevice ?? false, kv: options.kv ?? 'replicate' })),
  )(prepare(profile, options));
};

/** The solvers name the ranks `$.devices`; when the caller gave a GPU count, its option is `$.gpus`. */
const renameDevices =
  (gpus: LengthPlanOptions['gpus']) =>
  <A>(r: E.Either<HplbError, A>): E.Either<HplbError, A> =>
    typeof gpus !== 'number' || E.isRight(r) ? r : E.left({ ...r.left, issues: r.left.issues.map((i) => (i.path === '$.devices' ? { ...i, path: '$.gpus' } : i)) });
