/**
 * Per-device loads of one layer: THE arithmetic every part of hplb uses to say how long each device computes in a
 * layer. The plan validator (`recomputeLoads`), the simulator (`layerLoads`, `deviceLoads`, `simulate`) and the split
 * solver (`layerDeviceLoads` in @hplb/solvers) all call `deviceLoadsOfLayer`; the solvers' incremental `LoadState`
 * is tested against it.
 *
 * For device d, in this order (floating-point sums are order-sensitive, and plan files are compared byte for byte):
 *   1. for each query head h = 0 … H−1: a split head adds `partCost` of each of its parts to that part's device;
 *      a whole head adds `headCost` to its device `placement[h]`;
 *   2. then, once per device: extraKvCopies[d] · `kvCopyCost` (the extra KV head copies d receives, core kv.ts);
 *   3. then, for each KV head g = 0 … Hkv−1: `kvHomeCost` on its home device `placement[g · groupSize]` (only when the
 *      cost model has `kvHeadProjectionPerToken`: the serving model's K/V projections).
 * Devices out of range (a part's or head's device ∉ [0, G)) are skipped, missing budgets count as 0.
 */
import { WORK_COST_MODEL, headCost, kvCopyCost, kvHomeCost, partCost, type CostModel } from './cost.ts';
import { kvExtraCopiesOfLayer, kvHeadBytes, type SplitLike } from './kv.ts';
import type { ModelShape } from './model.ts';

// ---------------------------------------------------------------- model

/** Everything that decides one layer's device loads. */
export interface LayerLoadsInput {
  readonly model: ModelShape;
  readonly contextLength: number;
  /** budgets[h]: the layer's per-head token budgets. */
  readonly budgets: ReadonlyArray<number>;
  /** speeds[d]: relative speed of device d; its length is the device count G. */
  readonly speeds: ReadonlyArray<number>;
  /** placement[h]: device of query head h (of a split head: its first part's device, which is also its KV home). */
  readonly placement: ReadonlyArray<number>;
  /** This layer's split heads (their `layer` field is not consulted). Default: none. */
  readonly splits?: ReadonlyArray<SplitLike>;
  /** Default: `WORK_COST_MODEL` (token pairs). */
  readonly costModel?: CostModel;
  /** Bytes per KV element, for the KV-copy term. Default 2. */
  readonly kvBytesPerElement?: number;
  /**
   * extraKvCopies[d]: extra KV head copies device d receives (precomputed, e.g. `kvSummary(…).extra[layer]`).
   * Default: `kvExtraCopiesOfLayer` of this placement and these splits. Pass `[]` to leave KV-copy terms out.
   */
  readonly extraKvCopies?: ReadonlyArray<number>;
}

// ---------------------------------------------------------------- operations

/** loads[d]: time device d computes in this layer (heads, split parts and KV-copy terms; see the module comment). */
export const deviceLoadsOfLayer = (input: LayerLoadsInput): number[] => {
  const { model: m, contextLength: n, budgets, speeds, placement } = input;
  const cm = input.costModel ?? WORK_COST_MODEL;
  const splits = input.splits ?? [];
  const G = speeds.length;
  const row = Array<number>(G).fill(0);
  const split = new Map<number, SplitLike>();
  for (const s of splits) split.set(s.head, s);
  for (let h = 0; h < m.queryHeads; h++) {
    const b = budgets[h] ?? 0;
    const s = split.get(h);
    if (s) {
      for (const p of s.parts) if (p.device >= 0 && p.device < G) row[p.device]! += partCost(cm, b, n, p.rowStart, p.rowEnd, speeds[p.device]!);
    } else {
      const d = placement[h] ?? -1;
      if (d >= 0 && d < G) row[d]! += headCost(cm, b, n, speeds[d]!);
    }
  }
  const extra = input.extraKvCopies ?? kvExtraCopiesOfLayer(m, G, placement, splits);
  const copyBytes = kvHeadBytes(m, n, input.kvBytesPerElement ?? 2);
  for (let d = 0; d < G; d++) {
    const k = extra[d] ?? 0;
    if (k > 0) row[d]! += k * kvCopyCost(cm, copyBytes, n, speeds[d]!);
  }
  if ((cm.kvHeadProjectionPerToken ?? 0) > 0) {
    const s = m.queryHeads / m.kvHeads;
    for (let g = 0; g < m.kvHeads; g++) {
      const d = placement[g * s] ?? -1;
      if (d >= 0 && d < G) row[d]! += kvHomeCost(cm, n, speeds[d]!);
    }
  }
  return row;
};
