/**
 * Placement laws as pure predicates (fp-ts-laws style): each takes a problem and what a solver returned, and says
 * whether the law holds (`true`) or why it does not (a string). A runner (`solvers/test/laws.test.ts`) feeds them
 * fast-check instances for every solver; `spec/test/laws.test.ts` checks the predicates themselves. Nothing here
 * knows any solver: the problem and result shapes are structural, and the reference optimum is brute force.
 *
 *   placedOnce, constraintsHold, makespanConsistent, makespanAtLeastLowerBound, truthfulGap,
 *   listSchedulingBound ((2 − 1/m)·OPT), lptBound ((4/3 − 1/(3m))·OPT), exactNoWorse, exactMatchesOptimum,
 *   scaledOptimum, permutedPlan, idleDeviceNoWorse.
 */

/** A layer problem, structurally (the solvers' LayerProblem fits). */
export interface LawProblem {
  readonly costs: ReadonlyArray<number>;
  readonly speeds: ReadonlyArray<number>;
  readonly timeMatrix?: ReadonlyArray<ReadonlyArray<number>>;
  readonly groups?: ReadonlyArray<ReadonlyArray<number>>;
  readonly equalHeadsPerDevice?: boolean;
  readonly pinned?: ReadonlyArray<{ readonly item: number; readonly device: number }>;
}

/** What a solver returned, structurally (the solvers' LayerResult fits). */
export interface LawOutcome {
  readonly status: string;
  readonly assignment?: ReadonlyArray<number>;
  readonly makespan?: number;
  readonly lowerBound?: number;
  readonly gap?: number;
}

export type Verdict = true | string;

/** Relative tolerance for comparing makespans computed in different orders. */
export const LAW_TOLERANCE = 1e-9;

const leq = (a: number, b: number) => a <= b + LAW_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
const eq = (a: number, b: number) => leq(a, b) && leq(b, a);

const devicesOf = (p: LawProblem) => (p.timeMatrix ? (p.timeMatrix[0]?.length ?? p.speeds.length) : p.speeds.length);

/** Time of item i on device d. */
export const itemTime = (p: LawProblem, i: number, d: number): number => (p.timeMatrix ? p.timeMatrix[i]![d]! : p.costs[i]! / p.speeds[d]!);

/** Device loads of an assignment, recomputed from the problem. */
export const loadsOf = (p: LawProblem, a: ReadonlyArray<number>): number[] => {
  const l = Array<number>(devicesOf(p)).fill(0);
  a.forEach((d, i) => { l[d]! += itemTime(p, i, d); });
  return l;
};

export const makespanOf = (p: LawProblem, a: ReadonlyArray<number>): number => Math.max(0, ...loadsOf(p, a));

// ---------------------------------------------------------------- validity

/** Every item is placed exactly once, on an existing device. */
export const placedOnce = (p: LawProblem, r: LawOutcome): Verdict => {
  if (r.status === 'infeasible') return true;
  const a = r.assignment;
  if (!a) return `status ${r.status} without an assignment`;
  if (a.length !== p.costs.length) return `assignment has ${a.length} entries for ${p.costs.length} items`;
  const m = devicesOf(p);
  const bad = a.findIndex((d) => !(Number.isInteger(d) && d >= 0 && d < m));
  return bad < 0 ? true : `item ${bad} on device ${a[bad]}, not in [0, ${m - 1}]`;
};

/** Equal heads per device, whole groups, pinned items. */
export const constraintsHold = (p: LawProblem, r: LawOutcome): Verdict => {
  if (r.status === 'infeasible' || !r.assignment) return true;
  const a = r.assignment;
  const m = devicesOf(p);
  if (p.equalHeadsPerDevice) {
    const c = Array<number>(m).fill(0);
    a.forEach((d) => c[d]!++);
    if (c.some((x) => x !== a.length / m)) return `equal heads violated: counts ${c.join(',')}`;
  }
  for (const g of p.groups ?? []) {
    const d0 = a[g[0]!];
    const off = g.find((i) => a[i] !== d0);
    if (off !== undefined) return `group [${g.join(',')}] split: item ${off} on ${a[off]}, item ${g[0]} on ${d0}`;
  }
  for (const { item, device } of p.pinned ?? []) if (a[item] !== device) return `item ${item} pinned to ${device} but placed on ${a[item]}`;
  return true;
};

/** The reported makespan is the recomputed max device load. */
export const makespanConsistent = (p: LawProblem, r: LawOutcome): Verdict => {
  if (r.status === 'infeasible' || !r.assignment || r.makespan === undefined) return true;
  const mk = makespanOf(p, r.assignment);
  return eq(mk, r.makespan) ? true : `reported makespan ${r.makespan}, recomputed ${mk}`;
};

/** makespan ≥ lower bound. */
export const makespanAtLeastLowerBound = (r: LawOutcome): Verdict => {
  if (r.status === 'infeasible' || r.makespan === undefined || r.lowerBound === undefined) return true;
  return leq(r.lowerBound, r.makespan) ? true : `lower bound ${r.lowerBound} above makespan ${r.makespan}`;
};

/**
 * Truthful status and gap against the true optimum: lowerBound ≤ OPT ≤ makespan, gap = makespan/lowerBound − 1, and
 * "optimal" only when makespan = OPT. Holds for timed-out solves too.
 */
export const truthfulGap = (r: LawOutcome, opt: number): Verdict => {
  if (r.status === 'infeasible') return Number.isFinite(opt) ? `reported infeasible, but an optimum ${opt} exists` : true;
  if (r.makespan === undefined || r.lowerBound === undefined || r.gap === undefined) return 'missing makespan / lowerBound / gap';
  if (!leq(r.lowerBound, opt)) return `lower bound ${r.lowerBound} above the optimum ${opt}`;
  if (!leq(opt, r.makespan)) return `makespan ${r.makespan} below the optimum ${opt}: not a valid plan`;
  if (r.status === 'optimal' && !eq(r.makespan, opt)) return `status optimal but makespan ${r.makespan} ≠ optimum ${opt}`;
  const want = r.lowerBound > 0 ? r.makespan / r.lowerBound - 1 : 0;
  if (Math.abs(want - r.gap) > 1e-7 * Math.max(1, want)) return `gap ${r.gap}, but makespan/lowerBound − 1 = ${want}`;
  return true;
};

// ---------------------------------------------------------------- approximation guarantees

/** Any list schedule on m identical devices: makespan ≤ (2 − 1/m)·OPT. */
export const listSchedulingBound = (m: number, makespan: number, opt: number): Verdict =>
  leq(makespan, (2 - 1 / m) * opt) ? true : `makespan ${makespan} > (2 − 1/${m})·OPT = ${(2 - 1 / m) * opt}`;

/** LPT on m identical devices: makespan ≤ (4/3 − 1/(3m))·OPT (Graham 1969). */
export const lptBound = (m: number, makespan: number, opt: number): Verdict =>
  leq(makespan, (4 / 3 - 1 / (3 * m)) * opt) ? true : `LPT makespan ${makespan} > (4/3 − 1/(3·${m}))·OPT = ${(4 / 3 - 1 / (3 * m)) * opt}`;

/** An exact solver is never worse than a heuristic on the same problem. */
export const exactNoWorse = (exact: number, heuristic: number, heuristicName = 'heuristic'): Verdict =>
  leq(exact, heuristic) ? true : `exact ${exact} worse than ${heuristicName} ${heuristic}`;

/** A completed exact solve equals the brute-force optimum. */
export const exactMatchesOptimum = (r: LawOutcome, opt: number): Verdict => {
  if (r.status !== 'optimal') return `exact did not prove optimality on a small instance (status ${r.status})`;
  return r.makespan !== undefined && eq(r.makespan, opt) ? true : `exact makespan ${r.makespan} ≠ brute-force optimum ${opt}`;
};

// ---------------------------------------------------------------- metamorphic

/** Scaling every cost by k scales the optimum by k (and the original optimal plan stays optimal). */
export const scaledOptimum = (p: LawProblem, k: number, original: LawOutcome, scaled: LawOutcome): Verdict => {
  if (original.makespan === undefined || scaled.makespan === undefined || !original.assignment) return 'missing makespan';
  if (!eq(scaled.makespan, k * original.makespan)) return `scaled optimum ${scaled.makespan} ≠ ${k} × ${original.makespan}`;
  const sp: LawProblem = { ...p, costs: p.costs.map((c) => c * k), ...(p.timeMatrix ? { timeMatrix: p.timeMatrix.map((r) => r.map((x) => x * k)) } : {}) };
  const reused = makespanOf(sp, original.assignment);
  return eq(reused, scaled.makespan) ? true : `the original plan on scaled costs has makespan ${reused}, optimum ${scaled.makespan}`;
};

/** Apply a permutation: item i of the original is item perm[i] of the permuted problem. */
export const permuteProblem = (p: LawProblem, perm: ReadonlyArray<number>): LawProblem => {
  const inv = Array<number>(perm.length);
  perm.forEach((j, i) => { inv[j] = i; });
  return {
    ...p,
    costs: inv.map((i) => p.costs[i]!),
    ...(p.timeMatrix ? { timeMatrix: inv.map((i) => p.timeMatrix![i]!) } : {}),
    ...(p.groups ? { groups: p.groups.map((g) => g.map((i) => perm[i]!)) } : {}),
    ...(p.pinned ? { pinned: p.pinned.map((x) => ({ item: perm[x.item]!, device: x.device })) } : {}),
  };
};

/**
 * Permuting the items permutes the plan: `equivariant` (deterministic rules on distinct costs) demands the same
 * device per item; otherwise the makespan must be the same.
 */
export const permutedPlan = (perm: ReadonlyArray<number>, original: LawOutcome, permuted: LawOutcome, equivariant: boolean): Verdict => {
  if (!original.assignment || !permuted.assignment) return 'missing assignment';
  if (equivariant) {
    const off = perm.findIndex((j, i) => permuted.assignment![j] !== original.assignment![i]);
    return off < 0 ? true : `item ${off} on device ${original.assignment[off]}, but as item ${perm[off]} of the permuted problem on ${permuted.assignment[perm[off]!]}`;
  }
  return original.makespan !== undefined && permuted.makespan !== undefined && eq(original.makespan, permuted.makespan)
    ? true : `makespan ${original.makespan} became ${permuted.makespan} after permuting the items`;
};

/** Adding an idle device never raises the (optimal) makespan. */
export const idleDeviceNoWorse = (before: LawOutcome, after: LawOutcome): Verdict =>
  before.makespan !== undefined && after.makespan !== undefined && leq(after.makespan, before.makespan)
    ? true : `makespan rose from ${before.makespan} to ${after.makespan} with one more device`;

// ---------------------------------------------------------------- reference optimum

/**
 * Brute force: the optimal makespan over every assignment that satisfies the constraints (m^n, with the first free
 * item's device fixed when devices are identical). Infinity when no assignment does. For n ≤ ~10.
 */
export const bruteForceOptimum = (p: LawProblem): { makespan: number; assignment: number[] | null } => {
  const n = p.costs.length;
  const m = devicesOf(p);
  const identical = !p.timeMatrix && !p.pinned?.length && p.speeds.every((s) => s === p.speeds[0]);
  const a = Array<number>(n).fill(0);
  const loads = Array<number>(m).fill(0);
  let best = Infinity;
  let bestA: number[] | null = null;
  const rec = (i: number, used: number) => {
    if (i === n) {
      const r = { status: 'feasible', assignment: a };
      if (constraintsHold(p, r) !== true) return;
      const mk = Math.max(0, ...loads);
      if (mk < best) {
        best = mk;
        bestA = [...a];
      }
      return;
    }
    // Identical devices: only the first unused device is worth opening (symmetry).
    const limit = identical ? Math.min(m, used + 1) : m;
    for (let d = 0; d < limit; d++) {
      const t = itemTime(p, i, d);
      loads[d]! += t;
      a[i] = d;
      if (Math.max(...loads) < best) rec(i + 1, Math.max(used, d + 1));
      loads[d]! -= t;
    }
  };
  rec(0, 0);
  return { makespan: best, assignment: bestA };
};
