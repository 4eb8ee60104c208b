/**
 * Lower bounds for a normalised layer: core's bounds (mean, largest items, pigeonhole, equal counts, groups) plus the
 * bin-packing bound (Martello–Toth L2: the smallest capacity C for which L2(C) ≤ m), pinned loads and the
 * time-matrix bound. Every solver's gap is measured against `instanceLowerBound`; the exact search raises it further
 * when it proves a capacity infeasible.
 */
import { layerLowerBound } from '@hplb/core';
import type { Instance } from './problem.ts';

/** Martello–Toth L2 for bin packing: a lower bound on the number of bins of capacity C the items need. */
export const binsNeededL2 = (desc: ReadonlyArray<number>, C: number): number => {
  // desc: costs sorted non-increasing.
  if (desc.length === 0) return 0;
  if (desc[0]! > C) return Infinity;
  // Candidate K values: 0 and every distinct item ≤ C/2.
  let best = 0;
  const ks: number[] = [0];
  for (const v of desc) if (v <= C / 2 && v !== ks[ks.length - 1]) ks.push(v);
  for (const K of ks) {
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
    const room = j2 * C - s2;
    const extra = Math.max(0, Math.ceil((s3 - room) / C - 1e-12));
    best = Math.max(best, j1 + j2 + extra);
  }
  return best;
};

/** Smallest C in [lo, hi] (integers, identical devices) with L2(C) ≤ m; lo when already satisfied. */
export const binPackingBound = (desc: ReadonlyArray<number>, m: number, lo: number, hi: number): number => {
  let a = Math.ceil(lo);
  let b = Math.max(a, Math.ceil(hi));
  if (binsNeededL2(desc, a) <= m) return a;
  while (a < b) {
    const mid = a + Math.floor((b - a) / 2);
    if (binsNeededL2(desc, mid) <= m) b = mid;
    else a = mid + 1;
  }
  return a;
};

const allIntegers = (xs: ReadonlyArray<number>) => xs.every((x) => Number.isInteger(x));

/**
 * The best lower bound we know for the instance, in load units. `ub` (a known makespan) limits the bin-packing
 * search; pass Infinity when none is known.
 */
export const instanceLowerBound = (inst: Instance, ub = Infinity): number => {
  const { n, m, time, kind, cost, speeds, pinned } = inst;
  let lb = 0;
  if (n === 0) return 0;
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
  } else {
    lb = layerLowerBound(cost, { devices: speeds, equalHeadsPerDevice: false });
    if (inst.quota !== undefined && kind === 'identical') {
      // Equal counts in items (all items weigh the same under a quota).
      const c = n / m;
      const asc = [...cost].sort((a, b) => a - b);
      let small = 0;
      for (let i = 0; i < c - 1; i++) small += asc[i]!;
      lb = Math.max(lb, (asc[n - 1]! + small) / speeds[0]!);
      // The c largest items can be on c different devices at best... and the smallest device holds c items.
    }
    // Integer costs on identical devices: every makespan is an integer (in cost units), so round the bound up.
    if (kind === 'identical' && allIntegers(cost)) lb = Math.max(lb, Math.ceil(lb * speeds[0]! - 1e-9 * Math.max(1, lb * speeds[0]!)) / speeds[0]!);
    if (kind === 'identical' && allIntegers(cost) && Number.isFinite(ub)) {
      const desc = [...cost].sort((a, b) => b - a);
      const s = speeds[0]!;
      const hiInt = Math.ceil(ub * s);
      if (hiInt > Math.ceil(lb * s)) lb = Math.max(lb, binPackingBound(desc, m, Math.ceil(lb * s - 1e-9), hiInt) / s);
    }
  }
  // No extra KV copies allowed: every KV group is atomic, so the bounds hold over group sums too.
  if (inst.kv && inst.kv.maxExtra === 0 && kind !== 'matrix') {
    const sums = Array<number>(inst.kv.groups).fill(0);
    for (let i = 0; i < n; i++) sums[inst.kv.kvOf[i]!]! += cost[i]!;
    lb = Math.max(lb, layerLowerBound(sums, { devices: speeds }));
  }
  // Pinned items alone.
  const pinLoad = new Float64Array(m);
  for (let i = 0; i < n; i++) if (pinned[i]! >= 0) pinLoad[pinned[i]!]! += time[i * m + pinned[i]!]!;
  for (let d = 0; d < m; d++) lb = Math.max(lb, pinLoad[d]!);
  return lb;
};
