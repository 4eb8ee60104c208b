/**
 * The engine-layout placement of one layer: assign query heads to TP ranks so that every rank holds H/T heads made
 * of whole "chunks" (c heads of one GQA group, served by one KV slot; see geometry.ts), minimising the expected
 * layer time over a distribution of context lengths:
 *
 *   objective = Σ_k w_k · max_d Σ_{h on d} cost_k(h)
 *
 * (one length is the plain makespan). Weights are permuted once, so one placement must serve every length.
 *
 * Method: the best of three starts (the engines' contiguous split; LPT over heavy-first chunks; LPT over balanced
 * "snake" chunks), then pairwise exact re-split to a fixed point: for two ranks, every split of their union into
 * two valid halves is enumerated (heads with identical cost vectors are interchangeable, so it enumerates class
 * counts, not subsets) and the best for the whole layer is kept. Bounded by a node cap per pair and a time limit.
 * The lower bound (per length, then weighted) is the equal-heads bound plus a chunk bound: the rank holding head h
 * also holds c−1 more heads of h's group and H/T−c other heads. Used by `engine/model.ts`.
 */
import { layerLowerBound } from '@hplb/core';
import type { LayerStatus } from '../types.ts';
import type { EngineGeometry } from './geometry.ts';
import { exactEngineLayer } from './exact.ts';

export interface EngineLayerProblem {
  readonly layer: number;
  /** costs[k][h]: time of query head h at the k-th context length (identical ranks). */
  readonly costs: ReadonlyArray<ReadonlyArray<number>>;
  /** weights[k]: probability of the k-th length (sums to 1). */
  readonly weights: ReadonlyArray<number>;
  readonly geometry: EngineGeometry;
  readonly timeLimitMs: number;
  /**
   * Every rank holds H/T heads (default true: what the engines need). False for free placement over a length
   * distribution (`planFreeLengths`): counts are free, chunks (c = 1: heads; c = g: whole GQA groups) still hold.
   */
  readonly equalCount?: boolean;
  /** States the exact class DP may visit (single length only; default 60 000). */
  readonly exactStateCap?: number;
  /** Enumeration nodes per rank pair before settling for the best split found (default 200 000). */
  readonly pairNodeCap?: number;
}

export interface EngineLayerResult {
  readonly layer: number;
  readonly status: LayerStatus;
  /** assignment[h] = rank of query head h. Ranks sharing a KV slot (T > S) are consecutive. */
  readonly assignment: number[];
  /** Σ_k w_k · makespan_k */
  readonly objective: number;
  /** Σ_k w_k · lowerBound_k (a bound for this engine geometry). */
  readonly lowerBound: number;
  readonly gap: number;
  /** makespan[k], lowerBounds[k]: per length. */
  readonly makespan: number[];
  readonly lowerBounds: number[];
  /** loads[k][d] */
  readonly loads: number[][];
  readonly seconds: number;
  /** Which start won and how many pair re-splits improved it. */
  readonly start: string;
  readonly improvements: number;
}

const EPS = 1e-12;

// ---------------------------------------------------------------- bounds

/** Lower bound on the makespan of one length's costs under the engine geometry. */
export const engineLowerBound = (x: ReadonlyArray<number>, geo: EngineGeometry, equalCount = true): number => {
  const T = geo.tp;
  if (!equalCount) {
    const g = geo.groupSize;
    const groups = geo.chunkSize === g ? Array.from({ length: geo.kvHeads }, (_, k) => Array.from({ length: g }, (_, i) => k * g + i)) : undefined;
    return layerLowerBound(x, { devices: T, ...(groups ? { groups } : {}) });
  }
  const c = geo.chunkSize;
  const per = geo.headsPerRank;
  let best = layerLowerBound(x, { devices: T, equalHeadsPerDevice: true });
  const asc = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const g = geo.groupSize;
  for (let h = 0; h < x.length; h++) {
    const grp = Math.floor(h / g);
    const mates = [];
    for (let j = grp * g; j < (grp + 1) * g; j++) if (j !== h) mates.push(x[j]!);
    mates.sort((a, b) => a - b);
    const used = new Set<number>([h]);
    let s = x[h]!;
    // the c−1 smallest group mates
    const mateIdx = [];
    for (let j = grp * g; j < (grp + 1) * g; j++) if (j !== h) mateIdx.push(j);
    mateIdx.sort((a, b) => x[a]! - x[b]!);
    for (let i = 0; i < c - 1; i++) {
      s += x[mateIdx[i]!]!;
      used.add(mateIdx[i]!);
    }
    let need = per - c;
    for (const [v, i] of asc) {
      if (need <= 0) break;
      if (used.has(i)) continue;
      s += v;
      need--;
    }
    if (s > best) best = s;
  }
  return best;
};

// ---------------------------------------------------------------- state

interface State {
  readonly assign: number[];
  /** loads[d][k] */
  readonly loads: number[][];
}

const loadsOf = (assign: ReadonlyArray<number>, costs: ReadonlyArray<ReadonlyArray<number>>, T: number): number[][] => {
  const K = costs.length;
  const loads = Array.from({ length: T }, () => Array<number>(K).fill(0));
  assign.forEach((d, h) => {
    for (let k = 0; k < K; k++) loads[d]![k]! += costs[k]![h]!;
  });
  return loads;
};

const objectiveOf = (loads: ReadonlyArray<ReadonlyArray<number>>, w: ReadonlyArray<number>): number => {
  let o = 0;
  for (let k = 0; k < w.length; k++) {
    let m = 0;
    for (const row of loads) if (row[k]! > m) m = row[k]!;
    o += w[k]! * m;
  }
  return o;
};

/** True when the assignment satisfies the engine geometry (H/T heads per rank, whole chunks per group). */
export const isEngineValid = (assign: ReadonlyArray<number>, geo: EngineGeometry, equalCount = true): boolean => {
  const T = geo.tp;
  const count = Array<number>(T).fill(0);
  const per = new Map<string, number>();
  for (let h = 0; h < assign.length; h++) {
    const d = assign[h]!;
    if (!(d >= 0 && d < T)) return false;
    count[d]!++;
    const key = `${d}/${Math.floor(h / geo.groupSize)}`;
    per.set(key, (per.get(key) ?? 0) + 1);
  }
  if (equalCount && count.some((c) => c !== geo.headsPerRank)) return false;
  for (const v of per.values()) if (v % geo.chunkSize !== 0) return false;
  return true;
};

// ---------------------------------------------------------------- starts

const contiguousStart = (geo: EngineGeometry): number[] => Array.from({ length: geo.queryHeads }, (_, h) => Math.floor(h / geo.headsPerRank));

/** Chunks per group (heavy-first or snake), then LPT with C/T chunks per rank on the weighted scalar cost. */
const chunkLptStart = (key: ReadonlyArray<number>, geo: EngineGeometry, snake: boolean, equalCount: boolean): number[] => {
  const g = geo.groupSize;
  const c = geo.chunkSize;
  const perGroup = g / c;
  const chunks: { heads: number[]; w: number }[] = [];
  for (let grp = 0; grp < geo.kvHeads; grp++) {
    const hs = Array.from({ length: g }, (_, i) => grp * g + i).sort((a, b) => key[b]! - key[a]!);
    const cs = Array.from({ length: perGroup }, () => ({ heads: [] as number[], w: 0 }));
    hs.forEach((h, i) => {
      let j: number;
      if (!snake) j = Math.floor(i / c);
      else {
        const round = Math.floor(i / perGroup);
        const pos = i % perGroup;
        j = round % 2 === 0 ? pos : perGroup - 1 - pos;
      }
      cs[j]!.heads.push(h);
      cs[j]!.w += key[h]!;
    });
    chunks.push(...cs);
  }
  chunks.sort((a, b) => b.w - a.w);
  const load = Array<number>(geo.tp).fill(0);
  const room = Array<number>(geo.tp).fill(equalCount ? geo.chunksPerRank : Infinity);
  const assign = Array<number>(geo.queryHeads).fill(-1);
  for (const ch of chunks) {
    let best = -1;
    for (let d = 0; d < geo.tp; d++) if (room[d]! > 0 && (best < 0 || load[d]! < load[best]!)) best = d;
    room[best]!--;
    load[best]! += ch.w;
    for (const h of ch.heads) assign[h] = best;
  }
  return assign;
};

// ---------------------------------------------------------------- pair re-split

interface GroupOption {
  readonly count: number;
  readonly load: number[];
  /** Heads (of the pair's union in this group) that go to rank A. */
  readonly heads: number[];
}

/** Every distinct way to send a multiple of c heads of one group (given the pair's heads of it) to rank A. */
const groupOptions = (heads: ReadonlyArray<number>, costs: ReadonlyArray<ReadonlyArray<number>>, c: number): GroupOption[] => {
  const K = costs.length;
  // Classes of identical cost vectors.
  const classes = new Map<string, number[]>();
  for (const h of heads) {
    const key = costs.map((row) => row[h]!).join(',');
    const arr = classes.get(key);
    if (arr) arr.push(h);
    else classes.set(key, [h]);
  }
  const cls = [...classes.values()];
  const out: GroupOption[] = [];
  const pick: number[] = Array<number>(cls.length).fill(0);
  const rec = (i: number) => {
    if (i === cls.length) {
      const count = pick.reduce((a, b) => a + b, 0);
      if (count % c !== 0) return;
      const load = Array<number>(K).fill(0);
      const hs: number[] = [];
      pick.forEach((n, j) => {
        for (let q = 0; q < n; q++) {
          const h = cls[j]![q]!;
          hs.push(h);
          for (let k = 0; k < K; k++) load[k]! += costs[k]![h]!;
        }
      });
      out.push({ count, load, heads: hs });
      return;
    }
    for (let n = 0; n <= cls[i]!.length; n++) {
      pick[i] = n;
      rec(i + 1);
    }
    pick[i] = 0;
  };
  rec(0);
  return out;
};

/**
 * Best re-split of ranks a and b for the whole layer objective (others fixed), with the spread of the pair as a
 * tie-breaker. Returns the heads for rank A, or undefined when nothing strictly better exists.
 */
const bestPairSplit = (
  st: State,
  a: number,
  b: number,
  p: EngineLayerProblem,
  nodeCap: number,
): { headsA: number[]; headsB: number[] } | undefined => {
  const { costs, weights: w, geometry: geo } = p;
  const K = costs.length;
  const T = geo.tp;
  const othersMax = Array<number>(K).fill(0);
  for (let d = 0; d < T; d++) {
    if (d === a || d === b) continue;
    for (let k = 0; k < K; k++) if (st.loads[d]![k]! > othersMax[k]!) othersMax[k] = st.loads[d]![k]!;
  }
  const total = Array<number>(K).fill(0);
  for (let k = 0; k < K; k++) total[k] = st.loads[a]![k]! + st.loads[b]![k]!;
  const score = (la: ReadonlyArray<number>): [number, number] => {
    let prim = 0;
    let va = 0;
    let vb = 0;
    for (let k = 0; k < K; k++) {
      const lb = total[k]! - la[k]!;
      prim += w[k]! * Math.max(othersMax[k]!, la[k]!, lb);
      va += w[k]! * la[k]!;
      vb += w[k]! * lb;
    }
    return [prim, va * va + vb * vb];
  };
  const cur = score(st.loads[a]!);
  const tolP = 1e-12 * Math.max(1, cur[0]);
  const tolS = 1e-12 * Math.max(1, cur[1]);

  const union: number[] = [];
  st.assign.forEach((d, h) => {
    if (d === a || d === b) union.push(h);
  });
  const byGroup = new Map<number, number[]>();
  for (const h of union) {
    const grp = Math.floor(h / geo.groupSize);
    const arr = byGroup.get(grp);
    if (arr) arr.push(h);
    else byGroup.set(grp, [h]);
  }
  const groups = [...byGroup.values()].map((hs) => groupOptions(hs, costs, geo.chunkSize));
  // Suffix max counts for feasibility pruning.
  const n = groups.length;
  const maxRest = Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) maxRest[i] = maxRest[i + 1]! + Math.max(...groups[i]!.map((o) => o.count));
  const need = p.equalCount === false ? -1 : geo.headsPerRank;

  let best = cur;
  let bestPick: number[] | undefined;
  const pick: number[] = Array<number>(n).fill(0);
  const la = Array<number>(K).fill(0);
  let nodes = 0;
  const rec = (i: number, count: number) => {
    if (nodes++ > nodeCap) return;
    if (need >= 0 && (count > need || count + maxRest[i]! < need)) return;
    // Bound: A only grows from here.
    let lbPrim = 0;
    for (let k = 0; k < K; k++) lbPrim += w[k]! * Math.max(othersMax[k]!, la[k]!);
    if (lbPrim > best[0] + tolP) return;
    if (i === n) {
      if (need >= 0 && count !== need) return;
      const s = score(la);
      if (s[0] < best[0] - tolP || (s[0] <= best[0] + tolP && s[1] < best[1] - tolS)) {
        best = s;
        bestPick = [...pick];
      }
      return;
    }
    const opts = groups[i]!;
    for (let j = 0; j < opts.length; j++) {
      const o = opts[j]!;
      pick[i] = j;
      for (let k = 0; k < K; k++) la[k]! += o.load[k]!;
      rec(i + 1, count + o.count);
      for (let k = 0; k < K; k++) la[k]! -= o.load[k]!;
    }
  };
  rec(0, 0);
  if (!bestPick) return undefined;
  const headsA = bestPick.flatMap((j, i) => groups[i]![j]!.heads);
  const inA = new Set(headsA);
  return { headsA, headsB: union.filter((h) => !inA.has(h)) };
};

// ---------------------------------------------------------------- solve

/** Put ranks that share a KV slot (T > S) next to each other, each run of ranks holding one group's chunk set. */
const relabelForSharedSlots = (assign: number[], geo: EngineGeometry): number[] => {
  if (geo.ranksPerSlot <= 1) return assign;
  const groupOfRank = Array<number>(geo.tp).fill(0);
  assign.forEach((d, h) => {
    groupOfRank[d] = Math.floor(h / geo.groupSize);
  });
  const order = Array.from({ length: geo.tp }, (_, d) => d).sort((x, y) => groupOfRank[x]! - groupOfRank[y]! || x - y);
  const newIndex = Array<number>(geo.tp).fill(0);
  order.forEach((d, i) => {
    newIndex[d] = i;
  });
  return assign.map((d) => newIndex[d]!);
};

export const solveEngineLayer = (p: EngineLayerProblem): EngineLayerResult => {
  const t0 = performance.now();
  const { costs, weights: w, geometry: geo } = p;
  const K = costs.length;
  const T = geo.tp;
  const key = Array.from({ length: geo.queryHeads }, (_, h) => costs.reduce((s, row, k) => s + w[k]! * row[h]!, 0));
  const eq = p.equalCount !== false;
  const starts: [string, number[]][] = [
    ['contiguous', contiguousStart(geo)],
    ['chunk-lpt', chunkLptStart(key, geo, false, eq)],
    ['snake-lpt', chunkLptStart(key, geo, true, eq)],
  ].filter(([, a]) => isEngineValid(a as number[], geo, eq)) as [string, number[]][];
  let bestName = '';
  let st: State | undefined;
  let bestObj = Infinity;
  for (const [name, a] of starts) {
    const loads = loadsOf(a, costs, T);
    const o = objectiveOf(loads, w);
    if (o < bestObj - EPS * Math.max(1, o)) {
      bestObj = o;
      st = { assign: a, loads };
      bestName = name;
    }
  }
  const lowerBounds = costs.map((row) => engineLowerBound(row, geo, eq));
  const lb = lowerBounds.reduce((s, v, k) => s + w[k]! * v, 0);
  let improvements = 0;
  const deadline = t0 + p.timeLimitMs;
  const cap = p.pairNodeCap ?? 200_000;
  let improved = true;
  while (improved && performance.now() < deadline && objectiveOf(st!.loads, w) > lb * (1 + 1e-9)) {
    improved = false;
    for (let a = 0; a < T && performance.now() < deadline; a++) {
      for (let b = a + 1; b < T; b++) {
        const r = bestPairSplit(st!, a, b, p, cap);
        if (!r) continue;
        for (const h of r.headsA) st!.assign[h] = a;
        for (const h of r.headsB) st!.assign[h] = b;
        for (const d of [a, b]) st!.loads[d]!.fill(0);
        st!.assign.forEach((d, h) => {
          if (d === a || d === b) for (let k = 0; k < K; k++) st!.loads[d]![k]! += costs[k]![h]!;
        });
        improvements++;
        improved = true;
      }
    }
  }
  // One length, equal counts: the class DP proves the incumbent optimal or finds better (bounded by the deadline).
  let proven = false;
  if (K === 1 && eq && objectiveOf(st!.loads, w) > lb * (1 + 1e-9) && performance.now() < deadline) {
    // The DP gets a quarter of the layer's budget (at least 50 ms, never past the deadline): it either proves the
    // local optimum quickly or is not worth the wait.
    const exactDeadline = Math.min(deadline, performance.now() + Math.max(50, p.timeLimitMs / 4));
    const ex = exactEngineLayer(costs[0]!, geo, objectiveOf(st!.loads, w) / Math.max(w[0]!, 1e-300), exactDeadline, p.exactStateCap);
    if (ex.assignment) {
      st = { assign: ex.assignment, loads: loadsOf(ex.assignment, costs, T) };
      improvements++;
    }
    proven = ex.proven;
  }
  const assignment = relabelForSharedSlots(st!.assign, geo);
  const loadsDK = loadsOf(assignment, costs, T);
  const loads = Array.from({ length: K }, (_, k) => loadsDK.map((row) => row[k]!));
  const makespan = loads.map((row) => Math.max(0, ...row));
  const objective = makespan.reduce((s, v, k) => s + w[k]! * v, 0);
  const lbFinal = proven ? objective : lb;
  const gap = lbFinal > 0 ? Math.max(0, objective / lbFinal - 1) : 0;
  const status: LayerStatus = gap <= 1e-9 ? 'optimal' : performance.now() >= deadline ? 'timedout' : 'feasible';
  return {
    layer: p.layer,
    status,
    assignment,
    objective,
    lowerBound: Math.min(lbFinal, objective),
    gap,
    makespan,
    lowerBounds: proven ? [...makespan] : lowerBounds.map((v, k) => Math.min(v, makespan[k]!)),
    loads,
    seconds: (performance.now() - t0) / 1000,
    start: bestName,
    improvements,
  };
};
