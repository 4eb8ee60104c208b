/**
 * Local search on a placement, honouring every constraint (quota, pinned, KV caps and copy costs):
 *   - move: one item from a critical (max-load) device to another device;
 *   - swap: exchange two items between a critical device and another;
 *   - pairwise exact re-partition: re-split the free items of a critical device and one other device optimally
 *     (meet-in-the-middle over subset sums, with item counts when heads per device are fixed);
 * repeated to a fixed point (no step lowers the critical device), then iterated with seeded random kicks while time
 * remains (or, with an `Effort`, while units remain: each candidate move / swap evaluated and each subset sum a re-split
 * enumerates costs one unit, so the search is deterministic). Also `reduceMoves`, the second stage of a stable re-plan (fewest moves at the best makespan).
 * One scan of a device on a large layer is long (swaps: items of a × items of b), so the scans read the clock too and
 * stop, changing nothing, once the deadline has passed (with an `Effort`: its clock stop; units are charged per scan
 * as before, so within the time limit nothing changes).
 */
import { LoadState, type Instance } from './problem.ts';
import type { Effort } from './effort.ts';

/** Mulberry32: a small seeded RNG, so perturbations are reproducible. */
export const rng = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const now = () => performance.now();
const better = (nu: number, old: number) => nu < old - 1e-12 * Math.max(1, Math.abs(old));

/** Largest free-item count the pairwise re-partition enumerates (2^(k/2) subsets per side). */
export const PAIRWISE_MAX_ITEMS = 34;

/**
 * Subset sums of `vals` in ascending order with their bit masks, grouped by subset size when `byCount` (index = size),
 * built by merging (S ∪ (S + v) for each value) in O(2^k) without sorting.
 */
const sortedSubsetSums = (vals: ReadonlyArray<number>, byCount: boolean): Array<{ sums: Float64Array; masks: Int32Array }> => {
  const k = vals.length;
  if (!byCount) {
    let sums = new Float64Array(1 << k);
    let masks = new Int32Array(1 << k);
    let len = 1;
    let ts = new Float64Array(1 << k);
    let tm = new Int32Array(1 << k);
    for (let b = 0; b < k; b++) {
      const v = vals[b]!;
      const bit = 1 << b;
      let i = 0;
      let j = 0;
      let o = 0;
      while (i < len || j < len) {
        if (j >= len || (i < len && sums[i]! <= sums[j]! + v)) { ts[o] = sums[i]!; tm[o++] = masks[i++]!; }
        else { ts[o] = sums[j]! + v; tm[o++] = masks[j++]! | bit; }
      }
      [sums, ts] = [ts, sums];
      [masks, tm] = [tm, masks];
      len = o;
    }
    return [{ sums: sums.subarray(0, len), masks: masks.subarray(0, len) }];
  }
  // By subset size: level c holds the sorted sums of subsets with c items.
  let levels: Array<{ sums: number[]; masks: number[] }> = [{ sums: [0], masks: [0] }];
  for (let b = 0; b < k; b++) {
    const v = vals[b]!;
    const bit = 1 << b;
    const next: Array<{ sums: number[]; masks: number[] }> = [];
    for (let c = 0; c <= b + 1; c++) {
      const keep = levels[c] ?? { sums: [], masks: [] };
      const add = levels[c - 1] ?? { sums: [], masks: [] };
      const sums: number[] = [];
      const masks: number[] = [];
      let i = 0;
      let j = 0;
      while (i < keep.sums.length || j < add.sums.length) {
        if (j >= add.sums.length || (i < keep.sums.length && keep.sums[i]! <= add.sums[j]! + v)) { sums.push(keep.sums[i]!); masks.push(keep.masks[i++]!); }
        else { sums.push(add.sums[j]! + v); masks.push(add.masks[j++]! | bit); }
      }
      next.push({ sums, masks });
    }
    levels = next;
  }
  return levels.map((l) => ({ sums: Float64Array.from(l.sums), masks: Int32Array.from(l.masks) }));
};

/**
 * Best split of `vals` into (X to device a, rest to b): minimise max((pa + ΣX)/sa, (pb + rest)/sb), optionally with
 * |X| = countA. Meet in the middle: sorted subset sums of each half, then a two-pointer sweep around the ideal ΣX.
 * Returns which items go to a, or null if no split meets the count.
 */
export const bestTwoWaySplit = (
  vals: ReadonlyArray<number>, pa: number, pb: number, sa: number, sb: number, countA?: number,
): { inA: boolean[]; value: number } | null => {
  const k = vals.length;
  const total = vals.reduce((x, y) => x + y, 0);
  const target = ((pa + pb + total) * sa) / (sa + sb) - pa; // ideal ΣX
  const h = k >> 1;
  const byCount = countA !== undefined;
  const L = sortedSubsetSums(vals.slice(0, h), byCount);
  const R = sortedSubsetSums(vals.slice(h), byCount);
  let best = Infinity;
  let bestMaskL = -1;
  let bestMaskR = -1;
  const evalSplit = (x: number) => Math.max((pa + x) / sa, (pb + total - x) / sb);
  const sweep = (l: { sums: Float64Array; masks: Int32Array }, r: { sums: Float64Array; masks: Int32Array }) => {
    let i = 0;
    let j = r.sums.length - 1;
    while (i < l.sums.length && j >= 0) {
      const x = l.sums[i]! + r.sums[j]!;
      const v = evalSplit(x);
      if (v < best) { best = v; bestMaskL = l.masks[i]!; bestMaskR = r.masks[j]!; }
      if (x < target) i++;
      else j--;
    }
  };
  if (!byCount) sweep(L[0]!, R[0]!);
  else for (let c = 0; c < L.length; c++) {
    const r = R[countA! - c];
    if (r && r.sums.length > 0 && L[c]!.sums.length > 0) sweep(L[c]!, r);
  }
  if (bestMaskL < 0) return null;
  const inA = Array<boolean>(k).fill(false);
  for (let t = 0; t < h; t++) if (bestMaskL & (1 << t)) inA[t] = true;
  for (let t = 0; t < k - h; t++) if (bestMaskR & (1 << t)) inA[h + t] = true;
  return { inA, value: best };
};

/**
 * Try to lower device a's load with one move / swap / pairwise re-split against some device. True if improved.
 * False, with nothing changed, when `cut` (the deadline, read now and then) stops the scan.
 */
const improveDevice = (st: LoadState, a: number, pairwise: boolean, effort?: Effort, cut?: () => boolean): boolean => {
  const { inst } = st;
  const { n, m, time, pinned, quota, kv } = inst;
  const la = st.load[a]!;
  const onA: number[] = [];
  for (let i = 0; i < n; i++) if (st.assign[i] === a && pinned[i]! < 0) onA.push(i);
  const devs = [...Array(m).keys()].filter((d) => d !== a).sort((x, y) => st.load[x]! - st.load[y]!);
  const ok = () => st.kvOk();
  let polls = 0;
  const stopped = (): boolean => cut !== undefined && (++polls & 1023) === 0 && cut();
  // Effort: one unit per candidate evaluated (charged per scan, so counts never depend on the clock).
  if (effort) effort.spend(1 + onA.length * devs.length);
  // Moves (not under a quota).
  if (quota === undefined) {
    let bi = -1;
    let bd = -1;
    let bv = la;
    for (const b of devs) for (const i of onA) {
      if (stopped()) return false;
      if (!st.canHost(i, b)) continue;
      if (!kv) {
        const v = Math.max(la - time[i * m + a]!, st.load[b]! + time[i * m + b]!);
        if (better(v, bv)) { bv = v; bi = i; bd = b; }
      } else {
        st.move(i, b);
        const v = Math.max(st.load[a]!, st.load[b]!);
        const good = ok();
        st.move(i, a);
        if (good && better(v, bv)) { bv = v; bi = i; bd = b; }
      }
    }
    if (bi >= 0) {
      st.move(bi, bd);
      return true;
    }
  }
  // Swaps.
  for (const b of devs) {
    if (cut?.()) return false;
    let bi = -1;
    let bj = -1;
    let bv = la;
    const onB: number[] = [];
    for (let j = 0; j < n; j++) if (st.assign[j] === b && pinned[j]! < 0) onB.push(j);
    if (effort) effort.spend(1 + onA.length * onB.length);
    for (const i of onA) for (const j of onB) {
      if (stopped()) return false;
      if (quota !== undefined && inst.weight[i] !== inst.weight[j]) continue;
      // A swap can only help a if j is cheaper there than i (equal costs: a no-op).
      if (time[j * m + a]! >= time[i * m + a]! && !(kv && kv.hasCopyCost)) continue;
      if (!kv) {
        const na = la - time[i * m + a]! + time[j * m + a]!;
        const nb = st.load[b]! - time[j * m + b]! + time[i * m + b]!;
        const v = Math.max(na, nb);
        if (better(v, bv)) { bv = v; bi = i; bj = j; }
      } else {
        st.move(i, b);
        st.move(j, a);
        const v = Math.max(st.load[a]!, st.load[b]!);
        const good = ok();
        st.move(j, b);
        st.move(i, a);
        if (good && better(v, bv)) { bv = v; bi = i; bj = j; }
      }
    }
    if (bi >= 0) {
      st.move(bi, b);
      st.move(bj, a);
      return true;
    }
  }
  // Pairwise exact re-partition (additive loads on identical / uniform devices).
  if (pairwise && pairwiseApplies(inst)) for (const b of devs) {
    if (cut?.()) return false;
    if (resplit(st, a, b, effort)) return true;
  }
  return false;
};

/** Pairwise re-partition needs additive loads and a speed per device (no KV copy terms, no time matrix). */
export const pairwiseApplies = (inst: Instance): boolean => inst.kv === undefined && inst.kind !== 'matrix';

/**
 * Re-split the free items of devices a and b optimally (min max load of the two); applied only when it strictly
 * lowers max(load a, load b). True if it changed anything.
 */
export const resplit = (st: LoadState, a: number, b: number, effort?: Effort): boolean => {
  const { inst } = st;
  // Skip a pair already found unimprovable whose two devices have not changed since.
  const m = inst.m;
  let memo = resplitMemo.get(st);
  if (!memo) resplitMemo.set(st, (memo = new Int32Array(m * m * 2).fill(-1)));
  const k = 2 * (Math.min(a, b) * m + Math.max(a, b));
  const va = st.version[Math.min(a, b)]!;
  const vb = st.version[Math.max(a, b)]!;
  if (memo[k] === va && memo[k + 1] === vb) return false;
  const changed = resplitUncached(st, a, b, effort);
  if (!changed) {
    memo[k] = st.version[Math.min(a, b)]!;
    memo[k + 1] = st.version[Math.max(a, b)]!;
  }
  return changed;
};

const resplitMemo = new WeakMap<LoadState, Int32Array>();

const resplitUncached = (st: LoadState, a: number, b: number, effort?: Effort): boolean => {
  const { inst } = st;
  const { n, pinned, quota } = inst;
  const sa = inst.speeds[a]!;
  const sb = inst.speeds[b]!;
  const old = Math.max(st.load[a]!, st.load[b]!);
  const free: number[] = [];
  let pa = 0;
  let pb = 0;
  let pinnedHeadsA = 0;
  for (let i = 0; i < n; i++) {
    const d = st.assign[i]!;
    if (d !== a && d !== b) continue;
    if (pinned[i]! >= 0) {
      if (d === a) { pa += inst.cost[i]!; pinnedHeadsA += inst.weight[i]!; } else pb += inst.cost[i]!;
    } else free.push(i);
  }
  if (free.length < 2 || free.length > PAIRWISE_MAX_ITEMS) return false;
  let countA: number | undefined;
  if (quota !== undefined) {
    const w = inst.weight[free[0]!]!;
    if (free.some((i) => inst.weight[i] !== w)) return false;
    countA = (quota - pinnedHeadsA) / w;
  }
  // Effort: the subset sums of both halves; a re-split the budget left cannot pay for is not started (it used to
  // overspend a small share many times over, leaving nothing for the exact search after it).
  const units = (1 << (free.length >> 1)) + (1 << (free.length - (free.length >> 1)));
  if (effort && effort.remaining < units) return false;
  if (effort) effort.spend(units);
  const split = bestTwoWaySplit(free.map((i) => inst.cost[i]!), pa, pb, sa, sb, countA);
  if (!split || !better(split.value, old)) return false;
  free.forEach((i, t) => st.move(i, split.inA[t] ? a : b));
  return true;
};

/** Descend to a fixed point: repeatedly improve the critical device until no step helps. */
export const descend = (st: LoadState, deadline: number, pairwise = true, effort?: Effort): void => {
  let guard = 0;
  const going = () => (effort ? effort.ok() : now() < deadline);
  // Inside a scan only the clock stops it (units are charged per scan).
  const cut = effort ? () => effort.pastDeadline() : () => now() >= deadline;
  while (going() && guard++ < 100000) {
    const a = st.argmax();
    if (!improveDevice(st, a, pairwise, effort, cut)) {
      // Ties: another device at the same makespan may still be improvable (lowers the count at the max).
      const mk = st.load[a]!;
      let progressed = false;
      for (let d = 0; d < st.inst.m && !progressed && going(); d++) {
        if (d !== a && st.load[d]! >= mk - 1e-12 * Math.max(1, mk)) progressed = improveDevice(st, d, pairwise, effort, cut);
      }
      if (!progressed && !(pairwise && pairwiseApplies(st.inst) && balancePairs(st, deadline, effort))) return;
    }
  }
};

/** Re-split every pair of devices that can be balanced better (lowers Σ load², never the makespan). */
const balancePairs = (st: LoadState, deadline: number, effort?: Effort): boolean => {
  const m = st.inst.m;
  let any = false;
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) {
    if (effort ? !effort.ok() : now() >= deadline) return any;
    if (resplit(st, a, b, effort)) any = true;
  }
  return any;
};

const fresh = (inst: Instance, assign: ArrayLike<number>) => new LoadState(inst, assign);

/**
 * Local search to a fixed point, then random kicks (iterated local search) until `deadline` or `maxKicks` (with
 * `opts.effort`: until its units run out or `maxKicks`; its deadline is then only a safety net, which sets `clockHit`).
 * Returns the best assignment found (always feasible when `start` is).
 */
export const localSearch = (
  inst: Instance, start: ArrayLike<number>, deadline: number, opts: { seed?: number; maxKicks?: number; stopAt?: number; effort?: Effort } = {},
): Int32Array => {
  const effort = opts.effort;
  const st = fresh(inst, start);
  descend(st, deadline, true, effort);
  let best = Int32Array.from(st.assign);
  let bestV = fresh(inst, best).makespan();
  const stopAt = opts.stopAt ?? 0;
  const maxKicks = opts.maxKicks ?? Infinity;
  const r = rng(opts.seed ?? 1);
  const movable = [...Array(inst.n).keys()].filter((i) => inst.pinned[i]! < 0);
  if (movable.length < 2 || inst.m < 2) return best;
  for (let kick = 0; kick < maxKicks && (effort ? effort.ok() : now() < deadline) && bestV > stopAt * (1 + 1e-12); kick++) {
    const cur = fresh(inst, best);
    // Kick: a few random swaps between the critical device and random others, plus random swaps elsewhere.
    const strength = 2 + Math.floor(r() * 3);
    for (let s = 0; s < strength; s++) {
      const i = movable[Math.floor(r() * movable.length)]!;
      const j = movable[Math.floor(r() * movable.length)]!;
      const di = cur.assign[i]!;
      const dj = cur.assign[j]!;
      if (di === dj || (inst.quota !== undefined && inst.weight[i] !== inst.weight[j])) continue;
      cur.move(i, dj);
      cur.move(j, di);
      if (!cur.kvOk()) { cur.move(j, dj); cur.move(i, di); }
    }
    descend(cur, deadline, true, effort);
    const v = fresh(inst, cur.assign).makespan();
    if (v < bestV - 1e-12 * Math.max(1, bestV) && cur.feasible()) {
      bestV = v;
      best = Int32Array.from(cur.assign);
    }
  }
  return best;
};

/**
 * Fewest moves from `inst.previous` while the makespan stays ≤ `limit`: move items back to their previous device,
 * or swap two items that both want to go back, whenever every constraint still holds. Greedy, to a fixed point, or
 * until `stop` (the deadline, read once per item: a step is linear in the items) says so; every step keeps the
 * placement valid.
 */
export const reduceMoves = (inst: Instance, assign: ArrayLike<number>, limit: number, stop?: () => boolean): Int32Array => {
  const prev = inst.previous;
  const st = fresh(inst, assign);
  if (!prev) return st.assign;
  const tol = limit * (1 + 1e-12) + 1e-12;
  let changed = true;
  let guard = 0;
  while (changed && guard++ < 50) {
    changed = false;
    for (let i = 0; i < inst.n; i++) {
      if (stop?.()) return st.assign;
      const p = prev[i]!;
      const d = st.assign[i]!;
      if (p < 0 || p === d || inst.pinned[i]! >= 0) continue;
      if (inst.quota === undefined && st.canHost(i, p)) {
        st.move(i, p);
        if (st.load[p]! <= tol && st.load[d]! <= tol && st.kvOk()) { changed = true; continue; }
        st.move(i, d);
      }
      // Swap with an item on p that is not at home there (prefer one whose previous device is d).
      let done = false;
      for (let pass = 0; pass < 2 && !done; pass++) for (let j = 0; j < inst.n && !done; j++) {
        if (st.assign[j] !== p || inst.pinned[j]! >= 0 || prev[j] === p) continue;
        if (pass === 0 && prev[j] !== d) continue;
        if (inst.quota !== undefined && inst.weight[i] !== inst.weight[j]) continue;
        st.move(i, p);
        st.move(j, d);
        if (st.load[p]! <= tol && st.load[d]! <= tol && st.kvOk()) { done = true; changed = true; }
        else { st.move(j, p); st.move(i, d); }
      }
    }
  }
  return st.assign;
};
