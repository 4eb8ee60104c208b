/**
 * Solver flags shared by `hplb plan` and `hplb solve`: devices (--gpus, --speeds, --memory-gb), constraints
 * (--equal-heads, --kv group|replicate, --kv-cap-gb), the solver and its budget (--solver, --time-limit, --seed),
 * the cost model (--cost work|budget, --calibration FILE), split heads (--split-heads, --max-splits, --min-rows) and
 * stable re-plans (--previous plan.json, --migration-weight). `readSolverFlags` turns them into the PlanInput fields
 * of the multi-layer driver, and rejects bad input with one clear line (exit ≠ 0): zero GPUs, a speed or memory list
 * whose length differs from --gpus, a time limit ≤ 0, --equal-heads that cannot split the heads (or whole GQA groups)
 * evenly (naming the nearest feasible GPU counts), and memory too small for one copy of every KV head.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  BUDGET_COST_MODEL, CalibrationC, WORK_COST_MODEL, decode, decodePlan, hplbError, issue, kvHeadBytes, makeDevices,
  type CostModel, type Device, type ModelShape, type Plan,
} from '@hplb/core';
import { SOLVER_NAMES, nearestEvenDeviceCounts, type PlanInput, type SolverName } from '@hplb/solvers';
import type { Args, FlagSpec } from './args.ts';
import { CliFailure, argumentError, orFail, readJson } from './io.ts';

export const SOLVER_FLAG_SPEC: FlagSpec = {
  values: ['gpus', 'speeds', 'memory-gb', 'solver', 'kv', 'max-splits', 'min-rows', 'time-limit', 'cost', 'calibration', 'seed', 'kv-cap-gb', 'previous', 'migration-weight'],
  booleans: ['equal-heads', 'split-heads'],
};

/** Help text for the shared flags (commands append it to their own usage). */
export const SOLVER_FLAG_HELP = `  --gpus G                 number of GPUs (required)
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

export interface SolverFlags {
  readonly devices: Device[];
  readonly constraints: PlanInput['constraints'];
  readonly solver: SolverName;
  readonly timeLimitMs: number;
  readonly costModel: CostModel;
  readonly splitHeads?: { readonly maxSplits?: number; readonly minRows?: number };
  readonly seed?: number;
  readonly kvReplicationCapBytes?: number | null;
  readonly previous?: Plan;
  readonly migrationWeight?: number;
}

const infeasible = (flag: string, expected: string, actual?: unknown) => new CliFailure(hplbError('infeasible', [issue(flag, expected, actual)]), 1);

/** Device list from --gpus / --speeds / --memory-gb (no model checks). */
export const readDevices = (args: Args): Device[] => {
  const g = args.int('gpus', (x) => x >= 0, 'a number of GPUs ≥ 1');
  if (g === undefined) throw argumentError('--gpus', 'a number of GPUs (e.g. --gpus 8)');
  if (g === 0) throw argumentError('--gpus', 'at least one GPU', 0);
  const speeds = args.numberList('speeds', (x) => x > 0, 'a comma-separated list of positive speeds');
  if (speeds && speeds.length !== g) throw argumentError('--speeds', `${g} speeds, one per GPU (--gpus ${g})`, `${speeds.length} values`);
  const mem = args.numberList('memory-gb', (x) => x >= 0, 'a memory size in GB (≥ 0), or one per GPU');
  if (mem && mem.length !== 1 && mem.length !== g) throw argumentError('--memory-gb', `one value for all GPUs or ${g} values, one per GPU (--gpus ${g})`, `${mem.length} values`);
  return makeDevices(g, speeds).map((d, i) => ({ ...d, memoryBytes: mem ? Math.round((mem.length === 1 ? mem[0]! : mem[i]!) * 1e9) : null }));
};

/** Load a cost model: --calibration FILE (hplb.calibration/1) or --cost work|budget. */
export const readCostModel = (args: Args): CostModel => {
  const file = args.string('calibration');
  if (file !== undefined) {
    if (args.has('cost')) throw argumentError('--cost', 'either --cost or --calibration, not both', args.string('cost'));
    const cal = orFail(E.chain((u: unknown) => decode(CalibrationC, u, file))(readJson(file)));
    return cal.costModel;
  }
  const c = args.oneOf('cost', ['work', 'budget'] as const, 'work');
  return c === 'work' ? WORK_COST_MODEL : BUDGET_COST_MODEL;
};

/** Time limit in ms from --time-limit seconds (> 0), or the default. */
export const readTimeLimitMs = (args: Args, defaultMs: number): number => {
  const s = args.number('time-limit', (x) => x > 0, 'a time limit in seconds > 0');
  return s === undefined ? defaultMs : s * 1000;
};

export const readSolverName = (args: Args): SolverName => args.oneOf('solver', SOLVER_NAMES, 'auto');

/**
 * Every shared solver flag, checked against the model and the context length. Throws CliFailure (exit 2 for
 * usage errors, 1 for an infeasible constraint set) with one clear line.
 */
export const readSolverFlags = (args: Args, model: ModelShape, contextLength: number, defaults: { timeLimitMs?: number } = {}): SolverFlags => {
  const devices = readDevices(args);
  const g = devices.length;
  const kv = args.oneOf('kv', ['group', 'replicate'] as const, 'replicate');
  const equal = args.flag('equal-heads');
  if (equal) {
    if (model.queryHeads % g !== 0) {
      const near = nearestEvenDeviceCounts(model.queryHeads, g);
      throw infeasible('--equal-heads', `a GPU count that divides the ${model.queryHeads} query heads of ${model.name}; nearest feasible: --gpus ${near.join(' or ')}`, `--gpus ${g}`);
    }
    if (kv === 'group' && model.kvHeads % g !== 0) {
      const near = nearestEvenDeviceCounts(model.kvHeads, g);
      throw infeasible('--equal-heads', `a GPU count that divides the ${model.kvHeads} whole GQA groups of ${model.name} (--kv group); nearest feasible: --gpus ${near.join(' or ')}`, `--gpus ${g}`);
    }
  }
  const solver = readSolverName(args);
  const timeLimitMs = readTimeLimitMs(args, defaults.timeLimitMs ?? 1000);
  const costModel = readCostModel(args);
  const seed = args.int('seed');
  const maxSplits = args.int('max-splits', (x) => x >= 0, 'a number of splits ≥ 0');
  const minRows = args.int('min-rows', (x) => x >= 1, 'a number of rows ≥ 1');
  const split = args.flag('split-heads') || maxSplits !== undefined || minRows !== undefined;
  const capGb = args.number('kv-cap-gb', (x) => x >= 0, 'a replicated-KV cap in GB (≥ 0)');
  if (capGb !== undefined && kv === 'group') throw argumentError('--kv-cap-gb', 'a cap only with --kv replicate (groups are never replicated)', `--kv ${kv}`);
  const migrationWeight = args.number('migration-weight', (x) => x >= 0, 'a migration weight ≥ 0');

  // Memory: every KV head of every layer needs one home; per layer, device d holds ⌊mem_d / (layers · copy)⌋ copies.
  const one = kvHeadBytes(model, contextLength);
  if (devices.some((d) => d.memoryBytes !== null)) {
    const perLayer = devices.reduce((a, d) => a + (d.memoryBytes === null ? Infinity : Math.floor(d.memoryBytes / (model.layers * one))), 0);
    if (perLayer < model.kvHeads) {
      const needGb = (model.layers * model.kvHeads * one) / 1e9;
      throw infeasible('--memory-gb', `room for one copy of every KV head: ${needGb.toFixed(2)} GB in all at N=${contextLength} (${model.layers} layers × ${model.kvHeads} KV heads × ${(one / 1e6).toFixed(1)} MB), spread so each GPU holds whole per-layer shares`, `${devices.map((d) => ((d.memoryBytes ?? 0) / 1e9).toFixed(2)).join(',')} GB`);
    }
    if (equal && kv === 'group') {
      const need = model.kvHeads / g;
      const d = devices.findIndex((dv) => dv.memoryBytes !== null && Math.floor(dv.memoryBytes / (model.layers * one)) < need);
      if (d >= 0) throw infeasible('--memory-gb', `room for ${need} KV heads per layer on every GPU (--equal-heads --kv group)`, `GPU ${d}: ${((devices[d]!.memoryBytes ?? 0) / 1e9).toFixed(2)} GB`);
    }
  }

  let previous: Plan | undefined;
  const prevFile = args.string('previous');
  if (prevFile !== undefined) {
    previous = orFail(E.chain((u: unknown) => decodePlan(u, prevFile))(readJson(prevFile)));
    if (previous.model.queryHeads !== model.queryHeads || previous.model.layers !== model.layers)
      throw new CliFailure(hplbError('decode', [issue('$.model', `a plan of ${model.name} (${model.layers} layers × ${model.queryHeads} heads)`, `${previous.model.layers} × ${previous.model.queryHeads}`)], prevFile), 1);
    if (previous.devices.length !== g)
      throw new CliFailure(hplbError('decode', [issue('$.devices', `${g} devices (--gpus ${g})`, previous.devices.length)], prevFile), 1);
  }
  return {
    devices,
    constraints: { equalHeadsPerDevice: equal, kv },
    solver,
    timeLimitMs,
    costModel,
    ...(split ? { splitHeads: { ...(maxSplits !== undefined ? { maxSplits } : {}), ...(minRows !== undefined ? { minRows } : {}) } } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(capGb !== undefined ? { kvReplicationCapBytes: Math.round(capGb * 1e9) } : {}),
    ...(previous ? { previous } : {}),
    ...(migrationWeight !== undefined ? { migrationWeight } : {}),
  };
};
