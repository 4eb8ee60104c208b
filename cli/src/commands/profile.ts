/**
 * `hplb profile <dump-dir...|--synthetic> [--out profile.json]`: recovery curves per head from attention inputs.
 *
 * Input: one or more dump directories (post-RoPE q/k per layer and head, format in cli/src/runtime/dump.ts and
 * backends/cpu/README.md), or `--synthetic` heads from core's archetype generator for a registered model.
 * Output: an `hplb.profile/1` curve profile (mass kept vs tokens kept at block granularity over the last
 * `--sample-rows` query rows, MInference's last-64-queries estimate) from the first dump / sample / context.
 * With several dumps, or `--samples S` / `--contexts a,b` for synthetic heads, it also reports stability: the
 * Spearman rank correlation of the heads' required budgets (at `--target` mass) between runs (`--stability-out F`
 * writes `hplb.stability/1`). By default masses are computed exactly on the sampled rows in TypeScript;
 * `--backend X` takes them from that backend's blockMass instead.
 */
import * as E from 'fp-ts/lib/Either.js';
import { basename } from 'node:path';
import { findModel, formatError, kvHeadOf, PROFILE_FORMAT, type HeadCurve, type ModelShape } from '@hplb/core';
import { writeJsonAtomic } from '@hplb/core/node';
import { makeAttentionParams } from '@hplb/core/kernel';
import { profileHead, profileHeadWithBackend, requiredBudget, stabilityReport, type StabilityRun } from '@hplb/core/kernel';
import { mixSeed, syntheticHead, syntheticModelSpecs } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams } from '@hplb/core/kernel';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, type Io } from '../io.ts';
import { progressBar } from '../progress.ts';
import { backendOptions, loadBackend } from '@hplb/runtime';
import { openDump, type DumpIndex } from '@hplb/runtime';

export const summary = 'recovery curves per head from q/k dumps (.npy/safetensors) or synthetic heads; stability report';

const HELP = `Usage: hplb profile <dump-dir> [<dump-dir>...] [--out profile.json]
       hplb profile --synthetic [--model NAME] [--layers K] [--context N] [--samples S] [--contexts N1,N2] [--seed X]
Flags:
  --out F             write the hplb.profile/1 curve profile (default: print it)
  --block B           block size in tokens (default 64)
  --sample-rows R     query rows sampled, the last R (default 64)
  --points P          points per curve (default 48)
  --target T          mass target for required budgets in the stability report (default 0.9)
  --stability-out F   write the hplb.stability/1 report (needs ≥ 2 runs: dumps, samples or contexts)
  --backend X         take block masses from backend X's blockMass (default: exact sampled rows in TypeScript)
  --workers W         worker threads for --backend cpu
  --synthetic         synthetic heads (sink+local, vertical, slash, diffuse archetypes); deterministic in --seed
  --model NAME        registered model for --synthetic (default Llama-3.1-8B-Instruct)
  --layers K          profile only the first K layers (synthetic)
  --context N         context length for --synthetic (default 4096)
  --samples S         synthetic samples per context (new content noise, same heads; default 1)
  --contexts list     synthetic context lengths, e.g. 2048,4096 (default: --context)
Dump format: q_l{L}_h{H}.npy and k_l{L}_h{G}.npy ([N, d] float32/float16), or *.safetensors with q.{L} [Hq,N,d] and
k.{L} [Hkv,N,d]; optional meta.json {"model": "<name>"}. See backends/cpu/README.md for the PyTorch snippet.
`;

interface Run {
  readonly label: string;
  readonly sample: number;
  readonly contextLength: number;
  readonly source: Record<string, unknown>;
  readonly heads: number;
  /** Produces each head's (q, k) lazily. */
  readonly input: (l: number, h: number) => E.Either<import('@hplb/core').HplbError, { q: Float32Array; k: Float32Array }>;
}

export const run = async (argv: string[], io: Io): Promise<number> => {
  const a = parseArgs(argv, {
    values: ['out', 'block', 'sample-rows', 'points', 'target', 'stability-out', 'backend', 'workers', 'model', 'layers', 'context', 'samples', 'contexts', 'seed'],
    booleans: ['synthetic', 'help'],
  });
  if (a.flag('help')) { io.out(HELP); return 0; }
  const blockSize = a.int('block', (n) => n > 0, 'a positive block size') ?? 64;
  const sampleRows = a.int('sample-rows', (n) => n > 0, 'a positive row count') ?? 64;
  const maxPoints = a.int('points', (n) => n >= 3, 'at least 3 points') ?? 48;
  const target = a.number('target', (x) => x > 0 && x <= 1, 'a mass target in (0, 1]') ?? 0.9;
  let model: ModelShape;
  let runs: Run[];
  if (a.flag('synthetic')) {
    if (a.positionals.length > 0) throw argumentError('--synthetic', 'no dump directory with --synthetic', a.positionals[0]);
    const name = a.stringOr('model', 'Llama-3.1-8B-Instruct');
    const found = findModel(name);
    if (found === undefined) throw argumentError('--model', 'a registered model name', name);
    const layers = Math.min(found.layers, a.int('layers', (n) => n > 0, 'a positive layer count') ?? found.layers);
    model = { name: found.name, layers, queryHeads: found.queryHeads, kvHeads: found.kvHeads, headDim: found.headDim };
    const seed = a.int('seed') ?? 1;
    const contexts = a.numberList('contexts', (n) => Number.isInteger(n) && n > 0, 'positive integer context lengths') ?? [a.int('context', (n) => n > 0, 'a positive context length') ?? 4096];
    const samples = a.int('samples', (n) => n > 0, 'a positive sample count') ?? 1;
    const specs = syntheticModelSpecs(layers, model.queryHeads, seed);
    runs = contexts.flatMap((n) => Array.from({ length: samples }, (_, s): Run => ({
      label: `synthetic sample ${s} @ N=${n}`, sample: s, contextLength: n, heads: layers * model.queryHeads,
      source: { generator: '@hplb/core/kernel/synthetic.ts', seed, sample: s, archetypes: specs.map((row) => row.map((x) => x.archetype)) },
      input: (l, h) => { const t = syntheticHead(specs[l]![h]!, { tokens: n, headDim: model.headDim }, mixSeed(seed, l, h, s, 3)); return E.right({ q: t.q, k: t.k }); },
    })));
  } else {
    if (a.positionals.length === 0) throw argumentError('<dump-dir>', 'a dump directory or --synthetic (hplb profile --help)');
    const dumps: DumpIndex[] = a.positionals.map((dir) => orFail(openDump(dir)));
    const d0 = dumps[0]!;
    model = d0.model ?? { name: basename(d0.dir), layers: d0.layers, queryHeads: d0.queryHeads, kvHeads: d0.kvHeads, headDim: d0.headDim };
    for (const d of dumps.slice(1))
      if (d.layers !== d0.layers || d.queryHeads !== d0.queryHeads || d.kvHeads !== d0.kvHeads || d.headDim !== d0.headDim)
        throw argumentError(d.dir, `a dump of the same model as ${d0.dir} (${d0.layers} layers × ${d0.queryHeads} heads, ${d0.kvHeads} KV heads, d=${d0.headDim})`,
          `${d.layers} × ${d.queryHeads}, ${d.kvHeads} KV heads, d=${d.headDim}`);
    runs = dumps.map((d, i): Run => ({
      label: d.dir, sample: i, contextLength: d.tokens, heads: d.layers * d.queryHeads, source: { dump: d.dir, format: d.format },
      input: (l, h) => E.chain((q: Float32Array) => E.map((k: Float32Array) => ({ q, k }))(d.readK(l, kvHeadOf(model, h))))(d.readQ(l, h)),
    }));
  }
  const stabilityOut = a.string('stability-out');
  if (stabilityOut !== undefined && runs.length < 2) throw argumentError('--stability-out', 'at least two runs (several dumps, --samples ≥ 2 or several --contexts)', runs.length);

  let backend: AttentionBackend | undefined;
  const backendName = a.string('backend');
  if (backendName !== undefined) backend = orFail(await loadBackend(backendName, backendOptions(backendName, a.int('workers', (n) => n >= 0)))).backend;
  try {
    const total = runs.reduce((s, r) => s + r.heads, 0);
    const bar = progressBar(io, 'profiling heads');
    let done = 0;
    const curvesPerRun: HeadCurve[][][] = [];
    for (const r of runs) {
      const p: AttentionParams = orFail(makeAttentionParams({ tokens: r.contextLength, headDim: model.headDim, blockSize }));
      const curves: HeadCurve[][] = [];
      for (let l = 0; l < model.layers; l++) {
        const row: HeadCurve[] = [];
        for (let h = 0; h < model.queryHeads; h++) {
          const x = r.input(l, h);
          if (E.isLeft(x)) { bar.finish(); return fail(io, x.left); }
          const c = backend === undefined
            ? profileHead(x.right.q, x.right.k, p, { sampleRows, maxPoints })
            : await profileHeadWithBackend(backend, x.right.q, x.right.k, p, { sampleRows, maxPoints });
          if (E.isLeft(c)) { bar.finish(); return fail(io, { ...c.left, issues: c.left.issues.map((i) => ({ ...i, path: `$.layers[${l}].heads[${h}]${i.path.slice(1)}` })) }, r.label); }
          row.push(c.right);
          bar.update(++done, total, `layer ${l}`);
        }
        curves.push(row);
      }
      curvesPerRun.push(curves);
    }
    bar.finish();
    const first = runs[0]!;
    const profile = {
      format: PROFILE_FORMAT, kind: 'curve' as const, model, contextLength: first.contextLength, curves: curvesPerRun[0]!,
      synthetic: a.flag('synthetic'),
      source: { tool: 'hplb profile', blockSize, sampleRows, massFrom: backend === undefined ? 'exact sampled rows (TypeScript)' : `${backend.name} blockMass`, ...first.source },
    };
    const out = a.string('out');
    if (out !== undefined) { orFail(writeJsonAtomic(out, profile)); io.err(`hplb profile: wrote ${out} (${model.layers}×${model.queryHeads} curves at N=${first.contextLength})\n`); }
    else io.out(JSON.stringify(profile) + '\n');
    if (runs.length >= 2) {
      const stRuns: StabilityRun[] = runs.map((r, i) => ({
        label: r.label, sample: r.sample, contextLength: r.contextLength,
        budgets: curvesPerRun[i]!.map((row) => row.map((c) => requiredBudget(c, target))),
      }));
      const rep = orFail(stabilityReport(stRuns, target));
      const fmt = (s: { min: number; mean: number } | null) => (s === null ? 'n/a' : `min ${s.min.toFixed(3)}, mean ${s.mean.toFixed(3)}`);
      io.err(`stability (Spearman of required budgets at ${target} mass, ${rep.heads} heads): across samples ${fmt(rep.acrossSamples)}; across context lengths ${fmt(rep.acrossContexts)}\n`);
      if (stabilityOut !== undefined) orFail(writeJsonAtomic(stabilityOut, rep));
    }
    return 0;
  } finally {
    await backend?.dispose();
  }
};

const fail = (io: Io, e: import('@hplb/core').HplbError, where?: string): number => {
  io.err(`hplb: ${where !== undefined && e.file === undefined ? `${where}: ` : ''}${formatError(e)}\n`);
  return 1;
};
