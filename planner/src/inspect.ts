/**
 * `inspectProfile`: per-layer budget statistics of a profile at context N (what `hplb inspect` prints): each layer's
 * heads and the budget min / mean / max, the within-layer max/min ratio and the number of distinct values, recall
 * where the source gives it (MInference), and a summary. XAttention thresholds are top-p mass targets, not tokens:
 * without curves they are reported as they are, with `unit: "top-p"`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_CONTEXT_LENGTH, budgetsAt, type CurveProfile, type HplbError, type Profile } from '@hplb/core';

/** One layer's budget statistics. */
export interface LayerStats {
  readonly layer: number;
  readonly heads: number;
  readonly budgetMin: number;
  readonly budgetMean: number;
  readonly budgetMax: number;
  /** null when the layer's minimum is 0. */
  readonly maxOverMin: number | null;
  readonly distinct: number;
  /** MInference: the layer's lowest and mean recall (null when no head of the layer has one). */
  readonly recallMin?: number | null;
  readonly recallMean?: number | null;
}

/** Options of `inspectProfile`. */
export interface InspectOptions {
  /** Context length N (default: the profile's reference N, else 131072). */
  readonly contextLength?: number;
  /** Curve profiles: the attention mass each head keeps (default 0.95). */
  readonly recoveryTarget?: number;
  /** An hplb curve profile of the same model: turns XAttention top-p targets into tokens. */
  readonly curves?: CurveProfile;
  /** Named in errors. */
  readonly file?: string;
}

/** What `inspectProfile` returns (the JSON `hplb inspect --json` prints, less the format name and source). */
export interface ProfileInspection {
  readonly kind: Profile['kind'];
  readonly contextLength: number;
  /** "tokens" (budgets per query), or "top-p" for XAttention thresholds without curves. */
  readonly unit: 'tokens' | 'top-p';
  readonly model: { readonly name: string; readonly layers: number; readonly queryHeads: number; readonly kvHeads: number; readonly headDim: number };
  readonly layers: ReadonlyArray<LayerStats>;
  readonly summary: {
    readonly budgetMin: number;
    readonly budgetMean: number;
    readonly budgetMax: number;
    readonly distinct: number;
    readonly maxOverMinLargest: number | null;
    readonly layerMeanSpread: number | null;
  };
  readonly synthetic: boolean;
}

/** Per-layer statistics of a [layer][head] table. */
export const layerStats = (table: ReadonlyArray<ReadonlyArray<number>>): LayerStats[] =>
  table.map((row, layer) => {
    const min = Math.min(...row);
    const max = Math.max(...row);
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    return { layer, heads: row.length, budgetMin: min, budgetMean: mean, budgetMax: max, maxOverMin: min > 0 ? max / min : null, distinct: new Set(row).size };
  });

/** The statistics `hplb inspect` prints. Left: the budgets cannot be stated at N (e.g. curves of another model). */
export const inspectProfile = (profile: Profile, options: InspectOptions = {}): E.Either<HplbError, ProfileInspection> => {
  const n = options.contextLength ?? ('contextLength' in profile ? profile.contextLength : DEFAULT_CONTEXT_LENGTH);
  const curves = options.curves;
  const topPOnly = profile.kind === 'required' && profile.topP !== undefined && profile.budgets.length === 0 && curves === undefined;
  const unit = topPOnly ? 'top-p' : 'tokens';
  const valuesE: E.Either<HplbError, number[][]> = topPOnly
    ? E.right((profile as { topP: number[][] }).topP.map((r) => [...r]))
    : budgetsAt(profile, n, {
        ...(options.file !== undefined ? { file: options.file } : {}),
        ...(options.recoveryTarget !== undefined ? { recoveryTarget: options.recoveryTarget } : {}),
        ...(curves ? { curves } : {}),
      });
  return E.map((values: number[][]): ProfileInspection => {
    // MInference recall (share of dense attention mass the pattern keeps), per layer, where the source has it.
    const recall = profile.kind === 'required' && profile.recall?.some((r) => r.some((x) => x !== null)) ? profile.recall : undefined;
    const layers = layerStats(values).map((st) => {
      if (!recall) return st;
      const rs = (recall[st.layer] ?? []).filter((x): x is NonNullable<typeof x> => x !== null);
      return { ...st, recallMin: rs.length > 0 ? Math.min(...rs) : null, recallMean: rs.length > 0 ? rs.reduce((a, b) => a + b, 0) / rs.length : null };
    });
    const flat = values.flat();
    const means = layers.map((l) => l.budgetMean);
    const m = profile.model;
    const ratios = layers.map((l) => l.maxOverMin).filter((r): r is number => r !== null);
    return {
      kind: profile.kind,
      contextLength: n,
      unit,
      model: { name: m.name, layers: m.layers, queryHeads: m.queryHeads, kvHeads: m.kvHeads, headDim: m.headDim },
      layers,
      summary: {
        budgetMin: Math.min(...flat),
        budgetMean: flat.reduce((a, b) => a + b, 0) / flat.length,
        budgetMax: Math.max(...flat),
        distinct: new Set(flat).size,
        maxOverMinLargest: ratios.length > 0 ? Math.max(...ratios) : null,
        layerMeanSpread: Math.min(...means) > 0 ? Math.max(...means) / Math.min(...means) : null,
      },
      synthetic: profile.synthetic === true,
    };
  })(valuesE);
};
