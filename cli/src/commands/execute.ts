/**
 * `hplb execute plan.json --backend cpu [--context N] [--layers K] [--json]`: flags → `executePlan` (@hplb/runtime)
 * → print. It runs a plan on an attention backend, the simulated devices one after another on the main thread
 * (execution "serial": the default for the cpu clock with one device at a time, and for backends that cannot run in
 * worker threads) or one worker thread per device, with a barrier per layer, and prints predicted vs measured time per layer with its spread (the fidelity figure). Timing follows
 * the runtime's protocol (warm-up apart, k interleaved repeats, median and IQR, contended runs re-measured, noisy
 * layers flagged). The prediction uses a calibrated seconds cost model: `--calibration F` (from `hplb calibrate`),
 * or, without it, a calibration of the same backend at the run's context length first. Budgets and split rows are
 * scaled to the run's N by the rule in runtime/src/executor.ts (b' = b·N'/N in whole blocks). `--phases
 * prefill,decode` measures the serving step's placement-dependent work instead (projections through the backend's
 * matmul plus attention; one decode step) at the scaled hidden size, one table per phase (runtime/src/serving.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { CalibrationC, decode, decodePlan } from '@hplb/core';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, readJson, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { BACKEND_NAMES, backendOptions, CLOCKS, DEFAULT_EXECUTE_REPEATS, DEFAULT_SAMPLE_LAYERS, DEFAULT_TIMING, defaultClock, EXECUTIONS, executePlan, isBackendName, PHASES, type ExecutionResult, type Phase } from '@hplb/runtime';
import { orFailFlags, takeBackendOptions, TIMING_FLAGS, TIMING_HELP, TIMING_OPTION_FLAGS } from '../backendFlags.ts';

export const summary = 'run a plan on a kernel backend (simulated devices in turn or a worker each, barrier per layer); predicted vs measured per layer';

const HELP = `Usage: hplb execute plan.json --backend ${BACKEND_NAMES.join('|')} [--context N] [--layers K] [--json]
Flags:
  --context N         context length of the run (default 1024; budgets scale as b·N/N_plan, in whole blocks)
  --layers K          run the first K layers (default: the sample of --sample-layers)
  --sample-layers S   measure S layers evenly spaced from the first to the last (default ${DEFAULT_SAMPLE_LAYERS}; every layer when
                      the plan has at most S), or all
  --calibration F     hplb.calibration/1 for the prediction (default: calibrate the backend at N first)
  --block B           block size (default: the calibration's, else 64)
  --concurrency C     devices running at once (default 1: each device timed alone, as on its own GPU)
  --clock wall|cpu    how kernel time is read (default cpu for the cpu backend, wall otherwise)
  --workers W         worker threads inside each device's cpu backend (default 0)
  --backend-option K=V   option passed to the backend's createBackend (repeatable or comma-separated), e.g.
                      mode=cpu (gpujs), idleReleaseMs=0 (webgpu), workers=2 (cpu)
  --execution workers|serial   a worker thread per device, or devices one after another on the main thread
                      (default with the cpu clock and --concurrency 1: process CPU time counts every thread; and
                      for backends declaring workerThreads: false, e.g. gpujs GPU mode); workers otherwise
  --seed S            input seed (default 1)
  --repeats R         steady runs per head / split part, after the warm-up pass (default ${DEFAULT_EXECUTE_REPEATS}); each task's
                      median counts (calibration uses the same protocol)
  --phases list       what each device runs per layer, one or more of ${PHASES.join(',')} (default attention): prefill =
                      its attention plus its Q/O projections (rows it computes) and K/V projections (KV heads it holds)
                      through the backend's matmul; decode = one decode step (weight GEMVs, one query row per KV head it
                      decodes). Predicted by the serving cost model with the calibration's serving coefficients
                      (hplb calibrate --serving), else calibrated here first; one table per phase
  --hidden H          hidden size of the serving phases' projections (default: the model's hidden size · N/N_plan)
${TIMING_HELP}  --json              {backend, execution, layers: [{layer, predicted, measured, error, errorRange, spread, noisy,
                      speed, atCalibrationSpeed, ...}], makespanError: {median, max, spread, noisy, speed,
                      atCalibrationSpeed, note}, timing, ...} in seconds; speed = the machine's against calibration
`;

const FLAGS: Readonly<Record<string, string>> = {
  ...TIMING_OPTION_FLAGS, 'options.calibration.headDim': '--calibration', 'options.blockSize': '--block', 'options.contextLength': '--context',
  'options.layers': '--layers', 'options.sampleLayers': '--sample-layers', 'options.phases': '--phases', 'options.hiddenSize': '--hidden',
};

const ms = (s: number) => (s * 1e3).toFixed(2).padStart(9);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export const run = async (argv: string[], io: Io): Promise<number> => {
  const taken = takeBackendOptions(argv);
  const a = parseArgs(taken.argv, { values: ['backend', 'context', 'layers', 'sample-layers', 'calibration', 'block', 'concurrency', 'clock', 'workers', 'seed', 'repeats', 'execution', 'phases', 'hidden', ...TIMING_FLAGS], booleans: ['json', 'help'] });
  if (a.flag('help')) { io.out(HELP); return 0; }
  const file = a.positionals[0];
  if (file === undefined) throw argumentError('plan.json', 'a plan file (hplb.plan/1)');
  const name = a.stringOr('backend', 'cpu');
  if (!isBackendName(name)) throw argumentError('--backend', `one of ${BACKEND_NAMES.join('|')}`, name);
  const plan = orFail(E.chain((u: unknown) => decodePlan(u, file))(readJson(file)));
  const calFile = a.string('calibration');
  const calibration = calFile !== undefined ? orFail(E.chain((u: unknown) => decode(CalibrationC, u, calFile))(readJson(calFile))) : undefined;
  const sample = a.string('sample-layers');
  const sampleLayers = sample === undefined ? undefined : sample === 'all' ? 'all' as const : a.int('sample-layers', (n) => n > 0, 'a positive layer count, or all');
  const layers = a.int('layers', (n) => n > 0, 'a positive layer count');
  const execution = a.has('execution') ? a.oneOf('execution', EXECUTIONS, 'workers') : undefined;
  const options = backendOptions(name, a.int('workers', (n) => n >= 0, 'a worker count ≥ 0'), taken.options);
  const blockSize = a.int('block', (n) => n > 0, 'a positive block size');
  const timing = {
    warmups: a.int('warmups', (n) => n >= 0, 'a warm-up count ≥ 0') ?? DEFAULT_TIMING.warmups,
    maxSpread: a.number('max-spread', (x) => x >= 0, 'a relative spread ≥ 0 (0.05 = 5%)') ?? DEFAULT_TIMING.maxSpread,
    maxRemeasures: a.int('max-remeasures', (n) => n >= 0, 'a re-measure count ≥ 0') ?? DEFAULT_TIMING.maxRemeasures,
  };
  const N = Math.min(plan.contextLength, a.int('context', (n) => n > 0, 'a positive context length') ?? 1024);
  const phasesFlag = a.string('phases');
  const phases = phasesFlag === undefined ? undefined : phasesFlag.split(',').map((p) => p.trim()).filter(Boolean);
  const badPhase = phases?.find((p) => !(PHASES as ReadonlyArray<string>).includes(p));
  if (phases !== undefined && (phases.length === 0 || badPhase !== undefined)) throw argumentError('--phases', `a comma-separated list of ${PHASES.join('|')}`, badPhase ?? phasesFlag);
  const hiddenSize = a.int('hidden', (n) => n > 0, 'a positive hidden size');
  const calBar = progressBar(io, `calibrating ${name} at N=${N}`);
  const bar = progressBar(io, `executing on ${plan.devices.length} devices`);
  const result = orFailFlags(await executePlan(plan, {
    backend: name, ...(options ? { backendOptions: options } : {}), contextLength: N,
    ...(layers !== undefined ? { layers } : {}), ...(sampleLayers !== undefined ? { sampleLayers } : {}),
    ...(blockSize !== undefined ? { blockSize } : {}), ...(calibration !== undefined ? { calibration } : {}),
    clock: a.oneOf('clock', CLOCKS, defaultClock(name)),
    concurrency: a.int('concurrency', (n) => n > 0, 'a positive device count') ?? 1, seed: a.int('seed') ?? 1,
    repeats: a.int('repeats', (n) => n > 0, 'a positive repeat count') ?? DEFAULT_EXECUTE_REPEATS, timing,
    ...(execution !== undefined ? { execution } : {}),
    ...(phases !== undefined ? { phases: phases as Phase[] } : {}), ...(hiddenSize !== undefined ? { hiddenSize } : {}),
    onCalibration: (d, t) => calBar.update(d, t),
    onLayer: (d, t) => { calBar.finish(); bar.update(d, t); },
  }, file), FLAGS);
  bar.finish();
  if (a.flag('json')) {
    io.out(JSON.stringify(result, null, 2) + '\n');
    return 0;
  }
  if (result.calibration !== undefined) {
    const c = result.calibration;
    io.err(`calibrated ${name} at N=${N}: R² ${c.r2.toFixed(4)}, relative error median ${pct(c.relativeError.median)} max ${pct(c.relativeError.max)}; timing ${c.timing.note}\n`);
  }
  if (result.servingCalibration !== undefined) {
    const c = result.servingCalibration;
    io.err(`calibrated the serving work of ${name} at N=${N}, hidden ${result.hiddenSize}: projections R² ${c.projection.r2.toFixed(4)} (relative error median ${pct(c.projection.relativeError.median)}), decode R² ${c.decode.r2.toFixed(4)} (median ${pct(c.decode.relativeError.median)}); timing ${c.timing.note}\n`);
  }
  io.out(`${file}: ${result.layers.length} of ${plan.model.layers} layers (${result.sampledLayers.length === plan.model.layers ? 'all' : `layers ${result.sampledLayers.join(', ')}`}) × ${plan.model.queryHeads} heads on ${result.devices} simulated devices (execution ${result.execution}${result.execution === 'workers' ? `, ${result.concurrency} at once` : ': one after another on the main thread'}); backend ${result.backend} (${result.device}), N=${result.contextLength} (plan N=${result.planContextLength}), B=${result.blockSize}, clock ${result.clock}${result.hiddenSize !== undefined ? `, hidden ${result.hiddenSize}, decode ${result.decodeSparse ? 'sparse (each head\'s budget)' : 'dense'}` : ''}\n`);
  const tables: Array<[string | undefined, PhaseTable]> = result.phases === undefined ? [[undefined, result]] : Object.entries(result.phases).map(([k, v]) => [k, v!]);
  for (const [phase, r] of tables) {
    if (phase !== undefined) io.out(`\n${phase}: ${r.costModel}\n`);
    printPhase(io, r);
  }
  return 0;
};

type PhaseTable = Pick<ExecutionResult, 'costModel' | 'layers' | 'predictedTotal' | 'measuredTotal' | 'predictedBubbleFraction' | 'measuredBubbleFraction' | 'makespanError' | 'timing'>;

/** One phase's table: per layer predicted vs measured with its spread, the totals, the error summary and the noise. */
const printPhase = (io: Io, result: PhaseTable): void => {
  const sp = result.makespanError.speed !== undefined;
  io.out(`layer  predicted ms   measured ms   error   error range (quartiles)   spread  re-measured${sp ? '   speed  error at cal. speed' : ''}  noisy\n`);
  for (const x of result.layers)
    io.out(`${String(x.layer).padStart(5)}  ${ms(x.predicted)}     ${ms(x.measured)}   ${(x.error * 100).toFixed(1).padStart(6)}%   [${(x.errorRange[0] * 100).toFixed(1).padStart(6)}%, ${(x.errorRange[1] * 100).toFixed(1).padStart(6)}%]   ${pct(x.spread).padStart(6)}  ${String(x.remeasures).padStart(11)}` +
      `${sp ? `  ${(x.speed ?? NaN).toFixed(3).padStart(6)}  ${((x.atCalibrationSpeed?.error ?? NaN) * 100).toFixed(1).padStart(18)}%` : ''}  ${x.noisy ? 'NOISY' : ''}\n`);
  io.out(`total  ${ms(result.predictedTotal)}     ${ms(result.measuredTotal)}\n`);
  io.out(`bubbleFraction: predicted ${result.predictedBubbleFraction.toFixed(4)}, measured ${result.measuredBubbleFraction.toFixed(4)}; makespan error median ${pct(result.makespanError.median)}, max ${pct(result.makespanError.max)}\n`);
  io.out(`noise: ${result.makespanError.note}\ntiming: ${result.timing.note}\n`);
};
