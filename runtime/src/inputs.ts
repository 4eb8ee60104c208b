/**
 * Deterministic attention inputs for executed plans: q per (layer, query head), k and v per (layer, KV head) (GQA
 * heads of one group share k/v, as on a real GPU). Uniform in [−1, 1): kernel time does not depend on values, and a
 * fast generator keeps the untimed setup small. Shared by the executor's device workers and its tests.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '@hplb/core';
import { budgetKeys, budgetLayout, mixSeed, rng } from '@hplb/core/kernel';
import type { AttentionParams, BlockLayout } from '@hplb/core/kernel';

const uniform = (n: number, seed: number): Float32Array => {
  const u = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * u() - 1;
  return x;
};

export const headInputs = (seed: number, layer: number, head: number, kvHead: number, tokens: number, headDim: number) => ({
  q: uniform(tokens * headDim, mixSeed(seed, layer, head, 0)),
  k: uniform(tokens * headDim, mixSeed(seed, layer, kvHead, 1)),
  v: uniform(tokens * headDim, mixSeed(seed, layer, kvHead, 2)),
});

/**
 * The reference kernel of the timing protocol: a whole head at N with two key blocks per query block (the
 * sink+local layout of budget 1.5·B), on inputs no task uses (layer −2). Calibration times it at its smallest
 * context between grid points and records its baseline (`Calibration.reference`: the 10th percentile of its times);
 * the executor's devices time it at the run's N between passes. Same definition in both, so when the run's N is the
 * calibration's reference N, the ratio of the two baselines is how fast the machine ran against its speed at
 * calibration (the executor's `speed`).
 */
export const referenceKernel = (seed: number, p: AttentionParams): E.Either<HplbError, { x: ReturnType<typeof headInputs>; layout: BlockLayout }> =>
  E.map((layout: BlockLayout) => ({ x: headInputs(seed, -2, 0, 0, p.tokens, p.headDim), layout }))(budgetLayout(p, budgetKeys(p, 1.5 * p.blockSize)));
