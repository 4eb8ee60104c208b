/** webgpu options: the known keys are typed and checked; an unknown key (e.g. gpujs's mode) is refused by name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { parseWebGpuOptions, WEBGPU_CAPABILITIES } from '../src/index.ts';

test('webgpu: options parse, unknown keys and bad values are named', () => {
  assert.deepEqual(parseWebGpuOptions({ idleReleaseMs: 0 }), E.right({ powerPreference: 'high-performance', idleReleaseMs: 0 }));
  const r = parseWebGpuOptions({ mode: 'cpu', idleReleaseMs: 'soon' });
  assert.ok(E.isLeft(r));
  const text = formatError(r.left);
  assert.match(text, /at \$\.backends\.webgpu\.mode: expected one of the webgpu options \(powerPreference, idleReleaseMs\), got an unknown option "mode"/);
  assert.match(text, /at \$\.backends\.webgpu\.idleReleaseMs: expected a whole number of milliseconds ≥ 0/);
});

test('webgpu: runs in worker threads (one Dawn instance per thread), so the executor gives each device its own', () => {
  assert.equal(WEBGPU_CAPABILITIES.workerThreads, true);
});
