/**
 * Tolerances by declared precision, in ONE table, and the comparison every conformance case uses. A mismatch names
 * the tensor, the flat index (and row/column) and both values; no ad-hoc epsilons anywhere else.
 * |actual − expected| ≤ atol + rtol·|expected| elementwise; −Infinity matches only −Infinity (an lse with no keys).
 */
import type { Precision } from '@hplb/core/kernel';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** fp32: float32 storage with float32/float64 accumulation; fp16/bf16: half inputs, fp32 accumulation. */
export const TOLERANCES: Readonly<Record<Precision, Tolerance>> = {
  fp32: { atol: 1e-4, rtol: 1e-4 },
  fp16: { atol: 2e-2, rtol: 2e-2 },
  bf16: { atol: 8e-2, rtol: 8e-2 },
};

/** null when close, otherwise one line naming the first mismatch (and how many there are). */
export const compareArrays = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, cols = 1): string | null => {
  if (actual.length !== expected.length) return `${name}: length ${actual.length}, expected ${expected.length}`;
  let first = -1;
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = e === -Infinity ? a === -Infinity : Number.isFinite(a) && Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok) {
      if (first < 0) first = i;
      count++;
      if (Number.isFinite(a)) worst = Math.max(worst, Math.abs(a - e));
    }
  }
  if (first < 0) return null;
  const where = cols > 1 ? `[${Math.floor(first / cols)}][${first % cols}]` : `[${first}]`;
  return `${name}${where} (flat index ${first}): got ${actual[first]}, expected ${expected[first]} ` +
    `(atol ${tol.atol}, rtol ${tol.rtol}; ${count} of ${expected.length} values differ, largest difference ${worst.toExponential(3)})`;
};
