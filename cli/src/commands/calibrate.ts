/**
 * `hplb calibrate --backend X [--json] [--out F]`: measure a backend's attention time over a grid of budgets and
 * context lengths, fit fixed + per-block cost (and the seconds cost model over token pairs, both with R² and relative
 * errors; relative least squares, see cli/src/runtime/calibration.ts), write
 * `hplb.calibration/1` for `hplb plan --calibration F` / `hplb execute --calibration F`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { CalibrationC, decode } from '@hplb/core';
import { writeJsonAtomic } from '@hplb/core/node';
import { makeAttentionParams } from '@hplb/core/kernel';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { BACKEND_NAMES, backendOptions, loadBackend } from '@hplb/runtime';
import { takeBackendOptions } from '../backendFlags.ts';
import { CLOCKS, DEFAULT_CALIBRATION, defaultClock, runCalibration } from '@hplb/runtime';

export const summary = 'time a kernel backend over budgets × context lengths; fit fixed + per-block cost (R²); write hplb.calibration/1';

const HELP = `Usage: hplb calibrate --backend ${BACKEND_NAMES.join('|')} [--json] [--out calibration.json]
Flags:
  --contexts list     context lengths N (default ${DEFAULT_CALIBRATION.contexts.join(',')})
  --fractions list    budgets as fractions of N (default ${DEFAULT_CALIBRATION.fractions.join(',')})
  --head-dim d        (default ${DEFAULT_CALIBRATION.headDim})    --block B (default ${DEFAULT_CALIBRATION.blockSize})
  --precision P       fp32|fp16|bf16 (default fp32)   --repeats R (default ${DEFAULT_CALIBRATION.repeats}, after one warm-up)
  --workers W         worker threads (cpu backend)
  --backend-option K=V   option passed to the backend's createBackend (repeatable or comma-separated), e.g.
                      mode=cpu (gpujs), idleReleaseMs=0 (webgpu), workers=2 (cpu)
  --clock wall|cpu    wall time, or process CPU time (default cpu for the cpu backend: robust to other jobs on a
                      shared machine; wall for GPU backends)
  --json              print the calibration (fit with r2, cost model, samples) as JSON
`;

export const run = async (argv: string[], io: Io): Promise<number> => {
  const taken = takeBackendOptions(argv);
  const a = parseArgs(taken.argv, { values: ['backend', 'out', 'contexts', 'fractions', 'head-dim', 'block', 'precision', 'repeats', 'workers', 'clock'], booleans: ['json', 'help'] });
  if (a.flag('help')) { io.out(HELP); return 0; }
  const name = a.string('backend');
  if (name === undefined) throw argumentError('--backend', `a backend (${BACKEND_NAMES.join('|')})`);
  const opts = {
    contexts: a.numberList('contexts', (n) => Number.isInteger(n) && n > 0, 'positive integer context lengths') ?? DEFAULT_CALIBRATION.contexts,
    fractions: a.numberList('fractions', (f) => f > 0 && f <= 1, 'budget fractions in (0, 1]') ?? DEFAULT_CALIBRATION.fractions,
    headDim: a.int('head-dim', (n) => n > 0, 'a positive head dim') ?? DEFAULT_CALIBRATION.headDim,
    blockSize: a.int('block', (n) => n > 0, 'a positive block size') ?? DEFAULT_CALIBRATION.blockSize,
    precision: a.oneOf('precision', ['fp32', 'fp16', 'bf16'] as const, 'fp32'),
    repeats: a.int('repeats', (n) => n > 0, 'a positive repeat count') ?? DEFAULT_CALIBRATION.repeats,
    clock: a.oneOf('clock', CLOCKS, defaultClock(name)),
  };
  if (opts.contexts.length * opts.fractions.length < 2) throw argumentError('--fractions', 'at least two grid points (contexts × fractions)', opts.contexts.length * opts.fractions.length);
  const requires = orFail(makeAttentionParams({ tokens: Math.max(...opts.contexts), headDim: opts.headDim, blockSize: opts.blockSize, precision: opts.precision }), 2);
  const { backend, info } = orFail(await loadBackend(name, backendOptions(name, a.int('workers', (n) => n >= 0), taken.options), requires));
  try {
    const bar = progressBar(io, `calibrating ${name}`);
    const r = orFail(await runCalibration(backend, info, { ...opts, onProgress: (d, t) => bar.update(d, t) }));
    bar.finish();
    orFail(decode(CalibrationC, r.calibration));
    const out = a.string('out');
    if (out !== undefined) orFail(writeJsonAtomic(out, r.calibration));
    const { fit, costModel } = r.calibration;
    if (a.flag('json')) io.out(JSON.stringify({ ...r.calibration, r2: fit.r2, costModelR2: r.costModelR2, costModelRelativeError: r.costModelRelativeError }, null, 2) + '\n');
    else {
      io.out(`backend ${info.name} on ${info.device}${info.mode ? ` (${info.mode})` : ''}; d=${opts.headDim}, B=${opts.blockSize}, ${opts.precision}, clock ${opts.clock}\n`);
      io.out(`  kernel fit:  ${(fit.fixedSeconds * 1e3).toFixed(3)} ms + ${(fit.secondsPerBlock * 1e6).toFixed(3)} µs/block   R² = ${fit.r2.toFixed(4)}\n`);
      io.out(`  cost model:  ${(costModel.fixed * 1e3).toFixed(3)} ms + ${(costModel.perTokenPair * 1e9).toFixed(4)} ns/token pair   R² = ${r.costModelR2.toFixed(4)}; ` +
        `relative error median ${(r.costModelRelativeError.median * 100).toFixed(1)}%, max ${(r.costModelRelativeError.max * 100).toFixed(1)}% (relative least squares, fixed ≥ 0)\n`);
      if (out !== undefined) io.out(`  wrote ${out} (use: hplb plan --calibration ${out})\n`);
    }
    return 0;
  } finally {
    await backend.dispose();
  }
};
