/**
 * Fidelity benchmark (issue 16): calibrate + execute the main job's plan on the CPU backend R times in a row (default
 * 10), through the runtime library (`calibrate`, `executePlan`) with the defaults of `hplb calibrate` and
 * `hplb execute` (N' = 1024, the 8-layer sample, the timing protocol's defaults), and print one row per run (the
 * median and max per-layer makespan error, the calibration's R², the spread, re-measures, the machine's speed
 * against calibration (the reference kernel's time over its calibration time) with the error at calibration speed,
 * and whether the run was flagged noisy) and the distribution of the median error. Target: every run within 5% on a quiet machine; on a
 * loaded one, runs are flagged noisy, never silently wrong. The table is quoted in runtime/README.md.
 *
 *   node --import tsx examples/bench-fidelity.ts [--runs R] [--context N] [--plan plan.json] [--layers K] [--json F]
 *
 * Without --plan it writes the main job's plan first (`hplb plan` in a temporary directory). Calibrations are kept
 * even when noisy (force): the point is to see what a noisy run reports. Speed claims live here, never in tests.
 */
import * as E from 'fp-ts/lib/Either.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePlan, formatError, type HplbError } from '@hplb/core';
import { calibrate, executePlan, quantile } from '@hplb/runtime';

const die = (msg: string): never => { process.stderr.write(`bench-fidelity: ${msg}\n`); process.exit(1); };
const right = <A>(e: E.Either<HplbError, A>): A => (E.isRight(e) ? e.right : die(formatError(e.left)));
const argv = process.argv.slice(2);
const arg = (flag: string): string | undefined => { const i = argv.indexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
const int = (flag: string, dflt: number): number => {
  const v = arg(flag);
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : die(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
};
const runs = int('--runs', 10);
const N = int('--context', 1024);
const layersFlag = arg('--layers');
const layers = layersFlag === undefined ? undefined : int('--layers', 1);
const root = fileURLToPath(new URL('../', import.meta.url));

// ---------------------------------------------------------------- the main job's plan

let planFile = arg('--plan');
let tmp: string | undefined;
if (planFile === undefined) {
  tmp = mkdtempSync(join(tmpdir(), 'hplb-fidelity-'));
  planFile = join(tmp, 'plan.json');
  execFileSync(process.execPath, [join(root, 'cli/bin/hplb.mjs'), 'plan', '--out', planFile], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
}
const plan = right(decodePlan(JSON.parse(readFileSync(planFile, 'utf8')) as unknown, planFile));
if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------- R runs

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const out = (s: string) => process.stdout.write(s);
out(`# bench-fidelity: ${runs} x (calibrate cpu + execute the main job's plan), N'=${N}, ${layers !== undefined ? `first ${layers} layers` : 'default layer sample'}; ${cpus()[0]?.model ?? '?'} x${cpus().length}; load average at start ${load()}\n\n`);
out('| run | median error | max error | speed vs calibration | median error at calibration speed | calibration R² | calibration spread max | calibration noisy | layer spread median | noisy layers | re-measured | rejected | flagged noisy | load (1 min) | seconds |\n');
out('|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|\n');
interface Row { run: number; medianError: number; maxError: number; speed: number | null; atCalibrationSpeed: number | null; drift: boolean; r2: number; calibrationSpread: number; calibrationNoisy: boolean; layerSpread: number; noisyLayers: number; layers: number; remeasures: number; rejected: number; noisy: boolean; load: number; seconds: number }
const rows: Row[] = [];
for (let r = 1; r <= runs; r++) {
  const t0 = performance.now();
  const cal = right(await calibrate('cpu', { force: true }));
  const exec = right(await executePlan(plan, { backend: 'cpu', calibration: cal.calibration, contextLength: N, ...(layers !== undefined ? { layers } : {}) }, planFile));
  const m = exec.makespanError;
  const row: Row = {
    run: r, medianError: m.median, maxError: m.max, speed: m.speed?.median ?? null, atCalibrationSpeed: m.atCalibrationSpeed?.median ?? null, drift: m.speed?.drift ?? false, r2: cal.costModelR2, calibrationSpread: cal.timing.spread.max, calibrationNoisy: cal.noisy,
    layerSpread: m.spread.median, noisyLayers: m.noisyLayers, layers: exec.layers.length,
    remeasures: cal.timing.remeasures + exec.timing.remeasures, rejected: cal.timing.rejected + exec.timing.rejected,
    noisy: cal.noisy || m.noisy, load: loadavg()[0]!, seconds: (performance.now() - t0) / 1000,
  };
  rows.push(row);
  out(`| ${r} | ${pct(row.medianError)} | ${pct(row.maxError)} | ${row.speed === null ? '-' : `${row.speed.toFixed(3)}x${row.drift ? ' (drift)' : ''}`} | ${row.atCalibrationSpeed === null ? '-' : pct(row.atCalibrationSpeed)} | ${row.r2.toFixed(4)} | ${pct(row.calibrationSpread)} | ${row.calibrationNoisy ? 'yes' : 'no'} | ${pct(row.layerSpread)} | ${row.noisyLayers}/${row.layers} | ${row.remeasures} | ${row.rejected} | ${row.noisy ? 'NOISY' : 'quiet'} | ${row.load.toFixed(1)} | ${row.seconds.toFixed(0)} |\n`);
}

// ---------------------------------------------------------------- distribution

const med = rows.map((x) => x.medianError);
const within = rows.filter((x) => x.medianError <= 0.05).length;
const quiet = rows.filter((x) => !x.noisy);
const silentMiss = quiet.filter((x) => x.medianError > 0.05).length;
const atSpeed = rows.flatMap((x) => (x.atCalibrationSpeed === null ? [] : [x.atCalibrationSpeed]));
out(`\nmedian error over the runs: min ${pct(Math.min(...med))}, quartiles ${pct(quantile(med, 0.25))} / ${pct(quantile(med, 0.5))} / ${pct(quantile(med, 0.75))}, max ${pct(Math.max(...med))}\n`);
out(`${within} of ${runs} runs within 5% (target: ${runs} of ${runs} on a quiet machine); ${rows.length - quiet.length} flagged noisy (${rows.filter((x) => x.drift).length} for a speed drift against calibration); ${silentMiss} quiet runs over 5% (silently wrong: target 0)\n`);
if (atSpeed.length > 0) out(`at calibration speed: median error min ${pct(Math.min(...atSpeed))}, median ${pct(quantile(atSpeed, 0.5))}, max ${pct(Math.max(...atSpeed))}; ${atSpeed.filter((x) => x <= 0.05).length} of ${atSpeed.length} runs within 5%\n`);
out(`calibration R²: min ${Math.min(...rows.map((x) => x.r2)).toFixed(4)}, max ${Math.max(...rows.map((x) => x.r2)).toFixed(4)}; load average at the end ${load()}\n`);
const json = arg('--json');
if (json !== undefined) writeFileSync(json, JSON.stringify({ runs: rows, context: N, machine: `${cpus()[0]?.model ?? '?'} x${cpus().length}` }, null, 2) + '\n');
