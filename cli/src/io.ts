/**
 * The CLI edge: where errors become text. Every command returns an exit code; failures print one clear message
 * (file, JSON path, what was expected) to stderr, never a stack trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readTextFile } from 'hplb/node';
import { formatError, hplbError, issue, issueText, parseJson, type HplbError } from 'hplb';
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** True when stderr is a terminal (progress bars are drawn only then, or when forced). */
  readonly tty: boolean;
  readonly cwd: string;
}

export const processIo = (): Io => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
});

/** A failed command: exit code 2 for usage errors, 1 for everything else. */
export class CliFailure {
  constructor(readonly error: HplbError, readonly exitCode = 1) {}
}

export const argumentError = (path: string, expected: string, actual?: unknown): CliFailure =>
  new CliFailure(hplbError('argument', [issue(path, expected, actual)]), 2);

/** Unwrap an Either at the edge, turning Left into a CliFailure (caught by `main`). */
export const orFail = <A>(e: E.Either<HplbError, A>, exitCode = 1): A => {
  if (E.isLeft(e)) throw new CliFailure(e.left, exitCode);
  return e.right;
};

/** A Left `io` error of the reader at `$`, said of the flag that named the file instead. */
const atFlag = (flag: string | undefined) => (e: HplbError): HplbError =>
  flag === undefined || e.code !== 'io' ? e : { ...e, issues: e.issues.map((i) => (i.path === '$' ? { ...i, path: flag } : i)) };

/**
 * Read a text file through the library's one reader (`readTextFile`: a Left `io` names the file and says "no such
 * file", "a directory", "a FIFO …"; anything but a regular file is refused at once, never waited on; a UTF-8 byte
 * order mark is dropped). `flag`, when given, is the flag that named the file: a read error is said of it.
 */
export const readText = (file: string, flag?: string): E.Either<HplbError, string> => E.mapLeft(atFlag(flag))(readTextFile(file));

/** Read and parse a JSON file (`readText`, then the library's `parseJson`: a BOM is accepted, errors are one line). */
export const readJson = (file: string, flag?: string): E.Either<HplbError, unknown> => E.chain((text: string) => parseJson(text, file))(readText(file, flag));

// ------------------------------------------------------------------------------------------------ output guard

/** A path the user named, with the flag (or positional name) that named it. */
export interface PathArg {
  readonly flag: string;
  readonly path: string;
}

/** `p` (relative to `cwd`) with every symlink of its existing part resolved; the part that does not exist yet is appended. */
export const realPath = (cwd: string, p: string): string => {
  let head = resolve(cwd, p);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail);
    } catch {
      const parent = dirname(head);
      if (parent === head) return join(head, ...tail);
      tail.unshift(basename(head));
      head = parent;
    }
  }
};

/** Whether two existing paths are one file (a hard link, or a name on a case-insensitive file system). */
const sameFile = (a: string, b: string): boolean => {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
};

const inside = (child: string, parent: string): boolean => child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/**
 * Refuse, before anything is written, an output that is, contains or lies inside any input (compared as real
 * paths: symlinks of the existing part resolved, hard links by identity; relative outputs under `cwd`, relative
 * inputs under the process's working directory, where the readers open them). Throws a CliFailure (exit 2) whose one
 * line names the output flag, the input flag and the path. Every command that writes calls it with every file it
 * will write and every file it reads.
 */
export const refuseOverwritingInputs = (cwd: string, outputs: ReadonlyArray<PathArg>, inputs: ReadonlyArray<PathArg | undefined>): void => {
  // A relative input is opened by the readers from the process's working directory; a relative output is put under `cwd`.
  const ins = inputs.filter((i): i is PathArg => i !== undefined && i.path !== '').map((i) => ({ ...i, real: realPath(process.cwd(), i.path) }));
  for (const o of outputs) {
    const out = realPath(cwd, o.path);
    for (const i of ins) {
      const relation = out === i.real || sameFile(out, i.real) ? 'is' : inside(i.real, out) ? 'contains' : inside(out, i.real) ? 'lies inside' : undefined;
      if (relation === undefined) continue;
      throw new CliFailure(hplbError('argument', [issueText(o.flag, `an output apart from every input (hplb never overwrites what it reads; choose another ${o.flag})`, `${o.path}, which ${relation} the ${i.flag} input ${i.path}`)]), 2);
    }
  }
};

export const renderFailure = (f: CliFailure): string => `hplb: ${formatError(f.error)}\n`;
