/**
 * Issue 21, "plan.json and plan.svg land as one set": `hplb plan` writes plan.json, plan.svg and plan-frontier.svg
 * through `writeFilesAtomic` — every file to a temporary name first, then all renamed under a lock beside them — so
 * concurrent plans into one folder leave the three files of one run, a failure before the renames writes nothing,
 * and no temporary or lock is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { writeFilesAtomic } from '@hplb/core/node';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const root = mkdtempSync(join(tmpdir(), 'hplb-plan-set-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const repo = fileURLToPath(new URL('../..', import.meta.url));

const capture = () => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: root };
  return { io, get out() { return out; }, get err() { return err; } };
};

/** Nothing but the named files: no `.x.tmp-…` temporaries, no `.x.lock`. */
const onlyFiles = (dir: string, names: string[]) => assert.deepEqual(readdirSync(dir).sort(), [...names].sort(), `${dir} holds only ${names.join(', ')}`);

test('concurrent hplb plan runs into one folder leave plan.json, plan.svg and plan-frontier.svg of one run', { timeout: 240_000 }, async () => {
  const dir = join(root, 'shared');
  const runs = [0, 1, 2, 3, 4, 5];
  // Each run differs in its GPU count (named by plan.json and plan.svg) and its output tokens (named by plan.json and
  // plan-frontier.svg), so the three files tell which run each came from.
  const results = await Promise.all(runs.map(async (i) => {
    const c = capture();
    const code = await main(['plan', '--profile', 'published', '--solver', 'lpt', '--time-limit', '0.05', '--gpus', String(2 + i), '--output-tokens', String(200 + i), '--out-dir', dir], c.io);
    return { code, err: c.err };
  }));
  for (const r of results) assert.equal(r.code, 0, r.err);
  onlyFiles(dir, ['plan.json', 'plan.svg', 'plan-frontier.svg']);
  const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { devices: unknown[]; serving?: { workload?: { outputTokens?: number } } };
  const gpus = plan.devices.length;
  const run = gpus - 2;
  assert.ok(runs.includes(run));
  assert.equal(plan.serving?.workload?.outputTokens, 200 + run, 'plan.json is one run');
  assert.match(readFileSync(join(dir, 'plan.svg'), 'utf8'), new RegExp(` ${gpus} GPUs `), 'plan.svg is the run plan.json is');
  assert.match(readFileSync(join(dir, 'plan-frontier.svg'), 'utf8'), new RegExp(`prefill \\+ ${200 + run} output tokens`), 'plan-frontier.svg is the run plan.json is');
});

test('writeFilesAtomic: a failure before the renames writes nothing and leaves no temporaries', () => {
  const dir = join(root, 'fail');
  mkdirSync(dir);
  writeFileSync(join(dir, 'plan.json'), 'old json');
  writeFileSync(join(dir, 'blocker'), 'a file where a folder should be');
  const r = writeFilesAtomic([
    { path: join(dir, 'plan.json'), data: 'new json' },
    { path: join(dir, 'plan.svg'), data: '<svg/>' },
    { path: join(dir, 'blocker', 'plan-frontier.svg'), data: '<svg/>' },
  ]);
  assert.ok(E.isLeft(r));
  assert.match(r.left.file ?? '', /blocker/);
  assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), 'old json', 'plan.json kept');
  onlyFiles(dir, ['plan.json', 'blocker']);
  // A folder where a file of the set goes is found before any rename too.
  mkdirSync(join(dir, 'plan.svg'));
  const r2 = writeFilesAtomic([{ path: join(dir, 'plan.json'), data: 'new json' }, { path: join(dir, 'plan.svg'), data: '<svg/>' }]);
  assert.ok(E.isLeft(r2));
  assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), 'old json', 'plan.json kept');
  onlyFiles(dir, ['plan.json', 'plan.svg', 'blocker']);
  // The same path twice is refused before anything is written.
  assert.ok(E.isLeft(writeFilesAtomic([{ path: join(dir, 'x'), data: '1' }, { path: join(dir, '.', 'x'), data: '2' }])));
  assert.ok(!existsSync(join(dir, 'x')));
});

test('hplb plan: when plan.svg cannot be written, plan.json is not written either (exit 1, one line)', { timeout: 120_000 }, async () => {
  const dir = join(root, 'blocked');
  mkdirSync(join(dir, 'plan.svg'), { recursive: true });
  const c = capture();
  const code = await main(['plan', '--profile', 'published', '--solver', 'lpt', '--time-limit', '0.05', '--gpus', '2', '--out-dir', dir], c.io);
  assert.equal(code, 1, c.err);
  assert.equal(c.err.trimEnd().split('\n').length, 1, c.err);
  assert.match(c.err, /plan\.svg/);
  onlyFiles(dir, ['plan.svg']);
});

/** A child process that writes the set `{a,b,c}` in `dir` `rounds` times, each file naming the writer and round. */
const writer = (dir: string, id: number, rounds: number) => {
  const code = `
    const { writeFilesAtomic } = await import(${JSON.stringify(new URL('../../core/src/node/atomic.ts', import.meta.url).href)});
    const pad = 'x'.repeat(200000);
    for (let r = 0; r < ${rounds}; r++) {
      const tag = '${id}:' + r;
      const res = writeFilesAtomic(['a', 'b', 'c'].map((n) => ({ path: ${JSON.stringify(dir)} + '/' + n, data: tag + '\\n' + pad })));
      if (res._tag !== 'Right') { console.error(JSON.stringify(res.left)); process.exit(1); }
    }`;
  return new Promise<number>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (c) => resolve(c ?? 1));
  });
};

const tags = (dir: string) => ['a', 'b', 'c'].map((n) => readFileSync(join(dir, n), 'utf8').split('\n')[0]);

test('writeFilesAtomic across processes: sets written at once into one folder never mix', { timeout: 120_000 }, async () => {
  const dir = join(root, 'procs');
  mkdirSync(dir);
  const codes = await Promise.all([1, 2, 3, 4].map((id) => writer(dir, id, 40)));
  assert.deepEqual(codes, [0, 0, 0, 0]);
  const [a, b, c] = tags(dir);
  assert.equal(a, b);
  assert.equal(b, c);
  onlyFiles(dir, ['a', 'b', 'c']);
});

test('writeFilesAtomic waits for a live writer\'s lock, and takes over a dead writer\'s', { timeout: 120_000 }, async () => {
  const dir = join(root, 'lock');
  mkdirSync(dir);
  const lock = join(dir, '.a.lock');
  // Held by this (live) process: the child writes its temporaries but renames nothing until the lock goes.
  writeFileSync(lock, `${hostname()} ${process.pid}\n`);
  const child = writer(dir, 7, 1);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(!existsSync(join(dir, 'a')) && !existsSync(join(dir, 'b')), 'nothing renamed while another writer holds the lock');
  rmSync(lock);
  assert.equal(await child, 0);
  assert.deepEqual(tags(dir), ['7:0', '7:0', '7:0']);
  onlyFiles(dir, ['a', 'b', 'c']);
  // A lock left by a process that is gone (pid 2^22 + 1 is beyond Linux's pid range) is stale: the writer goes on.
  writeFileSync(lock, `${hostname()} ${2 ** 22 + 1}\n`);
  const old = new Date(Date.now() - 5000);
  const { utimesSync } = await import('node:fs');
  utimesSync(lock, old, old);
  assert.equal(await writer(dir, 8, 1), 0);
  assert.deepEqual(tags(dir), ['8:0', '8:0', '8:0']);
  onlyFiles(dir, ['a', 'b', 'c']);
});
