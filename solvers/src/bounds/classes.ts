/**
 * Item classes: equal costs collapsed into (value, count) pairs, and the loads a device can reach (subset sums of
 * the class multiset). Real layers have 5–8 budget classes, so both are small. Used by the class-count DP
 * (`classDp.ts`), the lifts over achievable loads and `../exact.ts`.
 */

export interface Classes {
  /** Distinct costs, descending. */
  readonly vals: ReadonlyArray<number>;
  /** counts[t]: items of cost vals[t]. */
  readonly counts: ReadonlyArray<number>;
}

/** Collapse costs into classes (values descending). */
export const classesOf = (costs: ArrayLike<number>): Classes => {
  const m = new Map<number, number>();
  for (let i = 0; i < costs.length; i++) m.set(costs[i]!, (m.get(costs[i]!) ?? 0) + 1);
  const vals = [...m.keys()].sort((a, b) => b - a);
  return { vals, counts: vals.map((v) => m.get(v)!) };
};

/** Π (count + 1): the number of count vectors (capped at `cap` + 1 to avoid overflow). */
export const countVectors = (counts: ReadonlyArray<number>, cap = Number.MAX_SAFE_INTEGER): number => {
  let s = 1;
  for (const c of counts) {
    s *= c + 1;
    if (s > cap) return cap + 1;
  }
  return s;
};

/**
 * The achievable loads (subset sums of the multiset) in [lo, hi], ascending, or null when enumerating them would
 * take more than `maxWork` steps. Every makespan of a placement is one of these loads.
 */
export const achievableSums = (c: Classes, lo: number, hi: number, maxWork = 50_000): Float64Array | null => {
  let acc = new Set<number>([0]);
  let work = 0;
  const { vals, counts } = c;
  // Suffix totals: a partial sum that cannot reach lo even with every remaining item is dropped.
  const rest = new Float64Array(vals.length + 1);
  for (let t = vals.length - 1; t >= 0; t--) rest[t] = rest[t + 1]! + vals[t]! * counts[t]!;
  for (let t = 0; t < vals.length; t++) {
    const next = new Set<number>();
    for (const a of acc) for (let x = 0; x <= counts[t]!; x++) {
      const s = a + x * vals[t]!;
      if (s > hi) break;
      if (s + rest[t + 1]! < lo) continue;
      next.add(s);
      if (++work > maxWork) return null;
    }
    acc = next;
  }
  return Float64Array.from([...acc].filter((x) => x >= lo && x <= hi)).sort();
};
