/**
 * Synthetic attention inputs with the head archetypes seen in real long-context models (MInference, DuoAttention):
 *   - `sink-local`: attention sinks (the first few tokens) plus a local window (streaming heads);
 *   - `vertical`:   sinks plus a set of key columns every query attends to (retrieval-like "vertical" lines);
 *   - `slash`:      a few diagonals at fixed offsets (MInference's slash lines), the main one local;
 *   - `diffuse`:    near-uniform attention (the heads that need large budgets).
 * Used by tests, the benchmarks, `hplb profile --synthetic` and the default profile. Deterministic in the seed.
 *
 * Construction (in logit units, scale = 1/sqrt(d) is folded into k so scale·q·k is the designed logit):
 *   dim 0          sink:      q_i = 1, k_j = sinkStrength for j < sinks;
 *   dims 1..       vertical:  q_i = 1, k_j = verticalStrength for j in the head's column set;
 *   next dims      per slash offset o, D smooth positional codes (an AR(1) process over positions with
 *                  neighbour correlation exp(−1/window)): q_i = x_i, k_j ∝ x_{j+o}, so the logit is
 *                  slashStrength·exp(−|i−j−o|/window) plus noise of deviation slashStrength/√D: a line at
 *                  i − j = o that decays exponentially (a local window when o = 0);
 *   the rest       content noise: Gaussian q and k giving logit noise of standard deviation `noise`.
 * A head keeps its spec (positions as fractions of N) at every context length, so its required budget is stable
 * in rank across samples (seeds of the noise) and context lengths, as the S-HPLB paper observes for real heads.
 */
import type { AttentionParams } from './types.ts';

// ---------------------------------------------------------------- model

export type HeadArchetype = 'sink-local' | 'vertical' | 'slash' | 'diffuse';
export const HEAD_ARCHETYPES: ReadonlyArray<HeadArchetype> = ['sink-local', 'vertical', 'slash', 'diffuse'];

export interface SyntheticHeadSpec {
  readonly archetype: HeadArchetype;
  /** Number of sink tokens and their logit boost. */
  readonly sinks: number;
  readonly sinkStrength: number;
  /** Key columns as fractions of N in [0, 1), and their logit boost. */
  readonly vertical: ReadonlyArray<number>;
  readonly verticalStrength: number;
  /** Diagonal offsets in tokens (0 = local window), their peak logit and window width in tokens. */
  readonly slash: ReadonlyArray<number>;
  readonly slashStrength: number;
  readonly window: number;
  /** Standard deviation of the content-noise logits. */
  readonly noise: number;
}

export interface SyntheticTensors {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
}

// ---------------------------------------------------------------- randomness

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export const rng = (seed: number): (() => number) => {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Standard normal from a uniform source (Box–Muller). */
export const gaussian = (u: () => number): (() => number) => () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

/** Mix integers into one 32-bit seed (layer, head, sample...). */
export const mixSeed = (...xs: number[]): number => {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  }
  return h >>> 0;
};

// ---------------------------------------------------------------- constructors

/** A random head of the given archetype (parameters drawn from ranges that span easy to hard heads). */
export const syntheticHeadSpec = (archetype: HeadArchetype, seed: number): SyntheticHeadSpec => {
  const u = rng(seed);
  const between = (a: number, b: number) => a + (b - a) * u();
  const base = { archetype, sinks: 1 + Math.floor(u() * 4), noise: between(0.3, 1.0) };
  switch (archetype) {
    case 'sink-local':
      return { ...base, sinkStrength: between(5, 9), vertical: [], verticalStrength: 0, slash: [0], slashStrength: between(7, 12), window: Math.round(between(8, 256)) };
    case 'vertical': {
      const cols = 4 + Math.floor(u() * 28);
      return { ...base, sinkStrength: between(4, 8), vertical: Array.from({ length: cols }, () => u()), verticalStrength: between(7, 10), slash: [0], slashStrength: between(3, 7), window: Math.round(between(8, 64)) };
    }
    case 'slash': {
      const lines = 1 + Math.floor(u() * 3);
      return { ...base, sinkStrength: between(3, 6), vertical: [], verticalStrength: 0, slash: [0, ...Array.from({ length: lines }, () => Math.round(between(64, 1024)))], slashStrength: between(7, 11), window: Math.round(between(8, 48)) };
    }
    case 'diffuse':
      return { ...base, sinkStrength: between(0, 2), vertical: [], verticalStrength: 0, slash: [0], slashStrength: between(0, 1.5), window: Math.round(between(256, 2048)), noise: between(0.2, 0.8) };
  }
};

/** Generate q, k, v [N × d] for one head. `sample` reseeds only the content noise and v (same head, new input). */
export const syntheticHead = (spec: SyntheticHeadSpec, p: Pick<AttentionParams, 'tokens' | 'headDim'>, seed: number): SyntheticTensors => {
  const N = p.tokens;
  const d = p.headDim;
  const sqrtD = Math.sqrt(d);
  const q = new Float32Array(N * d);
  const k = new Float32Array(N * d);
  const v = new Float32Array(N * d);
  const g = gaussian(rng(seed));
  let dim = 0;
  // sinks
  if (dim < d) {
    for (let i = 0; i < N; i++) q[i * d + dim] = 1;
    for (let j = 0; j < Math.min(spec.sinks, N); j++) k[j * d + dim] = spec.sinkStrength * sqrtD;
    dim++;
  }
  // vertical columns
  if (spec.vertical.length > 0 && dim < d) {
    for (let i = 0; i < N; i++) q[i * d + dim] = 1;
    for (const f of spec.vertical) k[Math.min(N - 1, Math.floor(f * N)) * d + dim] = spec.verticalStrength * sqrtD;
    dim++;
  }
  // slash lines: per offset o, D smooth positional codes x_t (a D-dimensional AR(1) process with correlation
  // a = exp(−1/window) between neighbours), q_i = x_i and k_j ∝ x_{j+o}: the logit is slashStrength·a^|i−j−o| plus
  // sampling noise of standard deviation slashStrength/√D, so attention decays exponentially away from the line.
  // The codes depend on the head (its spec), not on the sample: the same head keeps its lines in every sample.
  const reserveNoise = Math.min(16, Math.floor(d / 4));
  const avail = d - dim - reserveNoise;
  const D = Math.floor(avail / Math.max(1, spec.slash.length));
  if (D >= 1) {
    const a = Math.exp(-1 / Math.max(1, spec.window));
    const b = Math.sqrt(1 - a * a);
    const maxO = Math.max(0, ...spec.slash);
    const pg = gaussian(rng(mixSeed(Math.round(spec.window * 1000), Math.round(spec.slashStrength * 1000), spec.slash.length, maxO)));
    for (const o of spec.slash) {
      const L = N + o;
      const x = new Float64Array(L * D);
      for (let c = 0; c < D; c++) x[c] = pg();
      for (let t = 1; t < L; t++) for (let c = 0; c < D; c++) x[t * D + c] = a * x[(t - 1) * D + c]! + b * pg();
      const kScale = (spec.slashStrength * sqrtD) / D;
      for (let i = 0; i < N; i++)
        for (let c = 0; c < D; c++) {
          q[i * d + dim + c] = x[i * D + c]!;
          k[i * d + dim + c] = kScale * x[(i + o) * D + c]!;
        }
      dim += D;
    }
  }
  // content noise over the remaining dims: logit std = noise
  const rest = d - dim;
  if (rest > 0) {
    const s = Math.sqrt(spec.noise * sqrtD / Math.sqrt(rest));
    for (let i = 0; i < N; i++) for (let t = dim; t < d; t++) { q[i * d + t] = s * g(); k[i * d + t] = s * g(); }
  }
  for (let x = 0; x < v.length; x++) v[x] = g();
  return { q, k, v };
};

/**
 * One spec per (layer, query head) of a model, deterministic in `seed`. The mix follows what MInference reports
 * for Llama-style models: mostly local/sink heads, a fifth vertical, a fifth slash, and diffuse heads mostly in
 * the first layers.
 */
export const syntheticModelSpecs = (layers: number, heads: number, seed: number): SyntheticHeadSpec[][] =>
  Array.from({ length: layers }, (_, l) => Array.from({ length: heads }, (_, h) => {
    const u = rng(mixSeed(seed, l, h, 1))();
    const diffuseShare = l < Math.max(1, Math.round(layers * 0.1)) ? 0.5 : 0.1;
    const archetype: HeadArchetype = u < diffuseShare ? 'diffuse' : u < diffuseShare + 0.2 ? 'vertical' : u < diffuseShare + 0.4 ? 'slash' : 'sink-local';
    return syntheticHeadSpec(archetype, mixSeed(seed, l, h, 2));
  }));
