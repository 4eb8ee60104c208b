/**
 * Backend resolution by priority with capability checks (onnxruntime's `resolveBackend` pattern). Candidates are
 * tried in priority order (highest first, then list order); the first one whose capabilities fit the requirements
 * and whose `init()` succeeds wins. When none can start, ONE error lists every candidate's reason. Used by the CLI
 * backend registry (`runtime/src/backends.ts`) and anyone embedding hplb. Total: thrown errors become reasons.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError, type Issue } from '../errors.ts';
import { checkCapabilities } from './params.ts';
import type { AttentionBackend, AttentionParams, BackendInfo } from './types.ts';

/** One candidate backend: how to create it (creation may fail, e.g. a missing native addon). */
export interface BackendCandidate {
  readonly name: string;
  /** Higher is tried first; default 0. */
  readonly priority?: number;
  readonly create: () => AttentionBackend | Promise<AttentionBackend> | Promise<E.Either<HplbError, AttentionBackend>>;
}

export interface ResolvedBackend {
  readonly backend: AttentionBackend;
  readonly info: BackendInfo;
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isEither = (x: unknown): x is E.Either<HplbError, AttentionBackend> =>
  typeof x === 'object' && x !== null && '_tag' in x && ((x as { _tag: unknown })._tag === 'Left' || (x as { _tag: unknown })._tag === 'Right');

/** Create + capability-check + init one candidate; a Left carries its reason(s). */
export const startBackend = async (c: BackendCandidate, requires?: AttentionParams): Promise<E.Either<HplbError, ResolvedBackend>> => {
  let backend: AttentionBackend;
  try {
    const made = await c.create();
    if (isEither(made)) {
      if (E.isLeft(made)) return made;
      backend = made.right;
    } else backend = made;
  } catch (e) {
    return E.left(hplbError('backend', [issue(`$.backends.${c.name}`, 'a backend that loads', reasonOf(e))]));
  }
  if (requires !== undefined) {
    const caps = checkCapabilities(backend.capabilities, requires, c.name);
    if (E.isLeft(caps)) return E.left(hplbError('backend', caps.left.issues.map((i) => ({ ...i, path: `$.backends.${c.name}${i.path.slice(1)}` }))));
  }
  try {
    const info = await backend.init();
    if (E.isLeft(info)) return E.left(hplbError('backend', info.left.issues.map((i) => ({ ...i, path: i.path.startsWith('$.backends.') ? i.path : `$.backends.${c.name}` }))));
    return E.right({ backend, info: info.right });
  } catch (e) {
    return E.left(hplbError('backend', [issue(`$.backends.${c.name}`, 'a backend whose init() succeeds', reasonOf(e))]));
  }
};

/**
 * Try candidates by priority; return the first that starts, or one error with every candidate's reason
 * (`$.backends.<name>: expected ..., got <reason>`).
 */
export const resolveBackend = async (
  candidates: ReadonlyArray<BackendCandidate>,
  requires?: AttentionParams,
): Promise<E.Either<HplbError, ResolvedBackend>> => {
  if (candidates.length === 0) return E.left(hplbError('backend', [issue('$.backends', 'at least one candidate backend', 'none')]));
  const ordered = candidates.map((c, i) => ({ c, i })).sort((a, b) => (b.c.priority ?? 0) - (a.c.priority ?? 0) || a.i - b.i);
  const reasons: Issue[] = [];
  for (const { c } of ordered) {
    const r = await startBackend(c, requires);
    if (E.isRight(r)) return r;
    reasons.push(...r.left.issues);
  }
  return E.left(hplbError('backend', reasons));
};
