/**
 * An independent dense reference for the conformance suite: plain float64 two-pass softmax attention with the
 * layout applied token by token (key j is visible to row i iff its block is in the row's query-block list and,
 * when causal, j ≤ i). Deliberately naive (no blocking, no online softmax) so it shares no code with any backend.
 */
import type { AttentionParams, BlockLayout, RowRange } from '@hplb/core/kernel';

export const referenceAttention = (
  q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams, layout?: BlockLayout, rows?: RowRange,
): { out: Float64Array; lse: Float64Array } => {
  const { tokens: N, headDim: d, blockSize: B, scale, causal } = p;
  const start = rows?.start ?? 0;
  const end = rows?.end ?? N;
  const out = new Float64Array((end - start) * d);
  const lse = new Float64Array(end - start);
  const w = new Float64Array(N);
  for (let i = start; i < end; i++) {
    const qb = Math.floor(i / B);
    const visible = new Uint8Array(N);
    if (layout === undefined) visible.fill(1);
    else for (let x = layout.offsets[qb]!; x < layout.offsets[qb + 1]!; x++) visible.fill(1, layout.indices[x]! * B, Math.min(N, (layout.indices[x]! + 1) * B));
    let m = -Infinity;
    for (let j = 0; j < N; j++) {
      if (!visible[j] || (causal && j > i)) { w[j] = NaN; continue; }
      let s = 0;
      for (let t = 0; t < d; t++) s += q[i * d + t]! * k[j * d + t]!;
      w[j] = s * scale;
      if (w[j]! > m) m = w[j]!;
    }
    let sum = 0;
    for (let j = 0; j < N; j++) if (!Number.isNaN(w[j]!)) sum += Math.exp(w[j]! - m);
    const o = (i - start) * d;
    if (sum === 0) { lse[i - start] = -Infinity; continue; }
    for (let j = 0; j < N; j++) {
      if (Number.isNaN(w[j]!)) continue;
      const pj = Math.exp(w[j]! - m) / sum;
      for (let t = 0; t < d; t++) out[o + t] += pj * v[j * d + t]!;
    }
    lse[i - start] = m + Math.log(sum);
  }
  return { out, lse };
};

/** Dense block masses (mean over a query block's rows of the softmax mass per key block), float64. */
export const referenceBlockMass = (q: Float32Array, k: Float32Array, p: AttentionParams): Float64Array => {
  const { tokens: N, headDim: d, blockSize: B, blocks, scale, causal } = p;
  const mass = new Float64Array(blocks * blocks);
  const w = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const last = causal ? i : N - 1;
    let m = -Infinity;
    for (let j = 0; j <= last; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += q[i * d + t]! * k[j * d + t]!;
      w[j] = s * scale;
      if (w[j]! > m) m = w[j]!;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) sum += Math.exp(w[j]! - m);
    const qb = Math.floor(i / B);
    const rowsInBlock = Math.min(N, (qb + 1) * B) - qb * B;
    for (let j = 0; j <= last; j++) mass[qb * blocks + Math.floor(j / B)]! += Math.exp(w[j]! - m) / sum / rowsInBlock;
  }
  return mass;
};
