/**
 * Benchmark (not a test): how many whole-head layers hplb proves optimal, and how fast.
 *   1. every shared MInference profile at N = 131072 on 2, 4 and 8 GPUs, whole heads, kv replicate, `auto` with the
 *      deterministic effort of `hplb plan` (10^6 steps per layer): layers proven optimal, what proved them, worst
 *      stated gap, wall time of the plan;
 *   2. whole models: 80 layers × 64 heads (Llama-3.1-70B) and 32 × 32 (Llama-3.1-8B) on 8 GPUs, `auto` against an LPT
 *      plan of the same model in the same run. The first run of each is reported apart (JIT warm-up); steady figures
 *      are medians of `--runs` runs (default 5).
 * Layers are solved in this thread (`workers: 0`): worker start-up is the driver's business, not the proof's.
 *   3. (`--only process`) the 80 × 64 × 8 plan as a whole Node process on the compiled packages (start-up included;
 *      `@hplb/solvers/node`'s planModel with its default runtime): `lpt` against `auto`, alternating, wall and the
 *      child's own CPU seconds. Needs `tsc -b` first.
 *
 * Usage: npx tsx examples/bench-proofs.ts [--only profiles|model|process] [--runs 5] [--effort 1000000] [--json]
 * Reads ../shared/data (relative to the repository root); prints a note and skips when it is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, budgetsAt, formatError, importProfile, makeDevices, type Profile } from '@hplb/core';
import { planModel, type PlanInput, type SolverName } from '@hplb/solvers';

const argv = process.argv.slice(2);
const value = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const only = value('only', 'all');
const runs = Math.max(1, Number(value('runs', '5')));
const effort = Number(value('effort', '1000000'));
const json = argv.includes('--json');
const N = 131072;
const log = (s: string) => { if (!json) console.log(s); };
const out: Record<string, unknown> = { node: process.version, effort, contextLength: N };

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data', 'minference');

const loadMinference = (): Array<{ name: string; profile: Profile }> => {
  if (!existsSync(dataDir)) return [];
  const list: Array<{ name: string; profile: Profile }> = [];
  for (const f of readdirSync(dataDir).filter((x) => x.endsWith('.json')).sort()) {
    const file = join(dataDir, f);
    const p = importProfile('minference', readFileSync(file, 'utf8'), { file });
    if (E.isLeft(p)) { log(`skipped ${f}: ${formatError(p.left)}`); continue; }
    list.push({ name: f.replace(/_kv_out.*$/, '').replace(/_instruct$/, '') + (f.includes('_v2') ? '_v2' : ''), profile: p.right });
  }
  return list;
};

const inputFor = (profile: Profile, budgets: ReadonlyArray<ReadonlyArray<number>>, G: number, solver: SolverName): PlanInput => ({
  model: profile.model, contextLength: N, budgets, devices: makeDevices(G),
  constraints: { equalHeadsPerDevice: false, kv: 'replicate' }, costModel: WORK_COST_MODEL, solver,
  timeLimitMs: 5000, workers: 0, ...(solver === 'auto' ? { effort } : {}),
});

/** Wall and CPU seconds of one plan (CPU: this process; the machine may be shared, so wall time can overstate). */
const timed = async (input: PlanInput) => {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const r = await planModel(input);
  const s = (performance.now() - t) / 1000;
  const c = process.cpuUsage(c0);
  if (E.isLeft(r)) throw new Error(formatError(r.left));
  return { s, cpu: (c.user + c.system) / 1e6, r: r.right };
};

/** What proved each layer, when the plan's per-layer report says so (`proof`); "optimal" otherwise. */
const proofsOf = (layers: ReadonlyArray<{ status: string; proof?: string }>) => {
  const m = new Map<string, number>();
  for (const l of layers) if (l.status === 'optimal') m.set(l.proof ?? 'optimal', (m.get(l.proof ?? 'optimal') ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
};

const profiles = async () => {
  const list = loadMinference();
  if (list.length === 0) { log(`shared data absent (${dataDir}): skipping the profiles`); return; }
  log(`\n## Whole heads on the shared MInference profiles (N=${N}, kv replicate, auto, effort ${effort}/layer, in-thread)\n`);
  log('| profile | G | layers proven | proofs | worst gap | s |');
  log('|---|---|---|---|---|---|');
  const rows: Array<Record<string, unknown>> = [];
  let proven = 0;
  let total = 0;
  let seconds = 0;
  for (const { name, profile } of list) {
    const b = budgetsAt(profile, N);
    if (E.isLeft(b)) { log(`skipped ${name}: ${formatError(b.left)}`); continue; }
    for (const G of [2, 4, 8]) {
      const { s, r } = await timed(inputFor(profile, b.right, G, 'auto'));
      const layers = r.layers as ReadonlyArray<{ status: string; gap: number; proof?: string }>;
      const ok = layers.filter((l) => l.status === 'optimal').length;
      const worst = Math.max(...layers.map((l) => l.gap));
      proven += ok;
      total += layers.length;
      seconds += s;
      rows.push({ profile: name, gpus: G, proven: ok, layers: layers.length, worstGap: worst, seconds: s, proofs: proofsOf(layers) });
      log(`| ${name} | ${G} | ${ok}/${layers.length} | ${proofsOf(layers)} | ${(100 * worst).toFixed(3)}% | ${s.toFixed(2)} |`);
    }
  }
  log(`\nproven ${proven}/${total} layers, ${seconds.toFixed(1)} s in all`);
  out['profiles'] = { rows, proven, total, seconds };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const wholeModels = async () => {
  const cases: Array<[string, string]> = [
    ['80 × 64 × 8 (Llama-3.1-70B)', 'Llama_3.1_70B_Instruct_128k_kv_out_v32_fit_o_best_pattern_v2.json'],
    ['32 × 32 × 8 (Llama-3.1-8B)', 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json'],
  ];
  log(`\n## Whole models on 8 GPUs (auto with effort ${effort}/layer vs LPT, same run; first run apart, median of ${runs})\n`);
  log('| model | auto first s | auto median s (cpu) | LPT first s | LPT median s (cpu) | auto / LPT (cpu) | layers proven |');
  log('|---|---|---|---|---|---|---|');
  const rows: Array<Record<string, unknown>> = [];
  for (const [label, f] of cases) {
    const file = join(dataDir, f);
    if (!existsSync(file)) { log(`skipped ${label}: ${file} absent`); continue; }
    const p = importProfile('minference', readFileSync(file, 'utf8'), { file });
    if (E.isLeft(p)) continue;
    const b = budgetsAt(p.right, N);
    if (E.isLeft(b)) continue;
    const times = { auto: [] as number[], lpt: [] as number[] };
    const cpus = { auto: [] as number[], lpt: [] as number[] };
    let provenCount = 0;
    let layers = 0;
    for (let k = 0; k <= runs; k++) {
      for (const solver of ['lpt', 'auto'] as const) {
        const { s, cpu, r } = await timed(inputFor(p.right, b.right, 8, solver));
        times[solver].push(s);
        cpus[solver].push(cpu);
        if (solver === 'auto') {
          provenCount = r.layers.filter((l) => l.status === 'optimal').length;
          layers = r.layers.length;
        }
      }
    }
    const am = median(times.auto.slice(1));
    const lm = median(times.lpt.slice(1));
    const ac = median(cpus.auto.slice(1));
    const lc = median(cpus.lpt.slice(1));
    rows.push({ model: label, autoFirst: times.auto[0], autoMedian: am, autoCpu: ac, lptFirst: times.lpt[0], lptMedian: lm, lptCpu: lc, ratio: am / lm, cpuRatio: ac / lc, proven: provenCount, layers });
    log(`| ${label} | ${times.auto[0]!.toFixed(3)} | ${am.toFixed(3)} (${ac.toFixed(3)}) | ${times.lpt[0]!.toFixed(3)} | ${lm.toFixed(3)} (${lc.toFixed(3)}) | ${(am / lm).toFixed(1)} (${(ac / lc).toFixed(1)}) | ${provenCount}/${layers} |`);
  }
  out['wholeModels'] = rows;
};

/** One child process per plan: it imports the compiled packages, plans, and prints its own CPU seconds. */
const processes = () => {
  const file = join(dataDir, 'Llama_3.1_70B_Instruct_128k_kv_out_v32_fit_o_best_pattern_v2.json');
  if (!existsSync(file)) { log(`skipped the process runs: ${file} absent`); return; }
  const child = (solver: string) => `
    import { readFileSync } from 'node:fs';
    import { WORK_COST_MODEL, budgetsAt, importProfile, makeDevices } from '@hplb/core';
    import { planModel } from '@hplb/solvers/node';
    const file = ${JSON.stringify(file)};
    const p = importProfile('minference', readFileSync(file, 'utf8'), { file });
    const b = budgetsAt(p.right, ${N});
    const r = await planModel({ model: p.right.model, contextLength: ${N}, budgets: b.right, devices: makeDevices(8),
      constraints: { equalHeadsPerDevice: false, kv: 'replicate' }, costModel: WORK_COST_MODEL, solver: '${solver}',
      timeLimitMs: 5000${solver === 'auto' ? `, effort: ${effort}` : ''} });
    const c = process.cpuUsage();
    console.log(JSON.stringify({ proven: r.right.layers.filter((l) => l.status === 'optimal').length, cpu: (c.user + c.system) / 1e6 }));`;
  const here = dirname(fileURLToPath(import.meta.url));
  const times = { lpt: [] as number[], auto: [] as number[] };
  const cpus = { lpt: [] as number[], auto: [] as number[] };
  let proven = { lpt: 0, auto: 0 };
  for (let k = 0; k < runs; k++) for (const solver of ['lpt', 'auto'] as const) {
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child(solver)], { cwd: here, encoding: 'utf8' });
    const s = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`${solver} child failed: ${r.stderr}`);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { proven: number; cpu: number };
    times[solver].push(s);
    cpus[solver].push(o.cpu);
    proven = { ...proven, [solver]: o.proven };
  }
  log(`\n## 80 × 64 × 8 (Llama-3.1-70B v2) as a whole process on the compiled packages (median of ${runs}; start-up included)\n`);
  log('| solver | wall s | CPU s | layers proven |');
  log('|---|---|---|---|');
  for (const solver of ['lpt', 'auto'] as const) log(`| ${solver} | ${median(times[solver]).toFixed(2)} | ${median(cpus[solver]).toFixed(2)} | ${proven[solver]}/80 |`);
  log(`\nauto / lpt: wall ${(median(times.auto) / median(times.lpt)).toFixed(2)}, CPU ${(median(cpus.auto) / median(cpus.lpt)).toFixed(2)}`);
  out['process'] = { wall: times, cpu: cpus, proven };
};

if (only === 'all' || only === 'profiles') await profiles();
if (only === 'all' || only === 'model') await wholeModels();
if (only === 'all' || only === 'process') processes();
if (json) console.log(JSON.stringify(out, null, 2));
