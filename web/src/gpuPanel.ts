/**
 * The "benchmark this GPU" panel. Where `navigator.gpu` gives an adapter, a button runs, in a worker
 * (gpuWorker.ts), the WebGPU conformance cases and a calibration sweep on the visitor's GPU, lists each case, and
 * offers the `hplb.calibration/1` file for download (`hplb plan --calibration calibration.json` prices plans in
 * seconds with it). Where WebGPU or an adapter is missing, it says so and why.
 *
 * `#gpu-panel[data-webgpu]` is available | unavailable | no-adapter; `[data-run]` is running | done | error.
 */
import type { GpuGrid, GpuRequest, GpuResponse } from './protocol.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page lacks #${id}`);
  return e as T;
};

/**
 * The sweep the page runs: two context lengths, budgets from 5% to 50% of N, three timed repeats per point (after a
 * warm-up). Smaller than `hplb calibrate`'s default grid (1024 and 4096, 0.5% to 50%): it runs in a visitor's tab,
 * and on software adapters. Change it with `?gpu-contexts=1024,4096&gpu-fractions=…&gpu-repeats=…`.
 */
export const GPU_GRID: GpuGrid = { contexts: [1024, 2048], fractions: [0.05, 0.1, 0.2, 0.5], repeats: 3 };

const listParam = (q: URLSearchParams, name: string): number[] | undefined => {
  const v = q.get(name);
  if (v === null) return undefined;
  const xs = v.split(',').map(Number);
  return xs.length > 0 && xs.every((x) => Number.isFinite(x) && x > 0) ? xs : undefined;
};

const gridFromUrl = (): GpuGrid => {
  const q = new URLSearchParams(location.search);
  const repeats = Number(q.get('gpu-repeats'));
  return {
    contexts: listParam(q, 'gpu-contexts') ?? GPU_GRID.contexts,
    fractions: listParam(q, 'gpu-fractions') ?? GPU_GRID.fractions,
    repeats: Number.isInteger(repeats) && repeats > 0 ? repeats : GPU_GRID.repeats,
  };
};

interface NavigatorGpu {
  readonly gpu?: { requestAdapter(o?: { powerPreference?: string }): Promise<{ readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string } } | null> };
}

export const setupGpuPanel = (): void => {
  const panel = $('gpu-panel');
  const status = $('gpu-status');
  const button = $<HTMLButtonElement>('gpu-run');
  const download = $<HTMLAnchorElement>('download-calibration');
  const log = $('gpu-log');
  const gpu = (navigator as Navigator & NavigatorGpu).gpu;
  if (gpu === undefined) {
    panel.dataset['webgpu'] = 'unavailable';
    status.textContent = `WebGPU is not available in this browser (navigator.gpu is missing${window.isSecureContext ? '' : '; WebGPU needs a secure context: https or localhost'}), so the GPU benchmark cannot run here.`;
    return;
  }
  void gpu.requestAdapter({ powerPreference: 'high-performance' }).then(
    (adapter) => {
      if (adapter === null) {
        panel.dataset['webgpu'] = 'no-adapter';
        status.textContent = 'WebGPU exists in this browser, but it offers no GPU adapter (blocked, or no supported GPU driver), so the GPU benchmark cannot run here.';
        return;
      }
      const i = adapter.info ?? {};
      panel.dataset['webgpu'] = 'available';
      status.textContent = `WebGPU adapter: ${i.description || [i.vendor, i.architecture, i.device].filter((s) => s).join(' ') || 'unnamed'}. The benchmark runs the kernel conformance cases, then a calibration sweep.`;
      button.hidden = false;
    },
    (e: unknown) => {
      panel.dataset['webgpu'] = 'no-adapter';
      status.textContent = `WebGPU exists but requestAdapter failed (${e instanceof Error ? e.message : String(e)}), so the GPU benchmark cannot run here.`;
    },
  );

  let url: string | undefined;
  button.addEventListener('click', () => {
    button.disabled = true;
    download.hidden = true;
    download.setAttribute('aria-disabled', 'true');
    if (url !== undefined) URL.revokeObjectURL(url);
    log.textContent = '';
    panel.dataset['run'] = 'running';
    const line = (s: string) => { log.textContent += `${s}\n`; };
    const worker = new Worker(new URL('./gpuWorker.js', import.meta.url), { type: 'module', name: 'hplb-gpu' });
    const finish = (state: 'done' | 'error') => {
      worker.terminate();
      button.disabled = false;
      panel.dataset['run'] = state;
    };
    worker.onerror = (e) => {
      e.preventDefault();
      line(`the GPU worker failed: ${e.message || 'it could not start'}`);
      finish('error');
    };
    worker.onmessage = (e: MessageEvent<GpuResponse>) => {
      const m = e.data;
      switch (m.type) {
        case 'gpu-case':
          line(`${m.result.status === 'pass' ? 'pass' : m.result.status === 'skip' ? 'skip' : 'FAIL'}  ${m.result.name}${m.result.message ? `: ${m.result.message}` : ''}`);
          status.textContent = `conformance: ${m.done}/${m.total} cases`;
          return;
        case 'gpu-started':
          line(`device: ${m.device}${m.mode ? ` (${m.mode})` : ''}`);
          return;
        case 'gpu-progress':
          status.textContent = `${m.label}: round ${m.done}/${m.total}`;
          return;
        case 'gpu-error':
          status.textContent = m.message;
          finish('error');
          return;
        case 'gpu-done': {
          panel.dataset['passed'] = String(m.passed);
          panel.dataset['failed'] = String(m.failed);
          panel.dataset['skipped'] = String(m.skipped);
          const conf = `conformance: ${m.passed} passed, ${m.failed} failed, ${m.skipped} skipped`;
          if (m.calibration.ok) {
            url = URL.createObjectURL(new Blob([m.calibration.json], { type: 'application/json' }));
            download.href = url;
            download.hidden = false;
            download.setAttribute('aria-disabled', 'false');
            line(m.calibration.summary);
            status.textContent = `${conf}; calibration ready (use it with hplb plan --calibration calibration.json)`;
          } else status.textContent = `${conf}; calibration failed: ${m.calibration.message}`;
          finish(m.failed === 0 && m.calibration.ok ? 'done' : 'error');
          return;
        }
      }
    };
    const req: GpuRequest = { type: 'gpu-run', id: 1, grid: gridFromUrl() };
    worker.postMessage(req);
  });
};
