/**
 * `hplb plan`: the main job. With no arguments it plans the built-in SYNTHETIC Llama-3.1-8B-shaped profile on 8 GPUs
 * with max-min budgets at the default density, prints the comparison table
 *   contiguous + uniform | contiguous + max-min | LPT + max-min (the paper) | hplb (split heads + max-min + bubble-fill)
 * and writes plan.json (`hplb.plan/1` with `recovery` and `budgetPolicy`) and plan.svg (per-layer GPU timeline) into
 * the current directory (or --out-dir), atomically and byte-identically for the same inputs and seed.
 * With --profile F the budgets default to the profile's own (policy "profile"); --policy chooses them instead.
 * Engine-compatible planning (--engine-layout, --kv-copies, --context N:w,...) is delegated to cli/src/engine/plan-engine.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue } from '@hplb/core';
import { POLICY_NAMES, POLICIES_NEEDING_CURVES } from '@hplb/core';
import { parseArgs } from '../args.ts';
import { CliFailure, argumentError, orFail, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { ALL_FLAG_SPEC, PROFILE_FLAG_HELP, SOLVER_FLAG_HELP, loadProfile, noCurvesFailure, readPlanContext } from '../pipeline/context.ts';
import { DEFAULT_DENSITY, DEFAULT_P, DEFAULT_PLAN_EFFORT, PROFILE_PIPELINES, REFERENCE_PIPELINES, runPipeline, type BudgetChoice, type BudgetPolicy, type PipelineRun, type PipelineSpec } from '@hplb/planner';
import { comparisonTable, outputPaths, svgFor, writeOutputs } from '../pipeline/report.ts';

export const summary = 'plan budgets and head placement (no arguments: the default synthetic model on 8 GPUs, with charts)';

const USAGE = `Usage: hplb plan [--policy ${[...POLICY_NAMES, 'profile'].join('|')}] [--density D | --total-tokens B | --total-work W] [--p P]
                 [--profile F --format NAME] [--context N] [--gpus G] [solver flags] [--out plan.json | --out-dir D] [--json]

With no arguments: the built-in SYNTHETIC profile, 8 GPUs, max-min budgets at density ${DEFAULT_DENSITY}, the auto solver (with a
deterministic effort of ${DEFAULT_PLAN_EFFORT} search steps per layer) then split heads, then bubble-fill; prints the comparison
table and writes plan.json and plan.svg into the current directory. With an explicit --solver auto the same effort applies.

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

/** Per-layer solver budget when --time-limit is absent: split heads close what whole heads leave, so 0.25 s is plenty. */
const DEFAULT_TIME_LIMIT_MS = 250;

const withDefaultGpus = (argv: string[]): string[] => (argv.some((a) => a === '--gpus' || a.startsWith('--gpus=')) ? argv : [...argv, '--gpus', '8']);

export async function run(argv: string[], io: Io): Promise<number> {
  if (wantsEngine(argv)) return delegateToEngine(argv, io);
  const args = parseArgs(withDefaultGpus(argv), ALL_FLAG_SPEC({ values: ['policy', 'density', 'total-tokens', 'total-work', 'p', 'out', 'out-dir'], booleans: ['json', 'help', 'whole-heads'] }));
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw argumentError(args.positionals[0]!, 'flags only (hplb plan --help)');
  const density = args.number('density', (x) => x > 0 && x <= 1, 'a density in (0, 1] (the mean budget as a share of the context length)');
  const totalTokens = args.number('total-tokens', (x) => x > 0, 'a total number of tokens > 0');
  const totalWork = args.number('total-work', (x) => x > 0, 'a total work in token pairs > 0');
  if ([density, totalTokens, totalWork].filter((x) => x !== undefined).length > 1) throw argumentError('--total-tokens', 'one of --density, --total-tokens or --total-work, not several');
  const p = args.number('p', (x) => x > 0 && x <= 1, 'a recovery target p in (0, 1]');
  const loaded = loadProfile(args);
  const policy: BudgetPolicy = args.oneOf('policy', [...POLICY_NAMES, 'profile'] as const, loaded.file === undefined ? 'bubble-fill' : 'profile');
  const { ctx: base, flags } = readPlanContext(args, loaded, { timeLimitMs: DEFAULT_TIME_LIMIT_MS });
  if ((POLICIES_NEEDING_CURVES as ReadonlyArray<string>).includes(policy) && !base.curves) throw noCurvesFailure(base, policy, loaded.file);
  if (policy === 'profile' && !base.profileBudgets) throw argumentError('--policy', 'a budget policy: the profile states no budgets at this context length (e.g. top-p thresholds); use --policy with a curve profile');
  const choice: BudgetChoice = { ...(density !== undefined ? { density } : {}), ...(totalTokens !== undefined ? { totalTokens } : {}), ...(totalWork !== undefined ? { totalWork } : {}), ...(p !== undefined ? { p } : {}) };

  const replicate = base.constraints.kv === 'replicate';
  const split = flags.splitHeads !== undefined || (!args.flag('whole-heads') && !args.has('solver') && replicate && !base.constraints.equalHeadsPerDevice);
  // Without --solver the whole-head stage is the auto portfolio with a deterministic effort (search steps, not the
  // clock), so the written plan is byte-identical for the same inputs and seed; split heads / bubble-fill follow.
  const solver = args.has('solver') ? flags.solver : 'auto';
  const chosen: PipelineSpec = {
    name: `chosen: ${solver}${split ? ' + split' : ''} + ${policy}`,
    solver,
    splitHeads: split,
    policy,
    ...(solver === 'auto' ? { effort: DEFAULT_PLAN_EFFORT } : {}),
  };
  // Split heads need replicated KV and free head counts; without them hplb's row keeps whole heads (and says so).
  const canSplit = replicate && !base.constraints.equalHeadsPerDevice;
  const refs = (base.curves && policy !== 'profile' ? REFERENCE_PIPELINES : PROFILE_PIPELINES).map((r) =>
    r.splitHeads && !canSplit ? { ...r, splitHeads: false, name: r.name.replace('split heads', 'whole heads') } : r);
  const same = (a: PipelineSpec, b: PipelineSpec) => a.solver === b.solver && a.splitHeads === b.splitHeads && a.policy === b.policy;
  const specs: PipelineSpec[] = [...refs];
  let written = specs.findIndex((s) => same(s, chosen));
  if (written < 0) {
    specs.push(chosen);
    written = specs.length - 1;
  }

  const bar = progressBar(io, 'hplb plan');
  const runs: Array<PipelineRun | { name: string; error: string }> = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const r = await runPipeline({ ...base, onProgress: (d, t) => bar.update(i * t + d, specs.length * t, spec.name) }, spec, choice);
    if (E.isLeft(r)) {
      if (i === written) {
        bar.finish();
        throw new CliFailure(r.left, r.left.code === 'argument' ? 2 : 1);
      }
      runs.push({ name: spec.name, error: r.left.issues[0]?.expected ?? r.left.code });
    } else runs.push(r.right);
  }
  bar.finish();
  const mine = runs[written] as PipelineRun;
  const planJson = JSON.stringify(mine.plan, null, 2) + '\n';
  const svg = svgFor(base, mine, loaded.short, loaded.synthetic);
  const out = args.string('out');
  const outDir = args.string('out-dir');
  const paths = outputPaths(io.cwd, out, outDir);
  if (args.flag('json')) {
    io.out(planJson);
    if (out !== undefined || outDir !== undefined) writeOutputs(paths, planJson, svg);
    return 0;
  }
  writeOutputs(paths, planJson, svg);
  const d = base.devices.length;
  io.out(`hplb plan — ${loaded.label}\n`);
  if (loaded.synthetic) io.out('NOTE: SYNTHETIC profile (generated from head archetypes, not measured on a real model).\n');
  const budgetText = policy === 'profile' ? 'budgets as stated by the profile' : policy === 'top-p' ? `policy ${policy}, p = ${choice.p ?? DEFAULT_P}` : `policy ${policy}, ${totalTokens !== undefined ? `total ${totalTokens} tokens` : totalWork !== undefined ? `total work ${totalWork} token pairs` : `density ${density ?? DEFAULT_DENSITY}`}`;
  io.out(`N = ${base.contextLength}, ${d} GPU${d === 1 ? '' : 's'}, ${budgetText}, block ${base.blockSize}, cost ${base.costModel.name} (${base.costModel.unit})\n`);
  if (!base.curves) io.out(`recovery: n/a (${base.curvesError?.issues[0]?.expected ?? 'no curves'})\n`);
  io.out('\n' + comparisonTable(runs, written));
  io.out(`\n* written: ${paths.plan} and ${paths.svg}\n`);
  const traj = mine.trajectory;
  if (traj) io.out(`joint trajectory: ${traj.map((s) => `round ${s.round}: latency ${s.latency.toPrecision(5)}, min ${s.min.toFixed(4)}, mean ${s.mean.toFixed(4)}${s.accepted ? '' : ' (stop)'}`).join('; ')}\n`);
  const bf = mine.budgets?.details as { before?: { min: number; mean: number }; after?: { min: number; mean: number }; blocksAdded?: number } | undefined;
  if (policy === 'bubble-fill' && bf?.before && bf.after)
    io.out(`bubble-fill: +${bf.blocksAdded} blocks; recovery min ${bf.before.min.toFixed(4)} → ${bf.after.min.toFixed(4)}, mean ${bf.before.mean.toFixed(4)} → ${bf.after.mean.toFixed(4)}, at the same latency\n`);
  return 0;
}
