/**
 * Exact anytime search for identical devices (optionally with a fixed number of items per device): a search over
 * the capacity C between the lower and upper bound (bisection), where each probe asks "do the items fit in m bins of
 * capacity C?" and answers it by bin completion (Korf; Schreiber & Moffitt, JACM 2018):
 *   - bins are filled one at a time, each with a subset that contains the largest remaining item (symmetry breaking:
 *     devices are interchangeable), enumerated over item *types* (equal costs collapsed, so repeated budgets do not
 *     multiply the search);
 *   - a subset must leave total waste within the slack m·C − Σ costs, and (without item counts) be maximal: no
 *     remaining item still fits (dominance);
 *   - failed states (remaining multiset, bins left) are cached.
 * Costs are converted once to integers: exactly when they already are (and their sum < 2^52), otherwise as
 * ⌊cost · scale⌋ with scale = 2^50 / Σ costs (resolution reported; a proof then holds to ~n·2^-50 relative). Makespans are always recomputed from the
 * original values, and a proof at the integer resolution yields a valid real lower bound (⌊·⌋ never raises a load).
 * Returns the best assignment found, the proven lower bound, and whether the search completed (optimal).
 * With an `Effort` the probes get shares of its units (a node, or a DP state × type, each costs one) instead of
 * shares of the time left, so the search is deterministic; `deadline` is then only the safety net.
 */
import { binPackingBound } from './bounds.ts';
import type { Instance } from './problem.ts';
import type { Effort } from './effort.ts';

export interface ExactResult {
  /** Best assignment the search found (collapsed items), or null when it found none better than the start. */
  readonly assign: Int32Array | null;
  /** Proven lower bound in load units (≥ the bound passed in). */
  readonly lowerBound: number;
  /** The search closed the gap at its integer resolution. */
  readonly complete: boolean;
  /** Cost units per integer step (1 when costs were integers). */
  readonly resolution: number;
  readonly nodes: number;
}

/** Can the exact search handle this instance? Identical devices, no pins, KV caps or mixed group sizes. */
export const exactApplies = (inst: Instance): boolean =>
  inst.kind === 'identical' && inst.kv === undefined && inst.pinned.every((x) => x < 0) &&
  (inst.quota === undefined || inst.weight.every((w) => w === inst.weight[0]));

class Timeout {}

/** Largest count-vector state space the exact DP takes on (≈ types × states operations per probe). */
export const DP_MAX_STATES = 200_000;

export const exactSearch = (inst: Instance, start: ArrayLike<number>, lowerBound: number, deadline: number, effort?: Effort): ExactResult => {
  const { n, m, cost, speeds } = inst;
  const speed = speeds[0] ?? 1;
  const total = cost.reduce((a, b) => a + b, 0);
  const maxCost = Math.max(0, ...cost);
  const integral = cost.every((c) => Number.isInteger(c)) && total < 2 ** 52;
  const scale = integral || maxCost === 0 ? 1 : 2 ** 50 / Math.max(total, maxCost);
  const ic = cost.map((c) => Math.floor(c * scale));
  const perBin = inst.quota === undefined ? undefined : n / m;

  // Types: distinct integer costs, descending.
  const order = [...Array(n).keys()].sort((a, b) => ic[b]! - ic[a]! || a - b);
  const vals: number[] = [];
  const typeItems: number[][] = [];
  for (const i of order) {
    if (vals.length > 0 && vals[vals.length - 1] === ic[i]) typeItems[typeItems.length - 1]!.push(i);
    else {
      vals.push(ic[i]!);
      typeItems.push([i]);
    }
  }
  const T = vals.length;
  const itotal = ic.reduce((a, b) => a + b, 0);

  // Integer bounds.
  const desc = order.map((i) => ic[i]!);
  let lo = Math.max(Math.ceil(itotal / m), desc[0] ?? 0, Math.floor(lowerBound * speed * scale));
  for (let t = 1; t * m + 1 <= n; t++) {
    let s = 0;
    for (let i = t * m - t; i <= t * m; i++) s += desc[i]!;
    lo = Math.max(lo, s);
  }
  if (perBin !== undefined && perBin > 0) {
    let small = 0;
    for (let i = 0; i < perBin - 1; i++) small += desc[n - 1 - i]!;
    lo = Math.max(lo, desc[0]! + small);
  }
  const intMakespan = (a: ArrayLike<number>) => {
    const l = new Float64Array(m);
    for (let i = 0; i < n; i++) l[a[i]!]! += ic[i]!;
    return Math.max(0, ...l);
  };
  let hi = intMakespan(start);
  if (perBin === undefined && hi > lo) lo = Math.max(lo, binPackingBound(desc, m, lo, hi));

  let nodes = 0;
  let best: Int32Array | null = null;
  const counts = new Int32Array(T);
  // Failed states → the largest capacity at which they failed (a state that fails at C fails below C too).
  const memo = new Map<string, number>();

  /** Decide whether the items fit in m bins of capacity C; fills `bins` with per-bin type counts on success. */
  // Few types and no item counts: an exact DP over count vectors (items added one at a time; each state keeps the
  // lexicographically least (closed bins, open-bin fill)) decides a capacity in O(states × types).
  let dpStates = 1;
  for (let t = 0; t < T && dpStates <= DP_MAX_STATES; t++) dpStates *= typeItems[t]!.length + 1;
  const useDp = perBin === undefined && dpStates <= DP_MAX_STATES;
  const radix = new Float64Array(T);
  for (let t = 0, r = 1; t < T; t++) { radix[t] = r; r *= typeItems[t]!.length + 1; }
  const dpBins = useDp ? new Int32Array(dpStates) : new Int32Array(0);
  const dpFill = useDp ? new Float64Array(dpStates) : new Float64Array(0);
  const dpFrom = useDp ? new Int8Array(dpStates) : new Int8Array(0);
  const dpProbe = (C: number, probeDeadline: number, pe?: Effort): Int32Array | null | 'timeout' => {
    if ((desc[0] ?? 0) > C) return null;
    const x = new Int32Array(T);
    dpBins[0] = 0;
    dpFill[0] = 0;
    for (let idx = 1; idx < dpStates; idx++) {
      if ((idx & 16383) === 0 && performance.now() > probeDeadline) return 'timeout';
      if ((idx & 255) === 0 && pe && !pe.spend(256 * T)) return 'timeout';
      // Decode idx into counts x (mixed radix, incrementally).
      for (let t = 0; t < T; t++) {
        if (x[t]! < typeItems[t]!.length) { x[t]!++; break; }
        x[t] = 0;
      }
      let bb = Infinity;
      let bf = Infinity;
      let bt = -1;
      for (let t = 0; t < T; t++) {
        if (x[t] === 0) continue;
        const prev = idx - radix[t]!;
        let b = dpBins[prev]!;
        let f = dpFill[prev]! + vals[t]!;
        if (f > C) { b++; f = vals[t]!; }
        if (b < bb || (b === bb && f < bf)) { bb = b; bf = f; bt = t; }
      }
      dpBins[idx] = bb;
      dpFill[idx] = bf;
      dpFrom[idx] = bt;
    }
    const last = dpStates - 1;
    if (dpBins[last]! + (dpFill[last]! > 0 ? 1 : 0) > m) return null;
    // Walk back: the item sequence, a new bin whenever the fill restarted.
    const seq: number[] = [];
    for (let idx = last; idx > 0; idx -= radix[dpFrom[idx]!]!) seq.push(dpFrom[idx]!);
    seq.reverse();
    const out = new Int32Array(n);
    const next = new Int32Array(T);
    let bin = 0;
    let fill = 0;
    for (const t of seq) {
      if (fill + vals[t]! > C) { bin++; fill = 0; }
      fill += vals[t]!;
      out[typeItems[t]![next[t]!++]!] = bin;
    }
    return out;
  };

  const probe = (C: number, probeDeadline: number, pe?: Effort): Int32Array | null | 'timeout' => useDp ? dpProbe(C, probeDeadline, pe) : binCompletion(C, probeDeadline, pe);

  const binCompletion = (C: number, probeDeadline: number, pe?: Effort): Int32Array | null | 'timeout' => {
    for (let t = 0; t < T; t++) counts[t] = typeItems[t]!.length;
    const slack = m * C - itotal;
    if (slack < 0 || (desc[0] ?? 0) > C) return null;
    const bins: Int32Array[] = [];
    let remainingItems = n;

    const fill = (binsLeft: number, wasteLeft: number): boolean => {
      if (remainingItems === 0) return perBin === undefined || perBin === 0 || binsLeft === 0;
      if (binsLeft === 0) return false;
      if (binsLeft === 1) {
        let s = 0;
        for (let t = 0; t < T; t++) s += counts[t]! * vals[t]!;
        if (s > C || (perBin !== undefined && remainingItems !== perBin)) return false;
        bins.push(Int32Array.from(counts));
        return true;
      }
      const key = String.fromCharCode(binsLeft, ...counts);
      if ((memo.get(key) ?? -1) >= C) return false;
      let t0 = 0;
      while (counts[t0] === 0) t0++;
      const take = new Int32Array(T);
      take[t0] = 1;
      counts[t0]!--;
      remainingItems--;
      let found = false;
      // suffix[t] = Σ_{t' ≥ t} counts·vals: the most the rest of this bin could still add.
      const suffix = new Float64Array(T + 1);
      for (let t = T - 1; t >= 0; t--) suffix[t] = suffix[t + 1]! + counts[t]! * vals[t]!;
      const minSum = C - wasteLeft;

      // DFS over types t ≥ t0 choosing how many of each to add, largest counts of large types first.
      const dfs = (t: number, s: number, k: number): boolean => {
        if ((++nodes & 1023) === 0 && performance.now() > probeDeadline) throw new Timeout();
        if ((nodes & 63) === 0 && pe && !pe.spend(64)) throw new Timeout();
        if (perBin !== undefined && k === perBin) return leaf(s);
        if (t === T) return perBin === undefined ? leaf(s) : false;
        const room = C - s;
        const v = vals[t]!;
        let maxTake = counts[t]!;
        if (v > 0) maxTake = Math.min(maxTake, Math.floor(room / v));
        if (perBin !== undefined) maxTake = Math.min(maxTake, perBin - k);
        for (let x = maxTake; x >= 0; x--) {
          // Waste window: even taking everything after type t cannot reach C − wasteLeft.
          if (s + x * v + suffix[t + 1]! < minSum) break;
          take[t]! += x;
          counts[t]! -= x;
          remainingItems -= x;
          const r = dfs(t + 1, s + x * v, k + x);
          take[t]! -= x;
          counts[t]! += x;
          remainingItems += x;
          if (r) return true;
        }
        return false;
      };
      const leaf = (s: number): boolean => {
        const waste = C - s;
        if (waste > wasteLeft) return false;
        if (perBin === undefined) {
          // Maximal: no remaining item fits in the waste.
          for (let t = T - 1; t >= 0; t--) if (counts[t]! > 0) {
            if (vals[t]! <= waste) return false;
            break;
          }
        }
        bins.push(Int32Array.from(take));
        if (fill(binsLeft - 1, wasteLeft - waste)) return true;
        bins.pop();
        return false;
      };
      try {
        found = dfs(t0, vals[t0]!, 1);
      } finally {
        counts[t0]!++;
        remainingItems++;
      }
      if (!found && (memo.size < 2_000_000 || memo.has(key))) memo.set(key, Math.max(C, memo.get(key) ?? -1));
      return found;
    };

    try {
      if (!fill(m, slack)) return null;
    } catch (e) {
      if (e instanceof Timeout) return 'timeout';
      throw e;
    }
    // Bins (type counts) to an assignment.
    const out = new Int32Array(n);
    const next = new Int32Array(T);
    bins.forEach((b, d) => {
      for (let t = 0; t < T; t++) for (let x = 0; x < b[t]!; x++) out[typeItems[t]![next[t]!++]!] = d;
    });
    return out;
  };

  // Probe capacities below the incumbent: C = hi − δ, δ doubling after each success (feasible capacities near the
  // incumbent are found fast), shrinking after a timeout; an exhausted probe proves a bound (lo = C + 1).
  let delta = 1;
  let stalled = 0;
  let fewTypes = T * 2 <= n;
  // With few types, every makespan is one of a small set of subset sums: probe only those (and round lo up to one).
  let sums: Float64Array | null = null;
  let states = 1;
  for (let t = 0; t < T && states <= 200_000; t++) states *= typeItems[t]!.length + 1;
  if (fewTypes && states <= 200_000) {
    let acc = new Set<number>([0]);
    for (let t = 0; t < T; t++) {
      const next = new Set<number>();
      for (const a of acc) for (let x = 0; x <= typeItems[t]!.length; x++) if (a + x * vals[t]! <= hi) next.add(a + x * vals[t]!);
      acc = next;
    }
    sums = Float64Array.from([...acc].filter((x) => x >= lo).sort((a, b) => a - b));
    if (sums.length > 0) lo = Math.max(lo, sums[0]!);
  }
  const nextSum = (c: number): number => {
    // Largest achievable sum ≤ c (a probe at c is the same as at that sum).
    if (!sums) return c;
    let a = 0;
    let b = sums.length - 1;
    if (sums[0]! > c) return c;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (sums[mid]! <= c) a = mid;
      else b = mid - 1;
    }
    return sums[a]!;
  };
  // Many instances have a (near-)perfect partition: one short probe at the bound itself often ends the search.
  // With an effort budget, probes get shares of its units and only the budget reads the clock (the safety net).
  const going = () => (effort ? effort.ok() : performance.now() < deadline);
  if (!fewTypes && lo < hi && going()) {
    const r = effort ? probe(lo, Infinity, effort.share(0.15)) : probe(lo, performance.now() + (deadline - performance.now()) * 0.15);
    if (r !== 'timeout' && r !== null) {
      best = r;
      hi = intMakespan(r);
    } else if (r === null) lo = lo + 1;
  }
  while (lo < hi) {
    const nowT = performance.now();
    if (!going()) break;
    // Few distinct costs (real budgets come in a handful of classes): probes are cheap, so bisect; otherwise
    // descend from the incumbent.
    const C = Math.max(lo, nextSum(fewTypes ? lo + Math.floor((hi - lo) / 2) : hi - delta));
    const r = effort ? probe(C, Infinity, effort.share(1 / 3)) : probe(C, nowT + Math.max(1, (deadline - nowT) / 3));
    if (r === 'timeout') {
      if (fewTypes) {
        fewTypes = false; // bisection stalled: descend from the incumbent instead
        continue;
      }
      if (delta === 1 || C === lo) {
        if (++stalled >= 2) break;
      }
      delta = Math.max(1, Math.floor(delta / 4));
      continue;
    }
    stalled = 0;
    if (r === null) {
      lo = Math.max(lo, C + 1); // infeasible at C ⇒ infeasible below C
      if (sums) {
        const k = sums.findIndex((x) => x > C);
        lo = k < 0 ? hi : Math.max(lo, Math.min(hi, sums[k]!));
      }
      delta = Math.max(1, Math.floor(delta / 2));
      continue;
    }
    best = r;
    hi = intMakespan(r);
    delta *= 2;
  }
  const complete = lo >= hi;
  const lbReal = Math.max(lowerBound, lo / scale / speed);
  return { assign: best, lowerBound: complete ? Math.max(lbReal, hi / scale / speed) : lbReal, complete, resolution: 1 / scale, nodes };
};
