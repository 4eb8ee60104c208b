/**
 * The solvers' incremental `LoadState` (per-item times from `layerProblemOf`, KV-copy terms kept up to date by every
 * move) agrees with core's one load function, `deviceLoadsOfLayer`, on random layers and random move sequences:
 * whole heads, GQA groups kept whole or replicated, mixed or identical speeds (also ≠ 1 with a fixed cost per head),
 * token-pair, budget and seconds cost models.
 * Loads are compared within `LAW_TOLERANCE` of the layer's makespan (the sums run in different orders); the extra
 * KV copies per device are integers and must be equal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUDGET_COST_MODEL, DEFAULT_COST_MODELS, WORK_COST_MODEL, deviceLoadsOfLayer, kvExtraCopiesOfLayer, makeDevices, withLinkBandwidth, type CostModel, type ModelShape } from '@hplb/core';
import { LAW_TOLERANCE } from '@hplb/spec';
import { layerProblemOf } from '../src/layerProblem.ts';
import { LoadState, collapseAssignment, expandAssignment, normalize } from '../src/problem.ts';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1e9);
console.log(`loads-agree: fast-check seed ${seed} (FC_SEED to replay)`);

const costModels: Record<string, CostModel> = {
  work: WORK_COST_MODEL,
  budget: BUDGET_COST_MODEL,
  // Fixed cost per head, KV copies over a 50 GB/s link and re-projected K/V.
  seconds: { ...withLinkBandwidth(DEFAULT_COST_MODELS['cuda-h100']!, 50e9), kvProjectionPerToken: 1e-11 },
  // Copies that cost about as much as a head, so moves change who pays them.
  'work+copies': { ...WORK_COST_MODEL, name: 'work+copies', kvProjectionPerToken: 200 },
};

const arb = fc.record({
  groups: fc.integer({ min: 1, max: 3 }),
  gsize: fc.integer({ min: 1, max: 3 }),
  g: fc.integer({ min: 1, max: 4 }),
  n: fc.integer({ min: 64, max: 4096 }),
  cost: fc.constantFrom(...Object.keys(costModels)),
  kv: fc.constantFrom('replicate' as const, 'group' as const),
  speeds: fc.array(fc.constantFrom(0.5, 1, 1.5, 2), { minLength: 4, maxLength: 4 }),
  same: fc.boolean(),
  budgetRaw: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 9, maxLength: 9 }),
  placeRaw: fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
  moves: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 12 }),
});

test('LoadState loads = deviceLoadsOfLayer, at construction and after every move (fast-check)', () => {
  fc.assert(
    fc.property(arb, ({ groups, gsize, g, n, cost, kv, speeds: speedPool, same, budgetRaw, placeRaw, moves }) => {
      const H = groups * gsize;
      const model: ModelShape = { name: 't', layers: 1, queryHeads: H, kvHeads: groups, headDim: 64 };
      const costModel = costModels[cost]!;
      // Identical devices of speed ≠ 1 with a fixed cost per head included: the fixed term is not divided by the speed.
      const speeds = same ? speedPool.slice(0, g).map(() => speedPool[0]!) : speedPool.slice(0, g);
      const budgets = Array.from({ length: H }, (_, h) => 1 + Math.floor(budgetRaw[h]! * (n - 1)));
      // kv "group": every head of a group on the device of the group's first head.
      const placement = Array.from({ length: H }, (_, h) => placeRaw[kv === 'group' ? h - (h % gsize) : h]! % g);
      const src = {
        model, contextLength: n, budgets: [budgets], devices: makeDevices(g, speeds),
        constraints: { equalHeadsPerDevice: false, kv }, costModel, kvBytesPerElement: 2,
      };
      const norm = normalize(layerProblemOf(src, 0));
      assert.ok(norm.ok, norm.ok ? '' : norm.message);
      const inst = norm.inst;
      const state = new LoadState(inst, collapseAssignment(inst, placement));
      const check = (when: string) => {
        const heads = expandAssignment(inst, state.assign);
        const want = deviceLoadsOfLayer({ model, contextLength: n, budgets, speeds, placement: heads, costModel, kvBytesPerElement: 2 });
        const tol = LAW_TOLERANCE * Math.max(...want, ...state.load);
        want.forEach((w, d) => assert.ok(Math.abs(state.load[d]! - w) <= tol, `${when}: device ${d} LoadState ${state.load[d]} vs deviceLoadsOfLayer ${w}`));
        if (inst.kv) assert.deepEqual([...state.extra], kvExtraCopiesOfLayer(model, g, heads, []), `${when}: extra KV copies`);
      };
      check('initial placement');
      moves.forEach(([item, to], k) => {
        state.move(item % inst.n, to % g);
        check(`after move ${k + 1}`);
      });
    }),
    { seed, numRuns: 300 },
  );
});
