/**
 * Bin-packing lower bounds on the number of bins of capacity C that a multiset of item sizes needs (Martello & Toth,
 * "Lower bounds and reduction procedures for the bin packing problem", 1990). Pure functions over sizes sorted
 * non-increasing; `lift.ts` turns them into makespan bounds for P||Cmax (a capacity that needs more than m bins is
 * infeasible). Used by `../bounds.ts` and `../exact.ts`; laws in `test/bounds-laws.test.ts`.
 * With a `Deadline` that has passed, L2 and L3 return the largest count proven so far (a maximum over fewer terms:
 * still a lower bound).
 */
import type { Deadline } from '../deadline.ts';

/** ⌈a / b⌉ for a ≥ 0, b > 0; exact for integers (below 2^53), within 1e-12 for reals. */
const ceilDiv = (a: number, b: number): number =>
  Number.isInteger(a) && Number.isInteger(b) ? Math.floor((a + b - 1) / b) : Math.ceil(a / b - 1e-12);

/** L1: ⌈Σ sizes / C⌉ (Infinity when an item does not fit). */
export const binsNeededL1 = (desc: ReadonlyArray<number>, C: number): number => {
  if (desc.length === 0) return 0;
  if (desc[0]! > C) return Infinity;
  let s = 0;
  for (const v of desc) s += v;
  return C > 0 ? ceilDiv(s, C) : s > 0 ? Infinity : 0;
};

/**
 * Martello–Toth L2: max over K ∈ {0} ∪ {sizes ≤ C/2} of |J1| + |J2| + max(0, ⌈(Σ J3 − (|J2|·C − Σ J2)) / C⌉), where
 * J1 = sizes > C − K, J2 = sizes in (C/2, C − K], J3 = sizes in [K, C/2]. Dominates L1. O(n · distinct sizes); over
 * integer sizes (sum < 2^53, every real layer and the exact search's integer costs) O(n + distinct sizes · log n)
 * with prefix sums, which are exact there, so the value is the same.
 */
export const binsNeededL2 = (desc: ReadonlyArray<number>, C: number, clock?: Deadline): number => l2Bins(desc, clock)(C);

/** L2 as a function of the capacity, for many capacities over the same sizes (the lifts): prefix sums built once. */
export const l2Bins = (desc: ReadonlyArray<number>, clock?: Deadline): ((C: number) => number) => {
  const prefix = integerPrefix(desc);
  return (C) => {
    if (desc.length === 0) return 0;
    if (desc[0]! > C) return Infinity;
    if (!(C > 0)) return desc.some((v) => v > 0) ? Infinity : 0;
    return prefix ? l2Integer(desc, prefix, C, clock) : l2Scan(desc, C, clock);
  };
};

/** Prefix sums of integer sizes whose total is below 2^53 (every partial sum exact), or null. */
const integerPrefix = (desc: ReadonlyArray<number>): Float64Array | null => {
  const p = new Float64Array(desc.length + 1);
  let s = 0;
  for (let i = 0; i < desc.length; i++) {
    const v = desc[i]!;
    if (!Number.isInteger(v)) return null;
    s += v;
    if (s >= 2 ** 53) return null;
    p[i + 1] = s;
  }
  return p;
};

/** L2 over integer sizes: the classes J1, J2, J3 of each K found by binary search, their sums from the prefix sums. */
const l2Integer = (desc: ReadonlyArray<number>, prefix: Float64Array, C: number, clock?: Deadline): number => {
  const n = desc.length;
  // Items larger than x: the first index whose size is ≤ x.
  const above = (x: number): number => {
    let a = 0;
    let b = n;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (desc[mid]! > x) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  const half = above(C / 2);
  // K, and ge = how many sizes are ≥ K.
  const term = (K: number, ge: number): number => {
    const j1 = above(C - K);
    const j2 = half - j1;
    const s2 = prefix[half]! - prefix[j1]!;
    const s3 = prefix[ge]! - prefix[half]!;
    const over = s3 - (j2 * C - s2);
    return j1 + j2 + (over > 0 ? ceilDiv(over, C) : 0);
  };
  let best = term(0, n);
  for (let i = half; i < n;) {
    if (clock?.poll()) break;
    const K = desc[i]!;
    let e = i + 1;
    while (e < n && desc[e] === K) e++;
    best = Math.max(best, term(K, e));
    i = e;
  }
  return best;
};

/** L2 by a scan over the sizes for each K (real sizes). */
const l2Scan = (desc: ReadonlyArray<number>, C: number, clock?: Deadline): number => {
  let best = 0;
  const ks: number[] = [0];
  for (const v of desc) if (v <= C / 2 && v !== ks[ks.length - 1]) ks.push(v);
  for (const K of ks) {
    if (clock?.poll(4)) break;
    let j1 = 0;
    let j2 = 0;
    let s2 = 0;
    let s3 = 0;
    for (const v of desc) {
      if (v > C - K) j1++;
      else if (v > C / 2) {
        j2++;
        s2 += v;
      } else if (v >= K) s3 += v;
    }
    const over = s3 - (j2 * C - s2);
    best = Math.max(best, j1 + j2 + (over > 0 ? ceilDiv(over, C) : 0));
  }
  return best;
};

/**
 * L3 (Martello–Toth's scheme, with the first rule of their reduction procedure MTRP): while the largest remaining item
 * j can share a bin with at most one other item (the two smallest remaining items do not both fit beside it), the bin
 * {j, the largest item that fits beside j} is dominant: some optimal packing uses it, so it is fixed. The bound is the
 * largest, over the reduction steps, of fixed bins + L2 of what remains. O(n² · distinct sizes) (O(n²) over integers).
 */
export const binsNeededL3 = (desc: ReadonlyArray<number>, C: number, clock?: Deadline): number => {
  if (desc.length === 0) return 0;
  if (desc[0]! > C) return Infinity;
  const rest = [...desc];
  let fixed = 0;
  let best = binsNeededL2(rest, C, clock);
  while (rest.length > 0) {
    // Each step is linear in the items left.
    if (clock?.passed()) break;
    const j = rest[0]!;
    const room = C - j;
    const n = rest.length;
    // The two smallest others both fit beside j: the rule does not apply.
    if (n >= 3 && rest[n - 1]! + rest[n - 2]! <= room) break;
    rest.shift();
    // The largest item that fits beside j (rest is sorted non-increasing).
    const k = rest.findIndex((v) => v <= room);
    if (k >= 0) rest.splice(k, 1);
    fixed++;
    best = Math.max(best, fixed + binsNeededL2(rest, C, clock));
  }
  return best;
};
