/**
 * A tiny reference attention layer in TypeScript for the engine identity tests: Q/K/V/O projections (Hugging Face
 * [out, in] weight layout, optional q/k/v biases), GQA, causal softmax attention, computed in float64 from float32
 * weights. `layerOutput` is the original layer; `shardedOutput` runs what a TP engine runs on a rewritten checkpoint
 * (rank t: its contiguous query heads and KV slots, local head i reading local slot floor(i/(H'/S)), virtual heads
 * restricted to their query rows) and sums the ranks' o_proj outputs (the all-reduce).
 */

/** Tolerances by declared precision: float32 weights, float64 arithmetic; only summation order differs. */
export const TOLERANCE = { f32WeightsF64Math: 1e-9 } as const;

export interface LayerWeights {
  readonly hidden: number;
  readonly headDim: number;
  /** Query heads and KV heads of these weights (H', S after a rewrite). */
  readonly queryHeads: number;
  readonly kvHeads: number;
  readonly wq: Float32Array; // [H·d, hidden]
  readonly wk: Float32Array; // [K·d, hidden]
  readonly wv: Float32Array; // [K·d, hidden]
  readonly wo: Float32Array; // [hidden, H·d]
  readonly bq?: Float32Array;
  readonly bk?: Float32Array;
  readonly bv?: Float32Array;
}

/** Deterministic pseudo-random numbers (mulberry32), seed printed by the tests: the solvers' seeded generator. */
import { rng } from '@hplb/solvers';
export { rng };

export const randomWeights = (seed: number, hidden: number, H: number, K: number, d: number, biases: boolean): LayerWeights => {
  const r = rng(seed);
  const f = (n: number) => Float32Array.from({ length: n }, () => (r() - 0.5) * 0.8);
  return {
    hidden, headDim: d, queryHeads: H, kvHeads: K,
    wq: f(H * d * hidden), wk: f(K * d * hidden), wv: f(K * d * hidden), wo: f(hidden * H * d),
    ...(biases ? { bq: f(H * d), bk: f(K * d), bv: f(K * d) } : {}),
  };
};

export const randomInput = (seed: number, n: number, hidden: number): Float64Array => {
  const r = rng(seed);
  return Float64Array.from({ length: n * hidden }, () => r() * 2 - 1);
};

/** x[n, hidden] · W[rows r0..r0+d, hidden]^T + b → [n, d] */
const project = (x: Float64Array, n: number, hidden: number, w: Float32Array, b: Float32Array | undefined, head: number, d: number): Float64Array => {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const row = (head * d + j) * hidden;
      let s = b ? b[head * d + j]! : 0;
      for (let c = 0; c < hidden; c++) s += x[i * hidden + c]! * w[row + c]!;
      out[i * d + j] = s;
    }
  return out;
};

/** Causal attention of one head over rows [r0, r1) (other rows zero). */
const attend = (q: Float64Array, k: Float64Array, v: Float64Array, n: number, d: number, r0 = 0, r1 = n): Float64Array => {
  const out = new Float64Array(n * d);
  const scale = 1 / Math.sqrt(d);
  for (let i = r0; i < r1; i++) {
    const sc = new Float64Array(i + 1);
    let mx = -Infinity;
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += q[i * d + c]! * k[j * d + c]!;
      sc[j] = s * scale;
      if (sc[j]! > mx) mx = sc[j]!;
    }
    let z = 0;
    for (let j = 0; j <= i; j++) {
      sc[j] = Math.exp(sc[j]! - mx);
      z += sc[j]!;
    }
    for (let j = 0; j <= i; j++) for (let c = 0; c < d; c++) out[i * d + c]! += (sc[j]! / z) * v[j * d + c]!;
  }
  return out;
};

/** Σ over the listed heads of out_h · Wo[:, head block]^T → [n, hidden] */
const outputProject = (outs: { head: number; o: Float64Array }[], n: number, w: LayerWeights): Float64Array => {
  const { hidden, headDim: d, queryHeads: H } = w;
  const y = new Float64Array(n * hidden);
  for (const { head, o } of outs)
    for (let i = 0; i < n; i++)
      for (let r = 0; r < hidden; r++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += o[i * d + c]! * w.wo[r * H * d + head * d + c]!;
        y[i * hidden + r]! += s;
      }
  return y;
};

/** The layer as the model defines it: head h reads KV head floor(h / (H/K)). */
export const layerOutput = (x: Float64Array, n: number, w: LayerWeights): Float64Array => shardedOutput(x, n, w, 1);

/**
 * What a TP engine computes on these weights with `tp` ranks, summed over ranks. `rowRange[p]` restricts head
 * position p to query rows [rowStart, rowEnd) (a virtual head on a row-range-aware backend).
 */
export const shardedOutput = (
  x: Float64Array,
  n: number,
  w: LayerWeights,
  tp: number,
  rowRange?: ReadonlyArray<{ rowStart: number; rowEnd: number } | null>,
): Float64Array => {
  const { hidden, headDim: d, queryHeads: H, kvHeads: S } = w;
  const perRank = H / tp;
  const y = new Float64Array(n * hidden);
  for (let t = 0; t < tp; t++) {
    const slots = S >= tp ? Array.from({ length: S / tp }, (_, i) => t * (S / tp) + i) : [Math.floor(t / (tp / S))];
    const localQPerSlot = perRank / slots.length;
    const kv = new Map<number, { k: Float64Array; v: Float64Array }>();
    for (const s of slots) kv.set(s, { k: project(x, n, hidden, w.wk, w.bk, s, d), v: project(x, n, hidden, w.wv, w.bv, s, d) });
    const outs: { head: number; o: Float64Array }[] = [];
    for (let i = 0; i < perRank; i++) {
      const p = t * perRank + i;
      const slot = slots[Math.floor(i / localQPerSlot)]!;
      const q = project(x, n, hidden, w.wq, w.bq, p, d);
      const rr = rowRange?.[p] ?? null;
      outs.push({ head: p, o: attend(q, kv.get(slot)!.k, kv.get(slot)!.v, n, d, rr ? rr.rowStart : 0, rr ? rr.rowEnd : n) });
    }
    const part = outputProject(outs, n, w);
    for (let i = 0; i < y.length; i++) y[i]! += part[i]!;
  }
  return y;
};

/** Largest |a−b| / max(1, |b|), with its index. */
export const maxRelError = (a: Float64Array, b: Float64Array): { err: number; at: number } => {
  let err = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (e > err || Number.isNaN(e)) {
      err = Number.isNaN(e) ? Infinity : e;
      at = i;
    }
  }
  return { err, at };
};
