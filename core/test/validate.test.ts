/**
 * The independent plan validator: a consistent plan passes, and tampering with any one field is caught at the right
 * JSON path (loads, makespans, totals, efficiency, placement range, a head placed twice through splits, splits that do
 * not tile [0, N), equal heads per device, KV groups, memory, budgets, bounds, KV replication).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import * as fc from 'fast-check';
import { decodePlan, formatError, headWork, layerLowerBound, makeDevices, recomputeLoads, rowRangeWork, summarizeLoads, validatePlan, type ModelShape, type Plan } from '@hplb/core';

const model: ModelShape = { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 8 };
const N = 1000;

/** Fill `predicted` from first principles (what a correct writer does). */
const withPredicted = (p: Plan): Plan => {
  const loads = recomputeLoads(p);
  const bounds = p.budgets.map((row) => layerLowerBound(row.map((b) => headWork(b, N)), { devices: p.devices.map((d) => d.speed) }));
  return { ...p, predicted: summarizeLoads('token-pairs', loads, bounds.map((b, l) => Math.min(b, Math.max(...loads[l]!)))) };
};

const base = (): Plan => {
  const raw = {
    format: 'hplb.plan/1',
    model,
    contextLength: N,
    devices: makeDevices(2),
    constraints: { equalHeadsPerDevice: true, kv: 'group' },
    budgets: [[100, 900, 400, 50], [1000, 1000, 10, 10]],
    placement: [[0, 0, 1, 1], [1, 1, 0, 0]],
    predicted: { unit: 'token-pairs', deviceLoad: [], layerMakespan: [], layerLowerBound: [], total: 0, lowerBoundTotal: 0, balanceEfficiency: 0, bubbleFraction: 0 },
    solver: { name: 'hand', status: 'feasible', gap: 0, seconds: 0 },
  };
  const p = decodePlan(raw);
  assert.ok(E.isRight(p));
  return withPredicted((p as E.Right<Plan>).right);
};

const issuesOf = (p: Plan): string[] => {
  const r = validatePlan(JSON.parse(JSON.stringify(p)) as Plan, 'plan.json');
  return E.isLeft(r) ? r.left.issues.map((i) => `${i.path}: ${i.expected}`) : [];
};
const caught = (p: Plan, path: string, what: string) => {
  const got = issuesOf(p);
  assert.ok(got.length > 0, `${what}: not caught`);
  assert.ok(got.some((g) => g.startsWith(`${path}: `)), `${what}: expected an issue at ${path}, got ${JSON.stringify(got)}`);
};
const clone = (p: Plan): Plan => JSON.parse(JSON.stringify(p)) as Plan;
const edit = (f: (p: any) => void, recompute = false): Plan => {
  const p = clone(base()) as any;
  f(p);
  return recompute ? withPredicted(p) : p;
};

test('a consistent plan passes, with and without split heads', () => {
  assert.deepEqual(issuesOf(base()), []);
  const split = edit((p) => {
    p.constraints = { equalHeadsPerDevice: false, kv: 'replicate' };
    p.splits = [{ layer: 1, head: 0, parts: [{ device: 1, rowStart: 0, rowEnd: 700 }, { device: 0, rowStart: 700, rowEnd: 1000 }] }];
  }, true);
  assert.deepEqual(issuesOf(split), []);
  // The split head's rows [700, 1000) with b = 1000 are charged to device 0.
  assert.equal(recomputeLoads(split)[1]![0], headWork(10, N) * 2 + rowRangeWork(1000, 700, 1000));
});

test('tampering with any field is caught at its JSON path', () => {
  const cases: [string, string, Plan][] = [
    ['device load', '$.predicted.deviceLoad[0][1]', edit((p) => (p.predicted.deviceLoad[0][1] += 1))],
    ['layer makespan', '$.predicted.layerMakespan[1]', edit((p) => (p.predicted.layerMakespan[1] *= 0.9))],
    ['total', '$.predicted.total', edit((p) => (p.predicted.total += 5))],
    ['lower bound total', '$.predicted.lowerBoundTotal', edit((p) => (p.predicted.lowerBoundTotal += 5))],
    ['efficiency', '$.predicted.balanceEfficiency', edit((p) => (p.predicted.balanceEfficiency = 0.5))],
    ['bubble fraction', '$.predicted.bubbleFraction', edit((p) => (p.predicted.bubbleFraction = 0.01))],
    ['bound above makespan', '$.predicted.layerLowerBound[0]', edit((p) => (p.predicted.layerLowerBound[0] = p.predicted.layerMakespan[0] * 2))],
    ['load rows', '$.predicted.deviceLoad[1]', edit((p) => p.predicted.deviceLoad[1].pop())],
    ['placement out of range', '$.placement[0][2]', edit((p) => (p.placement[0][2] = 2))],
    ['placement row short', '$.placement[1]', edit((p) => p.placement[1].pop())],
    ['budget over N', '$.budgets[1][0]', edit((p) => (p.budgets[1][0] = N + 1), true)],
    ['budget zero', '$.budgets[0][3]', edit((p) => (p.budgets[0][3] = 0), true)],
    ['budget rows', '$.budgets', edit((p) => p.budgets.pop())],
    [
      'head placed twice via splits',
      '$.splits[1]',
      edit((p) => {
        p.constraints.kv = 'replicate';
        p.constraints.equalHeadsPerDevice = false;
        const s = { layer: 0, head: 1, parts: [{ device: 0, rowStart: 0, rowEnd: 500 }, { device: 1, rowStart: 500, rowEnd: 1000 }] };
        p.splits = [s, s];
      }, true),
    ],
    [
      'split primary device differs from placement',
      '$.placement[0][1]',
      edit((p) => {
        p.constraints.kv = 'replicate';
        p.splits = [{ layer: 0, head: 1, parts: [{ device: 1, rowStart: 0, rowEnd: 500 }, { device: 0, rowStart: 500, rowEnd: 1000 }] }];
      }, true),
    ],
    ['split parts leave a gap', '$.splits[0].parts[1].rowStart', edit((p) => (p.splits = [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 400 }, { device: 1, rowStart: 500, rowEnd: 1000 }] }]), true)],
    ['split parts stop short of N', '$.splits[0].parts', edit((p) => (p.splits = [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 400 }, { device: 1, rowStart: 400, rowEnd: 999 }] }]), true)],
    ['split part on a missing device', '$.splits[0].parts[1].device', edit((p) => (p.splits = [{ layer: 0, head: 0, parts: [{ device: 0, rowStart: 0, rowEnd: 400 }, { device: 5, rowStart: 400, rowEnd: 1000 }] }]), true)],
    ['split of a missing head', '$.splits[0].head', edit((p) => (p.splits = [{ layer: 0, head: 4, parts: [{ device: 0, rowStart: 0, rowEnd: 400 }, { device: 1, rowStart: 400, rowEnd: 1000 }] }]), true)],
    ['equal heads violated', '$.placement[1]', edit((p) => ((p.constraints.kv = 'replicate'), (p.placement[1] = [1, 1, 1, 0])), true)],
    ['kv group violated', '$.placement[0][1]', edit((p) => ((p.constraints.equalHeadsPerDevice = false), (p.placement[0] = [0, 1, 1, 1])), true)],
    ['memory exceeded', '$.devices[1].memoryBytes', edit((p) => (p.devices[1].memoryBytes = 2 * 8 * 2 * N * 2 - 1), true)],
    ['kv replication copies', '$.kvReplication.copies', edit((p) => (p.kvReplication = { copies: 1, bytes: 2 * 8 * 2 * N }), true)],
    ['seconds without a cost model', '$.costModel', edit((p) => (p.predicted.unit = 'seconds'))],
  ];
  for (const [what, path, plan] of cases) caught(plan, path, what);
  // Memory exactly sufficient passes (each device holds 2 KV heads in each of 2 layers).
  assert.deepEqual(issuesOf(edit((p) => (p.devices[1].memoryBytes = 2 * 8 * 2 * N * 2 * 2), true)), []);
});

test('random placements with correct predictions pass; moving one head without recomputing is caught (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 1, max: N }), { minLength: 4, maxLength: 4 }), { minLength: 2, maxLength: 2 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }), { minLength: 2, maxLength: 2 }),
      fc.integer({ min: 0, max: 7 }),
      (budgets, placement, which) => {
        const p = edit((q) => {
          q.devices = makeDevices(3, [1, 2, 0.5]);
          q.constraints = { equalHeadsPerDevice: false, kv: 'replicate' };
          q.budgets = budgets;
          q.placement = placement;
        }, true);
        assert.deepEqual(issuesOf(p), []);
        const l = which >> 2;
        const h = which & 3;
        const moved = clone(p) as any;
        moved.placement[l][h] = (moved.placement[l][h] + 1) % 3;
        assert.ok(issuesOf(moved).some((i) => i.startsWith(`$.predicted.deviceLoad[${l}]`)), 'stale loads caught');
      },
    ),
    { seed: 99, numRuns: 200, verbose: 1 },
  );
});

test('validator errors name the file and the path in one line each', () => {
  const r = validatePlan(edit((p) => (p.predicted.total += 1)), 'plan.json');
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) assert.match(formatError(r.left), /^plan\.json: at \$\.predicted\.total: expected [\d.]+ \(Σ layer makespans\), got [\d.]+$/);
});
