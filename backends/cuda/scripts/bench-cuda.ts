/**
 * Kernel-time benchmark of the CUDA backend on the shapes of issue [cuda]: N = 8K/32K/64K/128K, d = 128, bf16,
 * B = 64, causal, densities of 1–20 % of the dense causal work (MInference vertical+slash layouts from
 * `budgetLayout`) plus the dense layout, many heads per launch (H·N ≈ 256K rows). It times the kernels with CUDA events
 * (`lastTiming().kernelMs`, uploads excluded) by the runtime's timing protocol (@hplb/runtime/timing, the one
 * calibration, the executor and examples/bench-kernels.ts use): the first (warm-up) call reported apart, `--reps`
 * steady calls per case with the cases of one N interleaved, a reference kernel (the sparsest case, one head)
 * timed between cases, contended calls re-measured, each case's median, IQR, re-measures and noisy flag in the
 * JSON, and a timing summary per N; blockMass is timed on one head, by the same protocol. It writes every layout it ran as CSR JSON plus a manifest, so
 * scripts/torch_reference.py runs the IDENTICAL block masks through FlexAttention and the dense shapes through
 * SDPA-FLASH. Run by scripts/device-check.sh on a GPU; `--dry-run` builds the layouts and the manifest only
 * (no GPU), which is how the dry run checks this script here.
 *
 *   node --import tsx backends/cuda/scripts/bench-cuda.ts --out DIR [--tokens 8192,32768] [--densities 1,2,5,10,20]
 *        [--reps 5] [--rows-per-launch 262144] [--precision bf16] [--dry-run | --simulate]
 *
 * `--simulate` runs everything against a stand-in for the CUDA backend (no GPU: zero outputs, CUDA-event times
 * proportional to the computed blocks, with a deterministic burst of contention) so the dry run exercises the timing
 * protocol, the JSON and scripts/summarize.ts end to end; its numbers mean nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout, fullLayout, layoutBlocks, layoutTokenPairs } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { AttentionParams, BlockLayout, HeadInput, Precision } from '@hplb/core/kernel';
import { measurePoints, summarizeTimings, timingProtocol, type Reading, type TimingProtocol } from '@hplb/runtime/timing';
import { createBackend } from '../src/index.ts';

// ---------------------------------------------------------------- arguments

interface Args {
  readonly out: string;
  readonly tokens: number[];
  readonly densities: number[];
  readonly reps: number;
  readonly rowsPerLaunch: number;
  readonly precision: Precision;
  readonly headDim: number;
  readonly blockSize: number;
  readonly dryRun: boolean;
  /** Run every timing step against a simulated backend (no GPU): how the dry run exercises the timing code. */
  readonly simulate: boolean;
}

const usage = 'usage: bench-cuda.ts --out DIR [--tokens 8192,32768,65536,131072] [--densities 1,2,5,10,20] [--reps 5] [--rows-per-launch 262144] [--precision bf16] [--head-dim 128] [--block-size 64] [--dry-run | --simulate]';

const parseArgs = (argv: string[]): Args => {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const ints = (flag: string, dflt: number[]): number[] => {
    const v = get(flag);
    if (v === undefined) return dflt;
    const xs = v.split(',').map(Number);
    if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`${flag}: expected a comma-separated list of positive numbers, got ${v}\n${usage}`);
    return xs;
  };
  const out = get('--out');
  if (out === undefined) throw new Error(`--out DIR is required\n${usage}`);
  const precision = (get('--precision') ?? 'bf16') as Precision;
  if (!['fp32', 'fp16', 'bf16'].includes(precision)) throw new Error(`--precision: expected fp32|fp16|bf16, got ${precision}`);
  return {
    out,
    tokens: ints('--tokens', [8192, 32768, 65536, 131072]),
    densities: ints('--densities', [1, 2, 5, 10, 20]),
    reps: ints('--reps', [5])[0]!,
    rowsPerLaunch: ints('--rows-per-launch', [262144])[0]!,
    precision,
    headDim: ints('--head-dim', [128])[0]!,
    blockSize: ints('--block-size', [64])[0]!,
    dryRun: argv.includes('--dry-run'),
    simulate: argv.includes('--simulate'),
  };
};

// ---------------------------------------------------------------- cases

export interface BenchCase {
  readonly id: string;
  readonly tokens: number;
  readonly heads: number;
  /** Requested per-query budget as % of N; 100 = the dense (full causal) layout. */
  readonly targetDensityPct: number;
  /** Computed key blocks ÷ blocks of the dense causal layout. */
  readonly blockDensity: number;
  /** Computed (query, key) pairs ÷ dense causal pairs. */
  readonly pairDensity: number;
  readonly tokenPairs: number;
  readonly layoutFile: string;
}

const must = <A>(what: string, e: E.Either<import('@hplb/core').HplbError, A>): A => {
  if (E.isLeft(e)) throw new Error(`${what}: ${formatError(e.left)}`);
  return e.right;
};

/**
 * The layout for a target density (% of the dense causal work): a per-query budget of pct % of the N/2 keys an
 * average causal row sees. Block granularity (sinks, diagonal blocks) makes the actual density differ a little,
 * most at small N; the actual block and pair densities are what every report uses.
 */
const layoutFor = (p: AttentionParams, pct: number): BlockLayout =>
  pct >= 100 ? fullLayout(p) : must('budgetLayout', budgetLayout(p, Math.max(1, (pct / 100) * (p.tokens / 2))));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The timing protocol for CUDA-event times: `reps` steady calls, no wall / CPU check (the thread waits for the GPU). */
const protocolFor = (reps: number): TimingProtocol => must('timing protocol', timingProtocol({ repeats: reps, maxWallCpuRatio: null }));

/** Least-squares fit y = a + b·x and its R². */
export const linearFit = (xs: number[], ys: number[]): { intercept: number; slope: number; r2: number } => {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2; syy += (ys[i]! - my) ** 2; }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const r2 = syy > 0 && sxx > 0 ? (sxy * sxy) / (sxx * syy) : 1;
  return { intercept: my - slope * mx, slope, r2 };
};

const randn = (n: number, seed: number): Float32Array => {
  const g = gaussian(rng(seed));
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = g();
  return x;
};

// ---------------------------------------------------------------- a stand-in for the GPU (--simulate)

/** What bench-cuda uses of the CUDA backend, simulated: zero outputs, kernel time ∝ computed blocks, every 17th call 40% slower. */
const simulatedBackend = (options?: Record<string, unknown>): ReturnType<typeof createBackend> => {
  let calls = 0;
  let timing: { kernelMs: number; totalMs: number } | undefined;
  const tick = (blocks: number) => {
    calls++;
    const kernelMs = (0.01 + blocks * 2e-5) * (calls % 17 === 0 ? 1.4 : 1) * (options?.['kernel'] === 'simple' ? 1.5 : 1);
    timing = { kernelMs, totalMs: kernelMs + 1 };
  };
  const zeros = (p: AttentionParams) => ({ out: new Float32Array(p.tokens * p.headDim), lse: new Float32Array(p.tokens) });
  const real = createBackend(options);
  return Object.assign(Object.create(real) as ReturnType<typeof createBackend>, {
    init: async () => E.right({ name: 'cuda', device: 'simulated GPU (bench-cuda --simulate)', details: {} }),
    sparseAttention: async (_q: Float32Array, _k: Float32Array, _v: Float32Array, layout: BlockLayout, p: AttentionParams) => { tick(layoutBlocks(layout)); return E.right(zeros(p)); },
    sparseAttentionHeads: async (heads: HeadInput[], p: AttentionParams) => { tick(heads.reduce((s, h) => s + layoutBlocks(h.layout), 0)); return E.right(heads.map(() => zeros(p))); },
    blockMass: async (_q: Float32Array, _k: Float32Array, p: AttentionParams) => { tick(p.blocks * p.blocks); return E.right({ mass: new Float32Array(p.blocks * p.blocks) }); },
    lastTiming: () => timing,
    dispose: async () => { await real.dispose(); },
  });
};

// ---------------------------------------------------------------- main

const main = async (): Promise<void> => {
  const a = parseArgs(process.argv.slice(2));
  const layoutDir = join(a.out, 'layouts');
  mkdirSync(layoutDir, { recursive: true });
  const cases: BenchCase[] = [];
  const layouts = new Map<string, BlockLayout>();
  for (const N of a.tokens) {
    const p = must('params', makeAttentionParams({ tokens: N, headDim: a.headDim, blockSize: a.blockSize, causal: true, precision: a.precision }));
    const heads = Math.max(1, Math.floor(a.rowsPerLaunch / N));
    const full = fullLayout(p);
    const densePairs = layoutTokenPairs(full, p);
    for (const pct of [...a.densities, 100]) {
      const L = pct >= 100 ? full : layoutFor(p, pct);
      const id = `N${N}-D${pct}`;
      const file = join(layoutDir, `${id}.json`);
      writeFileSync(file, JSON.stringify({ tokens: N, blockSize: L.blockSize, blocks: L.blocks, causal: true, offsets: [...L.offsets], indices: [...L.indices] }));
      const pairs = layoutTokenPairs(L, p);
      cases.push({ id, tokens: N, heads, targetDensityPct: pct, blockDensity: layoutBlocks(L) / layoutBlocks(full), pairDensity: pairs / densePairs, tokenPairs: pairs, layoutFile: `layouts/${id}.json` });
      layouts.set(id, L);
    }
  }
  const manifest = { headDim: a.headDim, blockSize: a.blockSize, causal: true, precision: a.precision, reps: a.reps, cases };
  writeFileSync(join(a.out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  console.log(`bench-cuda: ${cases.length} cases, layouts and manifest in ${a.out}`);
  if (a.dryRun) return;

  const make = a.simulate ? simulatedBackend : createBackend;
  const backend = make({ kernel: 'pipelined' });
  const info = await backend.init();
  if (E.isLeft(info)) throw new Error(`cuda backend cannot start: ${formatError(info.left)}`);
  console.log(`device: ${info.right.device}; ${JSON.stringify(info.right.details)}`);
  // The simple kernel on the dense and 10 % cases, to show what the pipelining buys (and as a fallback's cost).
  const simple = make({ kernel: 'simple' });
  if (E.isLeft(await simple.init())) throw new Error('cuda backend (simple kernel) cannot start');
  const simpleResults: object[] = [];
  const results: object[] = [];
  const massResults: object[] = [];
  const timingByN: object[] = [];
  // Large-shape cross-check (conformance runs N ≤ ~300): one head of the first N at 10 %, pipelined and simple
  // bf16 kernels against the fp32 kernel, max |difference| of out and of lse.
  const checks: object[] = [];
  {
    const N = a.tokens[0]!;
    const c = cases.find((x) => x.tokens === N && x.targetDensityPct === 10) ?? cases.find((x) => x.tokens === N)!;
    const L = layouts.get(c.id)!;
    const n = N * a.headDim;
    const q = randn(n, 11), k = randn(n, 12), v = randn(n, 13);
    const pf = must('params', makeAttentionParams({ tokens: N, headDim: a.headDim, blockSize: a.blockSize, causal: true, precision: 'fp32' }));
    const ref = must('fp32 reference', await backend.sparseAttention(q, k, v, L, pf));
    const maxDiff = (x: Float32Array, y: Float32Array): number => { let m = 0; for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!)); return m; };
    const ph = must('params', makeAttentionParams({ tokens: N, headDim: a.headDim, blockSize: a.blockSize, causal: true, precision: a.precision }));
    for (const [kernel, b] of [['pipelined', backend], ['simple', simple]] as const) {
      const got = must(`${kernel} ${c.id}`, await b.sparseAttention(q, k, v, L, ph));
      const row = { id: c.id, kernel, precision: a.precision, versus: 'fp32 kernel', maxAbsDiffOut: maxDiff(got.out, ref.out), maxAbsDiffLse: maxDiff(got.lse, ref.lse) };
      checks.push(row);
      console.log(`check ${c.id} ${kernel} ${a.precision} vs fp32: max |Δout| ${row.maxAbsDiffOut.toExponential(2)}, max |Δlse| ${row.maxAbsDiffLse.toExponential(2)}`);
    }
  }
  for (const N of a.tokens) {
    const p = must('params', makeAttentionParams({ tokens: N, headDim: a.headDim, blockSize: a.blockSize, causal: true, precision: a.precision }));
    const n = N * a.headDim;
    const q = randn(n, 1), k = randn(n, 2), v = randn(n, 3);
    const nCases = cases.filter((x) => x.tokens === N);
    const heads = nCases.map((c) => Array.from({ length: c.heads }, (): HeadInput => ({ q, k, v, layout: layouts.get(c.id)! })));
    const totals = nCases.map(() => [] as number[]);
    const timed = async (b: typeof backend, hs: HeadInput[], what: string): Promise<E.Either<import('@hplb/core').HplbError, Reading>> => {
      const r = await b.sparseAttentionHeads(hs, p);
      if (E.isLeft(r)) return E.left(r.left);
      const t = b.lastTiming();
      if (t === undefined) throw new Error(`${what}: the backend reported no timing`);
      return E.right({ seconds: t.kernelMs / 1e3 });
    };
    // The reference kernel: the sparsest case of this N on one head.
    const refHeads = [{ ...heads[0]![0]! }];
    const protocol = protocolFor(a.reps);
    const measured = must(`sparseAttentionHeads N=${N}`, await measurePoints(nCases.length, async (i) => {
      const r = await timed(backend, heads[i]!, nCases[i]!.id);
      if (E.isRight(r)) totals[i]!.push(backend.lastTiming()!.totalMs);
      return r;
    }, protocol, { reference: () => timed(backend, refHeads, 'reference') }));
    timingByN.push({ tokens: N, ...summarizeTimings(measured.timings, protocol, 'cuda-events', measured.probes) });
    for (const [i, c] of nCases.entries()) {
      const t = measured.timings[i]!;
      const ms = t.median * 1e3;
      const tflops = (4 * c.tokenPairs * a.headDim * c.heads) / (ms * 1e-3) / 1e12;
      const row = {
        ...c, precision: a.precision, firstKernelMs: (t.warmup[0] ?? NaN) * 1e3, kernelMs: ms, minKernelMs: Math.min(...t.samples) * 1e3,
        iqrKernelMs: t.iqr * 1e3, spread: t.spread, runs: t.samples.length, rejected: t.rejected, remeasures: t.remeasures, noisy: t.noisy,
        totalMs: median(totals[i]!.slice(protocol.warmups)), tflops,
      };
      results.push(row);
      console.log(`${c.id.padEnd(14)} H=${String(c.heads).padStart(3)} blockDensity=${(100 * c.blockDensity).toFixed(2).padStart(6)}% kernel ${ms.toFixed(3)} ms (first ${row.firstKernelMs.toFixed(3)}, IQR ${row.iqrKernelMs.toFixed(3)}${t.noisy ? ', NOISY' : ''}) ${tflops.toFixed(1)} TFLOP/s; call ${row.totalMs.toFixed(1)} ms`);
    }
    for (const [i, c] of nCases.entries()) {
      if (!(c.targetDensityPct === 10 || c.targetDensityPct >= 100)) continue;
      const st = must(`simple kernel ${c.id}`, await measurePoints(1, () => timed(simple, heads[i]!, `simple ${c.id}`), protocolFor(3)));
      const ms = results.find((r) => (r as BenchCase).id === c.id) as { kernelMs: number };
      simpleResults.push({ id: c.id, kernelMs: st.timings[0]!.median * 1e3, spread: st.timings[0]!.spread, pipelinedKernelMs: ms.kernelMs });
      console.log(`${c.id.padEnd(14)} simple kernel ${(st.timings[0]!.median * 1e3).toFixed(3)} ms (pipelined ${ms.kernelMs.toFixed(3)} ms)`);
    }
    const mass = must(`blockMass N=${N}`, await measurePoints(1, async () => {
      const r = await backend.blockMass(q, k, p);
      return E.isLeft(r) ? E.left(r.left) : E.right({ seconds: backend.lastTiming()!.kernelMs / 1e3 });
    }, protocolFor(Math.min(a.reps, 3))));
    massResults.push({ tokens: N, heads: 1, kernelMs: mass.timings[0]!.median * 1e3, spread: mass.timings[0]!.spread, noisy: mass.timings[0]!.noisy });
    console.log(`blockMass N=${N}: ${(mass.timings[0]!.median * 1e3).toFixed(3)} ms (1 head)`);
  }
  const fits = a.tokens.map((N) => {
    const rows = results.filter((r) => (r as BenchCase).tokens === N) as Array<BenchCase & { kernelMs: number }>;
    return { tokens: N, ...linearFit(rows.map((r) => r.blockDensity), rows.map((r) => r.kernelMs)) };
  });
  await backend.dispose();
  await simple.dispose();
  writeFileSync(join(a.out, 'cuda-bench.json'), JSON.stringify({ device: info.right, manifest: { ...manifest, cases: undefined }, checks, results, simpleKernel: simpleResults, blockMass: massResults, linearity: fits, timing: timingByN }, null, 2));
  console.log(`bench-cuda: wrote ${join(a.out, 'cuda-bench.json')}`);
};

main().catch((e: unknown) => {
  console.error(`bench-cuda: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
