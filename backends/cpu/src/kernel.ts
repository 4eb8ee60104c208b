/**
 * The CPU reference kernels, synchronous and allocation-light: block-sparse attention with online softmax (one
 * query block at a time, never an N×N buffer) and exact block masses. Float32Array in and out, float64
 * accumulation. Used by the CPU backend on the main thread and inside its worker threads; the source of the golden
 * outputs in spec/golden/. Inputs are assumed checked (see `@hplb/core/kernel/params.ts`).
 *
 * Inner loops are register-blocked 4×4: S = Q_blk·K_blkᵀ keeps 16 dot products in locals while streaming d, and
 * O += P·V_blk keeps a 4 rows × 4 columns tile of the output in locals while streaming the keys. Each 4×4 step does
 * 8 loads for 16 multiply-adds, the same shape as the reference GEMM in examples/bench-kernels.ts.
 */
import type { AttentionParams, BlockLayout } from '@hplb/core/kernel';

/** Scratch buffers sized for one query block; reused across calls with the same B and d. */
export class Scratch {
  readonly s: Float64Array;
  readonly acc: Float64Array;
  readonly m: Float64Array;
  readonly l: Float64Array;
  constructor(readonly blockSize: number, readonly headDim: number) {
    this.s = new Float64Array(blockSize * blockSize);
    this.acc = new Float64Array(blockSize * headDim);
    this.m = new Float64Array(blockSize);
    this.l = new Float64Array(blockSize);
  }
}

let cached: Scratch | undefined;
const scratchFor = (B: number, d: number): Scratch => {
  if (cached === undefined || cached.blockSize !== B || cached.headDim !== d) cached = new Scratch(B, d);
  return cached;
};

/**
 * S[i·B + j] = q[r0+i]·k[k0+j] for i < R, j < C (unscaled). With `causal`, 4×4 tiles entirely above the diagonal
 * (every key after every row of the tile) are skipped: in the diagonal block that is almost half the work. Entries
 * not computed are left as they were; callers only read j ≤ (row − k0).
 */
export const blockScores = (s: Float64Array, B: number, q: Float32Array, r0: number, R: number, k: Float32Array, k0: number, C: number, d: number, causal = false): void => {
  const R4 = R & ~3;
  const C4 = C & ~3;
  for (let i = 0; i < R4; i += 4) {
    const a0 = (r0 + i) * d, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d;
    const last = causal ? r0 + i + 3 - k0 : C; // the last key (relative) any row of this tile sees
    const jEnd = Math.min(C4, last + 1);
    for (let j = 0; j < jEnd; j += 4) {
      const b0 = (k0 + j) * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = q[a0 + t]!, x1 = q[a1 + t]!, x2 = q[a2 + t]!, x3 = q[a3 + t]!;
        const y0 = k[b0 + t]!, y1 = k[b1 + t]!, y2 = k[b2 + t]!, y3 = k[b3 + t]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const o0 = i * B + j, o1 = o0 + B, o2 = o1 + B, o3 = o2 + B;
      s[o0] = s00; s[o0 + 1] = s01; s[o0 + 2] = s02; s[o0 + 3] = s03;
      s[o1] = s10; s[o1 + 1] = s11; s[o1 + 2] = s12; s[o1 + 3] = s13;
      s[o2] = s20; s[o2 + 1] = s21; s[o2 + 2] = s22; s[o2 + 3] = s23;
      s[o3] = s30; s[o3 + 1] = s31; s[o3 + 2] = s32; s[o3 + 3] = s33;
    }
    for (let j = C4; j < C && j <= last; j++) {
      const b = (k0 + j) * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = 0; t < d; t++) { const y = k[b + t]!; s0 += q[a0 + t]! * y; s1 += q[a1 + t]! * y; s2 += q[a2 + t]! * y; s3 += q[a3 + t]! * y; }
      s[i * B + j] = s0; s[(i + 1) * B + j] = s1; s[(i + 2) * B + j] = s2; s[(i + 3) * B + j] = s3;
    }
  }
  for (let i = R4; i < R; i++) {
    const a = (r0 + i) * d;
    const jEnd = causal ? Math.min(C, r0 + i - k0 + 1) : C;
    for (let j = 0; j < jEnd; j++) {
      const b = (k0 + j) * d;
      let s0 = 0;
      for (let t = 0; t < d; t++) s0 += q[a + t]! * k[b + t]!;
      s[i * B + j] = s0;
    }
  }
};

/**
 * acc[i·d + t] += Σ_j P[i·B + j] · v[(k0 + j)·d + t] for i < R, t < d. With `causal` (rows start at absolute r0),
 * a 4-row tile stops at its last visible key (P is zero after it).
 */
export const accumulatePV = (acc: Float64Array, s: Float64Array, B: number, R: number, v: Float32Array, k0: number, C: number, d: number, causal = false, r0 = 0): void => {
  const R4 = R & ~3;
  const d4 = d & ~3;
  for (let i = 0; i < R4; i += 4) {
    const p0 = i * B, p1 = p0 + B, p2 = p1 + B, p3 = p2 + B;
    const o0 = i * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
    const Ct = causal ? Math.min(C, r0 + i + 4 - k0) : C;
    for (let t = 0; t < d4; t += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let vb = k0 * d + t;
      for (let j = 0; j < Ct; j++, vb += d) {
        const x0 = s[p0 + j]!, x1 = s[p1 + j]!, x2 = s[p2 + j]!, x3 = s[p3 + j]!;
        const y0 = v[vb]!, y1 = v[vb + 1]!, y2 = v[vb + 2]!, y3 = v[vb + 3]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      acc[o0 + t] += c00; acc[o0 + t + 1] += c01; acc[o0 + t + 2] += c02; acc[o0 + t + 3] += c03;
      acc[o1 + t] += c10; acc[o1 + t + 1] += c11; acc[o1 + t + 2] += c12; acc[o1 + t + 3] += c13;
      acc[o2 + t] += c20; acc[o2 + t + 1] += c21; acc[o2 + t + 2] += c22; acc[o2 + t + 3] += c23;
      acc[o3 + t] += c30; acc[o3 + t + 1] += c31; acc[o3 + t + 2] += c32; acc[o3 + t + 3] += c33;
    }
    for (let t = d4; t < d; t++) {
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let j = 0; j < Ct; j++) { const y = v[(k0 + j) * d + t]!; c0 += s[p0 + j]! * y; c1 += s[p1 + j]! * y; c2 += s[p2 + j]! * y; c3 += s[p3 + j]! * y; }
      acc[o0 + t] += c0; acc[o1 + t] += c1; acc[o2 + t] += c2; acc[o3 + t] += c3;
    }
  }
  for (let i = R4; i < R; i++) {
    const p = i * B;
    const o = i * d;
    for (let j = 0; j < C; j++) {
      const x = s[p + j]!;
      if (x === 0) continue;
      const vb = (k0 + j) * d;
      for (let t = 0; t < d; t++) acc[o + t] += x * v[vb + t]!;
    }
  }
};

/**
 * Block-sparse attention for query rows [start, end): out [(end−start) × d], lse [end−start].
 * A row that attends to no key (an empty query block in the layout) gets out = 0 and lse = −Infinity.
 */
export const sparseAttentionRows = (
  q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, start: number, end: number,
  out: Float32Array = new Float32Array((end - start) * p.headDim), lse: Float32Array = new Float32Array(end - start),
): { out: Float32Array; lse: Float32Array } => {
  const { tokens: N, headDim: d, blockSize: B, scale, causal } = p;
  const sc = scratchFor(B, d);
  const { s, acc, m, l } = sc;
  const { offsets, indices } = layout;
  for (let qb = Math.floor(start / B); qb * B < end; qb++) {
    const r0 = Math.max(qb * B, start);
    const r1 = Math.min((qb + 1) * B, end, N);
    const R = r1 - r0;
    m.fill(-Infinity, 0, R);
    l.fill(0, 0, R);
    acc.fill(0, 0, R * d);
    for (let x = offsets[qb]!; x < offsets[qb + 1]!; x++) {
      const k0 = indices[x]! * B;
      const C = Math.min(k0 + B, N) - k0;
      blockScores(s, B, q, r0, R, k, k0, C, d, causal);
      for (let i = 0; i < R; i++) {
        const row = i * B;
        const jmax = causal ? Math.min(C, r0 + i - k0 + 1) : C;
        if (jmax <= 0) { s.fill(0, row, row + C); continue; }
        let mx = -Infinity;
        for (let j = 0; j < jmax; j++) { const z = s[row + j]! * scale; s[row + j] = z; if (z > mx) mx = z; }
        const mOld = m[i]!;
        const mNew = mx > mOld ? mx : mOld;
        let sum = 0;
        for (let j = 0; j < jmax; j++) { const e = Math.exp(s[row + j]! - mNew); s[row + j] = e; sum += e; }
        for (let j = jmax; j < C; j++) s[row + j] = 0;
        if (mNew !== mOld) {
          const corr = Math.exp(mOld - mNew);
          l[i] = l[i]! * corr + sum;
          if (mOld !== -Infinity) for (let t = i * d, e = t + d; t < e; t++) acc[t]! *= corr;
          m[i] = mNew;
        } else l[i] = l[i]! + sum;
      }
      accumulatePV(acc, s, B, R, v, k0, C, d, causal, r0);
    }
    for (let i = 0; i < R; i++) {
      const o = (r0 - start + i) * d;
      const li = l[i]!;
      if (li > 0) {
        const inv = 1 / li;
        for (let t = 0; t < d; t++) out[o + t] = acc[i * d + t]! * inv;
        lse[r0 - start + i] = m[i]! + Math.log(li);
      } else {
        out.fill(0, o, o + d);
        lse[r0 - start + i] = -Infinity;
      }
    }
  }
  return { out, lse };
};

/**
 * mass[qb·Kb + kb]: mean over the rows of query block qb of the exact softmax mass on key block kb, over every
 * key the row may see (causal-masked when causal). Two passes per query block (max/sum online, then masses).
 */
export const blockMassAll = (q: Float32Array, k: Float32Array, p: AttentionParams): Float32Array => {
  const { tokens: N, headDim: d, blockSize: B, blocks, scale, causal } = p;
  const { s, m, l } = scratchFor(B, d);
  const mass = new Float32Array(blocks * blocks);
  const rowMass = new Float64Array(blocks);
  for (let qb = 0; qb < blocks; qb++) {
    const r0 = qb * B;
    const R = Math.min(N, r0 + B) - r0;
    const lastKb = causal ? qb : blocks - 1;
    m.fill(-Infinity, 0, R);
    l.fill(0, 0, R);
    for (let kb = 0; kb <= lastKb; kb++) {
      const k0 = kb * B;
      const C = Math.min(k0 + B, N) - k0;
      blockScores(s, B, q, r0, R, k, k0, C, d, causal);
      for (let i = 0; i < R; i++) {
        const jmax = causal ? Math.min(C, r0 + i - k0 + 1) : C;
        if (jmax <= 0) continue;
        const row = i * B;
        let mx = -Infinity;
        for (let j = 0; j < jmax; j++) { const z = s[row + j]! * scale; if (z > mx) mx = z; }
        const mNew = Math.max(mx, m[i]!);
        let sum = 0;
        for (let j = 0; j < jmax; j++) sum += Math.exp(s[row + j]! * scale - mNew);
        l[i] = l[i]! * Math.exp(m[i]! - mNew) + sum;
        m[i] = mNew;
      }
    }
    rowMass.fill(0);
    for (let kb = 0; kb <= lastKb; kb++) {
      const k0 = kb * B;
      const C = Math.min(k0 + B, N) - k0;
      blockScores(s, B, q, r0, R, k, k0, C, d, causal);
      let total = 0;
      for (let i = 0; i < R; i++) {
        const jmax = causal ? Math.min(C, r0 + i - k0 + 1) : C;
        const row = i * B;
        const mi = m[i]!;
        const inv = 1 / l[i]!;
        let sum = 0;
        for (let j = 0; j < jmax; j++) sum += Math.exp(s[row + j]! * scale - mi);
        total += sum * inv;
      }
      rowMass[kb] = total / R;
    }
    for (let kb = 0; kb < blocks; kb++) mass[qb * blocks + kb] = rowMass[kb]!;
  }
  return mass;
};

/**
 * FLOPs `sparseAttentionRows` executes for all rows of a layout (2 per multiply-add, QKᵀ and PV): full key blocks
 * below the diagonal, and in the diagonal block only the 4×4 tiles not entirely above it. What the benchmarks
 * divide by for GFLOP/s, so the figure counts work done, not work skipped.
 */
export const executedFlops = (layout: BlockLayout, p: AttentionParams): number => {
  const { tokens: N, headDim: d, blockSize: B, causal } = p;
  let pairs = 0;
  for (let qb = 0; qb < layout.blocks; qb++) {
    const r0 = qb * B;
    const R = Math.min(N, r0 + B) - r0;
    const R4 = R & ~3;
    for (let x = layout.offsets[qb]!; x < layout.offsets[qb + 1]!; x++) {
      const k0 = layout.indices[x]! * B;
      const C = Math.min(k0 + B, N) - k0;
      const C4 = C & ~3;
      for (let i = 0; i < R4; i += 4) {
        const last = causal ? r0 + i + 3 - k0 : C;
        const jEnd = Math.min(C4, last + 1);
        const qk = 4 * (Math.ceil(jEnd / 4) * 4) + 4 * Math.max(0, Math.min(C, last + 1) - C4);
        const pv = 4 * (causal ? Math.min(C, r0 + i + 4 - k0) : C);
        pairs += qk + pv;
      }
      for (let i = R4; i < R; i++) pairs += 2 * (causal ? Math.min(C, r0 + i - k0 + 1) : C);
    }
  }
  return 2 * d * pairs;
};
