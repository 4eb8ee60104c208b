/**
 * The GPU worker of the "benchmark this GPU" panel: on the visitor's own GPU (`navigator.gpu` of this worker), the
 * WebGPU backend runs the conformance cases Node runs (`@hplb/spec/cases`, the analytic ones: golden files live on
 * disk), then the calibration sweep of `hplb calibrate` (`@hplb/runtime/calibration`, wall clock) on a small grid,
 * and sends back the `hplb.calibration/1` file. A worker, so the page stays responsive while kernels run.
 */
import { createBackend } from '@hplb/backend-webgpu';
import { calibrate } from '@hplb/runtime/calibration';
import { runConformanceCases } from '@hplb/spec/cases';
import { CalibrationC, formatError } from 'hplb';
import type { GpuRequest, GpuResponse } from './protocol.ts';

interface WorkerScope {
  onmessage: ((e: MessageEvent<GpuRequest>) => void) | null;
  postMessage(message: GpuResponse): void;
}
const scope = self as unknown as WorkerScope;
const post = (m: GpuResponse): void => scope.postMessage(m);

const run = async (req: GpuRequest): Promise<void> => {
  const id = req.id;
  // 1. conformance: init, every analytic case (or its capability skip), dispose.
  const backend = createBackend({ idleReleaseMs: 0 });
  const cases = await runConformanceCases(backend, {
    name: 'webgpu (navigator.gpu)',
    precision: 'fp32',
    onCase: (result, done, total) => post({ type: 'gpu-case', id, result, done, total }),
  });
  if (cases._tag === 'Left') {
    post({ type: 'gpu-error', id, message: formatError(cases.left) });
    return;
  }
  const { info, results } = cases.right;
  post({ type: 'gpu-started', id, device: info.device, mode: info.mode ?? '' });
  const count = (s: string) => results.filter((r) => r.status === s).length;
  // 2. calibration on a fresh device: the sweep, the fit, the hplb.calibration/1 record (kept even when noisy:
  //    the record says how noisy it was).
  const fresh = createBackend({ idleReleaseMs: 0 });
  const started = await fresh.init();
  let calibration: Extract<GpuResponse, { type: 'gpu-done' }>['calibration'];
  if (started._tag === 'Left') calibration = { ok: false, message: formatError(started.left) };
  else {
    try {
      const c = await calibrate({ backend: fresh, info: started.right }, {
        contexts: req.grid.contexts, fractions: req.grid.fractions, repeats: req.grid.repeats, force: true,
        onProgress: (done, total) => post({ type: 'gpu-progress', id, done, total, label: 'calibration sweep' }),
      });
      if (c._tag === 'Left') calibration = { ok: false, message: formatError(c.left) };
      else {
        const checked = CalibrationC.decode(c.right.calibration);
        const cm = c.right.calibration.costModel;
        calibration = checked._tag === 'Left'
          ? { ok: false, message: 'the calibration does not decode as hplb.calibration/1' }
          : {
            ok: true,
            json: JSON.stringify(c.right.calibration, null, 2) + '\n',
            summary: `cost model: ${(cm.fixed * 1e3).toFixed(3)} ms + ${((cm.perQueryRow ?? 0) * 1e6).toFixed(3)} µs per query row + ${(cm.perTokenPair * 1e9).toFixed(4)} ns per token pair, R² ${c.right.costModelR2.toFixed(4)}, relative error median ${(c.right.costModelRelativeError.median * 100).toFixed(1)}%; ${c.right.timing.note}`,
          };
      }
    } finally {
      await fresh.dispose();
    }
  }
  post({ type: 'gpu-done', id, passed: count('pass'), failed: count('fail'), skipped: count('skip'), calibration });
};

scope.onmessage = (e) => {
  void run(e.data).catch((err: unknown) => post({ type: 'gpu-error', id: e.data.id, message: `internal error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` }));
};
