/**
 * From an `hplb.plan/1` plan to an `hplb.engine-layout/1` layout: the per-layer head order (qSource), KV slots
 * (kvSource, with copies), budgets in the new order, per-rank lists, the engine geometry and config changes.
 * Used by `exportEngineLayout` (export.ts, behind `hplb export`); `applyLayout` (`@hplb/engines/node`, behind
 * `hplb apply`) consumes the result.
 *
 * The engines shard contiguously: rank t runs positions [t·H'/T, (t+1)·H'/T) and its KV slots, and position p
 * reads slot floor(p / (H'/S)). So each rank's heads are laid out slot by slot, every slot holding c heads of one
 * KV group. A plan from `hplb plan --engine-layout` carries its slots (`engineLayout`); any other plan is derived:
 * it must have equal heads per rank, and c is the largest chunk that divides every (layer, rank, group) count.
 * Split heads become virtual heads with a row range (tier 3: a row-range-aware attention backend); layers with
 * fewer virtual heads are padded with zero-weight heads (qSource null) so all layers share one head count.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import {
  NonNegativeInt,
  PositiveInt,
  decode,
  hplbError,
  issue,
  type HplbError,
  type Issue,
  type Plan,
} from '@hplb/core';
import {
  ENGINE_LAYOUT_FORMAT,
  validateEngineLayout,
  type EngineLayout,
  type EngineName,
} from '@hplb/core';

interface VHead {
  readonly q: number | null;
  readonly rowRange: { rowStart: number; rowEnd: number } | null;
}

interface Slot {
  readonly kvHead: number;
  readonly heads: VHead[];
}

/**
 * The `engineLayout` extension a plan from `hplb plan --engine-layout` carries, as far as export reads it: decoded at
 * the edge (a plan file is external input), so a missing or malformed `slots` list is a Left at its path, not a crash.
 */
const ExtSlotC = t.type({ kvHead: NonNegativeInt, queryHeads: t.array(NonNegativeInt, 'a list of query head indices') }, 'a slot {kvHead, queryHeads}');
const PlanEngineExtC = t.intersection([
  t.type({
    tp: PositiveInt,
    kvSlots: PositiveInt,
    chunkSize: PositiveInt,
    ranksPerSlot: PositiveInt,
    layers: t.array(t.type({ ranks: t.array(t.type({ slots: t.array(ExtSlotC, 'a list of slots') }, 'a rank {slots}'), 'a list of ranks') }, 'a layer {ranks}'), 'a list of layers'),
  }),
  t.partial({ lengths: t.unknown, candidates: t.unknown, kvCopies: t.number }),
], 'the engine-layout extension');
type ExtSlot = t.TypeOf<typeof ExtSlotC>;
type PlanEngineExt = t.TypeOf<typeof PlanEngineExtC>;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export const TIER3_REQUIREMENT =
  'Virtual heads (split heads) compute only their query rows [rowStart, rowEnd) and contribute zero elsewhere; the o_proj all-reduce sums the parts. ' +
  'This needs a row-range-aware attention backend (tier 3), which no engine (vLLM, SGLang, TensorRT-LLM) ships today. A stock engine would run every virtual head over all rows and double-count them.';

const ENGINE_NOTES: Record<EngineName, string[]> = {
  vllm: [
    'Tier 1: load the rewritten checkpoint with `vllm serve <out-dir> --tensor-parallel-size T`; QKVParallelLinear and RowParallelLinear shard the permuted rows/columns contiguously, which is exactly this layout.',
    'num_key_value_heads in config.json is the number of KV slots (K/V copies included); vLLM replicates a slot itself when T exceeds it.',
    'MInference sparse attention: point its config path at the re-indexed budget file (minferenceConfig), whose head i is the head at new position i.',
  ],
  sglang: [
    'Tier 1: `python -m sglang.launch_server --model-path <out-dir> --tp T`; SGLang shards QKV and O the same contiguous way as vLLM.',
    'num_key_value_heads in config.json is the number of KV slots (K/V copies included).',
  ],
  trtllm: [
    'Tier 1: convert the rewritten Hugging Face checkpoint as usual (`convert_checkpoint.py --model_dir <out-dir> --tp_size T`), then `trtllm-build`; the converter splits heads contiguously per rank.',
    'num_key_value_heads in config.json is the number of KV slots (K/V copies included).',
  ],
};

/** Per layer, per rank: the slots, from the plan's engine extension or derived from placement and splits. */
const rankSlots = (plan: Plan, ext: PlanEngineExt | undefined): E.Either<HplbError, { slots: Slot[][][]; c: number; kvSlots: number; ranksPerSlot: number }> => {
  const m = plan.model;
  const T = plan.devices.length;
  const gs = m.queryHeads / m.kvHeads;
  const issues: Issue[] = [];
  const add = (path: string, expected: string, actual?: unknown) => {
    // The first violation is the message (the CLI prints one line); the rest usually follow from it.
    if (issues.length < 1) issues.push(issue(path, expected, actual));
  };
  const splits = plan.splits ?? [];
  if (ext && splits.length === 0) {
    if (ext.tp !== T) add('$.engineLayout.tp', `${T} (the plan's devices)`, ext.tp);
    if (ext.layers.length !== m.layers) add('$.engineLayout.layers', `${m.layers} layers`, ext.layers.length);
    const out: Slot[][][] = [];
    ext.layers.forEach((L, l) => {
      if (L.ranks.length !== T) add(`$.engineLayout.layers[${l}].ranks`, `${T} ranks`, L.ranks.length);
      const seen = new Set<number>();
      out.push(
        L.ranks.map((R, t) =>
          R.slots.map((s, j) => {
            s.queryHeads.forEach((q, i) => {
              const path = `$.engineLayout.layers[${l}].ranks[${t}].slots[${j}].queryHeads[${i}]`;
              if (Math.floor(q / gs) !== s.kvHead) add(path, `a query head of KV group ${s.kvHead} (the slot's KV head); query head ${q} would run without its KV slot`, q);
              if (plan.placement[l]?.[q] !== t) add(path, `a head the plan places on rank ${t} ($.placement[${l}][${q}])`, plan.placement[l]?.[q]);
              if (seen.has(q)) add(path, `each query head once per layer; head ${q} repeats`, q);
              seen.add(q);
            });
            if (s.queryHeads.length !== ext.chunkSize) add(`$.engineLayout.layers[${l}].ranks[${t}].slots[${j}].queryHeads`, `${ext.chunkSize} heads (engineLayout.chunkSize)`, s.queryHeads.length);
            return { kvHead: s.kvHead, heads: s.queryHeads.map((q) => ({ q, rowRange: null })) };
          }),
        ),
      );
      if (seen.size !== m.queryHeads) add(`$.engineLayout.layers[${l}]`, `all ${m.queryHeads} query heads in slots`, seen.size);
    });
    if (issues.length > 0) return E.left(hplbError('invalid-plan', issues));
    return E.right({ slots: out, c: ext.chunkSize, kvSlots: ext.kvSlots, ranksPerSlot: ext.ranksPerSlot });
  }

  // Derive from placement + splits.
  const perRank: VHead[][][] = [];
  for (let l = 0; l < m.layers; l++) {
    const ranks = Array.from({ length: T }, () => [] as VHead[]);
    const split = new Map<number, (typeof splits)[number]>(splits.filter((s) => s.layer === l).map((s) => [s.head as number, s] as const));
    for (let q = 0; q < m.queryHeads; q++) {
      const s = split.get(q);
      if (s) for (const p of s.parts) ranks[p.device]!.push({ q, rowRange: { rowStart: p.rowStart, rowEnd: p.rowEnd } });
      else ranks[plan.placement[l]![q]!]!.push({ q, rowRange: null });
    }
    const counts = ranks.map((r) => r.length);
    if (splits.length === 0 && counts.some((c) => c !== counts[0]))
      add(`$.placement[${l}]`, `${m.queryHeads / T} query heads on every rank (the engines give each TP rank H/T heads; plan with equal heads per device or an engine layout)`, `counts ${counts.join(',')}`);
    perRank.push(ranks);
  }
  if (issues.length > 0) return E.left(hplbError('invalid-plan', issues));
  const nMax = Math.max(...perRank.flatMap((ranks) => ranks.map((r) => r.length)));
  let c = 0;
  for (const ranks of perRank)
    for (const r of ranks) {
      const byGroup = new Map<number, number>();
      for (const v of r) byGroup.set(Math.floor(v.q! / gs), (byGroup.get(Math.floor(v.q! / gs)) ?? 0) + 1);
      for (const n of byGroup.values()) c = gcd(c, n);
      if (nMax - r.length > 0) c = gcd(c, nMax - r.length);
    }
  const out: Slot[][][] = perRank.map((ranks) =>
    ranks.map((r) => {
      const byGroup = new Map<number, VHead[]>();
      for (const v of r) {
        const g = Math.floor(v.q! / gs);
        const arr = byGroup.get(g);
        if (arr) arr.push(v);
        else byGroup.set(g, [v]);
      }
      const slots: Slot[] = [];
      for (const g of [...byGroup.keys()].sort((a, b) => a - b)) {
        const hs = byGroup.get(g)!;
        for (let i = 0; i < hs.length; i += c) slots.push({ kvHead: g, heads: hs.slice(i, i + c) });
      }
      const pad = nMax - r.length;
      const kvPad = slots[0]?.kvHead ?? 0;
      for (let i = 0; i < pad; i += c) slots.push({ kvHead: kvPad, heads: Array.from({ length: c }, () => ({ q: null, rowRange: null })) });
      return slots;
    }),
  );
  return E.right({ slots: out, c, kvSlots: (nMax / c) * T, ranksPerSlot: 1 });
};

export interface BuildOptions {
  readonly engine: EngineName;
  readonly planFile?: string;
}

/** Build and validate the engine layout of a plan. Errors name the plan path that breaks the engines' rule. */
export const buildEngineLayout = (plan: Plan, opts: BuildOptions): E.Either<HplbError, EngineLayout> => {
  const m = plan.model;
  const T = plan.devices.length;
  const withFile = (e: HplbError): HplbError => (opts.planFile !== undefined ? { ...e, file: opts.planFile } : e);
  if (m.queryHeads % T !== 0)
    return E.left(withFile(hplbError('invalid-plan', [issue('$.devices', `a TP size that divides the ${m.queryHeads} query heads (engines give every rank H/T heads)`, T)])));
  const raw = (plan as unknown as { engineLayout?: unknown }).engineLayout;
  const decoded = raw === undefined ? E.right(undefined) : E.mapLeft((e: HplbError): HplbError => ({ ...e, code: 'invalid-plan', issues: e.issues.map((i) => ({ ...i, path: `$.engineLayout${i.path.slice(1)}` })) }))(decode(PlanEngineExtC, raw));
  if (E.isLeft(decoded)) return E.left(withFile(decoded.left));
  const ext = decoded.right;
  const rs = rankSlots(plan, ext);
  if (E.isLeft(rs)) return E.left(withFile(rs.left));
  const { slots, c, kvSlots: S, ranksPerSlot } = rs.right;
  const perRank = slots[0]![0]!.reduce((a, s) => a + s.heads.length, 0);
  const Hp = perRank * T;
  const slotsPerRank = Math.max(S / T, 1);
  if (!(S % T === 0 || T % S === 0))
    return E.left(withFile(hplbError('invalid-plan', [issue('$.devices', `a TP size that is a divisor or a multiple of the ${S} KV slots`, T)])));
  const virtual = slots.some((L) => L.some((r) => r.some((s) => s.heads.some((h) => h.rowRange !== null || h.q === null))));
  const layers = slots.map((ranks, l) => {
    const qSource: (number | null)[] = [];
    const rowRange: ({ rowStart: number; rowEnd: number } | null)[] = [];
    const kvSource: number[] = [];
    ranks.forEach((rank, t) => {
      for (const s of rank) {
        // When T > S, ranks sharing a slot list it once (on the first of them).
        if (ranksPerSlot === 1 || t % ranksPerSlot === 0) kvSource.push(s.kvHead);
        for (const h of s.heads) {
          qSource.push(h.q);
          rowRange.push(h.rowRange);
        }
      }
    });
    const budgets = qSource.map((q) => (q === null ? 1 : plan.budgets[l]![q]!));
    const rankLists = Array.from({ length: T }, (_, t) => {
      const qPositions = Array.from({ length: perRank }, (_, i) => t * perRank + i);
      const kvSlots = S >= T ? Array.from({ length: slotsPerRank }, (_, i) => t * slotsPerRank + i) : [Math.floor(t / ranksPerSlot)];
      return { rank: t, qPositions, kvSlots, qHeads: qPositions.map((p) => qSource[p] ?? -1), kvHeads: kvSlots.map((j) => kvSource[j]!) };
    });
    return {
      layer: l,
      qSource,
      kvSource,
      budgets,
      ...(virtual ? { rowRange } : {}),
      ranks: rankLists,
    };
  });
  const virtualCount = virtual ? Hp - m.queryHeads : 0;
  const configChanges: Record<string, number> = { num_key_value_heads: S, head_dim: m.headDim };
  if (Hp !== m.queryHeads) configChanges['num_attention_heads'] = Hp;
  const summary: Record<string, unknown> = {
    balanceEfficiency: plan.predicted.balanceEfficiency,
    unit: plan.predicted.unit,
    solver: plan.solver.name,
    ...(ext?.lengths ? { lengths: ext.lengths } : {}),
    ...(ext?.candidates ? { candidates: ext.candidates } : {}),
  };
  const layout = {
    format: ENGINE_LAYOUT_FORMAT,
    engine: opts.engine,
    tier: virtual ? 3 : 1,
    model: m,
    tpSize: T,
    kvCopies: S / m.kvHeads,
    contextLength: plan.contextLength,
    geometry: { headDim: m.headDim, queryHeads: Hp, kvSlots: S, queryHeadsPerSlot: Hp / S, slotsPerRank, ranksPerSlot, qkv: 'separate' },
    configChanges,
    layers,
    notes: [
      ...(virtual ? [TIER3_REQUIREMENT] : []),
      ...ENGINE_NOTES[opts.engine],
      `Chunk size ${c}: each KV slot serves ${Hp / S} query heads; every rank holds ${perRank} query heads and ${slotsPerRank} KV slot(s)${ranksPerSlot > 1 ? `, and ${ranksPerSlot} consecutive ranks share each slot` : ''}.`,
    ],
    ...(virtual ? { virtualHeads: { count: virtualCount, requirement: TIER3_REQUIREMENT } } : {}),
    source: { plan: opts.planFile ?? null, ...(plan.source ? { profile: plan.source } : {}) },
    summary,
  } as unknown as EngineLayout;
  const v = validateEngineLayout(layout);
  return E.isLeft(v) ? E.left(withFile({ ...v.left, code: 'invalid-plan', issues: v.left.issues.slice(0, 1) })) : E.right(layout);
};

/**
 * A MInference best-pattern config re-indexed to the new head order: entry i of layer l is the original entry of
 * qSource[i]. Tier 1 only (virtual heads have no MInference pattern of their own).
 */
export const reindexMinference = (layout: EngineLayout, config: unknown, file?: string): E.Either<HplbError, Record<string, unknown>[]> => {
  if (layout.tier !== 1) return E.left(hplbError('argument', [issue('$.minference', 'a tier-1 layout (virtual heads have no MInference pattern)')], file));
  if (!Array.isArray(config) || config.length !== layout.model.layers)
    return E.left(hplbError('decode', [issue('$', `a MInference config: a list of ${layout.model.layers} layers`, Array.isArray(config) ? config.length : typeof config)], file));
  const out: Record<string, unknown>[] = [];
  for (let l = 0; l < layout.layers.length; l++) {
    const src = config[l] as Record<string, unknown> | null;
    if (typeof src !== 'object' || src === null) return E.left(hplbError('decode', [issue(`$[${l}]`, 'an object of query head → pattern')], file));
    const row: Record<string, unknown> = {};
    for (const [p, q] of layout.layers[l]!.qSource.entries()) {
      const entry = src[String(q)];
      if (entry === undefined) return E.left(hplbError('decode', [issue(`$[${l}]["${q}"]`, `the pattern of query head ${q}`)], file));
      row[String(p)] = entry;
    }
    out.push(row);
  }
  return E.right(out);
};
