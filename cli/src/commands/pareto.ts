/**
 * `hplb pareto`: the paper's accuracy–latency figure for the user's own model. Sweeps the budget density for each
 * pipeline — contiguous + uniform, LPT + top-p (swept over p), LPT + max-min, hplb (split heads + max-min +
 * bubble-fill) — simulates each point, prints the table and writes pareto.svg (latency against minimum and mean
 * recovery, skyline marked). Needs recovery curves (the built-in SYNTHETIC profile by default).
 */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@hplb/core/node';
import { DEFAULT_DENSITIES, DEFAULT_PS, PARETO_PIPELINES, displayUnit, renderParetoSvg } from 'hplb';
import { paretoSweep } from 'hplb/node';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, refuseOverwritingInputs, type Io, type PathArg } from '../io.ts';
import { progressBar } from '../progress.ts';
import { ALL_FLAG_SPEC, PROFILE_FLAG_HELP, SOLVER_FLAG_HELP, orFailFlags, readProfile, readSettingsOptions } from '../planFlags.ts';
import { previousFile } from '../solverFlags.ts';

export const summary = 'sweep budget densities per pipeline and chart latency against recovery (pareto.svg)';

export { DEFAULT_DENSITIES, DEFAULT_PS, PARETO_PIPELINES };

const USAGE = `Usage: hplb pareto [--densities d1,d2,...] [--ps p1,p2,...] [--profile F ...] [--gpus G] [solver flags]
                   [--out pareto.svg | --out-dir D] [--json]

  --densities   budget densities in (0, 1] for the uniform, max-min and hplb pipelines (default ${DEFAULT_DENSITIES.join(',')})
  --ps          top-p targets in (0, 1] for the LPT + top-p pipeline (default ${DEFAULT_PS.join(',')})
  --out F       the chart (default ./pareto.svg); --out-dir D puts pareto.svg in D
  --json        print the points as JSON
${PROFILE_FLAG_HELP}${SOLVER_FLAG_HELP}`;

/** The files `hplb pareto` reads, by flag (the built-in profiles `published` and `synthetic` are no files). */
const paretoInputs = (args: ReturnType<typeof parseArgs>): PathArg[] => {
  const profile = args.string('profile');
  return [
    ...(profile !== undefined && profile !== 'published' && profile !== 'synthetic' ? [{ flag: '--profile', path: profile }] : []),
    ...(['model-config', 'calibration', 'previous'] as const).flatMap((f) => { const p = args.string(f); return p !== undefined ? [{ flag: `--${f}`, path: p }] : []; }),
  ];
};

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, ALL_FLAG_SPEC({ values: ['densities', 'ps', 'out', 'out-dir'], booleans: ['json', 'help'] }));
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw argumentError(args.positionals[0]!, 'flags only (hplb pareto --help)');
  const densities = args.numberList('densities', (x) => x > 0 && x <= 1, 'a comma-separated list of densities in (0, 1]') ?? DEFAULT_DENSITIES;
  const ps = args.numberList('ps', (x) => x > 0 && x <= 1, 'a comma-separated list of top-p targets in (0, 1]') ?? DEFAULT_PS;
  // Where pareto.svg goes (nothing with --json alone), checked against every file the sweep reads before any work.
  const out = args.string('out');
  const outDir = args.string('out-dir');
  const path = out !== undefined ? resolve(io.cwd, out) : join(outDir === undefined ? io.cwd : resolve(io.cwd, outDir), 'pareto.svg');
  const writes = !args.flag('json') || out !== undefined || outDir !== undefined;
  if (writes) refuseOverwritingInputs(io.cwd, [{ flag: out !== undefined || outDir === undefined ? '--out' : '--out-dir', path }], paretoInputs(args));
  const loaded = readProfile(args);
  const settings = readSettingsOptions(args, { optionalGpus: true });
  const bar = progressBar(io, 'hplb pareto');
  const sweep = orFailFlags(await paretoSweep(loaded, { ...settings, densities, ps, onProgress: (d, t, name) => bar.update(d, t, name) }).finally(() => bar.finish()), { previous: previousFile(args) });
  const { series, settings: ctx } = sweep;
  const unit = ctx.costModel.unit;
  const svg = renderParetoSvg(series, {
    title: `hplb pareto: attention latency vs recovery`,
    subtitle: `${loaded.short} · N = ${ctx.contextLength} · ${ctx.devices.length} GPUs · cost ${ctx.costModel.name}`,
    unit,
    synthetic: loaded.synthetic,
  });
  if (args.flag('json')) {
    io.out(JSON.stringify({ format: 'hplb.pareto/1', unit, synthetic: loaded.synthetic, series }, null, 2) + '\n');
    if (writes) orFail(writeFileAtomic(path, svg));
    return 0;
  }
  orFail(writeFileAtomic(path, svg));
  const ref = Math.max(...series.flatMap((s) => s.points.map((p) => p.latency)));
  const { factor, label } = displayUnit(unit, ref);
  io.out(`hplb pareto — ${loaded.label}\n`);
  if (loaded.synthetic) io.out('NOTE: SYNTHETIC profile (generated from head archetypes, not measured on a real model).\n');
  const src = ctx.source as { curveModel?: string; curveAssumption?: string } | undefined;
  if (src?.curveModel !== undefined && src.curveModel !== 'measured')
    io.out(`NOTE: recovery is modelled, not measured: ${src.curveModel} curves (${src.curveAssumption ?? 'see docs/budgets.md'}).\n`);
  io.out(`\n${'pipeline'.padEnd(38)} ${'density'.padStart(8)} ${`latency (${label})`.padStart(26)} ${'min rec.'.padStart(9)} ${'mean rec.'.padStart(9)}  skyline\n`);
  sweep.points.forEach((p) => {
    const sky = [p.skylineMin ? 'min' : '', p.skylineMean ? 'mean' : ''].filter(Boolean).join('+');
    io.out(`${p.pipeline.padEnd(38)} ${p.density.toFixed(4).padStart(8)} ${(p.latency * factor).toFixed(3).padStart(26)} ${p.min.toFixed(4).padStart(9)} ${p.mean.toFixed(4).padStart(9)}  ${sky}\n`);
  });
  io.out(`\nwrote ${path}\n`);
  return 0;
}
