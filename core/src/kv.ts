/**
 * KV residency: which devices hold a copy of each KV head, per layer, given a placement and split heads.
 * A device holds KV head g of layer l when it runs any query head of group g there, whole or as a split part.
 * One definition, used by the validator, the solvers (memory / replication caps) and the plan writers.
 *
 * Bytes of one KV head copy at context N: 2 (K and V) · headDim · bytesPerElement · N.
 */
import { kvHeadOf, type ModelShape } from './model.ts';

export interface SplitLike {
  readonly layer: number;
  readonly head: number;
  readonly parts: ReadonlyArray<{ readonly device: number; readonly rowStart: number; readonly rowEnd: number }>;
}

/** Bytes of one copy of one KV head (K and V) at context n. */
export const kvHeadBytes = (m: ModelShape, n: number, bytesPerElement = 2): number => 2 * m.headDim * bytesPerElement * n;

/**
 * For one layer: hosts[g] = sorted device indices holding KV head g. The home device of a group (the one that
 * is not charged as a copy) is the primary device of its first query head: `placement[g·groupSize]`.
 */
export const kvHostsOfLayer = (
  m: ModelShape,
  placementRow: ReadonlyArray<number>,
  splitsOfLayer: ReadonlyArray<SplitLike>,
): number[][] => {
  const sets: Set<number>[] = Array.from({ length: m.kvHeads }, () => new Set<number>());
  const split = new Map<number, SplitLike>();
  for (const s of splitsOfLayer) split.set(s.head, s);
  for (let q = 0; q < m.queryHeads; q++) {
    const g = kvHeadOf(m, q);
    const s = split.get(q);
    if (s) for (const p of s.parts) sets[g]!.add(p.device);
    else sets[g]!.add(placementRow[q]!);
  }
  return sets.map((s) => [...s].sort((a, b) => a - b));
};

/**
 * For one layer: extra[d] = extra KV head copies device d receives, i.e. the KV heads it hosts (`kvHostsOfLayer`)
 * other than those whose home it is. What the KV-copy cost terms charge (core loads.ts).
 */
export const kvExtraCopiesOfLayer = (
  m: ModelShape,
  deviceCount: number,
  placementRow: ReadonlyArray<number>,
  splitsOfLayer: ReadonlyArray<SplitLike>,
): number[] => extraOfHosts(m, deviceCount, placementRow, kvHostsOfLayer(m, placementRow, splitsOfLayer));

const extraOfHosts = (m: ModelShape, deviceCount: number, placementRow: ReadonlyArray<number>, hosts: ReadonlyArray<ReadonlyArray<number>>): number[] => {
  const row = Array<number>(deviceCount).fill(0);
  hosts.forEach((hs, g) => {
    const home = placementRow[g * (m.queryHeads / m.kvHeads)]!;
    for (const d of hs) if (d !== home && d >= 0 && d < deviceCount) row[d]!++;
  });
  return row;
};

export interface KvSummary {
  /** Extra copies beyond one per (layer, KV head). */
  readonly copies: number;
  /** Bytes of those extra copies. */
  readonly bytes: number;
  /** KV bytes held by each device, all layers together. */
  readonly deviceBytes: number[];
  /** extra[l][d]: extra KV head copies device d receives in layer l (not counting home copies). */
  readonly extra: number[][];
}

/** Whole-model KV residency summary. */
export const kvSummary = (
  m: ModelShape,
  n: number,
  deviceCount: number,
  placement: ReadonlyArray<ReadonlyArray<number>>,
  splits: ReadonlyArray<SplitLike>,
  bytesPerElement = 2,
): KvSummary => {
  const one = kvHeadBytes(m, n, bytesPerElement);
  const deviceBytes = Array<number>(deviceCount).fill(0);
  const extra: number[][] = [];
  let copies = 0;
  for (let l = 0; l < placement.length; l++) {
    const hosts = kvHostsOfLayer(m, placement[l]!, splits.filter((s) => s.layer === l));
    for (const hs of hosts) for (const d of hs) if (d < deviceCount) deviceBytes[d]! += one;
    const row = extraOfHosts(m, deviceCount, placement[l]!, hosts);
    for (const k of row) copies += k;
    extra.push(row);
  }
  return { copies, bytes: copies * one, deviceBytes, extra };
};
