/**
 * Split heads: divide a layer's heaviest heads into query-row ranges that run on different GPUs, so that a head
 * heavier than a GPU's fair share no longer caps the layer's balance. Used by the multi-layer driver
 * (`hplb plan --split-heads [--max-splits K] [--min-rows R]`); the result is the plan's `splits` for one layer.
 *
 * A part covering rows [rowStart, rowEnd) of a head with budget b does Σ_{i=rowStart+1..rowEnd} min(i, b) token
 * pairs (core work.ts), costs `partCost` (fixed cost included) on its device, and the device receives a copy of the
 * head's KV (core kv.ts; charged through `kvCopyCost`: copy bytes plus the duplicated K/V projection) unless it
 * already holds one. Candidate layouts are scored by core's `deviceLoadsOfLayer`, the validator's own load function.
 *
 * A "split" is one cut of a head's rows: a head in k parts counts k − 1. The search, for a few target makespans T
 * between the mean load and mean / target:
 *   (a) shed: start from the whole-head assignment; each GPU above T moves the tail rows of its heaviest heads to
 *       the GPUs with room (best fit first, so usually one cut per critical GPU);
 *   (b) pack: first-fit-decreasing of whole heads into capacity T, the heads that fit nowhere are wrapped across
 *       the largest gaps;
 *   (c) McNaughton's wrap-around rule generalised to causal-row work (≤ G − 1 cuts, reaches T = mean in work units);
 *   (d) fill: the first G − k GPUs get the heaviest subsets of whole heads that fit in T, the last k GPUs take the
 *       rest by the wrap-around rule (≤ k − 1 cuts); the smallest k that reaches the target.
 * Cut rows are aligned to `rowAlign` and every part has at least `minRows` rows. Among the candidates that reach
 * the target efficiency within `maxSplits` cuts, the one with the fewest cuts wins (ties: lower makespan, then (a));
 * when none does, the lowest makespan wins. A layer whose whole-head placement already reaches the target is
 * returned unsplit, and splits are kept only when they lower the makespan (in seconds, split overheads can make
 * a split not pay).
 */
import { deviceLoadsOfLayer, kvCopyCost, kvHeadBytes, modelPrefixCost, partCost, groupSize, type CostModel, type ModelShape, type Split } from '@hplb/core';

export interface SplitLayerInput {
  layer: number;
  contextLength: number;
  budgets: ReadonlyArray<number>;
  speeds: ReadonlyArray<number>;
  costModel: CostModel;
  /** Whole-head placement to start from. */
  assignment: ReadonlyArray<number>;
  model: ModelShape;
  /** Most cuts in this layer (default G − 1). */
  maxSplits?: number;
  /** Fewest rows in any part (default rowAlign). */
  minRows?: number;
  /** Row alignment of cut points (default 64). */
  rowAlign?: number;
  /** Balance efficiency target (default 0.999). */
  target?: number;
  kvBytesPerElement?: number;
  /**
   * Keep every head's decode where the whole-head assignment put it: only (a) shed runs (whole heads stay), and each
   * split head's parts are mirrored so the part on its assigned device holds the last rows (decode runs on the part
   * that holds row N, so the decode step and its KV reads stay as in the whole-head assignment). What the serving
   * model's colocated candidate uses on top of the engines' contiguous split.
   */
  homeDecode?: boolean;
}

export interface SplitLayerResult {
  /** Primary device per head = first part's device. */
  placement: number[];
  splits: Split[];
  deviceLoad: number[];
  makespan: number;
}

interface Part {
  device: number;
  rowStart: number;
  rowEnd: number;
}

/** One layer's device loads for a placement and its splits: core's `deviceLoadsOfLayer` (the validator's arithmetic). */
export const layerDeviceLoads = (input: SplitLayerInput, placement: ReadonlyArray<number>, splits: ReadonlyArray<Split>): number[] =>
  deviceLoadsOfLayer({
    model: input.model,
    contextLength: input.contextLength,
    budgets: input.budgets,
    speeds: input.speeds,
    placement,
    splits,
    costModel: input.costModel,
    ...(input.kvBytesPerElement !== undefined ? { kvBytesPerElement: input.kvBytesPerElement } : {}),
  });

const efficiency = (loads: ReadonlyArray<number>) => {
  const max = Math.max(0, ...loads);
  return max === 0 ? 1 : loads.reduce((a, b) => a + b, 0) / loads.length / max;
};

/** Unit-speed time of rows [0, x) without the fixed cost (row and work terms): core's `modelPrefixCost`. */
const prefix = modelPrefixCost;

/** Context shared by the packers. */
interface Ctx {
  readonly input: SplitLayerInput;
  readonly n: number;
  readonly G: number;
  readonly align: number;
  readonly minRows: number;
  readonly b: ReadonlyArray<number>;
  readonly kvCopy: ReadonlyArray<number>;
  /** wholeTime[d·H + h] = pieceTime(h, 0, N, d): whole heads' times, computed once per layer (the packers, their
   * sorts and the fill's subset searches ask for them over and over). */
  readonly wholeTime: Float64Array;
  /** fill's whole-head rounds by capacity T: round d's heads (the same for every k, so computed once per T). */
  readonly fillRounds: Map<number, Array<ReadonlyArray<number>>>;
}

/** Time of rows [rs, re) of head h on device d (fixed cost included). */
const pieceTime = (c: Ctx, h: number, rs: number, re: number, d: number) =>
  partCost(c.input.costModel, c.b[h]!, c.n, rs, re, c.input.speeds[d]!);

/** Time of the whole head h on device d: `pieceTime(c, h, 0, N, d)`, from the table. */
const wholeTime = (c: Ctx, h: number, d: number) => c.wholeTime[d * c.b.length + h]!;

/**
 * Largest row r (aligned, or N) such that rows [rs, r) of head h fit in `time` on device d, leaving ≥ minRows
 * rows on both sides. Returns rs when no admissible cut fits.
 */
const fitRowsFrom = (c: Ctx, h: number, rs: number, time: number, d: number): number => {
  const cm = c.input.costModel;
  const b = c.b[h]!;
  if (pieceTime(c, h, rs, c.n, d) <= time) return c.n;
  const work = (time - cm.fixed) * c.input.speeds[d]!; // unit-speed time the rows may take beyond the fixed cost
  if (work <= 0) return rs;
  // Largest x with prefix(x) − prefix(rs) ≤ work: binary search on the monotone prefix.
  const want = prefix(cm, b, rs) + work;
  let lo = rs;
  let hi = c.n;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (prefix(cm, b, mid) <= want) lo = mid;
    else hi = mid - 1;
  }
  let r = Math.floor(lo / c.align) * c.align;
  if (c.n - r < c.minRows) r = Math.floor((c.n - c.minRows) / c.align) * c.align;
  return r - rs >= c.minRows ? r : rs;
};

/**
 * Smallest row r (aligned) such that rows [r, re) of head h fit in `time` on device d, leaving ≥ minRows rows on
 * both sides. Returns re when no admissible cut fits.
 */
const fitRowsBack = (c: Ctx, h: number, re: number, time: number, d: number): number => {
  const cm = c.input.costModel;
  const b = c.b[h]!;
  const work = (time - cm.fixed) * c.input.speeds[d]!; // unit-speed time the rows may take beyond the fixed cost
  if (work <= 0) return re;
  const want = prefix(cm, b, re) - work;
  let lo = 0;
  let hi = re;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (prefix(cm, b, mid) >= want) hi = mid;
    else lo = mid + 1;
  }
  let r = Math.ceil(lo / c.align) * c.align;
  if (r < c.minRows) r = Math.ceil(c.minRows / c.align) * c.align;
  return re - r >= c.minRows && r < re ? r : re;
};

interface Candidate {
  readonly name: string;
  readonly pieces: Part[][]; // per head; one part = whole
}

const cutsOf = (pieces: ReadonlyArray<ReadonlyArray<Part>>) => pieces.reduce((a, p) => a + p.length - 1, 0);

/** KV charge estimate while packing: placing a piece of head h on d costs a copy if d holds no head of h's group. */
const kvCharge = (c: Ctx, holds: ReadonlyArray<Set<number>>, h: number, d: number) =>
  holds[d]!.has(Math.floor(h / groupSize(c.input.model))) ? 0 : c.kvCopy[d]!;

/** (a) Shed from the whole-head assignment: GPUs above T move tail rows of their heaviest heads to GPUs with room. */
const shed = (c: Ctx, T: number): Candidate => {
  const H = c.b.length;
  const gsz = groupSize(c.input.model);
  const pieces: Part[][] = c.input.assignment.map((d) => [{ device: d, rowStart: 0, rowEnd: c.n }]);
  const load = Array<number>(c.G).fill(0);
  const holds = Array.from({ length: c.G }, () => new Set<number>());
  for (let h = 0; h < H; h++) {
    const d = c.input.assignment[h]!;
    load[d]! += wholeTime(c, h, d);
    holds[d]!.add(Math.floor(h / gsz));
  }
  const critical = Array.from({ length: c.G }, (_, d) => d).filter((d) => load[d]! > T).sort((a, b) => load[b]! - load[a]!);
  for (const d of critical) {
    const heads = Array.from({ length: H }, (_, h) => h).filter((h) => c.input.assignment[h] === d).sort((a, b) => wholeTime(c, b, d) - wholeTime(c, a, d));
    for (const h of heads) {
      if (load[d]! <= T) break;
      // Tail pieces from the end of the head, each to the receiver that fits the still-needed tail best.
      let re = c.n;
      const moved: Part[] = [];
      while (load[d]! > T) {
        const need = load[d]! - T; // time the sender must still lose
        const used = new Set([d, ...moved.map((p) => p.device)]);
        // Largest admissible row r such that moving rows [r, re) away sheds at least `need` from d.
        const shedRow = (() => {
          const r0 = fitRowsBack(c, h, re, need + c.input.costModel.fixed, d); // tail [r0, re) sheds ≤ need
          if (r0 >= re) return re - c.minRows >= c.minRows ? Math.floor((re - c.minRows) / c.align) * c.align : re;
          const sheds = (r: number) => pieceTime(c, h, 0, re, d) - pieceTime(c, h, 0, r, d);
          if (sheds(r0) >= need) return r0;
          const r1 = r0 - c.align;
          return r1 >= c.minRows ? r1 : re;
        })();
        let best = -1;
        let bestRoom = Infinity;
        let bestRow = re;
        for (let r = 0; r < c.G; r++) {
          if (used.has(r)) continue;
          const room = T - load[r]! - kvCharge(c, holds, h, r);
          if (room <= 0) continue;
          // Receiver r takes rows [row, re): the most it can take.
          const row = fitRowsBack(c, h, re, room, r);
          if (row >= re) continue;
          const takesAll = shedRow < re && row <= shedRow;
          // Prefer a receiver that takes the whole need (smallest such room); else the one that takes the most.
          const key = takesAll ? room : Infinity;
          if (best < 0 || key < bestRoom || (key === Infinity && bestRoom === Infinity && row < bestRow)) {
            best = r;
            bestRoom = key;
            bestRow = takesAll ? Math.max(row, shedRow) : row;
          }
        }
        if (best < 0 || bestRow >= re || bestRow < c.minRows) break;
        const before = pieceTime(c, h, 0, re, d);
        const after = pieceTime(c, h, 0, bestRow, d);
        load[d]! -= before - after;
        load[best]! += pieceTime(c, h, bestRow, re, best) + kvCharge(c, holds, h, best);
        holds[best]!.add(Math.floor(h / gsz));
        moved.push({ device: best, rowStart: bestRow, rowEnd: re });
        re = bestRow;
        if (moved.length >= c.G - 1) break;
      }
      if (moved.length > 0) pieces[h] = [{ device: d, rowStart: 0, rowEnd: re }, ...moved.reverse()];
    }
  }
  return { name: 'shed', pieces };
};

/** (b) First-fit-decreasing into capacity T; heads that fit nowhere are wrapped across the largest gaps. */
const pack = (c: Ctx, T: number): Candidate => {
  const H = c.b.length;
  const gsz = groupSize(c.input.model);
  const order = Array.from({ length: H }, (_, h) => h).sort((a, b) => wholeTime(c, b, 0) - wholeTime(c, a, 0) || a - b);
  const load = Array<number>(c.G).fill(0);
  const holds = Array.from({ length: c.G }, () => new Set<number>());
  const pieces: Part[][] = Array.from({ length: H }, () => []);
  const leftovers: number[] = [];
  const put = (h: number, p: Part) => {
    load[p.device]! += pieceTime(c, h, p.rowStart, p.rowEnd, p.device) + kvCharge(c, holds, h, p.device);
    holds[p.device]!.add(Math.floor(h / gsz));
    pieces[h]!.push(p);
  };
  for (const h of order) {
    let best = -1;
    let bestLeft = Infinity;
    for (let d = 0; d < c.G; d++) {
      const left = T - load[d]! - wholeTime(c, h, d) - kvCharge(c, holds, h, d);
      if (left >= 0 && left < bestLeft) {
        bestLeft = left;
        best = d;
      }
    }
    if (best >= 0) put(h, { device: best, rowStart: 0, rowEnd: c.n });
    else leftovers.push(h);
  }
  for (const h of leftovers) {
    let rs = 0;
    const used = new Set<number>();
    while (rs < c.n) {
      // The rest fits whole somewhere? Best fit.
      let best = -1;
      let bestLeft = Infinity;
      for (let d = 0; d < c.G; d++) {
        if (used.has(d)) continue;
        const left = T - load[d]! - pieceTime(c, h, rs, c.n, d) - kvCharge(c, holds, h, d);
        if (left >= 0 && left < bestLeft) {
          bestLeft = left;
          best = d;
        }
      }
      if (best >= 0) {
        put(h, { device: best, rowStart: rs, rowEnd: c.n });
        break;
      }
      // Else the largest gap takes as many rows as fit.
      const gaps = Array.from({ length: c.G }, (_, d) => d).filter((d) => !used.has(d)).sort((a, b) => load[a]! - load[b]!);
      let placed = false;
      for (const d of gaps) {
        const r = fitRowsFrom(c, h, rs, T - load[d]! - kvCharge(c, holds, h, d), d);
        if (r > rs) {
          put(h, { device: d, rowStart: rs, rowEnd: r });
          used.add(d);
          rs = r;
          placed = true;
          break;
        }
      }
      if (!placed) {
        // Nothing fits within T: the rest goes to the least-loaded unused device (T was too tight).
        const d = gaps[0] ?? pieces[h]![pieces[h]!.length - 1]!.device;
        if (used.has(d)) {
          pieces[h]![pieces[h]!.length - 1]!.rowEnd = c.n;
          load[d]! += pieceTime(c, h, rs, c.n, d);
        } else put(h, { device: d, rowStart: rs, rowEnd: c.n });
        break;
      }
    }
  }
  return { name: 'pack', pieces };
};

/** (c) McNaughton's wrap-around rule on causal-row work: fill devices in order up to T, wrapping heads. */
const mcnaughton = (c: Ctx, T: number): Candidate => {
  const H = c.b.length;
  const gsz = groupSize(c.input.model);
  const order = Array.from({ length: H }, (_, h) => h).sort((a, b) => wholeTime(c, b, 0) - wholeTime(c, a, 0) || a - b);
  const load = Array<number>(c.G).fill(0);
  const holds = Array.from({ length: c.G }, () => new Set<number>());
  const pieces: Part[][] = Array.from({ length: H }, () => []);
  let d = 0;
  for (const h of order) {
    let rs = 0;
    while (rs < c.n) {
      const room = T - load[d]! - kvCharge(c, holds, h, d);
      const last = d === c.G - 1 || pieces[h]!.length >= c.G - 1;
      const r = last ? c.n : fitRowsFrom(c, h, rs, room, d);
      if (r > rs) {
        load[d]! += pieceTime(c, h, rs, r, d) + kvCharge(c, holds, h, d);
        holds[d]!.add(Math.floor(h / gsz));
        pieces[h]!.push({ device: d, rowStart: rs, rowEnd: r });
        rs = r;
      }
      if (rs < c.n || T - load[d]! <= 0) {
        if (d < c.G - 1) d++;
      }
    }
  }
  return { name: 'mcnaughton', pieces };
};

/** Heaviest subset of `items` (times) with sum ≤ cap: bounded depth-first search, equal items deduplicated. */
const heaviestSubset = (items: ReadonlyArray<number>, cap: number, nodeLimit = 4000): number[] => {
  const suffix = new Float64Array(items.length + 1);
  for (let i = items.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + items[i]!;
  // The chosen indices as a stack (cur, depth) and the best so far as a copy of it (no arrays per improvement).
  const cur = new Int32Array(items.length);
  const best = new Int32Array(items.length);
  let depth = 0;
  let bestLen = 0;
  let bestSum = 0;
  let nodes = 0;
  const rec = (i: number, sum: number) => {
    if (sum > bestSum) {
      bestSum = sum;
      best.set(cur.subarray(0, depth));
      bestLen = depth;
    }
    if (i === items.length || bestSum >= cap * (1 - 1e-12) || sum + suffix[i]! <= bestSum || ++nodes > nodeLimit) return;
    if (sum + items[i]! <= cap) {
      cur[depth++] = i;
      rec(i + 1, sum + items[i]!);
      depth--;
    }
    let j = i + 1;
    while (j < items.length && items[j] === items[i]) j++; // skipping item i skips its equal copies too
    rec(j, sum);
  };
  rec(0, 0);
  return Array.from(best.subarray(0, bestLen));
};

/**
 * (d) Fill: the first G − k devices each get the heaviest subset of the remaining whole heads that fits in T (so
 * they end nearly full and need no part); the last k devices take the rest by the wrap-around rule: ≤ k − 1 cuts.
 * Identical devices only (the subset search uses one time per head).
 */
const fill = (c: Ctx, T: number, k: number): Candidate | null => {
  if (c.input.speeds.some((sp) => sp !== c.input.speeds[0])) return null;
  const H = c.b.length;
  const time = (h: number) => wholeTime(c, h, 0);
  let remaining = Array.from({ length: H }, (_, h) => h).sort((a, b) => time(b) - time(a) || a - b);
  const pieces: Part[][] = Array.from({ length: H }, () => []);
  // Round d depends only on T (and the rounds before it), not on k: rounds are remembered per T and reused.
  let rounds = c.fillRounds.get(T);
  if (!rounds) c.fillRounds.set(T, (rounds = []));
  for (let d = 0; d < c.G - k; d++) {
    let heads = rounds[d];
    if (heads === undefined) {
      heads = heaviestSubset(remaining.map(time), T).map((i) => remaining[i]!);
      rounds[d] = heads;
    }
    const chosen = new Set(heads);
    for (const h of chosen) pieces[h]!.push({ device: d, rowStart: 0, rowEnd: c.n });
    remaining = remaining.filter((h) => !chosen.has(h));
  }
  // Wrap-around over the last k devices.
  const gsz = groupSize(c.input.model);
  const load = Array<number>(c.G).fill(0);
  const holds = Array.from({ length: c.G }, () => new Set<number>());
  let d = c.G - k;
  for (const h of remaining) {
    let rs = 0;
    while (rs < c.n) {
      const last = d === c.G - 1;
      const r = last ? c.n : fitRowsFrom(c, h, rs, T - load[d]! - kvCharge(c, holds, h, d), d);
      if (r > rs) {
        load[d]! += pieceTime(c, h, rs, r, d) + kvCharge(c, holds, h, d);
        holds[d]!.add(Math.floor(h / gsz));
        pieces[h]!.push({ device: d, rowStart: rs, rowEnd: r });
        rs = r;
      }
      if (rs < c.n && d < c.G - 1) d++;
    }
  }
  return { name: 'fill', pieces };
};

/** Turn per-head pieces into (placement, splits); merges adjacent pieces on one device and drops empty ones. */
const toPlan = (layer: number, pieces: ReadonlyArray<ReadonlyArray<Part>>): { placement: number[]; splits: Split[] } => {
  const placement: number[] = [];
  const splits: Split[] = [];
  pieces.forEach((ps, h) => {
    const merged: Part[] = [];
    for (const p of ps) {
      if (p.rowEnd <= p.rowStart) continue;
      const prev = merged[merged.length - 1];
      if (prev && prev.device === p.device && prev.rowEnd === p.rowStart) prev.rowEnd = p.rowEnd;
      else merged.push({ ...p });
    }
    placement.push(merged[0]!.device);
    if (merged.length > 1) splits.push({ layer, head: h, parts: merged } as Split);
  });
  return { placement, splits };
};

/**
 * The same parts in mirrored row order: part [rs, re) becomes [N − re, N − rs), listed from row 0. Shed keeps a head's
 * first rows on its device and moves the tail; mirrored, its device keeps the last rows (and so the decode) and the
 * moved parts take the first rows, which need only a prefix of the keys.
 */
const mirrored = (c: Ctx, cand: Candidate): Candidate => ({
  name: `${cand.name}, mirrored`,
  pieces: cand.pieces.map((ps) => (ps.length <= 1 ? ps : [...ps].reverse().map((p) => ({ device: p.device, rowStart: c.n - p.rowEnd, rowEnd: c.n - p.rowStart })))),
});

/** Well-formed: parts tile [0, N) in order, distinct devices, ≥ minRows rows. */
const wellFormed = (c: Ctx, pieces: ReadonlyArray<ReadonlyArray<Part>>): boolean =>
  pieces.every((ps) => {
    let at = 0;
    const devs = new Set<number>();
    for (const p of ps) {
      if (p.rowStart !== at || p.rowEnd <= p.rowStart || devs.has(p.device) || p.device < 0 || p.device >= c.G) return false;
      if (ps.length > 1 && p.rowEnd - p.rowStart < Math.min(c.minRows, c.n)) return false;
      devs.add(p.device);
      at = p.rowEnd;
    }
    return at === c.n;
  });

/** Split one layer's heads (see the module comment). */
export function splitLayer(input: SplitLayerInput): SplitLayerResult {
  const G = input.speeds.length;
  const n = input.contextLength;
  const H = input.model.queryHeads;
  const align = Math.max(1, Math.floor(input.rowAlign ?? 64));
  const minRows = Math.max(1, Math.floor(input.minRows ?? align));
  const target = input.target ?? 0.999;
  const maxCuts = Math.min(input.maxSplits ?? G - 1, Math.max(0, G - 1) * H);
  const copyBytes = kvHeadBytes(input.model, n, input.kvBytesPerElement ?? 2);
  const c: Ctx = {
    input, n, G, align, minRows,
    b: input.budgets.map((x) => Math.min(Math.max(x, 0), n)),
    kvCopy: input.speeds.map((s) => kvCopyCost(input.costModel, copyBytes, n, s)),
    wholeTime: new Float64Array(G * input.budgets.length),
    fillRounds: new Map(),
  };
  for (let d = 0; d < G; d++) for (let h = 0; h < c.b.length; h++) c.wholeTime[d * c.b.length + h] = pieceTime(c, h, 0, n, d);
  const wholePlacement = [...input.assignment];
  const wholeLoads = layerDeviceLoads(input, wholePlacement, []);
  const whole: SplitLayerResult = { placement: wholePlacement, splits: [], deviceLoad: wholeLoads, makespan: Math.max(0, ...wholeLoads) };
  if (G <= 1 || maxCuts === 0 || efficiency(wholeLoads) >= target || 2 * minRows > n) return whole;

  const mean = wholeLoads.reduce((a, b) => a + b, 0) / G;
  const slack = 1 / target - 1;
  type Best = { r: SplitLayerResult; cuts: number; ok: boolean; rank: number };
  let best = null as Best | null;
  const consider = (cand: Candidate, rank: number) => {
    if (!wellFormed(c, cand.pieces)) return;
    const cuts = cutsOf(cand.pieces);
    if (cuts > maxCuts) return;
    const { placement, splits } = toPlan(input.layer, cand.pieces);
    const deviceLoad = layerDeviceLoads(input, placement, splits);
    const makespan = Math.max(0, ...deviceLoad);
    if (!(makespan < whole.makespan * (1 - 1e-12))) return; // split only where it pays
    const ok = efficiency(deviceLoad) >= target;
    const r = { placement, splits, deviceLoad, makespan };
    const better = !best
      || (ok && !best.ok)
      || (ok === best.ok && ok && (cuts < best.cuts || (cuts === best.cuts && (makespan < best.r.makespan * (1 - 1e-12) || (makespan <= best.r.makespan * (1 + 1e-12) && rank < best.rank)))))
      || (ok === best.ok && !ok && makespan < best.r.makespan * (1 - 1e-12));
    if (better) best = { r, cuts, ok, rank };
  };
  if (input.homeDecode) {
    for (const s of [0.97, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0]) consider(mirrored(c, shed(c, mean * (1 + s * slack))), 0);
    return best ? best.r : whole;
  }
  for (const s of [0.97, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0]) {
    const T = mean * (1 + s * slack);
    consider(shed(c, T), 0);
    consider(pack(c, T), 1);
    consider(mcnaughton(c, T), 2);
  }
  // (d) fill: nearly full devices first, the rest wrapped over the last k; the smallest k that reaches the target.
  const reachedWith = (): number => (best && best.ok ? best.cuts : Infinity);
  for (let k = 1; k < G && reachedWith() > k - 1; k++) {
    for (const s of [0.97, 0.9, 0.75, 0.5, 0.25, 0]) {
      const cand = fill(c, mean * (1 + s * slack), k);
      if (cand) consider(cand, 3);
    }
  }
  return best ? best.r : whole;
}
