/**
 * The simulator: from a plan (budgets, placement, split heads) and a cost model, the per-layer × per-device busy and
 * idle time, each layer's makespan and critical devices, the total attention latency (Σ layer makespans: layers run
 * one after another, devices within a layer in parallel and wait for the slowest), the bubble fraction, and the
 * recovery statistics of the budgets when curves are given. Used by `hplb plan` / `hplb pareto` tables and charts,
 * by bubble-fill (loads) and by the joint policy.
 *
 * Loads come from core's one load function, `deviceLoadsOfLayer` (loads.ts), which the validator uses too. Totals are
 * sums of parts by construction:
 * Σ_d (busy + idle) = G · makespan per layer, and Σ_l makespan = latency.
 */
import { WORK_COST_MODEL, type CostModel } from './cost.ts';
import { kvSummary, type SplitLike } from './kv.ts';
import { deviceLoadsOfLayer } from './loads.ts';
import type { Device, ModelShape } from './model.ts';
import { recoveriesOf, recoveryStats, type CurveSet } from './recovery.ts';

// ---------------------------------------------------------------- model

/** Where heads run: everything of a plan except its budgets. */
export interface Layout {
  readonly model: ModelShape;
  readonly contextLength: number;
  readonly devices: ReadonlyArray<Device>;
  readonly placement: ReadonlyArray<ReadonlyArray<number>>;
  readonly splits?: ReadonlyArray<SplitLike>;
  readonly costModel?: CostModel;
  readonly kvBytesPerElement?: number;
}

export interface LayerTimeline {
  readonly layer: number;
  readonly makespan: number;
  /** busy[d]: time device d computes in this layer (its load). */
  readonly busy: ReadonlyArray<number>;
  /** idle[d] = makespan − busy[d]: the bubble device d waits for the slowest one. */
  readonly idle: ReadonlyArray<number>;
  /** Devices whose load equals the makespan (within 1e-9 relative). */
  readonly critical: ReadonlyArray<number>;
}

export interface Simulation {
  readonly unit: 'token-pairs' | 'seconds';
  readonly layers: ReadonlyArray<LayerTimeline>;
  /** Σ layer makespans: the attention latency of one prefill. */
  readonly latency: number;
  readonly busyTotal: number;
  readonly idleTotal: number;
  /** idleTotal / (G · latency). */
  readonly bubbleFraction: number;
  /** 1 − bubbleFraction = Σ mean load / Σ max load. */
  readonly balanceEfficiency: number;
  /** Recovery of the budgets, when curves were given. */
  readonly recovery?: { readonly min: number; readonly mean: number; readonly layerMin: ReadonlyArray<number> };
}

// ---------------------------------------------------------------- operations

/**
 * Loads of one layer, loads[d], under the layout's cost model: `deviceLoadsOfLayer` (core loads.ts). KV-copy terms
 * are charged only when `extraCopies` (extra copies per device, as `extraKvCopies` gives) is passed.
 */
export const layerLoads = (layout: Layout, layer: number, budgetsRow: ReadonlyArray<number>, extraCopies?: ReadonlyArray<number>): number[] =>
  deviceLoadsOfLayer({
    model: layout.model,
    contextLength: layout.contextLength,
    budgets: budgetsRow,
    speeds: layout.devices.map((d) => d.speed),
    placement: layout.placement[layer] ?? [],
    splits: (layout.splits ?? []).filter((s) => s.layer === layer),
    ...(layout.costModel ? { costModel: layout.costModel } : {}),
    ...(layout.kvBytesPerElement !== undefined ? { kvBytesPerElement: layout.kvBytesPerElement } : {}),
    extraKvCopies: extraCopies ?? [],
  });

/** Extra KV copies each device receives, per layer (what the KV-copy cost terms charge). */
export const extraKvCopies = (layout: Layout): number[][] =>
  kvSummary(layout.model, layout.contextLength, layout.devices.length, layout.placement, layout.splits ?? [], layout.kvBytesPerElement ?? 2).extra;

/** loads[l][d] for every layer. */
export const deviceLoads = (layout: Layout, budgets: ReadonlyArray<ReadonlyArray<number>>): number[][] => {
  const extra = extraKvCopies(layout);
  return Array.from({ length: layout.model.layers }, (_, l) => layerLoads(layout, l, budgets[l] ?? [], extra[l]));
};

const isCritical = (load: number, makespan: number) => makespan > 0 && load >= makespan * (1 - 1e-9);

/** Busy/idle timeline, latency, bubble fraction and recovery statistics from per-device loads. */
export const simulateLoads = (unit: 'token-pairs' | 'seconds', loads: ReadonlyArray<ReadonlyArray<number>>, recovery?: number[][]): Simulation => {
  let latency = 0;
  let busyTotal = 0;
  let idleTotal = 0;
  let G = 0;
  const layers: LayerTimeline[] = loads.map((busy, layer) => {
    G = Math.max(G, busy.length);
    const makespan = busy.reduce((a, b) => Math.max(a, b), 0);
    const idle = busy.map((b) => makespan - b);
    latency += makespan;
    for (const b of busy) busyTotal += b;
    for (const i of idle) idleTotal += i;
    const critical = busy.flatMap((b, d) => (isCritical(b, makespan) ? [d] : []));
    return { layer, makespan, busy: [...busy], idle, critical };
  });
  const capacity = G * latency;
  const bubbleFraction = capacity === 0 ? 0 : idleTotal / capacity;
  const sim: Simulation = { unit, layers, latency, busyTotal, idleTotal, bubbleFraction, balanceEfficiency: 1 - bubbleFraction };
  if (!recovery) return sim;
  const st = recoveryStats(recovery);
  return { ...sim, recovery: { ...st, layerMin: recovery.map((r) => r.reduce((a, b) => Math.min(a, b), 1)) } };
};

/** Simulate a layout with budgets (and, optionally, recovery curves for the statistics). */
export const simulate = (layout: Layout, budgets: ReadonlyArray<ReadonlyArray<number>>, curves?: CurveSet): Simulation =>
  simulateLoads((layout.costModel ?? WORK_COST_MODEL).unit, deviceLoads(layout, budgets), curves ? recoveriesOf(curves, budgets) : undefined);

/** Simulate a plan as written (its own budgets, placement, splits and cost model; another cost model may be given). */
export const simulatePlan = (plan: Layout & { readonly budgets: ReadonlyArray<ReadonlyArray<number>> }, curves?: CurveSet, costModel?: CostModel): Simulation =>
  simulate(costModel ? { ...plan, costModel } : plan, plan.budgets, curves);
