/**
 * Atomic file output for the edge (CLI, writers): write to a temp file in the same directory, fsync, rename.
 * A reader never sees a half-written plan, and an interrupted write leaves the old file intact. `writeFilesAtomic`
 * does the same for a set of files (plan.json, plan.svg, plan-frontier.svg): every file is written to a temporary
 * name first and only then are they all renamed, under a lock, so two runs into one folder never leave a mixed set.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, issueText, type HplbError } from '../errors.ts';

/** One file of a set: where it goes and its bytes. */
export interface FileToWrite {
  readonly path: string;
  readonly data: string | Uint8Array;
}

let tmpCounter = 0;
/** A temporary name beside `path` that no other writer (process or call) uses. */
const tmpName = (path: string): string =>
  join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${++tmpCounter}-${Math.random().toString(36).slice(2, 10)}`);

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const ioError = (path: string, e: unknown): HplbError =>
  hplbError('io', [issue('$', 'a writable file', message(e))], path);

/** Write `data` to a new temporary file beside `path` (created exclusively, fsynced); returns its name. */
const writeTemp = (path: string, data: string | Uint8Array): string => {
  const tmp = tmpName(path);
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
};

const isDirectory = (path: string): boolean => {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
};

const removeQuietly = (paths: ReadonlyArray<string>): void => {
  for (const p of paths) {
    try { rmSync(p, { force: true }); } catch { /* nothing left to clean */ }
  }
};

/** Make a directory's renames durable where the platform allows it (best effort). */
const syncDir = (dir: string): void => {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* not supported here (e.g. Windows) */ }
};

export const writeFileAtomic = (path: string, data: string | Uint8Array): E.Either<HplbError, string> => {
  let tmp: string | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    tmp = writeTemp(path, data);
    renameSync(tmp, path);
    return E.right(path);
  } catch (e) {
    if (tmp !== undefined) removeQuietly([tmp]);
    return E.left(ioError(path, e));
  }
};

/** Stable JSON for output files: 2-space indent, trailing newline. */
export const writeJsonAtomic = (path: string, value: unknown): E.Either<HplbError, string> =>
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');

// ------------------------------------------------------------------------------------------------ sets of files

/** How long a writer waits for another writer's lock on the same set before giving up. */
const LOCK_WAIT_MS = 30_000;
/** A lock older than this is a crashed writer's (a set's renames take milliseconds). */
const LOCK_STALE_MS = 60_000;

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const processAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether the lock file at `lock` was left by a writer that is gone (dead process on this machine, or too old). */
const staleLock = (lock: string): boolean => {
  try {
    const age = Date.now() - statSync(lock).mtimeMs;
    if (age > LOCK_STALE_MS) return true;
    const [host, pid] = readFileSync(lock, 'utf8').trim().split(' ');
    return host === lockHost() && age > 1000 && !processAlive(Number(pid));
  } catch {
    return false; // gone already, or being written: try again
  }
};

const lockHost = (): string => hostname();

/** Take the lock file `lock` (created exclusively), waiting for another writer; returns a release function. */
const takeLock = (lock: string): (() => void) => {
  const until = Date.now() + LOCK_WAIT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      const fd = openSync(lock, 'wx');
      try { writeSync(fd, `${lockHost()} ${process.pid}\n`); } finally { closeSync(fd); }
      return () => removeQuietly([lock]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (staleLock(lock)) {
      removeQuietly([lock]);
      continue;
    }
    if (Date.now() > until) throw new Error(`another hplb run holds ${lock} (remove it if no hplb is running)`);
    sleepSync(wait);
  }
};

/**
 * Write a set of files as one: every file goes to a temporary name in its own directory first (fsynced); only when
 * all are written are they renamed into place, one after another, under a lock file beside the first (so a set
 * written by another run at the same time never interleaves with this one). If anything fails before the renames,
 * the temporaries are removed and nothing is written. Right: the paths written.
 */
export const writeFilesAtomic = (files: ReadonlyArray<FileToWrite>): E.Either<HplbError, string[]> => {
  if (files.length === 0) return E.right([]);
  const abs = files.map((f) => resolve(f.path));
  const dup = abs.find((p, i) => abs.indexOf(p) !== i);
  if (dup !== undefined) return E.left(hplbError('io', [issueText('$', 'distinct paths for the files of one set', `${dup} twice`)], dup));
  const temps: string[] = [];
  let current = abs[0]!;
  try {
    for (const [i, f] of files.entries()) {
      current = abs[i]!;
      // A folder where a file goes would fail its rename: found now, before any file of the set is replaced.
      if (isDirectory(current)) throw new Error('a folder is in the way of this file');
      mkdirSync(dirname(current), { recursive: true });
      temps.push(writeTemp(current, f.data));
    }
  } catch (e) {
    removeQuietly(temps);
    return E.left(ioError(current, e));
  }
  const first = abs[0]!;
  let release: () => void;
  try {
    release = takeLock(join(dirname(first), `.${basename(first)}.lock`));
  } catch (e) {
    removeQuietly(temps);
    return E.left(ioError(first, e));
  }
  let renamed = 0;
  try {
    for (; renamed < temps.length; renamed++) {
      current = abs[renamed]!;
      renameSync(temps[renamed]!, current);
    }
  } catch (e) {
    removeQuietly(temps.slice(renamed));
    return E.left(ioError(current, e));
  } finally {
    release();
  }
  for (const d of new Set(abs.map((p) => dirname(p)))) syncDir(d);
  return E.right(abs);
};
