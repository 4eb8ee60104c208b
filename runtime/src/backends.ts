/**
 * The backend registry of the CLI: every attention backend hplb knows, by name, loaded lazily. Each backend is a
 * workspace package `@hplb/backend-<name>` whose `src/index.ts` exports `createBackend(options?)`; loading one
 * imports it dynamically (so a missing native addon or GPU library never breaks another command) and runs its
 * `init()`. Used by `hplb execute`, `hplb calibrate`, `hplb profile` and examples/bench-kernels.ts, so a new
 * backend works everywhere once its package exists.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';
import { resolveBackend, startBackend, type BackendCandidate, type ResolvedBackend } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel';

/** Registered backends, in default priority order (fastest first). */
export const BACKEND_NAMES = ['cuda', 'webgpu', 'gpujs', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const isBackendName = (s: string): s is BackendName => (BACKEND_NAMES as ReadonlyArray<string>).includes(s);

interface BackendModule {
  createBackend(options?: Record<string, unknown>): AttentionBackend;
}

/** A resolution candidate for one registered backend (import + createBackend). */
export const backendCandidate = (name: BackendName, options?: Record<string, unknown>): BackendCandidate => ({
  name,
  priority: BACKEND_NAMES.length - BACKEND_NAMES.indexOf(name),
  create: async () => {
    const specifier = `@hplb/backend-${name}`;
    const mod = (await import(specifier)) as Partial<BackendModule>;
    if (typeof mod.createBackend !== 'function') throw new Error(`${specifier} does not export createBackend(options)`);
    return mod.createBackend(options);
  },
});

/** Load and start one backend by name; a Left says why it cannot run here. */
export const loadBackend = async (
  name: string, options?: Record<string, unknown>, requires?: AttentionParams,
): Promise<E.Either<HplbError, ResolvedBackend>> => {
  if (!isBackendName(name)) return E.left(hplbError('argument', [issue('--backend', `one of ${BACKEND_NAMES.join('|')}`, name)]));
  return startBackend(backendCandidate(name, options), requires);
};

/** The first registered backend (by priority) that starts and fits `requires`; one error lists every reason. */
export const loadBestBackend = async (
  options?: Partial<Record<BackendName, Record<string, unknown>>>, requires?: AttentionParams,
): Promise<E.Either<HplbError, ResolvedBackend>> =>
  resolveBackend(BACKEND_NAMES.map((n) => backendCandidate(n, options?.[n])), requires);

/**
 * Backend options from CLI flags: `--workers N` maps to the CPU backend's worker threads; `extra` (from
 * `--backend-option key=value`) is passed as is, and wins over `--workers`. Each backend checks its own keys and
 * values (an unknown key or a bad value is refused by its `init()` with the option named).
 */
export const backendOptions = (name: string, workers: number | undefined, extra?: Record<string, unknown>): Record<string, unknown> | undefined => {
  const o: Record<string, unknown> = { ...(name === 'cpu' && workers !== undefined ? { workers } : {}), ...(extra ?? {}) };
  return Object.keys(o).length > 0 ? o : undefined;
};
