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
  /** The problems found (at least one); a long list keeps its first `MAX_ISSUES` and counts the rest in `more`. */
  readonly issues: ReadonlyArray<Issue>;
  /** How many further problems were found but not listed (absent when every one is listed). */
  readonly more?: number;
}

/** How many issues an error lists at most; the rest are counted (`more`) and shown as `… and N more`. */
export const MAX_ISSUES = 20;

export const hplbError = (code: ErrorCode, issues: ReadonlyArray<Issue>, file?: string): HplbError =>
  file === undefined ? { code, issues } : { code, issues, file };

/** An error listing the first `max` issues and counting the rest (`more`, shown as `… and N more`). */
export const cappedError = (code: ErrorCode, issues: ReadonlyArray<Issue>, file?: string, more = 0, max = MAX_ISSUES): HplbError => {
  const rest = more + Math.max(0, issues.length - max);
  const e = hplbError(code, issues.length > max ? issues.slice(0, max) : issues, file);
  return rest > 0 ? { ...e, more: rest } : e;
};

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

/**
 * Render an arbitrary value briefly for an error message: strings whole (quoted, never cut: the end of a message often
 * holds the remedy), compound values by kind. Total: a Proxy or a value whose reads throw is "a value that cannot be read".
 */
export const show = (v: unknown): string => {
  try {
    if (v instanceof Words) return v.text;
    if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'bigint') return `the BigInt ${v}n`;
    if (typeof v === 'function') return 'a function';
    if (typeof v === 'symbol') return 'a symbol';
    if (v === undefined) return 'nothing';
    if (v === null) return 'null';
    if (Array.isArray(v)) return `an array of length ${v.length}`;
    if (typeof v === 'object') return 'an object';
    return String(v);
  } catch {
    return 'a value that cannot be read';
  }
};

/**
 * Text on one line: line breaks, tabs and other control characters (C0, DEL, C1, U+2028/2029) as escapes (`\n`,
 * `\u001b`). Every message passes through it, so an error is one line whatever its input held.
 */
export const oneLine = (s: string): string =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

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

/**
 * Decode `u` with codec `c`, mapping failures to a path-precise `HplbError` (at most `maxIssues` issues; `more` counts
 * the other paths that failed). Total: a value whose reads throw (a getter, a Proxy) is a Left at `$`, never a throw.
 */
export const decode = <A, O>(c: t.Type<A, O, unknown>, u: unknown, file?: string, maxIssues = 5): E.Either<HplbError, A> => {
  let r: t.Validation<A>;
  try {
    r = c.decode(u);
  } catch (e) {
    return E.left(hplbError('decode', [issueText('$', 'plain JSON data', `a value that cannot be read (${errorText(e)})`)], file));
  }
  if (E.isRight(r)) return E.right(r.right);
  const issues = ioTsIssues(r.left, maxIssues);
  let more = 0;
  if (issues.length >= maxIssues) {
    const paths = new Set<string>();
    for (const err of r.left) paths.add(contextPath(err.context));
    more = Math.max(0, paths.size - issues.length);
  }
  const e = hplbError('decode', issues, file);
  return E.left(more > 0 ? { ...e, more } : e);
};

/** The message of a thrown value, on one line (a throw from user code may be anything). */
export const errorText = (e: unknown): string => {
  try {
    return oneLine(e instanceof Error ? e.message : String(e));
  } catch {
    return 'an unreadable error';
  }
};

/** The byte order mark some editors put before UTF-8 text; every reader of JSON (and profiles) skips it. */
export const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/**
 * Where JSON text first stops being JSON (RFC 8259): its offset and what was wrong, or undefined when it is valid.
 * Iterative, so any nesting depth is safe; used to give `JSON.parse` failures a line and column.
 */
export const jsonSyntaxError = (s: string): { readonly offset: number; readonly problem: string } | undefined => {
  const n = s.length;
  let i = 0;
  const stack: Array<'[' | '{'> = [];
  const fail = (problem: string) => ({ offset: i, problem });
  const found = () => (i >= n ? 'the end of the text' : JSON.stringify(s[i]));
  const ws = () => {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    }
  };
  /** A string at s[i] === '"'; undefined when it closes. */
  const str = (): string | undefined => {
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'a raw control character inside a string (escape it)';
      if (c === 92) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return 'a \\u escape with 4 hex digits';
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return e === undefined ? 'the end of the text inside a string' : `an invalid escape \\${e}`;
        continue;
      }
      i++;
    }
    return 'the end of the text inside a string (an unterminated string)';
  };
  /** A property name and its colon; undefined when both are there. */
  const key = (): string | undefined => {
    ws();
    if (s[i] !== '"') return `a property name in double quotes, found ${found()}`;
    const bad = str();
    if (bad !== undefined) return bad;
    ws();
    if (s[i] !== ':') return `":" after a property name, found ${found()}`;
    i++;
    return undefined;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  for (;;) {
    // A value.
    ws();
    if (i >= n) return fail('unexpected end of the text (a value was expected)');
    const c = s[i]!;
    if (c === '{' || c === '[') {
      i++;
      ws();
      if (s[i] === (c === '{' ? '}' : ']')) i++;
      else {
        stack.push(c);
        if (c === '{') {
          const bad = key();
          if (bad !== undefined) return fail(bad.startsWith('a property') ? `expected ${bad}` : bad);
        }
        continue;
      }
    } else if (c === '"') {
      const bad = str();
      if (bad !== undefined) return fail(bad);
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(s);
      if (m === null) return fail(`a malformed number`);
      i += m[0].length;
    } else if (s.startsWith('true', i)) i += 4;
    else if (s.startsWith('false', i)) i += 5;
    else if (s.startsWith('null', i)) i += 4;
    else return fail(`unexpected ${found()} (a value was expected)`);
    // After a value: close containers, or a comma and the next value.
    for (;;) {
      ws();
      const top = stack[stack.length - 1];
      if (top === undefined) return i < n ? fail(`unexpected ${found()} after the JSON value`) : undefined;
      if (s[i] === ',') {
        i++;
        if (top === '{') {
          const bad = key();
          if (bad !== undefined) return fail(bad.startsWith('a property') ? `expected ${bad}` : bad);
        }
        break;
      }
      if (s[i] === (top === '{' ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      }
      const want = `"," or "${top === '{' ? '}' : ']'}"`;
      return fail(i >= n ? `unexpected end of the text (${want} was expected)` : `expected ${want}, found ${found()}`);
    }
  }
};

/** Line and column (1-based) of an offset in text. */
const lineColumn = (text: string, offset: number): { line: number; column: number } => {
  let line = 1;
  let start = 0;
  for (let k = text.indexOf('\n'); k >= 0 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    start = k + 1;
  }
  return { line, column: offset - start + 1 };
};

/**
 * Parse JSON text totally. A UTF-8 byte order mark is skipped. Invalid JSON is a `parse` error at `$` that says where,
 * on one line: `expected valid JSON, got line L, column C: <what was wrong>`.
 */
export const parseJson = (text: string, file?: string): E.Either<HplbError, unknown> => {
  const body = stripBom(text);
  if (body.trim() === '') return E.left(hplbError('parse', [issueText('$', 'a JSON document', 'an empty file')], file));
  try {
    return E.right(JSON.parse(body) as unknown);
  } catch (e) {
    let at: { offset: number; problem: string } | undefined;
    try {
      at = jsonSyntaxError(body);
    } catch {
      at = undefined;
    }
    // JSON.parse failed where the scanner found nothing (or it could not run): V8's message, without its source snippet.
    const why = at !== undefined ? (({ line, column }) => `line ${line}, column ${column}: ${at!.problem}`)(lineColumn(body, at.offset)) : errorText(e).replace(/, ".*" is not valid JSON$/s, '');
    return E.left(hplbError('parse', [issueText('$', 'valid JSON', oneLine(why))], file));
  }
};

/** Deeper than this, a value given as an object (not text) is refused before it is serialized (real ones are under 10 deep). */
export const MAX_OBJECT_DEPTH = 64;

const keyPath = (path: string, key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/**
 * A JavaScript value as JSON text, totally: a Left naming the JSON path of the first value JSON cannot hold faithfully
 * (a cycle, a BigInt, nesting deeper than `maxDepth`) or that cannot be read (a getter or Proxy that throws), instead of
 * `JSON.stringify`'s throw. Iterative, so any depth is safe. For library calls that take parsed JSON as an object.
 */
export const jsonTextOf = (u: unknown, file?: string, maxDepth = MAX_OBJECT_DEPTH, maxValues = 10_000_000): E.Either<HplbError, string> => {
  const bad = (path: string, expected: string, actual: string) => E.left(hplbError('argument', [issueText(path, expected, actual)], file));
  let path = '$';
  let seen = 0;
  try {
    // Depth-first with the chain of open containers (for cycles: a value that contains itself). A child is read when
    // it is visited, so a getter that throws is reported at its own path.
    type Entry = { from: unknown; key: string | number | undefined; path: string; depth: number; exit?: object };
    const stack: Entry[] = [{ from: u, key: undefined, path: '$', depth: 0 }];
    const open = new Set<object>();
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (top.exit !== undefined) {
        open.delete(top.exit);
        continue;
      }
      const { depth } = top;
      path = top.path;
      const v = top.key === undefined ? top.from : (top.from as Record<string | number, unknown>)[top.key];
      // Shared (not cyclic) references are walked once per use, as JSON.stringify writes them: bound the work.
      if (++seen > maxValues) return bad('$', `at most ${maxValues} values`, 'more (shared references repeat their values in JSON)');
      if (typeof v === 'bigint') return bad(path, 'a JSON number', `a BigInt (${v}n)`);
      if (typeof v !== 'object' || v === null) continue;
      if (open.has(v)) return bad(path, 'plain JSON data', 'a reference back to a value that contains it (a cycle)');
      if (depth >= maxDepth) return bad(path, `a value nested at most ${maxDepth} deep`, 'deeper nesting');
      // What JSON.stringify will serialize: toJSON's result, when there is one.
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        stack.push({ from: (toJSON as () => unknown).call(v), key: undefined, path, depth });
        continue;
      }
      open.add(v);
      stack.push({ from: undefined, key: undefined, path, depth, exit: v });
      if (Array.isArray(v)) for (let k = v.length - 1; k >= 0; k--) stack.push({ from: v, key: k, path: `${path}[${k}]`, depth: depth + 1 });
      else {
        const keys = Object.keys(v);
        for (let k = keys.length - 1; k >= 0; k--) stack.push({ from: v, key: keys[k]!, path: keyPath(path, keys[k]!), depth: depth + 1 });
      }
    }
    path = '$';
    const text = JSON.stringify(u) as string | undefined;
    return text === undefined ? bad('$', 'a JSON value', show(u)) : E.right(text);
  } catch (e) {
    return bad(path, 'plain JSON data', `a value that cannot be read (${errorText(e)})`);
  }
};

/**
 * The whole error on one line: `file: at $.path: expected X, got Y; at $.other: …; … and N more`. Line breaks and
 * control characters anywhere in it (file names, values, messages) are escaped, so it is always exactly one line.
 */
export const formatError = (e: HplbError): string => {
  const where = e.file !== undefined ? `${e.file}: ` : '';
  const parts = e.issues.map((i) => `at ${i.path}: expected ${i.expected}${i.actual !== undefined ? `, got ${i.actual}` : ''}`);
  if (e.more !== undefined && e.more > 0) parts.push(`… and ${e.more} more`);
  if (parts.length === 0) return oneLine(`${where}${e.code} error`);
  return oneLine(`${where}${parts.join('; ')}`);
};
