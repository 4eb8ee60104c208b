/**
 * Fast placement builders. Each returns an assignment of the normalised items that honours every constraint of the
 * instance (quota, pinned, KV caps), or null when its greedy rule dead-ends on a tight KV cap.
 *   - contiguous: what serving engines do today (heads split into equal contiguous blocks; the baseline);
 *   - roundRobin: item i on device i mod m;
 *   - lpt: largest first onto the least-loaded device (binary heap) — the S-HPLB paper's rule; with mixed speeds or a
 *     time matrix it becomes earliest-finish LPT (each item to the device where it would finish first);
 *   - lptCapped: LPT with at most c heads per device;
 *   - karmarkarKarp: multiway largest-differencing (Karmarkar–Karp, generalised by Korf);
 *   - balancedKk: balanced largest differencing (Michiels et al.): equal item counts per device;
 *   - multiFit: Coffman–Garey–Johnson MultiFit (FFD inside a binary search on capacity; uniform speeds scale bins).
 * Builders that only make sense without side constraints fall back to earliest-finish LPT when the instance has them.
 * Each takes an optional `Deadline` and polls it: once it has passed, the builder gives up and returns null (the
 * registry then falls back to round robin), so a large layer never runs a builder past the time limit.
 */
import { LoadState, type Instance } from './problem.ts';
import type { Deadline } from './deadline.ts';

export type BuilderName = 'contiguous' | 'roundrobin' | 'lpt' | 'lpt-capped' | 'kk' | 'balanced-kk' | 'multifit';

/** Below this many items the comparator sort is used (the radix sort's tables cost more than they save). */
const RADIX_MIN_ITEMS = 1 << 15;

/**
 * Indices sorted by value, largest first, ties by index: the order of
 * `indices.sort((a, b) => values[b] - values[a] || a - b)`. On large layers (≥ 32,768 items of non-negative values)
 * an LSD radix sort on the values' bits (non-negative doubles order as their bit patterns; stable, so ties keep
 * index order) gives the same order in four linear passes instead of a comparator sort that dominated LPT's time.
 */
export const descendingOrder = (values: ArrayLike<number>): number[] => {
  const n = values.length;
  const comparatorSort = () => Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
  if (n < RADIX_MIN_ITEMS) return comparatorSort();
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0)) return comparatorSort(); // negative or NaN: bit order is not numeric order
    key[i] = v + 0; // -0 → +0 (equal to 0 for the comparator)
  }
  const words = new Uint32Array(key.buffer);
  const littleEndian = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
  const lo = littleEndian ? 0 : 1;
  const hi = 1 - lo;
  let src = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Uint32Array(n);
  const pos = new Uint32Array(1 << 16);
  // Ascending by the complemented bits = descending by value; 16 bits a pass, least significant first.
  for (let pass = 0; pass < 4; pass++) {
    const w = pass < 2 ? lo : hi;
    const shift = (pass & 1) * 16;
    pos.fill(0);
    for (let i = 0; i < n; i++) pos[(~words[2 * i + w]! >>> shift) & 0xffff]!++;
    let at = 0;
    for (let d = 0; d < 1 << 16; d++) {
      const c = pos[d]!;
      pos[d] = at;
      at += c;
    }
    for (let k = 0; k < n; k++) {
      const i = src[k]!;
      dst[pos[(~words[2 * i + w]! >>> shift) & 0xffff]!++] = i;
    }
    [src, dst] = [dst, src];
  }
  return Array.from(src);
};

const byCostDesc = (inst: Instance): number[] => {
  const { n, m, time } = inst;
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < m; d++) s += time[i * m + d]!;
    key[i] = s;
  }
  return descendingOrder(key);
};

/**
 * Greedy placement honouring every constraint. Items are taken in `order` (pinned ones first); `pick` chooses among
 * the devices that can take the item (default: earliest finish). `headCap` optionally caps heads per device.
 */
export const greedy = (
  inst: Instance,
  order: ReadonlyArray<number>,
  prefer?: (i: number, st: LoadState) => number,
  headCap?: number,
  clock?: Deadline,
): Int32Array | null => {
  const { n, m, time, kv } = inst;
  const st = new LoadState(inst, new Int32Array(n).fill(-1));
  const hosts = kv ? new Int32Array(kv.groups) : undefined;
  let extra = 0;
  const ok = (i: number, d: number): boolean => {
    if (!st.canHost(i, d)) return false;
    if (headCap !== undefined && st.heads[d]! + inst.weight[i]! > headCap) return false;
    if (kv && hosts) {
      const g = kv.kvOf[i]!;
      if (st.kvCount[d * kv.groups + g] === 0 && hosts[g]! >= 1 && extra + 1 > kv.maxExtra) return false;
    }
    return true;
  };
  const put = (i: number, d: number) => {
    if (kv && hosts) {
      const g = kv.kvOf[i]!;
      if (st.kvCount[d * kv.groups + g] === 0) {
        if (hosts[g]! >= 1) extra++;
        hosts[g]!++;
      }
    }
    st.place(i, d);
  };
  const pinnedFirst = [...order].sort((a, b) => (inst.pinned[b]! >= 0 ? 1 : 0) - (inst.pinned[a]! >= 0 ? 1 : 0));
  for (const i of pinnedFirst) {
    if (clock?.poll(64)) return null;
    let best = -1;
    if (inst.pinned[i]! >= 0) best = inst.pinned[i]!;
    else {
      const want = prefer ? prefer(i, st) : -1;
      if (want >= 0 && ok(i, want)) best = want;
      else {
        let bestT = Infinity;
        for (let d = 0; d < m; d++) {
          if (!ok(i, d)) continue;
          // Prefer a device that already holds the item's KV head when copies are capped or cost something.
          let t = st.load[d]! + time[i * m + d]!;
          if (kv && st.kvCount[d * kv.groups + kv.kvOf[i]!] === 0) t += kv.copyCost[d]!;
          if (t < bestT) {
            bestT = t;
            best = d;
          }
        }
      }
    }
    if (best < 0) return null;
    put(i, best);
  }
  // Quota must be met exactly: greedy with canHost guarantees ≤ quota, and Σ heads = m·quota forces equality.
  return st.assign;
};

/**
 * Whole KV groups, largest first, each onto the least-loaded device with a KV slot left (no extra copies, so the
 * replication cap holds too). The fallback when item-by-item greedy dead-ends under tight KV memory caps: it always
 * succeeds when the caps hold every group (checked by `normalize`) and there are no pins or equal head counts.
 */
export const kvGroupsGreedy = (inst: Instance): Int32Array | null => {
  const { n, m, time, kv } = inst;
  if (!kv || inst.quota !== undefined || inst.pinned.some((x) => x >= 0)) return null;
  const items: number[][] = Array.from({ length: kv.groups }, () => []);
  for (let i = 0; i < n; i++) items[kv.kvOf[i]!]!.push(i);
  const order = items.map((_, g) => g).filter((g) => items[g]!.length > 0)
    .sort((a, b) => items[b]!.reduce((s, i) => s + time[i * m]!, 0) - items[a]!.reduce((s, i) => s + time[i * m]!, 0) || a - b);
  const load = new Float64Array(m);
  const slots = Float64Array.from(kv.cap);
  const out = new Int32Array(n);
  for (const g of order) {
    let best = -1;
    let bestT = Infinity;
    for (let d = 0; d < m; d++) {
      if (slots[d]! < 1) continue;
      let t = load[d]!;
      for (const i of items[g]!) t += time[i * m + d]!;
      if (t < bestT) { bestT = t; best = d; }
    }
    if (best < 0) return null;
    slots[best]!--;
    load[best] = bestT;
    for (const i of items[g]!) out[i] = best;
  }
  return out;
};

/** Earliest-finish LPT (identical devices: classic LPT; a heap when there are no side constraints). */
export const lpt = (inst: Instance, clock?: Deadline): Int32Array | null => {
  if (clock?.passed()) return null;
  if (inst.plain && inst.kind === 'identical') {
    const { n, m, cost } = inst;
    const order = byCostDesc(inst);
    // Binary heap of (load, device).
    const hl = new Float64Array(m);
    const hd = Int32Array.from({ length: m }, (_, d) => d);
    const less = (a: number, b: number) => hl[a]! < hl[b]! || (hl[a] === hl[b] && hd[a]! < hd[b]!);
    const out = new Int32Array(n);
    for (const i of order) {
      if (clock?.poll(4096)) return null;
      const d = hd[0]!;
      out[i] = d;
      hl[0]! += cost[i]!;
      // sift down
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let s = k;
        if (l < m && less(l, s)) s = l;
        if (r < m && less(r, s)) s = r;
        if (s === k) break;
        [hl[k], hl[s]] = [hl[s]!, hl[k]!];
        [hd[k], hd[s]] = [hd[s]!, hd[k]!];
        k = s;
      }
    }
    return out;
  }
  return greedy(inst, byCostDesc(inst), undefined, undefined, clock) ?? (clock?.hit ? null : kvGroupsGreedy(inst));
};

/** LPT with at most `cap` heads per device (default ⌈heads/m⌉). */
export const lptCapped = (inst: Instance, cap?: number, clock?: Deadline): Int32Array | null => {
  if (clock?.passed()) return null;
  const heads = inst.weight.reduce((a, b) => a + b, 0);
  const c = cap ?? inst.quota ?? Math.ceil(heads / inst.m);
  return greedy(inst, byCostDesc(inst), undefined, c, clock) ?? greedy(inst, byCostDesc(inst), undefined, undefined, clock);
};

/** Contiguous blocks of items (device d gets items ⌊d·n/m⌋ … ⌊(d+1)·n/m⌋−1), repaired only where a constraint forbids. */
export const contiguous = (inst: Instance, clock?: Deadline): Int32Array | null => {
  if (clock?.passed()) return null;
  const { n, m } = inst;
  const target = (i: number) => {
    // Inverse of the block boundaries ⌊d·n/m⌋.
    let d = Math.floor((i * m) / n);
    while (d + 1 < m && Math.floor(((d + 1) * n) / m) <= i) d++;
    while (d > 0 && Math.floor((d * n) / m) > i) d--;
    return d;
  };
  return greedy(inst, Array.from({ length: n }, (_, i) => i), (i) => target(i), undefined, clock);
};

/** Item i on device i mod m, repaired only where a constraint forbids. */
export const roundRobin = (inst: Instance, clock?: Deadline): Int32Array | null => {
  // Without side constraints every item lands on its preferred device: linear, the registry's last-resort plan.
  if (inst.plain) {
    const out = new Int32Array(inst.n);
    for (let i = 0; i < inst.n; i++) out[i] = i % inst.m;
    return out;
  }
  return greedy(inst, Array.from({ length: inst.n }, (_, i) => i), (i) => i % inst.m, undefined, clock);
};

// ---------------------------------------------------------------- Karmarkar–Karp

/**
 * The items of one sum as a rope: an item, two ropes joined, or none. Joining is O(1) (KK used to copy both item
 * lists at every combine: quadratic time and garbage on large layers); only the membership is ever read.
 */
type Items = number | readonly [Items, Items] | null;

const join = (a: Items, b: Items): Items => (a === null ? b : b === null ? a : [a, b]);

interface Partial {
  sums: Float64Array; // sorted descending
  sets: Items[]; // sets[k] = items in the k-th sum
}

const spread = (p: Partial) => p.sums[0]! - p.sums[p.sums.length - 1]!;

/** A max-heap of partial solutions keyed by spread. */
class SpreadHeap {
  private readonly a: Partial[] = [];
  get size() {
    return this.a.length;
  }
  push(p: Partial) {
    const a = this.a;
    a.push(p);
    let k = a.length - 1;
    while (k > 0) {
      const up = (k - 1) >> 1;
      if (spread(a[up]!) >= spread(a[k]!)) break;
      [a[up], a[k]] = [a[k]!, a[up]!];
      k = up;
    }
  }
  pop(): Partial {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let s = k;
        if (l < a.length && spread(a[l]!) > spread(a[s]!)) s = l;
        if (r < a.length && spread(a[r]!) > spread(a[s]!)) s = r;
        if (s === k) break;
        [a[s], a[k]] = [a[k]!, a[s]!];
        k = s;
      }
    }
    return top;
  }
}

const combine = (x: Partial, y: Partial, m: number): Partial => {
  // Largest of x with smallest of y.
  const pairs: Array<{ s: number; set: Items }> = [];
  for (let k = 0; k < m; k++) pairs.push({ s: x.sums[k]! + y.sums[m - 1 - k]!, set: join(x.sets[k]!, y.sets[m - 1 - k]!) });
  pairs.sort((a, b) => b.s - a.s);
  return { sums: Float64Array.from(pairs.map((p) => p.s)), sets: pairs.map((p) => p.set) };
};

const kkFinish = (heap: SpreadHeap, n: number, m: number, clock?: Deadline): Int32Array | null => {
  while (heap.size > 1) {
    if (clock?.poll(64)) return null;
    heap.push(combine(heap.pop(), heap.pop(), m));
  }
  const out = new Int32Array(n);
  if (heap.size === 0) return out;
  const stack: Items[] = [];
  heap.pop().sets.forEach((set, d) => {
    stack.push(set);
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x === null) continue;
      if (typeof x === 'number') out[x] = d;
      else stack.push(x[1], x[0]);
    }
  });
  return out;
};

/** Multiway Karmarkar–Karp (identical devices, no side constraints; otherwise earliest-finish LPT). */
export const karmarkarKarp = (inst: Instance, clock?: Deadline): Int32Array | null => {
  if (!(inst.plain && inst.kind === 'identical')) return lpt(inst, clock);
  if (clock?.passed()) return null;
  const { n, m, cost } = inst;
  const heap = new SpreadHeap();
  for (let i = 0; i < n; i++) {
    if (clock?.poll(1024)) return null;
    const sums = new Float64Array(m);
    sums[0] = cost[i]!;
    const sets = Array<Items>(m).fill(null);
    sets[0] = i;
    heap.push({ sums, sets });
  }
  return kkFinish(heap, n, m, clock);
};

/**
 * Balanced KK: items sorted descending are cut into rows of m (one item per device, padding with zero items); rows are
 * combined by largest differencing, so every device ends with the same number of items (when m divides n).
 */
export const balancedKk = (inst: Instance, clock?: Deadline): Int32Array | null => {
  const balancedOk = inst.kind === 'identical' && inst.kv === undefined && inst.pinned.every((x) => x < 0) && inst.weight.every((w) => w === inst.weight[0]);
  if (!balancedOk) return lptCapped(inst, undefined, clock);
  if (clock?.passed()) return null;
  const { n, m, cost } = inst;
  const order = descendingOrder(cost);
  const heap = new SpreadHeap();
  for (let r = 0; r < n; r += m) {
    if (clock?.poll(64)) return null;
    const row = order.slice(r, r + m);
    const items: Array<{ s: number; set: Items }> = row.map((i) => ({ s: cost[i]!, set: i }));
    while (items.length < m) items.push({ s: 0, set: null });
    heap.push({ sums: Float64Array.from(items.map((x) => x.s)), sets: items.map((x) => x.set) });
  }
  const out = kkFinish(heap, n, m, clock);
  if (!out) return null;
  if (inst.quota !== undefined) {
    const heads = new Int32Array(m);
    for (let i = 0; i < n; i++) heads[out[i]!]! += inst.weight[i]!;
    if (heads.some((h) => h !== inst.quota)) return lptCapped(inst, undefined, clock);
  }
  return out;
};

// ---------------------------------------------------------------- MultiFit

/** First-fit decreasing into bins of capacity C·speed_d (fastest first); null when an item does not fit. */
const ffd = (inst: Instance, order: ReadonlyArray<number>, C: number, clock?: Deadline): Int32Array | null => {
  const { n, m, cost, speeds } = inst;
  const devs = [...Array(m).keys()].sort((a, b) => speeds[b]! - speeds[a]!);
  const room = devs.map((d) => C * speeds[d]!);
  const out = new Int32Array(n);
  for (const i of order) {
    if (clock?.poll(1024)) return null;
    let k = 0;
    while (k < m && room[k]! < cost[i]! - 1e-12 * C) k++;
    if (k === m) return null;
    room[k]! -= cost[i]!;
    out[i] = devs[k]!;
  }
  return out;
};

/** MultiFit with `iterations` bisection steps (identical or uniform devices without side constraints). */
export const multiFit = (inst: Instance, iterations = 12, clock?: Deadline): Int32Array | null => {
  if (!(inst.plain && inst.kind !== 'matrix')) return lpt(inst, clock);
  if (clock?.passed()) return null;
  const { n, cost, speeds } = inst;
  if (n === 0) return new Int32Array(0);
  const order = descendingOrder(cost);
  const total = cost.reduce((a, b) => a + b, 0);
  const sp = speeds.reduce((a, b) => a + b, 0);
  const maxSp = Math.max(...speeds);
  let lo = Math.max(total / sp, cost[order[0]!]! / maxSp);
  let hi = Math.max(2 * total / sp, cost[order[0]!]! / Math.min(...speeds));
  let best = ffd(inst, order, hi, clock) ?? lpt(inst, clock);
  for (let it = 0; it < iterations; it++) {
    // Past the deadline: the best capacity so far (FFD's null there means "stopped", not "does not fit").
    if (clock?.passed()) return best;
    const C = (lo + hi) / 2;
    const a = ffd(inst, order, C, clock);
    if (!a && clock?.hit) return best;
    if (a) {
      best = a;
      hi = C;
    } else lo = C;
  }
  return best;
};

/** The builders by name; each gives up (null) once `clock` has passed. */
export const BUILDERS: Record<BuilderName, (inst: Instance, clock?: Deadline) => Int32Array | null> = {
  contiguous,
  roundrobin: roundRobin,
  lpt,
  'lpt-capped': (inst, clock) => lptCapped(inst, undefined, clock),
  kk: karmarkarKarp,
  'balanced-kk': balancedKk,
  multifit: (inst, clock) => multiFit(inst, 12, clock),
};
