/**
 * hplb: plan how sparse LLM attention is served across GPUs — per-head token budgets, balanced head placement with
 * proven gaps, split heads, bubble filling, validation and simulation. This is the public API, platform-neutral (Node
 * and browsers); `hplb/node` adds what needs Node (file paths, worker threads, ILP engines).
 *
 * ## Reading a result (JavaScript and TypeScript)
 *
 * Functions that can fail on their input return an fp-ts `Either` (or a Promise of one) instead of throwing: a plain
 * object that is either `{ _tag: 'Right', right: value }` or `{ _tag: 'Left', left: error }`. Options from JavaScript
 * are decoded too: `{ gpus: 'eight' }` gives a Left naming `$.gpus` and what was expected, never a throw.
 *
 * ```js
 * import { defaultProfile, planProfile, formatError } from 'hplb';
 * const r = await planProfile(defaultProfile(), { gpus: 8 });
 * if (r._tag === 'Right') console.log(r.right.simulation.balanceEfficiency);
 * else console.error(formatError(r.left)); // one line: "at $.gpus: expected …, got …"
 * ```
 *
 * In TypeScript, `E.isRight(r)` / `E.isLeft(r)` (`import * as E from 'fp-ts/Either'`) narrow the type. The error,
 * `HplbError`, is `{ code, file?, issues: [{ path, expected, actual? }] }`: `path` is a JSON path into the options
 * (`$.density`) or the input file, never a CLI flag.
 *
 * ## Groups
 *
 * - profiles: `defaultProfile`, `loadProfile`, `inspectProfile`
 * - planning: `planProfile`, `comparePipelines`, `paretoSweep`, `solveInstance`
 * - checking and drawing: `simulate`, `validatePlan`, `decodePlan`, `renderTimelineSvg`, `renderPlanSvg`, `renderParetoSvg`
 * - errors: `formatError`, `HplbError`
 * - the types and io-ts codecs of every format (`Profile`, `Plan`, `Device`, `CostModel`, `PlanC`, `ProfileC`, …)
 *
 * @module hplb
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import {
  ProfileC, builtinProfile, decode, decodePlan as decodePlanCore, errorText, hplbError, issue, issueText, jsonTextOf, parseJson, validatePlan as validatePlanCore,
  type HplbError, type Plan as PlanT, type Profile, type ServingCost as ServingCostT, type Simulation,
} from '@hplb/core';
import {
  comparePipelines as compareWith, decodeOptions, decodePlanOptions, inspectProfile as inspectWith, loadProfileText, paretoSweep as sweepWith,
  comparisonSvg, planServingCost, type ServingCostOptions, planProfile as planWith, planTimelineSvg, publishedProfile, type ComparisonChart, readInstance, renderPareto, renderTimeline, solveDecodedInstance, BudgetOptionsC, SettingsOptionsC,
  type Comparison, type InspectOptions, type InstanceSolution, type LoadedProfile, type LoadProfileOptions, type ParetoSweep,
  type ParetoSweepOptions, type PlanOptions, type PlanOutcome, type ProfileInspection, type SolveInstanceOptions,
} from '@hplb/planner';
import { SOLVER_NAMES, type SolverRuntime } from '@hplb/solvers';
import { mainJobWith, type MainJob, type MainJobOptions } from './mainJob.ts';

// ---------------------------------------------------------------- re-exports: types, codecs, pure operations

export {
  // errors
  formatError, hplbError, issue, issueText, parseJson, type HplbError, type Issue, type ErrorCode,
  // models and formats (types and io-ts codecs)
  type Profile, type CurveProfile, type RequiredProfile, type ElasticProfile, ProfileC, CurveProfileC, RequiredProfileC, ElasticProfileC,
  type Plan, PlanC, decodePlan, PLAN_FORMAT, type Device, DeviceC, makeDevices, type ModelShape, ModelShapeC,
  type CostModel, CostModelC, WORK_COST_MODEL, BUDGET_COST_MODEL, namedCostModel, COST_MODEL_NAMES, type Calibration, CalibrationC,
  type Simulation, type LayerTimeline, simulate, validatePlan,
  PROFILE_FORMATS, detectFormat, isProfileFormat, importProfile, POLICY_NAMES, DEFAULT_CONTEXT_LENGTH, DEFAULT_BLOCK_SIZE,
  // the serving step (core serving.ts)
  type HardwarePreset, type HardwareOverrides, type Workload, type WorkloadMode, type ModelDims, type ServingCost, type ServingSummary,
  HARDWARE_PRESETS, HARDWARE_NAMES, DEFAULT_HARDWARE, DEFAULT_WORKLOAD, WORKLOAD_MODES, ServingSummaryC, compareServing, prefillCeilingMs,
} from '@hplb/core';
export {
  type LoadedProfile, type LoadProfileOptions, type PlanOptions, type SettingsOptions, type BudgetOptions, type SplitOptions, type BudgetPolicy,
  type PlanOutcome, type LayerReport, type Comparison, type ComparisonRow, type ParetoSweep, type ParetoSweepOptions, type SweepPoint,
  type ProfileInspection, type LayerStats, type InspectOptions, type Instance, type InstanceSolution, type SolveInstanceOptions,
  type PipelineSpec, type PipelineRun, type PlanContext, type TimelineOptions, type ParetoSeries,
  PlanOptionsC, SettingsOptionsC, BudgetOptionsC, InstanceC, BUDGET_POLICIES, REFERENCE_PIPELINES, PROFILE_PIPELINES, PARETO_PIPELINES,
  DEFAULT_DENSITY, DEFAULT_P, DEFAULT_PLAN_EFFORT, DEFAULT_GPUS, DEFAULT_TIME_LIMIT_MS, DEFAULT_DENSITIES, DEFAULT_PS, skyline, latencyText, displayUnit,
  serializePlan, comparisonTable, comparisonTableText, type ComparisonTableRow, type ComparisonTableCells, servingHeader, servingRegime, servingFrontierSvg,
  renderServingFrontier, servingFrontier, type FrontierPoint, type FrontierOptions, type ServingCostOptions, SERVING_PLAN_EFFORT, detectProfileFormat,
  type ComparisonChart, type TimelinePanel, renderTimelinePanels, publishedLoadedProfile, syntheticLoadedProfile, builtinLoadedProfile,
} from '@hplb/planner';
export { SOLVER_NAMES, type SolverName, type SolverRuntime, type PlanSettings } from '@hplb/solvers';

/**
 * What a plan costs in the serving step users pay for, modelled on a hardware preset (default `h100-sxm`):
 * whole-step prefill and decode per output token (Q/K/V/O projections, attention, MLP shard, two all-reduces per
 * layer), request latency for the workload (default colocated, 256 output tokens, one sequence), attention alone, KV
 * bytes per GPU and whether weights and KV fit. `plan` is decoded and validated first. Never throws.
 *
 * @example
 * const r = servingCost(plan, { hardware: 'h200', workload: { mode: 'prefill' } });
 * if (r._tag === 'Right') console.log(r.right.prefillMs, r.right.decodeMsPerToken, r.right.kvBytesPerDevice);
 */
export const servingCost = (plan: unknown, options: ServingCostOptions = {}): E.Either<HplbError, ServingCostT> =>
  E.chain((p: PlanT) => planServingCost(p, options))(E.chain((p: PlanT) => E.map(() => p)(validatePlanCore(p)))(decodePlanCore(plan)));

/**
 * The main job (`npx hplb plan`): the built-in published profile (MInference Llama-3.1-8B-Instruct, N = 131072) on
 * 8 GPUs (`gpus`), in one table — `[published]` rows (the published budgets placed contiguously as engines do
 * today, by LPT as the paper does, by the engine-deployable layout with K/V copies `kvCopies` (default `auto`), and
 * by hplb's split heads, the written plan) and `[modelled]` rows (uniform / max-min / bubble-fill budgets at the same
 * total tokens on recovery curves modelled through each head's published point). `notes` say which numbers are
 * published and which modelled. `outcome` is the written plan (`planProfile(defaultProfile())`).
 */
export { mainJobWith, type MainJob, type MainJobOptions } from './mainJob.ts';
/** The main job with the solver runtime of this thread (`hplb/node` solves in worker threads). */
export const mainJob = (options?: MainJobOptions): Promise<E.Either<HplbError, MainJob>> => mainJobWith(undefined, options);

// ---------------------------------------------------------------- profiles

/**
 * The built-in default profile: MInference's published per-head pattern for Llama-3.1-8B-Instruct (32 layers × 32
 * query heads, 8 KV heads, head dim 128) at N = 131072 — a `required` profile of published budgets and recall
 * (microsoft/MInference @ fb56c91, MIT; embedded in @hplb/core with its license notice and provenance). What
 * `hplb plan` plans with no arguments. The same object on every call: treat it as read-only. Platform-neutral.
 * Its default budget policy is `profile` (the published budgets); curve-based policies use recovery curves modelled
 * through each head's published (budget, recall) point (`power-through-point`).
 *
 * @example
 * const p = defaultProfile();            // p.kind === 'required', p.model.name === 'Llama-3.1-8B-Instruct'
 */
export const defaultProfile = (): Profile => publishedProfile();

/**
 * The built-in SYNTHETIC curve profile (`hplb plan --profile synthetic`): a Llama-3.1-8B-shaped model at N = 131072
 * whose recovery curves hplb's profiler measured on synthetic head archetypes (not a real model). For the
 * curve-based budget policies (uniform, top-p, max-min, bubble-fill, joint). The same object on every call.
 *
 * @example
 * const p = syntheticProfile();          // p.kind === 'curve', p.synthetic === true
 */
export const syntheticProfile = (): Profile => builtinProfile();

/** Where a profile comes from in the platform-neutral `loadProfile`: a parsed object, or text with its file name. */
export type ProfileSource = unknown | { readonly text: string; readonly fileName?: string };

const LoadProfileOptionsC = t.partial({
  format: t.string,
  contextLength: t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1, 'a context length ≥ 1 token'),
  model: t.union([t.string, t.UnknownRecord], 'a model name or shape'),
  fileName: t.string,
  modelConfig: t.unknown,
  sparsity: t.refinement(t.number, (n) => n >= 0 && n <= 1, 'a sparsity in [0, 1]'),
  threshold: t.number,
  sinkTokens: t.number,
  recentTokens: t.number,
  table: t.string,
  spanRecovery: t.refinement(t.number, (n) => Number.isFinite(n) && n > 0 && n <= 1, 'a recovery in (0, 1]'),
}, 'LoadProfileOptions');

const isTextSource = (u: unknown): u is { text: string; fileName?: string } =>
  typeof u === 'object' && u !== null && typeof (u as { text?: unknown }).text === 'string' && Object.keys(u).every((k) => k === 'text' || k === 'fileName');

/**
 * Import a profile: a parsed object (an `hplb.profile/1` document or any published format's JSON), or
 * `{ text, fileName? }` (the file's text; the name helps detect the format and the model). `hplb/node`'s
 * `loadProfile` also takes a file path.
 *
 * Options: `format` (`minference|duo|moa|xattention|hplb`, default detected), `contextLength`, `model` (a registered
 * name or a shape, default found from the file name; names match case-insensitively), `modelConfig` (the model's
 * Hugging Face `config.json` as a parsed object or `{ text, fileName? }`: the shape of any model, its
 * `max_position_embeddings` as the default context, checked against the profile's own layers and heads), `fileName`,
 * DuoAttention `sparsity` / `threshold` / `sinkTokens` / `recentTokens`, XAttention `table`, MoA `spanRecovery` (the
 * recovery assumed at each span, kept with the profile: planning uses it unless its own `spanRecovery` says otherwise).
 *
 * Returns a `LoadedProfile` (`{ profile, file?, format, label, short, synthetic, builtIn }`): pass it (or its
 * `profile`) to `planProfile`. Left: the format cannot be detected (`$.format`), an option is malformed, or the
 * data is not valid for the format (the error names the file, the JSON path and what was expected).
 *
 * @example
 * const r = loadProfile({ text: tsvText, fileName: 'full_attention_heads.tsv' }, { model: 'Llama-3.1-8B-Instruct', sparsity: 0.5 });
 */
export const loadProfile = (source: ProfileSource, options?: LoadProfileOptions): E.Either<HplbError, LoadedProfile> => {
  try {
    return E.chain((o: LoadProfileOptions) => {
      if (isTextSource(source)) return loadProfileText(source.text, { ...o, ...(source.fileName !== undefined && o.fileName === undefined ? { fileName: source.fileName } : {}) });
      if (typeof source !== 'object' || source === null) return E.left(hplbError('argument', [issue('$', 'a parsed profile object or { text, fileName? }', source)]));
      // A parsed object goes through its JSON text (format detection and the importers read text): a cycle, a BigInt,
      // absurd nesting or a getter that throws is a Left naming its path, never JSON.stringify's throw.
      return E.chain((text: string) => loadProfileText(text, o))(jsonTextOf(source, o.fileName));
    })(decodeOptions(LoadProfileOptionsC as unknown as t.Type<LoadProfileOptions, unknown, unknown>, options));
  } catch (e) {
    return E.left(hplbError('argument', [issueText('$', 'a parsed profile object or { text, fileName? } of plain data', `one that cannot be read (${errorText(e)})`)]));
  }
};

/** A profile argument from any caller: the built-in default (kept by identity), a LoadedProfile, or a decoded Profile. */
const profileArg = (x: unknown): E.Either<HplbError, Profile | LoadedProfile> => {
  if (x === builtinProfile() || x === publishedProfile()) return E.right(x as Profile);
  if (typeof x === 'object' && x !== null && 'profile' in x && 'label' in x) {
    const l = x as LoadedProfile;
    return l.profile === builtinProfile() || l.profile === publishedProfile() ? E.right(l) : E.map((p: Profile) => ({ ...l, profile: p }))(decode(ProfileC, l.profile));
  }
  // The profile is a document of its own: paths are inside it (`$.curves[0][3].mass`).
  return E.mapLeft((e: HplbError): HplbError => ({ ...e, code: 'argument' }))(decode(ProfileC, x));
};

/**
 * Per-layer budget statistics of a profile at context N (what `hplb inspect` prints): per layer the heads, budget
 * min / mean / max, max/min and distinct values (recall for MInference), and a summary. XAttention thresholds without
 * `curves` are reported as top-p targets (`unit: "top-p"`). Options: `contextLength`, `recoveryTarget` (curve
 * profiles, default 0.95), `curves` (an hplb curve profile to turn top-p targets into tokens), `file` (for errors).
 * Left: the budgets cannot be stated at N.
 */
export const inspectProfile = (profile: Profile | LoadedProfile, options: InspectOptions = {}): E.Either<HplbError, ProfileInspection> =>
  E.chain((p: Profile | LoadedProfile) => inspectWith('label' in p ? (p as LoadedProfile).profile : (p as Profile), options))(profileArg(profile));

// ---------------------------------------------------------------- planning

/** The runtime the root API solves with: none (every layer in the calling thread). `hplb/node` overrides it. */
export const withRuntime = <O extends { runtime?: SolverRuntime }>(o: O, runtime: SolverRuntime | undefined): O =>
  o.runtime !== undefined || runtime === undefined ? o : { ...o, runtime };

/** @internal Shared by the root and `hplb/node`. */
export const planProfileWith = async (runtime: SolverRuntime | undefined, profile: unknown, options: unknown): Promise<E.Either<HplbError, PlanOutcome>> => {
  const p = profileArg(profile);
  if (E.isLeft(p)) return p;
  const o = decodePlanOptions(options);
  if (E.isLeft(o)) return o;
  return planWith(p.right, withRuntime(o.right, runtime));
};

/**
 * Plan a profile on GPUs: per-head budgets (policy), placement (solver), split heads, bubble filling, then the
 * independent validator and the simulator. Resolves to `{ plan, simulation, layers, recovery?, budgets?, pipeline,
 * settings, profile, seconds }`: `plan` is a validated `hplb.plan/1` (byte for byte what `hplb plan` writes when
 * serialized as `JSON.stringify(plan, null, 2) + '\n'`), `simulation` the per-layer GPU timeline, `layers` the
 * per-layer report (makespan, lower bound, status, gap, splits, budgets, recovery).
 *
 * Options (all optional; defaults = `hplb plan`'s): `gpus` (count or `Device[]`, default 8), `speeds`, `memoryGb`,
 * `policy` (`uniform|top-p|max-min|bubble-fill|joint|profile`, default `bubble-fill`), one of `density` (default
 * 0.2) / `totalTokens` / `totalWork`, `p` (top-p), `solver` (default `auto` with a deterministic effort),
 * `splitHeads` (default on when no solver is named and KV is replicated), `constraints` (`equalHeadsPerDevice`,
 * `kv: group|replicate`), `costModel` (object or name), `effort`, `seed`, `timeLimitMs`, `contextLength`,
 * `blockSize`, `kvBytesPerElement`, `kvReplicationCapBytes`, `previous` + `migrationWeight`, `spanRecovery`,
 * `runtime` (default: this thread here, worker threads in `hplb/node`), `onProgress(done, total, pipeline)`.
 *
 * Left (`HplbError`): an option malformed or out of range (`$.gpus`, `$.density`…), infeasible constraints
 * (`$.constraints.equalHeadsPerDevice`, `$.memoryGb`), a policy the profile cannot serve (no curves), a solver error.
 *
 * @example
 * const r = await planProfile(defaultProfile(), { gpus: 8, density: 0.1 });
 * if (E.isRight(r)) console.log(r.right.plan.predicted.balanceEfficiency);
 */
export const planProfile = (profile: Profile | LoadedProfile, options?: PlanOptions): Promise<E.Either<HplbError, PlanOutcome>> =>
  planProfileWith(undefined, profile, options);

/** @internal Shared by the root and `hplb/node`. */
export const comparePipelinesWith = async (runtime: SolverRuntime | undefined, profile: unknown, options: unknown): Promise<E.Either<HplbError, Comparison>> => {
  const p = profileArg(profile);
  if (E.isLeft(p)) return p;
  const o = decodePlanOptions(options);
  if (E.isLeft(o)) return o;
  return compareWith(p.right, withRuntime(o.right, runtime));
};

/**
 * The comparison table of `hplb plan`: one row per reference pipeline — contiguous + uniform (today's engines),
 * contiguous + max-min, LPT + max-min (the paper), hplb (split heads + max-min + bubble-fill); with a profile's own
 * budgets (`policy: 'profile'`) contiguous, LPT and hplb — plus the chosen pipeline when it is none of them. Each
 * row is `{ ok: true, name, run: { plan, sim, recovery, seconds, … }, chosen }` or `{ ok: false, name, error }`;
 * `chosen` is the index of the row `planProfile` would return (also as `outcome`). Options: as `planProfile`.
 * Left: as `planProfile` (a failing reference row is a row, not a Left).
 *
 * @example
 * const r = await comparePipelines(defaultProfile(), { gpus: 8 });
 * if (r._tag === 'Right') for (const row of r.right.rows) if (row.ok) console.log(row.name, row.run.sim.latency);
 */
export const comparePipelines = (profile: Profile | LoadedProfile, options?: PlanOptions): Promise<E.Either<HplbError, Comparison>> =>
  comparePipelinesWith(undefined, profile, options);

const ParetoOptionsC = t.intersection([
  SettingsOptionsC,
  t.partial({ densities: t.array(BudgetOptionsC.props.density), ps: t.array(BudgetOptionsC.props.p) }),
], 'ParetoSweepOptions');

/** @internal Shared by the root and `hplb/node`. */
export const paretoSweepWith = async (runtime: SolverRuntime | undefined, profile: unknown, options: unknown): Promise<E.Either<HplbError, ParetoSweep>> => {
  const p = profileArg(profile);
  if (E.isLeft(p)) return p;
  const o = decodeOptions(ParetoOptionsC as unknown as t.Type<ParetoSweepOptions, unknown, unknown>, options);
  if (E.isLeft(o)) return o;
  return sweepWith(p.right, withRuntime(o.right, runtime));
};

/**
 * Sweep budget densities (`densities`, default 0.01…0.5) and top-p targets (`ps`) per pipeline — contiguous +
 * uniform, LPT + top-p, LPT + max-min, hplb — and simulate each point: latency against min and mean recovery, with the
 * skyline marked (`points[i].skylineMin / skylineMean`). Draw it with `renderParetoSvg(result.series, …)`. Options:
 * the settings of `planProfile` (devices, constraints, cost model, …) plus `densities`, `ps`. Left: the profile has
 * no recovery curves, or an option is bad.
 */
export const paretoSweep = (profile: Profile | LoadedProfile, options?: ParetoSweepOptions): Promise<E.Either<HplbError, ParetoSweep>> =>
  paretoSweepWith(undefined, profile, options);

const SolveInstanceOptionsC = t.partial({
  solver: t.keyof(Object.fromEntries(SOLVER_NAMES.map((s) => [s, null])) as Record<string, null>, `one of ${SOLVER_NAMES.join('|')}`),
  timeLimitMs: t.refinement(t.number, (n) => Number.isFinite(n) && n > 0, 'a time limit in ms > 0'),
  seed: t.refinement(t.number, (n) => Number.isInteger(n), 'an integer'),
  effort: t.refinement(t.number, (n) => Number.isFinite(n) && n > 0, 'an effort > 0'),
  runtime: t.UnknownRecord,
  file: t.string,
  name: t.string,
}, 'SolveInstanceOptions');

/** @internal Shared by the root and `hplb/node`. */
export const solveInstanceWith = async (runtime: SolverRuntime | undefined, instance: unknown, options: unknown): Promise<E.Either<HplbError, InstanceSolution>> => {
  const o = decodeOptions(SolveInstanceOptionsC as unknown as t.Type<SolveInstanceOptions & { name?: string }, unknown, unknown>, options);
  if (E.isLeft(o)) return o;
  const inst = readInstance(instance, o.right.name, o.right.file);
  if (E.isLeft(inst)) return inst;
  return solveDecodedInstance(inst.right, withRuntime(o.right, runtime));
};

/**
 * Solve one raw multiway-partitioning instance (P‖Cmax with serving constraints), what `hplb solve` does:
 * `{ costs: number[], gpus: number, constraints?: { equalHeadsPerDevice, groups, pinned, speeds, timeMatrix,
 * previous, migrationWeight, kvGroupOf, maxKvPerDevice, maxExtraKvCopies } }`, or a bench file `{ instances: […] }`
 * with `options.name`. Resolves to `{ makespan, lowerBound, status, gap, seconds, assignment, instance }`. Options: `solver`
 * (default `auto`), `timeLimitMs` (default 10 000), `seed`, `effort`, `name`, `file` (named in errors), `runtime`.
 * Left: a malformed instance (its JSON path), no GPU, or an infeasible constraint set (`$.constraints.X`).
 *
 * @example
 * const r = await solveInstance({ costs: [5, 4, 3, 3, 3], gpus: 2 }, { solver: 'exact' });
 */
export const solveInstance = (instance: unknown, options?: SolveInstanceOptions & { readonly name?: string }): Promise<E.Either<HplbError, InstanceSolution>> =>
  solveInstanceWith(undefined, instance, options);

// ---------------------------------------------------------------- charts

/**
 * The per-layer GPU timeline SVG of a simulation (one bar per GPU per layer, busy vs idle, critical GPU marked):
 * `renderTimelineSvg(outcome.simulation, { title, subtitle, summary, synthetic })`. Deterministic text.
 */
/**
 * plan.svg of `hplb plan`: the engines' contiguous split ("before") and the written plan ("after") side by side on one
 * time axis, each panel labelled with its pipeline's name and latency, bubbles hatched — from a `Comparison`
 * (`comparePipelines`) or a `MainJob`. Without a contiguous row to compare with, the written plan alone
 * (`renderPlanSvg`). Deterministic text.
 */
export const renderComparisonSvg: (c: ComparisonChart) => string = comparisonSvg;

export const renderTimelineSvg: (sim: Simulation, options: Parameters<typeof renderTimeline>[1]) => string = renderTimeline;

/** plan.svg of a `planProfile` outcome (or a comparison row's run), titled as `hplb plan` titles it. */
export const renderPlanSvg = (outcome: PlanOutcome): string =>
  planTimelineSvg({ spec: outcome.pipeline, plan: outcome.plan, sim: outcome.simulation, ...(outcome.recovery ? { recovery: outcome.recovery } : {}) }, outcome.settings, outcome.profile);

/**
 * The Pareto chart (latency against min and mean recovery, skyline dashed): `renderParetoSvg(sweep.series,
 * { title, subtitle, unit, synthetic })`. Deterministic text.
 */
export const renderParetoSvg: typeof renderPareto = renderPareto;

/** Parse JSON text into a value or a `parse` error (`$`: valid JSON), e.g. before `decodePlan`. */
export const parseJsonText = (text: string, fileName?: string): E.Either<HplbError, unknown> => parseJson(text, fileName);

// ---------------------------------------------------------------- engines (engine layouts)
// [engines engineer] `exportEngineLayout` (and its types) is exported here, from @hplb/engines.

/**
 * From a plan to what vLLM, SGLang and TensorRT-LLM run: `exportEngineLayout(plan, { engine: 'vllm' | 'sglang' |
 * 'trtllm', planFile?, minference? })` gives `{ layout, minference?, minferenceSkipped? }`: the validated
 * `hplb.engine-layout/1` layout (per layer qSource / kvSource / budgets in the new head order / per-rank lists, TP
 * size, K/V copies, geometry, config.json changes, engine notes) and, when `minference.config` is given, that
 * MInference best-pattern config re-indexed to the new head order. The plan must give every rank H/T query heads
 * (`constraints.equalHeadsPerDevice`, or a plan from `planEngineLayoutForProfile`); split heads become tier-3
 * virtual heads. A Left names the plan's JSON path (the engines' rule it breaks) or `$.minference`.
 * `applyLayout` (`hplb/node`) rewrites a checkpoint for the layout.
 *
 * @example
 * const r = exportEngineLayout(plan, { engine: 'vllm' });
 * if (r._tag === 'Right') console.log(r.right.layout.configChanges); // { num_key_value_heads: 16, head_dim: 128 }
 */
export { exportEngineLayout, type ExportOptions, type EngineExport, type MinferenceExportOptions } from '@hplb/engines';
/**
 * Plans the serving engines can run after a checkpoint rewrite. `planEngineLayoutForProfile(profile, { gpus,
 * kvCopies?: r | 'auto', lengths?: N | [{ contextLength, weight }], costModel?, kvProjection?, hiddenSize?,
 * recoveryTarget?, timeLimitMs?, kvBytesPerElement? })`: every rank holds H/T query heads and its KV slots, every
 * query head sits with its KV slot, and the K/V duplication factor r is fixed or chosen by expected latency
 * (attention plus K/V projection; an r whose KV cache exceeds the devices' `memoryBytes` is ruled out). The Right's
 * `plan` (with its `engineLayout` extension) goes to `exportEngineLayout`; `candidates` reports every r.
 * `planLengthDistribution(profile, { gpus, lengths, equalHeadsPerDevice?, kv? })` places heads freely for a
 * distribution of context lengths (expected latency). Lefts name `$.gpus`, `$.kvCopies`, `$.lengths`,
 * `$.devices[*].speed`, `$.devices[*].memoryBytes`, `$.equalHeadsPerDevice`.
 */
export {
  planEngineLayoutForProfile, planLengthDistribution, kvProjectionPrice,
  type EngineLayoutPlanOptions, type LengthDistributionPlanOptions, type LengthPlanOptions, type LengthDistributionPlan, type ContextWeight,
} from '@hplb/engines';
/** The engine layout format and its checks: `hplb.engine-layout/1` files decode with `decodeEngineLayout` and pass `validateEngineLayout`. */
export { ENGINES, ENGINE_LAYOUT_FORMAT, decodeEngineLayout, validateEngineLayout, type EngineLayout, type EngineLayer, type EngineName } from '@hplb/core';
export { type EnginePlanResult, type KvCopiesCandidate, type EngineLayoutExtension } from '@hplb/solvers';

// ---------------------------------------------------------------- runtime (kernel backends)
// [runtime engineer] `createBackend`, `executePlan`, `calibrate` (and their types): @hplb/runtime is Node-only, so
// they go in `hplb/node` (hplb/src/node/index.ts); only platform-neutral runtime exports belong here.
// `@hplb/runtime/backends` and `@hplb/runtime/timing` import no Node built-in: the backend registry and the timing
// protocol are platform-neutral (which backends load where is each backend package's business).

/**
 * Attention-kernel backends by name: `createBackend(name | 'auto', { backendOptions?, requires? })` resolves a
 * registered backend (`BACKEND_NAMES`: cuda, webgpu, gpujs, cpu), imports its package lazily and starts it. The
 * Right is `{ backend, info }` (call `backend.dispose()` when done); a Left lists every candidate's reason
 * (`$.backends.<name>`), or names an unknown backend (`$.backend`).
 */
export {
  createBackend, BACKEND_NAMES, isBackendName, loadBestBackend,
  type BackendName, type CreateBackendOptions, type ResolvedBackend,
} from '@hplb/runtime/backends';
/**
 * The timing protocol hplb times every kernel with (calibration, execution, benchmarks): warm-up runs apart, k
 * interleaved repeats per point, median and IQR, contention detected (reference kernel, wall / CPU) and
 * re-measured, noisy points flagged. `measurePoints(count, run, protocol?, { reference? })` runs it with your
 * `run(i)` returning `{ seconds }`; `summarizeTimings` gives the summary every hplb JSON output carries.
 */
export {
  measurePoints, DEFAULT_TIMING, spreadOf, quantile, interleavedOrder, assessPoint, summarizeTimings, timingProtocol,
  type TimingProtocol, type TimingSummary, type PointTiming, type Reading, type Sample, type Spread, type MeasureOptions, type MeasuredPoints,
} from '@hplb/runtime/timing';
