/**
 * `hplb execute plan.json --backend cpu [--context N] [--layers K] [--json]`: run a plan on an attention backend,
 * one worker per simulated device with a barrier per layer (or, for backends that cannot run in worker threads,
 * every device one after another on the main thread: execution "serial"), and print predicted vs measured time per layer (the
 * fidelity figure). The prediction uses a calibrated seconds cost model: `--calibration F` (from `hplb calibrate`),
 * or, without it, a quick calibration of the same backend at the run's context length first. Budgets and split
 * rows are scaled to the run's N by the rule in cli/src/runtime/executor.ts (b' = b·N'/N in whole blocks).
 */
import * as E from 'fp-ts/lib/Either.js';
import { CalibrationC, decode, decodePlan, type CostModel } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, readJson, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { BACKEND_NAMES, backendOptions, isBackendName, loadBackend } from '@hplb/runtime';
import { takeBackendOptions } from '../backendFlags.ts';
import { CLOCKS, defaultClock, runCalibration } from '@hplb/runtime';
import { EXECUTIONS, executePlan } from '@hplb/runtime';

export const summary = 'run a plan on a kernel backend (a worker per device, barrier per layer); predicted vs measured per layer';

const HELP = `Usage: hplb execute plan.json --backend ${BACKEND_NAMES.join('|')} [--context N] [--layers K] [--json]
Flags:
  --context N         context length of the run (default 1024; budgets scale as b·N/N_plan, in whole blocks)
  --layers K          run the first K layers (default 4)
  --calibration F     hplb.calibration/1 for the prediction (default: calibrate the backend at N first)
  --block B           block size (default: the calibration's, else 64)
  --concurrency C     devices running at once (default 1: each device timed alone, as on its own GPU)
  --clock wall|cpu    how kernel time is read (default cpu for the cpu backend, wall otherwise)
  --workers W         worker threads inside each device's cpu backend (default 0)
  --backend-option K=V   option passed to the backend's createBackend (repeatable or comma-separated), e.g.
                      mode=cpu (gpujs), idleReleaseMs=0 (webgpu), workers=2 (cpu)
  --execution workers|serial   a worker thread per device (default), or devices one after another on the main
                      thread (default for backends declaring workerThreads: false, e.g. gpujs GPU mode)
  --seed S            input seed (default 1)
  --repeats R         runs per head / split part, the fastest counts (default 3; calibration uses the same rule)
  --json              {backend, execution, layers: [{layer, predicted, measured, ...}], ...} in seconds
`;

const ms = (s: number) => (s * 1e3).toFixed(2).padStart(9);

export const run = async (argv: string[], io: Io): Promise<number> => {
  const taken = takeBackendOptions(argv);
  const a = parseArgs(taken.argv, { values: ['backend', 'context', 'layers', 'calibration', 'block', 'concurrency', 'clock', 'workers', 'seed', 'repeats', 'execution'], booleans: ['json', 'help'] });
  if (a.flag('help')) { io.out(HELP); return 0; }
  const file = a.positionals[0];
  if (file === undefined) throw argumentError('plan.json', 'a plan file (hplb.plan/1)');
  const name = a.stringOr('backend', 'cpu');
  if (!isBackendName(name)) throw argumentError('--backend', `one of ${BACKEND_NAMES.join('|')}`, name);
  const plan = orFail(E.chain((u: unknown) => decodePlan(u, file))(readJson(file)));
  const N = Math.min(plan.contextLength, a.int('context', (n) => n > 0, 'a positive context length') ?? 1024);
  const layers = a.int('layers', (n) => n > 0, 'a positive layer count') ?? 4;
  const clock = a.oneOf('clock', CLOCKS, defaultClock(name));
  const workers = a.int('workers', (n) => n >= 0, 'a worker count ≥ 0');
  const options = backendOptions(name, workers, taken.options);
  const execution = a.has('execution') ? a.oneOf('execution', EXECUTIONS, 'workers') : undefined;
  const repeats = a.int('repeats', (n) => n > 0, 'a positive repeat count') ?? 3;
  let costModel: CostModel;
  let blockSize = a.int('block', (n) => n > 0, 'a positive block size');
  const calFile = a.string('calibration');
  if (calFile !== undefined) {
    const cal = orFail(E.chain((u: unknown) => decode(CalibrationC, u, calFile))(readJson(calFile)));
    if ((cal.headDim as number) !== (plan.model.headDim as number)) throw argumentError('--calibration', `a calibration at the plan's head dim ${plan.model.headDim}`, cal.headDim);
    if (blockSize !== undefined && blockSize !== cal.blockSize) throw argumentError('--block', `the calibration's block size ${cal.blockSize}`, blockSize);
    blockSize = cal.blockSize;
    costModel = cal.costModel;
  } else {
    blockSize ??= 64;
    const requires = orFail(makeAttentionParams({ tokens: N, headDim: plan.model.headDim, blockSize }), 2);
    const { backend, info } = orFail(await loadBackend(name, options, requires));
    try {
      const bar = progressBar(io, `calibrating ${name} at N=${N}`);
      const r = orFail(await runCalibration(backend, info, {
        contexts: [N], fractions: [0.0625, 0.125, 0.25, 0.5, 0.75, 1], headDim: plan.model.headDim, blockSize, precision: 'fp32', repeats, clock,
        onProgress: (d, t) => bar.update(d, t),
      }));
      bar.finish();
      costModel = r.calibration.costModel;
      if (!a.flag('json')) io.err(`calibrated ${name} at N=${N}: ${(costModel.fixed * 1e3).toFixed(3)} ms + ${(costModel.perTokenPair * 1e9).toFixed(3)} ns/pair (R² ${r.costModelR2.toFixed(4)}, relative error median ${(r.costModelRelativeError.median * 100).toFixed(1)}% max ${(r.costModelRelativeError.max * 100).toFixed(1)}%)\n`);
    } finally {
      await backend.dispose();
    }
  }
  const bar = progressBar(io, `executing ${Math.min(layers, plan.model.layers)} layers on ${plan.devices.length} devices`);
  const result = orFail(await executePlan(plan, {
    backend: name, ...(options ? { backendOptions: options } : {}), contextLength: N, layers, blockSize, costModel, clock,
    concurrency: a.int('concurrency', (n) => n > 0, 'a positive device count') ?? 1, seed: a.int('seed') ?? 1, repeats,
    ...(execution !== undefined ? { execution } : {}),
    onLayer: (d, t) => bar.update(d, t),
  }, file));
  bar.finish();
  if (a.flag('json')) {
    io.out(JSON.stringify(result, null, 2) + '\n');
    return 0;
  }
  io.out(`${file}: ${result.layers.length} layers × ${plan.model.queryHeads} heads on ${result.devices} simulated devices (execution ${result.execution}${result.execution === 'workers' ? `, ${result.concurrency} at once` : ': one after another on the main thread'}); backend ${result.backend} (${result.device}), N=${result.contextLength} (plan N=${result.planContextLength}), B=${result.blockSize}, clock ${result.clock}\n`);
  io.out(`layer  predicted ms   measured ms   error\n`);
  for (const x of result.layers) io.out(`${String(x.layer).padStart(5)}  ${ms(x.predicted)}     ${ms(x.measured)}   ${((x.measured / Math.max(x.predicted, 1e-12) - 1) * 100).toFixed(1).padStart(6)}%\n`);
  io.out(`total  ${ms(result.predictedTotal)}     ${ms(result.measuredTotal)}\n`);
  io.out(`bubbleFraction: predicted ${result.predictedBubbleFraction.toFixed(4)}, measured ${result.measuredBubbleFraction.toFixed(4)}; makespan error median ${(result.makespanError.median * 100).toFixed(1)}%, max ${(result.makespanError.max * 100).toFixed(1)}%\n`);
  return 0;
};

