/** Synthetic head archetypes, recovery curves from q/k, required budgets and the stability report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import {
  HEAD_ARCHETYPES, curveFromBlockMass, makeAttentionParams, profileHead, ranks, requiredBudget, sampledBlockMass, spearman,
  stabilityReport, syntheticHead, syntheticHeadSpec, syntheticModelSpecs, type AttentionParams,
} from '../src/kernel/index.ts';
import { HeadCurveC } from '../src/profile.ts';

const P = (tokens: number, headDim = 64, blockSize = 64): AttentionParams => {
  const p = makeAttentionParams({ tokens, headDim, blockSize });
  assert.ok(E.isRight(p));
  return p.right;
};

test('sampledBlockMass: masses of each row sum to 1 (mean over rows too), exact on a hand case', () => {
  const p = P(130, 8, 64);
  const h = syntheticHead(syntheticHeadSpec('vertical', 3), p, 1);
  const m = sampledBlockMass(h.q, h.k, p, { start: 66, end: 130 });
  assert.ok(Math.abs(m.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // two keys, q·k = 0 and ln 3 / scale: masses 1/4 and 3/4 in blocks 0 and 1
  const p2 = { ...P(2, 1, 1) };
  const r = sampledBlockMass(Float32Array.of(1, 1), Float32Array.of(0, Math.log(3) / p2.scale), p2, { start: 1, end: 2 });
  assert.ok(Math.abs(r[0]! - 0.25) < 1e-6 && Math.abs(r[1]! - 0.75) < 1e-6, `${r[0]}, ${r[1]}`);
});

test('curveFromBlockMass: from (0,0) to (N,1), monotone, a valid HeadCurve, blocks taken by mass', () => {
  const p = P(200, 8, 64);
  const c = curveFromBlockMass([0.1, 0.6, 0.2, 0.1], p);
  assert.deepEqual(c.tokens, [0, 64, 128, 192, 200]);
  assert.deepEqual(c.mass.map((x) => +x.toFixed(6)), [0, 0.6, 0.8, 0.9, 1]);
  assert.ok(E.isRight(HeadCurveC.decode(c)));
  assert.ok(Math.abs(requiredBudget(c, 0.7) - 96) < 1e-9);
  assert.ok(Math.abs(requiredBudget(c, 0.6) - 64) < 1e-9);
});

test('synthetic archetypes: sink-local heads need far smaller budgets than diffuse heads', () => {
  const p = P(2048);
  const need = (a: (typeof HEAD_ARCHETYPES)[number], seed: number) => {
    const h = syntheticHead(syntheticHeadSpec(a, seed), p, seed + 100);
    const c = profileHead(h.q, h.k, p);
    assert.ok(E.isRight(c));
    assert.ok(E.isRight(HeadCurveC.decode(c.right)));
    return requiredBudget(c.right, 0.9);
  };
  const local = [1, 2, 3].map((s) => need('sink-local', s));
  const diffuse = [1, 2, 3].map((s) => need('diffuse', s));
  assert.ok(Math.max(...local) < Math.min(...diffuse), `local ${local} vs diffuse ${diffuse}`);
  assert.ok(Math.min(...diffuse) > 0.5 * 2048, `diffuse heads should need most of the context: ${diffuse}`);
});

test('profileHead reports NaN inputs with row and column', () => {
  const p = P(64, 8, 16);
  const q = new Float32Array(64 * 8);
  q[3 * 8 + 5] = NaN;
  const r = profileHead(q, new Float32Array(64 * 8), p);
  assert.ok(E.isLeft(r));
  assert.equal(r.left.issues[0]!.path, '$.q[3][5]');
});

test('ranks and spearman', () => {
  assert.deepEqual(ranks([10, 30, 20, 20]), [0, 3, 1.5, 1.5]);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
});

test('stability: required budgets of synthetic heads keep their rank across samples and context lengths', () => {
  const specs = syntheticModelSpecs(2, 8, 7);
  const runs = [[1024, 0], [1024, 1], [2048, 0]].map(([n, sample]) => {
    const p = P(n!);
    return {
      label: `sample ${sample} @ N=${n}`, sample: sample!, contextLength: n!,
      budgets: specs.map((row, l) => row.map((s, h) => {
        const x = syntheticHead(s, p, 1000 * sample! + 10 * l + h);
        const c = profileHead(x.q, x.k, p);
        assert.ok(E.isRight(c));
        return requiredBudget(c.right, 0.9);
      })),
    };
  });
  const r = stabilityReport(runs, 0.9);
  assert.ok(E.isRight(r));
  assert.equal(r.right.pairs.length, 3);
  assert.ok(r.right.acrossSamples!.min > 0.8, JSON.stringify(r.right.pairs));
  assert.ok(r.right.acrossContexts!.min > 0.7, JSON.stringify(r.right.pairs));
  assert.equal(r.right.rankSpread.length, 2);
  assert.ok(E.isLeft(stabilityReport(runs.slice(0, 1), 0.9)));
});
