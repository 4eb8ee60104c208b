/**
 * Where the GPU object comes from: Dawn by default in Node, an injected `GPU` object (what the browser page passes:
 * navigator.gpu), and the browser entry's answer when there is no navigator.gpu (Node has none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { createBackend, dawn } from '../src/index.ts';
import { createBackend as createBrowserBackend, navigatorGpuProvider } from '../src/browser.ts';

test('webgpu browser entry: without navigator.gpu, init() says WebGPU is missing, naming navigator.gpu', async () => {
  assert.equal((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu, undefined, 'Node has no navigator.gpu');
  const b = createBrowserBackend();
  const info = await b.init();
  assert.ok(E.isLeft(info));
  assert.match(formatError(info.left), /\$\.backends\.webgpu: expected navigator\.gpu \(a browser with WebGPU\), got navigator\.gpu is missing/);
  assert.equal(navigatorGpuProvider.label, 'navigator.gpu');
  await b.dispose();
});

test('webgpu: an injected GPU object is used instead of the default, and reported', async (t) => {
  const gpu = await dawn();
  if (E.isLeft(gpu)) {
    t.skip(`no Dawn here: ${formatError(gpu.left)}`);
    return;
  }
  let asked = 0;
  // A GPU object that counts adapter requests, wrapping Dawn's: the backend must ask it, not Dawn directly.
  const dawnGpu = gpu.right as unknown as { requestAdapter(o?: unknown): Promise<unknown> };
  const counting = { requestAdapter: (o?: unknown) => { asked++; return dawnGpu.requestAdapter(o); } } as unknown as NonNullable<Parameters<typeof createBackend>[1]>;
  const b = createBackend({ idleReleaseMs: 0 }, counting);
  try {
    const info = await b.init();
    if (E.isLeft(info)) {
      t.skip(`no adapter here: ${formatError(info.left)}`);
      return;
    }
    assert.equal(asked, 1);
    assert.equal(info.right.details?.['gpu'], 'an injected GPU object');
  } finally {
    await b.dispose();
  }
});
