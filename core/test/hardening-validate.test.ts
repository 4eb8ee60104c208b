/**
 * Hardening (issue 21): lies that decodePlan + validatePlan used to accept, and a validator that is total. Real plans
 * written by `hplb plan` (the compiled CLI, run as a user would) pass unmutated; each one-field lie is refused at its
 * JSON path: a solver status or gap the makespan and bound do not prove (per layer and overall), duplicate device ids,
 * recovery outside 0 ≤ min ≤ mean ≤ 1, a registered model's name on another shape. Any JavaScript value gives a Left,
 * never a throw, and a plan with thousands of problems lists the first 20 and counts the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MAX_ISSUES, formatError, provenGap, validatePlan, type HplbError, type Plan } from '@hplb/core';
import { repoRoot } from '@hplb/core/node';

/** A plan as `hplb plan` writes it (attention-only keeps it to well under a second per plan). */
const realPlan = (...flags: string[]): Plan => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-hardening-'));
  try {
    const out = join(dir, 'plan.json');
    execFileSync(process.execPath, [join(repoRoot(), 'cli/bin/hplb.mjs'), 'plan', '--attention-only', ...flags, '--out', out], { stdio: 'pipe' });
    return JSON.parse(readFileSync(out, 'utf8')) as Plan;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

// LPT: feasible layers with open gaps beside optimal ones; exact: every layer and the plan optimal.
const lpt = realPlan('--gpus', '4', '--solver', 'lpt');
const exact = realPlan('--gpus', '4', '--solver', 'exact');
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const issuesOf = (u: unknown): HplbError | undefined => {
  const r = validatePlan(u, 'plan.json');
  return E.isLeft(r) ? r.left : undefined;
};
const refused = (what: string, plan: unknown, path: string) => {
  const e = issuesOf(plan);
  assert.ok(e !== undefined, `${what}: accepted`);
  assert.ok(e.issues.some((i) => i.path === path), `${what}: expected an issue at ${path}, got ${formatError(e)}`);
  const line = formatError(e);
  assert.equal(line.split('\n').length, 1, `${what}: one line`);
  assert.ok(line.startsWith('plan.json: '), `${what}: names the file`);
};
const mutated = (base: Plan, f: (p: any) => void): Plan => {
  const p = clone(base) as any;
  f(p);
  return p as Plan;
};

test('real plans written by hplb plan pass unmutated (open gaps and proven optimal)', () => {
  for (const [name, p] of [['lpt', lpt], ['exact', exact]] as const) {
    const e = issuesOf(clone(p));
    assert.equal(e, undefined, `${name}: ${e ? formatError(e) : ''}`);
  }
  assert.equal(exact.solver.status, 'optimal');
  assert.ok(lpt.solver.gap > 0 && lpt.solver.layers!.some((l) => l.status !== 'optimal') && lpt.solver.layers!.some((l) => l.status === 'optimal'));
});

test('a solver status or gap the makespan and bound do not prove is refused, per layer and overall', () => {
  const open = lpt.solver.layers!.findIndex((l) => l.status !== 'optimal' && l.gap > 1e-3);
  assert.ok(open >= 0, 'the LPT plan has a layer with an open gap');
  const closed = lpt.solver.layers!.findIndex((l) => l.status === 'optimal');
  refused('layer optimal with gap 0 above its bound', mutated(lpt, (p) => ((p.solver.layers[open].status = 'optimal'), (p.solver.layers[open].gap = 0))), `$.solver.layers[${open}].status`);
  refused('layer gap 0 above its bound', mutated(lpt, (p) => (p.solver.layers[open].gap = 0)), `$.solver.layers[${open}].gap`);
  refused('layer gap halved', mutated(lpt, (p) => (p.solver.layers[open].gap /= 2)), `$.solver.layers[${open}].gap`);
  refused('layer gap doubled', mutated(lpt, (p) => (p.solver.layers[open].gap *= 2)), `$.solver.layers[${open}].gap`);
  refused('layer gap on a proven layer', mutated(lpt, (p) => (p.solver.layers[closed].gap = 0.01)), `$.solver.layers[${closed}].gap`);
  refused('plan optimal with gap 0 above its bound', mutated(lpt, (p) => ((p.solver.status = 'optimal'), (p.solver.gap = 0))), '$.solver.status');
  refused('plan gap 0 above its bound', mutated(lpt, (p) => (p.solver.gap = 0)), '$.solver.gap');
  refused('plan gap off by 1%', mutated(lpt, (p) => (p.solver.gap *= 1.01)), '$.solver.gap');
  refused('optimal plan with a gap', mutated(exact, (p) => (p.solver.gap = 0.05)), '$.solver.gap');
  // A bound raised to "prove" optimality is still checked against the makespan it must not exceed.
  refused('bound above the makespan', mutated(exact, (p) => (p.predicted.layerLowerBound[0] *= 1.5)), '$.predicted.layerLowerBound[0]');
  // Claiming less than is proven is still a gap that disagrees (the gap is recomputed, not bounded).
  const l0 = lpt.solver.layers![0]!;
  const pr = lpt.predicted;
  assert.ok(Math.abs(provenGap(pr.layerMakespan[l0.layer]!, pr.layerLowerBound[l0.layer]!) - l0.gap) < 1e-9, 'provenGap is how writers compute gaps');
  // Downgrading a proven layer to feasible (with its true gap 0) claims less, which is allowed.
  assert.equal(issuesOf(mutated(exact, (p) => (p.solver.layers[0].status = 'feasible'))), undefined);
});

test('duplicate device ids, recovery outside 0 ≤ min ≤ mean ≤ 1, and a registered name on another shape are refused', () => {
  refused('duplicate device id', mutated(lpt, (p) => (p.devices[2].id = p.devices[0].id)), '$.devices[2].id');
  assert.ok(lpt.recovery, 'the real plan records recovery');
  refused('recovery min above mean', mutated(lpt, (p) => (p.recovery.min = p.recovery.mean + 0.01)), '$.recovery.min');
  refused('recovery mean 1.5', mutated(lpt, (p) => (p.recovery.mean = 1.5)), '$.recovery.mean');
  refused('recovery negative', mutated(lpt, (p) => (p.recovery.min = -0.1)), '$.recovery.min');
  refused('another registered model on this shape', mutated(lpt, (p) => (p.model.name = 'Qwen2.5-7B-Instruct')), '$.model.name');
  refused('a 70B name on the 8B shape', mutated(lpt, (p) => (p.model.name = 'Llama-3.1-70B-Instruct')), '$.model.name');
  // The registered shape under its own name, an alias-style spelling of it and an unregistered name all pass.
  assert.equal(issuesOf(mutated(lpt, (p) => (p.model.name = 'llama_3.1_8b_instruct'))), undefined);
  assert.equal(issuesOf(mutated(lpt, (p) => (p.model.name = 'my-own-model'))), undefined);
  assert.equal(issuesOf(mutated(lpt, (p) => (p.recovery = { min: 0.5, mean: 0.5 }))), undefined);
});

test('validatePlan decodes first: any JavaScript value is a Left, never a throw', () => {
  const cyclic = clone(lpt) as any;
  cyclic.source = { self: cyclic };
  const deep: any[] = [];
  let at = deep;
  for (let i = 0; i < 100_000; i++) at = (at[0] = []) as any[];
  const getter = clone(lpt) as any;
  Object.defineProperty(getter, 'devices', { enumerable: true, get: () => { throw new Error('boom'); } });
  const proxy = new Proxy({}, { get: () => { throw new Error('trap'); }, has: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); } });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const values: Array<[string, unknown]> = [
    ['undefined', undefined], ['null', null], ['a number', 42], ['a string', '{"format":"hplb.plan/1"}'], ['a BigInt', 10n],
    ['a symbol', Symbol('x')], ['a function', () => 1], ['an array', []], ['an empty object', {}],
    ['deep nesting', { ...clone(lpt), budgets: deep }], ['budgets of BigInts', mutated(lpt, (p) => (p.budgets[0][0] = 0))],
    ['a getter that throws', getter], ['a throwing Proxy', proxy], ['a revoked Proxy', revoked.proxy],
    ['the plan without its model', mutated(lpt, (p) => delete p.model)], ['placement of strings', mutated(lpt, (p) => (p.placement[0][0] = '0'))],
  ];
  (values[10]![1] as any).budgets[0][0] = 5n;
  for (const [what, v] of values) {
    let r: ReturnType<typeof validatePlan> | undefined;
    assert.doesNotThrow(() => (r = validatePlan(v, 'plan.json')), what);
    assert.ok(r && E.isLeft(r), `${what}: a Left`);
    const line = formatError(r.left);
    assert.equal(line.split('\n').length, 1, `${what}: one line: ${line}`);
  }
  // A cycle where the codec never looks (free-form provenance) is not an error: the plan is still checked.
  assert.ok(E.isRight(validatePlan(cyclic)));
});

test('a plan with thousands of problems lists the first 20 and counts the rest, on one line', () => {
  const bad = mutated(lpt, (p) => {
    p.budgets = p.budgets.map((row: number[]) => row.map(() => 0));
    p.placement = p.placement.map((row: number[]) => row.map(() => 99));
  });
  const total = lpt.model.layers * lpt.model.queryHeads * 2;
  const t0 = performance.now();
  const e = issuesOf(bad)!;
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(e.issues.length, MAX_ISSUES);
  assert.equal(e.more, total - MAX_ISSUES);
  const line = formatError(e);
  assert.match(line, new RegExp(`; … and ${total - MAX_ISSUES} more$`));
  assert.equal(line.split('\n').length, 1);
  // Decode failures are capped the same way.
  const wrong = mutated(lpt, (p) => (p.budgets = p.budgets.map((row: number[]) => row.map(() => 'x'))));
  const d = issuesOf(wrong)!;
  assert.ok(d.issues.length <= MAX_ISSUES && (d.more ?? 0) + d.issues.length === total / 2, formatError(d));
});
