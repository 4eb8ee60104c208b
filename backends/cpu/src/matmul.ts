/**
 * The CPU dense product C [rows × cols] = A [rows × inner] · B [inner × cols] (row-major Float32Array, float64
 * accumulation): what the serving step's projections are when the executor measures them (a Q/O or K/V projection
 * of some query rows, a decode step's weight read: one row). Used by the CPU backend's `matmul`, on the calling
 * thread. Inputs are assumed checked (`checkMatmulCall` in `@hplb/core/kernel`).
 *
 * Blocked like the attention kernels: columns in blocks of `COLUMN_BLOCK` (B's strip of inner × 64 values stays in
 * cache while every row of A passes over it), and inside a block 4 rows × 4 columns of C in locals while streaming
 * the inner dimension: 8 loads for 16 multiply-adds. Rows past the last multiple of 4 (a GEMV is only that) keep 4
 * columns in locals: 5 loads for 4 multiply-adds.
 */

/** Columns of B (and C) per block. */
export const COLUMN_BLOCK = 64;

export const matmulRows = (a: Float32Array, b: Float32Array, rows: number, inner: number, cols: number, c: Float32Array = new Float32Array(rows * cols)): Float32Array => {
  const R4 = rows & ~3;
  const K = inner, N = cols;
  for (let j0 = 0; j0 < N; j0 += COLUMN_BLOCK) {
    const j1 = Math.min(N, j0 + COLUMN_BLOCK);
    const j4 = j0 + ((j1 - j0) & ~3);
    for (let i = 0; i < R4; i += 4) {
      const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      const o0 = i * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
      for (let j = j0; j < j4; j += 4) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let t = 0, bt = j; t < K; t++, bt += N) {
          const x0 = a[a0 + t]!, x1 = a[a1 + t]!, x2 = a[a2 + t]!, x3 = a[a3 + t]!;
          const y0 = b[bt]!, y1 = b[bt + 1]!, y2 = b[bt + 2]!, y3 = b[bt + 3]!;
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        c[o0 + j] = c00; c[o0 + j + 1] = c01; c[o0 + j + 2] = c02; c[o0 + j + 3] = c03;
        c[o1 + j] = c10; c[o1 + j + 1] = c11; c[o1 + j + 2] = c12; c[o1 + j + 3] = c13;
        c[o2 + j] = c20; c[o2 + j + 1] = c21; c[o2 + j + 2] = c22; c[o2 + j + 3] = c23;
        c[o3 + j] = c30; c[o3 + j + 1] = c31; c[o3 + j + 2] = c32; c[o3 + j + 3] = c33;
      }
      for (let j = j4; j < j1; j++) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let t = 0, bt = j; t < K; t++, bt += N) { const y = b[bt]!; s0 += a[a0 + t]! * y; s1 += a[a1 + t]! * y; s2 += a[a2 + t]! * y; s3 += a[a3 + t]! * y; }
        c[o0 + j] = s0; c[o1 + j] = s1; c[o2 + j] = s2; c[o3 + j] = s3;
      }
    }
    for (let i = R4; i < rows; i++) {
      const ai = i * K, oi = i * N;
      for (let j = j0; j < j4; j += 4) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let t = 0, bt = j; t < K; t++, bt += N) { const x = a[ai + t]!; s0 += x * b[bt]!; s1 += x * b[bt + 1]!; s2 += x * b[bt + 2]!; s3 += x * b[bt + 3]!; }
        c[oi + j] = s0; c[oi + j + 1] = s1; c[oi + j + 2] = s2; c[oi + j + 3] = s3;
      }
      for (let j = j4; j < j1; j++) {
        let s = 0;
        for (let t = 0, bt = j; t < K; t++, bt += N) s += a[ai + t]! * b[bt]!;
        c[oi + j] = s;
      }
    }
  }
  return c;
};
