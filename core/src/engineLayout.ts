/**
 * The engine layout format `hplb.engine-layout/1`: how to rewrite a checkpoint so that a stock serving engine
 * (vLLM, SGLang, TensorRT-LLM), which shards attention contiguously over tensor-parallel ranks, runs an hplb plan.
 * Written by `hplb export`, read by `hplb apply` (checkpoint rewrite) and checked by `validateEngineLayout`.
 *
 * Per layer, in the rewritten checkpoint's order:
 *   - `qSource[p]`: the original query head at new position p (q_proj rows, o_proj columns); `null` is a padding
 *     head with zero weights (tier 3 only, when layers have different numbers of virtual heads);
 *   - `kvSource[j]`: the original KV head at new KV slot j (k_proj/v_proj rows; duplicates are K/V copies);
 *   - `budgets[p]`: the token budget of the head at position p;
 *   - `rowRange[p]`: for a virtual head (a split head's part), the query rows [start, end) it computes;
 *   - `ranks[t]`: what TP rank t holds, for checking by eye.
 * The engine's rule binds them: position p reads slot floor(p / (H'/S)), so kvSource[floor(p/(H'/S))] must be
 * the KV head of qSource[p]; rank t holds positions [t·H'/T, (t+1)·H'/T) and slots [t·S/T, …) (or slot
 * floor(t/(T/S)) when T > S).
 * Tier 1: a permutation of whole heads (plus K/V copies); loads unchanged in every engine.
 * Tier 3: virtual heads with row ranges; needs a row-range-aware attention backend, which no engine ships today.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, NonNegativeInt, Positive, PositiveInt } from './brand.ts';
import { decode, hplbError, issue, type HplbError, type Issue } from './errors.ts';
import { ModelShapeC } from './model.ts';

export const ENGINE_LAYOUT_FORMAT = 'hplb.engine-layout/1' as const;
export const ENGINES = ['vllm', 'sglang', 'trtllm'] as const;
export type EngineName = (typeof ENGINES)[number];

export const RowRangeC = t.type({ rowStart: NonNegativeInt, rowEnd: NonNegativeInt }, 'RowRange');

export const EngineRankC = t.type({
  rank: NonNegativeInt,
  /** New query head positions on this rank. */
  qPositions: t.array(NonNegativeInt),
  /** New KV slots on this rank. */
  kvSlots: t.array(NonNegativeInt),
  /** Original query heads on this rank (qSource of qPositions; -1 for padding). */
  qHeads: t.array(t.number),
  /** Original KV heads on this rank (kvSource of kvSlots). */
  kvHeads: t.array(NonNegativeInt),
}, 'EngineRank');

export const EngineLayerC = t.intersection([
  t.type({
    layer: NonNegativeInt,
    qSource: t.array(t.union([NonNegativeInt, t.null])),
    kvSource: t.array(NonNegativeInt),
    budgets: t.array(NonNegative),
    ranks: t.array(EngineRankC),
  }),
  t.partial({ rowRange: t.array(t.union([RowRangeC, t.null])) }),
], 'EngineLayer');

export const EngineLayoutC = t.intersection([
  t.type({
    format: t.literal(ENGINE_LAYOUT_FORMAT),
    engine: t.union([t.literal('vllm'), t.literal('sglang'), t.literal('trtllm')]),
    /** 1: whole-head permutation + K/V copies (runs in stock engines); 3: virtual heads (row-range-aware backend). */
    tier: t.union([t.literal(1), t.literal(3)]),
    /** The original model. */
    model: ModelShapeC,
    tpSize: PositiveInt,
    /** K/V duplication factor: kvSlots / model.kvHeads. */
    kvCopies: Positive,
    contextLength: PositiveInt,
    geometry: t.type({
      headDim: PositiveInt,
      /** num_attention_heads of the rewritten checkpoint (H' ≥ H with virtual heads). */
      queryHeads: PositiveInt,
      /** num_key_value_heads of the rewritten checkpoint (S). */
      kvSlots: PositiveInt,
      queryHeadsPerSlot: PositiveInt,
      slotsPerRank: PositiveInt,
      ranksPerSlot: PositiveInt,
      qkv: t.union([t.literal('separate'), t.literal('fused')]),
    }),
    /** config.json keys to set in the rewritten checkpoint. */
    configChanges: t.record(t.string, t.number),
    layers: t.array(EngineLayerC),
    notes: t.array(t.string),
  }),
  t.partial({
    /** Present on tier 3: how many virtual heads, and the plain statement of what they need. */
    virtualHeads: t.type({ count: NonNegativeInt, requirement: t.string }),
    /** Re-indexed MInference budget file written alongside (path relative to the layout). */
    minferenceConfig: t.string,
    source: t.UnknownRecord,
    /** Balance and cost summary copied from the plan. */
    summary: t.UnknownRecord,
  }),
], 'EngineLayout');

export type EngineLayout = t.TypeOf<typeof EngineLayoutC>;
export type EngineLayer = t.TypeOf<typeof EngineLayerC>;
export type EngineRank = t.TypeOf<typeof EngineRankC>;

export const decodeEngineLayout = (u: unknown, file?: string): E.Either<HplbError, EngineLayout> => decode(EngineLayoutC, u, file);

/** Rank holding new position p, and the slot p reads, under the engines' contiguous sharding. */
export const slotOfPosition = (layout: Pick<EngineLayout, 'geometry'>, p: number): number => Math.floor(p / layout.geometry.queryHeadsPerSlot);

/** The consistency the codec cannot express; every violation with its JSON path. */
export const validateEngineLayout = (lay: EngineLayout, file?: string): E.Either<HplbError, EngineLayout> => {
  const out: Issue[] = [];
  const add = (path: string, expected: string, actual?: unknown) => {
    if (out.length < 20) out.push(issue(path, expected, actual));
  };
  const m = lay.model;
  const g = lay.geometry;
  const T = lay.tpSize;
  const H = m.queryHeads;
  const K = m.kvHeads;
  const gs = H / K;
  if (H % K !== 0) add('$.model.kvHeads', `a divisor of queryHeads (${H})`, K);
  if (g.headDim !== m.headDim) add('$.geometry.headDim', `${m.headDim} (model.headDim)`, g.headDim);
  if (g.qkv !== 'separate') add('$.geometry.qkv', '"separate" (a fused QKV projection needs its own row map; not supported)', g.qkv);
  if (g.queryHeads % T !== 0) add('$.tpSize', `a TP size that divides the ${g.queryHeads} query heads`, T);
  if (!(g.kvSlots % T === 0 || T % g.kvSlots === 0)) add('$.tpSize', `a TP size that is a divisor or a multiple of the ${g.kvSlots} KV slots`, T);
  if (g.queryHeads % g.kvSlots !== 0 || g.queryHeadsPerSlot !== g.queryHeads / g.kvSlots)
    add('$.geometry.queryHeadsPerSlot', `queryHeads / kvSlots = ${g.queryHeads / g.kvSlots}`, g.queryHeadsPerSlot);
  if (g.slotsPerRank !== Math.max(g.kvSlots / T, 1)) add('$.geometry.slotsPerRank', `${Math.max(g.kvSlots / T, 1)}`, g.slotsPerRank);
  if (g.ranksPerSlot !== Math.max(T / g.kvSlots, 1)) add('$.geometry.ranksPerSlot', `${Math.max(T / g.kvSlots, 1)}`, g.ranksPerSlot);
  if (Math.abs(lay.kvCopies - g.kvSlots / K) > 1e-9) add('$.kvCopies', `kvSlots / model.kvHeads = ${g.kvSlots / K}`, lay.kvCopies);
  if (lay.configChanges['num_key_value_heads'] !== g.kvSlots) add('$.configChanges.num_key_value_heads', `${g.kvSlots} (geometry.kvSlots)`, lay.configChanges['num_key_value_heads']);
  const hp = lay.configChanges['num_attention_heads'];
  if ((hp ?? H) !== g.queryHeads) add('$.configChanges.num_attention_heads', `${g.queryHeads} (geometry.queryHeads)`, hp);
  if (lay.tier === 1 && g.queryHeads !== H) add('$.geometry.queryHeads', `${H} on tier 1 (no virtual heads)`, g.queryHeads);
  if (lay.layers.length !== m.layers) add('$.layers', `${m.layers} layers`, lay.layers.length);
  if (out.length > 0) return E.left(hplbError('decode', out, file));

  const perRank = g.queryHeads / T;
  lay.layers.forEach((L, l) => {
    const p = `$.layers[${l}]`;
    if (L.layer !== l) add(`${p}.layer`, `${l}`, L.layer);
    if (L.qSource.length !== g.queryHeads) add(`${p}.qSource`, `${g.queryHeads} positions`, L.qSource.length);
    if (L.kvSource.length !== g.kvSlots) add(`${p}.kvSource`, `${g.kvSlots} KV slots`, L.kvSource.length);
    if (L.budgets.length !== g.queryHeads) add(`${p}.budgets`, `${g.queryHeads} budgets`, L.budgets.length);
    if (L.rowRange && L.rowRange.length !== g.queryHeads) add(`${p}.rowRange`, `${g.queryHeads} entries`, L.rowRange.length);
    if (lay.tier === 1 && L.rowRange && L.rowRange.some((r) => r !== null)) add(`${p}.rowRange`, 'no row ranges on tier 1 (row ranges are virtual heads: tier 3)');
    L.kvSource.forEach((kv, j) => {
      if (kv >= K) add(`${p}.kvSource[${j}]`, `a KV head index < ${K}`, kv);
    });
    // Every original head covered: once (tier 1), or by row ranges that tile [0, N) (tier 3).
    const cover = Array.from({ length: H }, () => [] as { s: number; e: number }[]);
    L.qSource.forEach((q, pos) => {
      if (q === null) {
        if (lay.tier === 1) add(`${p}.qSource[${pos}]`, 'a query head (padding heads exist only on tier 3)', null);
        return;
      }
      if (q >= H) {
        add(`${p}.qSource[${pos}]`, `a query head index < ${H}`, q);
        return;
      }
      const rr = L.rowRange?.[pos] ?? null;
      cover[q]!.push(rr ? { s: rr.rowStart, e: rr.rowEnd } : { s: 0, e: lay.contextLength });
      const slot = Math.floor(pos / g.queryHeadsPerSlot);
      const kv = L.kvSource[slot];
      if (kv !== undefined && kv !== Math.floor(q / gs))
        add(`${p}.qSource[${pos}]`, `a query head of KV group ${kv} (position ${pos} reads KV slot ${slot}, which holds KV head ${kv}); query head ${q} has lost its KV slot`, q);
      const b = L.budgets[pos];
      if (b !== undefined && !(b >= 1 && b <= lay.contextLength)) add(`${p}.budgets[${pos}]`, `a budget in [1, ${lay.contextLength}]`, b);
    });
    cover.forEach((parts, q) => {
      if (parts.length === 0) return add(`${p}.qSource`, `every query head placed; head ${q} is missing`);
      if (lay.tier === 1 && parts.length > 1) return add(`${p}.qSource`, `each query head once on tier 1; head ${q} appears ${parts.length} times`);
      parts.sort((a, b) => a.s - b.s);
      let at = 0;
      for (const r of parts) {
        if (r.s !== at || !(r.e > r.s)) return add(`${p}.rowRange`, `row ranges of head ${q} that tile [0, ${lay.contextLength}) without overlap`, `[${r.s}, ${r.e}) after row ${at}`);
        at = r.e;
      }
      if (at !== lay.contextLength) add(`${p}.rowRange`, `row ranges of head ${q} covering [0, ${lay.contextLength})`, `rows up to ${at}`);
      return undefined;
    });
    // Per-rank lists must match the engine's contiguous sharding.
    if (L.ranks.length !== T) add(`${p}.ranks`, `${T} ranks`, L.ranks.length);
    L.ranks.forEach((R, t) => {
      const rp = `${p}.ranks[${t}]`;
      const wantQ = Array.from({ length: perRank }, (_, i) => t * perRank + i);
      const wantS = g.kvSlots >= T ? Array.from({ length: g.slotsPerRank }, (_, i) => t * g.slotsPerRank + i) : [Math.floor(t / g.ranksPerSlot)];
      if (R.rank !== t) add(`${rp}.rank`, `${t}`, R.rank);
      if (R.qPositions.join(',') !== wantQ.join(',')) add(`${rp}.qPositions`, `positions ${wantQ[0]}..${wantQ[wantQ.length - 1]} (the engine's contiguous block)`, R.qPositions.join(','));
      if (R.kvSlots.join(',') !== wantS.join(',')) add(`${rp}.kvSlots`, `slots ${wantS.join(',')} (the engine's KV sharding)`, R.kvSlots.join(','));
      if (R.qHeads.join(',') !== wantQ.map((x) => L.qSource[x] ?? -1).join(',')) add(`${rp}.qHeads`, 'qSource of its positions');
      if (R.kvHeads.join(',') !== wantS.map((x) => L.kvSource[x]).join(',')) add(`${rp}.kvHeads`, 'kvSource of its slots');
    });
  });
  return out.length > 0 ? E.left(hplbError('decode', out, file)) : E.right(lay);
};
