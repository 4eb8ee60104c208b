/**
 * Benchmark of the ILP engines and of split heads on every shared real profile (../shared/data), printing Markdown
 * tables (the ones in solvers/ILP-AND-SPLITS.md):
 *   1. ILP time-to-proof per engine (HiGHS, GLPK) on every 32-query-head profile at 8 GPUs, work units, N=131072;
 *   2. split heads: balance efficiency and cuts per layer for every profile at HP 2, 4 and 8 (work units), starting
 *      from LPT's whole-head placement.
 * Profiles: MInference (all files), DuoAttention (sparsity 0.5), MoA (moa_alpha_beta.json). XAttention's top-p
 * thresholds need recovery curves to become tokens, so it is not included.
 *
 *   node --import tsx examples/bench-ilp-splits.ts [--ilp-only | --splits-only] [--time-limit MS] [--json]
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { budgetsAt, formatError, importProfile, modelWork, WORK_COST_MODEL, type ModelShape } from '@hplb/core';
import { sharedDataDir, SHARED_DATA_MISSING } from '@hplb/core/node';
import { solveIlp, ilpEngineAvailable, type IlpEngine } from '@hplb/solvers/node';
import { splitLayer } from '@hplb/solvers';

const N = 131072;
const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const opt = (f: string, d: number) => {
  const i = args.indexOf(f);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const timeLimitMs = opt('--time-limit', 10_000);

interface Loaded {
  readonly name: string;
  readonly model: ModelShape;
  readonly budgets: number[][];
}

const load = (dir: string): Loaded[] => {
  const out: Loaded[] = [];
  const add = (name: string, format: string, file: string, extra: Record<string, unknown> = {}) => {
    const p = importProfile(format, readFileSync(file, 'utf8'), { file, contextLength: N, ...extra });
    if (E.isLeft(p)) return console.error(`skip ${name}: ${formatError(p.left)}`);
    const b = budgetsAt(p.right, N, { file });
    if (E.isLeft(b)) return console.error(`skip ${name}: ${formatError(b.left)}`);
    out.push({ name, model: p.right.model, budgets: b.right });
  };
  for (const f of readdirSync(join(dir, 'minference')).sort()) add(`minference/${f.replace(/_kv_out.*|_instruct_kv.*/, '')}${f.includes('_v2') ? ' (v2)' : ''}`, 'minference', join(dir, 'minference', f));
  for (const m of readdirSync(join(dir, 'duo')).sort()) {
    const f = join(dir, 'duo', m, 'full_attention_heads.tsv');
    if (existsSync(f)) add(`duo/${m} (s=0.5)`, 'duo', f, { sparsity: 0.5 });
  }
  for (const m of readdirSync(join(dir, 'moa')).sort()) {
    const f = join(dir, 'moa', m, 'moa_alpha_beta.json');
    if (existsSync(f)) add(`moa/${m}`, 'moa', f);
  }
  return out;
};

const lpt = (costs: ReadonlyArray<number>, g: number): number[] => {
  const order = costs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b);
  const loadv = Array<number>(g).fill(0);
  const a = Array<number>(costs.length).fill(0);
  for (const i of order) {
    let d = 0;
    for (let k = 1; k < g; k++) if (loadv[k]! < loadv[d]!) d = k;
    a[i] = d;
    loadv[d]! += costs[i]!;
  }
  return a;
};

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

const main = async () => {
  const dir = sharedDataDir();
  if (!dir) {
    console.log(SHARED_DATA_MISSING);
    return;
  }
  const profiles = load(dir);
  const json: Record<string, unknown> = { contextLength: N, machine: `${process.platform} ${process.arch}, node ${process.version}` };

  if (!flag('--splits-only')) {
    const rows: Record<string, unknown>[] = [];
    console.log(`\n### ILP time-to-proof, 32 query heads × 8 GPUs, work units, N=${N}, time limit ${timeLimitMs} ms per layer (warm worker)\n`);
    console.log('| profile | engine | layers | optimal | max s | p50 s | mean s | worker start s |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const engine of ['highs', 'glpk'] as IlpEngine[]) {
      const t0 = performance.now();
      const avail = await ilpEngineAvailable(engine);
      const start = (performance.now() - t0) / 1000;
      if (avail !== true) {
        console.log(`| (all) | ${engine} | – | unavailable: ${avail} | | | | |`);
        continue;
      }
      for (const p of profiles.filter((x) => x.model.queryHeads === 32)) {
        const times: number[] = [];
        let optimal = 0;
        for (let l = 0; l < p.budgets.length; l++) {
          const costs = p.budgets[l]!.map((b) => modelWork(WORK_COST_MODEL, b, N));
          const t = performance.now();
          const r = await solveIlp({ layer: l, costs, speeds: Array(8).fill(1) }, { engine, timeLimitMs });
          times.push((performance.now() - t) / 1000);
          if (r.status === 'optimal') optimal++;
        }
        const mean = times.reduce((a, b) => a + b, 0) / times.length;
        rows.push({ profile: p.name, engine, layers: times.length, optimal, max: Math.max(...times), p50: quantile(times, 0.5), mean, workerStart: start });
        console.log(`| ${p.name} | ${engine} | ${times.length} | ${optimal} | ${Math.max(...times).toFixed(3)} | ${quantile(times, 0.5).toFixed(3)} | ${mean.toFixed(3)} | ${start.toFixed(2)} |`);
      }
    }
    json['ilp'] = rows;
  }

  if (!flag('--ilp-only')) {
    const rows: Record<string, unknown>[] = [];
    console.log(`\n### Split heads (work units, N=${N}, target 0.999, rowAlign 64, start: LPT whole heads)\n`);
    console.log('| profile | HP | layers | whole eff (LPT) | split eff | mean cuts/layer | max cuts/layer | layers split | ms |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of profiles) {
      for (const g of [2, 4, 8]) {
        const t = performance.now();
        let wMean = 0;
        let wMax = 0;
        let sMean = 0;
        let sMax = 0;
        let cuts = 0;
        let maxCuts = 0;
        let layersSplit = 0;
        p.budgets.forEach((row, l) => {
          const costs = row.map((b) => modelWork(WORK_COST_MODEL, b, N));
          const assignment = lpt(costs, g);
          const whole = Array<number>(g).fill(0);
          assignment.forEach((d, i) => (whole[d]! += costs[i]!));
          wMean += whole.reduce((a, b) => a + b, 0) / g;
          wMax += Math.max(...whole);
          const r = splitLayer({ layer: l, contextLength: N, budgets: row, speeds: Array(g).fill(1), costModel: WORK_COST_MODEL, assignment, model: p.model });
          const c = r.splits.reduce((a, s) => a + s.parts.length - 1, 0);
          cuts += c;
          maxCuts = Math.max(maxCuts, c);
          if (c > 0) layersSplit++;
          sMean += r.deviceLoad.reduce((a, b) => a + b, 0) / g;
          sMax += r.makespan;
        });
        const ms = performance.now() - t;
        const L = p.budgets.length;
        rows.push({ profile: p.name, hp: g, layers: L, wholeEfficiency: wMean / wMax, splitEfficiency: sMean / sMax, meanCuts: cuts / L, maxCuts, layersSplit, ms });
        console.log(`| ${p.name} | ${g} | ${L} | ${(wMean / wMax).toFixed(4)} | ${(sMean / sMax).toFixed(5)} | ${(cuts / L).toFixed(2)} | ${maxCuts} | ${layersSplit} | ${ms.toFixed(0)} |`);
      }
    }
    json['splits'] = rows;
  }
  if (flag('--json')) console.log(JSON.stringify(json, null, 2));
};

await main();
