/**
 * Reading what `hplb plan` / `hplb pareto` plan: the profile (the built-in SYNTHETIC default, or `--profile F` through
 * the core importers), its recovery curves through the named curve models (or the reason there are none), the budgets
 * it states at N, and every [solvers] flag (`readSolverFlags`). Produces the `PlanContext` the pipelines run on.
 */
import { basename } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, withFile, type HplbError } from '@hplb/core';
import type { Profile } from '@hplb/core';
import { DEFAULT_CONTEXT_LENGTH, importProfile, detectFormat, PROFILE_FORMATS } from '@hplb/core';
import { budgetsAt } from '@hplb/core';
import { loadDefaultProfile } from '@hplb/core/node';
import { profileCurves, CURVE_MODELS, type CurveModelName } from '@hplb/core';
import { DEFAULT_BLOCK_SIZE } from '@hplb/core';
import { COST_MODEL_NAMES, namedCostModel, withLinkBandwidth, type CostModel } from '@hplb/core';
import { nodeSolverRuntime } from '@hplb/solvers/node';
import type { Args } from '../args.ts';
import { CliFailure, argumentError, orFail, readText } from '../io.ts';
import { readSolverFlags, SOLVER_FLAG_SPEC, SOLVER_FLAG_HELP, type SolverFlags } from '../solverFlags.ts';
import type { PlanContext } from '@hplb/planner';

/** Flags the profile side reads (besides the [solvers] flags). */
export const PROFILE_FLAG_SPEC = {
  values: ['profile', 'format', 'context', 'model', 'sparsity', 'threshold', 'table', 'span-recovery', 'block', 'kv-bytes', 'cost-model', 'link-gbps'],
  booleans: [] as string[],
};

export const PROFILE_FLAG_HELP = `  --profile F              a profile (default: the built-in SYNTHETIC Llama-3.1-8B-shaped curve profile)
  --format NAME            ${PROFILE_FORMATS.join('|')} (default: detected from the file)
  --model NAME             the model, when the file name does not say (e.g. Llama-3.1-8B-Instruct)
  --context N              context length (default: the profile's, else 131072)
  --sparsity S | --threshold T   DuoAttention: which KV heads stream
  --table NAME             XAttention threshold table (default max)
  --span-recovery R        MoA: the recovery assumed at each head's span (MoA publishes none)
  --block B                budget block size in tokens (default ${DEFAULT_BLOCK_SIZE})
  --kv-bytes B             bytes per KV element (default 2)
  --cost-model NAME        a named cost setting: ${COST_MODEL_NAMES.join('|')} (seconds for the device defaults,
                           documented in docs/budgets.md; not with --cost or --calibration)
  --link-gbps X            KV-copy communication term: replicated KV bytes / (X GB/s), charged per layer (seconds models)
`;

export const ALL_FLAG_SPEC = (own: { values: string[]; booleans: string[] }) => ({
  values: [...own.values, ...PROFILE_FLAG_SPEC.values, ...SOLVER_FLAG_SPEC.values],
  booleans: [...own.booleans, ...PROFILE_FLAG_SPEC.booleans, ...SOLVER_FLAG_SPEC.booleans],
});
export { SOLVER_FLAG_HELP };

export interface LoadedProfile {
  readonly profile: Profile;
  readonly file?: string;
  readonly label: string;
  /** A label short enough for a chart subtitle. */
  readonly short: string;
  readonly synthetic: boolean;
}

export const loadProfile = (args: Args): LoadedProfile => {
  const file = args.string('profile');
  if (file === undefined) {
    const p = orFail(loadDefaultProfile());
    return { profile: p, label: `built-in SYNTHETIC profile (${p.model.name}, generated from head archetypes, seed ${String((p.source as { seed?: number } | undefined)?.seed ?? '?')})`, short: `built-in SYNTHETIC profile (seed ${String((p.source as { seed?: number } | undefined)?.seed ?? '?')})`, synthetic: true };
  }
  const text = orFail(readText(file));
  const format = args.string('format') ?? detectFormat(file, text);
  if (format === undefined) throw argumentError('--format', `a profile format (${PROFILE_FORMATS.join('|')}): it could not be detected from ${file}`);
  const sparsity = args.number('sparsity', (x) => x >= 0 && x <= 1, 'a sparsity in [0, 1]');
  const threshold = args.number('threshold');
  const ctx = args.int('context', (x) => x >= 1, 'a context length ≥ 1 token');
  const opts = {
    file,
    ...(args.string('model') !== undefined ? { model: args.string('model')! } : {}),
    ...(sparsity !== undefined ? { sparsity } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(args.string('table') !== undefined ? { table: args.string('table')! } : {}),
    ...(ctx !== undefined ? { contextLength: ctx } : {}),
  };
  const p = orFail(importProfile(format, text, opts));
  const synthetic = p.synthetic === true;
  return { profile: p, file, label: `${basename(file)} (${format}, ${p.model.name}${synthetic ? ', SYNTHETIC' : ''})`, short: `${p.model.name} (${format}${synthetic ? ', SYNTHETIC' : ''})`, synthetic };
};

const contextOf = (p: Profile): number => (p.kind === 'elastic' ? DEFAULT_CONTEXT_LENGTH : p.contextLength);

/** Build the pipelines' context from the flags. `defaultGpus` fills in --gpus when absent. */
export const readPlanContext = (args: Args, loaded: LoadedProfile, defaults: { timeLimitMs?: number } = {}): { ctx: PlanContext; flags: SolverFlags; curveModel?: CurveModelName } => {
  const { profile } = loaded;
  const n = args.int('context', (x) => x >= 1, 'a context length ≥ 1 token') ?? contextOf(profile);
  const block = args.int('block', (x) => x >= 1, 'a block size ≥ 1 token') ?? DEFAULT_BLOCK_SIZE;
  if (block > n) throw argumentError('--block', `a block size at most the context length ${n}`, block);
  const kvBytes = args.int('kv-bytes', (x) => x >= 1, 'bytes per KV element ≥ 1');
  const spanRecovery = args.number('span-recovery', (x) => x > 0 && x <= 1, 'a recovery in (0, 1]');
  const named = args.string('cost-model');
  if (named !== undefined && (args.has('cost') || args.has('calibration'))) throw argumentError('--cost-model', 'either --cost-model or --cost/--calibration, not both', named);
  if (named !== undefined && !namedCostModel(named)) throw argumentError('--cost-model', `one of ${COST_MODEL_NAMES.join('|')}`, named);
  const linkGbps = args.number('link-gbps', (x) => x > 0, 'a link bandwidth in GB/s > 0');
  const solverFlags = readSolverFlags(args, profile.model, n, defaults);
  let costModel: CostModel = named !== undefined ? namedCostModel(named)! : solverFlags.costModel;
  if (linkGbps !== undefined) {
    if (costModel.unit !== 'seconds') throw argumentError('--link-gbps', 'a cost model in seconds (--cost-model cuda-h100|cpu or --calibration F): token-pair costs have no link time', costModel.name);
    costModel = withLinkBandwidth(costModel, linkGbps * 1e9);
  }
  const flags: SolverFlags = { ...solverFlags, costModel };
  const curves = profileCurves(profile, n, spanRecovery !== undefined ? { spanRecovery } : {});
  const curvesError: HplbError | undefined = E.isLeft(curves) ? (loaded.file ? withFile(loaded.file)(curves.left) : curves.left) : undefined;
  const budgets = budgetsAt(profile, n, loaded.file ? { file: loaded.file } : {});
  const curveModel = E.isRight(curves) ? curves.right.model : undefined;
  const ctx: PlanContext = {
    model: profile.model,
    contextLength: n,
    devices: flags.devices,
    constraints: flags.constraints,
    costModel: flags.costModel,
    timeLimitMs: flags.timeLimitMs,
    seed: flags.seed ?? 1,
    runtime: nodeSolverRuntime,
    blockSize: block,
    ...(kvBytes !== undefined ? { kvBytesPerElement: kvBytes } : {}),
    ...(flags.kvReplicationCapBytes !== undefined ? { kvReplicationCapBytes: flags.kvReplicationCapBytes } : {}),
    ...(flags.splitHeads ? { splitOptions: flags.splitHeads } : {}),
    ...(flags.previous ? { previous: flags.previous } : {}),
    ...(flags.migrationWeight !== undefined ? { migrationWeight: flags.migrationWeight } : {}),
    ...(E.isRight(curves) ? { curves: curves.right.curves } : {}),
    ...(curvesError ? { curvesError } : {}),
    ...(E.isRight(budgets) ? { profileBudgets: budgets.right } : {}),
    source: {
      profile: loaded.file ?? 'built-in default (core/data/default-profile.json)',
      synthetic: loaded.synthetic,
      ...(curveModel ? { curveModel, curveAssumption: CURVE_MODELS.find((c) => c.name === curveModel)!.assumption } : {}),
    },
  };
  return { ctx, flags, ...(curveModel ? { curveModel } : {}) };
};

/** A policy that needs curves on a profile without them: one line naming the missing information. */
export const noCurvesFailure = (ctx: PlanContext, policy: string, file?: string): CliFailure => {
  const e = ctx.curvesError;
  const first = e?.issues[0];
  return new CliFailure(
    hplbError('argument', [issue(first?.path ?? '$', `${first?.expected ?? 'recovery curves'} (--policy ${policy} needs recovery curves)`)], e?.file ?? file),
    2,
  );
};
