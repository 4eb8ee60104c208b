/**
 * Atomic file output for the edge (CLI, writers): write to a temp file in the same directory, fsync, rename.
 * A reader never sees a half-written plan, and an interrupted write leaves the old file intact.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError } from '../errors.ts';

export const writeFileAtomic = (path: string, data: string | Uint8Array): E.Either<HplbError, string> => {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return E.right(path);
  } catch (e) {
    try { rmSync(tmp, { force: true }); } catch { /* nothing left to clean */ }
    return E.left(hplbError('io', [issue('$', 'a writable file', e instanceof Error ? e.message : String(e))], path));
  }
};

/** Stable JSON for output files: 2-space indent, trailing newline. */
export const writeJsonAtomic = (path: string, value: unknown): E.Either<HplbError, string> =>
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
