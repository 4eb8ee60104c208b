/**
 * First-run (kernel compile) vs steady time of the WebGPU backend, per operation, in one fresh process. Run it with
 * Mesa's shader cache off to see the cold compile lavapipe pays at a kernel's first dispatch:
 *   MESA_SHADER_CACHE_DISABLE=true node --import tsx backends/webgpu/scripts/first-run.ts [--context N]
 * Prints a markdown table (quoted in backends/webgpu/README.md). A benchmark, not a test. Timing follows the
 * runtime's protocol (@hplb/runtime/timing): the first run is the warm-up, reported apart; the steady median comes
 * from 3 more runs, re-measured when contended or spread over 5%, with the spread in the table.
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import { measurePoints, timingProtocol } from '@hplb/runtime/timing';
import { createBackend } from '../src/index.ts';

const arg = process.argv.indexOf('--context');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 4096;
const right = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) { process.stderr.write(`first-run: ${formatError(e.left)}\n`); process.exit(1); }
  return e.right;
};
const randn = (n: number, seed: number): Float32Array => { const g = gaussian(rng(seed)); return Float32Array.from({ length: n }, () => g()); };

const backend = createBackend();
const t0 = performance.now();
const info = right(await backend.init());
const initMs = performance.now() - t0;
const p = right(makeAttentionParams({ tokens: N, headDim: 128, blockSize: 64 }));
const x = { q: randn(N * 128, 1), k: randn(N * 128, 2), v: randn(N * 128, 3) };
const layout = right(budgetLayout(p, 0.05 * N));
const pm = right(makeAttentionParams({ tokens: Math.min(N, 1024), headDim: 128, blockSize: 64 }));
const qm = x.q.subarray(0, pm.tokens * 128), km = x.k.subarray(0, pm.tokens * 128);

const rows: string[] = [];
/** Wall time (the GPU works while the thread waits): no wall / CPU check. */
const protocol = right(timingProtocol({ warmups: 1, repeats: 3, maxWallCpuRatio: null }));
const measure = async (label: string, f: () => Promise<unknown>) => {
  const m = right(await measurePoints(1, async () => { const s = performance.now(); await f(); return E.right({ seconds: (performance.now() - s) / 1000 }); }, protocol));
  const t = m.timings[0]!;
  const first = t.warmup[0]! * 1e3, steady = t.median * 1e3;
  rows.push(`| ${label} | ${first.toFixed(0)} | ${steady.toFixed(0)} | ${(first - steady).toFixed(0)} | ${(100 * t.spread).toFixed(1)}%${t.noisy ? ' NOISY' : ''} |`);
};
await measure(`sparseAttention N=${N}, 5% budget`, async () => right(await backend.sparseAttention(x.q, x.k, x.v, layout, p)));
await measure(`blockMass N=${pm.tokens}`, async () => right(await backend.blockMass(qm, km, pm)));
await backend.dispose();

process.stdout.write(`# ${info.device}; Mesa shader cache ${process.env['MESA_SHADER_CACHE_DISABLE'] === 'true' ? 'disabled (cold compiles)' : 'enabled'}; init ${initMs.toFixed(0)} ms\n\n`);
process.stdout.write('| operation (d = 128, B = 64) | first run (ms) | steady median (ms) | first − steady (ms) | spread (IQR/median) |\n|---|---:|---:|---:|---:|\n');
process.stdout.write(rows.join('\n') + '\n');
