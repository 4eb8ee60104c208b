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
 * The bounds computed before the probes (pigeonhole, lifted L2 / L3, the relaxed classes) stop at the deadline too
 * (with what they proved so far); a probe whose recursion would overflow the stack (very many item types or devices)
 * is a probe that did not finish (it proves nothing), and beyond `BIN_COMPLETION_MAX_TYPES` distinct costs no probe
 * is made (bounds only).
 */
import type { Instance } from './problem.ts';
import type { Effort } from './effort.ts';
import { Deadline } from './deadline.ts';
import { localSearch } from './local.ts';
import { descendingOrder } from './heuristics.ts';
import { binsNeededL3, l2Bins } from './bounds/l2.ts';
import { dellAmicoL0, dellAmicoL1, equalCountBound } from './bounds/dellAmico.ts';
import { liftCapacity, liftOverSums, lowerIndex } from './bounds/lift.ts';
import { achievableSums, countVectors, type Classes } from './bounds/classes.ts';
import { CLASS_DP_MAX_STATES, classMinBins, relaxClasses, type Meter } from './bounds/classDp.ts';

/**
 * What closed the gap: a bound the incumbent meets (`bound:L0` mean / largest, `bound:L1` pigeonhole, `bound:L2`
 * the lifted Martello–Toth bound, `bound:loads` the smallest achievable load above the others, `bound:equal-counts`,
 * `bound:given` the caller's), the class-count DP proving the next load below the incumbent infeasible (`dp`), or
 * the bin-completion search exhausting the capacities below it (`search`).
 */
export type ExactProof = 'bound:L0' | 'bound:L1' | 'bound:L2' | 'bound:L3' | 'bound:loads' | 'bound:equal-counts' | 'bound:given' | 'dp' | 'search';

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
  /** What proved the result optimal (only when complete). */
  readonly proof?: ExactProof;
  /** What gave `lowerBound` (complete or not). */
  readonly boundBy: ExactProof;
}

/** Can the exact search handle this instance? Identical devices, no pins, KV caps or mixed group sizes. */
export const exactApplies = (inst: Instance): boolean =>
  inst.kind === 'identical' && inst.kv === undefined && inst.pinned.every((x) => x < 0) &&
  (inst.quota === undefined || inst.weight.every((w) => w === inst.weight[0]));

class Timeout {}

/** Largest count-vector state space the exact DP takes on (one unit of effort a state, per probe). */
export const DP_MAX_STATES = CLASS_DP_MAX_STATES;
/**
 * Count-vector states per unit of effort: a DP state is a handful of additions and comparisons (about 40 ns in V8 on
 * a 6-class layer, measured: 411,840 states in 17 ms), about an eighth of what a unit costs elsewhere, so 10^6 units
 * stay "a few hundred milliseconds" (effort.ts).
 */
export const DP_STATES_PER_UNIT = 8;
/** State space of the relaxed DP tried before the full one (classes merged by rounding down; bounds/classDp.ts). */
export const RELAXED_DP_STATES = 20_000;
/** Most distinct costs (item types) bin completion takes on; beyond, the exact search gives its bounds only. */
export const BIN_COMPLETION_MAX_TYPES = 4096;
/** Most characters the failure cache's keys may hold when there are more than 256 types (2^26: at most 128 MiB). */
const MEMO_MAX_CHARS = 1 << 26;

export const exactSearch = (inst: Instance, start: ArrayLike<number>, lowerBound: number, deadline: number, effort?: Effort): ExactResult => {
  const { n, m, cost, speeds } = inst;
  const clock = new Deadline(deadline, effort);
  const speed = speeds[0] ?? 1;
  const total = cost.reduce((a, b) => a + b, 0);
  let maxCost = 0;
  for (const c of cost) if (c > maxCost) maxCost = c;
  const integral = cost.every((c) => Number.isInteger(c)) && total < 2 ** 52;
  const scale = integral || maxCost === 0 ? 1 : 2 ** 50 / Math.max(total, maxCost);
  const ic = cost.map((c) => Math.floor(c * scale));
  const perBin = inst.quota === undefined ? undefined : n / m;

  // Types: distinct integer costs, descending.
  const order = descendingOrder(ic);
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

  // Integer bounds (Dell'Amico–Martello L0 / L1, equal counts), each remembered with its name for the proof.
  const desc = order.map((i) => ic[i]!);
  let lo = 0;
  let loBy: ExactProof = 'bound:L0';
  const raise = (v: number, by: ExactProof) => {
    if (v > lo) {
      lo = v;
      loBy = by;
    }
  };
  raise(dellAmicoL0(desc, m), 'bound:L0');
  raise(dellAmicoL1(desc, m, clock), 'bound:L1');
  if (perBin !== undefined && perBin > 0) raise(equalCountBound(desc, m), 'bound:equal-counts');
  raise(Math.floor(lowerBound * speed * scale), 'bound:given');
  const intMakespan = (a: ArrayLike<number>) => {
    const l = new Float64Array(m);
    for (let i = 0; i < n; i++) l[a[i]!]! += ic[i]!;
    let mx = 0;
    for (let d = 0; d < m; d++) if (l[d]! > mx) mx = l[d]!;
    return mx;
  };
  let hi = intMakespan(start);
  const classes: Classes = { vals, counts: typeItems.map((x) => x.length) };
  // With few types every makespan is one of a small set of achievable loads: probe only those (and round lo up).
  let fewTypes = T * 2 <= n;
  let sums: Float64Array | null = fewTypes && hi > lo ? achievableSums(classes, lo, hi) : null;
  if (sums && sums.length > 0) raise(Math.min(hi, sums[0]!), 'bound:loads');
  if (perBin === undefined && hi > lo) {
    const l2 = l2Bins(desc, clock);
    raise(sums ? liftOverSums(l2, m, sums, lo, hi, clock) : liftCapacity(l2, m, lo, hi, clock), 'bound:L2');
    if (hi > lo) {
      const l3 = (C: number) => binsNeededL3(desc, C, clock);
      raise(sums ? liftOverSums(l3, m, sums, lo, hi, clock) : liftCapacity(l3, m, lo, hi, clock), 'bound:L3');
    }
  }

  let nodes = 0;
  let best: Int32Array | null = null;
  const counts = new Int32Array(T);
  // Failed states → the largest capacity at which they failed (a state that fails at C fails below C too).
  const memo = new Map<string, number>();

  /** The result; an open gap still gets the bound rounded up to the next achievable load (a wider enumeration). */
  const finish = (): ExactResult => {
    if (lo < hi && !sums && T * 2 <= n) {
      const wide = achievableSums(classes, lo, hi, 400_000);
      if (wide && wide.length > 0) raise(Math.min(hi, wide[0]!), 'bound:loads');
    }
    const complete = lo >= hi;
    const lbReal = Math.max(lowerBound, Math.min(lo, hi) / scale / speed);
    return {
      assign: best, lowerBound: complete ? Math.max(lbReal, hi / scale / speed) : lbReal, complete, resolution: 1 / scale, nodes, boundBy: loBy,
      ...(complete ? { proof: loBy } : {}),
    };
  };

  // Few types and no item counts: the exact class-count DP (bounds/classDp.ts) decides a capacity in one pass over
  // the count vectors; with a good incumbent one probe, just below it, is the whole proof.
  const dpStates = countVectors(classes.counts, DP_MAX_STATES);
  const useDp = perBin === undefined && dpStates <= DP_MAX_STATES;
  const going = () => (effort ? effort.ok() : performance.now() < deadline);
  const meter: Meter = effort ?? { spend: () => performance.now() < deadline };
  // The relaxed DP (classes merged by rounding down, a small state space) proves a capacity infeasible cheaply when
  // the rounding loses less than the slack; its "feasible" proves nothing.
  const relaxed = perBin === undefined && dpStates > 4 * RELAXED_DP_STATES ? relaxClasses(classes, RELAXED_DP_STATES, clock) : null;
  const relaxedStates = relaxed ? countVectors(relaxed.counts) : 0;
  const relaxedInfeasible = (C: number): boolean => {
    if (!relaxed || (effort && effort.remaining < relaxedStates / DP_STATES_PER_UNIT)) return false;
    const r = classMinBins(relaxed, C, { spend: (k: number) => meter.spend(Math.ceil(k / DP_STATES_PER_UNIT)) });
    nodes += relaxedStates;
    return r !== 'stopped' && r.bins > m;
  };
  const below = (C: number) => (sums ? sums[lowerIndex(sums, C) - 1] ?? lo - 1 : C - 1);
  // The DP is cheapest when the incumbent is already optimal (one probe): descend with local search first (moves,
  // swaps, pairwise exact re-splits; a tenth of the effort), which usually reaches the optimum on real layers.
  if ((useDp || relaxed) && lo < hi) {
    const target = lo / scale / speed;
    const a = localSearch(inst, best ?? start, deadline, { maxKicks: 0, stopAt: target, ...(effort ? { effort: effort.share(0.1) } : {}) });
    const v = intMakespan(a);
    if (v < hi) {
      best = a;
      hi = v;
    }
  }
  if (relaxed && lo < hi && below(hi) >= lo && relaxedInfeasible(below(hi))) raise(hi, 'dp');
  if (useDp && lo < hi) {
    // Probe order: the next achievable load below the incumbent (with a good incumbent that one probe is the proof;
    // after each success the incumbent is polished by local search and probed again), and after two successes in a
    // row the bound itself (a tight bound is met by the packing found there), then bisection between the two.
    let mode: 'descend' | 'bound' | 'bisect' = 'descend';
    let successes = 0;
    const units = Math.ceil(dpStates / DP_STATES_PER_UNIT);
    while (lo < hi && going()) {
      let C: number;
      if (sums) {
        const kHi = lowerIndex(sums, hi) - 1;
        const kLo = lowerIndex(sums, lo);
        if (kHi < kLo) { raise(hi, 'bound:loads'); break; }
        C = sums[mode === 'descend' ? kHi : mode === 'bound' ? kLo : kLo + ((kHi - kLo) >> 1)]!;
      } else C = mode === 'descend' ? hi - 1 : mode === 'bound' ? lo : lo + Math.floor((hi - 1 - lo) / 2);
      if (mode === 'bound') mode = 'bisect';
      if (relaxedInfeasible(C)) {
        raise(Math.min(hi, sums ? sums[lowerIndex(sums, C + 1)] ?? hi : C + 1), 'dp');
        continue;
      }
      // A probe that cannot finish within the effort left is not started (it would prove nothing).
      if (effort && effort.remaining < units) break;
      const r = classMinBins(classes, C, { spend: (k: number) => meter.spend(Math.ceil(k / DP_STATES_PER_UNIT)) });
      nodes += dpStates;
      if (r === 'stopped') break;
      if (r.bins > m) {
        // Infeasible at C, so below C too: the bound rises to the next achievable load.
        raise(Math.min(hi, sums ? sums[lowerIndex(sums, C + 1)] ?? hi : C + 1), 'dp');
        continue;
      }
      const out = new Int32Array(n);
      const next = new Int32Array(T);
      r.packing.forEach((bin, d) => {
        for (let t = 0; t < T; t++) for (let x = 0; x < bin[t]!; x++) out[typeItems[t]![next[t]!++]!] = d;
      });
      best = out;
      hi = intMakespan(out);
      if (mode === 'descend' && ++successes >= 2) mode = 'bound';
      // The DP's packing only fits C; local search on it often reaches a lower load, sparing bisection probes.
      if (lo < hi && (!effort || effort.remaining > 4 * units)) {
        const a = localSearch(inst, out, deadline, { maxKicks: 0, stopAt: lo / scale / speed, ...(effort ? { effort: effort.child(units) } : {}) });
        const v = intMakespan(a);
        if (v < hi) {
          best = a;
          hi = v;
        }
      }
    }
    return finish();
  }
  // Bin completion pays O(types) per node and per failure-cache key: with more distinct costs than this it cannot
  // finish a probe on time (nor keep its cache in memory), so the bounds above are the answer.
  if (T > BIN_COMPLETION_MAX_TYPES) return finish();

  const probe = (C: number, probeDeadline: number, pe?: Effort): Int32Array | null | 'timeout' => binCompletion(C, probeDeadline, pe);
  // Failure-cache keys: one character per count while every count (and the bins left) fits in one UTF-16 unit;
  // otherwise the counts written out (a count above 0xFFFF would alias another).
  const wideKeys = n > 0xffff || m > 0xffff;
  // Characters held by the cache's keys, capped when keys are long (many types): 2^26 (≤ 128 MiB).
  let memoChars = 0;
  const memoRoom = (key: string): boolean => {
    if (T <= 256 || memo.has(key)) return true;
    if (memoChars + key.length > MEMO_MAX_CHARS) return false;
    memoChars += key.length;
    return true;
  };

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
      const key = wideKeys ? `${binsLeft}:${counts.join(',')}` : String.fromCharCode(binsLeft, ...counts);
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
      if (!found && (memo.size < 2_000_000 || memo.has(key)) && memoRoom(key)) memo.set(key, Math.max(C, memo.get(key) ?? -1));
      return found;
    };

    try {
      if (!fill(m, slack)) return null;
    } catch (e) {
      // A stack overflow (recursion ~ devices × item types deep) ends the probe like the clock: no proof either way.
      if (e instanceof Timeout || e instanceof RangeError) return 'timeout';
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
  if (!fewTypes && lo < hi && going()) {
    const r = effort ? probe(lo, Infinity, effort.share(0.15)) : probe(lo, performance.now() + (deadline - performance.now()) * 0.15);
    if (r !== 'timeout' && r !== null) {
      best = r;
      hi = intMakespan(r);
    } else if (r === null) raise(lo + 1, 'search');
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
      // Infeasible at C ⇒ infeasible below C: the bound rises to the next achievable load.
      raise(sums ? Math.min(hi, sums[lowerIndex(sums, C + 1)] ?? hi) : C + 1, 'search');
      delta = Math.max(1, Math.floor(delta / 2));
      continue;
    }
    best = r;
    hi = intMakespan(r);
    delta *= 2;
  }
  return finish();
};
