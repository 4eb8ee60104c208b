/**
 * The configuration (pattern) ILP for layers whose heads fall into few cost classes (a 128k MInference layer has
 * 5–6 budget classes): the aggregated assignment model's LP bound is weak, so proving optimality there can take
 * seconds; the configuration model's LP bound is nearly tight (Gilmore–Gomory).
 *
 * A pattern is a count vector c (c_k heads of class k on one device) with load p·c ≤ U, U = the warm start's
 * integer makespan. For a candidate makespan T, feasibility is the ILP
 *   find w  s.t.  Σ_j c_jk·w_j = n_k  ∀k,   Σ_j w_j ≤ m,   w_j ∈ Z≥0  (patterns with load ≤ T only),
 * and the optimum T* is the smallest feasible candidate load, found by bisection over the distinct pattern loads
 * (starting at our own lower bound, so a plan that meets it needs no engine proof at all). Used by `index.ts`
 * on identical devices without pins, KV bookkeeping or a previous placement. Same integer costs as `model.ts`.
 */
import { BOUND, type LinearModel, type LinearRow } from './model.ts';

export interface PatternSet {
  /** patterns[j][k]: heads of class k in pattern j (the empty pattern excluded). */
  readonly patterns: ReadonlyArray<ReadonlyArray<number>>;
  /** Integer load of each pattern. */
  readonly loads: ReadonlyArray<number>;
}

/**
 * All patterns with load ≤ upper (and exactly `perDevice` heads when given). null when there are more than `cap`
 * (the assignment model is used then).
 */
export const enumeratePatterns = (
  counts: ReadonlyArray<number>,
  costs: ReadonlyArray<number>,
  sizes: ReadonlyArray<number>,
  upper: number,
  perDevice: number | null,
  cap = 20_000,
): PatternSet | null => {
  const K = counts.length;
  const patterns: number[][] = [];
  const loads: number[] = [];
  const c = Array<number>(K).fill(0);
  let overflow = false;
  const rec = (k: number, load: number, heads: number) => {
    if (overflow) return;
    if (k === K) {
      if (heads === 0) return;
      if (perDevice !== null && heads !== perDevice) return;
      patterns.push([...c]);
      loads.push(load);
      if (patterns.length > cap) overflow = true;
      return;
    }
    for (let v = 0; v <= counts[k]!; v++) {
      const l = load + v * costs[k]!;
      const h = heads + v * sizes[k]!;
      if (l > upper || (perDevice !== null && h > perDevice)) break;
      c[k] = v;
      rec(k + 1, l, h);
    }
    c[k] = 0;
  };
  rec(0, 0, 0);
  return overflow ? null : { patterns, loads };
};

const w = (j: number) => `w_${j}`;

/** The feasibility ILP for candidate makespan T (patterns with load ≤ T), or null when no pattern qualifies. */
export const feasibilityModel = (set: PatternSet, counts: ReadonlyArray<number>, devices: number, T: number, name: string): { model: LinearModel; used: number[] } | null => {
  const used: number[] = [];
  set.loads.forEach((l, j) => {
    if (l <= T) used.push(j);
  });
  if (used.length === 0) return null;
  const rows: LinearRow[] = counts.map((nk, k) => ({
    name: `n_${k}`,
    vars: used.filter((j) => set.patterns[j]![k]! > 0).map((j) => ({ name: w(j), coef: set.patterns[j]![k]! })),
    type: BOUND.fx,
    lb: nk,
    ub: nk,
  }));
  if (rows.some((r) => r.vars.length === 0 && r.lb > 0)) return null;
  rows.push({ name: 'm', vars: used.map((j) => ({ name: w(j), coef: 1 })), type: BOUND.up, lb: 0, ub: devices });
  const model: LinearModel = {
    name,
    // Pure feasibility (zero objective): the first integer solution ends the search. Minimising Σ w instead made
    // HiGHS spend seconds proving a device count that does not matter here.
    objective: [{ name: w(used[0]!), coef: 0 }],
    rows: rows.filter((r) => r.vars.length > 0),
    bounds: used.map((j) => ({ name: w(j), lb: 0, ub: devices })),
    binaries: [],
    generals: used.map(w),
  };
  return { model, used };
};

/** Device-by-device pattern list from an engine's answer (null when counts do not add up). */
export const decodePatterns = (set: PatternSet, used: ReadonlyArray<number>, values: ReadonlyMap<string, number>, counts: ReadonlyArray<number>, devices: number): number[][] | null => {
  const perDevice: number[][] = [];
  for (const j of used) {
    const times = Math.round(values.get(w(j)) ?? 0);
    for (let t = 0; t < times; t++) perDevice.push([...set.patterns[j]!]);
  }
  if (perDevice.length > devices) return null;
  while (perDevice.length < devices) perDevice.push(Array<number>(counts.length).fill(0));
  for (let k = 0; k < counts.length; k++) if (perDevice.reduce((a, c) => a + c[k]!, 0) !== counts[k]) return null;
  return perDevice;
};

/**
 * Primal heuristic for the feasibility ILP: a depth-first search for m patterns (non-decreasing pattern order, so
 * device permutations are not revisited) with load ≤ T that use exactly the class counts, heaviest patterns first.
 * Returns the device patterns, or null when none was found within `nodeLimit` nodes (the ILP decides then). It never
 * proves infeasibility: that stays with the engine.
 */
export const searchPacking = (set: PatternSet, counts: ReadonlyArray<number>, costs: ReadonlyArray<number>, devices: number, T: number, nodeLimit = 50_000): number[][] | null => {
  const K = counts.length;
  const order = set.loads.map((l, j) => j).filter((j) => set.loads[j]! <= T).sort((a, b) => set.loads[b]! - set.loads[a]! || a - b);
  const rem = [...counts];
  let remLoad = counts.reduce((a, c, k) => a + c * costs[k]!, 0);
  const chosen: number[] = [];
  let nodes = 0;
  const rec = (dev: number, from: number): boolean => {
    if (rem.every((r) => r === 0)) return true;
    if (dev === devices || remLoad > (devices - dev) * T || ++nodes > nodeLimit) return false;
    for (let q = from; q < order.length; q++) {
      const j = order[q]!;
      const pat = set.patterns[j]!;
      let fits = true;
      for (let k = 0; k < K; k++) if (pat[k]! > rem[k]!) { fits = false; break; }
      if (!fits) continue;
      for (let k = 0; k < K; k++) rem[k]! -= pat[k]!;
      remLoad -= set.loads[j]!;
      chosen.push(j);
      if (rec(dev + 1, q)) return true;
      chosen.pop();
      remLoad += set.loads[j]!;
      for (let k = 0; k < K; k++) rem[k]! += pat[k]!;
      if (nodes > nodeLimit) return false;
    }
    return false;
  };
  if (!rec(0, 0)) return null;
  const perDevice = chosen.map((j) => [...set.patterns[j]!]);
  while (perDevice.length < devices) perDevice.push(Array<number>(K).fill(0));
  return perDevice;
};
