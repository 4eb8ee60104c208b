/**
 * The CUDA backend's TypeScript layer on a fake binding (test/fakeBinding.ts), in CPU-only CI: the shared
 * conformance suite end to end, multi-head packing against @hplb/spec's reference, the init paths (no driver,
 * no device, old GPU, bad options), lifecycle, and CUDA errors becoming HplbErrors that keep the CUDA code.
 * Nothing here loads the native addon (checked at the end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout, fullLayout, layoutFromLists } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { AttentionParams, HeadInput } from '@hplb/core/kernel';
import { attentionConformance, compareArrays, referenceAttention, TOLERANCES } from '@hplb/spec';
import { createBackend, packHeads, splitOutputs } from '../src/index.ts';
import { cudaError, fakeBinding } from './fakeBinding.ts';

const params = (raw: Parameters<typeof makeAttentionParams>[0]): AttentionParams => {
  const p = makeAttentionParams(raw);
  if (E.isLeft(p)) throw new Error(formatError(p.left));
  return p.right;
};
const randn = (n: number, seed: number): Float32Array => {
  const g = gaussian(rng(seed));
  return Float32Array.from({ length: n }, () => g());
};
const leftText = (e: E.Either<HplbError, unknown>): string => {
  assert.ok(E.isLeft(e), 'expected a Left');
  return formatError(e.left);
};

attentionConformance({ name: 'cuda TS layer (fake binding)', create: () => createBackend({ binding: fakeBinding() }), precision: 'fp32', requireInit: true });

test('packHeads rebases each head\'s CSR offsets into one index array and keeps row ranges', () => {
  const p = params({ tokens: 40, headDim: 8, blockSize: 16 });
  const a = layoutFromLists(16, 3, [[0], [0, 1], [1, 2]]);
  const b = layoutFromLists(16, 3, [[0], [1], [0, 2]]);
  const z = new Float32Array(40 * 8);
  const heads: HeadInput[] = [{ q: z, k: z, v: z, layout: a }, { q: z, k: z, v: z, layout: b, rows: { start: 5, end: 33 } }];
  const r = packHeads(heads, p, [{ start: 0, end: 40 }, { start: 5, end: 33 }]);
  assert.deepEqual([...r.offsets], [0, 1, 3, 5, 5, 6, 7, 9]);
  assert.deepEqual([...r.indices], [0, 0, 1, 1, 2, 0, 1, 0, 2]);
  assert.deepEqual([...r.rowStart], [0, 5]);
  assert.deepEqual([...r.rowEnd], [40, 33]);
  assert.equal(r.heads, 2);
  const parts = splitOutputs(new Float32Array((40 + 28) * 8).map((_, i) => i), new Float32Array(68).map((_, i) => i), [{ start: 0, end: 40 }, { start: 5, end: 33 }], 8);
  assert.equal(parts[1]!.out[0], 40 * 8);
  assert.equal(parts[1]!.lse.length, 28);
});

test('many heads with their own layouts and row ranges go to ONE native call and match the reference per head', async () => {
  const fake = fakeBinding();
  const backend = createBackend({ binding: fake });
  assert.ok(E.isRight(await backend.init()));
  const p = params({ tokens: 70, headDim: 16, blockSize: 16 });
  const n = p.tokens * p.headDim;
  const budget = budgetLayout(p, 20);
  if (E.isLeft(budget)) throw new Error(formatError(budget.left));
  const layouts = [fullLayout(p), budget.right, layoutFromLists(16, p.blocks, [[0], [], [2], [0, 3], [1, 4]])];
  const heads: HeadInput[] = layouts.map((layout, h) => ({
    q: randn(n, 10 + h), k: randn(n, 20 + h), v: randn(n, 30 + h), layout,
    ...(h === 1 ? { rows: { start: 17, end: 50 } } : {}),
  }));
  const out = await backend.sparseAttentionHeads(heads, p);
  assert.ok(E.isRight(out), E.isLeft(out) ? formatError(out.left) : '');
  assert.equal(fake.requests.length, 1);
  heads.forEach((h, i) => {
    const ref = referenceAttention(h.q, h.k, h.v, p, h.layout, h.rows);
    assert.equal(compareArrays(`head ${i} out`, out.right[i]!.out, ref.out, TOLERANCES.fp32, p.headDim), null);
    assert.equal(compareArrays(`head ${i} lse`, out.right[i]!.lse, ref.lse, TOLERANCES.fp32), null);
  });
  // query block 1 of head 2 attends to nothing: zero output, lse −∞
  assert.equal(out.right[2]!.lse[20], -Infinity);
  assert.deepEqual(backend.lastTiming(), { kernelMs: 0.5, totalMs: 1.5 });
  assert.equal(fake.requests[0]!.kernel, 'pipelined');
  await backend.dispose();
  assert.deepEqual(fake.events, ['open 0', 'close 0']);
});

test('bad heads are rejected before any native call, each issue under $.heads[h]', async () => {
  const fake = fakeBinding();
  const backend = createBackend({ binding: fake });
  await backend.init();
  const p = params({ tokens: 32, headDim: 8, blockSize: 16 });
  const n = p.tokens * p.headDim;
  const q = randn(n, 1);
  const bad = q.slice();
  bad[9] = NaN;
  const r = await backend.sparseAttentionHeads([
    { q, k: q, v: q, layout: fullLayout(p) },
    { q: bad, k: q, v: q, layout: fullLayout(p), rows: { start: 3, end: 99 } },
  ], p);
  const text = leftText(r);
  assert.match(text, /\$\.heads\[1\]\.q\[1\]\[1\]/);
  assert.match(text, /\$\.heads\[1\]\.rows/);
  assert.equal(fake.requests.length, 0);
  const big = params({ tokens: 32, headDim: 8, blockSize: 8 });
  assert.match(leftText(await backend.sparseAttention(q, q, q, fullLayout(big), big)), /block size the cuda backend supports/);
  await backend.dispose();
});

test('init without a driver reports "no CUDA device (error 35 …)" and nothing else runs', async () => {
  const backend = createBackend({ binding: fakeBinding({ devices: cudaError('cudaGetDeviceCount', 35, 'cudaErrorInsufficientDriver', 'CUDA driver version is insufficient for CUDA runtime version') }) });
  const text = leftText(await backend.init());
  assert.equal(text, 'at cuda: expected a CUDA device, got no CUDA device (error 35 cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version)');
  const p = params({ tokens: 16, headDim: 8, blockSize: 16 });
  const z = new Float32Array(16 * 8);
  assert.match(leftText(await backend.sparseAttention(z, z, z, fullLayout(p), p)), /init\(\) to have succeeded/);
  assert.match(leftText(await backend.blockMass(z, z, p)), /init\(\) to have succeeded/);
  await backend.dispose();
});

test('init: zero devices, an old GPU, a device index out of range and bad options are clear Lefts', async () => {
  assert.match(leftText(await createBackend({ binding: fakeBinding({ devices: 0 }) }).init()), /no CUDA device \(cudaGetDeviceCount found 0\)/);
  const old = fakeBinding({ computeCapability: '7.5' });
  assert.match(leftText(await createBackend({ binding: old }).init()), /compute capability ≥ 8.*7\.5/);
  assert.deepEqual(old.events, ['open 0', 'close 0']);
  assert.match(leftText(await createBackend({ binding: fakeBinding({ devices: 1 }), device: 2 }).init()), /\$\.device.*below 1/);
  assert.match(leftText(await createBackend({ binding: fakeBinding(), device: -1 }).init()), /\$\.device/);
  assert.match(leftText(await createBackend({ binding: 42 }).init()), /\$\.binding/);
  assert.match(leftText(await createBackend({ binding: fakeBinding(), kernel: 'fastest' }).init()), /\$\.kernel.*pipelined\|simple/);
  const simple = fakeBinding();
  const sb = createBackend({ binding: simple, kernel: 'simple' });
  const si = await sb.init();
  assert.ok(E.isRight(si) && si.right.details?.['kernel'] === 'simple');
  const p = params({ tokens: 16, headDim: 8, blockSize: 16 });
  const z = new Float32Array(16 * 8);
  assert.ok(E.isRight(await sb.sparseAttention(z, z, z, fullLayout(p), p)));
  assert.equal(simple.requests[0]!.kernel, 'simple');
  assert.ok(E.isRight(await sb.blockMass(z, z, p)));
  assert.equal(simple.massRequests[0]!.kernel, 'simple');
  assert.match(leftText(await createBackend({ addonPath: '/nonexistent/hplb_cuda.node' }).init()), /not built.*\/nonexistent\/hplb_cuda\.node/);
});

test('a CUDA failure during a call becomes a backend HplbError carrying the CUDA code; the next call works', async () => {
  const fake = fakeBinding();
  const backend = createBackend({ binding: fake });
  const info = await backend.init();
  assert.ok(E.isRight(info));
  assert.match(info.right.device, /Fake H100 \(sm_90, 132 SMs, 80\.0 GiB\)/);
  const p = params({ tokens: 32, headDim: 8, blockSize: 16 });
  const x = randn(32 * 8, 3);
  fake.options.failNext = cudaError('sparseAttention kernel', 2, 'cudaErrorMemoryAllocation', 'out of memory');
  const r = await backend.sparseAttention(x, x, x, fullLayout(p), p);
  assert.ok(E.isLeft(r));
  assert.equal(r.left.code, 'backend');
  assert.match(formatError(r.left), /cuda\.sparseAttention.*error 2 cudaErrorMemoryAllocation: out of memory/);
  fake.options.failNext = cudaError('blockMass kernel', 719, 'cudaErrorLaunchFailure', 'unspecified launch failure');
  assert.match(leftText(await backend.blockMass(x, x, p)), /error 719 cudaErrorLaunchFailure/);
  assert.ok(E.isRight(await backend.sparseAttention(x, x, x, fullLayout(p), p)));
  fake.options.failNext = Object.assign(new Error('at $.indices[3]: expected a key block in [0, 2)'), { argument: '$.indices[3]' });
  const a = await backend.sparseAttention(x, x, x, fullLayout(p), p);
  assert.ok(E.isLeft(a));
  assert.equal(a.left.code, 'argument');
  assert.equal(a.left.issues[0]!.path, '$.indices[3]');
  await backend.dispose();
  assert.match(leftText(await backend.sparseAttention(x, x, x, fullLayout(p), p)), /not disposed/);
  assert.match(leftText(await backend.init()), /not disposed/);
});

test('the fake-binding tests never load the native addon', () => {
  const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
  assert.deepEqual(Object.keys(cache).filter((k) => k.endsWith('.node')), []);
});
