/**
 * The WebGPU device layer, platform-neutral: where the `GPU` object comes from (`GpuProvider`: Dawn in Node via
 * `dawn.ts`, `navigator.gpu` in browsers via `browser.ts`, or any injected one), adapters and devices on top of it,
 * and the adapter facts reported in `BackendInfo`. Used by `backend.ts`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, type HplbError } from '@hplb/core';

/** WebGPU's numeric flags (spec values), so nothing depends on `webgpu`'s globals being installed. */
export const BufferUsage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
export const MapMode = { READ: 0x0001 } as const;

/** Where the backend's `GPU` object comes from. */
export interface GpuProvider {
  /** The WebGPU entry object (Dawn's `GPU`, `navigator.gpu`, …), or why there is none. */
  gpu(): Promise<E.Either<HplbError, GPU>>;
  /** What is missing when the GPU object offers no adapter, in words a user can act on. */
  diagnoseNoAdapter(): string;
  /** Where the GPU object comes from, reported in `BackendInfo.details.gpu` (e.g. "npm webgpu (Dawn)"). */
  readonly label: string;
}

/** One backend issue; `actual` is kept whole (core's `issue()` shortens long strings, and these are the diagnosis). */
export const backendIssue = (expected: string, actual: string): HplbError => hplbError('backend', [{ path: '$.backends.webgpu', expected, actual }]);

const reason = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/** A provider for a `GPU` object the caller already has (e.g. `navigator.gpu`, or Dawn's `create([])`). */
export const injectedGpu = (gpu: GPU, label = 'an injected GPU object', diagnose = 'the injected GPU object offers no adapter'): GpuProvider => ({
  gpu: async () => E.right(gpu),
  diagnoseNoAdapter: () => diagnose,
  label,
});

/** Adapter facts for `BackendInfo`. */
export interface AdapterFacts {
  readonly device: string;
  readonly details: Record<string, string | number | boolean>;
}

export const adapterFacts = (a: GPUAdapter): AdapterFacts => {
  const i = a.info;
  const name = i.description || [i.vendor, i.architecture, i.device].filter((s) => s !== '').join(' ') || 'unknown adapter';
  // Software rasterizers: lavapipe / llvmpipe (Mesa), SwiftShader (Chromium's fallback adapter).
  const fallback = (i as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const software = i.architecture === 'software' || fallback || /llvmpipe|lavapipe|swiftshader/i.test(`${i.architecture} ${i.device} ${i.description}`);
  return {
    device: name,
    details: {
      vendor: i.vendor,
      architecture: i.architecture,
      adapter: i.device,
      description: i.description,
      softwareRasterizer: software,
      maxWorkgroupStorageBytes: a.limits.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingBytes: a.limits.maxStorageBufferBindingSize,
      maxWorkgroupsPerDimension: a.limits.maxComputeWorkgroupsPerDimension,
    },
  };
};

/** An adapter from the provider's GPU object, or why there is none. */
export const requestAdapter = async (provider: GpuProvider, powerPreference: GPUPowerPreference): Promise<E.Either<HplbError, GPUAdapter>> => {
  const gpu = await provider.gpu();
  if (E.isLeft(gpu)) return gpu;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.right.requestAdapter({ powerPreference });
  } catch (e) {
    return E.left(backendIssue('a WebGPU adapter', `requestAdapter failed: ${reason(e)}; ${provider.diagnoseNoAdapter()}`));
  }
  if (adapter === null) return E.left(backendIssue(`a WebGPU adapter from ${provider.label}`, provider.diagnoseNoAdapter()));
  return E.right(adapter);
};

/** A device with the adapter's full storage limits (the defaults cap workgroup memory at 16 KiB). */
export const requestDevice = async (adapter: GPUAdapter): Promise<E.Either<HplbError, GPUDevice>> => {
  const l = adapter.limits;
  try {
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
      },
    });
    return E.right(device);
  } catch (e) {
    return E.left(backendIssue('a WebGPU device from the adapter', `requestDevice failed: ${reason(e)}`));
  }
};
