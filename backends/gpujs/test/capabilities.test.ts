/** gpujs declares where it can run: GPU mode (headless-gl) in one thread per process, CPU mode anywhere; unknown options are refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { createBackend, parseGpuJsOptions } from '../src/index.ts';

test('gpujs: GPU mode declares workerThreads false (headless-gl is not context-aware), CPU mode true', () => {
  assert.equal(createBackend().capabilities.workerThreads, false);
  assert.equal(createBackend({ mode: 'gpu' }).capabilities.workerThreads, false);
  assert.equal(createBackend({ mode: 'cpu' }).capabilities.workerThreads, true);
  assert.equal(createBackend({ mode: 'cpu' }).capabilities.multiHead, false);
});

test('gpujs: an unknown option is refused by name, before anything loads', async () => {
  const r = parseGpuJsOptions({ mode: 'cpu', idleReleaseMs: 0 });
  assert.ok(E.isLeft(r));
  assert.equal(formatError(r.left), 'at $.backends.gpujs.idleReleaseMs: expected one of the gpujs options (mode), got an unknown option "idleReleaseMs"');
  const init = await createBackend({ modes: 'cpu' }).init();
  assert.ok(E.isLeft(init));
  assert.match(formatError(init.left), /\$\.backends\.gpujs\.modes/);
});
