/**
 * `hplb plan`: the main job. With no arguments (or only --gpus / --out / --out-dir / --json) it plans the built-in
 * PUBLISHED profile — MInference's Llama-3.1-8B-Instruct budgets and recall (microsoft/MInference @ fb56c91, MIT) —
 * at N = 131072 on 8 GPUs (`mainJob` of hplb/node) and prints one table:
 *   [published] contiguous (engines today) | LPT (paper) | engine layout (equal heads, K/V copies) | hplb (split heads) *
 *   [modelled]  contiguous + uniform | contiguous + max-min | LPT + max-min (paper) | hplb (split + max-min + bubble-fill)
 * then writes plan.json (the [published] hplb plan) and plan.svg (the engines' contiguous split and hplb's plan side
 * by side on one time axis) into the current directory (or --out-dir), atomically and byte-identically.
 * Otherwise flags → options → `comparePipelines`: --profile F|published|synthetic; with a profile's own budgets the
 * policy defaults to "profile"; --policy chooses them instead (the synthetic curve profile defaults to bubble-fill).
 * Engine-compatible planning (--engine-layout, --kv-copies, --context N:w,...) is delegated to cli/src/engine/plan-engine.ts.
 */
import { hplbError, issue, POLICY_NAMES, DEFAULT_DENSITY, DEFAULT_P, DEFAULT_PLAN_EFFORT, renderComparisonSvg, serializePlan, servingFrontierSvg, servingHeader, servingRegime, type ComparisonTableRow, type BudgetPolicy, type Plan, type PlanOptions } from 'hplb';
import { comparePipelines, mainJob } from 'hplb/node';
import { parseArgs } from '../args.ts';
import { CliFailure, argumentError, refuseOverwritingInputs, type Io, type PathArg } from '../io.ts';
import { progressBar } from '../progress.ts';
import { ALL_FLAG_SPEC, PROFILE_FLAG_HELP, SOLVER_FLAG_HELP, flagText, orFailFlags, readProfile, readServingOptions, readSettingsOptions } from '../planFlags.ts';
import { previousFile } from '../solverFlags.ts';
import { comparisonTable, frontierPath, outputPaths, writeOutputs } from '../pipeline/report.ts';

export const summary = 'plan budgets and head placement (no arguments: the published MInference Llama-3.1-8B-Instruct profile on 8 GPUs, with charts)';

const USAGE = `Usage: hplb plan [--policy ${[...POLICY_NAMES, 'profile'].join('|')}] [--density D | --total-tokens B | --total-work W] [--p P]
                 [--profile F --format NAME] [--context N] [--gpus G] [solver flags] [--out plan.json | --out-dir D] [--json]

With no arguments: the built-in PUBLISHED profile (MInference's Llama-3.1-8B-Instruct budgets and recall, MIT) at N = 131072 on
8 GPUs. [published] rows place the published budgets (contiguous as engines do today, LPT as the paper does, the
engine-deployable layout with K/V copies, hplb's split heads with the auto solver at a deterministic effort of
${DEFAULT_PLAN_EFFORT} search steps per layer); [modelled] rows spend the same total tokens with uniform, max-min and
bubble-fill budgets on recovery curves modelled through each head's published (budget, recall) point. Writes plan.json
(the [published] hplb plan) and plan.svg (the contiguous split and hplb's plan on one time axis) into the current
directory. --profile synthetic plans the built-in SYNTHETIC curve profile (max-min + bubble-fill at density ${DEFAULT_DENSITY}).

  --policy P               uniform (one k for all heads), top-p (smallest budget reaching mass p), max-min (raise the worst
                           head's recovery within the total), bubble-fill (max-min, then fill idle GPU time after placement),
                           joint (alternate max-min and placement), profile (the budgets the profile states; default with --profile)
  --density D              mean budget as a share of N, in (0, 1] (default ${DEFAULT_DENSITY})
  --total-tokens B         total tokens over all heads instead of a density (at least one block per head)
  --total-work W           total causal-prefill work Σ W(b,N) in token pairs instead (at least one block per head)
  --p P                    top-p target in (0, 1] (default ${DEFAULT_P})
  --whole-heads            do not split heads in the written plan (default: split unless --solver, --kv group or --equal-heads)
  --out F | --out-dir D    where plan.json and plan.svg go (default: the current directory)
  --json                   print the plan as JSON instead of the table (files are written only with --out/--out-dir)
  --engine-layout, --kv-copies r|auto, --context N1:w1,...   engine-compatible planning (see hplb plan --engine-layout --help)
${PROFILE_FLAG_HELP}${SOLVER_FLAG_HELP}`;

/** Engine-compatible planning lives in its own module: delegate when its flags appear. */
const wantsEngine = (argv: ReadonlyArray<string>): boolean =>
  argv.some((a, i) =>
    a === '--engine-layout' || a === '--kv-copies' || a.startsWith('--kv-copies=') ||
    (a === '--context' && (argv[i + 1] ?? '').includes(':')) || (a.startsWith('--context=') && a.slice(10).includes(':')));

const delegateToEngine = async (argv: string[], io: Io): Promise<number> => {
  let mod: { runEnginePlan?: (argv: string[], io: Io) => Promise<number> };
  try {
    mod = (await import('../engine/plan-engine.ts')) as typeof mod;
  } catch (e) {
    throw new CliFailure(hplbError('internal', [issue('--engine-layout', 'the engine-layout planner (cli/src/engine/plan-engine.ts) to be installed', e instanceof Error ? e.message.split('\n')[0] : String(e))]), 1);
  }
  if (typeof mod.runEnginePlan !== 'function') throw new CliFailure(hplbError('internal', [issue('--engine-layout', 'cli/src/engine/plan-engine.ts to export runEnginePlan')]), 1);
  return mod.runEnginePlan(argv, io);
};


/** Flags the main job takes; any other flag plans with the general path. */
const MAIN_JOB_FLAGS = new Set(['gpus', 'out', 'out-dir', 'json', 'workload', 'output-tokens', 'batch', 'hardware', 'hardware-set', 'attention-only']);

/** The files `hplb plan` reads, by flag (the built-in profiles `published` and `synthetic` are no files). */
const planInputs = (args: ReturnType<typeof parseArgs>): PathArg[] => {
  const profile = args.string('profile');
  return [
    ...(profile !== undefined && profile !== 'published' && profile !== 'synthetic' ? [{ flag: '--profile', path: profile }] : []),
    ...(['model-config', 'calibration', 'previous'] as const).flatMap((f) => { const path = args.string(f); return path !== undefined ? [{ flag: `--${f}`, path }] : []; }),
  ];
};

/**
 * Where plan.json, plan.svg and plan-frontier.svg will go (null with --json and neither --out nor --out-dir: nothing
 * is written), checked before any work: an output that is, contains or lies inside a file the plan reads is refused.
 */
const planOutputPaths = (args: ReturnType<typeof parseArgs>, io: Io): { plan: string; svg: string } | null => {
  const out = args.string('out');
  const outDir = args.string('out-dir');
  if (args.flag('json') && out === undefined && outDir === undefined) return null;
  const paths = outputPaths(io.cwd, out, outDir);
  const flag = out !== undefined || outDir === undefined ? '--out' : '--out-dir';
  refuseOverwritingInputs(io.cwd, [paths.plan, paths.svg, frontierPath(paths)].map((path) => ({ flag, path })), planInputs(args));
  return paths;
};

/**
 * plan.json (serialized by the library's `serializePlan`, the bytes the browser page gives too), plan.svg and
 * plan-frontier.svg, to the paths `planOutputPaths` checked: with --json the plan goes to stdout (and to files only
 * when --out / --out-dir ask) and null is returned; otherwise the files are written atomically, as one set, and
 * their paths returned.
 */
const writePlanFiles = (args: ReturnType<typeof parseArgs>, io: Io, paths: { plan: string; svg: string } | null, plan: Plan, svg: string, frontier?: string): { plan: string; svg: string } | null => {
  const planJson = serializePlan(plan);
  if (args.flag('json')) {
    io.out(planJson);
    if (paths !== null) writeOutputs(paths, planJson, svg, frontier);
    return null;
  }
  if (paths === null) return null;
  writeOutputs(paths, planJson, svg, frontier);
  return paths;
};

/** The main job: the published default profile, the [published] and [modelled] rows, the before/after chart. */
const runMainJob = async (args: ReturnType<typeof parseArgs>, io: Io): Promise<number> => {
  const gpus = args.int('gpus', (x) => x >= 1, 'a number of GPUs ≥ 1');
  const outputs = planOutputPaths(args, io);
  const bar = progressBar(io, 'hplb plan');
  const job = orFailFlags(await mainJob({ ...(gpus !== undefined ? { gpus } : {}), ...readServingOptions(args), onProgress: (d, t, name) => bar.update(d, t, name) }).finally(() => bar.finish()));
  const mine = job.outcome;
  const paths = writePlanFiles(args, io, outputs, mine.plan, renderComparisonSvg(job), servingFrontierSvg(tableRows(job.rows, job.chosen), job.chosen));
  if (paths === null) return 0;
  const base = mine.settings;
  const d = base.devices.length;
  io.out(`hplb plan — ${job.profile.label}\n`);
  io.out(`N = ${base.contextLength}, ${d} GPU${d === 1 ? '' : 's'}, block ${base.blockSize}, cost ${base.costModel.name} (${base.costModel.unit}); ${job.totalTokens} tokens per query over all heads\n`);
  servingLines(io, mine.plan, job.rows, job.chosen, 'before');
  io.out('\n' + comparisonTable(job.rows, job.chosen));
  servingLines(io, mine.plan, job.rows, job.chosen, 'after');
  io.out(`\n* written: ${paths.plan} and ${paths.svg} (before/after: the engines' contiguous split and hplb's plan on one time axis)\n`);
  if (mine.plan.serving) io.out(`frontier: ${frontierPath(paths)} (every row's prefill against decode per token, disc area = KV on the busiest GPU)\n`);
  for (const n of job.notes) io.out(`${n}\n`);
  if (!('rows' in job.modelled)) io.out(`[modelled] rows not run: ${flagText(job.modelled.issues[0]?.expected ?? job.modelled.code)}\n`);
  io.out('other profiles: --profile FILE (--model NAME or --model-config config.json for its shape); --profile synthetic for the curve-based policies on a synthetic curve profile\n');
  return 0;
};

/** The serving header (what the figures are: modelled, on which hardware) before the table, the regime line after. */
const servingLines = (io: Io, plan: Plan, rows: Parameters<typeof comparisonTable>[0], chosen: number, where: 'before' | 'after'): void => {
  if (where === 'before') {
    const h = servingHeader(plan);
    if (h) io.out(`${h}\n`);
    return;
  }
  const line = servingRegime(tableRows(rows, chosen), chosen);
  if (line) io.out(`${line}\n`);
};

/** Comparison rows as the library's table rows (failed rows keep their names). */
const tableRows = (rows: Parameters<typeof comparisonTable>[0], chosen: number): ComparisonTableRow[] =>
  rows.map((r, i) => (r.ok ? { ok: true as const, name: r.name, run: r.run, chosen: i === chosen } : { ok: false as const, name: r.name, error: '', chosen: i === chosen }));

export async function run(argv: string[], io: Io): Promise<number> {
  if (wantsEngine(argv)) return delegateToEngine(argv, io);
  const args = parseArgs(argv, ALL_FLAG_SPEC({ values: ['policy', 'density', 'total-tokens', 'total-work', 'p', 'out', 'out-dir'], booleans: ['json', 'help', 'whole-heads'] }));
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw argumentError(args.positionals[0]!, 'flags only (hplb plan --help)');
  const density = args.number('density', (x) => x > 0 && x <= 1, 'a density in (0, 1] (the mean budget as a share of the context length)');
  const totalTokens = args.number('total-tokens', (x) => x > 0, 'a total number of tokens > 0');
  const totalWork = args.number('total-work', (x) => x > 0, 'a total work in token pairs > 0');
  const p = args.number('p', (x) => x > 0 && x <= 1, 'a recovery target p in (0, 1]');
  // No profile, no budget or solver flags: the main job.
  if (argv.filter((a) => a.startsWith('--')).every((a) => MAIN_JOB_FLAGS.has(a.slice(2).split('=')[0]!))) return runMainJob(args, io);
  const outputs = planOutputPaths(args, io);
  const loaded = readProfile(args);
  // With --profile the budgets default to the profile's own (policy "profile"); the library's default is bubble-fill.
  // The built-in published profile with --density / --total-tokens / --total-work / --p: budgets chosen by bubble-fill.
  const chooses = density !== undefined || totalTokens !== undefined || totalWork !== undefined || p !== undefined;
  const policy: BudgetPolicy = args.oneOf('policy', [...POLICY_NAMES, 'profile'] as const, loaded.file === undefined || (loaded.builtIn && chooses) ? 'bubble-fill' : 'profile');
  const settings = readSettingsOptions(args, { optionalGpus: true });
  const options: PlanOptions = {
    ...settings,
    policy,
    // --whole-heads keeps whole heads unless split-head flags say otherwise; absent, the library's default applies.
    ...(settings.splitHeads === undefined && args.flag('whole-heads') ? { splitHeads: false } : {}),
    ...(density !== undefined ? { density } : {}),
    ...(totalTokens !== undefined ? { totalTokens } : {}),
    ...(totalWork !== undefined ? { totalWork } : {}),
    ...(p !== undefined ? { p } : {}),
  };
  const bar = progressBar(io, 'hplb plan');
  const cmp = orFailFlags(await comparePipelines(loaded, { ...options, onProgress: (d, t, name) => bar.update(d, t, name) }).finally(() => bar.finish()), { previous: previousFile(args) });
  const mine = cmp.outcome;
  const paths = writePlanFiles(args, io, outputs, mine.plan, renderComparisonSvg(cmp), servingFrontierSvg(tableRows(cmp.rows, cmp.chosen), cmp.chosen));
  if (paths === null) return 0;
  const base = cmp.settings;
  const choice = cmp.choice;
  const d = base.devices.length;
  io.out(`hplb plan — ${loaded.label}\n`);
  if (loaded.synthetic) io.out('NOTE: SYNTHETIC profile (generated from head archetypes, not measured on a real model).\n');
  const budgetText = policy === 'profile' ? 'budgets as stated by the profile' : policy === 'top-p' ? `policy ${policy}, p = ${choice.p ?? DEFAULT_P}` : `policy ${policy}, ${totalTokens !== undefined ? `total ${totalTokens} tokens` : totalWork !== undefined ? `total work ${totalWork} token pairs` : `density ${density ?? DEFAULT_DENSITY}`}`;
  io.out(`N = ${base.contextLength}, ${d} GPU${d === 1 ? '' : 's'}, ${budgetText}, block ${base.blockSize}, cost ${base.costModel.name} (${base.costModel.unit})\n`);
  if (!base.curves) io.out(`recovery: n/a (${flagText(base.curvesError?.issues[0]?.expected ?? 'no curves')})\n`);
  servingLines(io, mine.plan, cmp.rows, cmp.chosen, 'before');
  io.out('\n' + comparisonTable(cmp.rows, cmp.chosen));
  servingLines(io, mine.plan, cmp.rows, cmp.chosen, 'after');
  io.out(`\n* written: ${paths.plan} and ${paths.svg}\n`);
  if (mine.plan.serving) io.out(`frontier: ${frontierPath(paths)} (every row's prefill against decode per token, disc area = KV on the busiest GPU)\n`);
  const traj = mine.trajectory;
  if (traj) io.out(`joint trajectory: ${traj.map((s) => `round ${s.round}: latency ${s.latency.toPrecision(5)}, min ${s.min.toFixed(4)}, mean ${s.mean.toFixed(4)}${s.accepted ? '' : ' (stop)'}`).join('; ')}\n`);
  const bf = mine.budgets?.details as { before?: { min: number; mean: number }; after?: { min: number; mean: number }; blocksAdded?: number } | undefined;
  if (policy === 'bubble-fill' && bf?.before && bf.after)
    io.out(`bubble-fill: +${bf.blocksAdded} blocks; recovery min ${bf.before.min.toFixed(4)} → ${bf.after.min.toFixed(4)}, mean ${bf.before.mean.toFixed(4)} → ${bf.after.mean.toFixed(4)}, at the same latency\n`);
  return 0;
}
