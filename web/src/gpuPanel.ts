/**
 * The "benchmark this GPU" panel: where `navigator.gpu` gives an adapter, it offers to run the WebGPU conformance
 * subset and a calibration sweep on the visitor's GPU; where it does not, it says so and why.
 */

const $ = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page lacks #${id}`);
  return e;
};

interface NavigatorGpu {
  readonly gpu?: { requestAdapter(o?: { powerPreference?: string }): Promise<{ readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string } } | null> };
}

export const setupGpuPanel = (): void => {
  const status = $('gpu-status');
  const panel = $('gpu-panel');
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
      status.textContent = `WebGPU adapter: ${i.description || [i.vendor, i.architecture, i.device].filter((s) => s).join(' ') || 'unnamed'}`;
    },
    (e: unknown) => {
      panel.dataset['webgpu'] = 'no-adapter';
      status.textContent = `WebGPU exists but requestAdapter failed: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
};
