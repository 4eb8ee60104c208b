/**
 * The file-system guards of `applyLayout` (and its safetensors reader): inputs are opened only when they are regular
 * files (a FIFO, socket or device is refused at once, never read, so nothing blocks), read and copied in bounded
 * chunks, and compared by real path with the output, which must never be, contain or lie inside an input. Every
 * output folder `applyLayout` writes carries a marker file, and only a folder with that marker is ever replaced.
 * Failures are `HplbError`s naming the file; the chunk readers throw them in a `Refusal` that `applyLayout` returns
 * as a Left.
 */
import { closeSync, lstatSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issueText, parseJson, type HplbError } from '@hplb/core';
import { openRegularFile, type RegularFile } from '@hplb/core/node';

// ---------------------------------------------------------------- model

/** A refusal raised deep in a streamed read or rewrite; `applyLayout` returns it as a Left. */
export class Refusal {
  constructor(readonly error: HplbError) {}
}

/** The marker file `applyLayout` writes into every output folder; `force` replaces only a folder that has it. */
export const OUTPUT_MARKER = '.hplb-output';

/** Default bytes read, permuted and written at a time: tensors are streamed in chunks, never held whole. */
export const DEFAULT_CHUNK_BYTES = 64 * 2 ** 20;

export type { RegularFile };

// ---------------------------------------------------------------- helpers

/** What a path is, in words, for a refusal ("a FIFO", "a directory", ...). */
export const kindOf = (st: Stats): string =>
  st.isFile() ? 'a regular file'
  : st.isDirectory() ? 'a directory'
  : st.isFIFO() ? 'a FIFO (named pipe)'
  : st.isSocket() ? 'a socket'
  : st.isCharacterDevice() ? 'a character device'
  : st.isBlockDevice() ? 'a block device'
  : st.isSymbolicLink() ? 'a symbolic link'
  : 'not a regular file';

/** An errno as words. */
export const ioWords = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file (or a broken symbolic link)';
  if (code === 'EISDIR') return 'a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'a symbolic link loop';
  return oneLine(e instanceof Error ? e.message : String(e));
};

/** Control characters (newlines included) as spaces, so a message stays on one line. */
export const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');

// ---------------------------------------------------------------- operations

/** Open `path` for reading only if it is a regular file: core's one opener (`openRegularFile`), in apply's words. */
export const openRegular = (path: string, expected = 'a regular file'): E.Either<HplbError, RegularFile> => openRegularFile(path, expected, ioWords);

/** Fill `buf[0, length)` from `fd` at `position`; a short file is a Refusal naming `file` and `path`. */
export const readExactly = (fd: number, buf: Uint8Array, length: number, position: number, file: string, path = '$'): void => {
  let at = 0;
  while (at < length) {
    const got = readSync(fd, buf, at, length - at, position + at);
    if (got === 0) throw new Refusal(hplbError('io', [issueText(path, `${length} bytes at offset ${position}`, `the file ends after ${at} (it changed while being read?)`)], file));
    at += got;
  }
};

/**
 * The bytes `[position, position + length)` of `fd`, in chunks of at most `chunkBytes`. The chunk yielded is one
 * reused buffer: consume it before asking for the next.
 */
export function* readChunks(fd: number, position: number, length: number, chunkBytes: number, file: string, path = '$'): Generator<Uint8Array> {
  if (length === 0) return;
  const buf = Buffer.allocUnsafe(Math.min(length, chunkBytes));
  for (let at = 0; at < length; ) {
    const n = Math.min(buf.length, length - at);
    readExactly(fd, buf, n, position + at, file, path);
    yield buf.subarray(0, n);
    at += n;
  }
}

/** `length` zero bytes in chunks of at most `chunkBytes` (padding heads). */
export function* zeroChunks(length: number, chunkBytes: number): Generator<Uint8Array> {
  if (length === 0) return;
  const zeros = new Uint8Array(Math.min(length, chunkBytes));
  for (let at = 0; at < length; at += zeros.length) yield zeros.subarray(0, Math.min(zeros.length, length - at));
}

/** A whole regular text file (UTF-8; a leading BOM is dropped), refusing anything else before reading it. */
export const readRegularText = (file: string): E.Either<HplbError, string> => {
  const f = openRegular(file, 'a readable file');
  if (E.isLeft(f)) return f;
  try {
    const buf = Buffer.allocUnsafe(f.right.size);
    readExactly(f.right.fd, buf, f.right.size, 0, file);
    const text = buf.toString('utf8');
    return E.right(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (e instanceof Refusal) return E.left(e.error);
    return E.left(hplbError('io', [issueText('$', 'a readable file', ioWords(e))], file));
  } finally {
    closeSync(f.right.fd);
  }
};

/** A regular JSON file, parsed totally (the parse message kept on one line). */
export const readRegularJson = (file: string): E.Either<HplbError, unknown> =>
  E.chain((text: string) =>
    E.mapLeft((e: HplbError): HplbError => ({ ...e, issues: e.issues.map((i) => ({ ...i, ...(i.actual !== undefined ? { actual: oneLine(i.actual) } : {}) })) }))(parseJson(text, file)),
  )(readRegularText(file));

/**
 * The real path `path` has or would have: the real path of its deepest existing ancestor (symbolic links resolved)
 * joined with the rest. Used to compare an output with the inputs however either was spelled.
 */
export const realPathOf = (path: string): string => {
  const abs = resolve(path);
  const rest: string[] = [];
  for (let at = abs; ; ) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch {
      const up = dirname(at);
      if (up === at) return abs;
      rest.push(basename(at));
      at = up;
    }
  }
};

/** How `out` meets the input `input` (both real paths): is it, contains it, lies inside it; undefined when apart. */
export const overlap = (out: string, input: string): string | undefined => {
  if (out === input) return 'is';
  const under = (a: string, b: string) => a.startsWith(b.endsWith(sep) ? b : b + sep);
  if (under(input, out)) return 'contains';
  if (under(out, input)) return 'lies inside';
  return undefined;
};

/** lstat, or undefined when nothing is there. */
export const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

/** stat (links followed), or the errno's words. */
export const statFollow = (path: string): Stats | string => {
  try {
    return statSync(path);
  } catch (e) {
    return ioWords(e);
  }
};
