/**
 * `profileAttention`: recovery curves per head from attention inputs; what `hplb profile` computes. The inputs are
 * Q/K dump directories (post-RoPE q/k per layer and head, read by dump.ts) or synthetic heads from core's archetype
 * generator (`@hplb/core/kernel`) for a registered model. Each head's curve (mass kept vs tokens kept at block
 * granularity over the last `sampleRows` query rows, MInference's last-64-queries estimate) comes from core's
 * profiler, exactly on the sampled rows or from a backend's `blockMass`. The profile is the first run's (first
 * dump, sample or context); with two runs or more it also reports stability: the Spearman rank correlation of the
 * heads' required budgets at `target` mass between runs (`hplb.stability/1`). Node only (dumps, backends).
 *
 * Errors name option paths (`$.dumps[i]`, `$.synthetic.model`, `$.requireStability`, `$.backend`), dump files, and,
 * for a head whose curve fails, `$.layers[l].heads[h]` with the run's label as the file.
 */
import * as E from 'fp-ts/lib/Either.js';
import { basename } from 'node:path';
import { fail, findModel, kvHeadOf, PROFILE_FORMAT, type CurveProfile, type HeadCurve, type HplbError, type ModelShape } from '@hplb/core';
import {
  makeAttentionParams,
  mixSeed,
  profileHead,
  profileHeadWithBackend,
  requiredBudget,
  stabilityReport,
  syntheticHead,
  syntheticModelSpecs,
  type AttentionBackend,
  type StabilityReport,
  type StabilityRun,
} from '@hplb/core/kernel';
import { backendOptions, loadBackend } from './backends.ts';
import { openDump, type DumpIndex } from './dump.ts';

// ---------------------------------------------------------------- model

/** Synthetic heads (sink+local, vertical, slash, diffuse archetypes), deterministic in `seed`. */
export interface SyntheticProfileInput {
  /** A registered model name (default `Llama-3.1-8B-Instruct`). */
  readonly model?: string;
  /** Profile only the first `layers` layers (default all). */
  readonly layers?: number;
  /** Context lengths, one run per length and sample (default [4096]). */
  readonly contexts?: ReadonlyArray<number>;
  /** Samples per context length: new content noise, same heads (default 1). */
  readonly samples?: number;
  /** Default 1. */
  readonly seed?: number;
}

/** What to profile: dump directories (one run each; the same model) or synthetic heads. */
export type ProfileInput = { readonly dumps: ReadonlyArray<string> } | { readonly synthetic: SyntheticProfileInput };

export interface ProfileAttentionOptions {
  /** Block size in tokens (default 64). */
  readonly blockSize?: number;
  /** Query rows sampled: the last `sampleRows` (default 64). */
  readonly sampleRows?: number;
  /** Points per curve (default 48). */
  readonly maxPoints?: number;
  /** Mass target of the required budgets compared by the stability report (default 0.9). */
  readonly target?: number;
  /** Take block masses from this backend's `blockMass` (a registered name, started and disposed here, or an instance). Default: exact sampled rows in TypeScript. */
  readonly backend?: string | AttentionBackend;
  /** Worker threads for a named `cpu` backend. */
  readonly workers?: number;
  /** Fail (before profiling) unless there are at least two runs to compare. */
  readonly requireStability?: boolean;
  /** Progress: `done` of `total` heads. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface AttentionProfile {
  /** The `hplb.profile/1` curve profile of the first run. */
  readonly profile: CurveProfile & { readonly synthetic: boolean; readonly source: Record<string, unknown> };
  /** With two runs or more: how stable the heads' required budgets are across samples and context lengths. */
  readonly stability?: StabilityReport;
  /** The runs profiled (dumps, or contexts × samples). */
  readonly runs: number;
}

interface Run {
  readonly label: string;
  readonly sample: number;
  readonly contextLength: number;
  readonly source: Record<string, unknown>;
  readonly heads: number;
  /** Produces each head's (q, k) lazily. */
  readonly input: (l: number, h: number) => E.Either<HplbError, { q: Float32Array; k: Float32Array }>;
}

// ---------------------------------------------------------------- constructors

const syntheticRuns = (s: SyntheticProfileInput): E.Either<HplbError, { model: ModelShape; runs: Run[] }> => {
  const name = s.model ?? 'Llama-3.1-8B-Instruct';
  const found = findModel(name);
  if (found === undefined) return fail('argument', '$.synthetic.model', 'a registered model name', name);
  const layers = Math.min(found.layers, s.layers ?? found.layers);
  const model: ModelShape = { name: found.name, layers, queryHeads: found.queryHeads, kvHeads: found.kvHeads, headDim: found.headDim };
  const seed = s.seed ?? 1;
  const contexts = s.contexts ?? [4096];
  const samples = s.samples ?? 1;
  const specs = syntheticModelSpecs(layers, model.queryHeads, seed);
  const runs = contexts.flatMap((n) =>
    Array.from({ length: samples }, (_, i): Run => ({
      label: `synthetic sample ${i} @ N=${n}`,
      sample: i,
      contextLength: n,
      heads: layers * model.queryHeads,
      source: { generator: '@hplb/core/kernel/synthetic.ts', seed, sample: i, archetypes: specs.map((row) => row.map((x) => x.archetype)) },
      input: (l, h) => {
        const t = syntheticHead(specs[l]![h]!, { tokens: n, headDim: model.headDim }, mixSeed(seed, l, h, i, 3));
        return E.right({ q: t.q, k: t.k });
      },
    })),
  );
  return E.right({ model, runs });
};

const dumpRuns = (dirs: ReadonlyArray<string>): E.Either<HplbError, { model: ModelShape; runs: Run[] }> => {
  if (dirs.length === 0) return fail('argument', '$.dumps', 'at least one dump directory');
  const dumps: DumpIndex[] = [];
  for (const dir of dirs) {
    const d = openDump(dir);
    if (E.isLeft(d)) return d;
    dumps.push(d.right);
  }
  const d0 = dumps[0]!;
  const model: ModelShape = d0.model ?? { name: basename(d0.dir), layers: d0.layers, queryHeads: d0.queryHeads, kvHeads: d0.kvHeads, headDim: d0.headDim };
  for (const [i, d] of dumps.entries())
    if (d.layers !== d0.layers || d.queryHeads !== d0.queryHeads || d.kvHeads !== d0.kvHeads || d.headDim !== d0.headDim)
      return fail('argument', `$.dumps[${i}]`, `a dump of the same model as ${d0.dir} (${d0.layers} layers × ${d0.queryHeads} heads, ${d0.kvHeads} KV heads, d=${d0.headDim})`, `${d.layers} × ${d.queryHeads}, ${d.kvHeads} KV heads, d=${d.headDim}`);
  const runs = dumps.map((d, i): Run => ({
    label: d.dir,
    sample: i,
    contextLength: d.tokens,
    heads: d.layers * d.queryHeads,
    source: { dump: d.dir, format: d.format },
    input: (l, h) => E.chain((q: Float32Array) => E.map((k: Float32Array) => ({ q, k }))(d.readK(l, kvHeadOf(model, h))))(d.readQ(l, h)),
  }));
  return E.right({ model, runs });
};

// ---------------------------------------------------------------- operations

/**
 * Profile attention heads into recovery curves (and, with several runs, a stability report).
 *
 * @example
 * const r = await profileAttention({ dumps: ['dump-run1', 'dump-run2'] }, { blockSize: 64 });
 * if (E.isRight(r)) writeFileSync('profile.json', JSON.stringify(r.right.profile));
 */
export const profileAttention = async (input: ProfileInput, options: ProfileAttentionOptions = {}): Promise<E.Either<HplbError, AttentionProfile>> => {
  const blockSize = options.blockSize ?? 64;
  const sampleRows = options.sampleRows ?? 64;
  const maxPoints = options.maxPoints ?? 48;
  const target = options.target ?? 0.9;
  const synthetic = 'synthetic' in input;
  const opened = synthetic ? syntheticRuns(input.synthetic) : dumpRuns(input.dumps);
  if (E.isLeft(opened)) return opened;
  const { model, runs } = opened.right;
  if (options.requireStability && runs.length < 2) return fail('argument', '$.requireStability', 'at least two runs (several dumps, samples ≥ 2 or several contexts)', runs.length);

  let backend: AttentionBackend | undefined;
  let owned = false;
  if (typeof options.backend === 'string') {
    const b = await loadBackend(options.backend, backendOptions(options.backend, options.workers));
    if (E.isLeft(b)) return b;
    backend = b.right.backend;
    owned = true;
  } else backend = options.backend;
  try {
    const total = runs.reduce((s, r) => s + r.heads, 0);
    let done = 0;
    const curvesPerRun: HeadCurve[][][] = [];
    for (const r of runs) {
      const p = makeAttentionParams({ tokens: r.contextLength, headDim: model.headDim, blockSize });
      if (E.isLeft(p)) return p;
      const curves: HeadCurve[][] = [];
      for (let l = 0; l < model.layers; l++) {
        const row: HeadCurve[] = [];
        for (let h = 0; h < model.queryHeads; h++) {
          const x = r.input(l, h);
          if (E.isLeft(x)) return x;
          const c = backend === undefined
            ? profileHead(x.right.q, x.right.k, p.right, { sampleRows, maxPoints })
            : await profileHeadWithBackend(backend, x.right.q, x.right.k, p.right, { sampleRows, maxPoints });
          if (E.isLeft(c))
            return E.left({ ...c.left, ...(c.left.file === undefined ? { file: r.label } : {}), issues: c.left.issues.map((i) => ({ ...i, path: `$.layers[${l}].heads[${h}]${i.path.slice(1)}` })) });
          row.push(c.right);
          options.onProgress?.(++done, total, `layer ${l}`);
        }
        curves.push(row);
      }
      curvesPerRun.push(curves);
    }
    const first = runs[0]!;
    const profile = {
      format: PROFILE_FORMAT,
      kind: 'curve' as const,
      model,
      contextLength: first.contextLength,
      curves: curvesPerRun[0]!,
      synthetic,
      source: { tool: 'hplb profile', blockSize, sampleRows, massFrom: backend === undefined ? 'exact sampled rows (TypeScript)' : `${backend.name} blockMass`, ...first.source },
    } as unknown as AttentionProfile['profile'];
    if (runs.length < 2) return E.right({ profile, runs: runs.length });
    const stRuns: StabilityRun[] = runs.map((r, i) => ({
      label: r.label,
      sample: r.sample,
      contextLength: r.contextLength,
      budgets: curvesPerRun[i]!.map((row) => row.map((c) => requiredBudget(c, target))),
    }));
    return E.map((stability: StabilityReport) => ({ profile, stability, runs: runs.length }))(stabilityReport(stRuns, target));
  } finally {
    if (owned) await backend?.dispose();
  }
};
