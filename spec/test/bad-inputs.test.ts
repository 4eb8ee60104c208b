/**
 * The bad-input corpus (spec/bad-inputs/<case>/{input, case.json}): every case goes through the real CLI and must exit
 * non-zero with exactly one line on stderr that names the file, the JSON path (case.json `expectPath`) and what was
 * expected (`expectText`), with no stack trace and nothing on stdout. All cases run in-process through the CLI's
 * `main`; a sample also runs as real `node cli/bin/hplb.mjs` subprocesses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Case {
  readonly args: string[];
  readonly expectPath: string;
  readonly expectText: string;
}
interface Io {
  out(s: string): void;
  err(s: string): void;
  readonly tty: boolean;
  readonly cwd: string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const corpus = join(root, 'spec/bad-inputs');
const cases = readdirSync(corpus)
  .filter((d) => statSync(join(corpus, d)).isDirectory())
  .sort()
  .map((name) => {
    const dir = join(corpus, name);
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
    const args = c.args.map((a) => a.replace('$CASE', dir));
    return { name, dir, args, file: args[1]!, c };
  });

const check = (name: string, file: string, c: Case, code: number | null, out: string, err: string) => {
  assert.notEqual(code, 0, `${name}: exit code`);
  assert.equal(out, '', `${name}: nothing on stdout`);
  assert.ok(err.endsWith('\n') && err.indexOf('\n') === err.length - 1, `${name}: exactly one line on stderr, got ${JSON.stringify(err)}`);
  const prefix = `hplb: ${file}: at ${c.expectPath}: expected `;
  assert.ok(err.startsWith(prefix), `${name}: ${JSON.stringify(err)} should start with ${JSON.stringify(prefix)}`);
  assert.ok(err.includes(c.expectText), `${name}: ${JSON.stringify(err)} should say ${JSON.stringify(c.expectText)}`);
  assert.doesNotMatch(err, /\n\s+at |Error:|internal error/, `${name}: no stack trace`);
};

test('the corpus has at least 25 cases, each with an input and a case.json', () => {
  assert.ok(cases.length >= 25, `${cases.length} cases`);
  for (const k of cases) assert.ok(readdirSync(k.dir).length >= 2, k.name);
});

test('every bad input fails through the CLI with one message naming the file, the JSON path and what was expected', async () => {
  const { main } = (await import(pathToFileURL(join(root, 'cli/src/main.ts')).href)) as { main: (argv: string[], io: Io) => Promise<number> };
  for (const k of cases) {
    let out = '';
    let err = '';
    const code = await main(k.args, { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: root });
    check(k.name, k.file, k.c, code, out, err);
  }
});

test('a sample of bad inputs as real `hplb` subprocesses: same single line, exit code, no stack trace', async () => {
  const sample = ['malformed-json', 'unknown-format', 'hplb-curve-over-n'];
  await Promise.all(
    sample.map(
      (name) =>
        new Promise<void>((done, failed) => {
          const k = cases.find((x) => x.name === name);
          if (!k) return failed(new Error(`no case ${name}`));
          execFile(process.execPath, [join(root, 'cli/bin/hplb.mjs'), ...k.args], { cwd: root, timeout: 60_000 }, (e, out, err) => {
            try {
              const code = e && typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : e ? -1 : 0;
              check(name, k.file, k.c, code, out, err);
              done();
            } catch (x) {
              failed(x);
            }
          });
        }),
    ),
  );
});
