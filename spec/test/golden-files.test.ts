/**
 * The golden files are what the case list says and what an independent reference computes: inputs regenerate
 * byte-for-byte from their seeds, layouts from core's builders, and out / lse / blockMass agree with the naive
 * float64 reference (spec/src/conformance/reference.ts) within the fp32 tolerance. Regenerate with
 * `node --import tsx spec/scripts/regenerate-golden.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { caseInputs, caseLayout, caseParams, GOLDEN_CASES, GOLDEN_DIR, goldenFiles, readGolden } from '../src/conformance/golden.ts';
import { referenceAttention, referenceBlockMass } from '../src/conformance/reference.ts';
import { compareArrays, TOLERANCES } from '../src/conformance/tolerance.ts';

test('one golden file per case, no strays', () => {
  assert.deepEqual(goldenFiles().map((f) => f.slice(GOLDEN_DIR.length)), GOLDEN_CASES.map((c) => `${c.name}.json`).sort());
});

for (const c of GOLDEN_CASES) {
  test(`golden ${c.name}: inputs, layout and outputs match the case and the independent reference`, () => {
    const g = readGolden(`${GOLDEN_DIR}${c.name}.json`);
    assert.ok(E.isRight(g), E.isLeft(g) ? formatError(g.left) : '');
    const p = caseParams(c);
    assert.ok(E.isRight(p));
    const x = caseInputs(c);
    assert.deepEqual(g.right.q, x.q);
    assert.deepEqual(g.right.k, x.k);
    assert.deepEqual(g.right.v, x.v);
    const layout = caseLayout(c, p.right, x.q, x.k);
    assert.ok(E.isRight(layout));
    assert.deepEqual(g.right.layout.offsets, layout.right.offsets);
    assert.deepEqual(g.right.layout.indices, layout.right.indices);
    const ref = referenceAttention(x.q, x.k, x.v, p.right, layout.right, g.right.rows);
    const tol = TOLERANCES.fp32;
    assert.equal(compareArrays('out', g.right.out, ref.out, tol, c.headDim), null);
    assert.equal(compareArrays('lse', g.right.lse, ref.lse, tol), null);
    assert.equal(compareArrays('mass', g.right.mass, referenceBlockMass(x.q, x.k, p.right), tol, p.right.blocks), null);
  });
}

test('compareArrays names the index and both values, and treats −Infinity exactly', () => {
  const msg = compareArrays('out', [1, 2, 3.5, 4], [1, 2, 3, 4], TOLERANCES.fp32, 2);
  assert.match(msg!, /out\[1\]\[0\] \(flat index 2\): got 3\.5, expected 3/);
  assert.equal(compareArrays('lse', [-Infinity], [-Infinity], TOLERANCES.fp32), null);
  assert.notEqual(compareArrays('lse', [0], [-Infinity], TOLERANCES.fp32), null);
  assert.notEqual(compareArrays('x', [NaN], [0], TOLERANCES.fp32), null);
});
