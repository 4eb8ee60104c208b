/**
 * Split heads: divide a layer's heaviest heads into query-row ranges run on different GPUs, so a head heavier than
 * a GPU's fair share no longer caps the layer's balance. Used by the multi-layer driver (`--split-heads`).
 * Work in progress: the interface is fixed; the algorithm lands in the next commits.
 */
import type { CostModel, ModelShape, Split } from '@hplb/core';

export interface SplitLayerInput {
  layer: number;
  contextLength: number;
  budgets: ReadonlyArray<number>;
  speeds: ReadonlyArray<number>;
  costModel: CostModel;
  /** Whole-head placement to start from. */
  assignment: ReadonlyArray<number>;
  model: ModelShape;
  maxSplits?: number;
  minRows?: number;
  /** Row alignment of cut points (default 64). */
  rowAlign?: number;
  /** Balance efficiency target (default 0.999). */
  target?: number;
  kvBytesPerElement?: number;
}

export interface SplitLayerResult {
  /** Primary device per head = first part's device. */
  placement: number[];
  splits: Split[];
  deviceLoad: number[];
  makespan: number;
}

export function splitLayer(input: SplitLayerInput): SplitLayerResult {
  throw new Error(`splitLayer(layer ${input.layer}): not built yet (in progress)`);
}
