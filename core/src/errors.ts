/**
 * Errors as values. Everything in `core/` is total: it returns `Either<HplbError, A>` and never throws.
 * Errors become text only at the edge (CLI / API) through `formatError`, which names the file, the JSON path
 * inside it and what was expected, in one line and without a stack trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { brandWords } from './brand.ts';

/** One problem with one value: where it is and what was expected there. */
export interface Issue {
  /** JSON path inside the input, `$` for the root, e.g. `$[3]["17"][1]` or `$.budgets[2][5]`. */
  readonly path: string;
  /** What the input should have held at `path`, in words a user understands. */
  readonly expected: string;
  /** A short rendering of what it held instead (absent when not meaningful). */
  readonly actual?: string;
}

export type ErrorCode =
  | 'io' // file missing, unreadable, unwritable
  | 'parse' // not valid JSON / TSV
  | 'decode' // valid syntax, wrong shape or values
  | 'format' // unknown format name
  | 'invalid-plan' // plan fails the independent validator
  | 'infeasible' // a constraint set that cannot be satisfied
  | 'argument' // bad CLI / API argument
  | 'backend' // a kernel backend cannot start or run
  | 'internal';

export interface HplbError {
  readonly code: ErrorCode;
  /** File the problem is in, when it came from a file. */
  readonly file?: string;
  /** Every problem found (at least one). */
  readonly issues: ReadonlyArray<Issue>;
}

export const hplbError = (code: ErrorCode, issues: ReadonlyArray<Issue>, file?: string): HplbError =>
  file === undefined ? { code, issues } : { code, issues, file };

export const issue = (path: string, expected: string, actual?: unknown): Issue =>
  actual === undefined ? { path, expected } : { path, expected, actual: show(actual) };

/** An issue whose `actual` is already words (e.g. "an empty file", "31 layers"), shown as is rather than quoted. */
export const issueText = (path: string, expected: string, actualText: string): Issue => ({ path, expected, actual: actualText });

export const fail = <A = never>(code: ErrorCode, path: string, expected: string, actual?: unknown): E.Either<HplbError, A> =>
  E.left(hplbError(code, [issue(path, expected, actual)]));

export const withFile = (file: string) => (e: HplbError): HplbError => ({ ...e, file });

/** A description of what was found, in words (e.g. "31 layers"): `show` prints it as is instead of quoting it. */
export class Words {
  constructor(readonly text: string) {}
}
export const words = (text: string): Words => new Words(text);

/** Render an arbitrary value briefly for an error message. */
export const show = (v: unknown): string => {
  if (v instanceof Words) return v.text;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return String(v);
};

/** Turn an io-ts context into a JSON path (`$.a[0]["b c"]`). Union/intersection members are skipped. */
export const contextPath = (context: t.Context, root = '$'): string => {
  let path = root;
  for (let i = 1; i < context.length; i++) {
    const entry = context[i]!;
    const parent = context[i - 1]!;
    const parentTag = (parent.type as { _tag?: string })._tag;
    if (parentTag === 'UnionType' || parentTag === 'IntersectionType' || parentTag === 'RefinementType' || parentTag === 'ExactType' || parentTag === 'ReadonlyType') continue;
    const key = entry.key;
    if (key === '') continue;
    if (/^\d+$/.test(key) && (parentTag === 'ArrayType' || parentTag === 'TupleType' || parentTag === 'ReadonlyArrayType' || Array.isArray(parent.actual))) path += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) path += `.${key}`;
    else path += `[${JSON.stringify(key)}]`;
  }
  return path;
};

/** Words for an io-ts type name: brands and named codecs from `brandWords`, `Array<X>` as a list of X. */
export const describeType = (name: string): string => {
  const known = brandWords[name];
  if (known !== undefined) return known;
  const m = /^(?:Readonly)?Array<(.*)>$/.exec(name);
  return m ? `a list of (${describeType(m[1]!)})` : name;
};

/** io-ts validation errors to issues, deepest path first; keeps the first few distinct paths (a bad file often has thousands). */
export const ioTsIssues = (errors: t.Errors, max = 5): Issue[] => {
  const out: Issue[] = [];
  const seen = new Set<string>();
  // Deepest first: when a union fails, the member that got furthest into the value explains the problem best.
  const ordered = [...errors].sort((a, b) => b.context.length - a.context.length);
  for (const err of ordered) {
    const path = contextPath(err.context);
    if (seen.has(path)) continue;
    seen.add(path);
    // A failed union member reports the union (its name lists every choice), not the last member tried.
    let at = err.context.length - 1;
    while (at > 0 && (err.context[at - 1]!.type as { _tag?: string })._tag === 'UnionType') at--;
    const last = err.context[at];
    const name = last ? last.type.name : 'a valid value';
    const expected = err.message ?? describeType(name);
    out.push(err.value === undefined ? issueText(path, expected, 'nothing') : issue(path, expected, err.value));
    if (out.length >= max) break;
  }
  return out;
};

/** Decode `u` with codec `c`, mapping failures to a path-precise `HplbError` (at most `maxIssues` issues). */
export const decode = <A, O>(c: t.Type<A, O, unknown>, u: unknown, file?: string, maxIssues = 5): E.Either<HplbError, A> => {
  const r = c.decode(u);
  return E.isRight(r) ? E.right(r.right) : E.left(hplbError('decode', ioTsIssues(r.left, maxIssues), file));
};

/** Parse JSON text totally. */
export const parseJson = (text: string, file?: string): E.Either<HplbError, unknown> => {
  if (text.trim() === '') return E.left(hplbError('parse', [issueText('$', 'a JSON document', 'an empty file')], file));
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return E.left(hplbError('parse', [issueText('$', 'valid JSON', msg)], file));
  }
};

/** One line per issue: `file: at $.path: expected X, got Y`. The first line is the whole message for one issue. */
export const formatError = (e: HplbError): string => {
  const where = e.file !== undefined ? `${e.file}: ` : '';
  const lines = e.issues.map((i) => `${where}at ${i.path}: expected ${i.expected}${i.actual !== undefined ? `, got ${i.actual}` : ''}`);
  if (lines.length === 0) return `${where}${e.code} error`;
  return lines.join('\n');
};
