/**
 * From model-level input to one layer's `LayerProblem`: head costs through the cost model (a time matrix when a
 * fixed term makes time non-proportional to 1/speed), GQA groups (kv "group"), KV bookkeeping for kv "replicate"
 * (memory per device and the replication cap, both split evenly over the layers; per-copy cost terms), and the
 * previous placement of a stable re-plan. Used by the multi-layer driver and `assemblePlan`'s bounds.
 */
import { groupSize, headCost, kvCopyCost, kvHeadBytes, kvHeadOf, kvHomeCost, queryHeadsOfGroup } from '@hplb/core';
import type { LayerProblem, PlanInput } from './types.ts';

/** What one layer's problem is built from: the plan settings' model, devices, constraints, cost and KV fields, and the budgets. */
export type LayerSource = Pick<PlanInput, 'model' | 'contextLength' | 'budgets' | 'devices' | 'constraints' | 'costModel' | 'kvBytesPerElement' | 'kvReplicationCapBytes' | 'previous' | 'migrationWeight'>;

/** KV head copies each device may hold per layer: ⌊memory / (layers · bytes per copy)⌋ (null = unconstrained). */
export const kvCopiesPerLayer = (src: LayerSource): Array<number | null> => {
  const one = kvHeadBytes(src.model, src.contextLength, src.kvBytesPerElement ?? 2);
  return src.devices.map((d) => (d.memoryBytes === null ? null : Math.floor(d.memoryBytes / (src.model.layers * one))));
};

export const layerProblemOf = (src: LayerSource, layer: number, opts: { withKv?: boolean } = {}): LayerProblem => {
  const { model: m, contextLength: n, costModel: cm, devices } = src;
  const row = src.budgets[layer] ?? [];
  const deviceSpeeds = devices.map((d) => d.speed);
  const mixed = deviceSpeeds.some((s) => s !== deviceSpeeds[0]);
  // Item times must be core's headCost at the device's speed (what deviceLoadsOfLayer charges). Without a fixed term
  // that is headCost(…, 1) / speed; with one, mixed speeds need a time matrix, and identical devices of speed s ≠ 1
  // are priced at headCost(…, s) on unit speeds (dividing headCost(…, 1) by s would divide the fixed term too).
  const unitSpeeds = !mixed && cm.fixed > 0 && deviceSpeeds[0] !== 1;
  const speeds = unitSpeeds ? deviceSpeeds.map(() => 1) : deviceSpeeds;
  // A KV head's home projection (serving cost models) goes with its group's first query head: core loads.ts charges
  // it to that head's device.
  const s = groupSize(m);
  const item = (b: number, q: number, speed: number) => headCost(cm, b, n, speed) + (q % s === 0 ? kvHomeCost(cm, n, speed) : 0);
  const costs = row.map((b, q) => item(b, q, unitSpeeds ? deviceSpeeds[0]! : 1));
  const timeMatrix = mixed && (cm.fixed > 0 || (cm.kvHeadProjectionPerToken ?? 0) > 0) ? row.map((b, q) => deviceSpeeds.map((sp) => item(b, q, sp))) : undefined;
  const groups = src.constraints.kv === 'group' ? Array.from({ length: m.kvHeads }, (_, g) => queryHeadsOfGroup(m, g)) : undefined;
  const withKv = opts.withKv ?? true;
  const one = kvHeadBytes(m, n, src.kvBytesPerElement ?? 2);
  const caps = kvCopiesPerLayer(src);
  const hasMemory = caps.some((c) => c !== null);
  const copyCost = devices.map((d) => kvCopyCost(cm, one, n, d.speed));
  const hasCopyCost = src.constraints.kv === 'replicate' && copyCost.some((c) => c > 0);
  const cap = src.kvReplicationCapBytes;
  const hasCap = src.constraints.kv === 'replicate' && cap !== undefined && cap !== null;
  const prevRow = src.previous?.placement[layer];
  const previous = prevRow && prevRow.length === row.length && src.previous!.devices.length === devices.length ? [...prevRow] : undefined;
  return {
    layer,
    costs,
    speeds,
    ...(timeMatrix ? { timeMatrix } : {}),
    ...(groups ? { groups } : {}),
    equalHeadsPerDevice: src.constraints.equalHeadsPerDevice,
    ...(withKv && (hasMemory || hasCopyCost || hasCap) ? { kvGroupOf: row.map((_, q) => kvHeadOf(m, q)) } : {}),
    ...(withKv && hasMemory ? { maxKvPerDevice: caps } : {}),
    ...(withKv && hasCap ? { maxExtraKvCopies: Math.floor(cap! / (m.layers * one)) } : {}),
    ...(withKv && hasCopyCost ? { kvCopyCost: copyCost } : {}),
    ...(previous ? { previous, migrationWeight: src.migrationWeight ?? 0 } : {}),
  };
};
