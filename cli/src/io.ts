/**
 * The CLI edge: where errors become text. Every command returns an exit code; failures print one clear message
 * (file, JSON path, what was expected) to stderr, never a stack trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readTextFile } from '@hplb/core/node';
import { formatError, hplbError, issue, parseJson, type HplbError } from '@hplb/core';

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

/** Read a text file (the library's reader: a Left `io` names the file and says "no such file" / "a directory"). */
export const readText = readTextFile;

export const readJson = (file: string): E.Either<HplbError, unknown> => E.chain((text: string) => parseJson(text, file))(readText(file));

export const renderFailure = (f: CliFailure): string => `hplb: ${formatError(f.error)}\n`;
