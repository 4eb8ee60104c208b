/**
 * Benchmark: engine-compatible placement on real MInference budgets (`../shared/data/minference`).
 *   1. The issue's figures: Llama-3.1-8B TP 8 (contiguous; r = 1, 2, 4) and Llama-3.1-70B TP 8 r = 8, time ∝ budget.
 *   2. Every MInference profile at TP 4 and 8, every feasible K/V duplication factor r, work W(b,N): attention
 *      balance, the engine lower-bound gap, the price against the free-placement bound, extra KV GiB per rank, and
 *      which r `auto` picks with the default projection price (hidden-size token-pair equivalents per token per slot).
 *   3. A length distribution (8k:0.3, 32k:0.5, 128k:0.2): each length's efficiency with one placement.
 * Run: `node --import tsx examples/bench-engine-layout.ts [--json] [--time-limit S]`. Prints tables (or JSON).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import { BUDGET_COST_MODEL, WORK_COST_MODEL, budgetsAt, importMinference, makeDevices, type CostModel, type ModelShape } from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';
import { feasibleKvCopies, planEngineLayout, type LengthPoint } from '@hplb/solvers';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const tl = argv.indexOf('--time-limit');
const timeLimitMs = tl >= 0 ? Number(argv[tl + 1]) * 1000 : 500;
const data = sharedDataDir();
if (!data) {
  console.error(SHARED_DATA_MISSING);
  process.exit(0);
}
const dir = join(data, 'minference');

const load = (file: string, n: number): { model: ModelShape; budgets: number[][] } => {
  const p = importMinference(readFileSync(join(dir, file), 'utf8'), { file });
  if (E.isLeft(p)) throw new Error(JSON.stringify(p.left));
  const b = budgetsAt(p.right, n);
  if (E.isLeft(b)) throw new Error(JSON.stringify(b.left));
  return { model: p.right.model, budgets: b.right };
};

const run = (model: ModelShape, tp: number, lengths: LengthPoint[], cm: CostModel, r: number | 'auto') => {
  const t0 = performance.now();
  const res = planEngineLayout({ model, devices: makeDevices(tp), lengths, costModel: cm, kvCopies: r, timeLimitMs, projection: { perTokenPerSlot: model.queryHeads * model.headDim, source: 'hidden size' } });
  if (E.isLeft(res)) return { error: res.left.issues[0]!.expected };
  return { res: res.right, seconds: (performance.now() - t0) / 1000 };
};

const out: Record<string, unknown> = { machine: `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}`, timeLimitMsPerLayer: timeLimitMs, note: 'other jobs were sharing the CPUs' };
const lines: string[] = [];

// 1. The issue's figures.
const N = 131072;
const issue: Record<string, unknown>[] = [];
for (const [file, tp, rs, target] of [
  ['Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json', 8, [1, 2, 4], { contiguous: 0.511, 1: 0.511, 2: 0.742, 4: 0.833 }],
  ['Llama_3.1_70B_Instruct_128k_kv_out_v32_fit_o_best_pattern_v2.json', 8, [8], { 8: 0.938 }],
] as const) {
  const { model, budgets } = load(file, N);
  for (const r of rs) {
    const x = run(model, tp, [{ contextLength: N, weight: 1, budgets }], BUDGET_COST_MODEL, r);
    if ('error' in x) continue;
    const L = x.res.plan.engineLayout.lengths[0]!;
    issue.push({ model: model.name, tp, kvCopies: r, contiguous: L.contiguousEfficiency, engine: L.balanceEfficiency, issueFigure: (target as Record<number, number>)[r], freeBound: L.freeBoundEfficiency, gap: x.res.candidates[0]!.gap, seconds: x.seconds });
  }
}
out['issueFigures'] = issue;
lines.push(`1. Issue figures (MInference, N=${N}, time ∝ budget N·b; efficiency = Σ mean load / Σ max load)`);
lines.push('model                      TP  r  contiguous  engine  issue  free-bound  gap-to-engine-LB  seconds');
for (const r of issue)
  lines.push(`${String(r['model']).padEnd(26)} ${String(r['tp']).padStart(2)} ${String(r['kvCopies']).padStart(2)}  ${(r['contiguous'] as number).toFixed(3).padStart(10)}  ${(r['engine'] as number).toFixed(3).padStart(6)}  ${(r['issueFigure'] as number).toFixed(3)}  ${(r['freeBound'] as number).toFixed(3).padStart(10)}  ${((r['gap'] as number) * 100).toFixed(1).padStart(15)}%  ${(r['seconds'] as number).toFixed(2).padStart(7)}`);

// 2. Every MInference profile, TP 4 and 8, every r, work units.
const sweep: Record<string, unknown>[] = [];
lines.push('', `2. Every MInference profile, N=${N}, work W(b,N) (token pairs); auto = r with the lowest expected latency (projection priced at hidden-size pair-equivalents per token per slot)`);
lines.push('profile                                         TP  r  contiguous  engine  free-bound  +KV GiB/rank  auto  seconds');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  let loaded;
  try {
    loaded = load(file, N);
  } catch {
    continue;
  }
  const { model, budgets } = loaded;
  for (const tp of [4, 8]) {
    const x = run(model, tp, [{ contextLength: N, weight: 1, budgets }], WORK_COST_MODEL, 'auto');
    if ('error' in x) {
      lines.push(`${file.slice(0, 46).padEnd(46)} ${String(tp).padStart(3)}  ${x.error}`);
      continue;
    }
    for (const c of x.res.candidates) {
      if (!c.feasible) continue;
      const row = { profile: file, model: model.name, tp, kvCopies: c.kvCopies, contiguous: x.res.plan.engineLayout.lengths[0]!.contiguousEfficiency, engine: c.efficiencyByLength![0], freeBound: x.res.plan.engineLayout.lengths[0]!.freeBoundEfficiency, extraKvGiBPerRank: c.extraKvBytesPerRank! / 2 ** 30, chosen: c.kvCopies === x.res.plan.engineLayout.kvCopies, seconds: c.seconds };
      sweep.push(row);
      lines.push(`${file.slice(0, 46).padEnd(46)} ${String(tp).padStart(3)} ${String(c.kvCopies).padStart(2)}  ${row.contiguous.toFixed(3).padStart(10)}  ${row.engine!.toFixed(3).padStart(6)}  ${row.freeBound.toFixed(3).padStart(10)}  ${row.extraKvGiBPerRank.toFixed(2).padStart(12)}  ${row.chosen ? '  ←' : '   '}  ${row.seconds!.toFixed(2).padStart(7)}`);
    }
  }
}
out['sweep'] = sweep;

// 3. A length distribution.
const dist = [
  { contextLength: 8192, weight: 0.3 },
  { contextLength: 32768, weight: 0.5 },
  { contextLength: 131072, weight: 0.2 },
];
const f8 = 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json';
const { model: m8 } = load(f8, N);
const lengths = dist.map((d) => ({ ...d, budgets: load(f8, d.contextLength).budgets }));
const xd = run(m8, 8, lengths, WORK_COST_MODEL, 'auto');
if (!('error' in xd)) {
  out['distribution'] = { model: m8.name, tp: 8, kvCopies: xd.res.plan.engineLayout.kvCopies, lengths: xd.res.plan.engineLayout.lengths, candidates: xd.res.candidates };
  lines.push('', `3. ${m8.name} TP 8, lengths 8k:0.3, 32k:0.5, 128k:0.2 (work units), one placement per r`);
  lines.push('r  ' + dist.map((d) => `eff@${d.contextLength}`.padStart(11)).join('') + '   E[attention]  E[latency]');
  for (const c of xd.res.candidates)
    if (c.feasible) lines.push(`${c.kvCopies}  ${c.efficiencyByLength!.map((e) => e.toFixed(3).padStart(11)).join('')}   ${c.expectedAttention!.toPrecision(4).padStart(12)}  ${c.expectedLatency!.toPrecision(4).padStart(10)}${c.kvCopies === xd.res.plan.engineLayout.kvCopies ? '  ← auto' : ''}`);
  lines.push(`contiguous at each length: ${xd.res.plan.engineLayout.lengths.map((p) => p.contiguousEfficiency.toFixed(3)).join(', ')}`);
}

if (json) console.log(JSON.stringify(out, null, 2));
else console.log(`machine: ${out['machine']}; local search ${timeLimitMs} ms per layer and r; other jobs were sharing the CPUs\n\n${lines.join('\n')}`);
