/**
 * Absurd GPU counts in a raw instance (issue 21): `gpus` 1e308 or 2^32 threw RangeError while allocating one speed per
 * GPU. They are Lefts at $.gpus naming the accepted range, before anything is allocated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { readInstance, solveDecodedInstance } from '@hplb/planner';

test('gpus 1e308, 2^32 and 2^31 are Lefts at $.gpus, never a throw', async () => {
  for (const gpus of [1e308, 2 ** 32, 2 ** 31]) {
    const inst = readInstance({ costs: [3, 2, 1], gpus });
    const r = E.isLeft(inst) ? inst : await solveDecodedInstance(inst.right);
    assert.ok(E.isLeft(r), `gpus ${gpus}`);
    assert.match(formatError(r.left), /at \$\.gpus: expected an integer GPU count in \[1, 65,536\]/);
  }
});
