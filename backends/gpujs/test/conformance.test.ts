/**
 * The gpu.js backend against the shared attention conformance suite, in GPU mode (WebGL 1 through headless-gl, under
 * Xvfb: scripts/test.sh wraps the run in `xvfb-run -a`) and in CPU mode; then checks the suite cannot see: that the
 * GPU-mode run really executed on headless-gl, the fp32 error actually measured against a float64 reference, and
 * the "what is missing" message without a display.
 *
 * GPU mode must start (requireInit) on Debian-family Linux, where scripts/setup-system.sh installs Xvfb and the
 * headless-gl build dependencies; elsewhere it is skipped with the reason. HPLB_REQUIRE_GPU_BACKENDS=1|0 overrides.
 * CPU mode needs nothing beyond npm packages and is always required.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout } from '@hplb/core/kernel';
import { gaussian, rng } from '@hplb/core/kernel';
import { attentionConformance, referenceAttention, referenceBlockMass, TOLERANCES } from '@hplb/spec';
import { createBackend, type GpuJsBackend } from '../src/index.ts';

const env = process.env['HPLB_REQUIRE_GPU_BACKENDS'];
const requireGpu = env !== undefined ? env === '1' : process.platform === 'linux' && existsSync('/usr/bin/apt-get');

let gpuRun: GpuJsBackend | undefined;
attentionConformance({ name: 'gpujs (gpu mode, headless-gl)', create: () => (gpuRun = createBackend({ mode: 'gpu' })), precision: 'fp32', requireInit: requireGpu, timeoutMs: 600_000 });
attentionConformance({ name: 'gpujs (cpu mode)', create: () => createBackend({ mode: 'cpu' }), precision: 'fp32', requireInit: true, timeoutMs: 600_000 });

test('gpujs: the GPU-mode conformance run executed on headless-gl, never on a CPU fallback', (t) => {
  const used = gpuRun?.kernelClassesUsed() ?? [];
  if (used.length === 0) {
    if (requireGpu) assert.fail('the GPU-mode conformance run executed no kernel (see its failure above)');
    t.skip('GPU mode could not start here (see the skipped conformance run for what is missing)');
    return;
  }
  assert.deepEqual(used, ['HeadlessGLKernel']);
});

const randn = (n: number, seed: number, scale = 1): Float32Array => {
  const g = gaussian(rng(seed));
  return Float32Array.from({ length: n }, () => scale * g());
};

/** Largest |a − e| / (1 + |e|) over the arrays. */
const worst = (a: ArrayLike<number>, e: ArrayLike<number>): number => {
  let w = 0;
  for (let i = 0; i < e.length; i++) w = Math.max(w, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  return w;
};

for (const mode of ['gpu', 'cpu'] as const) {
  test(`gpujs (${mode} mode): measured error against a float64 reference is within fp32's tolerance`, async (t) => {
    const backend = createBackend({ mode });
    const info = await backend.init();
    if (E.isLeft(info)) {
      if (mode === 'cpu' || requireGpu) assert.fail(formatError(info.left));
      t.skip(formatError(info.left));
      return;
    }
    try {
      const p = makeAttentionParams({ tokens: 260, headDim: 64, blockSize: 32 });
      assert.ok(E.isRight(p));
      const n = p.right.tokens * p.right.headDim;
      const q = randn(n, 1, 1.5), k = randn(n, 2, 1.5), v = randn(n, 3);
      const layout = budgetLayout(p.right, 100);
      assert.ok(E.isRight(layout));
      const got = await backend.sparseAttention(q, k, v, layout.right, p.right);
      assert.ok(E.isRight(got), E.isLeft(got) ? formatError(got.left) : '');
      const mass = await backend.blockMass(q, k, p.right);
      assert.ok(E.isRight(mass), E.isLeft(mass) ? formatError(mass.left) : '');
      const ref = referenceAttention(q, k, v, p.right, layout.right);
      const errors = { out: worst(got.right.out, ref.out), lse: worst(got.right.lse, ref.lse), mass: worst(mass.right, referenceBlockMass(q, k, p.right)) };
      t.diagnostic(`${info.right.device}: largest relative error out ${errors.out.toExponential(2)}, lse ${errors.lse.toExponential(2)}, blockMass ${errors.mass.toExponential(2)}`);
      for (const [what, e] of Object.entries(errors)) assert.ok(e <= TOLERANCES.fp32.rtol, `${what}: ${e} exceeds fp32's ${TOLERANCES.fp32.rtol}`);
    } finally {
      await backend.dispose();
    }
  });
}

test('gpujs: without an X display, GPU mode says what is missing instead of falling back', { timeout: 120_000 }, async () => {
  const script = fileURLToPath(new URL('./no-display.fixture.ts', import.meta.url));
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv['DISPLAY'];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], { env: childEnv, timeout: 90_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  assert.match(out, /^Left: /, `init() should fail without a display, got: ${out}`);
  assert.match(out, /\$\.backends\.gpujs/);
  assert.match(out, /xvfb-run -a|npm rebuild gl/);
});
