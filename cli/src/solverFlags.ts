/**
 * Solver flags shared by `hplb plan`, `hplb pareto` and `hplb solve`: devices (--gpus, --speeds, --memory-gb),
 * constraints (--equal-heads, --kv group|replicate, --kv-cap-gb), the solver and its budget (--solver, --time-limit,
 * --seed), the cost model (--cost work|budget, --calibration FILE), split heads (--split-heads, --max-splits,
 * --min-rows) and stable re-plans (--previous plan.json, --migration-weight). Flags become the library's options
 * (`readSolverOptions`); every check of their meaning is the planner's (`placementSettings`), whose errors name option
 * paths that `PLAN_FLAGS` (planFlags.ts) maps back to these flags.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decode } from '@hplb/core';
import { CalibrationC, DEFAULT_GPUS, SOLVER_NAMES, decodePlan, type Calibration, type CostModel, type ModelShape, type PlanSettings, type SettingsOptions, type SolverName } from 'hplb';
import { placementSettings } from '@hplb/planner';
import type { Args, FlagSpec } from './args.ts';
import { argumentError, orFail, readJson } from './io.ts';
import { planFailure } from './planFlags.ts';

export const SOLVER_FLAG_SPEC: FlagSpec = {
  values: ['gpus', 'speeds', 'memory-gb', 'solver', 'kv', 'max-splits', 'min-rows', 'time-limit', 'cost', 'calibration', 'seed', 'kv-cap-gb', 'previous', 'migration-weight'],
  booleans: ['equal-heads', 'split-heads'],
};

/** Help text for the shared flags (commands append it to their own usage). */
export const SOLVER_FLAG_HELP = `  --gpus G                 number of GPUs (default ${DEFAULT_GPUS})
  --speeds s1,s2,…         relative GPU speeds, one per GPU (default all 1)
  --memory-gb X[,Y,…]      KV memory per GPU in GB (1e9 bytes): one value for all, or one per GPU
  --solver NAME            ${SOLVER_NAMES.join('|')} (default auto)
  --equal-heads            every GPU holds the same number of heads
  --kv group|replicate     keep GQA groups whole, or let query heads move and replicate KV (default replicate)
  --kv-cap-gb X            cap on replicated KV bytes (kv replicate)
  --split-heads            split the heaviest heads' query rows across GPUs [--max-splits K] [--min-rows R]
  --time-limit S           solver budget per layer in seconds (> 0)
  --cost work|budget       cost model: token pairs W(b,N) (default) or the paper's N·b
  --calibration FILE       cost model from an hplb.calibration/1 file (seconds)
  --seed N                 seed for randomised search (default 1)
  --previous PLAN          previous plan: re-plan with few moves (lexicographic: makespan first, then moves)
  --migration-weight W     accept a makespan up to (1+W)× the best to save moves (default 0)
`;

/** Time limit in ms from --time-limit seconds (> 0), or the default. */
export const readTimeLimitMs = (args: Args, defaultMs: number): number => {
  const s = args.number('time-limit', (x) => x > 0, 'a time limit in seconds > 0');
  return s === undefined ? defaultMs : s * 1000;
};

export const readSolverName = (args: Args): SolverName => args.oneOf('solver', SOLVER_NAMES, 'auto');

/** The hplb.calibration/1 file --calibration names (read once per run). */
const calibrations = new Map<string, Calibration>();
export const readCalibration = (_args: Args, file: string): Calibration => {
  const hit = calibrations.get(file);
  if (hit) return hit;
  const c = orFail(E.chain((u: unknown) => decode(CalibrationC, u, file))(readJson(file)));
  calibrations.set(file, c);
  return c;
};

/** A cost model from --calibration FILE (hplb.calibration/1, read here) or the name --cost work|budget. */
export const readCostModel = (args: Args): CostModel | string => {
  const file = args.string('calibration');
  if (file !== undefined) {
    if (args.has('cost')) throw argumentError('--cost', 'either --cost or --calibration, not both', args.string('cost'));
    return readCalibration(args, file).costModel;
  }
  return args.oneOf('cost', ['work', 'budget'] as const, 'work');
};

/** The file --previous names, when given (its errors are mapped back to that file by `planFailure`). */
export const previousFile = (args: Args): string | undefined => args.string('previous');

/**
 * The shared solver flags as library options (flag syntax checked here; meaning checked by the planner). `gpus`
 * defaults to `defaultGpus` when given (plan, pareto), else --gpus is required.
 */
export const readSolverOptions = (args: Args, defaults: { timeLimitMs?: number; defaultGpus?: number; optionalGpus?: boolean } = {}): SettingsOptions & { readonly solver?: SolverName } => {
  // Syntax only: the library states the range once ($.gpus: at least one GPU) and its default (DEFAULT_GPUS).
  const g = args.int('gpus') ?? defaults.defaultGpus;
  if (g === undefined && !defaults.optionalGpus) throw argumentError('--gpus', 'a number of GPUs (e.g. --gpus 8)');
  const speeds = args.numberList('speeds', (x) => x > 0, 'a comma-separated list of positive speeds');
  const mem = args.numberList('memory-gb', (x) => x >= 0, 'a memory size in GB (≥ 0), or one per GPU');
  const kv = args.oneOf('kv', ['group', 'replicate'] as const, 'replicate');
  const solver = args.has('solver') ? readSolverName(args) : undefined;
  // Only what the user typed (or the command's own default): the planner states the default time limit once.
  const timeLimitMs = args.has('time-limit') ? readTimeLimitMs(args, 0) : defaults.timeLimitMs;
  const costModel = readCostModel(args);
  const seed = args.int('seed');
  const maxSplits = args.int('max-splits', (x) => x >= 0, 'a number of splits ≥ 0');
  const minRows = args.int('min-rows', (x) => x >= 1, 'a number of rows ≥ 1');
  const split = args.flag('split-heads') || maxSplits !== undefined || minRows !== undefined;
  const capGb = args.number('kv-cap-gb', (x) => x >= 0, 'a replicated-KV cap in GB (≥ 0)');
  const migrationWeight = args.number('migration-weight', (x) => x >= 0, 'a migration weight ≥ 0');
  const prevFile = previousFile(args);
  return {
    ...(g !== undefined ? { gpus: g } : {}),
    ...(speeds ? { speeds } : {}),
    ...(mem ? { memoryGb: mem } : {}),
    // Constraints only when a flag sets them: without, the serving objective may choose among KV-group rows too.
    ...(args.flag('equal-heads') || args.has('kv') ? { constraints: { equalHeadsPerDevice: args.flag('equal-heads'), kv } } : {}),
    ...(solver !== undefined ? { solver } : {}),
    ...(timeLimitMs !== undefined ? { timeLimitMs } : {}),
    costModel,
    ...(split ? { splitHeads: { ...(maxSplits !== undefined ? { maxSplits } : {}), ...(minRows !== undefined ? { minRows } : {}) } } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(capGb !== undefined ? { kvReplicationCapBytes: Math.round(capGb * 1e9) } : {}),
    ...(prevFile !== undefined ? { previous: orFail(E.chain((u: unknown) => decodePlan(u, prevFile))(readJson(prevFile))) } : {}),
    ...(migrationWeight !== undefined ? { migrationWeight } : {}),
  };
};

/**
 * Every shared solver flag, checked against the model and the context length (the planner's `placementSettings`).
 * Throws CliFailure (exit 2 for usage errors, 1 for an infeasible constraint set) with one clear line naming flags.
 */
export const readSolverFlags = (args: Args, model: ModelShape, contextLength: number, defaults: { timeLimitMs?: number } = {}): PlanSettings & { readonly solver: SolverName } => {
  const o = readSolverOptions(args, defaults);
  const s = placementSettings(model, contextLength, o);
  if (E.isLeft(s)) throw planFailure(s.left, { previous: previousFile(args) });
  return { ...s.right, solver: o.solver ?? 'auto' };
};
