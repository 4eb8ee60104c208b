/**
 * The WebGPU backend against the shared attention conformance suite (Dawn; on CI and dev machines without a GPU,
 * Vulkan through Mesa's lavapipe), plus what the suite cannot see: adapter reporting, a multi-tile batched call,
 * the idle device release and the "what is missing" message when Dawn finds no adapter.
 *
 * The suite must start (requireInit) on Debian-family Linux, where scripts/setup-system.sh installs Mesa ≥ 25 and
 * the Vulkan loader; elsewhere a missing adapter skips it with the reason. HPLB_REQUIRE_GPU_BACKENDS=1|0 overrides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout, fullLayout } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import type { BlockLayout } from '@hplb/core/kernel';
import { attentionConformance, compareArrays, referenceAttention, TOLERANCES } from '@hplb/spec';
import { createBackend } from '../src/index.ts';

const env = process.env['HPLB_REQUIRE_GPU_BACKENDS'];
const requireInit = env !== undefined ? env === '1' : process.platform === 'linux' && existsSync('/usr/bin/apt-get');

attentionConformance({ name: 'webgpu', create: () => createBackend(), precision: 'fp32', requireInit, timeoutMs: 600_000 });

const randn = (n: number, seed: number): Float32Array => {
  const g = gaussian(rng(seed));
  return Float32Array.from({ length: n }, () => g());
};

test('webgpu: adapter info, a multi-tile batched call, idle release and re-creation', { timeout: 600_000 }, async (t) => {
  const backend = createBackend({ idleReleaseMs: 50 });
  const info = await backend.init();
  if (E.isLeft(info)) {
    if (requireInit) assert.fail(formatError(info.left));
    t.skip(formatError(info.left));
    return;
  }
  try {
    assert.ok(info.right.device.length > 0, 'the adapter is named');
    assert.equal(typeof info.right.details?.['vendor'], 'string');
    t.diagnostic(`adapter: ${info.right.device}; ${info.right.mode}`);
    // d = 96 (not a multiple of the vec4 class), B = 32, N = 300: several query tiles per block, partial last block.
    const p = makeAttentionParams({ tokens: 300, headDim: 96, blockSize: 32, causal: true });
    assert.ok(E.isRight(p));
    const n = p.right.tokens * p.right.headDim;
    const sparse = (budget: number): BlockLayout => {
      const l = budgetLayout(p.right, budget);
      assert.ok(E.isRight(l));
      return l.right;
    };
    const layouts = [fullLayout(p.right), sparse(70), sparse(40)];
    const heads = layouts.map((layout, h) => ({
      q: randn(n, 10 + 3 * h), k: randn(n, 11 + 3 * h), v: randn(n, 12 + 3 * h), layout,
      ...(h === 2 ? { rows: { start: 45, end: 233 } } : {}),
    }));
    const got = await backend.sparseAttentionHeads(heads, p.right);
    assert.ok(E.isRight(got), E.isLeft(got) ? formatError(got.left) : '');
    for (const [h, x] of heads.entries()) {
      const ref = referenceAttention(x.q, x.k, x.v, p.right, x.layout, x.rows);
      assert.equal(compareArrays(`head ${h} out`, got.right[h]!.out, ref.out, TOLERANCES.fp32, p.right.headDim), null);
      assert.equal(compareArrays(`head ${h} lse`, got.right[h]!.lse, ref.lse, TOLERANCES.fp32), null);
    }
    assert.equal(backend.deviceStarts, 1);
    await new Promise((r) => setTimeout(r, 300));
    const again = await backend.sparseAttention(heads[0]!.q, heads[0]!.k, heads[0]!.v, heads[0]!.layout, p.right, { start: 0, end: 40 });
    assert.ok(E.isRight(again), E.isLeft(again) ? formatError(again.left) : '');
    assert.equal(backend.deviceStarts, 2, 'the idle device was released and a new one created');
    assert.equal(compareArrays('after re-creation', again.right.out, got.right[0]!.out.subarray(0, 40 * p.right.headDim), TOLERANCES.fp32, p.right.headDim), null);
  } finally {
    await backend.dispose();
  }
});

test('webgpu: with no Vulkan driver, init() says what is missing and how to install it', { timeout: 120_000, skip: process.platform !== 'linux' ? 'the Vulkan ICD override is Linux-only' : false }, async () => {
  const script = fileURLToPath(new URL('./no-adapter.fixture.ts', import.meta.url));
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/hplb_icd.json', VK_DRIVER_FILES: '/nonexistent/hplb_icd.json' }, timeout: 90_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  assert.match(out, /^Left: /, `init() should fail without a driver, got: ${out}`);
  assert.match(out, /\$\.backends\.webgpu/);
  assert.match(out, /adapter/);
  assert.match(out, /VK_ICD_FILENAMES|libvulkan|mesa-vulkan-drivers/);
});
