/**
 * Exact engine-layout placement of one layer at one context length, by dynamic programming over head classes.
 * Real profiles have few distinct budgets (MInference: 5-6 classes), so heads with the same (KV group, cost) are
 * interchangeable and a layer is a vector of class counts. Ranks are identical, so a placement is a multiset of
 * "rank patterns" (class counts on one rank: H/T heads, a multiple of c from each group). For a capacity C,
 *   feasible(state) = some pattern holding a head of the first remaining class, with load ≤ C, leaves a feasible state
 * (some rank must hold that head, so fixing it loses nothing and breaks the symmetry between ranks). Starting from
 * the local-search makespan, each feasible answer below it is a better placement; an infeasible one proves the
 * incumbent optimal. Bounded by a state cap and a deadline; used by `layer.ts` for single-length layers.
 */
import type { EngineGeometry } from './geometry.ts';

export interface ExactEngineResult {
  /** assignment[h] = rank, or undefined when nothing better than the incumbent exists. */
  readonly assignment?: number[];
  readonly makespan: number;
  /** True when the returned (or incumbent) makespan is proven optimal. */
  readonly proven: boolean;
}

interface Cls {
  readonly group: number;
  readonly cost: number;
  readonly heads: number[];
}

export const exactEngineLayer = (
  costs: ReadonlyArray<number>,
  geo: EngineGeometry,
  incumbent: number,
  deadline: number,
  stateCap = 60_000,
): ExactEngineResult => {
  const g = geo.groupSize;
  const c = geo.chunkSize;
  const per = geo.headsPerRank;
  const T = geo.tp;
  // Classes in group order (so the group constraint can be checked as soon as a group's classes are decided).
  const byKey = new Map<string, Cls>();
  costs.forEach((v, h) => {
    const grp = Math.floor(h / g);
    const key = c === 1 ? `${v}` : `${grp}/${v}`;
    const cl = byKey.get(key);
    if (cl) cl.heads.push(h);
    else byKey.set(key, { group: c === 1 ? 0 : grp, cost: v, heads: [h] });
  });
  const cls = [...byKey.values()].sort((a, b) => a.group - b.group || b.cost - a.cost);
  const n = cls.length;
  const lastOfGroup = cls.map((cl, i) => i === n - 1 || cls[i + 1]!.group !== cl.group);

  let states = 0;
  let aborted = false;
  const solve = (cap: number): number[][] | undefined => {
    const memo = new Map<string, number[] | null>();
    const rec = (state: number[]): boolean => {
      let first = -1;
      for (let i = 0; i < n; i++) if (state[i]! > 0) {
        first = i;
        break;
      }
      if (first < 0) return true;
      const key = state.join(',');
      const m = memo.get(key);
      if (m !== undefined) return m !== null;
      if (++states > stateCap || (states % 1024 === 0 && performance.now() > deadline)) {
        aborted = true;
        return false;
      }
      // Enumerate patterns x ≤ state with x[first] ≥ 1, Σx = per, per-group sums ≡ 0 (mod c), load ≤ cap.
      const x = Array<number>(n).fill(0);
      let found: number[] | null = null;
      const dfs = (i: number, count: number, load: number, groupSum: number): boolean => {
        if (aborted) return false;
        if (i === n) {
          if (count !== per) return false;
          for (let j = 0; j < n; j++) state[j]! -= x[j]!;
          const ok = rec(state);
          for (let j = 0; j < n; j++) state[j]! += x[j]!;
          if (ok) found = [...x];
          return ok;
        }
        const lo = i === first ? 1 : 0;
        const hi = i < first ? 0 : Math.min(state[i]!, per - count);
        for (let k = hi; k >= lo; k--) {
          const l2 = load + k * cls[i]!.cost;
          if (l2 > cap) continue;
          const gs = groupSum + k;
          if (lastOfGroup[i] && gs % c !== 0) continue;
          x[i] = k;
          if (dfs(i + 1, count + k, l2, lastOfGroup[i] ? 0 : gs)) return true;
        }
        x[i] = 0;
        return false;
      };
      dfs(0, 0, 0, 0);
      memo.set(key, found);
      return found !== null;
    };
    const start = cls.map((cl) => cl.heads.length);
    if (!rec(start)) return undefined;
    // Reconstruct the T patterns.
    const pats: number[][] = [];
    const state = [...start];
    while (state.some((v) => v > 0)) {
      const p = memo.get(state.join(','))!;
      pats.push(p);
      for (let j = 0; j < n; j++) state[j]! -= p[j]!;
    }
    return pats;
  };

  let best = incumbent;
  let bestAssign: number[] | undefined;
  const eps = 1e-9 * Math.max(1, incumbent);
  for (;;) {
    const pats = solve(best - eps);
    if (aborted) return { ...(bestAssign ? { assignment: bestAssign } : {}), makespan: best, proven: false };
    if (!pats) return { ...(bestAssign ? { assignment: bestAssign } : {}), makespan: best, proven: true };
    if (pats.length !== T) return { ...(bestAssign ? { assignment: bestAssign } : {}), makespan: best, proven: false };
    const assign = Array<number>(costs.length).fill(-1);
    const next = cls.map(() => 0);
    let mk = 0;
    pats.forEach((p, d) => {
      let load = 0;
      p.forEach((k, i) => {
        for (let q = 0; q < k; q++) assign[cls[i]!.heads[next[i]!++]!] = d;
        load += k * cls[i]!.cost;
      });
      mk = Math.max(mk, load);
    });
    best = mk;
    bestAssign = assign;
  }
};
