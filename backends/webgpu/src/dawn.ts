/**
 * The Dawn `GPU` provider (Node only): ONE Dawn `GPU` object per process (from the npm `webgpu` package), and the
 * diagnosis of what is missing when it finds no adapter. What `@hplb/backend-webgpu` uses in Node (`index.ts`);
 * browsers use `navigator.gpu` instead (`browser.ts`).
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
import type { HplbError } from '@hplb/core';
import { backendIssue, type GpuProvider } from './device.ts';

const reason = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/** The process-wide Dawn instance. Never cleared: see the module doc. */
let gpuInstance: GPU | undefined;
/** Why loading failed, kept so every later init() gives the same answer quickly. */
let loadFailure: HplbError | undefined;

/** The Dawn `GPU` object, created on first use. */
export const dawn = async (): Promise<E.Either<HplbError, GPU>> => {
  if (gpuInstance !== undefined) return E.right(gpuInstance);
  if (loadFailure !== undefined) return E.left(loadFailure);
  try {
    const mod = (await import('webgpu')) as { create(flags: string[]): GPU };
    gpuInstance = mod.create([]);
    return E.right(gpuInstance);
  } catch (e) {
    loadFailure = backendIssue(
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

/** Dawn as a `GpuProvider`: the shared process-wide instance. */
export const dawnProvider: GpuProvider = {
  gpu: dawn,
  diagnoseNoAdapter,
  label: 'npm webgpu (Dawn)',
};
