/**
 * From a profile and options to the one settings record of a run (`PlanContext` = the solvers' `PlanSettings` plus
 * what the budget planner adds: curves at N, the profile's own budgets, provenance). Every check a run needs happens
 * here once, with errors that name options by JSON path (`$.gpus`, `$.memoryGb`, `$.constraints.equalHeadsPerDevice`,
 * `$.previous.devices`); option values in the text are written `$.gpus = 3` so a client can map them to its own names.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  BUDGET_COST_MODEL, COST_MODEL_NAMES, CURVE_MODELS, decodeIsSparse, servingCost, registeredModel, resolveHardware, resolveWorkload, DEFAULT_BLOCK_SIZE, DEFAULT_CONTEXT_LENGTH, WORK_COST_MODEL, budgetsAt, hplbError,
  issue, kvHeadBytes, makeDevices, namedCostModel, profileCurves, withFile, withLinkBandwidth,
  type CostModel, type Device, type HplbError, type ModelConfig, type ModelDims, type ModelShape, type Plan, type Profile, type ServingCost, type HardwarePreset, type Workload,
} from '@hplb/core';
import { nearestEvenDeviceCounts, type PlanSettings } from '@hplb/solvers';
import type { PlanContext, ServingSettings } from './pipelines.ts';
import type { SettingsOptions } from './options.ts';
import { profileSourceName, type LoadedProfile } from './profiles.ts';

/** Default GPU count of `hplb plan`. */
export const DEFAULT_GPUS = 8;
/** Per-layer solver budget when none is given: split heads close what whole heads leave, so 0.25 s is plenty. */
export const DEFAULT_TIME_LIMIT_MS = 250;

const argument = (path: string, expected: string, actual?: unknown): HplbError => hplbError('argument', [issue(path, expected, actual)]);
const infeasible = (path: string, expected: string, actual?: unknown): HplbError => hplbError('infeasible', [issue(path, expected, actual)]);

/** The context length a profile plans at by default. */
export const contextOf = (p: Profile): number => (p.kind === 'elastic' ? DEFAULT_CONTEXT_LENGTH : p.contextLength);

/** Devices from a GPU count, speeds and memory, or the devices given. */
export const devicesOf = (o: SettingsOptions): E.Either<HplbError, Device[]> => {
  if (o.gpus !== undefined && typeof o.gpus !== 'number') {
    if (o.gpus.length === 0) return E.left(argument('$.gpus', 'at least one GPU', 0));
    return E.right(o.gpus.map((d) => ({ ...d })));
  }
  const g = o.gpus ?? DEFAULT_GPUS;
  if (!(Number.isInteger(g) && g >= 1)) return E.left(argument('$.gpus', 'at least one GPU', g));
  const speeds = o.speeds;
  if (speeds && speeds.length !== g) return E.left(argument('$.speeds', `${g} speeds, one per GPU ($.gpus = ${g})`, `${speeds.length} values`));
  const mem = o.memoryGb === undefined ? undefined : typeof o.memoryGb === 'number' ? [o.memoryGb] : o.memoryGb;
  if (mem && mem.length !== 1 && mem.length !== g) return E.left(argument('$.memoryGb', `one value for all GPUs or ${g} values, one per GPU ($.gpus = ${g})`, `${mem.length} values`));
  return E.right(makeDevices(g, speeds).map((d, i) => ({ ...d, memoryBytes: mem ? Math.round((mem.length === 1 ? mem[0]! : mem[i]!) * 1e9) : null })));
};

/** A cost model from an object or a name (`work`, `budget`, `paper-budget`, `cuda-h100`, `cpu`). */
export const costModelOf = (c: CostModel | string | undefined): E.Either<HplbError, CostModel> => {
  if (c === undefined) return E.right(WORK_COST_MODEL);
  if (typeof c !== 'string') return E.right(c);
  if (c === 'budget') return E.right(BUDGET_COST_MODEL);
  const named = namedCostModel(c);
  return named ? E.right(named) : E.left(argument('$.costModel', `one of ${COST_MODEL_NAMES.join('|')}`, c));
};

/**
 * The placement half of the settings for `model` at context `n`: devices, constraints, cost model, solver budget,
 * KV and split options, a previous plan. Left: an option out of range or infeasible for this model (equal heads that
 * cannot divide the heads or GQA groups, memory too small for one copy of every KV head, a previous plan of another
 * model or GPU count), with the option's JSON path; option values in the text read `$.gpus = 3`.
 */
export const placementSettings = (model: ModelShape, n: number, o: SettingsOptions = {}): E.Either<HplbError, PlanSettings & { readonly blockSize: number; readonly seed: number }> => {
  const block = o.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (block > n) return E.left(argument('$.blockSize', `a block size at most the context length ${n}`, block));
  const devicesE = devicesOf(o);
  if (E.isLeft(devicesE)) return devicesE;
  const devices = devicesE.right;
  const g = devices.length;
  const kv = o.constraints?.kv ?? 'replicate';
  const equal = o.constraints?.equalHeadsPerDevice ?? false;
  if (equal) {
    if (model.queryHeads % g !== 0) {
      const near = nearestEvenDeviceCounts(model.queryHeads, g);
      return E.left(infeasible('$.constraints.equalHeadsPerDevice', `a GPU count that divides the ${model.queryHeads} query heads of ${model.name}; nearest feasible: $.gpus = ${near.join(' or ')}`, `$.gpus = ${g}`));
    }
    if (kv === 'group' && model.kvHeads % g !== 0) {
      const near = nearestEvenDeviceCounts(model.kvHeads, g);
      return E.left(infeasible('$.constraints.equalHeadsPerDevice', `a GPU count that divides the ${model.kvHeads} whole GQA groups of ${model.name} ($.constraints.kv = group); nearest feasible: $.gpus = ${near.join(' or ')}`, `$.gpus = ${g}`));
    }
  }
  const timeLimitMs = o.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  if (!(timeLimitMs > 0)) return E.left(argument('$.timeLimitMs', 'a time limit in ms > 0', timeLimitMs));
  const costE = costModelOf(o.costModel);
  if (E.isLeft(costE)) return costE;
  let costModel = costE.right;
  if (o.linkGbps !== undefined) {
    if (costModel.unit !== 'seconds') return E.left(argument('$.linkGbps', 'a cost model in seconds ($.costModel = cuda-h100|cpu or a calibrated cost model): token-pair costs have no link time', costModel.name));
    costModel = withLinkBandwidth(costModel, o.linkGbps * 1e9);
  }
  if (o.kvReplicationCapBytes !== undefined && o.kvReplicationCapBytes !== null && kv === 'group')
    return E.left(argument('$.kvReplicationCapBytes', 'a cap only with $.constraints.kv = replicate (groups are never replicated)', `$.constraints.kv = ${kv}`));

  // Memory: every KV head of every layer needs one home; per layer, device d holds ⌊mem_d / (layers · copy)⌋ copies.
  const one = kvHeadBytes(model, n);
  if (devices.some((d) => d.memoryBytes !== null)) {
    const perLayer = devices.reduce((a, d) => a + (d.memoryBytes === null ? Infinity : Math.floor(d.memoryBytes / (model.layers * one))), 0);
    const gb = devices.map((d) => ((d.memoryBytes ?? 0) / 1e9).toFixed(2)).join(',');
    if (perLayer < model.kvHeads) {
      const needGb = (model.layers * model.kvHeads * one) / 1e9;
      return E.left(infeasible('$.memoryGb', `room for one copy of every KV head: ${needGb.toFixed(2)} GB in all at N=${n} (${model.layers} layers × ${model.kvHeads} KV heads × ${(one / 1e6).toFixed(1)} MB), spread so each GPU holds whole per-layer shares`, `${gb} GB`));
    }
    if (equal && kv === 'group') {
      const need = model.kvHeads / g;
      const d = devices.findIndex((dv) => dv.memoryBytes !== null && Math.floor(dv.memoryBytes / (model.layers * one)) < need);
      if (d >= 0) return E.left(infeasible('$.memoryGb', `room for ${need} KV heads per layer on every GPU ($.constraints.equalHeadsPerDevice $.constraints.kv = group)`, `GPU ${d}: ${((devices[d]!.memoryBytes ?? 0) / 1e9).toFixed(2)} GB`));
    }
  }
  const previous = o.previous;
  if (previous) {
    if (previous.model.queryHeads !== model.queryHeads || previous.model.layers !== model.layers)
      return E.left(hplbError('decode', [issue('$.previous.model', `a plan of ${model.name} (${model.layers} layers × ${model.queryHeads} heads)`, `${previous.model.layers} × ${previous.model.queryHeads}`)]));
    if (previous.devices.length !== g) return E.left(hplbError('decode', [issue('$.previous.devices', `${g} devices ($.gpus = ${g})`, previous.devices.length)]));
  }
  const split = o.splitHeads;
  return E.right({
    model,
    contextLength: n,
    devices,
    constraints: { equalHeadsPerDevice: equal, kv },
    costModel,
    timeLimitMs,
    seed: o.seed ?? 1,
    blockSize: block,
    ...(split !== undefined && split !== false ? { splitHeads: split === true ? {} : split } : {}),
    ...(o.runtime ? { runtime: o.runtime } : {}),
    ...(o.kvBytesPerElement !== undefined ? { kvBytesPerElement: o.kvBytesPerElement } : {}),
    ...(o.kvReplicationCapBytes !== undefined ? { kvReplicationCapBytes: o.kvReplicationCapBytes } : {}),
    ...(o.effort !== undefined ? { effort: o.effort } : {}),
    ...(previous ? { previous } : {}),
    ...(o.migrationWeight !== undefined ? { migrationWeight: o.migrationWeight } : {}),
  });
};

const sameShape = (a: ModelShape, b: ModelShape) => a.layers === b.layers && a.queryHeads === b.queryHeads && a.kvHeads === b.kvHeads && a.headDim === b.headDim;

/**
 * The model's dimensions beyond attention: `modelDims` over the config.json's over the registry row's (when its shape
 * is the profile's). Left: some are given but hidden or MLP size is still unknown, naming what is missing and where
 * it could come from. Right(undefined): nothing states them.
 */
export const modelDimsFor = (loaded: Pick<LoadedProfile, 'modelConfig'> & { readonly profile: { readonly model: ModelShape } }, o: Pick<SettingsOptions, 'modelDims'>): E.Either<HplbError, ModelDims | undefined> => {
  const m = loaded.profile.model;
  const cfg = loaded.modelConfig;
  const reg = registeredModel(m.name);
  const base: Partial<ModelDims> | undefined = cfg?.dims ?? (reg?.dims && sameShape(reg, m) ? reg.dims : undefined);
  const given = o.modelDims;
  if (!base && !given) {
    if (!cfg) return E.right(undefined);
    const missing = cfg.dimsMissing.length > 0 ? cfg.dimsMissing.join(', ') : '$.hidden_size, $.intermediate_size';
    return E.left(hplbError('argument', [issue('$.modelDims', `the model's hidden and MLP sizes to price the serving step: ${cfg.file ?? 'the config.json'} lacks ${missing} and the registry has no ${m.name}; give $.modelDims.hiddenSize and $.modelDims.intermediateSize, or $.serving = false for attention alone`)]));
  }
  const merged = { ...base, ...given };
  for (const k of ['hiddenSize', 'intermediateSize'] as const)
    if (merged[k] === undefined) return E.left(hplbError('argument', [issue(`$.modelDims.${k}`, `the model's ${k === 'hiddenSize' ? 'hidden size' : 'MLP intermediate size'} (${cfg ? `${cfg.file ?? 'config.json'} does not state it` : `the registry has no ${m.name}`})`)]));
  const dtype = merged.weightDtype ?? 'bfloat16';
  return E.right({
    hiddenSize: merged.hiddenSize!,
    intermediateSize: merged.intermediateSize!,
    vocabSize: merged.vocabSize ?? 0,
    tieWordEmbeddings: merged.tieWordEmbeddings ?? false,
    weightDtype: dtype,
    weightBytesPerElement: merged.weightBytesPerElement ?? (dtype === 'float32' ? 4 : 2),
    ...(merged.moe ? { moe: merged.moe } : {}),
    source: given ? `options ($.modelDims)${base?.source ? ` over ${base.source}` : ''}` : base?.source ?? 'options',
  });
};

/** The `hardware` and `workload` options resolved (preset with overrides; workload with its defaults), each checked once. */
const hardwareAndWorkload = (o: Pick<SettingsOptions, 'hardware' | 'workload'>): E.Either<HplbError, { hardware: HardwarePreset; workload: Workload }> => {
  const h = o.hardware;
  const { name, ...overrides } = typeof h === 'string' || h === undefined ? { name: h } : h;
  const hardware = resolveHardware(name, overrides, 'options ($.hardware)');
  if (E.isLeft(hardware)) return hardware;
  return E.map((workload: Workload) => ({ hardware: hardware.right, workload }))(resolveWorkload(o.workload ?? {}));
};

/**
 * The serving settings of a run: hardware preset (with overrides), workload, dimensions, decode sparsity of the
 * profile's format. Right(undefined) when serving is off (`$.serving = false`) or nothing states the model's
 * dimensions and nothing asked for serving; a run that asked for it (hardware, workload, modelDims, serving = true or
 * a config.json) without the dimensions is a Left naming them.
 */
export const servingSettings = (loaded: LoadedProfile, o: SettingsOptions, costModel: CostModel): E.Either<HplbError, ServingSettings | undefined> => {
  if (o.serving === false) return E.right(undefined);
  const dims = modelDimsFor(loaded, o);
  if (E.isLeft(dims)) return dims;
  if (!dims.right) {
    const asked = o.serving === true || o.hardware !== undefined || o.workload !== undefined;
    return asked
      ? E.left(hplbError('argument', [issue('$.modelDims', `the model's hidden and MLP sizes to price the serving step: ${loaded.profile.model.name} is not in the registry; give $.modelDims.hiddenSize and $.modelDims.intermediateSize (or the model's config.json)`)]))
      : E.right(undefined);
  }
  const hw = hardwareAndWorkload(o);
  if (E.isLeft(hw)) return hw;
  return E.right({
    hardware: hw.right.hardware,
    workload: hw.right.workload,
    dims: dims.right,
    decodeSparse: decodeIsSparse(loaded.format ?? (loaded.builtIn ? 'minference' : undefined)),
    costModel,
    choose: false,
  });
};

/**
 * The settings record of a run on `loaded`: `placementSettings` at the context length (default the profile's) plus
 * the recovery curves at N (or why there are none), the budgets the profile states at N, and provenance.
 */
export const planSettings = (loaded: LoadedProfile, o: SettingsOptions = {}): E.Either<HplbError, PlanContext> => {
  const { profile } = loaded;
  const n = o.contextLength ?? contextOf(profile);
  const placement = placementSettings(profile.model, n, o);
  if (E.isLeft(placement)) return placement;
  const spanRecovery = o.spanRecovery ?? loaded.spanRecovery;
  const curves = profileCurves(profile, n, spanRecovery !== undefined ? { spanRecovery } : {});
  const curvesError: HplbError | undefined = E.isLeft(curves) ? (loaded.file ? withFile(loaded.file)(curves.left) : curves.left) : undefined;
  const budgets = budgetsAt(profile, n, loaded.file ? { file: loaded.file } : {});
  const curveModel = E.isRight(curves) ? curves.right.model : undefined;
  const serving = servingSettings(loaded, o, placement.right.costModel);
  if (E.isLeft(serving)) return serving;
  return E.right({
    ...placement.right,
    ...(serving.right ? { serving: serving.right } : {}),
    ...(E.isRight(curves) ? { curves: curves.right.curves } : {}),
    ...(curvesError ? { curvesError } : {}),
    ...(E.isRight(budgets) ? { profileBudgets: budgets.right } : {}),
    source: {
      profile: o.profileName ?? profileSourceName(loaded),
      synthetic: loaded.synthetic,
      ...(curveModel ? { curveModel, curveAssumption: CURVE_MODELS.find((c) => c.name === curveModel)!.assumption } : {}),
    },
  });
};

/** A policy that needs curves on a profile without them: one line naming the missing information. */
export const noCurvesError = (ctx: PlanContext, policy: string): HplbError => {
  const e = ctx.curvesError;
  const first = e?.issues[0];
  return hplbError('argument', [issue(first?.path ?? '$', `${first?.expected ?? 'recovery curves'} ($.policy = ${policy} needs recovery curves)`)], e?.file);
};

/** Options of `priceServing`: hardware, workload and dimensions as for planning, plus the plan's decode sparsity. */
export interface ServingCostOptions extends Pick<SettingsOptions, 'hardware' | 'workload' | 'modelDims'> {
  /** The model's config.json, parsed (its hidden and MLP sizes), when the registry does not know the plan's model. */
  readonly modelConfig?: ModelConfig;
  /** Decode reads each head's budget (DuoAttention, MoA) instead of the whole context (default: the plan's source format). */
  readonly decodeSparse?: boolean;
}

/**
 * Price any plan in the serving step (core `servingCost`): its model's dimensions from `modelDims`, the config or the
 * registry; the hardware preset and workload as for planning. Left: unknown hardware, a bad workload, or dimensions
 * nothing states (naming them).
 */
export const planServingCost = (plan: Plan, o: ServingCostOptions = {}): E.Either<HplbError, ServingCost> => {
  const dims = modelDimsFor({ profile: { model: plan.model }, ...(o.modelConfig ? { modelConfig: o.modelConfig } : {}) }, o);
  if (E.isLeft(dims)) return dims;
  if (!dims.right) return E.left(hplbError('argument', [issue('$.modelDims', `the model's hidden and MLP sizes: ${plan.model.name} is not in the registry; give $.modelDims.hiddenSize and $.modelDims.intermediateSize or $.modelConfig`)]));
  const hw = hardwareAndWorkload(o);
  if (E.isLeft(hw)) return hw;
  const format = typeof plan.source?.['format'] === 'string' ? (plan.source['format'] as string) : undefined;
  return E.right(servingCost({
    model: plan.model, dims: dims.right, hardware: hw.right.hardware, workload: hw.right.workload, contextLength: plan.contextLength,
    budgets: plan.budgets, placement: plan.placement, splits: plan.splits ?? [], speeds: plan.devices.map((d) => d.speed),
    memoryBytes: plan.devices.map((d) => d.memoryBytes), decodeSparse: o.decodeSparse ?? decodeIsSparse(format),
    ...(plan.costModel ? { costModel: plan.costModel } : {}),
    ...(plan.kvBytesPerElement !== undefined ? { kvBytesPerElement: plan.kvBytesPerElement } : {}),
  }));
};
