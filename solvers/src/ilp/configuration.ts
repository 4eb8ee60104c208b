/**
 * The configuration (pattern) ILP for layers whose heads fall into few cost classes (a 128k MInference layer has
 * 5–6 budget classes): the aggregated assignment model's LP bound is weak, so proving optimality there can take
 * seconds; the configuration model's LP bound is nearly tight (Gilmore–Gomory).
 *
 * A pattern is a count vector c (c_k heads of class k on one device) with load p·c ≤ U, U = the warm start's
 * integer makespan. For a candidate makespan T, feasibility is the ILP
 *   find w  s.t.  Σ_j c_jk·w_j = n_k  ∀k,   Σ_j w_j ≤ m,   w_j ∈ Z≥0  (patterns with load ≤ T only),
 * and the optimum T* is the smallest feasible candidate load, found by bisection over the distinct pattern loads
 * (starting at our own lower bound, so a plan that meets it needs no engine proof at all). With mixed speeds,
 * patterns are enumerated per speed class (its own integer costs) and `Σ_j w_j ≤ m` holds per class. Used by
 * `index.ts` without pins, KV bookkeeping, a time matrix or a previous placement. Same integer costs as `model.ts`.
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
  kv?: { readonly groupOf: ReadonlyArray<number>; readonly maxGroups: number },
): PatternSet | null => {
  const K = counts.length;
  const patterns: number[][] = [];
  const loads: number[] = [];
  const c = Array<number>(K).fill(0);
  let overflow = false;
  // KV memory: classes of one KV group share a copy; a pattern holds at most `maxGroups` distinct groups.
  const inGroup = new Map<number, number>();
  let distinct = 0;
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
    let joined = false;
    for (let v = 0; v <= counts[k]!; v++) {
      const l = load + v * costs[k]!;
      const h = heads + v * sizes[k]!;
      if (l > upper || (perDevice !== null && h > perDevice)) break;
      if (kv && v === 1) {
        // The first head of class k on this device: its KV group needs a copy here unless one is already counted.
        const g = kv.groupOf[k]!;
        const had = inGroup.get(g) ?? 0;
        if (had === 0 && distinct + 1 > kv.maxGroups) break;
        if (had === 0) distinct++;
        inGroup.set(g, had + 1);
        joined = true;
      }
      c[k] = v;
      rec(k + 1, l, h);
    }
    if (joined) {
      const g = kv!.groupOf[k]!;
      const now = inGroup.get(g)! - 1;
      inGroup.set(g, now);
      if (now === 0) distinct--;
    }
    c[k] = 0;
  };
  rec(0, 0, 0);
  return overflow ? null : { patterns, loads };
};

/** Devices of one speed: how many, and their patterns (integer costs at that speed). */
export interface DeviceClass {
  readonly devices: number;
  readonly set: PatternSet;
}

const w = (v: number, j: number) => `w_${v}_${j}`;

/**
 * The feasibility ILP for candidate makespan T over device classes (patterns with load ≤ T only), or null when
 * some class count cannot be met at all. `used[v]` lists the pattern indices of class v in the model.
 */
export const feasibilityModel = (
  classes: ReadonlyArray<DeviceClass>, counts: ReadonlyArray<number>, T: number, name: string,
  copies?: { readonly perPattern: ReadonlyArray<ReadonlyArray<number>>; readonly max: number },
): { model: LinearModel; used: number[][] } | null => {
  const used = classes.map((cl) => cl.set.loads.flatMap((l, j) => (l <= T ? [j] : [])));
  const all = used.flatMap((js, v) => js.map((j) => ({ v, j })));
  if (all.length === 0) return null;
  const rows: LinearRow[] = counts.map((nk, k) => ({
    name: `n_${k}`,
    vars: all.filter(({ v, j }) => classes[v]!.set.patterns[j]![k]! > 0).map(({ v, j }) => ({ name: w(v, j), coef: classes[v]!.set.patterns[j]![k]! })),
    type: BOUND.fx,
    lb: nk,
    ub: nk,
  }));
  if (rows.some((r) => r.vars.length === 0 && r.lb > 0)) return null;
  classes.forEach((cl, v) => {
    if (used[v]!.length > 0) rows.push({ name: `m_${v}`, vars: used[v]!.map((j) => ({ name: w(v, j), coef: 1 })), type: BOUND.up, lb: 0, ub: cl.devices });
  });
  // KV replication cap: every pattern holds one copy per distinct KV group; Σ copies ≤ groups + extra copies allowed.
  if (copies) rows.push({ name: 'r_cap', vars: all.map(({ v, j }) => ({ name: w(v, j), coef: copies.perPattern[v]![j]! })).filter((x) => x.coef > 0), type: BOUND.up, lb: 0, ub: copies.max });
  const model: LinearModel = {
    name,
    // Pure feasibility (zero objective): the first integer solution ends the search. Minimising Σ w instead made
    // HiGHS spend seconds proving a device count that does not matter here.
    objective: [{ name: w(all[0]!.v, all[0]!.j), coef: 0 }],
    rows: rows.filter((r) => r.vars.length > 0),
    bounds: all.map(({ v, j }) => ({ name: w(v, j), lb: 0, ub: classes[v]!.devices })),
    binaries: [],
    generals: all.map(({ v, j }) => w(v, j)),
  };
  return { model, used };
};

/** Per class, the device-by-device pattern list from an engine's answer (null when counts do not add up). */
export const decodePatterns = (classes: ReadonlyArray<DeviceClass>, used: ReadonlyArray<ReadonlyArray<number>>, values: ReadonlyMap<string, number>, counts: ReadonlyArray<number>): number[][][] | null => {
  const out: number[][][] = [];
  const total = Array<number>(counts.length).fill(0);
  for (let v = 0; v < classes.length; v++) {
    const per: number[][] = [];
    for (const j of used[v] ?? []) {
      const times = Math.round(values.get(w(v, j)) ?? 0);
      for (let t = 0; t < times; t++) per.push([...classes[v]!.set.patterns[j]!]);
    }
    if (per.length > classes[v]!.devices) return null;
    while (per.length < classes[v]!.devices) per.push(Array<number>(counts.length).fill(0));
    per.forEach((c) => c.forEach((x, k) => (total[k]! += x)));
    out.push(per);
  }
  return total.every((t, k) => t === counts[k]) ? out : null;
};

/**
 * Primal heuristic for the feasibility ILP: a depth-first search that gives every device a pattern of its class
 * with load ≤ T (non-decreasing pattern order within a class, so permutations of identical devices are not
 * revisited), using exactly the class counts, heaviest patterns first. Returns per class the device patterns, or
 * null when none was found within `nodeLimit` nodes (the ILP decides then). It never proves infeasibility.
 */
export const searchPacking = (classes: ReadonlyArray<DeviceClass>, counts: ReadonlyArray<number>, T: number, nodeLimit = 50_000): number[][][] | null => {
  const K = counts.length;
  const orders = classes.map((cl) => cl.set.loads.map((_, j) => j).filter((j) => cl.set.loads[j]! <= T).sort((a, b) => cl.set.loads[b]! - cl.set.loads[a]! || a - b));
  const slots: number[] = classes.flatMap((cl, v) => Array<number>(cl.devices).fill(v));
  const rem = [...counts];
  const chosen: number[] = Array<number>(slots.length).fill(-1);
  let doneAt = -1;
  let nodes = 0;
  const nextClassSlot = (slot: number) => {
    let t = slot;
    while (t < slots.length && slots[t] === slots[slot]) t++;
    return t;
  };
  const rec = (slot: number, from: number): boolean => {
    if (rem.every((r) => r === 0)) {
      doneAt = slot;
      return true;
    }
    if (slot === slots.length || ++nodes > nodeLimit) return false;
    const v = slots[slot]!;
    const sameClassNext = slot + 1 < slots.length && slots[slot + 1] === v;
    const order = orders[v]!;
    for (let q = from; q < order.length; q++) {
      const j = order[q]!;
      const pat = classes[v]!.set.patterns[j]!;
      let fits = true;
      for (let k = 0; k < K; k++) if (pat[k]! > rem[k]!) { fits = false; break; }
      if (!fits) continue;
      for (let k = 0; k < K; k++) rem[k]! -= pat[k]!;
      chosen[slot] = j;
      if (rec(slot + 1, sameClassNext ? q : 0)) return true;
      for (let k = 0; k < K; k++) rem[k]! += pat[k]!;
      chosen[slot] = -1;
      if (nodes > nodeLimit) return false;
    }
    // Leave this device and the rest of its class empty (empties come last within a class).
    const next = nextClassSlot(slot);
    return next < slots.length ? rec(next, 0) : false;
  };
  if (!rec(0, 0)) return null;
  const out: number[][][] = classes.map(() => []);
  slots.forEach((v, slot) => {
    const j = slot < doneAt ? chosen[slot]! : -1;
    out[v]!.push(j >= 0 ? [...classes[v]!.set.patterns[j]!] : Array<number>(K).fill(0));
  });
  return out;
};
