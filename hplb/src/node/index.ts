/**
 * hplb/node: everything in `hplb`, plus what needs Node: `loadProfile` also takes a file path (or a DuoAttention
 * folder), and planning, comparing, sweeping and solving default to `nodeSolverRuntime` (worker threads for the
 * driver's second pass, the HiGHS / GLPK ILP engines) instead of the calling thread.
 *
 * ```js
 * import { loadProfile, planProfile, formatError } from 'hplb/node';
 * const p = loadProfile('Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
 * if (p._tag === 'Left') throw new Error(formatError(p.left));
 * const r = await planProfile(p.right, { gpus: 8, policy: 'max-min', density: 0.1 });
 * ```
 *
 * @module hplb/node
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, type HplbError, type Profile } from '@hplb/core';
import { nodeSolverRuntime } from '@hplb/solvers/node';
import type {
  Comparison, InstanceSolution, LoadedProfile, LoadProfileOptions, ParetoSweep, ParetoSweepOptions, PlanOptions, PlanOutcome, SolveInstanceOptions,
} from '@hplb/planner';
import {
  comparePipelinesWith, loadProfile as loadProfileFrom, mainJobWith, paretoSweepWith, planProfileWith, solveInstanceWith, type MainJob, type MainJobOptions, type ProfileSource,
} from '../index.ts';

export * from '../index.ts';
export { nodeSolverRuntime } from '@hplb/solvers/node';

/**
 * Read a text file; Left `io` names the file ("no such file", "a directory"). Write files atomically: one
 * (`writeFileAtomic`, `writeJsonAtomic`) or a set that lands together (`writeFilesAtomic`).
 */
export { readTextFile, writeFileAtomic, writeJsonAtomic, writeFilesAtomic } from '@hplb/core/node';
import { readTextFile } from '@hplb/core/node';

/**
 * `loadProfile` of `hplb`, plus a file path: the file is read and imported with `fileName` = the path (a
 * DuoAttention folder holding `full_attention_heads.tsv` stands for that file); `modelConfig` may be the path of a
 * `config.json` too. Left `io`: a file cannot be read.
 */
export const loadProfile = (source: string | ProfileSource, options?: LoadProfileOptions): E.Either<HplbError, LoadedProfile> => {
  // A model config given as a path is read here (the platform-neutral loadProfile takes its text or parsed JSON).
  if (typeof options?.modelConfig === 'string') {
    const cfgFile = options.modelConfig;
    return E.chain((text: string) => loadProfile(source, { ...options, modelConfig: { text, fileName: cfgFile } }))(readTextFile(cfgFile));
  }
  if (typeof source !== 'string') return loadProfileFrom(source, options);
  let file = source;
  try {
    if (statSync(file).isDirectory() && statSync(join(file, 'full_attention_heads.tsv')).isFile()) file = join(file, 'full_attention_heads.tsv');
  } catch {
    // readTextFile reports a missing file with its name.
  }
  return E.chain((text: string) => loadProfileFrom({ text, fileName: file }, options))(readTextFile(file));
};

/** `planProfile` of `hplb`, solving in worker threads (`nodeSolverRuntime`) unless `options.runtime` says otherwise. */
export const planProfile = (profile: Profile | LoadedProfile, options?: PlanOptions): Promise<E.Either<HplbError, PlanOutcome>> =>
  planProfileWith(nodeSolverRuntime, profile, options);

/** `mainJob` of `hplb` (what `npx hplb plan` prints and writes), solving in worker threads. */
export const mainJob = (options?: MainJobOptions): Promise<E.Either<HplbError, MainJob>> => mainJobWith(nodeSolverRuntime, options);

/** `comparePipelines` of `hplb`, with `nodeSolverRuntime` by default. */
export const comparePipelines = (profile: Profile | LoadedProfile, options?: PlanOptions): Promise<E.Either<HplbError, Comparison>> =>
  comparePipelinesWith(nodeSolverRuntime, profile, options);

/** `paretoSweep` of `hplb`, with `nodeSolverRuntime` by default. */
export const paretoSweep = (profile: Profile | LoadedProfile, options?: ParetoSweepOptions): Promise<E.Either<HplbError, ParetoSweep>> =>
  paretoSweepWith(nodeSolverRuntime, profile, options);

/** `solveInstance` of `hplb`, with `nodeSolverRuntime` by default (so `ilp-highs` / `ilp-glpk` can run). */
export const solveInstance = (instance: unknown, options?: SolveInstanceOptions & { readonly name?: string }): Promise<E.Either<HplbError, InstanceSolution>> =>
  solveInstanceWith(nodeSolverRuntime, instance, options);

// ---------------------------------------------------------------- Node-only exports of other packages
// [engines engineer] `applyLayout` (checkpoint rewrite, @hplb/engines/node) is exported here.

/**
 * Rewrite a Hugging Face checkpoint for an engine layout (Node: reads and writes files).
 * `applyLayout(layout, { checkpoint, out, force?, cwd?, layoutFile?, onProgress? })` streams the safetensors shards
 * one tensor at a time: q_proj rows (and biases) permuted, k_proj / v_proj rows permuted and duplicated into the KV
 * slots, o_proj columns permuted, every other tensor copied byte for byte; config.json gets the layout's
 * `configChanges`. Llama, Mistral and Qwen2; fused-QKV, ALiBi, quantized and unknown architectures are refused
 * naming what is missing. The output directory appears atomically (nothing is left behind on failure). The Right
 * is a report (architecture, KV heads → slots, shards, bytes written, subdirectories not copied); a Left names the
 * file and JSON path, or `$.out`.
 *
 * @example
 * const r = await applyLayout(layout, { checkpoint: 'Meta-Llama-3.1-8B-Instruct', out: 'Llama-3.1-8B-hplb-tp8' });
 * if (r._tag === 'Left') console.error(formatError(r.left));
 */
export { applyLayout, checkCheckpointConfig, type ApplyOptions, type ApplyReport } from '@hplb/engines/node';
/**
 * Recovery curves per head from attention inputs (Node: dump files, backends; what `hplb profile` computes).
 * `profileAttention({ dumps: [dir, …] } | { synthetic: { model?, layers?, contexts?, samples?, seed? } },
 * { blockSize?, sampleRows?, maxPoints?, target?, backend?, workers?, requireStability?, onProgress? })` gives the
 * `hplb.profile/1` curve profile of the first run and, with two runs or more, the `hplb.stability/1` report of how
 * stable the heads' required budgets are across samples and context lengths.
 */
export { profileAttention, type ProfileInput, type SyntheticProfileInput, type ProfileAttentionOptions, type AttentionProfile } from '@hplb/runtime';
// [runtime engineer] `createBackend`, `executePlan`, `calibrate` (@hplb/runtime, Node-only) are exported here.

/**
 * Kernel calibration (Node: process CPU clocks). `calibrate(backend | name, options?)` times a backend over context
 * lengths × budgets by the timing protocol and fits the seconds cost model with 95% confidence intervals; the
 * Right's `calibration` is an `hplb.calibration/1` record (its `costModel` goes to `planProfile`'s `costModel` or to
 * `executePlan`). A calibration whose points still spread more than `timing.maxSpread` after re-measures is refused
 * (Left at `$.timing.spread`) unless `force: true`; `timing` says how noisy it was.
 */
export {
  calibrate, runCalibration, fitLinear, DEFAULT_CALIBRATION,
  type CalibrateOptions, type CalibrationOptions, type CalibrationRun, type LinearFit,
} from '@hplb/runtime';
/**
 * Plan execution (Node: a worker thread per simulated GPU). `executePlan(plan, { backend, calibration? | costModel?,
 * contextLength?, layers? | sampleLayers?, repeats?, timing? })` runs the plan with a barrier per layer and returns
 * predicted vs measured makespan per layer, each with its error range and noise flag, and `makespanError` with the
 * noise level. Without a cost model it calibrates the backend at the run's context length first.
 */
export {
  executePlan, sampleLayers, DEFAULT_EXECUTE_REPEATS, DEFAULT_SAMPLE_LAYERS, EXECUTIONS,
  type ExecuteOptions, type ExecutionResult, type LayerResult, type Execution,
} from '@hplb/runtime';
/** How kernel time is read: "cpu" (process CPU time, the cpu backend's default) or "wall" (GPU backends). */
export { CLOCKS, defaultClock, type Clock } from '@hplb/runtime';
