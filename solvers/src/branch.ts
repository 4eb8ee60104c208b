/**
 * Exact branch and bound for small layers under any constraint set (mixed speeds, time matrices, pinned heads, KV
 * memory / replication caps, copy costs), where the capacity search of `exact.ts` does not apply. Items are placed
 * largest first; a device is skipped when an interchangeable device (same time column, no pins or KV terms) with the
 * same load was already tried; a branch is cut when its load, or the best case for the items left
 * (Σ load + Σ remaining min times over the devices), cannot beat the incumbent. Anytime: returns the best plan and
 * whether the search finished (a proof) before `deadline` (with an `Effort`: before its units, one per node, ran out;
 * the deadline is then only the safety net). Used by the registry for layers up to `BRANCH_MAX_ITEMS`.
 */
import { LoadState, type Instance } from './problem.ts';
import type { Effort } from './effort.ts';

export const BRANCH_MAX_ITEMS = 24;

export interface BranchResult {
  readonly assign: Int32Array | null;
  readonly makespan: number;
  readonly complete: boolean;
}

export const branchAndBound = (inst: Instance, start: ArrayLike<number>, lowerBound: number, deadline: number, effort?: Effort): BranchResult => {
  const { n, m, time, pinned, kv } = inst;
  const init = new LoadState(inst, start);
  let best = init.feasible() ? init.makespan() : Infinity;
  let bestAssign: Int32Array | null = null;
  const minTime = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let mn = Infinity;
    for (let d = 0; d < m; d++) mn = Math.min(mn, time[i * m + d]!);
    minTime[i] = mn;
  }
  // With KV copy costs, a group's home item goes first: loads then only grow along a branch (sound pruning).
  const isHome = new Uint8Array(n);
  if (kv && kv.hasCopyCost) for (let g = 0; g < kv.groups; g++) if (kv.homeItem[g]! >= 0) isHome[kv.homeItem[g]!] = 1;
  const order = [...Array(n).keys()].sort((a, b) =>
    (pinned[b]! >= 0 ? 1 : 0) - (pinned[a]! >= 0 ? 1 : 0) || isHome[b]! - isHome[a]! || minTime[b]! - minTime[a]! || a - b);
  const restMin = new Float64Array(n + 1);
  for (let k = n - 1; k >= 0; k--) restMin[k] = restMin[k + 1]! + minTime[order[k]!]!;
  // Device classes: devices with identical time columns are interchangeable (when nothing else tells them apart).
  const cls = new Int32Array(m);
  for (let d = 0; d < m; d++) {
    cls[d] = d;
    for (let e = 0; e < d; e++) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = time[i * m + d] === time[i * m + e];
      if (same && !(kv && kv.hasCopyCost && kv.copyCost[d] !== kv.copyCost[e]) && (!kv || kv.cap[d] === kv.cap[e])) { cls[d] = cls[e]!; break; }
    }
  }
  const symmetric = pinned.every((x) => x < 0) && !kv;
  const st = new LoadState(inst, new Int32Array(n).fill(-1));
  let nodes = 0;
  let aborted = false;
  const eps = (x: number) => x * (1 - 1e-12);
  const rec = (k: number): void => {
    if (aborted) return;
    if (effort ? (++nodes & 63) === 0 && !effort.spend(64) : (++nodes & 1023) === 0 && performance.now() > deadline) {
      aborted = true;
      return;
    }
    if (k === n) {
      if (!st.feasible()) return;
      const mk = st.makespan();
      if (mk < eps(best)) {
        best = mk;
        bestAssign = Int32Array.from(st.assign);
      }
      return;
    }
    let sum = 0;
    let cur = 0;
    for (let d = 0; d < m; d++) {
      sum += st.load[d]!;
      cur = Math.max(cur, st.load[d]!);
    }
    if (Math.max(cur, (sum + restMin[k]!) / m) >= eps(best)) return;
    const i = order[k]!;
    const tried: Array<[number, number]> = [];
    for (let d = 0; d < m; d++) {
      if (!st.canHost(i, d)) continue;
      if (symmetric && tried.some(([c, l]) => c === cls[d] && l === st.load[d])) continue;
      tried.push([cls[d]!, st.load[d]!]);
      st.place(i, d);
      if (st.load[d]! < eps(best)) rec(k + 1);
      st.unplace(i);
      if (best <= lowerBound * (1 + 1e-12)) return; // met the bound: nothing can beat it
    }
  };
  rec(0);
  return { assign: bestAssign, makespan: best, complete: !aborted };
};
