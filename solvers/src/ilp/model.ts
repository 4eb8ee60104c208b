/**
 * The assignment MILP of one layer (P||Cmax with the serving constraints of `LayerProblem`), built once and handed
 * to every ILP engine: HiGHS reads it as CPLEX LP text (`lpText`), GLPK takes the same rows as glpk.js's LP object
 * (whose own `glpk.write()` prints the same text; a test in @hplb/solver-glpk checks that).
 *
 * Formulation (minimise T):
 *   x_u_d ∈ {0,1}: unit u (a head, or a whole GQA group when `groups` is given) runs on device d;
 *   a_u:   Σ_d x_u_d = 1;
 *   l_d:   Σ_u p[u][d]·x_u_d (+ kvCopy[d]·extra KV copies on d) − T ≤ 0;
 *   c_d:   Σ_u size_u·x_u_d = n/m                       (equalHeadsPerDevice);
 *   k_*:   x_u_d ≤ y_g_d, Σ_g y_g_d ≤ cap_d, Σ y − #groups ≤ maxExtra (kv "replicate" bookkeeping);
 *   T integer in [L', U'] where L' is a valid lower bound OF THE INTEGER MODEL and U' the warm start's value.
 * Costs are converted once to integers: p = floor(scale · seconds), scale chosen so the largest unit is ≈ 1e5.
 * Flooring makes the model a relaxation: for every assignment, integer makespan ≤ scale · true makespan, so a
 * proven integer optimum T* gives the rigorous bound OPT ≥ T* ÷ scale on the original float costs.
 * Symmetry breaking (identical devices only): units sorted by cost, unit k may only use devices 0..k.
 * Stable re-plans (`previous`): objective (n+1)·T − Σ_i x_{u(i),prev(i)}, i.e. makespan first, then moves.
 */
import { layerLowerBound } from '@hplb/core';
import type { LayerProblem } from '../types.ts';

/** The serving-constraint fields the solver registry may add to LayerProblem (read when present). */
export interface KvFields {
  readonly kvGroupOf?: ReadonlyArray<number>;
  readonly maxKvPerDevice?: ReadonlyArray<number | null>;
  readonly maxExtraKvCopies?: number;
  readonly kvCopyCost?: ReadonlyArray<number>;
}
export type IlpProblem = LayerProblem & KvFields;

/** Row bound types, numerically equal to GLPK's GLP_UP / GLP_DB / GLP_FX. */
export const BOUND = { lo: 2, up: 3, db: 4, fx: 5 } as const;

export interface LinearRow {
  readonly name: string;
  readonly vars: ReadonlyArray<{ readonly name: string; readonly coef: number }>;
  readonly type: (typeof BOUND)[keyof typeof BOUND];
  readonly lb: number;
  readonly ub: number;
}

/** A minimisation MILP in the shape glpk.js consumes (and that `lpText` prints). */
export interface LinearModel {
  readonly name: string;
  readonly objective: ReadonlyArray<{ readonly name: string; readonly coef: number }>;
  readonly rows: ReadonlyArray<LinearRow>;
  /** Column bounds: double-bounded. */
  readonly bounds: ReadonlyArray<{ readonly name: string; readonly lb: number; readonly ub: number }>;
  readonly binaries: ReadonlyArray<string>;
  readonly generals: ReadonlyArray<string>;
}

export interface BuiltModel {
  readonly model: LinearModel;
  /** Column names in the order both engines number them (objective, rows, bounds, generals, binaries). */
  readonly columns: ReadonlyArray<string>;
  /** A feasible start (values per column) from the warm-start assignment, or null. */
  readonly start: ReadonlyArray<number> | null;
  /** Units: item lists. */
  readonly units: ReadonlyArray<ReadonlyArray<number>>;
  /** Integer unit costs p[u][d]. */
  readonly p: ReadonlyArray<ReadonlyArray<number>>;
  readonly scale: number;
  /** Integer lower bound L' imposed on T (valid for the integer model). */
  readonly tLower: number;
  /** Integer upper bound U' imposed on T (the warm start's integer makespan), or null. */
  readonly tUpper: number | null;
  readonly symmetryBroken: boolean;
  readonly devices: number;
  /**
   * Aggregated model: interchangeable units (same integer costs and size, no pins, no KV bookkeeping) form a class
   * with an integer count variable z_k_d per device, which removes the item symmetry that stalls branch and bound
   * on real layers (a 128k MInference layer has only 5–6 budget classes). null = one binary per unit and device.
   */
  readonly classes: ReadonlyArray<ReadonlyArray<number>> | null;
}

export type BuildOutcome = { readonly ok: true; readonly built: BuiltModel } | { readonly ok: false; readonly constraint: string; readonly message: string };

/** Largest integer unit cost after scaling (the "about 1e4–1e5" resolution). */
export const COST_RESOLUTION = 1e5;

/** Float time of item i on device d. */
export const itemTime = (pr: LayerProblem, i: number, d: number): number =>
  pr.timeMatrix ? pr.timeMatrix[i]![d]! : pr.costs[i]! / pr.speeds[d]!;

/** Units: union of overlapping groups; every item not in a group is its own unit. */
export const unitsOf = (pr: LayerProblem): number[][] => {
  const n = pr.costs.length;
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (const g of pr.groups ?? []) for (let k = 1; k < g.length; k++) parent[find(g[k]!)] = find(g[0]!);
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const list = byRoot.get(r);
    if (list) list.push(i);
    else byRoot.set(r, [i]);
  }
  return [...byRoot.values()];
};

/** Float loads of an assignment, including the kv-copy charge (home of a KV group = device of its first item). */
export const assignmentLoads = (pr: IlpProblem, assignment: ReadonlyArray<number>): number[] => {
  const m = pr.speeds.length;
  const loads = Array<number>(m).fill(0);
  assignment.forEach((d, i) => (loads[d]! += itemTime(pr, i, d)));
  if (pr.kvCopyCost && pr.kvGroupOf) {
    const extra = kvExtraCopies(pr.kvGroupOf, assignment, m);
    for (let d = 0; d < m; d++) loads[d]! += extra[d]! * (pr.kvCopyCost[d] ?? 0);
  }
  return loads;
};

/** Extra KV copies per device: a device holding any item of group g that is not g's home (first item's device). */
export const kvExtraCopies = (kvGroupOf: ReadonlyArray<number>, assignment: ReadonlyArray<number>, m: number): number[] => {
  const home = new Map<number, number>();
  const held = new Set<string>();
  kvGroupOf.forEach((g, i) => {
    if (!home.has(g)) home.set(g, assignment[i]!);
    held.add(`${g}/${assignment[i]}`);
  });
  const extra = Array<number>(m).fill(0);
  for (const key of held) {
    const [g, d] = key.split('/').map(Number) as [number, number];
    if (home.get(g) !== d) extra[d]!++;
  }
  return extra;
};

/** Check every constraint of the problem on an assignment; returns the first violated constraint's name, or null. */
export const violatedConstraint = (pr: IlpProblem, assignment: ReadonlyArray<number>): string | null => {
  const n = pr.costs.length;
  const m = pr.speeds.length;
  if (assignment.length !== n) return 'assignment';
  for (const d of assignment) if (!Number.isInteger(d) || d < 0 || d >= m) return 'assignment';
  for (const g of pr.groups ?? []) if (g.some((i) => assignment[i] !== assignment[g[0]!])) return 'groups';
  for (const p of pr.pinned ?? []) if (assignment[p.item] !== p.device) return 'pinned';
  if (pr.equalHeadsPerDevice) {
    const count = Array<number>(m).fill(0);
    for (const d of assignment) count[d]!++;
    if (count.some((c) => c * m !== n)) return 'equalHeadsPerDevice';
  }
  if (pr.kvGroupOf && (pr.maxKvPerDevice || pr.maxExtraKvCopies !== undefined)) {
    const held = Array.from({ length: m }, () => new Set<number>());
    pr.kvGroupOf.forEach((g, i) => held[assignment[i]!]!.add(g));
    if (pr.maxKvPerDevice) for (let d = 0; d < m; d++) {
      const cap = pr.maxKvPerDevice[d];
      if (cap !== null && cap !== undefined && held[d]!.size > cap) return 'memory';
    }
    if (pr.maxExtraKvCopies !== undefined) {
      const groups = new Set(pr.kvGroupOf).size;
      const copies = held.reduce((a, s) => a + s.size, 0) - groups;
      if (copies > pr.maxExtraKvCopies) return 'kvReplicationCap';
    }
  }
  return null;
};

const identicalDevices = (pr: IlpProblem): boolean => {
  const same = <T>(xs: ReadonlyArray<T> | undefined) => !xs || xs.every((x) => x === xs[0]);
  return !pr.timeMatrix && same(pr.speeds) && same(pr.kvCopyCost) && same(pr.maxKvPerDevice) && (pr.pinned ?? []).length === 0 && !pr.previous;
};

const x = (u: number, d: number) => `x_${u}_${d}`;
const z = (k: number, d: number) => `z_${k}_${d}`;
const y = (g: number, d: number) => `y_${g}_${d}`;

/**
 * Build the model. `warm` (an assignment of items) becomes the start vector and the upper bound on T; it is
 * ignored when it violates a constraint. Infeasibility that is visible without search is reported by constraint.
 */
export const buildModel = (pr: IlpProblem, warm?: ReadonlyArray<number>): BuildOutcome => {
  const n = pr.costs.length;
  const m = pr.speeds.length;
  if (m === 0) return { ok: false, constraint: 'devices', message: 'zero devices' };
  const units = unitsOf(pr);
  const unitOf = Array<number>(n);
  units.forEach((us, u) => us.forEach((i) => (unitOf[i] = u)));

  // Pins per unit.
  const pin = Array<number | undefined>(units.length);
  for (const p of pr.pinned ?? []) {
    if (p.device < 0 || p.device >= m) return { ok: false, constraint: 'pinned', message: `item ${p.item} pinned to device ${p.device}, but there are ${m} devices` };
    const u = unitOf[p.item]!;
    if (pin[u] !== undefined && pin[u] !== p.device)
      return { ok: false, constraint: 'pinned', message: `items of one group are pinned to devices ${pin[u]} and ${p.device}` };
    pin[u] = p.device;
  }
  if (pr.equalHeadsPerDevice && n % m !== 0)
    return { ok: false, constraint: 'equalHeadsPerDevice', message: `${n} heads cannot be split evenly over ${m} devices` };

  // Integer costs.
  const raw = units.map((us) => Array.from({ length: m }, (_, d) => us.reduce((a, i) => a + itemTime(pr, i, d), 0)));
  let maxRaw = 0;
  for (const row of raw) for (const v of row) maxRaw = Math.max(maxRaw, v);
  for (const c of pr.kvCopyCost ?? []) maxRaw = Math.max(maxRaw, c);
  const scale = maxRaw > 0 ? COST_RESOLUTION / maxRaw : 1;
  const p = raw.map((row) => row.map((v) => Math.floor(v * scale)));
  const kvc = (pr.kvCopyCost ?? []).map((c) => Math.floor(c * scale));
  const useKv = !!pr.kvGroupOf && (!!pr.maxKvPerDevice || pr.maxExtraKvCopies !== undefined || kvc.some((c) => c > 0));
  const kvGroups = useKv ? [...new Set(pr.kvGroupOf!)].sort((a, b) => a - b) : [];

  const symmetry = identicalDevices(pr);
  // Unit order for symmetry breaking: by cost, descending (ties by index).
  const order = units.map((_, u) => u).sort((a, b) => p[b]![0]! - p[a]![0]! || a - b);
  const rank = Array<number>(units.length);
  order.forEach((u, k) => (rank[u] = k));
  const allowed = (u: number, d: number) => (pin[u] !== undefined ? pin[u] === d : symmetry ? d <= rank[u]! : true);

  // Warm start, relabelled to respect symmetry breaking.
  let warmUnits: number[] | null = null;
  if (warm && violatedConstraint(pr, warm) === null) {
    let du = units.map((us) => warm[us[0]!]!);
    if (symmetry) {
      const relabel = new Map<number, number>();
      for (const u of order) if (!relabel.has(du[u]!)) relabel.set(du[u]!, relabel.size);
      du = du.map((d) => relabel.get(d)!);
    }
    if (du.every((d, u) => allowed(u, d))) warmUnits = du;
  }

  // Integer lower bound on T: valid for the integer model.
  const floatLb = layerLowerBound(pr.costs.map((c, i) => (pr.timeMatrix ? Math.min(...pr.timeMatrix[i]!) : c)), {
    devices: pr.timeMatrix ? m : pr.speeds,
    equalHeadsPerDevice: pr.equalHeadsPerDevice,
    groups: pr.groups,
  });
  let tLower = Math.max(0, Math.floor(floatLb * scale - n - 1e-9)); // floors lose < 1 per item
  if (symmetry) {
    const sizes = new Set(units.map((us) => us.length));
    const intLb = layerLowerBound(p.map((row) => row[0]!), { devices: m, equalHeadsPerDevice: !!pr.equalHeadsPerDevice && sizes.size === 1 && units.length % m === 0 });
    tLower = Math.max(tLower, Math.ceil(intLb - 1e-9));
  }

  const aggregate = !useKv && !pr.previous && (pr.pinned ?? []).length === 0;
  if (aggregate) return { ok: true, built: buildAggregated(pr, units, p, scale, tLower, warm, symmetry) };

  const objective: { name: string; coef: number }[] = [{ name: 'T', coef: pr.previous ? n + 1 : 1 }];
  if (pr.previous) {
    const stay = new Map<string, number>();
    pr.previous.forEach((d, i) => {
      const u = unitOf[i]!;
      if (d >= 0 && d < m && allowed(u, d)) stay.set(x(u, d), (stay.get(x(u, d)) ?? 0) - 1);
    });
    for (const [name, coef] of stay) objective.push({ name, coef });
  }
  const rows: LinearRow[] = [];
  units.forEach((_, u) => {
    const vars = [];
    for (let d = 0; d < m; d++) if (allowed(u, d)) vars.push({ name: x(u, d), coef: 1 });
    rows.push({ name: `a_${u}`, vars, type: BOUND.fx, lb: 1, ub: 1 });
  });
  for (let d = 0; d < m; d++) {
    const vars: { name: string; coef: number }[] = [{ name: 'T', coef: -1 }];
    units.forEach((_, u) => {
      if (allowed(u, d) && p[u]![d]! !== 0) vars.push({ name: x(u, d), coef: p[u]![d]! });
    });
    if (useKv && (kvc[d] ?? 0) > 0) {
      // kvc_d · Σ_g (y_g_d − x_{first(g),d})
      for (const g of kvGroups) {
        vars.push({ name: y(g, d), coef: kvc[d]! });
        const first = pr.kvGroupOf!.indexOf(g);
        const uf = unitOf[first]!;
        if (allowed(uf, d)) {
          const at = vars.findIndex((v) => v.name === x(uf, d));
          if (at >= 0) vars[at] = { name: x(uf, d), coef: vars[at]!.coef - kvc[d]! };
          else vars.push({ name: x(uf, d), coef: -kvc[d]! });
        }
      }
    }
    rows.push({ name: `l_${d}`, vars: vars.filter((v) => v.coef !== 0), type: BOUND.up, lb: 0, ub: 0 });
  }
  if (pr.equalHeadsPerDevice) {
    for (let d = 0; d < m; d++) {
      const vars = [];
      for (let u = 0; u < units.length; u++) if (allowed(u, d)) vars.push({ name: x(u, d), coef: units[u]!.length });
      if (vars.length === 0) return { ok: false, constraint: 'equalHeadsPerDevice', message: `device ${d} cannot hold any head` };
      rows.push({ name: `c_${d}`, vars, type: BOUND.fx, lb: n / m, ub: n / m });
    }
  }
  const yNames: string[] = [];
  if (useKv) {
    const unitGroups = units.map((us) => [...new Set(us.map((i) => pr.kvGroupOf![i]!))]);
    units.forEach((_, u) => {
      for (let d = 0; d < m; d++) {
        if (!allowed(u, d)) continue;
        for (const g of unitGroups[u]!) rows.push({ name: `h_${u}_${g}_${d}`, vars: [{ name: x(u, d), coef: 1 }, { name: y(g, d), coef: -1 }], type: BOUND.up, lb: 0, ub: 0 });
      }
    });
    for (const g of kvGroups) for (let d = 0; d < m; d++) yNames.push(y(g, d));
    if (pr.maxKvPerDevice) for (let d = 0; d < m; d++) {
      const cap = pr.maxKvPerDevice[d];
      if (cap === null || cap === undefined) continue;
      rows.push({ name: `k_${d}`, vars: kvGroups.map((g) => ({ name: y(g, d), coef: 1 })), type: BOUND.up, lb: 0, ub: cap });
    }
    if (pr.maxExtraKvCopies !== undefined) {
      const vars = [];
      for (const g of kvGroups) for (let d = 0; d < m; d++) vars.push({ name: y(g, d), coef: 1 });
      rows.push({ name: 'r_cap', vars, type: BOUND.up, lb: 0, ub: kvGroups.length + pr.maxExtraKvCopies });
    }
  }

  // Integer makespan of the warm start, as the upper bound.
  let tUpper: number | null = null;
  let warmValues: Map<string, number> | null = null;
  const xNames: string[] = [];
  units.forEach((_, u) => {
    for (let d = 0; d < m; d++) if (allowed(u, d)) xNames.push(x(u, d));
  });
  if (warmUnits) {
    const load = Array<number>(m).fill(0);
    warmUnits.forEach((d, u) => (load[d]! += p[u]![d]!));
    const held = new Set<string>();
    if (useKv) {
      units.forEach((us, u) => us.forEach((i) => held.add(y(pr.kvGroupOf![i]!, warmUnits![u]!))));
      for (let d = 0; d < m; d++) {
        if (!((kvc[d] ?? 0) > 0)) continue;
        for (const g of kvGroups) {
          const first = pr.kvGroupOf!.indexOf(g);
          if (held.has(y(g, d)) && warmUnits[unitOf[first]!] !== d) load[d]! += kvc[d]!;
        }
      }
    }
    tUpper = Math.max(tLower, ...load);
    warmValues = new Map<string, number>([['T', tUpper]]);
    warmUnits.forEach((d, u) => warmValues!.set(x(u, d), 1));
    for (const k of held) warmValues.set(k, 1);
  }
  let sumP = 0;
  for (let d = 0; d < m; d++) sumP = Math.max(sumP, p.reduce((a, row) => a + row[d]!, 0) + (kvc[d] ?? 0) * kvGroups.length);
  const bounds = [{ name: 'T', lb: tLower, ub: Math.max(tLower, tUpper ?? sumP) }];
  const model: LinearModel = { name: `layer${pr.layer}`, objective, rows, bounds, binaries: [...xNames, ...yNames], generals: ['T'] };
  const columns = columnOrder(model);
  const start = warmValues ? columns.map((c) => warmValues!.get(c) ?? 0) : null;
  return { ok: true, built: { model, columns, start, units, p, scale, tLower, tUpper, symmetryBroken: symmetry, devices: m, classes: null } };
};

/** The aggregated model (see `BuiltModel.classes`); device symmetry is broken by ordering loads L_0 ≥ L_1 ≥ …. */
const buildAggregated = (
  pr: IlpProblem,
  units: ReadonlyArray<ReadonlyArray<number>>,
  p: ReadonlyArray<ReadonlyArray<number>>,
  scale: number,
  tLower: number,
  warm: ReadonlyArray<number> | undefined,
  symmetry: boolean,
): BuiltModel => {
  const n = pr.costs.length;
  const m = pr.speeds.length;
  const byKey = new Map<string, number[]>();
  units.forEach((us, u) => {
    const key = `${us.length}|${p[u]!.join(',')}`;
    const list = byKey.get(key);
    if (list) list.push(u);
    else byKey.set(key, [u]);
  });
  // Classes by decreasing cost (for readable models and a stable column order).
  const classes = [...byKey.values()].sort((a, b) => p[b[0]!]![0]! - p[a[0]!]![0]! || a[0]! - b[0]!);
  const rows: LinearRow[] = [];
  classes.forEach((cl, k) => {
    rows.push({ name: `a_${k}`, vars: Array.from({ length: m }, (_, d) => ({ name: z(k, d), coef: 1 })), type: BOUND.fx, lb: cl.length, ub: cl.length });
  });
  const loadTerms = (d: number) => classes.map((cl, k) => ({ name: z(k, d), coef: p[cl[0]!]![d]! })).filter((v) => v.coef !== 0);
  for (let d = 0; d < m; d++) rows.push({ name: `l_${d}`, vars: [{ name: 'T', coef: -1 }, ...loadTerms(d)], type: BOUND.up, lb: 0, ub: 0 });
  if (pr.equalHeadsPerDevice) {
    for (let d = 0; d < m; d++)
      rows.push({ name: `c_${d}`, vars: classes.map((cl, k) => ({ name: z(k, d), coef: units[cl[0]!]!.length })), type: BOUND.fx, lb: n / m, ub: n / m });
  }
  // Load ordering between consecutive identical devices (all of them when every device is identical; within each
  // speed class otherwise: swapping two identical devices keeps every constraint of this model).
  const identicalTo = (a: number, b: number) => !pr.timeMatrix && pr.speeds[a] === pr.speeds[b];
  const orderPairs: [number, number][] = [];
  {
    const bySpeed = new Map<number, number[]>();
    for (let d = 0; d < m; d++) {
      const key = pr.timeMatrix ? d : pr.speeds[d]!;
      const list = bySpeed.get(key);
      if (list) list.push(d);
      else bySpeed.set(key, [d]);
    }
    for (const list of bySpeed.values()) for (let i = 0; i + 1 < list.length; i++) if (identicalTo(list[i]!, list[i + 1]!)) orderPairs.push([list[i]!, list[i + 1]!]);
  }
  {
    for (const [d, e] of orderPairs) {
      const vars = new Map<string, number>();
      for (const t of loadTerms(d)) vars.set(t.name, t.coef);
      for (const t of loadTerms(e)) vars.set(t.name, (vars.get(t.name) ?? 0) - t.coef);
      rows.push({ name: `o_${d}`, vars: [...vars].map(([name, coef]) => ({ name, coef })).filter((v) => v.coef !== 0), type: BOUND.lo, lb: 0, ub: 0 });
    }
  }
  // Warm start: counts per class and device, devices relabelled by decreasing integer load.
  let tUpper: number | null = null;
  let warmValues: Map<string, number> | null = null;
  if (warm && violatedConstraint(pr, warm) === null) {
    const load = Array<number>(m).fill(0);
    units.forEach((us, u) => (load[warm[us[0]!]!]! += p[u]![warm[us[0]!]!]!));
    // Relabel devices so the warm start satisfies the ordering rows: within each chain of identical devices,
    // the loads are handed out in decreasing order.
    const relabel = Array.from({ length: m }, (_, d) => d);
    const chains: number[][] = [];
    for (const [d, e] of orderPairs) {
      const chain = chains.find((ch) => ch[ch.length - 1] === d);
      if (chain) chain.push(e);
      else chains.push([d, e]);
    }
    for (const chain of chains) {
      const byLoad = [...chain].sort((a, b) => load[b]! - load[a]! || a - b);
      chain.forEach((slot, i) => (relabel[byLoad[i]!] = slot));
    }
    warmValues = new Map<string, number>();
    classes.forEach((cl, k) => cl.forEach((u) => {
      const name = z(k, relabel[warm[units[u]![0]!]!]!);
      warmValues!.set(name, (warmValues!.get(name) ?? 0) + 1);
    }));
    tUpper = Math.max(tLower, ...load);
    warmValues.set('T', tUpper);
  }
  let sumP = 0;
  for (let d = 0; d < m; d++) sumP = Math.max(sumP, p.reduce((a, row) => a + row[d]!, 0));
  const bounds = [{ name: 'T', lb: tLower, ub: Math.max(tLower, tUpper ?? sumP) }];
  const binaries: string[] = [];
  const generals = ['T'];
  classes.forEach((cl, k) => {
    for (let d = 0; d < m; d++) {
      if (cl.length === 1) binaries.push(z(k, d));
      else {
        generals.push(z(k, d));
        bounds.push({ name: z(k, d), lb: 0, ub: cl.length });
      }
    }
  });
  const model: LinearModel = { name: `layer${pr.layer}`, objective: [{ name: 'T', coef: 1 }], rows, bounds, binaries, generals };
  const columns = columnOrder(model);
  const start = warmValues ? columns.map((c) => warmValues!.get(c) ?? 0) : null;
  return { model, columns, start, units, p, scale, tLower, tUpper, symmetryBroken: symmetry, devices: m, classes };
};

/** Column numbering of glpk.js (and of HiGHS's LP reader for the text below): first appearance. */
export const columnOrder = (model: LinearModel): string[] => {
  const seen = new Set<string>();
  const add = (s: string) => seen.add(s);
  model.objective.forEach((v) => add(v.name));
  model.rows.forEach((r) => r.vars.forEach((v) => add(v.name)));
  model.bounds.forEach((b) => add(b.name));
  model.generals.forEach(add);
  model.binaries.forEach(add);
  return [...seen];
};

const term = (coef: number, name: string) => `${coef < 0 ? '-' : '+'} ${Math.abs(coef) === 1 ? '' : `${Math.abs(coef)} `}${name}`;

/**
 * CPLEX LP text of the model, in the layout of glpk's `glp_write_lp` (terms in column order, binaries written as
 * 0..1 bounds plus Generals). Lines are wrapped before 255 characters.
 */
export const lpText = (model: LinearModel): string => {
  const columns = columnOrder(model);
  const index = new Map(columns.map((c, i) => [c, i] as const));
  const out: string[] = [`\\* Problem: ${model.name} *\\`, '', 'Minimize'];
  const line = (head: string, terms: string[], tail: string) => {
    let cur = head;
    for (const t of terms) {
      if (cur.length + t.length + 1 > 250) {
        out.push(cur);
        cur = '';
      }
      cur += ` ${t}`;
    }
    if (terms.length === 0) cur += ' 0 T';
    out.push(`${cur}${tail}`);
  };
  const sorted = (vars: ReadonlyArray<{ name: string; coef: number }>) => [...vars].sort((a, b) => index.get(a.name)! - index.get(b.name)!);
  line(' obj:', sorted(model.objective).map((v) => term(v.coef, v.name)), '');
  out.push('', 'Subject To');
  for (const r of model.rows) {
    const terms = sorted(r.vars).map((v) => term(v.coef, v.name));
    if (r.type === BOUND.fx) line(` ${r.name}:`, terms, ` = ${r.ub}`);
    else if (r.type === BOUND.up) line(` ${r.name}:`, terms, ` <= ${r.ub}`);
    else if (r.type === BOUND.lo) line(` ${r.name}:`, terms, ` >= ${r.lb}`);
    else {
      line(` ${r.name}:`, terms, ` >= ${r.lb}`);
      line(` ${r.name}_ub:`, terms, ` <= ${r.ub}`);
    }
  }
  out.push('', 'Bounds');
  const bounded = new Map(model.bounds.map((b) => [b.name, b] as const));
  const binaries = new Set(model.binaries);
  for (const c of columns) {
    const b = bounded.get(c);
    if (b) out.push(b.lb === b.ub ? ` ${c} = ${b.lb}` : ` ${b.lb} <= ${c} <= ${b.ub}`);
    else if (binaries.has(c)) out.push(` 0 <= ${c} <= 1`);
  }
  out.push('', 'Generals');
  for (const c of columns) if (binaries.has(c) || model.generals.includes(c)) out.push(` ${c}`);
  out.push('', 'End', '');
  return out.join('\n');
};

/** Decode a column-value vector into an item assignment (null when some unit is not assigned exactly once). */
export const decodeAssignment = (built: BuiltModel, values: ReadonlyMap<string, number>, items: number): number[] | null => {
  const a = Array<number>(items).fill(-1);
  if (built.classes) {
    for (let k = 0; k < built.classes.length; k++) {
      const cl = built.classes[k]!;
      let next = 0;
      for (let d = 0; d < built.devices; d++) {
        const count = Math.round(values.get(z(k, d)) ?? 0);
        for (let c = 0; c < count; c++) {
          if (next >= cl.length) return null;
          for (const i of built.units[cl[next++]!]!) a[i] = d;
        }
      }
      if (next !== cl.length) return null;
    }
    return a;
  }
  for (let u = 0; u < built.units.length; u++) {
    let dev = -1;
    for (let d = 0; d < built.devices; d++) {
      if ((values.get(x(u, d)) ?? 0) > 0.5) {
        if (dev >= 0) return null;
        dev = d;
      }
    }
    if (dev < 0) return null;
    for (const i of built.units[u]!) a[i] = dev;
  }
  return a;
};

/** Integer makespan of an assignment in the model's scaled costs (kv-copy charges included). */
export const integerMakespan = (built: BuiltModel, pr: IlpProblem, assignment: ReadonlyArray<number>): number => {
  const m = built.devices;
  const load = Array<number>(m).fill(0);
  built.units.forEach((us, u) => (load[assignment[us[0]!]!]! += built.p[u]![assignment[us[0]!]!]!));
  if (pr.kvGroupOf && pr.kvCopyCost) {
    const extra = kvExtraCopies(pr.kvGroupOf, assignment, m);
    for (let d = 0; d < m; d++) load[d]! += extra[d]! * Math.floor((pr.kvCopyCost[d] ?? 0) * built.scale);
  }
  return Math.max(0, ...load);
};
