/**
 * Reading a text file as a value: a Left `io` error names the file and says what was wrong. The one text reader of
 * the Node edge (profiles, config.json, plan.json, calibration files, engine layouts all come through it).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issueText, type HplbError } from '../errors.ts';

/** What a file that is not a regular file is, in words (a FIFO would block a reader forever; a device never ends). */
const fileKind = (st: Stats): string | undefined =>
  st.isFile() ? undefined
    : st.isDirectory() ? 'a directory'
      : st.isFIFO() ? 'a FIFO (named pipe), not a regular file'
        : st.isSocket() ? 'a socket, not a regular file'
          : st.isCharacterDevice() ? 'a character device, not a regular file'
            : st.isBlockDevice() ? 'a block device, not a regular file'
              : 'not a regular file';

/** A UTF-8 byte order mark, as the first character of decoded text. */
const BOM = '\uFEFF';

/** An errno of opening or reading a file, in words. */
const errnoWords = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  // ENXIO: a Unix socket (it cannot be opened as a file).
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'ENXIO' ? 'a socket or device without a reader, not a regular file' : code === 'EACCES' ? 'a file without read permission' : errorMessage(e);
};

/** An open regular file: its descriptor (the caller closes it) and size. */
export interface RegularFile {
  readonly fd: number;
  readonly size: number;
}

/**
 * Open `file` for reading only if it is a regular file (symbolic links followed): opened without blocking and checked
 * with fstat before a byte is read, so a FIFO never blocks and a device is never read. Left `io` names the file and
 * says what it is instead (`expected` is what the caller wanted; `words` turns an errno into words). The one opener
 * of the Node edge: `readTextFile` and the checkpoint rewrite's readers (@hplb/engines) both use it.
 */
export const openRegularFile = (file: string, expected = 'a readable file', words: (e: unknown) => string = errnoWords): E.Either<HplbError, RegularFile> => {
  const fail = (what: string) => E.left(hplbError('io', [issueText('$', expected, what)], file));
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer returns at once (a plain open would wait for one). Absent on Windows.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return fail(words(e));
  }
  try {
    const st = fstatSync(fd);
    const kind = fileKind(st);
    if (kind === undefined) return E.right({ fd, size: st.size });
    closeSync(fd);
    return fail(kind);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    return fail(words(e));
  }
};

/**
 * Read a text file; Left `io` names the file ("no such file", "a directory", "a FIFO (named pipe), …"). The file is
 * opened by `openRegularFile`, so a FIFO or a device never hangs the caller. A leading UTF-8 byte order mark is dropped.
 */
export const readTextFile = (file: string): E.Either<HplbError, string> => {
  const opened = openRegularFile(file);
  if (E.isLeft(opened)) return opened;
  const { fd } = opened.right;
  try {
    const text = readFileSync(fd, 'utf8');
    return E.right(text.startsWith(BOM) ? text.slice(1) : text);
  } catch (e) {
    return E.left(hplbError('io', [issueText('$', 'a readable file', errnoWords(e))], file));
  } finally {
    try { closeSync(fd); } catch { /* already closed */ }
  }
};

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
