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
  const { vals, counts } = c;
  // Suffix totals: a partial sum that cannot reach lo even with every remaining item is dropped.
  const rest = new Float64Array(vals.length + 1);
  for (let t = vals.length - 1; t >= 0; t--) rest[t] = rest[t + 1]! + vals[t]! * counts[t]!;
  // The distinct partial sums, sorted, in typed arrays (no boxed numbers). `work` counts every sum produced, as a
  // set-based enumeration would: per partial sum a, the x with a + x·v in [lo − rest, hi], whatever the order.
  let acc = new Float64Array(1);
  let accLen = 1;
  let next = new Float64Array(64);
  let work = 0;
  for (let t = 0; t < vals.length; t++) {
    const v = vals[t]!;
    const k = counts[t]!;
    const r = rest[t + 1]!;
    let len = 0;
    for (let i = 0; i < accLen; i++) {
      const a = acc[i]!;
      for (let x = 0; x <= k; x++) {
        const s = a + x * v;
        if (s > hi) break;
        if (s + r < lo) continue;
        if (len === next.length) {
          const grown = new Float64Array(next.length * 2);
          grown.set(next);
          next = grown;
        }
        next[len++] = s;
        if (++work > maxWork) return null;
      }
    }
    const sorted = next.subarray(0, len).sort();
    let u = 0;
    for (let i = 0; i < len; i++) if (u === 0 || sorted[i] !== sorted[u - 1]) sorted[u++] = sorted[i]!;
    const prev = acc;
    acc = next;
    accLen = u;
    next = prev.length >= 64 ? prev : new Float64Array(64);
  }
  let a = 0;
  while (a < accLen && !(acc[a]! >= lo)) a++;
  let b = accLen;
  while (b > a && !(acc[b - 1]! <= hi)) b--;
  return acc.slice(a, b);
};
