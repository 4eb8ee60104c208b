/**
 * The CLI edge: where errors become text. Every command returns an exit code; failures print one clear message
 * (file, JSON path, what was expected) to stderr, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, hplbError, issue, issueText, parseJson, type HplbError } from '@hplb/core';

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

export const readText = (file: string): E.Either<HplbError, string> => {
  try {
    return E.right(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : e instanceof Error ? e.message : String(e);
    return E.left(hplbError('io', [issueText('$', 'a readable file', what)], file));
  }
};

export const readJson = (file: string): E.Either<HplbError, unknown> => E.chain((text: string) => parseJson(text, file))(readText(file));

export const renderFailure = (f: CliFailure): string => `hplb: ${formatError(f.error)}\n`;
