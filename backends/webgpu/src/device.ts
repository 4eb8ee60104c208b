/**
 * The WebGPU device layer: ONE Dawn `GPU` object per process (from the npm `webgpu` package), adapters and devices
 * on top of it, and the diagnosis of what is missing when no adapter is found. Used by `backend.ts`.
 *
 * Two Dawn-on-Node facts shape this module:
 *   - the `GPU` object returned by `create([])` must stay reachable for the whole process: when it is garbage
 *     collected while devices exist the process segfaults. It lives in a module-level variable that is never
 *     cleared;
 *   - a live `GPUDevice` keeps Node's event loop alive (its `lost` promise is pending): a process that never
 *     destroys its devices never exits. `backend.ts` destroys its device on `dispose()` and after an idle period.
 *
 * The `webgpu` package is imported lazily, so importing this module never loads native code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, type HplbError } from '@hplb/core';

/** WebGPU's numeric flags (spec values), so nothing depends on `webgpu`'s globals being installed. */
export const BufferUsage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
export const MapMode = { READ: 0x0001 } as const;

/** The process-wide Dawn instance. Never cleared: see the module doc. */
let gpuInstance: GPU | undefined;
/** Why loading failed, kept so every later init() gives the same answer quickly. */
let loadFailure: HplbError | undefined;

/** One backend issue; `actual` is kept whole (core's `issue()` shortens long strings, and these are the diagnosis). */
const here = (expected: string, actual: string): HplbError => hplbError('backend', [{ path: '$.backends.webgpu', expected, actual }]);

const reason = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/** The Dawn `GPU` object, created on first use. */
export const dawn = async (): Promise<E.Either<HplbError, GPU>> => {
  if (gpuInstance !== undefined) return E.right(gpuInstance);
  if (loadFailure !== undefined) return E.left(loadFailure);
  try {
    const mod = (await import('webgpu')) as { create(flags: string[]): GPU };
    gpuInstance = mod.create([]);
    return E.right(gpuInstance);
  } catch (e) {
    loadFailure = here(
      `the npm package "webgpu" (Dawn) with a native binary for ${process.platform}-${process.arch}`,
      `${reason(e)}; run \`npm ci\` in the repository root (dawn.node ships for linux-x64, darwin-universal and win32-x64)`,
    );
    return E.left(loadFailure);
  }
};

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** The installed version of a Debian package, or undefined (not Debian, or not installed). */
const debVersion = (pkg: string): string | undefined => {
  try {
    const v = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
};

/**
 * What is missing for Dawn to find an adapter, in words a user can act on: the Vulkan loader, a Vulkan driver
 * (lavapipe from Mesa ≥ 25 on a machine without a GPU), or the platform's native API.
 */
export const diagnoseNoAdapter = (): string => {
  const setup = 'run `bash scripts/setup-system.sh` (Debian/Ubuntu: installs libvulkan1 and mesa-vulkan-drivers ≥ 25 from bookworm-backports)';
  if (process.platform === 'darwin') return 'Dawn found no Metal adapter (macOS 11+ on a Mac with a Metal GPU is required)';
  if (process.platform === 'win32') return 'Dawn found no D3D12 or Vulkan adapter: install your GPU vendor\'s driver (or a Vulkan driver such as Mesa lavapipe)';
  if (process.platform !== 'linux') return `WebGPU through Dawn is not supported on ${process.platform}`;
  const missing: string[] = [];
  const loader = LIB_DIRS.some((d) => existsSync(`${d}/libvulkan.so.1`));
  if (!loader) missing.push('the Vulkan loader libvulkan.so.1 (Debian package libvulkan1)');
  const icds = ICD_DIRS.flatMap((d) => { try { return readdirSync(d).filter((f) => f.endsWith('.json')); } catch { return []; } });
  if (icds.length === 0) missing.push(`a Vulkan driver: no ICD file in ${ICD_DIRS.join(', ')} (Debian package mesa-vulkan-drivers provides lavapipe, lvp_icd.*.json)`);
  const mesa = debVersion('mesa-vulkan-drivers');
  if (mesa !== undefined && !/^(2[5-9]|[3-9]\d)\./.test(mesa)) missing.push(`Mesa ≥ 25 (mesa-vulkan-drivers ${mesa} is installed; its lavapipe lacks what Dawn needs)`);
  if (missing.length === 0) {
    const vk = process.env['VK_ICD_FILENAMES'] ?? process.env['VK_DRIVER_FILES'];
    return `Dawn found no Vulkan adapter although a loader and ICDs (${icds.join(', ')}) are present${vk ? ` (VK_ICD_FILENAMES/VK_DRIVER_FILES=${vk} restricts the drivers)` : ''}; run \`vulkaninfo --summary\` (package vulkan-tools) to see what the loader finds`;
  }
  return `missing ${missing.join('; ')}; ${setup}`;
};

/** Adapter facts for `BackendInfo`. */
export interface AdapterFacts {
  readonly device: string;
  readonly details: Record<string, string | number | boolean>;
}

export const adapterFacts = (a: GPUAdapter): AdapterFacts => {
  const i = a.info;
  const name = i.description || [i.vendor, i.architecture, i.device].filter((s) => s !== '').join(' ') || 'unknown adapter';
  const software = i.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${i.device} ${i.description}`);
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

/** An adapter from the shared Dawn instance, or why there is none. */
export const requestAdapter = async (powerPreference: GPUPowerPreference): Promise<E.Either<HplbError, GPUAdapter>> => {
  const gpu = await dawn();
  if (E.isLeft(gpu)) return gpu;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.right.requestAdapter({ powerPreference });
  } catch (e) {
    return E.left(here('a WebGPU adapter', `requestAdapter failed: ${reason(e)}; ${diagnoseNoAdapter()}`));
  }
  if (adapter === null) return E.left(here('a WebGPU adapter (Dawn: Vulkan on Linux, Metal on macOS, D3D12 on Windows)', diagnoseNoAdapter()));
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
    return E.left(here('a WebGPU device from the adapter', `requestDevice failed: ${reason(e)}`));
  }
};
