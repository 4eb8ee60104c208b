/**
 * The analytic cases of the attention conformance suite, platform-neutral (no node:test, no file system), so the
 * same cases run under Node's test runner (`conformance.ts`, which adds the golden files) and in a browser (the web
 * page's "benchmark this GPU" panel, through `runConformanceCases`). Each case is a name, the attention params whose
 * capability check decides whether it applies, and a body that throws on a mismatch (naming the tensor, the index
 * and both values, with the tolerance of the declared precision).
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError, type HplbError } from '@hplb/core';
import { checkCapabilities, makeAttentionParams, type RawAttentionParams } from '@hplb/core/kernel';
import { budgetLayout, fullLayout, layoutFromLists } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionOutput, AttentionParams, BackendCapabilities, BackendInfo, BlockLayout, Precision, RowRange } from '@hplb/core/kernel';
import { referenceAttention, referenceBlockMass } from './reference.ts';
import { compareArrays, TOLERANCES, type Tolerance } from './tolerance.ts';
import { roundToPrecision } from './precision.ts';

// ---------------------------------------------------------------- helpers

export const randn = (n: number, seed: number, scale = 1): Float32Array => {
  const g = gaussian(rng(seed));
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = scale * g();
  return x;
};

export const params = (raw: RawAttentionParams): AttentionParams => {
  const p = makeAttentionParams(raw);
  if (E.isLeft(p)) throw new Error(formatError(p.left));
  return p.right;
};

export const right = <A>(what: string, e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) throw new Error(`${what} failed: ${formatError(e.left)}`);
  return e.right;
};

export const expectClose = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, cols = 1): void => {
  const msg = compareArrays(name, actual, expected, tol, cols);
  if (msg !== null) throw new Error(msg);
};

export const expectLeft = (what: string, e: E.Either<HplbError, unknown>, mentions: RegExp): void => {
  if (E.isRight(e)) throw new Error(`${what}: expected an error, got a result`);
  const text = formatError(e.left);
  if (!mentions.test(text)) throw new Error(`${what}: the error should mention ${mentions}, got: ${text}`);
};

export const allFinite = (name: string, x: ArrayLike<number>): void => {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw new Error(`${name}[${i}] is ${x[i]}, expected a finite number`);
};

/** The block size analytic cases use: 64 when supported (what real kernels use), else the smallest declared. */
export const pickBlock = (caps: BackendCapabilities): number => (caps.blockSizes.includes(64) ? 64 : Math.min(...caps.blockSizes));

// ---------------------------------------------------------------- the cases

/** One conformance case: `params` decide (by the backend's declared capabilities) whether it applies. */
export interface ConformanceCase {
  readonly name: string;
  readonly params?: AttentionParams;
  readonly run: () => Promise<void>;
}

/** Why `p` is outside the backend's declared capabilities, or undefined when it is inside. */
export const capabilityGap = (caps: BackendCapabilities, p: AttentionParams, name: string): string | undefined => {
  const c = checkCapabilities(caps, p, name);
  return E.isLeft(c) ? `not declared by the backend: ${formatError(c.left).replace(/\n/g, '; ')}` : undefined;
};

/**
 * The analytic cases for a started backend at a precision: full layout = dense attention, head dims 64 and 128,
 * N not a multiple of B, uniform V, key permutation inside a block, causal masking, ±1e4 logits, row ranges,
 * blockMass, batched heads, bad inputs, a head dim over the declared maximum.
 */
export const analyticCases = (backend: AttentionBackend, precision: Precision): ConformanceCase[] => {
  const tol = TOLERANCES[precision];
  /** Reference results on the inputs as the backend sees them (rounded to the declared precision). */
  const r = (x: Float32Array) => roundToPrecision(x, precision);
  const refAttention = (q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams, layout?: BlockLayout, rows?: RowRange) =>
    referenceAttention(r(q), r(k), r(v), p, layout, rows);
  const caps = backend.capabilities;
  const B = pickBlock(caps);
  const cases: ConformanceCase[] = [];
  const add = (name: string, p: AttentionParams | undefined, run: () => Promise<void>): void => {
    cases.push({ name, ...(p !== undefined ? { params: p } : {}), run });
  };
  const attend = async (q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, rows?: RowRange): Promise<AttentionOutput> =>
    right('sparseAttention', await backend.sparseAttention(q, k, v, layout, p, rows));
  const againstReference = async (p: AttentionParams, layout: BlockLayout, seed: number, inputScale = 1, rows?: RowRange) => {
    const q = randn(p.tokens * p.headDim, seed, inputScale);
    const k = randn(p.tokens * p.headDim, seed + 1, inputScale);
    const v = randn(p.tokens * p.headDim, seed + 2);
    const got = await attend(q, k, v, layout, p, rows);
    const ref = refAttention(q, k, v, p, layout, rows);
    expectClose('out', got.out, ref.out, tol, p.headDim);
    expectClose('lse', got.lse, ref.lse, tol);
  };

    // ------------------------------------------------ analytic checks
    for (const causal of [true, false]) {
      const p = params({ tokens: 3 * B, headDim: 64, blockSize: B, causal, precision });
      add(`full layout equals dense attention (${causal ? 'causal' : 'non-causal'})`, p, () => againstReference(p, fullLayout(p), 11));
    }
    for (const d of [64, 128]) {
      const p = params({ tokens: 2 * B + 3, headDim: d, blockSize: B, precision });
      add(`head dim ${d}`, p, () => againstReference(p, fullLayout(p), 20 + d));
    }
    {
      const p = params({ tokens: 3 * B + 5, headDim: 64, blockSize: B, precision });
      add(`N not a multiple of B (N = ${p.tokens}, B = ${B}), sparse layout`, p, () => againstReference(p, right('budgetLayout', budgetLayout(p, B + 7)), 31));
    }
    {
      const p = params({ tokens: 4 * B, headDim: 64, blockSize: B, precision });
      add('uniform V gives V', p, async () => {
        const row = randn(p.headDim, 41);
        const v = new Float32Array(p.tokens * p.headDim);
        for (let i = 0; i < p.tokens; i++) v.set(row, i * p.headDim);
        const layout = right('budgetLayout', budgetLayout(p, Math.round(1.5 * B)));
        const got = await attend(randn(v.length, 42, 2), randn(v.length, 43, 2), v, layout, p);
        const want = new Float32Array(v.length);
        for (let i = 0; i < p.tokens; i++) want.set(row, i * p.headDim);
        expectClose('out', got.out, want, tol, p.headDim);
      });
    }
    {
      const p = params({ tokens: 3 * B, headDim: 64, blockSize: B, causal: false, precision });
      add('permuting keys within a block changes nothing', p, async () => {
        const n = p.tokens * p.headDim;
        const q = randn(n, 51), k = randn(n, 52), v = randn(n, 53);
        const layout = layoutFromLists(B, p.blocks, [[0, 2], [1], [0, 1, 2]]);
        const base = await attend(q, k, v, layout, p);
        const perm = Array.from({ length: B }, (_, i) => i);
        const u = rng(54);
        for (let i = B - 1; i > 0; i--) { const j = Math.floor(u() * (i + 1)); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
        const k2 = k.slice(), v2 = v.slice();
        for (let kb = 0; kb < p.blocks; kb++)
          for (let i = 0; i < B; i++) {
            k2.set(k.subarray((kb * B + perm[i]!) * p.headDim, (kb * B + perm[i]! + 1) * p.headDim), (kb * B + i) * p.headDim);
            v2.set(v.subarray((kb * B + perm[i]!) * p.headDim, (kb * B + perm[i]! + 1) * p.headDim), (kb * B + i) * p.headDim);
          }
        const got = await attend(q, k2, v2, layout, p);
        expectClose('out', got.out, base.out, tol, p.headDim);
        expectClose('lse', got.lse, base.lse, tol);
      });
    }
    {
      const p = params({ tokens: 3 * B, headDim: 64, blockSize: B, precision });
      add('causal masking holds: future keys and values do not change a row', p, async () => {
        const n = p.tokens * p.headDim;
        const q = randn(n, 61), k = randn(n, 62), v = randn(n, 63);
        const cut = B + Math.floor(B / 2);
        const k2 = k.slice(), v2 = v.slice();
        const noise = randn(n, 64, 10);
        for (let x = (cut + 1) * p.headDim; x < n; x++) { k2[x] = noise[x]!; v2[x] = -noise[x]!; }
        const a = await attend(q, k, v, fullLayout(p), p);
        const b = await attend(q, k2, v2, fullLayout(p), p);
        const rows = (cut + 1) * p.headDim;
        expectClose(`out rows 0..${cut}`, b.out.subarray(0, rows), a.out.subarray(0, rows), tol, p.headDim);
        expectClose(`lse rows 0..${cut}`, b.lse.subarray(0, cut + 1), a.lse.subarray(0, cut + 1), tol);
        const ref = refAttention(q, k, v, p);
        expectClose('out', a.out, ref.out, tol, p.headDim);
      });
    }
    {
      const p = params({ tokens: 2 * B + 7, headDim: 64, blockSize: B, precision });
      add('±1e4 logits stay finite and correct', p, async () => {
        const n = p.tokens * p.headDim;
        // scale·q·k = ±1e4 on aligned pairs: q, k = ±c·(random sign unit-ish vectors) with c² · d · scale ≈ 1e4
        const c = Math.sqrt(1e4 / (p.headDim * p.scale));
        const u = rng(71);
        const dir = Float32Array.from({ length: p.headDim }, () => (u() < 0.5 ? -1 : 1));
        const q = new Float32Array(n), k = new Float32Array(n);
        for (let i = 0; i < p.tokens; i++) {
          const sq = u() < 0.5 ? -1 : 1, sk = u() < 0.5 ? -1 : 1;
          for (let t2 = 0; t2 < p.headDim; t2++) { q[i * p.headDim + t2] = sq * c * dir[t2]!; k[i * p.headDim + t2] = sk * c * dir[t2]! * (1 + 1e-3 * ((i * 7) % 5)); }
        }
        const v = randn(n, 72);
        const got = await attend(q, k, v, fullLayout(p), p);
        allFinite('out', got.out);
        allFinite('lse', got.lse);
        const ref = refAttention(q, k, v, p);
        expectClose('out', got.out, ref.out, tol, p.headDim);
        expectClose('lse', got.lse, ref.lse, tol);
      });
    }
    {
      const p = params({ tokens: 4 * B + 9, headDim: 64, blockSize: B, precision });
      add('a row range equals the matching rows of the full output', p, async () => {
        const n = p.tokens * p.headDim;
        const q = randn(n, 81), k = randn(n, 82), v = randn(n, 83);
        const layout = right('budgetLayout', budgetLayout(p, 2 * B));
        const full = await attend(q, k, v, layout, p);
        const ranges: RowRange[] = [{ start: Math.floor(B / 2) + 1, end: 2 * B + 3 }, { start: 0, end: 1 }, { start: p.tokens - 5, end: p.tokens }];
        for (const r of ranges) {
          const part = await attend(q, k, v, layout, p, r);
          expectClose(`out rows [${r.start}, ${r.end})`, part.out, full.out.subarray(r.start * p.headDim, r.end * p.headDim), tol, p.headDim);
          expectClose(`lse rows [${r.start}, ${r.end})`, part.lse, full.lse.subarray(r.start, r.end), tol);
        }
      });
    }
    for (const causal of [true, false]) {
      const p = params({ tokens: 3 * B + 5, headDim: 64, blockSize: B, causal, precision });
      add(`blockMass rows sum to 1 and match dense softmax mass (${causal ? 'causal' : 'non-causal'})`, p, async () => {
        const n = p.tokens * p.headDim;
        const q = randn(n, 91, 1.5), k = randn(n, 92, 1.5);
        const mass = right('blockMass', await backend.blockMass(q, k, p));
        const sums = new Float64Array(p.blocks);
        for (let qb = 0; qb < p.blocks; qb++) for (let kb = 0; kb < p.blocks; kb++) sums[qb]! += mass[qb * p.blocks + kb]!;
        expectClose('row sums', sums, new Float64Array(p.blocks).fill(1), tol);
        expectClose('mass', mass, referenceBlockMass(r(q), r(k), p), tol, p.blocks);
      });
    }
    {
      const p = params({ tokens: 2 * B + 11, headDim: 64, blockSize: B, precision });
      add('sparseAttentionHeads equals one call per head', p, async () => {
        const n = p.tokens * p.headDim;
        const heads = [0, 1, 2].map((h) => ({
          q: randn(n, 100 + 3 * h), k: randn(n, 101 + 3 * h), v: randn(n, 102 + 3 * h),
          layout: h === 1 ? fullLayout(p) : right('budgetLayout', budgetLayout(p, B * (h + 1))),
          ...(h === 2 ? { rows: { start: 3, end: B + 4 } } : {}),
        }));
        const many = right('sparseAttentionHeads', await backend.sparseAttentionHeads(heads, p));
        if (many.length !== heads.length) throw new Error(`sparseAttentionHeads returned ${many.length} outputs, expected ${heads.length}`);
        for (const [h, x] of heads.entries()) {
          const one = await attend(x.q, x.k, x.v, x.layout, p, x.rows);
          expectClose(`head ${h} out`, many[h]!.out, one.out, tol, p.headDim);
          expectClose(`head ${h} lse`, many[h]!.lse, one.lse, tol);
        }
      });
    }

    // ------------------------------------------------ bad inputs
    {
      const p = params({ tokens: 2 * B, headDim: 64, blockSize: B, precision });
      add('bad inputs give clear errors', p, async () => {
        const n = p.tokens * p.headDim;
        const q = randn(n, 121), k = randn(n, 122), v = randn(n, 123);
        const L = fullLayout(p);
        expectLeft('mismatched shapes', await backend.sparseAttention(q, k.subarray(0, n - p.headDim), v, L, p), /\$\.k.*values/);
        const bad = { ...L, indices: Int32Array.from(L.indices, (x, i) => (i === L.indices.length - 1 ? p.blocks + 3 : x)) };
        expectLeft('out-of-range layout block', await backend.sparseAttention(q, k, v, bad, p), /layout\.indices/);
        const qn = q.slice(); qn[5 * p.headDim + 3] = NaN;
        expectLeft('NaN in q', await backend.sparseAttention(qn, k, v, L, p), /\$\.q\[5\]\[3\].*NaN/);
        expectLeft('NaN in k (blockMass)', await backend.blockMass(q, Float32Array.from(k, (x, i) => (i === 7 ? NaN : x)), p), /\$\.k\[0\]\[7\]/);
        expectLeft('empty row range', await backend.sparseAttention(q, k, v, L, p, { start: 4, end: 4 }), /rows/);
        expectLeft('row range past N', await backend.sparseAttention(q, k, v, L, p, { start: 0, end: p.tokens + 1 }), /rows/);
      });
      const dBig = caps.maxHeadDim + 1;
      add(`a head dim over the declared maximum (${dBig}) is rejected`, undefined, async () => {
        const pb = params({ tokens: B, headDim: dBig, blockSize: B, precision });
        const n = pb.tokens * dBig;
        expectLeft('head dim over capability', await backend.sparseAttention(randn(n, 1), randn(n, 2), randn(n, 3), fullLayout(pb), pb), /head dim/);
      });
    }
  return cases;
};

// ---------------------------------------------------------------- a runner without node:test

/** One case's outcome. */
export interface CaseResult {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** The mismatch (fail) or the capability gap (skip). */
  readonly message?: string;
  readonly seconds: number;
}

export interface RunCasesOptions {
  /** Shown in messages, e.g. "webgpu (navigator.gpu)". */
  readonly name: string;
  readonly precision?: Precision;
  /** Called after each case. */
  readonly onCase?: (result: CaseResult, done: number, total: number) => void;
}

/**
 * Start the backend, run every analytic case (skipping those outside its declared capabilities, with the reason),
 * dispose it. Left when the backend cannot start. For runtimes without node:test (browsers).
 */
export const runConformanceCases = async (backend: AttentionBackend, options: RunCasesOptions): Promise<E.Either<HplbError, { info: BackendInfo; results: CaseResult[] }>> => {
  const info = await backend.init();
  if (E.isLeft(info)) return info;
  try {
    const cases = analyticCases(backend, options.precision ?? 'fp32');
    const results: CaseResult[] = [];
    for (const c of cases) {
      const t0 = performance.now();
      const gap = c.params === undefined ? undefined : capabilityGap(backend.capabilities, c.params, options.name);
      let result: CaseResult;
      if (gap !== undefined) result = { name: c.name, status: 'skip', message: gap, seconds: 0 };
      else {
        try {
          await c.run();
          result = { name: c.name, status: 'pass', seconds: (performance.now() - t0) / 1000 };
        } catch (e) {
          result = { name: c.name, status: 'fail', message: e instanceof Error ? e.message : String(e), seconds: (performance.now() - t0) / 1000 };
        }
      }
      results.push(result);
      options.onCase?.(result, results.length, cases.length);
    }
    return E.right({ info: info.right, results });
  } finally {
    await backend.dispose();
  }
};
