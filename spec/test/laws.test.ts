/**
 * The placement laws checked on their own: brute force finds known optima (Graham's LPT worst case), each predicate
 * accepts a correct answer and rejects a wrong one, and the metamorphic helpers permute / scale as stated. The runner
 * that applies the laws to every solver lives in solvers/test/laws.test.ts (spec does not depend on solvers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bruteForceOptimum, constraintsHold, exactMatchesOptimum, idleDeviceNoWorse, listSchedulingBound, lptBound, makespanAtLeastLowerBound,
  makespanConsistent, makespanOf, permuteProblem, permutedPlan, placedOnce, scaledOptimum, truthfulGap, type LawProblem,
} from '../src/laws.ts';

const ident = (costs: number[], m: number): LawProblem => ({ costs, speeds: Array<number>(m).fill(1) });

test('brute force: Graham LPT worst case (m=3): OPT 3m = 9, and LPT’s 4m−1 = 11 sits exactly on the 4/3 − 1/(3m) bound', () => {
  const p = ident([5, 5, 4, 4, 3, 3, 3], 3);
  const opt = bruteForceOptimum(p);
  assert.equal(opt.makespan, 9);
  assert.equal(makespanOf(p, opt.assignment!), 9);
  assert.equal(lptBound(3, 11, 9), true);
  assert.match(String(lptBound(3, 11.01, 9)), /LPT makespan/);
});

test('brute force honours constraints: equal heads, groups, pinned, uniform speeds', () => {
  assert.equal(bruteForceOptimum({ ...ident([6, 1, 1, 1], 2), equalHeadsPerDevice: true }).makespan, 7);
  assert.equal(bruteForceOptimum({ ...ident([3, 3, 2, 2], 2), groups: [[0, 1]] }).makespan, 6);
  assert.equal(bruteForceOptimum({ ...ident([3, 3], 2), pinned: [{ item: 0, device: 1 }, { item: 1, device: 1 }] }).makespan, 6);
  assert.equal(bruteForceOptimum({ costs: [4, 2], speeds: [2, 1] }).makespan, 2);
});

test('validity predicates reject wrong answers', () => {
  const p = { ...ident([3, 2, 2], 2), equalHeadsPerDevice: false, groups: [[1, 2]] };
  assert.equal(placedOnce(p, { status: 'feasible', assignment: [0, 1, 1] }), true);
  assert.match(String(placedOnce(p, { status: 'feasible', assignment: [0, 1] })), /2 entries/);
  assert.match(String(placedOnce(p, { status: 'feasible', assignment: [0, 2, 1] })), /not in/);
  assert.match(String(constraintsHold(p, { status: 'feasible', assignment: [0, 1, 0] })), /group/);
  assert.match(String(constraintsHold({ ...ident([1, 1], 2), equalHeadsPerDevice: true }, { status: 'feasible', assignment: [0, 0] })), /equal heads/);
  assert.match(String(makespanConsistent(p, { status: 'feasible', assignment: [0, 1, 1], makespan: 3 })), /recomputed 4/);
  assert.match(String(makespanAtLeastLowerBound({ status: 'feasible', makespan: 3, lowerBound: 4 })), /above/);
});

test('truthfulGap: bound above OPT, false optimal, wrong gap are all caught', () => {
  assert.equal(truthfulGap({ status: 'timedout', makespan: 10, lowerBound: 8, gap: 0.25 }, 9), true);
  assert.match(String(truthfulGap({ status: 'timedout', makespan: 10, lowerBound: 9.5, gap: 10 / 9.5 - 1 }, 9)), /above the optimum/);
  assert.match(String(truthfulGap({ status: 'optimal', makespan: 10, lowerBound: 9, gap: 1 / 9 }, 9)), /status optimal/);
  assert.match(String(truthfulGap({ status: 'feasible', makespan: 10, lowerBound: 8, gap: 0.1 }, 9)), /gap/);
  assert.match(String(truthfulGap({ status: 'infeasible' }, 9)), /reported infeasible/);
  assert.match(String(exactMatchesOptimum({ status: 'timedout', makespan: 9 }, 9)), /did not prove/);
  assert.match(String(listSchedulingBound(2, 16, 10)), /2 − 1\/2/);
  assert.match(String(idleDeviceNoWorse({ status: 'optimal', makespan: 5 }, { status: 'optimal', makespan: 6 })), /rose/);
});

test('permuteProblem / permutedPlan / scaledOptimum agree with brute force (property)', () => {
  const seed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
  console.log(`spec laws property seed=${seed} (FC_SEED=${seed} to replay)`);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }).chain((m) => fc.tuple(fc.constant(m), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 7 }))),
      fc.integer({ min: 2, max: 7 }),
      ([m, costs], k) => {
        const p = ident(costs, m);
        const o = bruteForceOptimum(p);
        const perm = costs.map((_, i) => i).reverse();
        const pp = permuteProblem(p, perm);
        const po = bruteForceOptimum(pp);
        const asOut = (x: typeof o) => ({ status: 'optimal', makespan: x.makespan, assignment: x.assignment! });
        assert.equal(permutedPlan(perm, asOut(o), asOut(po), false), true);
        // The original optimal plan, permuted, is a plan of the permuted problem with the same makespan.
        const moved = Array<number>(costs.length);
        perm.forEach((j, i) => { moved[j] = o.assignment![i]!; });
        assert.equal(makespanOf(pp, moved), o.makespan);
        const so = bruteForceOptimum({ ...p, costs: costs.map((c) => c * k) });
        assert.equal(scaledOptimum(p, k, asOut(o), asOut(so)), true);
        assert.equal(listSchedulingBound(m, o.makespan, o.makespan), true);
      },
    ),
    { seed, numRuns: 60 },
  );
});
