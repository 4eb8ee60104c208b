/**
 * The independent plan validator. It trusts nothing a solver wrote: it decodes its input (any JavaScript value), then
 * recomputes every device load from budgets, placement, splits and the cost model, and checks every field against
 * every other:
 *   shapes (layers × heads × devices), unique device ids, a registered model's name only on its registered shape,
 *   budgets in [1, N], placement indices, each head placed exactly once (a split head's parts tile [0, N) and its
 *   placement is its first part's device), the equal-heads and GQA constraints, memory capacity, the predicted loads /
 *   makespans / totals / efficiency, bound ≤ makespan, 0 ≤ recovery.min ≤ recovery.mean ≤ 1, and the solver's claims:
 *   every stated gap is (makespan − bound) / bound as recomputed, per layer and overall, and `optimal` only where that
 *   gap is 0 (a plan never claims more than its bound proves).
 * Returns the violations found (the first `MAX_ISSUES` as issues with JSON paths, the rest counted), or the plan.
 * Total: any input gives an Either, never a throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import { MAX_ISSUES, cappedError, decode, errorText, hplbError, issue, issueText, type HplbError, type Issue } from './errors.ts';
import { kvHeadOf, groupSize, type ModelShape } from './model.ts';
import { registeredModel } from './modelConfig.ts';
import { kvSummary } from './kv.ts';
import { deviceLoads } from './simulate.ts';
import { PlanC, type Plan } from './plan.ts';

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Loads recomputed from first principles, loads[l][d]: the plan's budgets, placement, splits, KV copies and cost model
 * through core's one load function (`deviceLoadsOfLayer`, loads.ts, via the simulator's `deviceLoads`).
 */
export const recomputeLoads = (plan: Plan): number[][] => deviceLoads(plan, plan.budgets);

/**
 * How far a stated gap may be from the recomputed one (relative, at least absolute): float noise between a writer's
 * loads and the validator's, and writers' rounding of gaps ≤ 1e-9 to 0. A gap is a ratio, so this is scale-free.
 */
export const GAP_TOLERANCE = 1e-7;

/** The gap a makespan and a lower bound prove: (makespan − bound) / bound; 0 when both are 0; unbounded on a 0 bound. */
export const provenGap = (makespan: number, bound: number): number => (bound > 0 ? Math.max(0, makespan / bound - 1) : makespan > 0 ? Infinity : 0);

const sameGap = (stated: number, recomputed: number) => Math.abs(stated - recomputed) <= GAP_TOLERANCE * Math.max(1, recomputed);

const shapeWords = (m: ModelShape) => `${m.layers} layers, ${m.queryHeads} query heads, ${m.kvHeads} KV heads, head dim ${m.headDim}`;

/**
 * Whether the plan's solver optimised an expected objective over a length distribution (an `engineLayout` or
 * `lengthDistribution` extension with several lengths): its gaps are then over that objective, not over `predicted`
 * (which is at the longest length), so only `optimal` (every length at its bound) can be checked against `predicted`.
 */
const overDistribution = (plan: Plan): boolean => {
  const o = plan as unknown as Record<string, unknown>;
  return [o['engineLayout'], o['lengthDistribution']].some((x) => {
    const lengths = typeof x === 'object' && x !== null ? (x as { lengths?: unknown }).lengths : undefined;
    return Array.isArray(lengths) && lengths.length > 1;
  });
};

export const validatePlan = (input: unknown, file?: string): E.Either<HplbError, Plan> => {
  try {
    const decoded = decode(PlanC, input, file, MAX_ISSUES);
    return E.isLeft(decoded) ? decoded : checkPlan(decoded.right, file);
  } catch (e) {
    // Nothing above is meant to throw; if something does on an odd input, that is still an answer about the input.
    return E.left(hplbError('invalid-plan', [issueText('$', 'a plan the validator can check', `one it could not (${errorText(e)})`)], file));
  }
};

const checkPlan = (plan: Plan, file?: string): E.Either<HplbError, Plan> => {
  const out: Issue[] = [];
  let more = 0;
  // The first MAX_ISSUES are kept; the rest only counted (a bad file may hold 100,000 of them).
  const add = (path: string, expected: string, actual?: unknown) => {
    if (out.length < MAX_ISSUES) out.push(issue(path, expected, actual));
    else more++;
  };
  const invalid = () => E.left(cappedError('invalid-plan', out, file, more));
  const { model: m, contextLength: n, devices } = plan;
  const distribution = overDistribution(plan);
  const G = devices.length;
  const L = m.layers;
  const H = m.queryHeads;

  if (m.queryHeads % m.kvHeads !== 0) add('$.model.kvHeads', `a divisor of queryHeads (${m.queryHeads})`, m.kvHeads);
  if (G === 0) add('$.devices', 'at least one device', G);
  if (plan.predicted.unit === 'seconds' && !plan.costModel) add('$.costModel', 'a cost model when predicted.unit is "seconds"');
  if (plan.costModel && plan.costModel.unit !== plan.predicted.unit) add('$.costModel.unit', `"${plan.predicted.unit}" (predicted.unit)`, plan.costModel.unit);
  const ids = new Map<string, number>();
  devices.forEach((dev, d) => {
    const first = ids.get(dev.id);
    if (first !== undefined) add(`$.devices[${d}].id`, `a device id not used by another device ($.devices[${first}].id)`, dev.id);
    else ids.set(dev.id, d);
  });
  const reg = registeredModel(m.name);
  if (reg && (reg.layers !== m.layers || reg.queryHeads !== m.queryHeads || reg.kvHeads !== m.kvHeads || reg.headDim !== m.headDim))
    add('$.model.name', `a name that fits the shape (${shapeWords(m)}): ${reg.name} in the model registry has ${shapeWords(reg)}`, m.name);
  if (plan.recovery) {
    const { min, mean } = plan.recovery;
    if (!(mean <= 1 + 1e-12)) add('$.recovery.mean', 'a mean recovery in [0, 1]', mean);
    if (!(min <= mean * (1 + 1e-12) + 1e-15)) add('$.recovery.min', `at most the mean recovery ${mean}`, min);
  }
  const layerInfo = plan.solver.layers ?? [];
  const infoAt = new Map<number, number>();
  layerInfo.forEach((li, i) => {
    if (li.layer >= L) add(`$.solver.layers[${i}].layer`, `a layer index < ${L}`, li.layer);
    else if (infoAt.has(li.layer)) add(`$.solver.layers[${i}].layer`, `layer ${li.layer} reported once (also at $.solver.layers[${infoAt.get(li.layer)}])`, li.layer);
    else infoAt.set(li.layer, i);
  });

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

  if (out.length > 0) return invalid();

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
    const mk = want.reduce((a, b) => Math.max(a, b), 0);
    total += mk;
    meanSum += want.reduce((a, b) => a + b, 0) / Math.max(G, 1);
    const gotMk = pr.layerMakespan[l];
    if (gotMk !== undefined && !close(gotMk, mk)) add(`$.predicted.layerMakespan[${l}]`, `${mk} (max device load)`, gotMk);
    const lb = pr.layerLowerBound[l];
    if (lb !== undefined) {
      lbTotal += lb;
      if (lb > mk * (1 + 1e-9) + 1e-12) add(`$.predicted.layerLowerBound[${l}]`, `at most the layer makespan ${mk}`, lb);
      const i = infoAt.get(l);
      if (i !== undefined) checkClaim(`$.solver.layers[${i}]`, layerInfo[i]!, mk, lb, `layer ${l}'s`);
    }
  }
  if (!close(pr.total, total)) add('$.predicted.total', `${total} (Σ layer makespans)`, pr.total);
  if (!close(pr.lowerBoundTotal, lbTotal)) add('$.predicted.lowerBoundTotal', `${lbTotal} (Σ layer lower bounds)`, pr.lowerBoundTotal);
  const eff = total === 0 ? 1 : meanSum / total;
  if (!close(pr.balanceEfficiency, eff, 1e-7)) add('$.predicted.balanceEfficiency', `${eff} (Σ mean load / Σ max load)`, pr.balanceEfficiency);
  if (!close(pr.bubbleFraction, 1 - eff, 1e-7)) add('$.predicted.bubbleFraction', `${1 - eff} (1 − balanceEfficiency)`, pr.bubbleFraction);
  // A plan without a per-layer report (written by hand, as test fixtures are) may leave a non-optimal gap unstated (0).
  if (pr.layerLowerBound.length === L) checkClaim('$.solver', plan.solver, total, lbTotal, 'the plan\'s total', plan.solver.layers === undefined);

  return out.length > 0 ? invalid() : E.right(plan);

  /**
   * A solver's claim (status, gap) against the makespan and the bound it states: the gap must be the one they prove,
   * and `optimal` needs a proven gap of 0. Over a length distribution the gap is over another objective (unchecked).
   * `unstated`: a gap of 0 beside a status that claims no optimality means "not stated" (hand-written plans).
   */
  function checkClaim(at: string, claim: { readonly status: string; readonly gap: number }, makespan: number, bound: number, what: string, unstated = false): void {
    const proven = provenGap(makespan, bound);
    const how = `(makespan ${makespan} − lower bound ${bound}) / lower bound`;
    if (claim.status === 'optimal' && !(proven <= GAP_TOLERANCE))
      add(`${at}.status`, `"feasible" or "timedout": ${what} makespan ${makespan} is above its lower bound ${bound} (gap ${proven}), so optimality is not proven`, claim.status);
    if (unstated && claim.status !== 'optimal' && claim.gap === 0) return;
    if (distribution) {
      if (claim.status === 'optimal' && !(claim.gap <= GAP_TOLERANCE)) add(`${at}.gap`, '0 (status "optimal")', claim.gap);
    } else if (!Number.isFinite(proven)) add(`${at}.gap`, `no gap: ${what} lower bound is 0 while the makespan is ${makespan}, so it proves nothing`, claim.gap);
    else if (!sameGap(claim.gap, proven)) add(`${at}.gap`, `${proven} (${how}, recomputed)`, claim.gap);
  }
};
