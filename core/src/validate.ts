/**
 * The independent plan validator. It trusts nothing a solver wrote: it recomputes every device load from budgets,
 * placement, splits and the cost model, and checks every field against every other:
 *   shapes (layers × heads × devices), budgets in [1, N], placement indices, each head placed exactly once
 *   (a split head's parts tile [0, N) and its placement is its first part's device), the equal-heads and GQA
 *   constraints, memory capacity, the predicted loads / makespans / totals / efficiency, and bound ≤ makespan.
 * Returns every violation found (as issues with JSON paths), or the plan.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, type HplbError, type Issue } from './errors.ts';
import { kvHeadOf, groupSize } from './model.ts';
import { kvSummary } from './kv.ts';
import { deviceLoads } from './simulate.ts';
import type { Plan } from './plan.ts';

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Loads recomputed from first principles, loads[l][d]: the plan's budgets, placement, splits, KV copies and cost model
 * through core's one load function (`deviceLoadsOfLayer`, loads.ts, via the simulator's `deviceLoads`).
 */
export const recomputeLoads = (plan: Plan): number[][] => deviceLoads(plan, plan.budgets);

export const validatePlan = (plan: Plan, file?: string): E.Either<HplbError, Plan> => {
  const out: Issue[] = [];
  const add = (path: string, expected: string, actual?: unknown) => out.push(issue(path, expected, actual));
  const { model: m, contextLength: n, devices } = plan;
  const G = devices.length;
  const L = m.layers;
  const H = m.queryHeads;

  if (m.queryHeads % m.kvHeads !== 0) add('$.model.kvHeads', `a divisor of queryHeads (${m.queryHeads})`, m.kvHeads);
  if (G === 0) add('$.devices', 'at least one device', G);
  if (plan.predicted.unit === 'seconds' && !plan.costModel) add('$.costModel', 'a cost model when predicted.unit is "seconds"');
  if (plan.costModel && plan.costModel.unit !== plan.predicted.unit) add('$.costModel.unit', `"${plan.predicted.unit}" (predicted.unit)`, plan.costModel.unit);

  // Shapes.
  if (plan.budgets.length !== L) add('$.budgets', `${L} layers`, plan.budgets.length);
  if (plan.placement.length !== L) add('$.placement', `${L} layers`, plan.placement.length);
  for (let l = 0; l < Math.min(L, plan.budgets.length); l++) {
    const row = plan.budgets[l]!;
    if (row.length !== H) add(`$.budgets[${l}]`, `${H} query heads`, row.length);
    row.forEach((b, h) => {
      if (!(b >= 1 && b <= n)) add(`$.budgets[${l}][${h}]`, `a budget in [1, ${n}] tokens`, b);
    });
  }
  for (let l = 0; l < Math.min(L, plan.placement.length); l++) {
    const row = plan.placement[l]!;
    if (row.length !== H) add(`$.placement[${l}]`, `${H} query heads`, row.length);
    row.forEach((d, h) => {
      if (!(d >= 0 && d < G)) add(`$.placement[${l}][${h}]`, `a device index in [0, ${G - 1}]`, d);
    });
  }

  // Splits: each (layer, head) at most once; parts tile [0, N); placement = first part's device.
  const seen = new Set<string>();
  (plan.splits ?? []).forEach((s, i) => {
    const p = `$.splits[${i}]`;
    if (s.layer >= L) add(`${p}.layer`, `a layer index < ${L}`, s.layer);
    if (s.head >= H) add(`${p}.head`, `a query head index < ${H}`, s.head);
    const key = `${s.layer}/${s.head}`;
    if (seen.has(key)) add(p, `layer ${s.layer} head ${s.head} split at most once`);
    seen.add(key);
    if (s.parts.length < 2) add(`${p}.parts`, 'at least 2 parts', s.parts.length);
    let at = 0;
    const devs = new Set<number>();
    s.parts.forEach((part, j) => {
      if (part.rowStart !== at) add(`${p}.parts[${j}].rowStart`, `${at} (parts must tile [0, ${n}) in order)`, part.rowStart);
      if (!(part.rowEnd > part.rowStart)) add(`${p}.parts[${j}].rowEnd`, `a row > rowStart (${part.rowStart})`, part.rowEnd);
      if (!(part.device < G)) add(`${p}.parts[${j}].device`, `a device index in [0, ${G - 1}]`, part.device);
      if (devs.has(part.device)) add(`${p}.parts[${j}].device`, 'a device not already used by another part of this head', part.device);
      devs.add(part.device);
      at = part.rowEnd;
    });
    if (at !== n) add(`${p}.parts`, `parts covering rows [0, ${n})`, `rows up to ${at}`);
    const primary = plan.placement[s.layer]?.[s.head];
    if (s.parts[0] && primary !== undefined && primary !== s.parts[0].device)
      add(`$.placement[${s.layer}][${s.head}]`, `the device of its first split part (${s.parts[0].device})`, primary);
  });

  if (out.length > 0) return E.left(hplbError('invalid-plan', out, file));

  // Constraints.
  const gs = groupSize(m);
  for (let l = 0; l < L; l++) {
    const row = plan.placement[l]!;
    if (plan.constraints.equalHeadsPerDevice) {
      const count = Array<number>(G).fill(0);
      row.forEach((d) => count[d]!++);
      if (H % G !== 0 || count.some((c) => c !== H / G))
        add(`$.placement[${l}]`, `${H / G} heads on every device (constraints.equalHeadsPerDevice)`, `counts ${count.join(',')}`);
    }
    if (plan.constraints.kv === 'group') {
      for (let q = 0; q < H; q++) {
        const home = row[kvHeadOf(m, q) * gs]!;
        if (row[q] !== home) {
          add(`$.placement[${l}][${q}]`, `device ${home}, where the rest of KV group ${kvHeadOf(m, q)} is (constraints.kv = "group")`, row[q]);
          break;
        }
      }
    }
  }
  const kv = kvSummary(m, n, G, plan.placement, plan.splits ?? [], plan.kvBytesPerElement ?? 2);
  devices.forEach((dev, d) => {
    if (dev.memoryBytes !== null && kv.deviceBytes[d]! > dev.memoryBytes)
      add(`$.devices[${d}].memoryBytes`, `room for the ${kv.deviceBytes[d]} KV bytes placed there`, dev.memoryBytes);
  });
  if (plan.kvReplication) {
    if (plan.kvReplication.copies !== kv.copies) add('$.kvReplication.copies', `${kv.copies} (recomputed from placement and splits)`, plan.kvReplication.copies);
    if (!close(plan.kvReplication.bytes, kv.bytes)) add('$.kvReplication.bytes', `${kv.bytes} (recomputed)`, plan.kvReplication.bytes);
    const cap = plan.kvReplication.capBytes;
    if (cap !== undefined && cap !== null && kv.bytes > cap) add('$.kvReplication.bytes', `at most capBytes = ${cap}`, kv.bytes);
  }

  // The serving block: its own arithmetic (request = prefill + T · decode in colocated serving), one KV figure per
  // device, the plan's context, and fits against the devices that state their memory.
  const sv = plan.serving;
  if (sv) {
    if ((sv.workload.context as number) !== (n as number)) add('$.serving.workload.context', `the plan's contextLength ${n}`, sv.workload.context);
    if (sv.kvBytesPerDevice.length !== G) add('$.serving.kvBytesPerDevice', `${G} values, one per device`, sv.kvBytesPerDevice.length);
    const want = sv.workload.mode === 'colocated' ? sv.prefillMs + sv.workload.outputTokens * sv.decodeMsPerToken : sv.prefillMs;
    if (!close(sv.requestMs, want)) add('$.serving.requestMs', `${want} (${sv.workload.mode === 'colocated' ? 'prefillMs + outputTokens · decodeMsPerToken' : 'prefillMs: prefill-only serving'})`, sv.requestMs);
    if (sv.attentionMs > sv.prefillMs * (1 + 1e-9)) add('$.serving.attentionMs', `at most prefillMs ${sv.prefillMs} (attention is part of the prefill step)`, sv.attentionMs);
    if (sv.fits) devices.forEach((dev, d) => {
      const kvd = sv.kvBytesPerDevice[d];
      if (dev.memoryBytes !== null && kvd !== undefined && kvd > dev.memoryBytes) add(`$.serving.fits`, `false: device ${d} holds ${kvd} KV bytes, more than its ${dev.memoryBytes}`, true);
    });
  }

  // Predicted loads.
  const loads = recomputeLoads(plan);
  const pr = plan.predicted;
  if (pr.deviceLoad.length !== L) add('$.predicted.deviceLoad', `${L} layers`, pr.deviceLoad.length);
  if (pr.layerMakespan.length !== L) add('$.predicted.layerMakespan', `${L} layers`, pr.layerMakespan.length);
  if (pr.layerLowerBound.length !== L) add('$.predicted.layerLowerBound', `${L} layers`, pr.layerLowerBound.length);
  let meanSum = 0;
  let total = 0;
  let lbTotal = 0;
  for (let l = 0; l < L; l++) {
    const want = loads[l]!;
    const got = pr.deviceLoad[l];
    if (got && got.length !== G) add(`$.predicted.deviceLoad[${l}]`, `${G} devices`, got.length);
    else if (got) want.forEach((w, d) => {
      if (!close(got[d]!, w)) add(`$.predicted.deviceLoad[${l}][${d}]`, `${w} (recomputed)`, got[d]);
    });
    const mk = Math.max(0, ...want);
    total += mk;
    meanSum += want.reduce((a, b) => a + b, 0) / Math.max(G, 1);
    const gotMk = pr.layerMakespan[l];
    if (gotMk !== undefined && !close(gotMk, mk)) add(`$.predicted.layerMakespan[${l}]`, `${mk} (max device load)`, gotMk);
    const lb = pr.layerLowerBound[l];
    if (lb !== undefined) {
      lbTotal += lb;
      if (lb > mk * (1 + 1e-9) + 1e-12) add(`$.predicted.layerLowerBound[${l}]`, `at most the layer makespan ${mk}`, lb);
    }
  }
  if (!close(pr.total, total)) add('$.predicted.total', `${total} (Σ layer makespans)`, pr.total);
  if (!close(pr.lowerBoundTotal, lbTotal)) add('$.predicted.lowerBoundTotal', `${lbTotal} (Σ layer lower bounds)`, pr.lowerBoundTotal);
  const eff = total === 0 ? 1 : meanSum / total;
  if (!close(pr.balanceEfficiency, eff, 1e-7)) add('$.predicted.balanceEfficiency', `${eff} (Σ mean load / Σ max load)`, pr.balanceEfficiency);
  if (!close(pr.bubbleFraction, 1 - eff, 1e-7)) add('$.predicted.bubbleFraction', `${1 - eff} (1 − balanceEfficiency)`, pr.bubbleFraction);

  return out.length > 0 ? E.left(hplbError('invalid-plan', out.slice(0, 20), file)) : E.right(plan);
};
