/**
 * `validateEngineLayout` (core/src/engineLayout.ts): a valid exported layout passes, and each way a hand-edited
 * layout can break the engines' rule is reported with its JSON path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, type ModelShape } from '@hplb/core';
import { decodeEngineLayout, validateEngineLayout, type EngineLayout } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { buildEngineLayout } from '../src/index.ts';

const M: ModelShape = { name: 'tiny-validate', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 4 };
const N = 64;

const layout = (): EngineLayout => {
  const budgets = [[64, 3, 9, 40, 2, 7, 30, 12], [5, 60, 8, 8, 33, 1, 19, 64]];
  const res = planEngineLayout({ model: M, devices: makeDevices(4), lengths: [{ contextLength: N, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 2, timeLimitMs: 100, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  const l = buildEngineLayout(res.right.plan, { engine: 'vllm' });
  assert.ok(E.isRight(l));
  // Round-trip through JSON, as files do.
  const d = decodeEngineLayout(JSON.parse(JSON.stringify(l.right)));
  assert.ok(E.isRight(d));
  return d.right;
};

const broken = (edit: (u: any) => void): E.Either<unknown, EngineLayout> => {
  const u = JSON.parse(JSON.stringify(layout()));
  edit(u);
  const d = decodeEngineLayout(u);
  return E.isLeft(d) ? d : validateEngineLayout(d.right);
};

const expectIssue = (edit: (u: any) => void, path: RegExp, expected: RegExp) => {
  const r = broken(edit);
  assert.ok(E.isLeft(r), 'expected the layout to be rejected');
  const issues = (r.left as { issues: { path: string; expected: string }[] }).issues;
  assert.ok(issues.some((i) => path.test(i.path) && expected.test(i.expected)), JSON.stringify(issues));
};

test('a valid exported layout passes', () => {
  assert.ok(E.isRight(validateEngineLayout(layout())));
});

test('each broken rule is named with its path', () => {
  expectIssue((u) => (u.layers[0].kvSource[1] = 5), /layers\[0\]\.kvSource\[1\]/, /KV head index < 2/);
  expectIssue((u) => (u.layers[1].qSource[7] = u.layers[1].qSource[0]), /layers\[1\]/, /./);
  expectIssue((u) => (u.configChanges.num_key_value_heads = 2), /num_key_value_heads/, /4 \(geometry\.kvSlots\)/);
  expectIssue((u) => (u.layers[0].ranks[1].qHeads = [0, 0]), /ranks\[1\]\.qHeads/, /qSource of its positions/);
  expectIssue((u) => (u.layers[0].budgets[2] = 0), /budgets\[2\]/, /budget in \[1, 64\]/);
  expectIssue((u) => (u.layers[0].rowRange = u.layers[0].qSource.map(() => ({ rowStart: 0, rowEnd: 64 }))), /rowRange/, /tier 1/);
  expectIssue((u) => (u.tpSize = 3), /tpSize/, /divides the 8 query heads/);
  expectIssue((u) => (u.geometry.qkv = 'fused'), /geometry\.qkv/, /separate/);
  expectIssue(
    (u) => {
      const L = u.layers[0];
      const other = L.qSource.findIndex((q: number) => Math.floor(q / 4) !== Math.floor(L.qSource[0] / 4));
      [L.qSource[0], L.qSource[other]] = [L.qSource[other], L.qSource[0]];
    },
    /layers\[0\]\.qSource\[0\]/,
    /lost its KV slot/,
  );
});

test('tier 3: row ranges must tile each split head without gaps', () => {
  const u = JSON.parse(JSON.stringify(layout()));
  u.tier = 3;
  u.layers[0].rowRange = u.layers[0].qSource.map(() => null);
  u.layers[0].rowRange[0] = { rowStart: 0, rowEnd: 30 };
  const d = decodeEngineLayout(u);
  assert.ok(E.isRight(d));
  const v = validateEngineLayout(d.right);
  assert.ok(E.isLeft(v));
  assert.ok(v.left.issues.some((i) => /covering \[0, 64\)/.test(i.expected)), JSON.stringify(v.left.issues));
});
