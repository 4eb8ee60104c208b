/**
 * `profileAttention`: synthetic heads and Q/K dumps give a curve profile (the first run's) and, with several runs, a
 * stability report; bad inputs are Lefts at option paths (`$.synthetic.model`, `$.dumps[i]`, `$.requireStability`),
 * and a dump missing a head names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { ProfileC, decode } from '@hplb/core';
import { syntheticHead, syntheticHeadSpec } from '@hplb/core/kernel';
import { npyBytes, profileAttention } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'hplb-profile-lib-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/** A 2-layer, 4-query-head, 2-KV-head .npy dump of N tokens, head dim d. */
const writeDump = (name: string, N: number, d: number, offset: number, skip?: string): string => {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let l = 0; l < 2; l++)
    for (let h = 0; h < 4; h++) {
      const t = syntheticHead(syntheticHeadSpec(l === 0 ? 'sink-local' : 'diffuse', 10 * l + h + offset), { tokens: N, headDim: d }, h);
      if (`q_l${l}_h${h}.npy` !== skip) writeFileSync(join(dir, `q_l${l}_h${h}.npy`), npyBytes(t.q, N, d));
      if (h < 2 && `k_l${l}_h${h}.npy` !== skip) writeFileSync(join(dir, `k_l${l}_h${h}.npy`), npyBytes(t.k, N, d));
    }
  return dir;
};
test('two dumps: the first dump\'s curve profile, and a stability report across them', async () => {
  const a = writeDump('a', 256, 32, 0);
  const b = writeDump('b', 256, 32, 7);
  const seen: number[] = [];
  const r = await profileAttention({ dumps: [a, b] }, { blockSize: 16, maxPoints: 10, onProgress: (d) => seen.push(d) });
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  assert.ok(E.isRight(decode(ProfileC, JSON.parse(JSON.stringify(r.right.profile)))));
  assert.deepEqual([r.right.profile.contextLength, r.right.profile.curves.length, r.right.profile.curves[0]!.length, r.right.runs], [256, 2, 4, 2]);
  assert.equal((r.right.profile.source as { dump?: string }).dump, a);
  assert.equal(r.right.stability?.heads, 8);
  assert.equal(seen.at(-1), 16, 'progress counts every head of every run');
});

test('synthetic heads: deterministic in the seed; one run has no stability report', async () => {
  const o = { synthetic: { layers: 1, contexts: [256], seed: 3 } };
  const r1 = await profileAttention(o, { maxPoints: 6 });
  const r2 = await profileAttention(o, { maxPoints: 6 });
  assert.ok(E.isRight(r1) && E.isRight(r2));
  assert.deepEqual(r1.right.profile.curves, r2.right.profile.curves);
  assert.equal(r1.right.profile.synthetic, true);
  assert.equal(r1.right.stability, undefined);
});

test('bad inputs are Lefts at option paths; a dump missing a head names it', async () => {
  const model = await profileAttention({ synthetic: { model: 'no-such-model' } });
  assert.ok(E.isLeft(model));
  assert.equal(model.left.issues[0]!.path, '$.synthetic.model');
  const one = await profileAttention({ synthetic: { layers: 1, contexts: [256] } }, { requireStability: true });
  assert.ok(E.isLeft(one));
  assert.equal(one.left.issues[0]!.path, '$.requireStability');
  const a = writeDump('c', 256, 32, 0);
  const small = writeDump('d', 128, 16, 0);
  const mismatch = await profileAttention({ dumps: [a, small] });
  assert.ok(E.isLeft(mismatch));
  assert.equal(mismatch.left.issues[0]!.path, '$.dumps[1]');
  const holed = writeDump('e', 256, 32, 0, 'k_l1_h1.npy');
  const missing = await profileAttention({ dumps: [holed] });
  assert.ok(E.isLeft(missing));
  assert.match(missing.left.issues[0]!.actual ?? '', /k_l1_h1\.npy/);
});
