/**
 * Lower bounds for P||Cmax on m identical devices (Dell'Amico & Martello, "Optimal scheduling of tasks on identical
 * parallel processors", ORSA J. Computing 1995). Pure functions over costs sorted non-increasing; each value is a
 * makespan every placement reaches. The bin-packing lift (their L3) is `lift.ts` with `l2.ts`.
 * Used by `../bounds.ts` and `../exact.ts`; laws in `test/bounds-laws.test.ts`.
 */
import type { Deadline } from '../deadline.ts';

/** L0 = max(Σ / m, largest), rounded up to an integer when every cost is one (every makespan then is). */
export const dellAmicoL0 = (desc: ReadonlyArray<number>, m: number): number => {
  if (desc.length === 0) return 0;
  let s = 0;
  let integral = true;
  for (const v of desc) {
    s += v;
    if (!Number.isInteger(v)) integral = false;
  }
  const mean = integral ? Math.floor((s + m - 1) / m) : s / m;
  return Math.max(mean, desc[0]!);
};

/**
 * L1 (pigeonhole, generalised): of the k·m + 1 largest items some device holds k + 1, at least the k + 1 smallest of
 * them: max over k ≥ 1 of Σ desc[k·m − k .. k·m] (0-based). With k = 1 this is the pair bound p_m + p_{m+1}.
 * A window whose k + 1 items, each at most its first, cannot reach the bound so far is skipped (its sum, rounding
 * included, is below it: the value is the same), so a large layer costs O(n) instead of O((n/m)²). With a passed
 * `Deadline`: the largest window so far (still a bound).
 */
export const dellAmicoL1 = (desc: ReadonlyArray<number>, m: number, clock?: Deadline): number => {
  let best = dellAmicoL0(desc, m);
  for (let k = 1; k * m + 1 <= desc.length; k++) {
    // (k + 1)·first·(1 + 1e-6) bounds the computed sum from above (its rounding error is below k·2^-53 relative).
    if ((k + 1) * desc[k * m - k]! * (1 + 1e-6) < best) continue;
    if (clock?.poll(16)) break;
    let s = 0;
    for (let i = k * m - k; i <= k * m; i++) s += desc[i]!;
    best = Math.max(best, s);
  }
  return best;
};

/**
 * Equal item counts (each device holds exactly n / m items): the largest item plus the n/m − 1 smallest share a
 * device. Returns 0 when n is not a multiple of m.
 */
export const equalCountBound = (desc: ReadonlyArray<number>, m: number): number => {
  const n = desc.length;
  if (n === 0 || n % m !== 0) return 0;
  let s = desc[0]!;
  for (let i = 0; i < n / m - 1; i++) s += desc[n - 1 - i]!;
  return s;
};
