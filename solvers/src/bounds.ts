/**
 * Lower bounds for a normalised layer, the one public entry (the pure bound functions live in `./bounds/`): core's
 * bounds (mean, largest items, pigeonhole, equal counts, groups), Dell'Amico–Martello L0/L1, the Martello–Toth L2
 * and L3 bin-packing bounds lifted to a makespan bound (the smallest C with L2(C) ≤ m, over the achievable loads when the
 * layer has few cost classes), pinned loads and the time-matrix bound. Every solver's gap is measured against
 * `instanceLowerBound`; `instanceBound` also says which bound gave the value (a layer whose makespan meets it is
 * proven by that bound); the exact search raises it further when it proves a capacity infeasible.
 * With a `Deadline`: the mean / largest item bound (O(n)) always, the rest until the deadline passes (then the best
 * proven so far, not cached).
 */
import { layerLowerBound, trivialBound } from '@hplb/core';
import type { Instance } from './problem.ts';
import type { Deadline } from './deadline.ts';
import { binsNeededL2, binsNeededL3, l2Bins } from './bounds/l2.ts';
import { dellAmicoL0, dellAmicoL1, equalCountBound } from './bounds/dellAmico.ts';
import { liftCapacity, liftOverSums } from './bounds/lift.ts';
import { achievableSums, classesOf } from './bounds/classes.ts';

export { binsNeededL2 };

/** Smallest C in [lo, hi] (integers, identical devices) that L2 does not prove infeasible (L2(C) ≤ m). */
export const binPackingBound = (desc: ReadonlyArray<number>, m: number, lo: number, hi: number): number =>
  liftCapacity(l2Bins(desc), m, lo, hi);

const allIntegers = (xs: ReadonlyArray<number>) => xs.every((x) => Number.isInteger(x));

/** Which bound gave a layer's lower bound (a layer whose makespan meets it is proven optimal by it). */
export type BoundProof =
  | 'bound:L0' | 'bound:L1' | 'bound:L2' | 'bound:L3' | 'bound:loads' | 'bound:equal-counts' | 'bound:groups' | 'bound:pinned' | 'bound:matrix';

export interface ProvenBound {
  readonly value: number;
  readonly proof: BoundProof;
}

/** The best lower bound we know for the instance (`instanceBound`'s value). */
export const instanceLowerBound = (inst: Instance, ub = Infinity, clock?: Deadline): number => instanceBound(inst, ub, clock).value;

/**
 * The best lower bound we know for the instance, in load units, and the bound that gave it. `ub` (a known makespan)
 * limits the lifting searches; pass Infinity when none is known. `clock`: stop the slower bounds once it has passed.
 */
export const instanceBound = (inst: Instance, ub = Infinity, clock?: Deadline): ProvenBound => {
  // A large layer is not cached: its key alone is linear work, and it is not one of the small per-layer instances
  // that come back.
  if (inst.n > BOUND_CACHE_MAX_ITEMS) return computeInstanceBound(inst, ub, clock);
  const key = boundKey(inst, ub);
  const hit = boundCache.get(key);
  if (hit !== undefined) {
    boundCache.delete(key);
    boundCache.set(key, hit);
    return hit;
  }
  const b = computeInstanceBound(inst, ub, clock);
  // A bound cut short by the deadline is valid but weaker than the pure function's value: never remembered.
  if (clock?.hit) return b;
  boundCache.set(key, b);
  if (boundCache.size > BOUND_CACHE_MAX) boundCache.delete(boundCache.keys().next().value!);
  return b;
};

/**
 * Bounds already computed, by everything `computeInstanceBound` reads (least recently used dropped first). The bound
 * is a pure function of the instance and `ub`, and the same layer instance comes back: every pipeline row of a plan
 * table re-solves the same per-layer budgets, the plan assembly re-bounds each layer, and a solver asks again at the
 * same makespan (e.g. hplb's portfolio returning the LPT plan the LPT row already bounded).
 */
const BOUND_CACHE_MAX = 2048;
const BOUND_CACHE_MAX_ITEMS = 4096;
/**
 * Core's `layerLowerBound` (mean, largest, pigeonhole) is O((n/m)²); above this many items per device the same
 * bounds come from `dellAmicoL1` (which skips the windows that cannot raise it) and core's O(n log n) `trivialBound`.
 */
const CORE_BOUND_MAX_PER_DEVICE = 1024;
const boundCache = new Map<string, ProvenBound>();

const boundKey = (inst: Instance, ub: number): string => {
  const { n, m, kind, cost, speeds, pinned, quota, weight, kv } = inst;
  let pins = false;
  for (let i = 0; i < n; i++) if (pinned[i]! >= 0) { pins = true; break; }
  // The time matrix is read only for matrix instances and pinned items.
  const time = kind === 'matrix' || pins ? inst.time.join(',') : '';
  const kvPart = kv ? `${kv.maxExtra};${kv.groups};${kv.kvOf.join(',')}` : '-';
  return `${n}|${m}|${kind}|${ub}|${quota}|${cost.join(',')}|${speeds.join(',')}|${weight.join(',')}|${pins ? pinned.join(',') : ''}|${kvPart}|${time}`;
};

/**
 * The instance's costs sorted non-increasing, computed once per instance (a typed-array sort: the same values as a
 * comparator sort, several times faster on a large layer). Read-only: shared by every bound call on the instance.
 */
export const descendingCosts = (inst: Instance): ReadonlyArray<number> => {
  let desc = descCache.get(inst);
  if (desc === undefined) {
    const asc = Float64Array.from(inst.cost).sort();
    const n = asc.length;
    const out = Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = asc[n - 1 - i]!;
    desc = out;
    descCache.set(inst, desc);
  }
  return desc;
};
const descCache = new WeakMap<Instance, ReadonlyArray<number>>();

/** The costs with the largest first, the rest in their order (all `dellAmicoL0` reads: the sum and the largest). */
const largestFirst = (cost: ReadonlyArray<number>): number[] => {
  let k = 0;
  for (let i = 1; i < cost.length; i++) if (cost[i]! > cost[k]!) k = i;
  const out = [...cost];
  [out[0], out[k]] = [out[k]!, out[0]!];
  return out;
};

/** How many distinct costs the instance has (from the sorted costs). */
export const distinctCosts = (inst: Instance): number => {
  const desc = descendingCosts(inst);
  let k = 0;
  for (let i = 0; i < desc.length; i++) if (i === 0 || desc[i] !== desc[i - 1]) k++;
  return k;
};

const computeInstanceBound = (inst: Instance, ub: number, clock?: Deadline): ProvenBound => {
  const { n, m, time, kind, cost, speeds, pinned } = inst;
  let lb = 0;
  let proof: BoundProof = 'bound:L0';
  const raise = (v: number, by: BoundProof) => {
    if (v > lb) {
      lb = v;
      proof = by;
    }
  };
  if (n === 0) return { value: 0, proof };
  if (kind === 'matrix') {
    let sumMin = 0;
    for (let i = 0; i < n; i++) {
      let mn = Infinity;
      for (let d = 0; d < m; d++) mn = Math.min(mn, time[i * m + d]!);
      sumMin += mn;
      lb = Math.max(lb, mn);
    }
    lb = Math.max(lb, sumMin / m);
    // Relative efficiency: device d needs at least t*_i / r_d for item i, with r_d = max_i t*_i / t_id ≤ 1, so
    // Σ t*_i ≤ Σ_d r_d · load_d ≤ T · Σ_d r_d (exact for uniform speeds: Σ c / Σ s).
    const best = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let mn = Infinity;
      for (let d = 0; d < m; d++) mn = Math.min(mn, time[i * m + d]!);
      best[i] = mn;
    }
    let rSum = 0;
    for (let d = 0; d < m; d++) {
      let r = 0;
      for (let i = 0; i < n; i++) {
        const t = time[i * m + d]!;
        r = Math.max(r, t > 0 ? best[i]! / t : 1);
      }
      rSum += r;
    }
    if (rSum > 0) lb = Math.max(lb, sumMin / rSum);
    proof = 'bound:matrix';
  } else if (kind !== 'identical') {
    // Core sorts the costs; given them sorted (computed once per instance), that sort is linear.
    lb = layerLowerBound(descendingCosts(inst), { devices: speeds, equalHeadsPerDevice: false });
  } else if (clock?.passed() && !descCache.has(inst)) {
    // Past the deadline and never sorted: the mean / largest item bound in one pass (no sort).
    raise(dellAmicoL0(largestFirst(cost), m) / speeds[0]!, 'bound:L0');
  } else {
    // Identical devices: work in cost units (load = cost / s), divide at the end.
    const s = speeds[0]!;
    const desc = descendingCosts(inst);
    const integral = allIntegers(cost) && desc.reduce((x, y) => x + y, 0) < 2 ** 52;
    let c = 0;
    let by: BoundProof = 'bound:L0';
    const up = (v: number, p: BoundProof) => {
      if (v > c) {
        c = v;
        by = p;
      }
    };
    up(dellAmicoL0(desc, m), 'bound:L0');
    up(dellAmicoL1(desc, m, clock), 'bound:L1');
    if (n <= CORE_BOUND_MAX_PER_DEVICE * m) up(layerLowerBound(desc, { devices: m }), 'bound:L1');
    if (inst.quota !== undefined && inst.weight.every((w) => w === inst.weight[0])) up(equalCountBound(desc, m), 'bound:equal-counts');
    // Integer costs: every makespan is an integer (in cost units), so round the bound up.
    if (integral) c = Math.max(c, Math.ceil(c - 1e-9 * Math.max(1, c)));
    // The lifts (and the achievable loads they run over) stop at the deadline: past it, not started.
    if (integral && Number.isFinite(ub) && !clock?.passed()) {
      const hi = Math.ceil(ub * s);
      // Few classes (real budgets): every makespan is an achievable load, so round up to one, then lift L2 over them.
      const classes = classesOf(desc);
      const loads = classes.vals.length * 2 <= n ? achievableSums(classes, c, hi) : null;
      if (loads && loads.length > 0) up(loads[0]!, 'bound:loads');
      if (inst.quota === undefined && hi > c) {
        const l2 = l2Bins(desc, clock);
        up(loads ? liftOverSums(l2, m, loads, c, hi, clock) : liftCapacity(l2, m, c, hi, clock), 'bound:L2');
        // L3 (L2 after fixing dominant bins) can only add; it starts where L2 stopped.
        if (hi > c) {
          const l3 = (C: number) => binsNeededL3(desc, C, clock);
          up(loads ? liftOverSums(l3, m, loads, c, hi, clock) : liftCapacity(l3, m, c, hi, clock), 'bound:L3');
        }
      }
    }
    raise(c / s, by);
  }
  // No extra KV copies allowed: every KV group is atomic, so the bounds hold over group sums too.
  if (inst.kv && inst.kv.maxExtra === 0 && kind !== 'matrix') {
    const sums = Array<number>(inst.kv.groups).fill(0);
    for (let i = 0; i < n; i++) sums[inst.kv.kvOf[i]!]! += cost[i]!;
    raise(sums.length <= CORE_BOUND_MAX_PER_DEVICE * m ? layerLowerBound(sums, { devices: speeds }) : trivialBound(sums, speeds), 'bound:groups');
  }
  // Pinned items alone.
  const pinLoad = new Float64Array(m);
  for (let i = 0; i < n; i++) if (pinned[i]! >= 0) pinLoad[pinned[i]!]! += time[i * m + pinned[i]!]!;
  for (let d = 0; d < m; d++) raise(pinLoad[d]!, 'bound:pinned');
  return { value: lb, proof };
};
