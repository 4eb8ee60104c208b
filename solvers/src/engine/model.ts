/**
 * Engine-compatible planning for a whole model: every layer placed under the engines' sharding rule (geometry.ts)
 * for a K/V duplication factor r, over a distribution of context lengths (expected latency), with r either fixed or
 * chosen by cost (`auto`). Produces an `hplb.plan/1` plan that `validatePlan` accepts (equal heads per rank,
 * kv "replicate") plus the `engineLayout` extension that `hplb export` turns into an `hplb.engine-layout/1` file.
 *
 * What r costs, and how it is priced:
 *   - KV memory: each rank stores slotsPerRank = max(K·r/T, 1) KV heads per layer (2·headDim·bytes·N each);
 *   - K/V projection work: each rank projects those slots for every context token. One slot costs
 *     `projection.perTokenPerSlot` cost units per token (default: hidden = H·headDim token-pair equivalents, i.e.
 *     the 2·hidden·headDim multiply-adds of K and V for one token over the 2·headDim of one attention token pair;
 *     or the calibrated `kvProjectionPerToken`). It is the same on every rank, so it adds to the layer time.
 * Expected latency(r) = Σ_k w_k Σ_l (attention makespan_{l,k} + slotsPerRank · perTokenPerSlot · N_k).
 * `auto` picks the r with the lowest expected latency among those that fit memory (ties: fewer copies).
 * Used by `@hplb/engines` (`planEngineLayoutForProfile`, behind `hplb plan --engine-layout`) and
 * `examples/bench-engine-layout.ts`.
 *
 * Errors name the input's JSON paths, never CLI flags: `$.devices` (the TP ranks), `$.devices[*].speed`,
 * `$.devices[*].memoryBytes`, `$.lengths`, `$.kvCopies`, `$.equalHeadsPerDevice`.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  fail,
  headCost,
  kvHeadBytes,
  kvSummary,
  summarizeLoads,
  trivialBound,
  pigeonholeBound,
  validatePlan,
  recomputeLoads,
  PLAN_FORMAT,
  type CostModel,
  type Device,
  type HplbError,
  type ModelShape,
  type Plan,
} from '@hplb/core';
import type { LayerStatus } from '../types.ts';
import { engineGeometry, feasibleKvCopies, type EngineGeometry } from './geometry.ts';
import { solveEngineLayer, type EngineLayerResult } from './layer.ts';

/** One context length of the distribution, with the budgets the profile gives at that length. */
export interface LengthPoint {
  readonly contextLength: number;
  readonly weight: number;
  /** budgets[l][h] in tokens at this length. */
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
}

export interface EnginePlanInput {
  readonly model: ModelShape;
  /** The TP ranks (identical: engines shard over identical ranks). */
  readonly devices: ReadonlyArray<Device>;
  readonly lengths: ReadonlyArray<LengthPoint>;
  /** Attention cost per head; its KV-copy terms are not used (engine copies are priced by `projection`). */
  readonly costModel: CostModel;
  readonly kvCopies: number | 'auto';
  /** Per layer, per r. */
  readonly timeLimitMs: number;
  readonly kvBytesPerElement?: number;
  readonly projection: { readonly perTokenPerSlot: number; readonly source: string };
  readonly source?: Record<string, unknown>;
  readonly budgetPolicy?: Record<string, unknown>;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** What one duplication factor costs and gains (one row of the report). */
export interface KvCopiesCandidate {
  readonly kvCopies: number;
  readonly feasible: boolean;
  readonly reason?: string;
  readonly kvSlots?: number;
  readonly slotsPerRank?: number;
  /** Σ_k w_k Σ_l attention makespan. */
  readonly expectedAttention?: number;
  /** Σ_k w_k Σ_l projection time of the rank's slots. */
  readonly expectedProjection?: number;
  readonly expectedLatency?: number;
  /** Extra over r = 1: projection time (expected, whole model) and KV bytes per rank / in total at the longest N. */
  readonly extraProjection?: number;
  readonly extraKvBytesPerRank?: number;
  readonly extraKvBytesTotal?: number;
  /** Attention balance efficiency at each length (same order as lengths). */
  readonly efficiencyByLength?: number[];
  /**
   * The price of the engine rule against free placement (no equal counts, no slots), bracketed: expected attention
   * over a free placement we found, minus 1 (≤ the true price, since the free optimum is no worse than it), and over
   * the free lower bound, minus 1 (≥ the true price).
   */
  readonly priceVsFreePlacement?: number;
  readonly priceVsFreeBound?: number;
  readonly status?: LayerStatus;
  readonly gap?: number;
  readonly seconds?: number;
}

export interface EngineSlot {
  readonly kvHead: number;
  readonly queryHeads: number[];
}

/** The `engineLayout` extension written into the plan (public field names). */
export interface EngineLayoutExtension {
  readonly tp: number;
  readonly kvCopies: number;
  readonly kvSlots: number;
  readonly queryHeadsPerSlot: number;
  readonly slotsPerRank: number;
  readonly ranksPerSlot: number;
  readonly chunkSize: number;
  readonly chosenBy: 'fixed' | 'auto';
  /** layers[l].ranks[d].slots: each rank's KV slots with the query heads they serve (a rank sharing a slot lists its share). */
  readonly layers: { ranks: { slots: EngineSlot[] }[] }[];
  readonly objective: 'expected-latency';
  readonly lengths: {
    contextLength: number;
    weight: number;
    balanceEfficiency: number;
    contiguousEfficiency: number;
    freeBoundEfficiency: number;
    attentionTotal: number;
    /** Σ_l makespan of the engines' contiguous split at this length (same unit). */
    contiguousTotal: number;
    projectionTotal: number;
  }[];
  readonly pricing: { readonly projectionPerTokenPerSlot: number; readonly unit: string; readonly source: string };
  readonly candidates: KvCopiesCandidate[];
}

export interface EnginePlanResult {
  readonly plan: Plan & { engineLayout: EngineLayoutExtension };
  readonly candidates: KvCopiesCandidate[];
  readonly layers: EngineLayerResult[];
}

// ---------------------------------------------------------------- helpers

const efficiency = (loads: ReadonlyArray<ReadonlyArray<number>>): number => {
  let mean = 0;
  let max = 0;
  for (const row of loads) {
    mean += row.reduce((a, b) => a + b, 0) / row.length;
    max += Math.max(0, ...row);
  }
  return max === 0 ? 1 : mean / max;
};

/** Per-rank slots of one layer from an engine-valid assignment. */
export const slotsOfAssignment = (assign: ReadonlyArray<number>, geo: EngineGeometry): { slots: EngineSlot[] }[] => {
  const ranks = Array.from({ length: geo.tp }, () => new Map<number, number[]>());
  assign.forEach((d, h) => {
    const g = Math.floor(h / geo.groupSize);
    const m = ranks[d]!;
    const arr = m.get(g);
    if (arr) arr.push(h);
    else m.set(g, [h]);
  });
  return ranks.map((m) => {
    const slots: EngineSlot[] = [];
    for (const g of [...m.keys()].sort((a, b) => a - b)) {
      const hs = m.get(g)!;
      for (let i = 0; i < hs.length; i += geo.chunkSize) slots.push({ kvHead: g, queryHeads: hs.slice(i, i + geo.chunkSize) });
    }
    return { slots };
  });
};

const costsAt = (cm: CostModel, pt: LengthPoint, l: number): number[] => pt.budgets[l]!.map((b) => headCost(cm, Math.min(b, pt.contextLength), pt.contextLength));

// ---------------------------------------------------------------- solve one r

interface SolvedR {
  readonly geo: EngineGeometry;
  readonly layers: EngineLayerResult[];
  readonly candidate: KvCopiesCandidate;
}

/** A free placement (heads anywhere, any count) for the same lengths: the reference for the engine rule's price. */
const freeObjective = (inp: EnginePlanInput, T: number): number => {
  const m = inp.model;
  const g = m.queryHeads / m.kvHeads;
  const geo: EngineGeometry = {
    tp: T, kvCopies: 1, queryHeads: m.queryHeads, kvHeads: m.kvHeads, groupSize: g, kvSlots: m.kvHeads, queryHeadsPerSlot: g,
    chunkSize: 1, chunks: m.queryHeads, chunksPerRank: m.queryHeads / T, headsPerRank: m.queryHeads / T, slotsPerRank: 1, ranksPerSlot: 1,
  };
  const w = inp.lengths.map((p) => p.weight);
  let total = 0;
  for (let l = 0; l < m.layers; l++) {
    const costs = inp.lengths.map((pt) => costsAt(inp.costModel, pt, l));
    total += solveEngineLayer({ layer: l, costs, weights: w, geometry: geo, timeLimitMs: Math.min(inp.timeLimitMs, 50), equalCount: false }).objective;
  }
  return total;
};

const solveForR = (inp: EnginePlanInput, geo: EngineGeometry, baseSlotsPerRank: number, free: number, progress: (l: number) => void): SolvedR => {
  const m = inp.model;
  const t0 = performance.now();
  const w = inp.lengths.map((p) => p.weight);
  const layers: EngineLayerResult[] = [];
  let freeBound = 0;
  for (let l = 0; l < m.layers; l++) {
    const costs = inp.lengths.map((pt) => costsAt(inp.costModel, pt, l));
    layers.push(solveEngineLayer({ layer: l, costs, weights: w, geometry: geo, timeLimitMs: inp.timeLimitMs }));
    freeBound += costs.reduce((s, x, k) => s + w[k]! * Math.max(trivialBound(x, geo.tp), pigeonholeBound(x, geo.tp)), 0);
    progress(l + 1);
  }
  const expectedAttention = layers.reduce((s, r) => s + r.objective, 0);
  const projPerLayer = (slots: number) => inp.lengths.reduce((s, pt) => s + pt.weight * slots * inp.projection.perTokenPerSlot * pt.contextLength, 0);
  const expectedProjection = m.layers * projPerLayer(geo.slotsPerRank);
  const nMax = Math.max(...inp.lengths.map((p) => p.contextLength));
  const oneKv = kvHeadBytes(m, nMax, inp.kvBytesPerElement ?? 2);
  const status: LayerStatus = layers.every((r) => r.status === 'optimal') ? 'optimal' : layers.some((r) => r.status === 'timedout') ? 'timedout' : 'feasible';
  const lbTotal = layers.reduce((s, r) => s + r.lowerBound, 0);
  return {
    geo,
    layers,
    candidate: {
      kvCopies: geo.kvCopies,
      feasible: true,
      kvSlots: geo.kvSlots,
      slotsPerRank: geo.slotsPerRank,
      expectedAttention,
      expectedProjection,
      expectedLatency: expectedAttention + expectedProjection,
      extraProjection: m.layers * projPerLayer(geo.slotsPerRank - baseSlotsPerRank),
      extraKvBytesPerRank: (geo.slotsPerRank - baseSlotsPerRank) * m.layers * oneKv,
      extraKvBytesTotal: (geo.slotsPerRank - baseSlotsPerRank) * geo.tp * m.layers * oneKv,
      efficiencyByLength: inp.lengths.map((_, k) => efficiency(layers.map((r) => r.loads[k]!))),
      priceVsFreePlacement: free > 0 ? expectedAttention / free - 1 : 0,
      priceVsFreeBound: freeBound > 0 ? expectedAttention / freeBound - 1 : 0,
      status,
      gap: lbTotal > 0 ? Math.max(0, expectedAttention / lbTotal - 1) : 0,
      seconds: (performance.now() - t0) / 1000,
    },
  };
};

// ---------------------------------------------------------------- model-level

/** engineGeometry names its TP argument `$.tp`; in a plan input the TP size is the number of devices. */
const tpIsDevices = (e: HplbError): HplbError => ({ ...e, issues: e.issues.map((i) => (i.path === '$.tp' ? { ...i, path: '$.devices' } : i)) });

/** Check the input, solve for the requested r (or every feasible r for `auto`), and assemble a validated plan. */
export const planEngineLayout = (inp: EnginePlanInput): E.Either<HplbError, EnginePlanResult> => {
  const m = inp.model;
  const T = inp.devices.length;
  if (T === 0) return fail('argument', '$.devices', 'at least one TP rank', 0);
  if (inp.devices.some((d) => d.speed !== inp.devices[0]!.speed))
    return fail('argument', '$.devices[*].speed', 'identical speeds (engines shard tensor-parallel attention over identical ranks)', inp.devices.map((d) => d.speed).join(','));
  if (inp.lengths.length === 0) return fail('argument', '$.lengths', 'at least one context length');
  const wsum = inp.lengths.reduce((s, p) => s + p.weight, 0);
  if (!(Math.abs(wsum - 1) < 1e-6)) return fail('argument', '$.lengths', 'length weights that sum to 1', wsum);
  for (const [k, pt] of inp.lengths.entries()) {
    if (pt.budgets.length !== m.layers) return fail('decode', `$.lengths[${k}].budgets`, `${m.layers} layers`, pt.budgets.length);
    for (const [l, row] of pt.budgets.entries()) if (row.length !== m.queryHeads) return fail('decode', `$.lengths[${k}].budgets[${l}]`, `${m.queryHeads} query heads`, row.length);
  }
  const base = engineGeometry(m, T, 1);
  if (E.isLeft(base)) return E.left(tpIsDevices(base.left));
  let rs: number[];
  if (inp.kvCopies === 'auto') rs = feasibleKvCopies(m, T);
  else {
    const g = engineGeometry(m, T, inp.kvCopies);
    if (E.isLeft(g)) return E.left(tpIsDevices(g.left));
    rs = [inp.kvCopies];
  }
  const nMax = Math.max(...inp.lengths.map((p) => p.contextLength));
  const oneKv = kvHeadBytes(m, nMax, inp.kvBytesPerElement ?? 2);
  const mems = inp.devices.map((d) => d.memoryBytes).filter((b): b is number => b !== null);
  const memory = mems.length > 0 ? Math.min(...mems) : null;
  const total = rs.length * m.layers;
  let done = 0;
  const free = freeObjective(inp, T);
  const solved: SolvedR[] = [];
  const candidates: KvCopiesCandidate[] = [];
  for (const r of rs) {
    const geo = (engineGeometry(m, T, r) as E.Right<EngineGeometry>).right;
    const need = geo.slotsPerRank * m.layers * oneKv;
    if (memory !== null && need > memory) {
      candidates.push({ kvCopies: r, feasible: false, reason: `KV cache of ${geo.slotsPerRank} slots × ${m.layers} layers at N=${nMax} needs ${need} bytes per rank, more than the ${memory} bytes of memory given` });
      done += m.layers;
      continue;
    }
    const s = solveForR(inp, geo, base.right.slotsPerRank, free, (l) => inp.onProgress?.(done + l, total, `r=${r} layer ${l}/${m.layers}`));
    done += m.layers;
    solved.push(s);
    candidates.push(s.candidate);
  }
  if (solved.length === 0)
    return fail('infeasible', '$.devices[*].memoryBytes', `room for the KV cache of at least one duplication factor (${candidates.map((c) => `r=${c.kvCopies}: ${c.reason}`).join('; ')})`);
  const chosen = solved.reduce((best, s) => (s.candidate.expectedLatency! < best.candidate.expectedLatency! * (1 - 1e-12) ? s : best));
  return assemble(inp, chosen, candidates, inp.kvCopies === 'auto' ? 'auto' : 'fixed');
};

const assemble = (inp: EnginePlanInput, s: SolvedR, candidates: KvCopiesCandidate[], chosenBy: 'fixed' | 'auto'): E.Either<HplbError, EnginePlanResult> => {
  const m = inp.model;
  const geo = s.geo;
  // The plan's own N: the longest length (the KV cache is sized for it).
  let kStar = 0;
  inp.lengths.forEach((p, k) => {
    if (p.contextLength > inp.lengths[kStar]!.contextLength) kStar = k;
  });
  const pt = inp.lengths[kStar]!;
  const n = pt.contextLength;
  const { kvCopySecondsPerByte: _a, kvProjectionPerToken: _b, ...attentionOnly } = inp.costModel;
  const cm: CostModel = attentionOnly;
  const placement = s.layers.map((r) => r.assignment);
  const speed = inp.devices[0]!.speed;
  const loads = placement.map((row, l) => {
    const out = Array<number>(geo.tp).fill(0);
    row.forEach((d, h) => {
      out[d]! += headCost(cm, Math.min(pt.budgets[l]![h]!, n), n, speed);
    });
    return out;
  });
  const lower = s.layers.map((r, l) => Math.min(r.lowerBounds[kStar]! / speed, Math.max(...loads[l]!)));
  const kvBytesPerElement = inp.kvBytesPerElement ?? 2;
  const kv = kvSummary(m, n, geo.tp, placement, [], kvBytesPerElement);
  const w = inp.lengths.map((p) => p.weight);
  const lengths = inp.lengths.map((p, k) => {
    const contiguous = Array.from({ length: m.layers }, (_, l) => {
      const x = costsAt(inp.costModel, p, l);
      const out = Array<number>(geo.tp).fill(0);
      x.forEach((c, h) => {
        out[Math.floor(h / geo.headsPerRank)]! += c;
      });
      return out;
    });
    const free = Array.from({ length: m.layers }, (_, l) => {
      const x = costsAt(inp.costModel, p, l);
      return Math.max(trivialBound(x, geo.tp), pigeonholeBound(x, geo.tp));
    });
    const meanTotal = contiguous.reduce((acc, row) => acc + row.reduce((a, b) => a + b, 0) / geo.tp, 0);
    const attentionTotal = s.layers.reduce((acc, r) => acc + r.makespan[k]!, 0);
    return {
      contextLength: p.contextLength,
      weight: p.weight,
      balanceEfficiency: efficiency(s.layers.map((r) => r.loads[k]!)),
      contiguousEfficiency: efficiency(contiguous),
      freeBoundEfficiency: meanTotal / Math.max(free.reduce((a, b) => a + b, 0), 1e-300),
      attentionTotal,
      contiguousTotal: contiguous.reduce((acc, row) => acc + Math.max(...row), 0),
      projectionTotal: m.layers * geo.slotsPerRank * inp.projection.perTokenPerSlot * p.contextLength,
    };
  });
  void w;
  const status: LayerStatus = s.candidate.status ?? 'feasible';
  const engineLayout: EngineLayoutExtension = {
    tp: geo.tp,
    kvCopies: geo.kvCopies,
    kvSlots: geo.kvSlots,
    queryHeadsPerSlot: geo.queryHeadsPerSlot,
    slotsPerRank: geo.slotsPerRank,
    ranksPerSlot: geo.ranksPerSlot,
    chunkSize: geo.chunkSize,
    chosenBy,
    layers: placement.map((row) => ({ ranks: slotsOfAssignment(row, geo) })),
    objective: 'expected-latency',
    lengths,
    pricing: { projectionPerTokenPerSlot: inp.projection.perTokenPerSlot, unit: cm.unit, source: inp.projection.source },
    candidates,
  };
  const plan = {
    format: PLAN_FORMAT,
    model: m,
    contextLength: n,
    devices: inp.devices.map((d) => ({ ...d })),
    constraints: { equalHeadsPerDevice: true, kv: 'replicate' as const },
    budgets: pt.budgets.map((row) => row.map((b) => Math.min(b, n))),
    placement,
    predicted: summarizeLoads(cm.unit, loads, lower),
    solver: {
      name: `engine-layout(r=${geo.kvCopies})`,
      status,
      gap: s.candidate.gap ?? 0,
      seconds: s.candidate.seconds ?? 0,
      layers: s.layers.map((r) => ({ layer: r.layer, status: r.status, gap: r.gap })),
    },
    costModel: cm,
    kvBytesPerElement,
    kvReplication: { copies: kv.copies, bytes: kv.bytes },
    ...(inp.source ? { source: inp.source } : {}),
    ...(inp.budgetPolicy ? { budgetPolicy: inp.budgetPolicy } : {}),
    engineLayout,
  } as unknown as Plan & { engineLayout: EngineLayoutExtension };
  const v = validatePlan(plan);
  if (E.isLeft(v)) return E.left({ ...v.left, code: 'internal' });
  return E.right({ plan, candidates, layers: s.layers });
};

// ---------------------------------------------------------------- free placement over a length distribution

export interface FreeLengthsInput {
  readonly model: ModelShape;
  readonly devices: ReadonlyArray<Device>;
  readonly lengths: ReadonlyArray<LengthPoint>;
  readonly costModel: CostModel;
  readonly timeLimitMs: number;
  readonly equalHeadsPerDevice: boolean;
  readonly kv: 'group' | 'replicate';
  readonly kvBytesPerElement?: number;
  readonly source?: Record<string, unknown>;
  readonly budgetPolicy?: Record<string, unknown>;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** The `lengthDistribution` extension of a plan placed for several context lengths at once. */
export interface LengthDistributionExtension {
  readonly objective: 'expected-latency';
  readonly lengths: { contextLength: number; weight: number; balanceEfficiency: number; contiguousEfficiency: number; attentionTotal: number; contiguousTotal: number }[];
}

/**
 * One placement for a distribution of context lengths without the engine's slot rule (what a head-parallel runtime
 * can run): minimises Σ_k w_k Σ_l makespan_{l,k} with the same pair re-split search, heads (kv "replicate") or whole
 * GQA groups (kv "group") as items, counts equal or free. The plan's N is the longest length; every length's balance
 * is in `lengthDistribution`.
 */
export const planFreeLengths = (inp: FreeLengthsInput): E.Either<HplbError, { plan: Plan & { lengthDistribution: LengthDistributionExtension }; layers: EngineLayerResult[] }> => {
  const m = inp.model;
  const T = inp.devices.length;
  const H = m.queryHeads;
  const K = m.kvHeads;
  const g = H / K;
  if (T === 0) return fail('argument', '$.devices', 'at least one GPU', 0);
  if (inp.devices.some((d) => d.speed !== inp.devices[0]!.speed))
    return fail('argument', '$.devices[*].speed', 'identical speeds with a length distribution (plan heterogeneous GPUs at one context length)', inp.devices.map((d) => d.speed).join(','));
  const c = inp.kv === 'group' ? g : 1;
  if (inp.equalHeadsPerDevice && (H % T !== 0 || (H / T) % c !== 0)) {
    const ok = Array.from({ length: H }, (_, i) => i + 1).filter((t) => H % t === 0 && (H / t) % c === 0);
    return fail('infeasible', '$.equalHeadsPerDevice', `a GPU count that splits the ${H} query heads${c > 1 ? ` in whole GQA groups of ${c}` : ''} evenly (nearest feasible: ${ok.join(', ')})`, T);
  }
  const geo: EngineGeometry = {
    tp: T,
    kvCopies: 1,
    queryHeads: H,
    kvHeads: K,
    groupSize: g,
    kvSlots: K,
    queryHeadsPerSlot: g,
    chunkSize: c,
    chunks: H / c,
    chunksPerRank: H / c / T,
    headsPerRank: H / T,
    slotsPerRank: 1,
    ranksPerSlot: 1,
  };
  const w = inp.lengths.map((p) => p.weight);
  const layers: EngineLayerResult[] = [];
  const t0 = performance.now();
  for (let l = 0; l < m.layers; l++) {
    const costs = inp.lengths.map((pt) => costsAt(inp.costModel, pt, l));
    layers.push(solveEngineLayer({ layer: l, costs, weights: w, geometry: geo, timeLimitMs: inp.timeLimitMs, equalCount: inp.equalHeadsPerDevice }));
    inp.onProgress?.(l + 1, m.layers, `layer ${l + 1}/${m.layers}`);
  }
  let kStar = 0;
  inp.lengths.forEach((p, k) => {
    if (p.contextLength > inp.lengths[kStar]!.contextLength) kStar = k;
  });
  const pt = inp.lengths[kStar]!;
  const n = pt.contextLength;
  const placement = layers.map((r) => r.assignment);
  const kvBytesPerElement = inp.kvBytesPerElement ?? 2;
  const kv = kvSummary(m, n, T, placement, [], kvBytesPerElement);
  const base = {
    format: PLAN_FORMAT,
    model: m,
    contextLength: n,
    devices: inp.devices.map((d) => ({ ...d })),
    constraints: { equalHeadsPerDevice: inp.equalHeadsPerDevice, kv: inp.kv },
    budgets: pt.budgets.map((row) => row.map((b) => Math.min(b, n))),
    placement,
    costModel: inp.costModel,
    kvBytesPerElement,
    kvReplication: { copies: kv.copies, bytes: kv.bytes },
  } as unknown as Plan;
  const loads = recomputeLoads(base);
  const speed = inp.devices[0]!.speed;
  const lower = layers.map((r, l) => Math.min(r.lowerBounds[kStar]! / speed, Math.max(...loads[l]!)));
  const lengths = inp.lengths.map((p, k) => {
    const contiguous = Array.from({ length: m.layers }, (_, l) => {
      const x = costsAt(inp.costModel, p, l);
      const out = Array<number>(T).fill(0);
      x.forEach((cost, h) => {
        out[Math.min(T - 1, Math.floor((h * T) / H))]! += cost;
      });
      return out;
    });
    return {
      contextLength: p.contextLength,
      weight: p.weight,
      balanceEfficiency: efficiency(layers.map((r) => r.loads[k]!)),
      contiguousEfficiency: efficiency(contiguous),
      attentionTotal: layers.reduce((acc, r) => acc + r.makespan[k]!, 0),
      contiguousTotal: contiguous.reduce((acc, row) => acc + Math.max(...row), 0),
    };
  });
  const status: LayerStatus = layers.every((r) => r.status === 'optimal') ? 'optimal' : layers.some((r) => r.status === 'timedout') ? 'timedout' : 'feasible';
  const objective = layers.reduce((s, r) => s + r.objective, 0);
  const lb = layers.reduce((s, r) => s + r.lowerBound, 0);
  const plan = {
    ...base,
    predicted: summarizeLoads(inp.costModel.unit, loads, lower),
    solver: {
      name: 'lengths-pair-resplit',
      status,
      gap: lb > 0 ? Math.max(0, objective / lb - 1) : 0,
      seconds: (performance.now() - t0) / 1000,
      layers: layers.map((r) => ({ layer: r.layer, status: r.status, gap: r.gap })),
    },
    ...(inp.source ? { source: inp.source } : {}),
    ...(inp.budgetPolicy ? { budgetPolicy: inp.budgetPolicy } : {}),
    lengthDistribution: { objective: 'expected-latency', lengths } satisfies LengthDistributionExtension,
  } as unknown as Plan & { lengthDistribution: LengthDistributionExtension };
  const v = validatePlan(plan);
  if (E.isLeft(v)) return E.left({ ...v.left, code: 'internal' });
  return E.right({ plan, layers });
};
