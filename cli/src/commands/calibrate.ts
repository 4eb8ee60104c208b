/**
 * `hplb calibrate --backend X [--json] [--out F]`: flags → `calibrate` (@hplb/runtime) → print / write. It times a
 * backend's attention over budgets × context lengths by the timing protocol (warm-up apart, k interleaved repeats,
 * median and IQR, contended runs re-measured), fits fixed + per-block cost and the seconds cost model over token
 * pairs (R², relative errors, 95% confidence intervals), and writes `hplb.calibration/1` for
 * `hplb plan --calibration F` / `hplb execute --calibration F`, unless the measurement was noisy (`--force`).
 * `--serving` also times the serving step's work (projections through the backend's matmul, decode steps) and
 * writes its fitted coefficients (`serving`, and the rates in `hardware`) for `hplb execute --phases prefill,decode`.
 */
import { CalibrationC, decode } from '@hplb/core';
import { writeJsonAtomic } from '@hplb/core/node';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { BACKEND_NAMES, backendOptions, calibrate, CLOCKS, DEFAULT_CALIBRATION, DEFAULT_SERVING_HIDDEN_SIZES, DEFAULT_TIMING, defaultClock, type ServingCalibration } from '@hplb/runtime';
import { orFailFlags, takeBackendOptions, TIMING_FLAGS, TIMING_HELP, TIMING_OPTION_FLAGS } from '../backendFlags.ts';

export const summary = 'time a kernel backend over budgets × context lengths, whole heads and split parts; fit fixed + per-row + per-pair cost (R², CIs); write hplb.calibration/1';

const HELP = `Usage: hplb calibrate --backend ${BACKEND_NAMES.join('|')} [--json] [--out calibration.json] [--force]
Flags:
  --contexts list     context lengths N (default ${DEFAULT_CALIBRATION.contexts.join(',')})
  --fractions list    budgets as fractions of N (default ${DEFAULT_CALIBRATION.fractions.join(',')})
  --part-fractions list  split parts timed per budget: the last f·N rows for each f (default ${(DEFAULT_CALIBRATION.partFractions ?? []).join(',')});
                      they identify the cost model's per-query-row term
  --head-dim d        (default ${DEFAULT_CALIBRATION.headDim})    --block B (default ${DEFAULT_CALIBRATION.blockSize})
  --precision P       fp32|fp16|bf16 (default fp32)
  --repeats R         steady runs per grid point, after the warm-up (default ${DEFAULT_CALIBRATION.repeats}); each point's median counts
${TIMING_HELP}  --force             write the calibration even when points still spread more than --max-spread (noisy)
  --workers W         worker threads (cpu backend)
  --backend-option K=V   option passed to the backend's createBackend (repeatable or comma-separated), e.g.
                      mode=cpu (gpujs), idleReleaseMs=0 (webgpu), workers=2 (cpu)
  --clock wall|cpu    wall time, or process CPU time (default cpu for the cpu backend: robust to other jobs on a
                      shared machine; wall for GPU backends)
  --json              print the calibration (fit with r2 and confidence intervals, cost model, samples with their
                      spread, timing summary) as JSON
  --serving           also time the serving step's work on the backend (needs its matmul): projections (rows × H by
                      H × 2d) and decode steps (weight GEMVs, one query row over a KV head), at the smallest context;
                      fit seconds per product, row and flop, and per decode read, KV read, KV byte and weight byte; written as
                      serving (and the rates as hardware) for hplb execute --phases prefill,decode
  --serving-hidden list  hidden sizes H of the serving grid (default ${DEFAULT_SERVING_HIDDEN_SIZES.join(',')}: the run's hidden size
                      H·N/N_plan of 8B-70B models at 32K-128K tokens run at N = 1024)
`;

const FLAGS: Readonly<Record<string, string>> = {
  ...TIMING_OPTION_FLAGS, 'options.contexts': '--contexts', 'options.fractions': '--fractions', 'options.partFractions': '--part-fractions', 'options.headDim': '--head-dim', 'options.blockSize': '--block',
  'options.precision': '--precision', 'options.clock': '--clock', 'options.serving.hiddenSizes': '--serving-hidden',
};

export const run = async (argv: string[], io: Io): Promise<number> => {
  const taken = takeBackendOptions(argv);
  const a = parseArgs(taken.argv, { values: ['backend', 'out', 'contexts', 'fractions', 'part-fractions', 'head-dim', 'block', 'precision', 'repeats', 'workers', 'clock', 'serving-hidden', ...TIMING_FLAGS], booleans: ['json', 'help', 'force', 'serving'] });
  if (a.flag('help')) { io.out(HELP); return 0; }
  const name = a.string('backend');
  if (name === undefined) throw argumentError('--backend', `a backend (${BACKEND_NAMES.join('|')})`);
  const contexts = a.numberList('contexts', (n) => Number.isInteger(n) && n > 0, 'positive integer context lengths') ?? DEFAULT_CALIBRATION.contexts;
  const fractions = a.numberList('fractions', (f) => f > 0 && f <= 1, 'budget fractions in (0, 1]') ?? DEFAULT_CALIBRATION.fractions;
  if (contexts.length * fractions.length < 2) throw argumentError('--fractions', 'at least two grid points (contexts × fractions)', contexts.length * fractions.length);
  const clock = a.oneOf('clock', CLOCKS, defaultClock(name));
  const partFractions = a.numberList('part-fractions', Number.isFinite, 'numbers');
  const opts = {
    contexts, fractions, clock, ...(partFractions !== undefined ? { partFractions } : {}),
    headDim: a.int('head-dim', (n) => n > 0, 'a positive head dim') ?? DEFAULT_CALIBRATION.headDim,
    blockSize: a.int('block', (n) => n > 0, 'a positive block size') ?? DEFAULT_CALIBRATION.blockSize,
    precision: a.oneOf('precision', ['fp32', 'fp16', 'bf16'] as const, 'fp32'),
    repeats: a.int('repeats', (n) => n > 0, 'a positive repeat count') ?? DEFAULT_CALIBRATION.repeats,
  };
  const timing = {
    warmups: a.int('warmups', (n) => n >= 0, 'a warm-up count ≥ 0') ?? DEFAULT_TIMING.warmups,
    maxSpread: a.number('max-spread', (x) => x >= 0, 'a relative spread ≥ 0 (0.05 = 5%)') ?? DEFAULT_TIMING.maxSpread,
    maxRemeasures: a.int('max-remeasures', (n) => n >= 0, 'a re-measure count ≥ 0') ?? DEFAULT_TIMING.maxRemeasures,
  };
  const servingHidden = a.numberList('serving-hidden', (n) => Number.isInteger(n) && n > 0, 'positive integer hidden sizes');
  if (servingHidden !== undefined && !a.flag('serving')) throw argumentError('--serving-hidden', 'to come with --serving');
  const serving = a.flag('serving') ? (servingHidden !== undefined ? { hiddenSizes: servingHidden } : true) : undefined;
  const bar = progressBar(io, `calibrating ${name}`);
  const backendOpts = backendOptions(name, a.int('workers', (n) => n >= 0), taken.options);
  const r = orFailFlags(await calibrate(name, {
    ...opts, timing, force: a.flag('force'), ...(serving !== undefined ? { serving } : {}), ...(backendOpts ? { backendOptions: backendOpts } : {}), onProgress: (d, t) => bar.update(d, t),
  }), FLAGS);
  bar.finish();
  orFail(decode(CalibrationC, r.calibration));
  const out = a.string('out');
  if (out !== undefined) orFail(writeJsonAtomic(out, r.calibration));
  const { fit, costModel } = r.calibration;
  if (a.flag('json')) io.out(JSON.stringify({ ...r.calibration, r2: fit.r2, costModelR2: r.costModelR2, costModelRelativeError: r.costModelRelativeError }, null, 2) + '\n');
  else {
    const ci = r.costModelConfidence;
    io.out(`backend ${r.calibration.backend} on ${r.calibration.device}; d=${opts.headDim}, B=${opts.blockSize}, ${opts.precision}, clock ${opts.clock}\n`);
    io.out(`  kernel fit:  ${(fit.fixedSeconds * 1e3).toFixed(3)} ms + ${(fit.secondsPerBlock * 1e6).toFixed(3)} µs/block   R² = ${fit.r2.toFixed(4)}\n`);
    io.out(`  cost model:  ${(costModel.fixed * 1e3).toFixed(3)} ms + ${((costModel.perQueryRow ?? 0) * 1e6).toFixed(3)} µs/query row + ${(costModel.perTokenPair * 1e9).toFixed(4)} ns/token pair   R² = ${r.costModelR2.toFixed(4)}; ` +
      `relative error median ${(r.costModelRelativeError.median * 100).toFixed(1)}%, max ${(r.costModelRelativeError.max * 100).toFixed(1)}% (relative least squares, coefficients ≥ 0)\n`);
    io.out(`  95% CI:      fixed [${(ci.fixed[0] * 1e3).toFixed(3)}, ${(ci.fixed[1] * 1e3).toFixed(3)}] ms, per row [${(ci.perQueryRow[0] * 1e6).toFixed(3)}, ${(ci.perQueryRow[1] * 1e6).toFixed(3)}] µs, per pair [${(ci.perTokenPair[0] * 1e9).toFixed(4)}, ${(ci.perTokenPair[1] * 1e9).toFixed(4)}] ns\n`);
    io.out(`  timing:      ${r.timing.note}\n`);
    const sv = (r.calibration as { serving?: ServingCalibration }).serving;
    if (sv !== undefined) {
      const p = sv.projection, d = sv.decode;
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      io.out(`  projections: ${(p.fixedSeconds * 1e6).toFixed(2)} µs + ${(p.secondsPerRow * 1e9).toFixed(2)} ns/row + ${(p.secondsPerFlop * 1e12).toFixed(2)} ps/flop   R² = ${p.r2.toFixed(4)}; relative error median ${pct(p.relativeError.median)}, max ${pct(p.relativeError.max)} (hidden ${sv.hiddenSizes.join(', ')})\n`);
      io.out(`  decode:      ${(d.fixedSeconds * 1e6).toFixed(2)} µs/read + ${(d.kvReadSeconds * 1e6).toFixed(2)} µs/KV read + ${(d.secondsPerByte * 1e12).toFixed(2)} ps/KV byte + ${(d.secondsPerWeightByte * 1e12).toFixed(2)} ps/weight byte   R² = ${d.r2.toFixed(4)}; relative error median ${pct(d.relativeError.median)}, max ${pct(d.relativeError.max)} (N = ${sv.contextLength})\n`);
      io.out(`  serving timing: ${sv.timing.note}\n`);
    }
    if (out !== undefined) io.out(`  wrote ${out}${r.noisy ? ' (noisy, kept by --force)' : ''} (use: hplb plan --calibration ${out})\n`);
  }
  return 0;
};

