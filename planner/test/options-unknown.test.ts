/**
 * Unknown option keys (issue 22): `{ gpu: 4 }` used to plan 8 GPUs silently. Every options decoder now refuses a key
 * its codec does not know, naming the key and the nearest known option; known keys still decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { decodePlanOptions } from '@hplb/planner';

test('an unknown option key is a Left naming it and the nearest option', () => {
  const r = decodePlanOptions({ gpu: 4 });
  assert.ok(E.isLeft(r));
  assert.match(formatError(r.left), /^at \$\.gpu: expected a known option \(did you mean \$\.gpus\?\)/);
  const w = decodePlanOptions({ gpus: 4, workloads: { mode: 'prefill' } });
  assert.ok(E.isLeft(w) && /did you mean \$\.workload\?/.test(formatError(w.left)));
  assert.ok(E.isRight(decodePlanOptions({ gpus: 4, workload: { mode: 'prefill' }, hardware: 'h200', serving: 'price' })));
  assert.ok(E.isRight(decodePlanOptions({ gpus: 4, gpu: undefined })), 'an undefined value is no option');
});
