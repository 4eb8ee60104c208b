/**
 * Deterministic attention inputs for executed plans: q per (layer, query head), k and v per (layer, KV head) (GQA
 * heads of one group share k/v, as on a real GPU). Uniform in [−1, 1): kernel time does not depend on values, and a
 * fast generator keeps the untimed setup small. Shared by the executor's device workers and its tests.
 */
import { mixSeed, rng } from '@hplb/core/kernel';

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
