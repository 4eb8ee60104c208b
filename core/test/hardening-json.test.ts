/**
 * Hardening (issue 21): JSON input and error text. A UTF-8 byte order mark is accepted; invalid JSON is reported at `$`
 * with its line and column on one line (no source snippet spanning lines); every error is exactly one line (several
 * issues joined, newlines and control characters escaped) and never cut short; a JavaScript value turns into JSON
 * text totally (deep, cyclic, BigInt, throwing getters give a Left naming the path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import * as fc from 'fast-check';
import { decode, decodeProfile, formatError, hplbError, issue, jsonSyntaxError, jsonTextOf, parseJson, type HplbError } from '@hplb/core';

const leftOf = <A>(r: E.Either<HplbError, A>): HplbError => {
  assert.ok(E.isLeft(r), 'a Left');
  return r.left;
};
const oneLine = (e: HplbError): string => {
  const s = formatError(e);
  assert.equal(s.split(/[\n\r\u2028\u2029]/).length, 1, `one line: ${JSON.stringify(s)}`);
  return s;
};

test('a UTF-8 byte order mark is accepted by parseJson', () => {
  assert.deepEqual(parseJson('\ufeff{"a": [1, 2]}'), E.right({ a: [1, 2] }));
  assert.deepEqual(parseJson('\ufeff  \n[true]\n'), E.right([true]));
  assert.match(oneLine(leftOf(parseJson('\ufeff', 'x.json'))), /^x\.json: at \$: expected a JSON document, got an empty file$/);
});

test('invalid JSON: at $ with line and column, one line, no source snippet', () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['{"num_hidden_layers": 4,', 1, 25, /end of the text/],
    ['{\n  "a": 1,\n  "b": x\n}', 3, 8, /unexpected "x"/],
    ['[1, 2,]', 1, 7, /unexpected "\]"/],
    ['{"a" 1}', 1, 6, /":" after a property name/],
    ['{"a": 1}\n{"b": 2}', 2, 1, /after the JSON value/],
    ['{"a": "line\nbreak"}', 1, 12, /control character/],
    ['{"a": "\\x"}', 1, 8, /invalid escape/],
    ['{"a": 01}', 1, 8, /"," or "}"/],
    ['\ufeff{\r\n"a": tru}', 2, 6, /unexpected "t"/],
  ];
  for (const [text, line, column, what] of cases) {
    const e = leftOf(parseJson(text, 'f.json'));
    assert.equal(e.code, 'parse');
    const s = oneLine(e);
    assert.match(s, new RegExp(`^f\\.json: at \\$: expected valid JSON, got line ${line}, column ${column}: `), `${JSON.stringify(text)}: ${s}`);
    assert.match(s, what, s);
    assert.doesNotMatch(s, /is not valid JSON/, 'no V8 source snippet');
  }
});

test('the JSON scanner agrees with JSON.parse on random and mutated documents (fast-check)', () => {
  fc.assert(
    fc.property(fc.json(), fc.nat(), fc.constantFrom('', '}', ']', ',', '"', ':', 'x', '\n', '\u0001', '{', '['), (doc, at, insert) => {
      const k = at % (doc.length + 1);
      for (const text of [doc, doc.slice(0, k), doc.slice(0, k) + insert + doc.slice(k)]) {
        let ok = true;
        try {
          JSON.parse(text);
        } catch {
          ok = false;
        }
        assert.equal(jsonSyntaxError(text) === undefined, ok, JSON.stringify(text));
      }
    }),
    { seed: 21, numRuns: 3000 },
  );
});

test('JSON nested 10^5 deep parses or fails with a position, without a stack overflow', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.ok(E.isRight(parseJson(deep)));
  const cut = '['.repeat(100_000) + ']'.repeat(99_999);
  assert.match(oneLine(leftOf(parseJson(cut))), /line 1, column 200000: unexpected end/);
});

test('errors are one line: several issues joined, newlines and control characters escaped, nothing cut', () => {
  const long = 'install the optional package @hplb/backend-cuda with npm i @hplb/backend-cuda, then rerun with --backend cuda';
  const e = hplbError('decode', [issue('$.a', 'a number', 'two\nlines'), issue('$["b\nc"]', long, long), issue('$.c', 'no \u001b[31mcolour\u001b[0m')], 'dir/odd\nname.json');
  const s = oneLine(e);
  assert.ok(s.includes(`expected ${long}, got ${JSON.stringify(long)}`), 'never cut');
  assert.ok(s.includes('dir/odd\\nname.json: at $.a: expected a number, got "two\\nlines"; at $["b\\nc"]'), s);
  assert.ok(s.includes('\\u001b[31mcolour'), s);
  // io-ts decode errors with many issues: one line, capped, counted.
  const C = t.type({ xs: t.array(t.number) });
  const d = leftOf(decode(C, { xs: Array.from({ length: 50 }, (_, i) => `s${i}`) }, 'f.json', 5));
  assert.equal(d.issues.length, 5);
  assert.equal(d.more, 45);
  assert.match(oneLine(d), /^f\.json: at \$\.xs\[\d+\]: expected a number, got "s\d+"; at .*; … and 45 more$/);
});

test('jsonTextOf: deep, cyclic, BigInt and throwing values are Lefts naming their path; plain data round-trips', () => {
  const deep: Record<string, unknown> = {};
  let at = deep;
  for (let i = 0; i < 100_000; i++) at = (at['a'] = {}) as Record<string, unknown>;
  const cyclic: Record<string, unknown> = { format: 'hplb.profile/1', source: { list: [1, 2] } };
  (cyclic['source'] as { list: unknown[] }).list.push(cyclic);
  const getter = { model: {} };
  Object.defineProperty(getter.model, 'layers', { enumerable: true, get: () => { throw new Error('no layers\nhere'); } });
  const cases: Array<[string, unknown, RegExp]> = [
    ['deep', deep, /^at \$(\.a){64}: expected a value nested at most 64 deep/],
    ['cyclic', cyclic, /^at \$\.source\.list\[2\]: expected plain JSON data, got a reference back to a value that contains it/],
    ['BigInt', { budgets: [[1, 2n]] }, /^at \$\.budgets\[0\]\[1\]: expected a JSON number, got a BigInt \(2n\)$/],
    ['getter', getter, /^at \$\.model\.layers: expected plain JSON data, got a value that cannot be read \(no layers\\nhere\)$/],
    ['revoked proxy', (() => { const r = Proxy.revocable({}, {}); r.revoke(); return { p: r.proxy }; })(), /^at \$\.p: expected plain JSON data/],
  ];
  for (const [what, v, want] of cases) {
    let r: E.Either<HplbError, string> | undefined;
    assert.doesNotThrow(() => (r = jsonTextOf(v)), what);
    assert.match(oneLine(leftOf(r!)), want, what);
  }
  const shared = { x: 1 };
  assert.deepEqual(jsonTextOf({ a: shared, b: [shared], d: new Date(0), u: undefined }), E.right('{"a":{"x":1},"b":[{"x":1}],"d":"1970-01-01T00:00:00.000Z"}'));
});

test('decodeProfile is total on values whose reads throw', () => {
  const p = new Proxy({}, { get: () => { throw new Error('trap'); } });
  let r: ReturnType<typeof decodeProfile> | undefined;
  assert.doesNotThrow(() => (r = decodeProfile(p, 'p.json')));
  assert.match(oneLine(leftOf(r!)), /^p\.json: at \$: expected an hplb\.profile\/1 object/);
});
