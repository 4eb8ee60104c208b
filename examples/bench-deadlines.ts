/**
 * Time limits and memory on large raw instances (issue 21, "hangs"): how long `solveInstance` takes at a given
 * `timeLimitMs` on 10^4–10^5 random jobs, what it returns (status, gap against the bound it proved), and what the
 * largest accepted instance and a refused one cost in memory. Benchmarks are code, not tests: asserts nothing.
 *
 *   npx tsx examples/bench-deadlines.ts [--runs 5] [--limits 200] [--sizes 10000,50000,100000] [--gpus 8]
 *                                       [--solvers auto,lpt,kk,multifit,local,exact] [--no-memory] [--json]
 *
 * Deadline table: one instance per size and cost kind (uniform reals in [0, 1000), uniform integers in [1, 10^6]),
 * seeded; each solver × limit is run once cold (JIT, reported apart) and `--runs` more times; medians of wall and CPU
 * milliseconds (CPU: this process, so GC and compiler threads count), and the worst steady wall time over the limit.
 * The call is the whole `solveInstance` (decode of the instance included), in this thread.
 * Memory table: each row in a fresh child process (peak resident memory, `process.resourceUsage().maxRSS`): LPT, KK
 * and auto at the largest accepted size (`MAX_ITEMS` jobs on 16 GPUs, `MAX_CELLS` cells), and LPT on 13M jobs, which
 * is refused with a size error.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
// rng: the solvers' seeded Mulberry32, so every run sees the same instances.
import { MAX_CELLS, MAX_ITEMS, rng, type SolverName } from '@hplb/solvers';
import { solveInstance } from 'hplb';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);

const costsOf = (n: number, kind: 'real' | 'int', seed: number): number[] => {
  const r = rng(seed);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = kind === 'real' ? r() * 1000 : 1 + Math.floor(r() * 1e6);
  return out;
};

const solveOnce = async (costs: number[], gpus: number, solver: SolverName, timeLimitMs: number) => {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const r = await solveInstance({ costs, gpus }, { solver, timeLimitMs });
  const wall = performance.now() - t;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, r };
};

// ---------------------------------------------------------------- child: one memory row

if (argv[0] === '--child') {
  const [, solver, n, gpus, limit] = argv;
  const costs = costsOf(Number(n), 'real', 7);
  const before = process.resourceUsage().maxRSS;
  const { wall, r } = await solveOnce(costs, Number(gpus), solver as SolverName, Number(limit));
  const out = E.isLeft(r)
    ? { outcome: `Left: ${formatError(r.left)}` }
    : { outcome: `${r.right.status}, gap ${(100 * r.right.gap).toFixed(4)}%` };
  process.stdout.write(JSON.stringify({ ...out, wall, rssBeforeKiB: before, peakKiB: process.resourceUsage().maxRSS }) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- main

const runs = Number(opt('runs') ?? 5);
const limits = list(opt('limits') ?? '200').map(Number);
const sizes = list(opt('sizes') ?? '10000,50000,100000').map(Number);
const gpus = Number(opt('gpus') ?? 8);
const solvers = list(opt('solvers') ?? 'auto,lpt,kk,multifit,local,exact') as SolverName[];
const json = argv.includes('--json');
const log = (s: string) => { if (!json) process.stdout.write(s + '\n'); };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out: Record<string, unknown> = { machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version }, runs, gpus };

log(`\n## solveInstance under a time limit (${gpus} GPUs; first run apart, medians of ${runs}; this thread)\n`);
log('| jobs | costs | solver | limit ms | first ms | median ms (cpu) | worst / limit | status | gap |');
log('|---|---|---|---|---|---|---|---|---|');
const rows: Array<Record<string, unknown>> = [];
for (const n of sizes) for (const kind of ['real', 'int'] as const) {
  const costs = costsOf(n, kind, 20261208 + n);
  for (const solver of solvers) for (const limit of limits) {
    const first = await solveOnce(costs, gpus, solver, limit);
    const steady: Array<Awaited<ReturnType<typeof solveOnce>>> = [];
    for (let k = 0; k < runs; k++) steady.push(await solveOnce(costs, gpus, solver, limit));
    const last = steady[steady.length - 1] ?? first;
    if (E.isLeft(last.r)) throw new Error(formatError(last.r.left));
    const walls = steady.map((s) => s.wall);
    const statuses = [...new Set(steady.map((s) => (E.isRight(s.r) ? s.r.right.status : 'Left')))].join('/');
    const gaps = steady.map((s) => (E.isRight(s.r) ? s.r.right.gap : NaN));
    const row = {
      jobs: n, costs: kind, solver, limitMs: limit, firstMs: first.wall, medianMs: median(walls), medianCpuMs: median(steady.map((s) => s.cpu)),
      worstOverLimit: Math.max(...walls) / limit, status: statuses, gapMax: Math.max(...gaps),
    };
    rows.push(row);
    log(`| ${n} | ${kind} | ${solver} | ${limit} | ${first.wall.toFixed(0)} | ${row.medianMs.toFixed(0)} (${row.medianCpuMs.toFixed(0)}) | ${row.worstOverLimit.toFixed(2)} | ${statuses} | ${(100 * row.gapMax).toFixed(4)}% |`);
  }
}
out['deadlines'] = rows;

if (!argv.includes('--no-memory')) {
  const self = fileURLToPath(import.meta.url);
  const big = MAX_ITEMS;
  const bigGpus = Math.floor(MAX_CELLS / MAX_ITEMS);
  const memRows: Array<[SolverName, number, number, number]> = [
    ['lpt', big, bigGpus, 200], ['lpt', big, bigGpus, 10_000], ['kk', big, bigGpus, 10_000], ['auto', big, bigGpus, 10_000], ['lpt', 13_000_000, 8, 10_000],
  ];
  log(`\n## Memory (one child process per row; peak resident set of the whole process, input included)\n`);
  log('| solver | jobs | GPUs | limit ms | wall ms | peak MiB | outcome |');
  log('|---|---|---|---|---|---|---|');
  const mem: Array<Record<string, unknown>> = [];
  for (const [solver, n, g, limit] of memRows) {
    const child = spawnSync(process.execPath, [...process.execArgv, self, '--child', solver, String(n), String(g), String(limit)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let rec: { outcome: string; wall: number; peakKiB: number };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      rec = { outcome: `child failed (exit ${child.status}): ${child.stderr.trim().split('\n').pop() ?? ''}`, wall: NaN, peakKiB: NaN };
    }
    mem.push({ solver, jobs: n, gpus: g, limitMs: limit, ...rec });
    log(`| ${solver} | ${n} | ${g} | ${limit} | ${rec.wall.toFixed(0)} | ${(rec.peakKiB / 1024).toFixed(0)} | ${rec.outcome} |`);
  }
  out['memory'] = mem;
}
if (json) process.stdout.write(JSON.stringify(out, null, 1) + '\n');
