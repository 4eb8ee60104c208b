/**
 * Hardening (issue 21) at the facade: `loadProfile` is total for any JavaScript value (10^5-deep, cyclic, BigInt,
 * throwing getters and Proxies give a one-line Left naming the path, never a throw); a UTF-8 byte order mark is
 * accepted in every format; a truncated profile is reported as invalid JSON with line and column, before format
 * detection; `validatePlan` on undecoded values is a Left; plan.svg stays well-formed XML whatever the model is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { publishedDefaultPattern } from '@hplb/core';
import { checkWellFormed } from '@hplb/planner';
import { defaultProfile, formatError, loadProfile, planProfile, renderPlanSvg, validatePlan, type HplbError } from 'hplb';

const NAME = 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json';
const minference = JSON.stringify(publishedDefaultPattern());
const hplbText = JSON.stringify(defaultProfile());

const line = (e: HplbError): string => {
  const s = formatError(e);
  assert.equal(s.split(/[\n\r\u2028\u2029]/).length, 1, `one line: ${JSON.stringify(s)}`);
  return s;
};
const leftLine = (r: E.Either<HplbError, unknown>, what: string): string => {
  assert.ok(E.isLeft(r), `${what}: a Left`);
  return line(r.left);
};

test('loadProfile(object) is total: deep, cyclic, BigInt, throwing getters and Proxies are Lefts naming the path', () => {
  const deep: Record<string, unknown> = { format: 'hplb.profile/1' };
  let at = deep;
  for (let i = 0; i < 100_000; i++) at = (at['x'] = {}) as Record<string, unknown>;
  const deepArray: unknown[] = [];
  let arr = deepArray;
  for (let i = 0; i < 100_000; i++) arr = (arr[0] = []) as unknown[];
  const cyclic = JSON.parse(hplbText) as Record<string, unknown>;
  cyclic['source'] = { again: cyclic };
  const big = JSON.parse(hplbText) as { budgets: unknown[][] };
  big.budgets[3]![4] = 4096n;
  const getter = JSON.parse(hplbText) as Record<string, unknown>;
  Object.defineProperty(getter, 'budgets', { enumerable: true, get: () => { throw new TypeError('no budgets'); } });
  const trap = () => { throw new Error('trap'); };
  const proxy = new Proxy({}, { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const toJSON = { toJSON: trap };
  const cases: Array<[string, unknown, RegExp]> = [
    ['10^5-deep object', deep, /at \$(\.x){64}: expected a value nested at most 64 deep/],
    ['10^5-deep array', deepArray, /at \$(\[0\]){64}: expected a value nested at most 64 deep/],
    ['cyclic', cyclic, /at \$\.source\.again: expected plain JSON data, got a reference back/],
    ['BigInt', big, /at \$\.budgets\[3\]\[4\]: expected a JSON number, got a BigInt \(4096n\)/],
    ['throwing getter', getter, /at \$\.budgets: expected plain JSON data, got a value that cannot be read \(no budgets\)/],
    ['throwing Proxy', proxy, /at \$/],
    ['revoked Proxy', revoked.proxy, /at \$/],
    ['throwing toJSON', toJSON, /at \$: expected plain JSON data/],
  ];
  for (const [what, v, want] of cases) {
    let r: ReturnType<typeof loadProfile> | undefined;
    assert.doesNotThrow(() => (r = loadProfile(v)), what);
    assert.match(leftLine(r!, what), want, what);
  }
  // Options are decoded as totally as the source.
  const badOptions = Object.defineProperty({}, 'format', { enumerable: true, get: trap });
  assert.doesNotThrow(() => leftLine(loadProfile(JSON.parse(hplbText), badOptions as never), 'throwing options'));
  // A plain parsed object still loads (the path that used JSON.stringify).
  const ok = loadProfile(publishedDefaultPattern(), { fileName: NAME });
  assert.ok(E.isRight(ok) && ok.right.format === 'minference', E.isLeft(ok) ? formatError(ok.left) : '');
});

test('a UTF-8 byte order mark is accepted in every format, detected or named', () => {
  const tsv = Array.from({ length: 32 }, (_, l) => Array.from({ length: 8 }, (_, h) => ((l * 8 + h) % 10) / 10).join('\t')).join('\n') + '\n';
  const cases: Array<[string, string, object]> = [
    ['minference (detected)', minference, { fileName: NAME }],
    ['minference (named)', minference, { fileName: 'p.json', format: 'minference', model: 'Llama-3.1-8B-Instruct' }],
    ['hplb (detected)', hplbText, { fileName: 'profile.json' }],
    ['duo (detected by .tsv)', tsv, { fileName: 'full_attention_heads.tsv', model: 'Llama-3.1-8B-Instruct', sparsity: 0.5 }],
  ];
  for (const [what, text, o] of cases) {
    const plain = loadProfile({ text }, o);
    const bom = loadProfile({ text: '\ufeff' + text }, o);
    assert.ok(E.isRight(bom), `${what}: ${E.isLeft(bom) ? formatError(bom.left) : ''}`);
    assert.ok(E.isRight(plain));
    assert.deepEqual(bom.right.profile, plain.right.profile, what);
  }
});

test('a truncated or broken profile is invalid JSON with line and column, not an undetected format', () => {
  for (const [what, text, fileName] of [
    ['truncated minference', minference.slice(0, Math.floor(minference.length / 2)), NAME],
    ['truncated hplb profile', hplbText.slice(0, 5000), 'profile.json'],
    ['cut after one character', '{', 'p.json'],
    ['a stray comma', hplbText.replace('"kind"', ',"kind"'), 'p.json'],
    ['broken, unnamed', '[{"global": [64, 0], "local"', undefined],
  ] as const) {
    const s = leftLine(loadProfile({ text: '\ufeff' + text, ...(fileName !== undefined ? { fileName } : {}) }), what);
    assert.match(s, /at \$: expected valid JSON, got line \d+, column \d+: /, `${what}: ${s}`);
    assert.doesNotMatch(s, /could not be detected|format/, `${what}: ${s}`);
    if (fileName !== undefined) assert.ok(s.startsWith(`${fileName}: `), `${what} names the file: ${s}`);
  }
  // Text that is not JSON-like and not named .json still gets the format message (it may be a TSV without its suffix).
  assert.match(leftLine(loadProfile({ text: '0.1\t0.2\n', fileName: 'gates.txt' }), 'tsv-like'), /at \$\.format: expected a profile format/);
});

test('validatePlan on undecoded values is a Left, never a throw', () => {
  for (const v of [undefined, null, 0, 'plan', [], {}, { format: 'hplb.plan/1' }, new Proxy({}, { get: () => { throw new Error('x'); } })]) {
    let r: ReturnType<typeof validatePlan> | undefined;
    assert.doesNotThrow(() => (r = validatePlan(v as never)));
    leftLine(r!, String(typeof v));
  }
});

test('plan.svg is well-formed XML when the model name holds control characters', async () => {
  const evil = '\u0001evil\u001b[31m <model> & "name"\u0000\ud800\u2028';
  const profile = { ...defaultProfile(), model: { ...defaultProfile().model, name: evil } };
  const r = await planProfile(profile as never, { gpus: 4, solver: 'lpt', serving: false } as never);
  assert.ok(E.isRight(r), E.isLeft(r) ? formatError(r.left) : '');
  const svg = renderPlanSvg(r.right);
  const wf = checkWellFormed(svg);
  assert.ok(wf.ok, JSON.stringify(wf));
  // XML 1.0 cannot hold these even as references: they are written as visible escapes.
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(svg, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  assert.ok(svg.includes('\\u0001evil\\u001b[31m &lt;model&gt; &amp; '), 'the name stays readable');
});
