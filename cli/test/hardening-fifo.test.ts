/**
 * Issue 21, "a FIFO as config.json blocks forever": the one text reader (`readTextFile` of @hplb/core/node, under
 * the CLI's readText / readJson and hplb/node's loadProfile) opens without blocking and refuses at once anything that
 * is not a regular file — a FIFO, a socket, a device, a folder — with one line naming the file. Every reader of the
 * CLI is tried on a FIFO (profiles, config.json, calibration, --previous plan, plan files, MInference configs) in a
 * child process with a time limit, so a regression fails the test instead of hanging it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, formatError, makeDevices, type ModelShape } from '@hplb/core';
import { readTextFile } from '@hplb/core/node';
import { planEngineLayout } from '@hplb/solvers';

const root = mkdtempSync(join(tmpdir(), 'hplb-fifo-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** A FIFO at `path`, or the reason there is none (no mkfifo on this system). */
const mkfifo = (path: string): string | undefined => {
  const r = spawnSync('mkfifo', [path]);
  if (r.error) return `mkfifo is not available (${r.error.message})`;
  if (r.status !== 0) return `mkfifo failed: ${r.stderr.toString().trim()}`;
  return undefined;
};

const fifoDir = join(root, 'fifo');
mkdirSync(fifoDir);
const fifo = join(fifoDir, 'config.json');
const noFifo = mkfifo(fifo);

test('readTextFile refuses a FIFO, a socket, a device and a folder at once, naming the file', { skip: noFifo }, async () => {
  const t0 = Date.now();
  const r = readTextFile(fifo);
  assert.ok(E.isLeft(r));
  assert.match(formatError(r.left), new RegExp(`^${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: at \\$: expected a readable file, got a FIFO`));
  const dir = readTextFile(fifoDir);
  assert.ok(E.isLeft(dir) && /a directory/.test(formatError(dir.left)));
  if (existsSync('/dev/zero')) {
    const dev = readTextFile('/dev/zero');
    assert.ok(E.isLeft(dev) && /character device/.test(formatError(dev.left)), 'a device that never ends is refused');
  }
  const sock = join(root, 'sock');
  const server = createServer();
  await new Promise<void>((res) => server.listen(sock, res));
  try {
    const s = readTextFile(sock);
    assert.ok(E.isLeft(s) && /socket/.test(formatError(s.left)), E.isLeft(s) ? formatError(s.left) : 'read a socket');
  } finally {
    server.close();
  }
  assert.ok(Date.now() - t0 < 5000, 'at once');
});

const M: ModelShape = { name: 'tiny-fifo', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 8 };

test('every CLI reader refuses a FIFO at once: one line naming it, exit 1 or 2, nothing written', { skip: noFifo, timeout: 120_000 }, () => {
  const budgets = Array.from({ length: M.layers }, (_, l) => Array.from({ length: M.queryHeads }, (_, h) => 64 + ((h * 977 + l * 131) % 900)));
  const res = planEngineLayout({ model: M, devices: makeDevices(2), lengths: [{ contextLength: 1024, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 1, timeLimitMs: 50, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  const planFile = join(root, 'plan-in.json');
  writeFileSync(planFile, JSON.stringify(res.right.plan));
  const profile = join(root, 'profile.json');
  writeFileSync(profile, readFileSync(new URL('../../core/src/data/default-profile.json', import.meta.url)));
  const out = join(root, 'out');
  mkdirSync(out);
  const cases: string[][] = [
    ['plan', '--profile', fifo, '--out-dir', out],
    ['plan', '--profile', profile, '--model-config', fifo, '--out-dir', out],
    ['plan', '--profile', 'published', '--calibration', fifo, '--out-dir', out],
    ['plan', '--profile', 'published', '--previous', fifo, '--out-dir', out],
    ['plan', '--engine-layout', '--profile', fifo, '--gpus', '2', '--out', join(out, 'e.json')],
    ['pareto', '--profile', fifo, '--out-dir', out],
    ['export', fifo, '--engine', 'vllm', '--out', join(out, 'layout.json')],
    ['export', planFile, '--engine', 'vllm', '--model-config', fifo, '--out', join(out, 'layout.json')],
    ['export', planFile, '--engine', 'vllm', '--minference', fifo, '--out', join(out, 'layout.json')],
    ['inspect', fifo],
  ];
  // One child runs every case in turn; were a read to block, the time limit ends it and the test fails.
  const code = `
    const { main } = await import(${JSON.stringify(new URL('../src/main.ts', import.meta.url).href)});
    const cases = ${JSON.stringify(cases)};
    for (const argv of cases) {
      let err = '';
      const t0 = Date.now();
      const code = await main(argv, { out: () => {}, err: (s) => void (err += s), tty: false, cwd: ${JSON.stringify(root)} });
      console.log(JSON.stringify({ argv, code, err, ms: Date.now() - t0 }));
    }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repo, timeout: 90_000, encoding: 'utf8' });
  assert.equal(r.signal, null, `a reader blocked on the FIFO (killed after 90 s); got so far:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const results = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { argv: string[]; code: number; err: string; ms: number });
  assert.equal(results.length, cases.length, r.stdout);
  for (const x of results) {
    const what = x.argv.join(' ');
    assert.ok(x.code === 1 || x.code === 2, `${what}: exit ${x.code}: ${x.err}`);
    assert.equal(x.err.trimEnd().split('\n').length, 1, `${what}: one line: ${x.err}`);
    assert.ok(x.err.includes(fifo), `${what}: names the FIFO: ${x.err}`);
    assert.match(x.err, /FIFO/, `${what}: says it is a FIFO`);
  }
  assert.deepEqual(readdirSync(out), [], 'nothing written');
});
