/**
 * The backend registry: every attention backend hplb knows, by name, loaded lazily. Each backend is a package
 * `@hplb/backend-<name>` that exports `createBackend(options?)`; loading one imports it dynamically (so a missing
 * native addon or GPU library never breaks anything else) and runs its `init()`. Platform-neutral: this module
 * imports no Node built-in (it is `@hplb/runtime/backends`, re-exported by the `hplb` facade); which backends
 * load where is each backend package's business (cpu and cuda need Node; webgpu needs a WebGPU implementation).
 * Used by `createBackend` callers, the executor, calibration, `hplb profile` and examples/bench-kernels.ts.
 * Errors name option names and JSON paths (`$.backend`, `$.backends.<name>`), never CLI flags.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';
import { resolveBackend, startBackend, type BackendCandidate, type ResolvedBackend } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel';

// ---------------------------------------------------------------- model

/** Registered backends, in default priority order (fastest first). */
export const BACKEND_NAMES = ['cuda', 'webgpu', 'gpujs', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const isBackendName = (s: string): s is BackendName => (BACKEND_NAMES as ReadonlyArray<string>).includes(s);

export type { ResolvedBackend };

interface BackendModule {
  createBackend(options?: Record<string, unknown>): AttentionBackend;
}

/** Options of `createBackend`. */
export interface CreateBackendOptions {
  /**
   * Options for the backend's own `createBackend`, e.g. `{ workers: 2 }` (cpu), `{ mode: 'cpu' }` (gpujs),
   * `{ idleReleaseMs: 0 }` (webgpu). Each backend checks its keys and values: an unknown key is refused by its
   * `init()` with the option named. For "auto", use `perBackend` instead.
   */
  readonly backendOptions?: Record<string, unknown>;
  /** For "auto": options per backend name. */
  readonly perBackend?: Partial<Record<BackendName, Record<string, unknown>>>;
  /** What the backend must support (tokens, head dim, block size, precision); one that cannot says why. */
  readonly requires?: AttentionParams;
  /** For "auto": the candidates to try, in this priority order (default `BACKEND_NAMES`). */
  readonly candidates?: ReadonlyArray<BackendName>;
}

// ---------------------------------------------------------------- constructors

/** A resolution candidate for one registered backend (dynamic import + the package's createBackend). */
export const backendCandidate = (name: BackendName, options?: Record<string, unknown>): BackendCandidate => ({
  name,
  priority: BACKEND_NAMES.length - BACKEND_NAMES.indexOf(name),
  create: async () => {
    const specifier = `@hplb/backend-${name}`;
    const mod = (await import(/* @vite-ignore */ specifier)) as Partial<BackendModule>;
    if (typeof mod.createBackend !== 'function') throw new Error(`${specifier} does not export createBackend(options)`);
    return mod.createBackend(options);
  },
});

const unknownBackend = (name: string, auto: boolean): HplbError =>
  hplbError('argument', [issue('$.backend', `one of ${BACKEND_NAMES.join('|')}${auto ? '|auto' : ''}`, name)]);

// ---------------------------------------------------------------- operations

/** Load and start one backend by name; a Left says why it cannot run here. */
export const loadBackend = async (
  name: string, options?: Record<string, unknown>, requires?: AttentionParams,
): Promise<E.Either<HplbError, ResolvedBackend>> => {
  if (!isBackendName(name)) return E.left(unknownBackend(name, false));
  return startBackend(backendCandidate(name, options), requires);
};

/** The first registered backend (by priority) that starts and fits `requires`; one error lists every reason. */
export const loadBestBackend = async (
  options?: Partial<Record<BackendName, Record<string, unknown>>>, requires?: AttentionParams, candidates: ReadonlyArray<BackendName> = BACKEND_NAMES,
): Promise<E.Either<HplbError, ResolvedBackend>> =>
  resolveBackend(candidates.map((n, i) => ({ ...backendCandidate(n, options?.[n]), priority: candidates.length - i })), requires);

/**
 * A started attention backend and what it runs on (`info`: name, device, mode), by name, or the best one that
 * starts here with `"auto"` (cuda, then webgpu, gpujs, cpu, as onnxruntime resolves its execution providers).
 * A Left says why: an unknown name (`$.backend`), or every candidate's reason (`$.backends.<name>`). The caller
 * owns the backend: `await backend.dispose()` when done.
 *
 * @example
 *   const r = await createBackend('cpu', { backendOptions: { workers: 2 } });
 *   if (r._tag === 'Left') throw new Error(formatError(r.left));
 *   const { backend, info } = r.right;   // info.device: "AMD EPYC (2 cores) ..."
 */
export const createBackend = async (name: BackendName | 'auto' | (string & {}), options: CreateBackendOptions = {}): Promise<E.Either<HplbError, ResolvedBackend>> => {
  if (name === 'auto') {
    for (const c of options.candidates ?? []) if (!isBackendName(c)) return E.left(unknownBackend(c, false));
    return loadBestBackend(options.perBackend, options.requires, options.candidates ?? BACKEND_NAMES);
  }
  if (!isBackendName(name)) return E.left(unknownBackend(name, true));
  return loadBackend(name, options.backendOptions ?? options.perBackend?.[name], options.requires);
};

/**
 * Backend options from separate settings: `workers` maps to the CPU backend's worker threads; `extra` is passed
 * as is and wins over `workers`. Each backend checks its own keys and values.
 */
export const backendOptions = (name: string, workers: number | undefined, extra?: Record<string, unknown>): Record<string, unknown> | undefined => {
  const o: Record<string, unknown> = { ...(name === 'cpu' && workers !== undefined ? { workers } : {}), ...(extra ?? {}) };
  return Object.keys(o).length > 0 ? o : undefined;
};
