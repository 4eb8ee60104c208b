/**
 * The gpu.js kernels of the gpujs backend, as plain-JavaScript sources that gpu.js translates to GLSL (GPU mode,
 * headless-gl) or runs as JavaScript (CPU mode). Used by `backend.ts`.
 *
 * gpu.js threads own one output element and share nothing, so attention is three passes over a row chunk instead of
 * one fused kernel:
 *   1. `scores`  S[x][t] = scale·q_i·k_j for the t-th key slot of row i = rowStart + x (key slot t of query block qb
 *      is key (indices[offsets[qb] + ⌊t/B⌋])·B + t mod B), or the sentinel −1e30 when the slot is empty, past N or
 *      causally masked. Output [slots × rows], kept on the GPU (pipeline mode);
 *   2. `rowMax`, `rowSum`: the softmax max m and sum l = Σ exp(S − m) per row (cheap: no d factor);
 *   3. `weighted` out[i][c] = Σ_t exp(S[x][t] − m)·v[j_t][c] / l.
 * blockMass reuses `scores` over the full layout, then `mass` sums exp(S − m)/l over each (query block, key block)
 * pair. Index arithmetic is float (WebGL 1): exact below 2^24, which bounds N·d and the slot count.
 *
 * Every loop bound is a kernel argument; gpu.js compiles such loops as `for (i < LOOP_MAX) { if (i >= n) break; }`,
 * so `loopMaxIterations` must cover the largest bound (see LOOP_MAX), or loops would be cut short silently.
 */

/** Masked / empty score slot. */
export const MASKED = -1e30;

/** Largest loop bound any kernel runs: slots per row (≤ maxTokens rounded up to a block), d, B. */
export const LOOP_MAX = 16384 + 128;

export const SCORES = `function (q, k, offsets, indices, N, d, B, causal, scale, rowStart) {
  const t = this.thread.x;
  const i = rowStart + this.thread.y;
  const qb = Math.floor((i + 0.5) / B);
  const o0 = offsets[qb];
  const nb = offsets[qb + 1] - o0;
  const bp = Math.floor((t + 0.5) / B);
  let s = -1e30;
  if (bp < nb) {
    const j = indices[o0 + bp] * B + (t - bp * B);
    if (j < N && (causal < 0.5 || j <= i)) {
      let acc = 0;
      for (let c = 0; c < d; c++) {
        acc += q[i * d + c] * k[j * d + c];
      }
      s = acc * scale;
    }
  }
  return s;
}`;

export const ROW_MAX = `function (S, width) {
  let m = -1e30;
  for (let t = 0; t < width; t++) {
    m = Math.max(m, S[this.thread.x][t]);
  }
  return m;
}`;

export const ROW_SUM = `function (S, m, width) {
  const mm = m[this.thread.x];
  let l = 0;
  if (mm > -1e29) {
    for (let t = 0; t < width; t++) {
      const s = S[this.thread.x][t];
      if (s > -1e29) {
        l += Math.exp(s - mm);
      }
    }
  }
  return l;
}`;

export const WEIGHTED = `function (S, m, l, v, offsets, indices, d, B, rowStart, width) {
  const c = this.thread.x;
  const x = this.thread.y;
  const i = rowStart + x;
  const mm = m[x];
  const ll = l[x];
  let acc = 0;
  if (ll > 0) {
    const qb = Math.floor((i + 0.5) / B);
    const o0 = offsets[qb];
    for (let t = 0; t < width; t++) {
      const s = S[x][t];
      if (s > -1e29) {
        const bp = Math.floor((t + 0.5) / B);
        const j = indices[o0 + bp] * B + (t - bp * B);
        acc += Math.exp(s - mm) * v[j * d + c];
      }
    }
    acc = acc / ll;
  }
  return acc;
}`;

export const MASS = `function (S, m, l, B, N, qb0, rowStart) {
  const kb = this.thread.x;
  const qb = qb0 + this.thread.y;
  const rs = qb * B;
  const re = Math.min(rs + B, N);
  let sum = 0;
  for (let a = 0; a < B; a++) {
    const i = rs + a;
    if (i < re) {
      const x = i - rowStart;
      const mm = m[x];
      const ll = l[x];
      for (let b = 0; b < B; b++) {
        const s = S[x][kb * B + b];
        if (s > -1e29) {
          sum += Math.exp(s - mm) / ll;
        }
      }
    }
  }
  return sum / (re - rs);
}`;
