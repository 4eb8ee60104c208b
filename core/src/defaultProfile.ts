/**
 * The built-in default profile: a SYNTHETIC curve profile (`hplb.profile/1`, kind "curve", `synthetic: true`) for a
 * Llama-3.1-8B-shaped model (32 layers, 32 query heads, 8 KV heads, head dim 128) at N = 131072. It is what
 * `hplb plan` and `hplb pareto` use when no `--profile` is given. `scripts/generate-default-profile.ts` writes it into
 * `core/src/data/default-profile.json`; it is not measured on a real model.
 *
 * How each head's recoveryCurve is made (all seeded, deterministic, byte-for-byte reproducible):
 *   1. The layer's archetype counts (sink+local, vertical, slash, diffuse) come from `layerArchetypeCounts`: the first
 *      two layers and the last are diffuse-heavy, the middle layers sparse (as MInference and DuoAttention report for
 *      Llama-style models); the heads' order within a layer is a seeded shuffle.
 *   2. Each head gets a spec from the kernels' generator `syntheticHeadSpec` (core/src/kernel/synthetic.ts), less any
 *      vertical column that falls on a sink token (see `offSinks`), and synthetic Q/K from `syntheticHead` at
 *      N = 2048 (`PROFILED_CONTEXT_LENGTH`), d = 128.
 *   3. The real profiler `profileHead` (core/src/kernel/profiler.ts, the one `hplb profile` runs) measures the curve
 *      from the last 64 query rows (MInference's last_q) at block size 16, up to 32 points.
 *   4. The curve is carried to N = 131072 by keeping its density: tokens × 131072 / 2048, mass unchanged (the rule
 *      of `rescaleCurve` in core/src/recovery.ts and of `curveScaling: "proportional"`). A 16-token block at 2048
 *      thus stands for 1024 tokens at 128k; the synthetic heads' windows and columns are assumed to grow with N.
 * The small N keeps the whole run at about 2–3 minutes on two shared cores (~0.14 s per head).
 *
 * The mix is calibrated so that, at 95% recovery, the within-layer max/min budget ratio is about 5–50x and the spread
 * of the layer-mean budget about 3–4x, the statistics published in shared/data/README.md (MInference 128k:
 * within-layer ≤ 8.55x over 5–6 classes, layer spread ≈ 4x; MoA Llama-3-8B-262k: median within-layer 7.9x, max 127x).
 * `calibrationStats` measures them; the generator stores them in the file and the tests check them.
 *
 * `archetypeRecovery` is an analytic curve model of the same archetypes, kept for property tests that need cheap
 * curves of tunable shape; the default profile no longer uses it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decode, hplbError, issue, parseJson, type HplbError } from './errors.ts';
import { makeAttentionParams } from './kernel/params.ts';
import { profileHead } from './kernel/profiler.ts';
import { mixSeed, rng, syntheticHead, syntheticHeadSpec, type SyntheticHeadSpec } from './kernel/synthetic.ts';
import { CurveProfileC, PROFILE_FORMAT, type CurveProfile, type HeadCurve } from './profile.ts';
import { makeRecoveryCurve, tokensFor, type RecoveryCurve } from './recovery.ts';
import { DEFAULT_CONTEXT_LENGTH } from './importers/common.ts';

// ---------------------------------------------------------------- model

export const DEFAULT_PROFILE_SEED = 20250131;
/** The profile's reference context length (what `hplb plan` plans at). */
export const DEFAULT_MODEL_SHAPE = { name: 'synthetic Llama-3.1-8B-shaped', layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128 } as const;

/** How the heads are profiled: context length, query rows sampled (the last ones), block size, curve points. */
export const PROFILED_CONTEXT_LENGTH = 2048;
export const PROFILE_SAMPLE_ROWS = 64;
export const PROFILE_BLOCK_SIZE = 16;
export const PROFILE_MAX_POINTS = 32;

export type Archetype = 'sink-local' | 'slash' | 'vertical' | 'diffuse';
export const ARCHETYPES: ReadonlyArray<Archetype> = ['sink-local', 'slash', 'vertical', 'diffuse'];

/** Parameters of the analytic archetype curve model (property tests). */
export interface HeadParams {
  readonly archetype: Archetype;
  /** Weight of the concentrated part. */
  readonly m: number;
  /** Scale of the concentrated part, tokens. */
  readonly tau: number;
  /** Exponent of the diffuse tail's power law. */
  readonly gamma: number;
}

/** Analytic r(b) = m(1 − e^(−b/τ)) + (1 − m)(b/N)^γ at context n: a concentrated part plus a power-law tail. */
export const archetypeRecovery = (hp: HeadParams, n: number) => (b: number): number =>
  b <= 0 ? 0 : b >= n ? 1 : hp.m * (1 - Math.exp(-b / hp.tau)) + (1 - hp.m) * Math.pow(b / n, hp.gamma);

/** One head of the default profile: its archetype, the kernels' synthetic spec, and the seed of its Q/K. */
export interface DefaultHead {
  readonly layer: number;
  readonly head: number;
  readonly spec: SyntheticHeadSpec;
  readonly inputSeed: number;
}

/**
 * Heads per archetype in layer l of L. Diffuse heads: 16 in layer 0, 12 in layer 1, 9 in the last layer, and in the
 * middle 1 + round(7·((|x − 0.55|)/0.45)²) with x = l/(L − 1) (1 near 55% depth, more towards both ends). The rest
 * split sink+local 1/2, vertical 1/4, slash 1/4 (rounded, slash takes the remainder).
 */
export const layerArchetypeCounts = (l: number, L: number, heads: number): Record<Archetype, number> => {
  const x = L > 1 ? l / (L - 1) : 0;
  const scale = heads / 32;
  const diffuseAt = l === 0 ? 16 : l === 1 && L > 2 ? 12 : l === L - 1 ? 9 : 1 + Math.round(7 * Math.pow(Math.abs(x - 0.55) / 0.45, 2));
  const diffuse = Math.min(heads, Math.max(heads > 1 ? 1 : 0, Math.round(diffuseAt * scale)));
  const rest = heads - diffuse;
  const sink = Math.round(rest / 2);
  const vertical = Math.round(rest / 4);
  return { 'sink-local': sink, vertical, slash: rest - sink - vertical, diffuse };
};

// ---------------------------------------------------------------- constructors

/**
 * Drop vertical columns that land on a sink token at the profiled N: their boost would stack on the sink's (a logit
 * near 15, one 16-token block holding 95% of the mass), making a pure sink head rather than a retrieval head.
 */
const offSinks = (spec: SyntheticHeadSpec): SyntheticHeadSpec =>
  spec.vertical.length === 0 ? spec : { ...spec, vertical: spec.vertical.filter((f) => Math.floor(f * PROFILED_CONTEXT_LENGTH) >= spec.sinks) };

/** Every head's spec and input seed, [layer][head], deterministic in the seed. */
export const defaultHeads = (seed = DEFAULT_PROFILE_SEED, layers: number = DEFAULT_MODEL_SHAPE.layers, heads: number = DEFAULT_MODEL_SHAPE.queryHeads): DefaultHead[][] =>
  Array.from({ length: layers }, (_, l) => {
    const counts = layerArchetypeCounts(l, layers, heads);
    const kinds: Archetype[] = (['sink-local', 'vertical', 'slash', 'diffuse'] as const).flatMap((a) => Array.from({ length: counts[a] }, () => a));
    const u = rng(mixSeed(seed, l, 0xd1f));
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(u() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    return kinds.map((a, h) => ({ layer: l, head: h, spec: offSinks(syntheticHeadSpec(a, mixSeed(seed, l, h, 2))), inputSeed: mixSeed(seed, l, h, 3) }));
  });

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * One head's curve: synthetic Q/K at `PROFILED_CONTEXT_LENGTH`, the real profiler, then carried to `n` keeping the
 * density (tokens × n / PROFILED_CONTEXT_LENGTH; mass rounded to 6 decimals, kept non-decreasing, last point (n, 1)).
 */
export const profileDefaultHead = (h: DefaultHead, headDim: number = DEFAULT_MODEL_SHAPE.headDim, n = DEFAULT_CONTEXT_LENGTH): E.Either<HplbError, HeadCurve> => {
  const n0 = PROFILED_CONTEXT_LENGTH;
  if (!(Number.isInteger(n) && n >= n0 && n % n0 === 0)) return E.left(hplbError('argument', [issue('$.contextLength', `a multiple of the profiled context ${n0}`, n)]));
  const f = n / n0;
  return E.chain((p: Parameters<typeof profileHead>[2]) => {
    const t = syntheticHead(h.spec, { tokens: n0, headDim }, h.inputSeed);
    return E.map((c: HeadCurve) => {
      const tokens: number[] = [];
      const mass: number[] = [];
      c.tokens.forEach((x, i) => {
        const last = i === c.tokens.length - 1;
        tokens.push(last ? n : Math.round(x * f));
        mass.push(last ? 1 : Math.max(mass[mass.length - 1] ?? 0, round6(c.mass[i]!)));
      });
      return { tokens, mass } as unknown as HeadCurve;
    })(profileHead(t.q, t.k, p, { sampleRows: PROFILE_SAMPLE_ROWS, maxPoints: PROFILE_MAX_POINTS }));
  })(makeAttentionParams({ tokens: n0, headDim, blockSize: PROFILE_BLOCK_SIZE }));
};

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

/**
 * Generate the default synthetic curve profile (deterministic for a seed; ~1024 profiler runs, minutes).
 * `onHead(done, total)` reports progress.
 */
export const generateDefaultProfile = (seed = DEFAULT_PROFILE_SEED, onHead?: (done: number, total: number) => void): E.Either<HplbError, CurveProfile> => {
  const n = DEFAULT_CONTEXT_LENGTH;
  const heads = defaultHeads(seed);
  const total = heads.length * (heads[0]?.length ?? 0);
  const curves: HeadCurve[][] = [];
  const rc: RecoveryCurve[][] = [];
  let done = 0;
  for (const row of heads) {
    const cs: HeadCurve[] = [];
    const rs: RecoveryCurve[] = [];
    for (const h of row) {
      const c = profileDefaultHead(h);
      if (E.isLeft(c)) return E.left({ ...c.left, issues: c.left.issues.map((i) => ({ ...i, path: `$.curves[${h.layer}][${h.head}]${i.path.slice(1)}` })) });
      const r = makeRecoveryCurve(c.right.tokens, c.right.mass, n);
      if (E.isLeft(r)) return r;
      cs.push(c.right);
      rs.push(r.right);
      onHead?.(++done, total);
    }
    curves.push(cs);
    rc.push(rs);
  }
  const archetypes = heads.map((row) => row.map((h) => h.spec.archetype));
  const stats = calibrationStats(rc, 0.95, archetypes);
  const profile = {
    format: PROFILE_FORMAT,
    kind: 'curve',
    synthetic: true,
    model: { ...DEFAULT_MODEL_SHAPE },
    contextLength: n,
    source: {
      generator: 'scripts/generate-default-profile.ts (core/src/defaultProfile.ts)',
      method: `per head: archetype spec from syntheticHeadSpec (less vertical columns on sink tokens) and seeded synthetic Q/K from syntheticHead (core/src/kernel/synthetic.ts) at N = ${PROFILED_CONTEXT_LENGTH}, d = ${DEFAULT_MODEL_SHAPE.headDim}; recovery curve measured by the profiler profileHead (core/src/kernel/profiler.ts) over the last ${PROFILE_SAMPLE_ROWS} query rows, block size ${PROFILE_BLOCK_SIZE}, at most ${PROFILE_MAX_POINTS} points; carried to N = ${n} keeping the density b/N (tokens x ${n / PROFILED_CONTEXT_LENGTH}, as rescaleCurve does)`,
      profiler: { function: 'profileHead', module: 'core/src/kernel/profiler.ts', contextLength: PROFILED_CONTEXT_LENGTH, sampleRows: PROFILE_SAMPLE_ROWS, blockSize: PROFILE_BLOCK_SIZE, maxPoints: PROFILE_MAX_POINTS },
      scaling: { rule: 'keep density b/N', from: PROFILED_CONTEXT_LENGTH, to: n, factor: n / PROFILED_CONTEXT_LENGTH },
      seed,
      note: 'SYNTHETIC: synthetic Q/K from head archetypes through the real profiler, not measured on a real model',
      archetypes: archetypes.map((row) => row.join(',')),
      calibration: { target: 'within-layer max/min budget at 95% recovery about 5-50x; layer-to-layer spread about 3-4x (shared/data/README.md)', ...stats },
    },
    curves,
  };
  return E.right(profile as unknown as CurveProfile);
};

/** The committed file's text: one curve per line keeps it diffable and compact. Deterministic. */
export const serializeProfile = (p: CurveProfile): string => {
  const { curves, ...rest } = p;
  const head = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
  const body = curves.map((row) => '    [\n' + row.map((c) => '      ' + JSON.stringify(c)).join(',\n') + '\n    ]').join(',\n');
  return `${head},\n  "curves": [\n${body}\n  ]\n}\n`;
};
