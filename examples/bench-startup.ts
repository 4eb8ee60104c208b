/**
 * Start-up and plan wall time of the `hplb` bin (issue 12 item 9), before and after the compiled-packages
 * restructure. Prints tables; asserts nothing.
 *
 *   npx tsx examples/bench-startup.ts [--runs 15] [--plan-runs 3] [--before-bin /tmp/orig/cli/bin/hplb.mjs]
 *                                     [--profile F] [--no-auto]
 *
 * Rows: a bare `node -e 1`; `hplb --help`; `hplb plan` of the 80-layer Llama-3.1-70B MInference profile at HP 8 with
 * `--whole-heads --solver lpt` and with `--solver auto` (both write plan.json and plan.svg into a temp dir). With
 * `--before-bin`, the same commands also run through that bin (e.g. a worktree of the pre-restructure tree, whose bin
 * transpiles TypeScript at run time). Commands run round-robin (one of each per round), so machine load is shared
 * alike; the first run of each is reported apart (cold caches), medians are over the remaining runs. Wall time and
 * CPU time (user + sys of the child process tree, from bash's `time`) are both shown: on a shared machine CPU time
 * moves less with other jobs. Ratios are against `node -e 1` measured in the same run.
 * A last table times the library call alone, in process: `planProfile` of the same profile on 8 GPUs with LPT and
 * whole heads, through the `hplb` facade (what the CLI's plan command does before it renders its comparison table).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const runs = Number(opt('runs') ?? 15);
const planRuns = Number(opt('plan-runs') ?? 3);
const beforeBin = opt('before-bin');
const withAuto = !argv.includes('--no-auto');
const afterBin = fileURLToPath(new URL('../cli/bin/hplb.mjs', import.meta.url));
const profile = resolve(opt('profile') ?? '/work/shared/data/minference/Llama_3.1_70B_Instruct_128k_kv_out_v32_fit_o_best_pattern_v2.json');
if (!existsSync(profile)) {
  process.stderr.write(`bench-startup: the profile ${profile} is absent (shared data not mounted); give --profile F\n`);
  process.exit(2);
}
if (beforeBin !== undefined && !existsSync(beforeBin)) {
  process.stderr.write(`bench-startup: --before-bin ${beforeBin} does not exist\n`);
  process.exit(2);
}

interface Sample { wall: number; cpu: number }
/** One run under bash's `time` (wall, user, sys of the whole child tree), output discarded, failures reported. */
const timeOnce = (cmd: string[], cwd: string): Sample => {
  const script = 'TIMEFORMAT="%R %U %S"; { time "$@" >/dev/null 2>"$HPLB_BENCH_ERR"; } 2>&1';
  const err = join(cwd, '.stderr');
  const r = spawnSync('bash', ['-c', script, 'bash', ...cmd], { cwd, encoding: 'utf8', env: { ...process.env, HPLB_BENCH_ERR: err } });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const [wall, user, sys] = last.split(' ').map(Number);
  if (r.status !== 0 || wall === undefined || !Number.isFinite(wall)) {
    const msg = spawnSync('tail', ['-3', err], { encoding: 'utf8' }).stdout;
    throw new Error(`${cmd.join(' ')} failed (exit ${r.status}): ${msg}`);
  }
  return { wall, cpu: (user ?? 0) + (sys ?? 0) };
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row { name: string; tree: 'after' | 'before' | '-'; cmd: string[]; runs: number; samples: Sample[] }
const rows: Row[] = [];
const add = (name: string, tree: Row['tree'], cmd: string[], n: number) => rows.push({ name, tree, cmd, runs: n, samples: [] });

const planArgs = (solver: string) => ['plan', '--profile', profile, '--gpus', '8', '--whole-heads', '--solver', solver, '--out', 'plan.json'];
add('node -e 1', '-', [process.execPath, '-e', '1'], runs);
const bins: Array<[Row['tree'], string]> = [['after', afterBin], ...(beforeBin ? [['before', beforeBin] as [Row['tree'], string]] : [])];
for (const [tree, bin] of bins) add('hplb --help', tree, [process.execPath, bin, '--help'], runs);
for (const [tree, bin] of bins) add('hplb plan 70B HP8 --whole-heads --solver lpt', tree, [process.execPath, bin, ...planArgs('lpt')], planRuns);
if (withAuto) for (const [tree, bin] of bins) add('hplb plan 70B HP8 --whole-heads --solver auto', tree, [process.execPath, bin, ...planArgs('auto')], planRuns);

const dir = mkdtempSync(join(tmpdir(), 'hplb-bench-startup-'));
try {
  const rounds = Math.max(...rows.map((r) => r.runs));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no command always runs right after the same neighbour.
    const order = rows.map((_, i) => (i + round) % rows.length);
    for (const i of order) {
      const row = rows[i]!;
      if (row.samples.length < row.runs) row.samples.push(timeOnce(row.cmd, dir));
    }
    process.stderr.write(`\rround ${round + 1}/${rounds}`);
  }
  process.stderr.write('\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const base = rows[0]!;
const nodeWall = median(base.samples.slice(1).map((s) => s.wall));
const nodeCpu = median(base.samples.slice(1).map((s) => s.cpu));
const f = (x: number, d = 3) => x.toFixed(d);
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

process.stdout.write(`\nhplb start-up and plan time: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${process.platform}, profile ${profile.split('/').pop()}\n`);
process.stdout.write(`medians over runs 2..n (first run apart); wall and CPU (user+sys) seconds; ratio = median wall / median wall of node -e 1\n\n`);
const header = ['command', 'tree', 'runs', 'first wall', 'median wall', 'median CPU', 'x node -e 1 (wall)', 'x node -e 1 (CPU)'];
const widths = [46, 6, 4, 10, 11, 10, 18, 17];
process.stdout.write('| ' + header.map((h, i) => pad(h, widths[i]!)).join(' | ') + ' |\n');
process.stdout.write('|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|\n');
for (const r of rows) {
  const steady = r.samples.slice(1);
  const wall = median(steady.map((s) => s.wall));
  const cpu = median(steady.map((s) => s.cpu));
  const cells = [r.name, r.tree, String(r.samples.length), f(r.samples[0]!.wall), f(wall), f(cpu), `${f(wall / nodeWall, 2)}x`, `${f(cpu / nodeCpu, 2)}x`];
  process.stdout.write('| ' + cells.map((c, i) => (i < 2 ? pad(c, widths[i]!) : lpad(c, widths[i]!))).join(' | ') + ' |\n');
}

const targets = rows.filter((r) => r.tree === 'after');
const helpRow = targets.find((r) => r.name === 'hplb --help');
const lptRow = targets.find((r) => r.name.includes('lpt'));
if (helpRow && lptRow) {
  const helpRatio = median(helpRow.samples.slice(1).map((s) => s.wall)) / nodeWall;
  const lptWall = median(lptRow.samples.slice(1).map((s) => s.wall));
  process.stdout.write(`\ntargets: hplb --help within 4x of node -e 1: ${f(helpRatio, 2)}x (${helpRatio <= 4 ? 'met' : 'not met'}); LPT plan of the 80-layer model under 0.5 s wall: ${f(lptWall)} s (${lptWall < 0.5 ? 'met' : 'not met'})\n`);
}

// ---------------------------------------------------------------- the library call alone, in process

type Facade = Record<string, unknown>;
const facade = (await import('hplb').catch(() => undefined)) as Facade | undefined;
const facadeNode = (await import('hplb/node').catch(() => undefined)) as Facade | undefined;
const loadProfile = (facadeNode?.['loadProfile'] ?? facade?.['loadProfile']) as ((p: unknown, o?: unknown) => unknown) | undefined;
const planProfile = facade?.['planProfile'] as ((p: unknown, o: unknown) => unknown) | undefined;
if (loadProfile === undefined || planProfile === undefined) {
  process.stdout.write('\n(library timing skipped: the hplb facade does not export loadProfile / planProfile yet)\n');
} else {
  const right = async (x: unknown): Promise<unknown> => {
    const v = await x;
    const e = v as { _tag?: string; left?: unknown; right?: unknown };
    if (e._tag === 'Left') throw new Error(JSON.stringify(e.left));
    return e._tag === 'Right' ? e.right : v;
  };
  const t0 = performance.now();
  const p = await right(loadProfile(profile, { format: 'minference' }));
  const tLoad = (performance.now() - t0) / 1000;
  const times: number[] = [];
  for (let i = 0; i < Math.max(planRuns, 5); i++) {
    const t1 = performance.now();
    await right(planProfile(p, { gpus: 8, solver: 'lpt', splitHeads: false }));
    times.push((performance.now() - t1) / 1000);
  }
  process.stdout.write(`\nlibrary, in process: loadProfile ${f(tLoad)} s; planProfile(gpus 8, solver lpt, whole heads) first ${f(times[0]!)} s, median of the rest ${f(median(times.slice(1)))} s (${times.length} runs)\n`);
}
