/**
 * Kernel benchmarks for any registered backend (`--backend cpu|webgpu|gpujs|cuda`), printing the tables quoted in
 * backends/cpu/README.md:
 *   1. time vs budget at context N: first run and steady median per budget, and the linear fit time = a + b·blocks
 *      with R² (target: R² ≥ 0.98);
 *   2. speed-up vs dense attention at 5% density (target ≥ 10×);
 *   3. GFLOP/s on the computed blocks (QKᵀ and PV; for cpu the FLOPs it executes, see `executedFlops`) against a
 *      register-blocked 4×4
 *      TypeScript GEMM doing the same FLOPs in the same run (target ≥ 0.8×);
 *   4. multi-head throughput with 1 vs 2 worker threads (cpu; target ≥ 1.7×).
 * Speed claims live here, never in tests. Run: node --import tsx examples/bench-kernels.ts --backend cpu
 * Flags: --context N (4096) --head-dim d (128) --block B (64) --repeats R (5) --heads H (4, table 4) --quick
 * --backend-option key=value (repeatable or comma-separated; passed to createBackend, e.g. mode=cpu for gpujs,
 * idleReleaseMs=0 for webgpu)
 * --clock wall|cpu (default cpu for the cpu backend: process CPU time, robust to other jobs on a shared machine;
 * wall for GPU backends). Table 4 (threads) is always wall time: CPU time cannot show parallel speed-up.
 */
import * as E from 'fp-ts/lib/Either.js';
import { cpus, loadavg } from 'node:os';
import { formatError, hplbError, issue, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetKeys, budgetLayout, fullLayout, layoutBlocks } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams, BlockLayout, HeadInput } from '@hplb/core/kernel';
import { executedFlops } from '@hplb/backend-cpu';
import {
  BACKEND_NAMES, CLOCKS, createBackend, DEFAULT_TIMING, defaultClock, fitLinear, measurePoints, randomTensor, summarizeTimings, timeRun, timingProtocol,
  wallCpuCheckApplies, type Clock, type Reading, type TimingProtocol,
} from '@hplb/runtime';

const die = (msg: string): never => { process.stderr.write(`bench-kernels: ${msg}\n`); process.exit(1); };
const fail = (path: string, expected: string, actual?: unknown): never => die(formatError(hplbError('argument', [issue(path, expected, actual)])));

// ---------------------------------------------------------------- flags (a tiny local parser)

const VALUES = ['backend', 'context', 'head-dim', 'block', 'repeats', 'heads', 'clock', 'max-spread'];
const BOOLEANS = ['quick'];
const values = new Map<string, string>();
const booleans = new Set<string>();
const optionItems: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!;
  const eq = arg.indexOf('=');
  const flag = arg.startsWith('--') ? (eq > 0 ? arg.slice(2, eq) : arg.slice(2)) : '';
  const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
  if (flag === 'backend-option' || VALUES.includes(flag)) {
    const v = inline ?? argv[++i];
    if (v === undefined) fail(`--${flag}`, 'a value');
    if (flag === 'backend-option') optionItems.push(v!); else values.set(flag, v!);
  } else if (BOOLEANS.includes(flag)) booleans.add(flag);
  else fail(arg, `one of --${[...VALUES, ...BOOLEANS, 'backend-option'].join(', --')}`);
}
const OPTION_EXPECTED = 'key=value backend options (repeatable or comma-separated, e.g. mode=cpu or idleReleaseMs=0)';
/** `key=value[,key=value]` items; values typed as the CLI types them (true/false, numbers, strings). */
const parseOptions = (items: string[]): Record<string, unknown> | undefined => {
  const out: Record<string, unknown> = {};
  for (const item of items)
    for (const pair of item.split(',')) {
      const k = pair.indexOf('=');
      const key = k > 0 ? pair.slice(0, k).trim() : '', v = k > 0 ? pair.slice(k + 1).trim() : '';
      if (key === '' || v === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail('--backend-option', OPTION_EXPECTED, pair);
      out[key] = v === 'true' ? true : v === 'false' ? false : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : v;
    }
  return Object.keys(out).length > 0 ? out : undefined;
};
const int = (flag: string, dflt: number): number => {
  const v = values.get(flag);
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${flag}`, 'a positive integer', v);
};
const backendOptions = parseOptions(optionItems);
const name = values.get('backend') ?? 'cpu';
const quick = booleans.has('quick');
const N = int('context', quick ? 1024 : 4096);
const d = int('head-dim', 128);
const B = int('block', 64);
const repeats = int('repeats', quick ? 3 : 5);
const H = int('heads', 4);
const clockFlag = values.get('clock') ?? defaultClock(name);
if (!(CLOCKS as ReadonlyArray<string>).includes(clockFlag)) fail('--clock', `one of ${CLOCKS.join('|')}`, clockFlag);
const clock = clockFlag as Clock;

const right = <A>(e: E.Either<HplbError, A>): A => (E.isRight(e) ? e.right : die(formatError(e.left)));
const maxSpread = values.has('max-spread') ? Number(values.get('max-spread')) : DEFAULT_TIMING.maxSpread;
/** The runtime's timing protocol (warm-up apart, interleaved repeats, median + IQR, contention re-measured). */
const protocol: TimingProtocol = right(timingProtocol({ repeats, maxSpread, ...(wallCpuCheckApplies(clock) ? {} : { maxWallCpuRatio: null }) }));
/** Tables 1–3 read `clock` (process CPU time for the cpu backend: other jobs on a shared machine do not inflate it); table 4 is wall time. */

// ---------------------------------------------------------------- the reference GEMM

/** C[M×N] = A[M×K] · Bᵀ with B stored [N×K] (the dot-product form of QKᵀ), 4×4 register blocking. M, N multiples of 4. */
const gemm4x4 = (A: Float32Array, Bm: Float32Array, C: Float64Array, M: number, Nn: number, K: number): void => {
  for (let i = 0; i < M; i += 4) {
    const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    for (let j = 0; j < Nn; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < K; t++) {
        const x0 = A[a0 + t]!, x1 = A[a1 + t]!, x2 = A[a2 + t]!, x3 = A[a3 + t]!;
        const y0 = Bm[b0 + t]!, y1 = Bm[b1 + t]!, y2 = Bm[b2 + t]!, y3 = Bm[b3 + t]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const c0 = i * Nn + j, c1 = c0 + Nn, c2 = c1 + Nn, c3 = c2 + Nn;
      C[c0] = s00; C[c0 + 1] = s01; C[c0 + 2] = s02; C[c0 + 3] = s03;
      C[c1] = s10; C[c1 + 1] = s11; C[c1 + 2] = s12; C[c1 + 3] = s13;
      C[c2] = s20; C[c2 + 1] = s21; C[c2 + 2] = s22; C[c2 + 3] = s23;
      C[c3] = s30; C[c3 + 1] = s31; C[c3 + 2] = s32; C[c3 + 3] = s33;
    }
  }
};

/** One timed run of GEMMs totalling `flops` (M = N = 256, K = d: a QKᵀ-sized tile set, in cache like the kernel's), scaled to exactly `flops`. */
const gemmRun = async (flops: number): Promise<E.Either<HplbError, Reading>> => {
  const M = 256, Nn = 256, K = d;
  const A = randomTensor(M, K, 5), Bm = randomTensor(Nn, K, 6), C = new Float64Array(M * Nn);
  const reps = Math.max(1, Math.round(flops / (2 * M * Nn * K)));
  const scale = flops / (reps * 2 * M * Nn * K);
  const { reading } = await timeRun(clock, async () => { for (let r = 0; r < reps; r++) gemm4x4(A, Bm, C, M, Nn, K); });
  return E.right({ seconds: reading.seconds * scale, ...(reading.wallSeconds !== undefined ? { wallSeconds: reading.wallSeconds * scale } : {}), ...(reading.cpuSeconds !== undefined ? { cpuSeconds: reading.cpuSeconds * scale } : {}) });
};

// ---------------------------------------------------------------- main

if (!(BACKEND_NAMES as ReadonlyArray<string>).includes(name)) fail('--backend', `one of ${BACKEND_NAMES.join('|')}`, name);
const p = right(makeAttentionParams({ tokens: N, headDim: d, blockSize: B }));
const started = right(await createBackend(name, { ...(backendOptions ? { backendOptions } : {}), requires: p }));
const backend = started.backend;
const x = { q: randomTensor(N, d, 1), k: randomTensor(N, d, 2), v: randomTensor(N, d, 3) };
const out = (s: string) => process.stdout.write(s);
const ms = (s: number) => (s * 1e3).toFixed(1);
const pct = (s: number) => `${(100 * s).toFixed(1)}%`;
/** FLOPs of a layout: what the CPU kernel executes (it skips 4×4 tiles above the diagonal); full blocks, 4·B²·d each, for other backends. */
const flopsOf = (layout: BlockLayout): number => (name === 'cpu' ? executedFlops(layout, p) : 4 * B * B * d * layoutBlocks(layout));
const kernelRun = (b: AttentionBackend, layout: BlockLayout, c: Clock = clock) => async (): Promise<E.Either<HplbError, Reading>> => {
  const { value, reading } = await timeRun(c, () => b.sparseAttention(x.q, x.k, x.v, layout, p));
  return E.map(() => reading)(value);
};
/** The reference kernel of the protocol: two key blocks per query block at this N. */
const referenceLayout = right(budgetLayout(p, budgetKeys(p, 1.5 * B)));
const notes: string[] = [];
out(`# bench-kernels: backend ${started.info.name} on ${started.info.device}${started.info.mode ? ` (${started.info.mode})` : ''}${backendOptions ? `; options ${JSON.stringify(backendOptions)}` : ''}\n`);
out(`# N=${N}, d=${d}, B=${B}, causal, fp32; clock ${clock} (tables 1-3; table 4 wall); timing protocol: ${protocol.warmups} warm-up run reported apart, ${repeats} interleaved steady runs per point (median, IQR), reference kernel between points, contended runs re-measured (at most ${protocol.maxRemeasures}), spread threshold ${pct(protocol.maxSpread)}; machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared with other jobs)\n\n`);

// 1. time vs budget
const fractions = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1];
out('## 1. time vs budget\n\n| budget (tokens) | density | blocks | first run (ms) | steady median (ms) | IQR (ms) | re-measured | GFLOP/s (executed) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n');
const grid = fractions.map((f) => {
  const layout = f === 1 ? fullLayout(p) : right(budgetLayout(p, f * N));
  return { f, layout, blocks: layoutBlocks(layout) };
});
const t1 = right(await measurePoints(grid.length, (i) => kernelRun(backend, grid[i]!.layout)(), protocol, { reference: kernelRun(backend, referenceLayout) }));
const rows = grid.map((g, i) => ({ blocks: g.blocks, steady: t1.timings[i]!.median, timing: t1.timings[i]! }));
for (const [i, g] of grid.entries()) {
  const t = rows[i]!.timing;
  out(`| ${Math.round(g.f * N)} | ${(g.blocks / layoutBlocks(fullLayout(p))).toFixed(3)} | ${g.blocks} | ${ms(t.warmup[0] ?? NaN)} | ${ms(t.median)} | ${ms(t.iqr)} | ${t.remeasures}${t.noisy ? ' NOISY' : ''} | ${(flopsOf(g.layout) / t.median / 1e9).toFixed(2)} |\n`);
}
const s1 = summarizeTimings(t1.timings, protocol, clock, t1.probes, t1.ratios);
notes.push(`table 1: ${s1.note}`);
const fit = fitLinear(rows.map((r) => r.blocks), rows.map((r) => r.steady), false);
out(`\nfit: time = ${(fit.intercept * 1e3).toFixed(2)} ms + ${(fit.slope * 1e6).toFixed(1)} µs/block, R² = ${fit.r2.toFixed(4)} (target ≥ 0.98); 95% CI per block [${(fit.confidence.slope[0] * 1e6).toFixed(1)}, ${(fit.confidence.slope[1] * 1e6).toFixed(1)}] µs\n`);
out(`timing: ${s1.note}\n\n`);

// 2. speed-up vs dense at 5%
const dense = rows[rows.length - 1]!;
const five = rows[0]!;
out(`## 2. speed-up vs dense at 5%\n\ndense ${ms(dense.steady)} ms, 5% ${ms(five.steady)} ms: ${(dense.steady / five.steady).toFixed(1)}× (target ≥ 10×; block density at 5% = ${(five.blocks / dense.blocks).toFixed(3)})\n\n`);

// 3. GFLOP/s vs the 4×4 GEMM, same FLOPs, same run (interleaved by the protocol)
out('## 3. GFLOP/s on computed blocks vs a 4×4 register-blocked TypeScript GEMM of the same FLOPs\n\n| layout | kernel GFLOP/s | GEMM GFLOP/s | ratio | spread kernel / GEMM |\n|---|---:|---:|---:|---:|\n');
for (const [label, f] of [['dense', 1], ['20%', 0.2]] as const) {
  const layout = f === 1 ? fullLayout(p) : right(budgetLayout(p, f * N));
  const flops = flopsOf(layout);
  const runs = [kernelRun(backend, layout), () => gemmRun(flops)];
  const t3 = right(await measurePoints(2, (i) => runs[i]!(), protocol, { reference: kernelRun(backend, referenceLayout) }));
  const [k, g] = [t3.timings[0]!, t3.timings[1]!];
  const kg = flops / k.median / 1e9, gg = flops / g.median / 1e9;
  out(`| ${label} | ${kg.toFixed(2)} | ${gg.toFixed(2)} | ${(kg / gg).toFixed(2)} (target ≥ 0.8) | ${pct(k.spread)} / ${pct(g.spread)}${k.noisy || g.noisy ? ' NOISY' : ''} |\n`);
  notes.push(`table 3 (${label}): ${summarizeTimings(t3.timings, protocol, clock, t3.probes, t3.ratios).note}`);
}
const caps = backend.capabilities;
await backend.dispose();

// 4. 1 vs 2 worker threads (heads in parallel)
out('\n## 4. multi-head throughput, 1 vs 2 worker threads\n\n');
/** What the backend declares about running many heads, in words (capabilities, not backend names). */
const parallelism = `${caps.multiHead ? 'runs many heads in one batched call on its device (multiHead: true)' : 'runs one head per call, heads one after another (multiHead: false)'}` +
  `${caps.workerThreads === false ? '; it loads in one thread per process (workerThreads: false)' : ''}`;
if (name !== 'cpu') out(`n/a: this table times the cpu backend's worker threads; ${name} ${parallelism}\n`);
else {
  const heads: HeadInput[] = Array.from({ length: H }, (_, h) => ({ q: randomTensor(N, d, 10 + h), k: randomTensor(N, d, 20 + h), v: randomTensor(N, d, 30 + h), layout: right(budgetLayout(p, 0.2 * N)) }));
  const bs = [1, 2].map(async (w) => right(await createBackend('cpu', { backendOptions: { ...backendOptions, workers: w }, requires: p })).backend);
  const backends = await Promise.all(bs);
  // Wall time (parallel speed-up); the wall / CPU check does not apply to parallel work.
  const wallProtocol = { ...protocol, maxWallCpuRatio: null };
  const t4 = right(await measurePoints(2, async (i) => {
    const { value, reading } = await timeRun('wall', () => backends[i]!.sparseAttentionHeads(heads, p));
    return E.map(() => reading)(value);
  }, wallProtocol, { reference: kernelRun(backends[0]!, referenceLayout, 'wall') }));
  for (const b of backends) await b.dispose();
  const [one, two] = [t4.timings[0]!, t4.timings[1]!];
  out(`| workers | ${H} heads at 20% (ms, median) | IQR (ms) |\n|---:|---:|---:|\n| 1 | ${ms(one.median)} | ${ms(one.iqr)} |\n| 2 | ${ms(two.median)} | ${ms(two.iqr)} |\n\nspeed-up ${(one.median / two.median).toFixed(2)}× (target ≥ 1.7×; load average now ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)\n`);
  notes.push(`table 4: ${summarizeTimings(t4.timings, wallProtocol, 'wall', t4.probes, t4.ratios).note}`);
}
out(`\n## timing\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
