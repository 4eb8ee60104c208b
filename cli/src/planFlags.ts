/**
 * The flags of `hplb plan` / `hplb pareto` / `hplb inspect` and the one table that maps the library's option paths
 * back to them. The library (`hplb`) names options by JSON path (`$.gpus`, `$.constraints.equalHeadsPerDevice`) and
 * writes option values in its messages as `$.gpus = 3`; `PLAN_FLAGS` turns those into `--gpus` and `--gpus 3`, so
 * the CLI's messages name its flags exactly as before.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PROFILE_FORMATS, builtinLoadedProfile, isProfileFormat, publishedLoadedProfile, syntheticLoadedProfile, COST_MODEL_NAMES, DEFAULT_BLOCK_SIZE, DEFAULT_HARDWARE, DEFAULT_WORKLOAD, HARDWARE_NAMES, WORKLOAD_MODES, hplbError, issue, type HplbError, type LoadedProfile, type LoadProfileOptions, type SettingsOptions } from 'hplb';
import { loadProfile as loadProfileNode } from 'hplb/node';
import type { Args } from './args.ts';
import { CliFailure, argumentError } from './io.ts';
import { SOLVER_FLAG_HELP, SOLVER_FLAG_SPEC, readCalibration, readSolverOptions } from './solverFlags.ts';

/** Library option path → the flag that sets it. Paths match exactly; the same pairs rewrite `path = v` in messages. */
export const PLAN_FLAGS: ReadonlyArray<readonly [path: string, flag: string]> = [
  ['$.gpus', '--gpus'],
  ['$.speeds', '--speeds'],
  ['$.memoryGb', '--memory-gb'],
  ['$.constraints.equalHeadsPerDevice', '--equal-heads'],
  ['$.constraints.kv', '--kv'],
  ['$.kvReplicationCapBytes', '--kv-cap-gb'],
  ['$.solver', '--solver'],
  ['$.timeLimitMs', '--time-limit'],
  ['$.seed', '--seed'],
  ['$.splitHeads.maxSplits', '--max-splits'],
  ['$.splitHeads.minRows', '--min-rows'],
  ['$.density', '--density'],
  ['$.totalTokens', '--total-tokens'],
  ['$.totalWork', '--total-work'],
  ['$.p', '--p'],
  ['$.policy', '--policy'],
  ['$.profile', '--profile'],
  ['$.format', '--format'],
  ['$.modelConfig', '--model-config'],
  ['$.model', '--model'],
  ['$.contextLength', '--context'],
  ['$.blockSize', '--block'],
  ['$.kvBytesPerElement', '--kv-bytes'],
  ['$.costModel', '--cost-model'],
  ['$.linkGbps', '--link-gbps'],
  ['$.migrationWeight', '--migration-weight'],
  ['$.spanRecovery', '--span-recovery'],
  ['$.sparsity', '--sparsity'],
  ['$.threshold', '--threshold'],
  ['$.table', '--table'],
  ['$.sinkTokens', '--sink'],
  ['$.recentTokens', '--recent'],
  ['$.recoveryTarget', '--recovery'],
  ['$.curves', '--curves'],
  ['$.workload.mode', '--workload'],
  ['$.workload.outputTokens', '--output-tokens'],
  ['$.workload.batch', '--batch'],
  ['$.workload', '--workload'],
  ['$.hardware', '--hardware'],
  ['$.modelDims.hiddenSize', '--hidden-size'],
  ['$.modelDims.intermediateSize', '--intermediate-size'],
  ['$.modelDims', '--hidden-size/--intermediate-size'],
  ['$.serving = false', '--attention-only'],
];

/** Whole phrases whose CLI wording is not a path-for-flag swap. */
const PHRASES: ReadonlyArray<readonly [string, string]> = [
  ['$.costModel = cuda-h100|cpu or a calibrated cost model', '--cost-model cuda-h100|cpu or --calibration F'],
  ['the model option given', 'the --model given'],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const RULES = PLAN_FLAGS.map(([path, flag]) => ({ path, flag, re: new RegExp(`${escape(path)}(?![\\w.\\[])( = )?`, 'g') }));

/** Whole phrases of the library's wording that name options → the CLI's wording (safe in any message). */
const phraseText = (s: string): string => PHRASES.reduce((t, [from, to]) => t.split(from).join(to), s);

/** Rewrite option paths in a message: `$.gpus = 3` → `--gpus 3`, `$.gpus` → `--gpus`. */
export const flagText = (s: string): string => {
  let out = phraseText(s);
  for (const r of RULES) out = out.replace(r.re, (_m, eq?: string) => (eq ? `${r.flag} ` : r.flag));
  return out;
};

/**
 * A library error as the CLI's failure: option paths become flags (in the path, the expected text and the actual
 * value) in errors about options (codes argument and infeasible). An error about the previous plan (`$.previous.X`) names that file and its path `$.X`. Exit code: usage
 * errors (`argument`) 2, everything else 1, unless `exitCode` says.
 */
export const planFailure = (e: HplbError, ctx: { previous?: string | undefined; exitCode?: number } = {}): CliFailure => {
  let file = e.file;
  // Only errors about options are rewritten: a decode error inside a file (e.g. an hplb profile's `$.format` or
  // `$.contextLength`) keeps its JSON path.
  const aboutOptions = e.code === 'argument' || e.code === 'infeasible';
  const issues = e.issues.map((i) => {
    if (ctx.previous !== undefined && i.path.startsWith('$.previous.')) {
      file = ctx.previous;
      return { ...i, path: `$.${i.path.slice('$.previous.'.length)}`, expected: flagText(i.expected), ...(i.actual !== undefined ? { actual: flagText(i.actual) } : {}) };
    }
    if (!aboutOptions) return { ...i, expected: phraseText(i.expected) };
    const rule = RULES.find((r) => r.path === i.path);
    return { ...i, path: rule ? rule.flag : i.path, expected: flagText(i.expected), ...(i.actual !== undefined ? { actual: flagText(i.actual) } : {}) };
  });
  const mapped: HplbError = file === undefined ? { code: e.code, issues } : { code: e.code, issues, file };
  return new CliFailure(mapped, ctx.exitCode ?? (e.code === 'argument' ? 2 : 1));
};

/** Unwrap a library result, naming flags (see `planFailure`). */
export const orFailFlags = <A>(r: E.Either<HplbError, A>, ctx: { previous?: string | undefined; exitCode?: number } = {}): A => {
  if (E.isLeft(r)) throw planFailure(r.left, ctx);
  return r.right;
};

// ---------------------------------------------------------------- profile flags

/** Flags the profile side reads (besides the [solvers] flags). */
export const PROFILE_FLAG_SPEC = {
  values: ['profile', 'format', 'context', 'model', 'model-config', 'sparsity', 'threshold', 'table', 'span-recovery', 'block', 'kv-bytes', 'cost-model', 'link-gbps',
    'workload', 'output-tokens', 'batch', 'hardware', 'hardware-set', 'hidden-size', 'intermediate-size'],
  booleans: ['attention-only'] as string[],
};

export const PROFILE_FLAG_HELP = `  --profile F              a profile file, or \`published\` (the default: MInference's published Llama-3.1-8B-Instruct
                           budgets and recall, built in) or \`synthetic\` (the built-in SYNTHETIC curve profile)
  --format NAME            ${PROFILE_FORMATS.join('|')} (default: detected from the file)
  --model NAME             the model, when the file name does not say (e.g. Llama-3.1-8B-Instruct; any case)
  --model-config F         the model's Hugging Face config.json: plans any model (its shape; max_position_embeddings
                           is the default --context), checked against the profile's own layers and heads
  --context N              context length (default: the profile's, else 131072)
  --sparsity S | --threshold T   DuoAttention: which KV heads stream
  --table NAME             XAttention threshold table (default max)
  --span-recovery R        MoA: the recovery assumed at each head's span (MoA publishes none)
  --block B                budget block size in tokens (default ${DEFAULT_BLOCK_SIZE})
  --kv-bytes B             bytes per KV element (default 2)
  --cost-model NAME        a named cost setting: ${COST_MODEL_NAMES.join('|')} (seconds for the device defaults,
                           documented in docs/budgets.md; not with --cost or --calibration)
  --link-gbps X            KV-copy communication term: replicated KV bytes / (X GB/s), charged per layer (seconds models)
serving step (every row priced as a whole TP step; the written plan is the best by the workload's objective):
  --workload colocated|prefill   colocated (default): request = prefill + T × decode step; prefill: disaggregated
                           prefill instances (decode runs elsewhere), objective = prefill
  --output-tokens T        output tokens per request (default ${DEFAULT_WORKLOAD.outputTokens})
  --batch B                concurrent sequences (default ${DEFAULT_WORKLOAD.batch}): decode reads and KV memory
  --hardware NAME          ${HARDWARE_NAMES.join('|')} (default ${DEFAULT_HARDWARE}); --calibration F's "hardware" block
                           and --hardware-set key=value,... (e.g. hbmBytesPerSecond=3e12) override its numbers
  --hidden-size H, --intermediate-size I   the model's sizes where neither the registry nor config.json states them
  --attention-only         plan and report attention alone, as before the serving model (no serving block)
`;

export const ALL_FLAG_SPEC = (own: { values: string[]; booleans: string[] }) => ({
  values: [...own.values, ...PROFILE_FLAG_SPEC.values, ...SOLVER_FLAG_SPEC.values],
  booleans: [...own.booleans, ...PROFILE_FLAG_SPEC.booleans, ...SOLVER_FLAG_SPEC.booleans],
});
export { SOLVER_FLAG_HELP };

/** The profile --profile names (read through `hplb/node`'s loadProfile), or the built-in default. */
export const readProfile = (args: Args): LoadedProfile => {
  const file = args.string('profile');
  if (file === undefined) {
    if (args.has('model-config')) throw argumentError('--model-config', 'a profile file to check it against (--profile F): the built-in default states its own model', args.string('model-config'));
    return builtinLoadedProfile();
  }
  // The built-in profiles by name: the published default, and the SYNTHETIC curve profile for the curve policies.
  if (file === 'synthetic' || file === 'published') {
    if (args.has('model-config')) throw argumentError('--model-config', `a profile file to check it against: the built-in ${file} profile states its own model`, args.string('model-config'));
    return file === 'synthetic' ? syntheticLoadedProfile() : publishedLoadedProfile();
  }
  const sparsity = args.number('sparsity', (x) => x >= 0 && x <= 1, 'a sparsity in [0, 1]');
  const threshold = args.number('threshold');
  const ctx = args.int('context', (x) => x >= 1, 'a context length ≥ 1 token');
  const options: LoadProfileOptions = {
    ...(args.string('format') !== undefined ? { format: args.string('format')! } : {}),
    ...(args.string('model') !== undefined ? { model: args.string('model')! } : {}),
    ...(args.string('model-config') !== undefined ? { modelConfig: args.string('model-config')! } : {}),
    ...(sparsity !== undefined ? { sparsity } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(args.string('table') !== undefined ? { table: args.string('table')! } : {}),
    ...(ctx !== undefined ? { contextLength: ctx } : {}),
  };
  const format = args.string('format');
  // An unknown --format names the flag and the file, as the importers' `format` errors name the file.
  if (format !== undefined && !isProfileFormat(format)) throw new CliFailure(hplbError('format', [issue('--format', `one of ${PROFILE_FORMATS.join('|')}`, format)], file), 1);
  const r = loadProfileNode(file, options);
  // An undetectable format is a usage error (exit 2); what the importers find in the file exits 1.
  return orFailFlags(r, { exitCode: E.isLeft(r) && r.left.issues[0]?.path === '$.format' ? 2 : 1 });
};

/** Every settings flag as library options (flag syntax checked here, meaning by the library). */
export const readSettingsOptions = (args: Args, defaults: { timeLimitMs?: number; defaultGpus?: number; optionalGpus?: boolean } = {}): SettingsOptions & { readonly solver?: ReturnType<typeof readSolverOptions>['solver'] } => {
  const contextLength = args.int('context', (x) => x >= 1, 'a context length ≥ 1 token');
  const blockSize = args.int('block', (x) => x >= 1, 'a block size ≥ 1 token');
  const kvBytes = args.int('kv-bytes', (x) => x >= 1, 'bytes per KV element ≥ 1');
  const spanRecovery = args.number('span-recovery', (x) => x > 0 && x <= 1, 'a recovery in (0, 1]');
  const named = args.string('cost-model');
  if (named !== undefined && (args.has('cost') || args.has('calibration'))) throw argumentError('--cost-model', 'either --cost-model or --cost/--calibration, not both', named);
  const linkGbps = args.number('link-gbps', (x) => x > 0, 'a link bandwidth in GB/s > 0');
  const solver = readSolverOptions(args, defaults);
  const serving = readServingOptions(args);
  return {
    ...solver,
    ...serving,
    ...(named !== undefined ? { costModel: named } : {}),
    ...(linkGbps !== undefined ? { linkGbps } : {}),
    ...(contextLength !== undefined ? { contextLength } : {}),
    ...(blockSize !== undefined ? { blockSize } : {}),
    ...(kvBytes !== undefined ? { kvBytesPerElement: kvBytes } : {}),
    ...(spanRecovery !== undefined ? { spanRecovery } : {}),
  };
};

/** The serving-step flags as library options: only what the user typed (the library states every default). */
export const readServingOptions = (args: Args): Pick<SettingsOptions, 'serving' | 'workload' | 'hardware' | 'modelDims'> => {
  const mode = args.has('workload') ? args.oneOf('workload', WORKLOAD_MODES, DEFAULT_WORKLOAD.mode) : undefined;
  const outputTokens = args.int('output-tokens', (x) => x >= 0, 'a whole number of output tokens ≥ 0');
  const batch = args.int('batch', (x) => x >= 1, 'a whole number of concurrent sequences ≥ 1');
  const name = args.string('hardware');
  const overrides: Record<string, number> = {};
  const file = args.string('calibration');
  if (file !== undefined) Object.assign(overrides, readCalibration(args, file).hardware ?? {});
  const set = args.string('hardware-set');
  if (set !== undefined)
    for (const kv of set.split(',').filter(Boolean)) {
      const [k, v] = kv.split('=');
      const x = Number(v);
      if (!k || v === undefined || !Number.isFinite(x)) throw argumentError('--hardware-set', 'key=value pairs with numbers, e.g. hbmBytesPerSecond=3e12,memoryBytes=80e9', kv);
      overrides[k.trim()] = x;
    }
  const hidden = args.int('hidden-size', (x) => x >= 1, 'a hidden size ≥ 1');
  const inter = args.int('intermediate-size', (x) => x >= 1, 'an MLP intermediate size ≥ 1');
  const workload = { ...(mode !== undefined ? { mode } : {}), ...(outputTokens !== undefined ? { outputTokens } : {}), ...(batch !== undefined ? { batch } : {}) };
  const hasOverrides = Object.keys(overrides).length > 0;
  return {
    ...(args.flag('attention-only') ? { serving: false } : {}),
    ...(Object.keys(workload).length > 0 ? { workload } : {}),
    ...(name !== undefined || hasOverrides ? { hardware: hasOverrides ? { ...(name !== undefined ? { name } : {}), ...overrides } : name! } : {}),
    ...(hidden !== undefined || inter !== undefined ? { modelDims: { ...(hidden !== undefined ? { hiddenSize: hidden } : {}), ...(inter !== undefined ? { intermediateSize: inter } : {}) } } : {}),
  };
};
