/**
 * `hplb profile <dump-dir...|--synthetic> [--out profile.json]`: recovery curves per head from attention inputs.
 *
 * Input: one or more dump directories (post-RoPE q/k per layer and head, format in runtime/src/dump.ts and
 * backends/cpu/README.md), or `--synthetic` heads from core's archetype generator for a registered model.
 * Output: an `hplb.profile/1` curve profile (mass kept vs tokens kept at block granularity over the last
 * `--sample-rows` query rows, MInference's last-64-queries estimate) from the first dump / sample / context.
 * With several dumps, or `--samples S` / `--contexts a,b` for synthetic heads, it also reports stability: the
 * Spearman rank correlation of the heads' required budgets (at `--target` mass) between runs (`--stability-out F`
 * writes `hplb.stability/1`). By default masses are computed exactly on the sampled rows in TypeScript;
 * `--backend X` takes them from that backend's blockMass instead. Flags → options → `profileAttention`
 * (@hplb/runtime) → the files written and the stability line.
 */
import { writeJsonAtomic } from '@hplb/core/node';
import { profileAttention, type ProfileInput } from '@hplb/runtime';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, type Io } from '../io.ts';
import { orFailFlags, type FlagTable } from '../optionFlags.ts';
import { progressBar } from '../progress.ts';

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

/** profileAttention's option paths → this command's flags (and positionals). */
const flagsFor = (dirs: ReadonlyArray<string>): FlagTable => ({
  '$.synthetic.model': { flag: '--model', exitCode: 2 },
  '$.requireStability': { flag: '--stability-out', phrases: { 'samples ≥ 2 or several contexts': '--samples ≥ 2 or several --contexts' }, exitCode: 2 },
  '$.backend': { flag: '--backend' },
  ...Object.fromEntries(dirs.map((d, i) => [`$.dumps[${i}]`, { flag: d, exitCode: 2 }])),
});

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
  let input: ProfileInput;
  if (a.flag('synthetic')) {
    if (a.positionals.length > 0) throw argumentError('--synthetic', 'no dump directory with --synthetic', a.positionals[0]);
    const name = a.stringOr('model', 'Llama-3.1-8B-Instruct');
    const layers = a.int('layers', (n) => n > 0, 'a positive layer count');
    const seed = a.int('seed') ?? 1;
    const contexts = a.numberList('contexts', (n) => Number.isInteger(n) && n > 0, 'positive integer context lengths') ?? [a.int('context', (n) => n > 0, 'a positive context length') ?? 4096];
    const samples = a.int('samples', (n) => n > 0, 'a positive sample count') ?? 1;
    input = { synthetic: { model: name, ...(layers !== undefined ? { layers } : {}), seed, contexts, samples } };
  } else {
    if (a.positionals.length === 0) throw argumentError('<dump-dir>', 'a dump directory or --synthetic (hplb profile --help)');
    input = { dumps: a.positionals };
  }
  const stabilityOut = a.string('stability-out');
  const backend = a.string('backend');
  const workers = a.int('workers', (n) => n >= 0);
  const bar = progressBar(io, 'profiling heads');
  const res = await profileAttention(input, {
    blockSize, sampleRows, maxPoints, target,
    ...(backend !== undefined ? { backend } : {}),
    ...(workers !== undefined ? { workers } : {}),
    requireStability: stabilityOut !== undefined,
    onProgress: (d, t, label) => bar.update(d, t, label),
  });
  bar.finish();
  const { profile, stability } = orFailFlags(flagsFor(a.positionals), res);
  const model = profile.model;
  const out = a.string('out');
  if (out !== undefined) { orFail(writeJsonAtomic(out, profile)); io.err(`hplb profile: wrote ${out} (${model.layers}×${model.queryHeads} curves at N=${profile.contextLength})\n`); }
  else io.out(JSON.stringify(profile) + '\n');
  if (stability !== undefined) {
    const fmt = (s: { min: number; mean: number } | null) => (s === null ? 'n/a' : `min ${s.min.toFixed(3)}, mean ${s.mean.toFixed(3)}`);
    io.err(`stability (Spearman of required budgets at ${target} mass, ${stability.heads} heads): across samples ${fmt(stability.acrossSamples)}; across context lengths ${fmt(stability.acrossContexts)}\n`);
    if (stabilityOut !== undefined) orFail(writeJsonAtomic(stabilityOut, stability));
  }
  return 0;
};
