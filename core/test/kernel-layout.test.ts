/** Attention params, layout builders and validateLayout, backend resolution. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { formatError } from '../src/errors.ts';
import {
  budgetBlocks, budgetKeys, budgetLayout, checkKernelCall, fullLayout, layoutBlocks, layoutFromLists, layoutTokenPairs, makeAttentionParams, resolveBackend, topKLayout, topPLayout,
  validateLayout, verticalSlashLayout, type AttentionBackend, type AttentionParams, type BackendCapabilities,
} from '../src/kernel/index.ts';

const P = (tokens: number, blockSize = 16, causal = true, headDim = 32): AttentionParams => {
  const p = makeAttentionParams({ tokens, headDim, blockSize, causal });
  assert.ok(E.isRight(p));
  return p.right;
};
const rightOf = <A>(e: E.Either<unknown, A>): A => { assert.ok(E.isRight(e), E.isLeft(e) ? formatError(e.left as never) : ''); return e.right; };
const lists = (l: { offsets: Int32Array; indices: Int32Array; blocks: number }) =>
  Array.from({ length: l.blocks }, (_, qb) => [...l.indices.subarray(l.offsets[qb]!, l.offsets[qb + 1]!)]);

test('makeAttentionParams: defaults, blocks = ceil(N/B), every problem reported', () => {
  const p = rightOf(makeAttentionParams({ tokens: 100, headDim: 64 }));
  assert.deepEqual(p, { tokens: 100, headDim: 64, blockSize: 64, blocks: 2, causal: true, scale: 1 / 8, precision: 'fp32' });
  const bad = makeAttentionParams({ tokens: 0, headDim: 3.5, blockSize: -1, precision: 'fp8' as never });
  assert.ok(E.isLeft(bad));
  const text = formatError(bad.left);
  for (const s of ['$.tokens', '$.headDim', '$.blockSize', '$.precision']) assert.match(text, new RegExp(s.replace('$', '\\$')));
});

test('fullLayout: causal is lower-triangular in blocks, non-causal is everything', () => {
  assert.deepEqual(lists(fullLayout(P(40))), [[0], [0, 1], [0, 1, 2]]);
  assert.deepEqual(lists(fullLayout(P(40, 16, false))), [[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
  assert.equal(layoutTokenPairs(fullLayout(P(40)), P(40)), (40 * 41) / 2);
});

test('verticalSlashLayout: columns and diagonals at block granularity, never above the diagonal', () => {
  const p = P(64, 16);
  const l = rightOf(verticalSlashLayout(p, { vertical: [3, 40], slash: [0, 20] }));
  // qb0 rows 0..15: vertical block 0 (col 3), diag; slash 20 → none. qb3 rows 48..63: cols 3,40 → blocks 0,2; o=20 → keys 28..43 → blocks 1,2; o=0 → 3
  assert.deepEqual(lists(l), [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3]]);
  assert.ok(E.isLeft(verticalSlashLayout(p, { vertical: [64], slash: [] })));
});

test('budgetLayout: sink + local window covers at least the budget per late row, and grows with it', () => {
  const p = P(1024, 64);
  let prev = 0;
  for (const b of [64, 128, 256, 512, 1024]) {
    const l = rightOf(budgetLayout(p, b));
    const pairs = layoutTokenPairs(l, p, 1023, 1024);
    assert.ok(pairs >= b, `budget ${b}: last row sees ${pairs} keys`);
    assert.ok(layoutBlocks(l) >= prev);
    prev = layoutBlocks(l);
    rightOf(validateLayout(l, p));
  }
  assert.equal(layoutBlocks(rightOf(budgetLayout(p, 1024))), layoutBlocks(fullLayout(p)));
});

test('topKLayout keeps the diagonal plus the k−1 best allowed blocks', () => {
  const p = P(64, 16);
  const scores = new Float32Array(16);
  scores[3 * 4 + 1] = 5; scores[3 * 4 + 0] = 1; scores[3 * 4 + 2] = 3; scores[2 * 4 + 3] = 100; // above diagonal: ignored
  const l = rightOf(topKLayout(p, scores, 2));
  assert.deepEqual(lists(l)[3], [1, 3]);
  assert.deepEqual(lists(l)[2], [0, 2]);
  assert.ok(E.isLeft(topKLayout(p, new Float32Array(3), 2)));
});

test('topPLayout (XAttention rule): fewest blocks by mass reaching the threshold, diagonal always kept', () => {
  const p = P(64, 16);
  const mass = new Float32Array(16);
  mass.set([0.5, 0.1, 0.3, 0.1], 12);
  assert.deepEqual(lists(rightOf(topPLayout(p, mass, 0.5)))[3], [0, 3]);
  assert.deepEqual(lists(rightOf(topPLayout(p, mass, 0.85)))[3], [0, 2, 3]);
  assert.deepEqual(lists(rightOf(topPLayout(p, mass, 1)))[3], [0, 1, 2, 3]);
  assert.ok(E.isLeft(topPLayout(p, mass, 0)));
});

test('validateLayout rejects out-of-range, above-diagonal, unsorted blocks and wrong geometry', () => {
  const p = P(48, 16);
  const msg = (l: Parameters<typeof validateLayout>[0]) => { const r = validateLayout(l, p); assert.ok(E.isLeft(r)); return formatError(r.left); };
  assert.match(msg(layoutFromLists(16, 3, [[0], [0, 1], [0, 7]])), /layout\.indices\[4\].*\[0, 2\].*got 7/);
  assert.match(msg(layoutFromLists(16, 3, [[0, 1], [0, 1], [0]])), /causal: none above the diagonal/);
  assert.match(msg({ ...fullLayout(p), indices: Int32Array.from([0, 1, 0, 0, 2, 1]) }), /sorted ascending/);
  assert.match(msg(layoutFromLists(16, 4, [[0], [0], [0], [0]])), /layout\.blocks/);
  assert.match(msg({ ...fullLayout(p), blockSize: 8 }), /layout\.blockSize/);
});

test('property: every builder yields a valid layout containing the diagonal (seeded fast-check)', () => {
  const seed = 20261126;
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.constantFrom(8, 16, 64), fc.boolean(), fc.integer({ min: 1, max: 300 }), (n, B, causal, b) => {
    const p = P(n, B, causal);
    const ls = [fullLayout(p), rightOf(budgetLayout(p, Math.min(b, n)))];
    const mass = Float32Array.from({ length: p.blocks * p.blocks }, (_, i) => ((i * 7919) % 13) / 13);
    ls.push(rightOf(topPLayout(p, mass, 0.7)), rightOf(topKLayout(p, mass, 1 + (b % 4))));
    for (const l of ls) {
      rightOf(validateLayout(l, p));
      for (let qb = 0; qb < p.blocks; qb++) assert.ok([...l.indices.subarray(l.offsets[qb]!, l.offsets[qb + 1]!)].includes(qb));
    }
  }), { seed, numRuns: 60 });
});

const caps: BackendCapabilities = { precisions: ['fp32'], maxHeadDim: 128, blockSizes: [64], multiHead: false, maxTokens: 1 << 16 };
const fake = (name: string, initResult: 'ok' | 'fail' | 'throw', c = caps): AttentionBackend => ({
  name, capabilities: c,
  init: async () => {
    if (initResult === 'throw') throw new Error(`${name} exploded`);
    return initResult === 'ok' ? E.right({ name, device: `${name}-device` }) : E.left({ code: 'backend', issues: [{ path: `$.backends.${name}`, expected: 'a GPU', actual: 'no adapter' }] });
  },
  blockMass: async () => E.right(new Float32Array()),
  sparseAttention: async () => E.right({ out: new Float32Array(), lse: new Float32Array() }),
  sparseAttentionHeads: async () => E.right([]),
  dispose: async () => {},
});

test('resolveBackend: priority order, capability checks, every reason collected into one error', async () => {
  const p = rightOf(makeAttentionParams({ tokens: 128, headDim: 64, blockSize: 64 }));
  const ok = await resolveBackend([
    { name: 'low', priority: 1, create: () => fake('low', 'ok') },
    { name: 'high', priority: 5, create: () => fake('high', 'ok') },
  ], p);
  assert.ok(E.isRight(ok));
  assert.equal(ok.right.backend.name, 'high');
  const none = await resolveBackend([
    { name: 'gpu', priority: 3, create: () => fake('gpu', 'fail') },
    { name: 'small', priority: 2, create: () => fake('small', 'ok', { ...caps, maxHeadDim: 32 }) },
    { name: 'boom', priority: 1, create: () => fake('boom', 'throw') },
    { name: 'missing', create: () => { throw new Error('Cannot find module @hplb/backend-missing'); } },
  ], p);
  assert.ok(E.isLeft(none));
  const text = formatError(none.left);
  assert.match(text, /backends\.gpu.*no adapter/);
  assert.match(text, /backends\.small.*head dim ≤ 32/);
  assert.match(text, /backends\.boom.*exploded/);
  assert.match(text, /backends\.missing.*Cannot find module/);
  assert.equal(none.left.issues.length, 4);
});

test('budgetLayout without scores: k = round(b/B + ½) blocks per late query block (sink block + local window)', () => {
  const p = P(1024, 64);
  for (const [b, k] of [[10, 1], [64, 2], [100, 2], [130, 3], [300, 5], [640, 11], [600, 10], [2000, 16]] as const) {
    assert.equal(budgetBlocks(p, b), k, `b=${b}`);
    assert.equal(budgetKeys(p, b), (k - 0.5) * 64);
    const ls = lists(rightOf(budgetLayout(p, b)));
    assert.equal(ls[15]!.length, k, `b=${b}`);
    if (k >= 2) assert.deepEqual(ls[15], [0, ...Array.from({ length: k - 1 }, (_, i) => 15 - (k - 2) + i)]);
    for (let qb = 0; qb < 16; qb++) assert.equal(ls[qb]!.length, Math.min(qb + 1, k));
  }
});

test('checkKernelCall checks finiteness over what the call reads: q rows in range, k/v rows of the listed key blocks', () => {
  const p = P(64, 16); // 4 blocks of 16 rows
  const caps: BackendCapabilities = { maxHeadDim: 256, blockSizes: [16], maxTokens: 1 << 20, precisions: ['fp32'], multiHead: false };
  const n = 64 * 32;
  const base = () => ({ q: new Float32Array(n), k: new Float32Array(n), v: new Float32Array(n) });
  const local = layoutFromLists(16, 4, [[0], [1], [2], [3]]); // each query block reads its own key block
  const with_ = (name: 'q' | 'k' | 'v', row: number, col: number) => { const t = base(); t[name][row * 32 + col] = NaN; return t; };
  const err = (e: E.Either<unknown, unknown>) => (E.isLeft(e) ? formatError(e.left as never) : 'Right');
  // Rows [32, 48) read q rows 32..47 and key block 2 (rows 32..47) only.
  const rows = { start: 32, end: 48 };
  assert.ok(E.isRight(checkKernelCall(caps, p, with_('q', 5, 3), 'cpu', local, rows)), 'q row 5 is not read');
  assert.ok(E.isRight(checkKernelCall(caps, p, with_('k', 5, 3), 'cpu', local, rows)), 'key block 0 is not read');
  assert.match(err(checkKernelCall(caps, p, with_('q', 40, 3), 'cpu', local, rows)), /\$\.q\[40\]\[3\].*NaN/);
  assert.match(err(checkKernelCall(caps, p, with_('k', 33, 7), 'cpu', local, rows)), /\$\.k\[33\]\[7\]/);
  assert.match(err(checkKernelCall(caps, p, with_('v', 47, 31), 'cpu', local, rows)), /\$\.v\[47\]\[31\]/);
  // A sink block listed for the range is read too.
  const sink = layoutFromLists(16, 4, [[0], [0, 1], [0, 2], [0, 3]]);
  assert.match(err(checkKernelCall(caps, p, with_('k', 5, 3), 'cpu', sink, rows)), /\$\.k\[5\]\[3\]/);
  // Without a row range every row of q is read; without a layout every value is checked.
  assert.match(err(checkKernelCall(caps, p, with_('q', 5, 3), 'cpu', local)), /\$\.q\[5\]\[3\]/);
  assert.match(err(checkKernelCall(caps, p, with_('k', 5, 3), 'cpu')), /\$\.k\[5\]\[3\]/);
  // Shapes are still checked whole, and every problem is collected.
  const short = { ...base(), k: new Float32Array(7) };
  assert.match(err(checkKernelCall(caps, p, short, 'cpu', local, { start: 64, end: 70 })), /\$\.k.*2048 values[\s\S]*\$\.rows/);
});
