/**
 * The built-in default profile: a SYNTHETIC curve profile (`hplb.profile/1`, kind "curve", `synthetic: true`) for a
 * Llama-3.1-8B-shaped model (32 layers, 32 query heads, 8 KV heads, head dim 128) at N = 131072. It is what
 * `hplb plan` and `hplb pareto` use when no `--profile` is given. It is generated, seeded, from head archetypes by
 * `scripts/generate-default-profile.ts` into `core/data/default-profile.json`; it is not measured on a real model.
 *
 * Archetypes and their recovery-curve model. Attention mass over a head's keys ranked by weight is a mixture of a
 * concentrated part (weight m, exponential in rank with scale τ tokens) and a diffuse tail (weight 1 − m, a power law
 * in rank with exponent γ over all N keys):
 *     r(b) = m · (1 − e^(−b/τ)) + (1 − m) · (b/N)^γ
 *   - sink+local (streaming): m ≈ 0.96–0.985, τ ≈ 25–90: a few hundred tokens keep 95%;
 *   - slash (diagonal bands at fixed offsets): m ≈ 0.93–0.97, τ ≈ 150–600;
 *   - vertical (retrieval columns): m ≈ 0.90–0.95, τ ≈ 400–2000, a heavier tail;
 *   - diffuse: m ≈ 0.5–0.8, τ ≈ 2000–8000, γ ≈ 0.5–0.8: needs a large share of N.
 * Layers differ in their archetype mix (early layers and the last are diffuse-heavy, the middle is sparse) and in a
 * smooth per-layer scale on τ. The mix and ranges are calibrated so that, at 95% recovery, the within-layer
 * max/min budget ratio is about 5–50x and the spread of the layer-mean budget is about 3–4x, the statistics published
 * in shared/data/README.md (MInference 128k: within-layer ≤ 8.55x over 5–6 classes, layer spread ≈ 4x; MoA
 * Llama-3-8B-262k: median within-layer 7.9x, max 127x). `calibrationStats` measures them; the tests check them.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { decode, hplbError, issue, parseJson, type HplbError } from './errors.ts';
import { CurveProfileC, PROFILE_FORMAT, type CurveProfile } from './profile.ts';
import { budgetGrid, makeRecoveryCurve, tokensFor, type RecoveryCurve } from './recovery.ts';

// ---------------------------------------------------------------- model

export const DEFAULT_PROFILE_SEED = 20250131;
export const DEFAULT_CONTEXT_LENGTH = 131072;
export const DEFAULT_MODEL_SHAPE = { name: 'synthetic Llama-3.1-8B-shaped', layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128 } as const;

export type Archetype = 'sink-local' | 'slash' | 'vertical' | 'diffuse';
export const ARCHETYPES: ReadonlyArray<Archetype> = ['sink-local', 'slash', 'vertical', 'diffuse'];

export interface HeadParams {
  readonly archetype: Archetype;
  /** Weight of the concentrated part. */
  readonly m: number;
  /** Scale of the concentrated part, tokens. */
  readonly tau: number;
  /** Exponent of the diffuse tail's power law. */
  readonly gamma: number;
}

/** r(b) of the archetype curve model at context n. */
export const archetypeRecovery = (hp: HeadParams, n: number) => (b: number): number =>
  b <= 0 ? 0 : b >= n ? 1 : hp.m * (1 - Math.exp(-b / hp.tau)) + (1 - hp.m) * Math.pow(b / n, hp.gamma);

/** Ranges per archetype: [m], [τ], [γ]. */
const RANGES: Record<Archetype, { m: [number, number]; tau: [number, number]; gamma: [number, number] }> = {
  'sink-local': { m: [0.965, 0.985], tau: [120, 320], gamma: [0.3, 0.5] },
  slash: { m: [0.955, 0.975], tau: [200, 700], gamma: [0.3, 0.45] },
  vertical: { m: [0.935, 0.96], tau: [500, 1500], gamma: [0.25, 0.4] },
  diffuse: { m: [0.9, 0.94], tau: [2000, 5000], gamma: [0.2, 0.27] },
};

/** Archetype probabilities for layer l of L: [sink-local, slash, vertical, diffuse]. */
const mixOf = (l: number, L: number): [number, number, number, number] => {
  if (l < 2) return [0.1, 0.2, 0.3, 0.4]; // first layers: dense, diffuse-heavy
  if (l === L - 1) return [0.2, 0.25, 0.3, 0.25];
  const x = l / (L - 1);
  const diffuse = 0.04 + 0.16 * Math.abs(x - 0.55);
  return [0.45 - 0.1 * x, 0.25, 0.3 - diffuse + 0.04, diffuse];
};

// ---------------------------------------------------------------- constructors

/** mulberry32: a small, fast, seeded PRNG (deterministic across platforms). */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const between = (rnd: () => number, [lo, hi]: [number, number], log = false) =>
  log ? Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo))) : lo + rnd() * (hi - lo);

/** Per-head archetype parameters for the whole model, seeded. */
export const defaultHeadParams = (seed = DEFAULT_PROFILE_SEED, layers: number = DEFAULT_MODEL_SHAPE.layers, heads: number = DEFAULT_MODEL_SHAPE.queryHeads): HeadParams[][] => {
  const rnd = mulberry32(seed);
  const out: HeadParams[][] = [];
  for (let l = 0; l < layers; l++) {
    const mix = mixOf(l, layers);
    // A smooth per-layer scale on τ: layers differ in how far their heads look (about 1x to 2.5x).
    const scale = 1 + 1.2 * Math.pow(Math.sin((Math.PI * (l + 0.5)) / layers + 0.6), 2) * (0.6 + 0.4 * rnd());
    const row: HeadParams[] = [];
    for (let h = 0; h < heads; h++) {
      let u = rnd();
      let k = 0;
      while (k < 3 && u >= mix[k]!) u -= mix[k++]!;
      const archetype = ARCHETYPES[k]!;
      const r = RANGES[archetype];
      row.push({
        archetype,
        m: between(rnd, r.m),
        tau: Math.round(between(rnd, r.tau, true) * (archetype === 'diffuse' ? 1 : scale)),
        gamma: between(rnd, r.gamma),
      });
    }
    out.push(row);
  }
  return out;
};

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Statistics the calibration targets (at recovery `at`, default 0.95). */
export interface CalibrationStats {
  readonly at: number;
  /** Per layer max/min budget ratio at `at`. */
  readonly withinLayerRatio: ReadonlyArray<number>;
  readonly withinLayerRatioMedian: number;
  readonly withinLayerRatioMax: number;
  /** max/min over layers of the layer-mean budget at `at`. */
  readonly layerSpread: number;
  readonly archetypeCounts: Readonly<Record<Archetype, number>>;
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const calibrationStats = (curves: ReadonlyArray<ReadonlyArray<RecoveryCurve>>, at = 0.95, archetypes?: ReadonlyArray<ReadonlyArray<Archetype>>): CalibrationStats => {
  const need = curves.map((row) => row.map((c) => Math.max(1, tokensFor(c, at))));
  const withinLayerRatio = need.map((row) => Math.max(...row) / Math.min(...row));
  const means = need.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
  const counts: Record<Archetype, number> = { 'sink-local': 0, slash: 0, vertical: 0, diffuse: 0 };
  for (const row of archetypes ?? []) for (const a of row) counts[a]++;
  return {
    at,
    withinLayerRatio: withinLayerRatio.map((x) => Math.round(x * 100) / 100),
    withinLayerRatioMedian: Math.round(median(withinLayerRatio) * 100) / 100,
    withinLayerRatioMax: Math.round(Math.max(...withinLayerRatio) * 100) / 100,
    layerSpread: Math.round((Math.max(...means) / Math.min(...means)) * 100) / 100,
    archetypeCounts: counts,
  };
};

/** Generate the default synthetic curve profile (pure, deterministic for a seed). */
export const generateDefaultProfile = (seed = DEFAULT_PROFILE_SEED, n = DEFAULT_CONTEXT_LENGTH, points = 22): CurveProfile => {
  const params = defaultHeadParams(seed);
  const grid = budgetGrid(n, points);
  const curves = params.map((row) => row.map((hp) => {
    const f = archetypeRecovery(hp, n);
    let prev = 0;
    const mass = grid.map((b) => (prev = Math.max(prev, b >= n ? 1 : round6(f(b)))));
    return { tokens: grid, mass };
  }));
  const rc = curves.map((row) => row.map((c) => makeRecoveryCurve(c.tokens, c.mass, n)).map((e) => (E.isRight(e) ? e.right : { tokens: [0, n], mass: [0, 1], contextLength: n })));
  const archetypes = params.map((row) => row.map((hp) => hp.archetype));
  const stats = calibrationStats(rc, 0.95, archetypes);
  const profile = {
    format: PROFILE_FORMAT,
    kind: 'curve',
    synthetic: true,
    model: { ...DEFAULT_MODEL_SHAPE },
    contextLength: n,
    source: {
      generator: 'scripts/generate-default-profile.ts (core/src/defaultProfile.ts)',
      method: 'archetype curve models r(b) = m(1 − e^(−b/τ)) + (1 − m)(b/N)^γ, sampled on a log grid; see core/src/defaultProfile.ts',
      seed,
      note: 'SYNTHETIC: generated from head archetypes, not measured on a real model',
      archetypes: archetypes.map((row) => row.join(',')),
      calibration: { target: 'within-layer max/min budget at 95% recovery about 5-50x; layer-to-layer spread about 3-4x (shared/data/README.md)', ...stats },
    },
    curves,
  };
  return profile as unknown as CurveProfile;
};

/** The committed file's text: one curve per line keeps it diffable and compact. Deterministic. */
export const serializeProfile = (p: CurveProfile): string => {
  const { curves, ...rest } = p;
  const head = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
  const body = curves.map((row) => '    [\n' + row.map((c) => '      ' + JSON.stringify(c)).join(',\n') + '\n    ]').join(',\n');
  return `${head},\n  "curves": [\n${body}\n  ]\n}\n`;
};

// ---------------------------------------------------------------- loading

export const DEFAULT_PROFILE_URL = new URL('../data/default-profile.json', import.meta.url);

/** Read and decode the committed default profile. */
export const loadDefaultProfile = (): E.Either<HplbError, CurveProfile> => {
  const file = DEFAULT_PROFILE_URL.pathname;
  let text: string;
  try {
    text = readFileSync(DEFAULT_PROFILE_URL, 'utf8');
  } catch (e) {
    return E.left(hplbError('io', [issue('$', 'the default profile (run: npx tsx scripts/generate-default-profile.ts)', e instanceof Error ? e.message : String(e))], file));
  }
  return E.chain((u: unknown) => decode(CurveProfileC, u, file))(parseJson(text, file));
};
