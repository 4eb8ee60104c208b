/**
 * The backend registry of the CLI: every attention backend hplb knows, by name, loaded lazily. Each backend is a
 * workspace package `@hplb/backend-<name>` whose `src/index.ts` exports `createBackend(options?)`; loading one
 * imports it dynamically (so a missing native addon or GPU library never breaks another command) and runs its
 * `init()`. Used by `hplb execute`, `hplb calibrate`, `hplb profile` and examples/bench-kernels.ts, so a new
 * backend works everywhere once its package exists.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '@hplb/core';
import { resolveBackend, startBackend, type BackendCandidate, type ResolvedBackend } from '@hplb/core/kernel/resolve.ts';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel/types.ts';
import { argumentError } from './io.ts';

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

export const BACKEND_OPTION_FLAG = '--backend-option';
const OPTION_EXPECTED = 'key=value backend options (repeatable or comma-separated, e.g. mode=cpu or idleReleaseMs=0)';

/** A value as typed: true/false → boolean, a decimal number → number, anything else → the string. */
const optionValue = (v: string): unknown =>
  v === 'true' ? true : v === 'false' ? false : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : v;

/** Parse `key=value[,key=value...]` items; a malformed item or a repeated key throws a CliFailure naming it. */
export const parseBackendOptions = (items: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const item of items)
    for (const pair of item.split(',')) {
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq).trim() : '';
      const value = eq > 0 ? pair.slice(eq + 1).trim() : '';
      if (key === '' || value === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw argumentError(BACKEND_OPTION_FLAG, OPTION_EXPECTED, pair);
      if (out[key] !== undefined) throw argumentError(BACKEND_OPTION_FLAG, `each backend option once (${key} is given twice)`, pair);
      out[key] = optionValue(value);
    }
  return out;
};

/**
 * Take every `--backend-option X` / `--backend-option=X` out of argv (the shared flag parser keeps one value per
 * flag; this one is repeatable): the remaining argv for `parseArgs`, and the parsed options (undefined when none).
 */
export const takeBackendOptions = (argv: ReadonlyArray<string>): { argv: string[]; options: Record<string, unknown> | undefined } => {
  const rest: string[] = [];
  const items: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    if (a === BACKEND_OPTION_FLAG) {
      const v = argv[++i];
      if (v === undefined) throw argumentError(BACKEND_OPTION_FLAG, OPTION_EXPECTED);
      items.push(v);
    } else if (a.startsWith(`${BACKEND_OPTION_FLAG}=`)) items.push(a.slice(BACKEND_OPTION_FLAG.length + 1));
    else rest.push(a);
  }
  return { argv: rest, options: items.length > 0 ? parseBackendOptions(items) : undefined };
};
