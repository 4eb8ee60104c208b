/** Reading a text file as a value: a Left `io` error names the file and says what was wrong. */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issueText, type HplbError } from '../errors.ts';

/** Read a text file; Left `io` names the file ("no such file", "a directory"). */
export const readTextFile = (file: string): E.Either<HplbError, string> => {
  try {
    return E.right(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : e instanceof Error ? e.message : String(e);
    return E.left(hplbError('io', [issueText('$', 'a readable file', what)], file));
  }
};
