/**
 * Attention work of one head in causal prefill, in token pairs (query-key dot products).
 *
 * With a per-query budget of b tokens at context length N, query row i (1-based) attends to min(i, b) keys, so
 *   W(b, N) = Σ_{i=1..N} min(i, b) = N·b − b(b−1)/2      for 0 ≤ b ≤ N.
 * A split head's part covering query rows [rowStart, rowEnd) (0-based, half-open) does
 *   Σ_{i=rowStart+1..rowEnd} min(i, b).
 * Used by the plan validator, the lower bounds, the solvers and the cost model.
 */

/** S(x) = Σ_{i=1..x} min(i, b): the work of the first x query rows. */
export const prefixRowWork = (b: number, x: number): number => (x <= b ? (x * (x + 1)) / 2 : (b * (b + 1)) / 2 + (x - b) * b);

/** W(b, N) = N·b − b(b−1)/2, the causal-prefill work of a head with budget b (clamped to [0, N]). */
export const headWork = (b: number, n: number): number => {
  const bb = Math.min(Math.max(b, 0), n);
  return n * bb - (bb * (bb - 1)) / 2;
};

/** Work of query rows [rowStart, rowEnd) of a head with budget b. */
export const rowRangeWork = (b: number, rowStart: number, rowEnd: number): number => prefixRowWork(b, rowEnd) - prefixRowWork(b, rowStart);

/**
 * Smallest row r in [lo, hi] such that the work of rows [start, r) reaches `target` (for split-head cutting).
 * Returns hi when the target is never reached. Exact: inverts the piecewise (quadratic, then linear) prefix sum.
 */
export const rowForWork = (b: number, start: number, target: number, hi: number): number => {
  const want = prefixRowWork(b, start) + target;
  // Quadratic part: x(x+1)/2 >= want, x <= b.
  const tri = (b * (b + 1)) / 2;
  let x: number;
  if (want <= tri) x = Math.ceil((-1 + Math.sqrt(1 + 8 * want)) / 2 - 1e-9);
  else x = b + Math.ceil((want - tri) / Math.max(b, 1e-300) - 1e-9);
  while (x > start && prefixRowWork(b, x - 1) >= want) x--;
  while (x < hi && prefixRowWork(b, x) < want) x++;
  return Math.min(Math.max(x, start), hi);
};
