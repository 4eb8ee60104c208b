/**
 * `hplb pareto`: the paper's accuracy–latency figure for the user's own model. Sweeps the budget density for each
 * pipeline — contiguous + uniform, LPT + top-p (swept over p), LPT + max-min, hplb (split heads + max-min +
 * bubble-fill) — simulates each point, prints the table and writes pareto.svg (latency against minimum and mean
 * recovery, skyline marked). Needs recovery curves (the built-in SYNTHETIC profile by default).
 */
import * as E from 'fp-ts/lib/Either.js';
import { writeFileAtomic } from '@hplb/core/node';
import { join } from 'node:path';
import { parseArgs } from '../args.ts';
import { CliFailure, argumentError, orFail, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { ALL_FLAG_SPEC, PROFILE_FLAG_HELP, SOLVER_FLAG_HELP, loadProfile, noCurvesFailure, readPlanContext } from '../pipeline/context.ts';
import { DEFAULT_PLAN_EFFORT, runPipeline, type PipelineSpec } from '@hplb/planner';
import { renderPareto, skyline, type ParetoSeries } from '@hplb/planner';
import { displayUnit } from '@hplb/planner';

export const summary = 'sweep budget densities per pipeline and chart latency against recovery (pareto.svg)';

export const DEFAULT_DENSITIES = [0.01, 0.02, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5];
export const DEFAULT_PS = [0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98];

const USAGE = `Usage: hplb pareto [--densities d1,d2,...] [--ps p1,p2,...] [--profile F ...] [--gpus G] [solver flags]
                   [--out pareto.svg | --out-dir D] [--json]

  --densities   budget densities in (0, 1] for the uniform, max-min and hplb pipelines (default ${DEFAULT_DENSITIES.join(',')})
  --ps          top-p targets in (0, 1] for the LPT + top-p pipeline (default ${DEFAULT_PS.join(',')})
  --out F       the chart (default ./pareto.svg); --out-dir D puts pareto.svg in D
  --json        print the points as JSON
${PROFILE_FLAG_HELP}${SOLVER_FLAG_HELP}`;

export const PARETO_PIPELINES: ReadonlyArray<PipelineSpec & { readonly sweep: 'density' | 'p' }> = [
  { name: 'contiguous + uniform', solver: 'contiguous', splitHeads: false, policy: 'uniform', sweep: 'density' },
  { name: 'LPT + top-p', solver: 'lpt', splitHeads: false, policy: 'top-p', sweep: 'p' },
  { name: 'LPT + max-min (paper)', solver: 'lpt', splitHeads: false, policy: 'max-min', sweep: 'density' },
  { name: 'hplb (split + max-min + bubble-fill)', solver: 'auto', splitHeads: true, policy: 'bubble-fill', effort: DEFAULT_PLAN_EFFORT, sweep: 'density' },
];

export async function run(argv: string[], io: Io): Promise<number> {
  const withGpus = argv.some((a) => a === '--gpus' || a.startsWith('--gpus=')) ? argv : [...argv, '--gpus', '8'];
  const args = parseArgs(withGpus, ALL_FLAG_SPEC({ values: ['densities', 'ps', 'out', 'out-dir'], booleans: ['json', 'help'] }));
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw argumentError(args.positionals[0]!, 'flags only (hplb pareto --help)');
  const densities = args.numberList('densities', (x) => x > 0 && x <= 1, 'a comma-separated list of densities in (0, 1]') ?? DEFAULT_DENSITIES;
  const ps = args.numberList('ps', (x) => x > 0 && x <= 1, 'a comma-separated list of top-p targets in (0, 1]') ?? DEFAULT_PS;
  const loaded = loadProfile(args);
  const { ctx } = readPlanContext(args, loaded, { timeLimitMs: 250 });
  if (!ctx.curves) throw noCurvesFailure(ctx, 'max-min/top-p (hplb pareto)', loaded.file);
  const replicate = ctx.constraints.kv === 'replicate' && !ctx.constraints.equalHeadsPerDevice;
  const pipelines = PARETO_PIPELINES.filter((p) => replicate || !p.splitHeads);
  const total = pipelines.reduce((a, p) => a + (p.sweep === 'p' ? ps.length : densities.length), 0);
  const bar = progressBar(io, 'hplb pareto');
  let done = 0;
  const heads = ctx.model.layers * ctx.model.queryHeads;
  const series: ParetoSeries[] = [];
  for (const spec of pipelines) {
    const points = [];
    for (const x of spec.sweep === 'p' ? ps : densities) {
      const r = await runPipeline(ctx, spec, spec.sweep === 'p' ? { p: x } : { density: x });
      bar.update(++done, total, spec.name);
      if (E.isLeft(r)) {
        bar.finish();
        throw new CliFailure(r.left, r.left.code === 'argument' ? 2 : 1);
      }
      const tokens = r.right.plan.budgets.reduce((a, row) => a + row.reduce((s, b) => s + b, 0), 0);
      points.push({ density: Math.round((tokens / (heads * ctx.contextLength)) * 1e6) / 1e6, latency: r.right.sim.latency, min: r.right.recovery!.min, mean: r.right.recovery!.mean, ...(spec.sweep === 'p' ? { p: x } : {}) });
    }
    series.push({ name: spec.name, points });
  }
  bar.finish();
  const unit = ctx.costModel.unit;
  const svg = renderPareto(series, {
    title: `hplb pareto: attention latency vs recovery`,
    subtitle: `${loaded.short} · N = ${ctx.contextLength} · ${ctx.devices.length} GPUs · cost ${ctx.costModel.name}`,
    unit,
    synthetic: loaded.synthetic,
  });
  const out = args.string('out');
  const outDir = args.string('out-dir');
  const path = out !== undefined ? (out.startsWith('/') ? out : join(io.cwd, out)) : join(outDir === undefined ? io.cwd : outDir.startsWith('/') ? outDir : join(io.cwd, outDir), 'pareto.svg');
  if (args.flag('json')) {
    io.out(JSON.stringify({ format: 'hplb.pareto/1', unit, synthetic: loaded.synthetic, series }, null, 2) + '\n');
    if (out !== undefined || outDir !== undefined) orFail(writeFileAtomic(path, svg));
    return 0;
  }
  orFail(writeFileAtomic(path, svg));
  const ref = Math.max(...series.flatMap((s) => s.points.map((p) => p.latency)));
  const { factor, label } = displayUnit(unit, ref);
  io.out(`hplb pareto — ${loaded.label}\n`);
  if (loaded.synthetic) io.out('NOTE: SYNTHETIC profile (generated from head archetypes, not measured on a real model).\n');
  const all = series.flatMap((s) => s.points.map((p) => ({ s: s.name, ...p })));
  const skyMin = new Set(skyline(all.map((p) => ({ latency: p.latency, r: p.min }))));
  const skyMean = new Set(skyline(all.map((p) => ({ latency: p.latency, r: p.mean }))));
  io.out(`\n${'pipeline'.padEnd(38)} ${'density'.padStart(8)} ${`latency (${label})`.padStart(26)} ${'min rec.'.padStart(9)} ${'mean rec.'.padStart(9)}  skyline\n`);
  all.forEach((p, i) => {
    const sky = [skyMin.has(i) ? 'min' : '', skyMean.has(i) ? 'mean' : ''].filter(Boolean).join('+');
    io.out(`${p.s.padEnd(38)} ${p.density.toFixed(4).padStart(8)} ${(p.latency * factor).toFixed(3).padStart(26)} ${p.min.toFixed(4).padStart(9)} ${p.mean.toFixed(4).padStart(9)}  ${sky}\n`);
  });
  io.out(`\nwrote ${path}\n`);
  return 0;
}
