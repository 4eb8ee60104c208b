/**
 * Lifting a bin-packing bound to a makespan bound (Dell'Amico & Martello's L3 scheme): a capacity C at which some
 * lower bound on the bins needed exceeds m is infeasible, and so is every smaller capacity (feasibility is monotone
 * in C). A binary search for the smallest C not proven infeasible gives a makespan bound. Only proofs move the lower
 * end, so the result is valid even for a bound that is not monotone in C. Optionally over a sorted list of the
 * achievable loads (subset sums; `sums.ts`): a makespan is always one of them.
 * Used by `../bounds.ts` and `../exact.ts`; laws in `test/bounds-laws.test.ts`.
 * With a `Deadline` that has passed, the search stops where it is: its lower end is proven at every step.
 */
import type { Deadline } from '../deadline.ts';

/** A lower bound on the bins of capacity C the items need. */
export type BinBound = (C: number) => number;

/**
 * Smallest integer capacity in [lo, hi] that `bins` does not prove infeasible (`bins(C) > m`); `hi` when all below it
 * are proven infeasible. Integer loads only (costs in integer units).
 */
export const liftCapacity = (bins: BinBound, m: number, lo: number, hi: number, clock?: Deadline): number => {
  let a = Math.ceil(lo);
  let b = Math.max(a, Math.ceil(hi));
  while (a < b) {
    if (clock?.passed()) break;
    const mid = a + Math.floor((b - a) / 2);
    if (bins(mid) > m) a = mid + 1;
    else b = mid;
  }
  return a;
};

/**
 * The same over a sorted ascending list of candidate makespans (`sums`): the smallest candidate ≥ lo not proven
 * infeasible, or `hi` when every candidate below hi is. A proof at sums[k] also rules out every load below it.
 */
export const liftOverSums = (bins: BinBound, m: number, sums: ArrayLike<number>, lo: number, hi: number, clock?: Deadline): number => {
  if (lo >= hi) return lo;
  let a = lowerIndex(sums, lo);
  let b = lowerIndex(sums, hi);
  // Invariant: every candidate below index a is infeasible.
  while (a < b) {
    if (clock?.passed()) break;
    const mid = a + Math.floor((b - a) / 2);
    if (bins(sums[mid]!) > m) a = mid + 1;
    else b = mid;
  }
  return a < sums.length ? Math.min(Math.max(lo, sums[a]!), hi) : hi;
};

/** First index k with sums[k] ≥ x (sums.length when none). */
export const lowerIndex = (sums: ArrayLike<number>, x: number): number => {
  let a = 0;
  let b = sums.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sums[mid]! < x) a = mid + 1;
    else b = mid;
  }
  return a;
};
