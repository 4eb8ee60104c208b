/**
 * `hplb inspect <file> --format minference|duo|moa|xattention|hplb [--context N] [--json] ...`: import a per-head
 * sparsity file and report, for each layer, its heads and the budget min / mean / max and within-layer max/min ratio at
 * context N (tokens per query). The first thing to run on a new profile: it shows how unbalanced the heads are.
 *
 * `--json` prints `{format, kind, contextLength, unit, model:{name,layers,queryHeads,kvHeads,headDim},
 * layers:[{layer, heads, budgetMin, budgetMean, budgetMax, maxOverMin, distinct, recallMin?, recallMean?}], summary, source}`
 * (recall fields only where the source gives recall: MInference).
 * `unit` is "tokens" (budgets per query) for every format except XAttention without `--curves`: its thresholds are
 * top-p mass targets, reported as they are with `unit: "top-p"` (budget* then hold thresholds, never tokens).
 * `maxOverMin` is null when a layer's minimum is 0.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_CONTEXT_LENGTH, PROFILE_FORMATS, detectProfileFormat, hplbError, issue, inspectProfile, type CurveProfile, type HplbError } from 'hplb';
import { loadProfile } from 'hplb/node';
import { duoWindowFromConfig, isProfileFormat } from '@hplb/core';
import { parseArgs } from '../args.ts';
import { CliFailure, argumentError, readJson, readText, type Io } from '../io.ts';
import { planFailure } from '../planFlags.ts';

export const summary = 'per-layer head budgets (min/mean/max, max/min) of a MInference, DuoAttention, MoA, XAttention or hplb profile';

const USAGE = `Usage: hplb inspect <file> [--format ${PROFILE_FORMATS.join('|')}] [--context N] [--json]
                    [--model NAME | --model-config F] [--sparsity s | --threshold t] [--table NAME] [--curves FILE] [--recovery r]

  <file>         the profile; for DuoAttention the full_attention_heads.tsv or its folder
  --format       input format (default: guessed from the file name and content)
  --context N    context length for the budgets (default: the profile's reference N, else ${DEFAULT_CONTEXT_LENGTH})
  --json         machine-readable output
  --model NAME   model shape from the registry (default: found from the file or folder name; any case)
  --model-config F   the model's Hugging Face config.json (any model; checked against the file's layers and heads)
  --sparsity s   DuoAttention: share of KV heads made streaming (lowest gates), in [0, 1]
  --threshold t  DuoAttention: gates below t stream
  --sink, --recent  DuoAttention streaming window (default: config.json next to the TSV, else 128 + 256)
  --table NAME   XAttention: threshold table (default max)
  --curves FILE  an hplb curve profile of the same model: turns XAttention top-p targets into tokens
  --recovery r   curve profiles: attention mass each head keeps (default 0.95)
`;

export { layerStats, type LayerStats } from '@hplb/planner';

const fmt = (x: number | null, digits = 0): string => (x === null ? '-' : digits === 0 && Number.isInteger(x) ? String(x) : x.toFixed(digits === 0 ? 1 : digits));

/** Unwrap at the edge, naming flags: argument and format problems exit 2 (usage), everything else 1. */
const orExit = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) throw planFailure(e.left, { exitCode: e.left.code === 'argument' || e.left.code === 'format' ? 2 : 1 });
  return e.right;
};

export const run = async (argv: string[], io: Io): Promise<number> => {
  const args = parseArgs(argv, {
    values: ['format', 'context', 'model', 'model-config', 'sparsity', 'threshold', 'table', 'curves', 'recovery', 'sink', 'recent'],
    booleans: ['json', 'help'],
  });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw argumentError('<file>', 'exactly one profile file to inspect (hplb inspect <file> --format F)', args.positionals.length === 0 ? undefined : args.positionals.join(' '));
  let file = args.positionals[0]!;
  try {
    if (statSync(file).isDirectory() && statSync(join(file, 'full_attention_heads.tsv')).isFile()) file = join(file, 'full_attention_heads.tsv');
  } catch {
    // readText reports a missing file with its name.
  }
  const context = args.int('context', (n) => n > 0, 'a positive integer context length');
  const sparsity = args.number('sparsity', (n) => n >= 0 && n <= 1, 'a sparsity in [0, 1]');
  const threshold = args.number('threshold');
  const recovery = args.number('recovery', (n) => n >= 0 && n <= 1, 'a recovery target in [0, 1]');
  const sink = args.int('sink', (n) => n >= 0, 'a non-negative integer');
  const recent = args.int('recent', (n) => n >= 0, 'a non-negative integer');
  const text = orExit(readText(file));
  // Text that must be JSON is checked first: a truncated file is invalid JSON, not an undetectable format.
  const format = args.string('format') ?? orExit(detectProfileFormat(text, file));
  if (format === undefined)
    throw new CliFailure(hplbError('format', [issue('--format', `a format (${PROFILE_FORMATS.join('|')}): none given and the file's content names none`)], file), 2);
  if (!isProfileFormat(format)) throw new CliFailure(hplbError('format', [issue('--format', `one of ${PROFILE_FORMATS.join('|')}`, format)], file), 2);

  // DuoAttention: the streaming window of the training config.json next to the TSV, unless --sink / --recent say.
  let window: { sinkTokens: number; recentTokens: number } | undefined;
  const config = join(dirname(file), 'config.json');
  if (format === 'duo' && (sink === undefined || recent === undefined) && existsSync(config))
    window = orExit(E.chain((u: unknown) => duoWindowFromConfig(u, config))(readJson(config)));
  const sinkTokens = sink ?? window?.sinkTokens;
  const recentTokens = recent ?? window?.recentTokens;

  const model = args.string('model');
  const modelConfig = args.string('model-config');
  const table = args.string('table');
  const loaded = orExit(
    loadProfile({ text, fileName: file }, {
      format,
      ...(model !== undefined ? { model } : {}),
      ...(modelConfig !== undefined ? { modelConfig } : {}),
      ...(context !== undefined ? { contextLength: context } : {}),
      ...(sparsity !== undefined ? { sparsity } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(table !== undefined ? { table } : {}),
      ...(sinkTokens !== undefined ? { sinkTokens } : {}),
      ...(recentTokens !== undefined ? { recentTokens } : {}),
    }),
  );
  const profile = loaded.profile;

  let curves: CurveProfile | undefined;
  const curvesFile = args.string('curves');
  if (curvesFile !== undefined) {
    const c = orExit(loadProfile(curvesFile, { format: 'hplb' })).profile;
    if (c.kind !== 'curve') throw new CliFailure(hplbError('argument', [issue('$.kind', '"curve" (recovery curves for --curves)', c.kind)], curvesFile), 2);
    curves = c;
  }
  const inspection = orExit(inspectProfile(profile, { file, ...(context !== undefined ? { contextLength: context } : {}), ...(recovery !== undefined ? { recoveryTarget: recovery } : {}), ...(curves ? { curves } : {}) }));
  const { unit, layers, summary: overall, contextLength: n } = inspection;
  const topPOnly = unit === 'top-p';
  const m = profile.model;
  if (args.flag('json')) {
    const out = {
      format,
      kind: profile.kind,
      contextLength: n,
      unit,
      ...(topPOnly ? { unitNote: 'XAttention thresholds: share of estimated block attention mass each head keeps (top-p); not tokens. Pass --curves to convert.' } : {}),
      model: { name: m.name, layers: m.layers, queryHeads: m.queryHeads, kvHeads: m.kvHeads, headDim: m.headDim },
      layers,
      summary: overall,
      ...(profile.synthetic ? { synthetic: true } : {}),
      ...(profile.source ? { source: profile.source } : {}),
    };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  lines.push(`${file}: ${format} → ${profile.kind} profile${profile.synthetic ? ' (SYNTHETIC)' : ''}`);
  lines.push(`model ${m.name}: ${m.layers} layers × ${m.queryHeads} query heads, ${m.kvHeads} KV heads, head dim ${m.headDim}`);
  lines.push(
    unit === 'tokens'
      ? `budgets at context N = ${n}, in tokens per query`
      : `XAttention thresholds (unit: top-p, the share of attention mass each head keeps; NOT tokens: pass --curves FILE to convert)`,
  );
  const d = unit === 'tokens' ? 1 : 4;
  lines.push(`${'layer'.padStart(5)} ${'heads'.padStart(5)} ${'min'.padStart(9)} ${'mean'.padStart(10)} ${'max'.padStart(9)} ${'max/min'.padStart(8)} ${'distinct'.padStart(8)}`);
  for (const l of layers)
    lines.push(
      `${String(l.layer).padStart(5)} ${String(l.heads).padStart(5)} ${fmt(l.budgetMin, unit === 'tokens' ? 0 : d).padStart(9)} ${l.budgetMean.toFixed(d).padStart(10)} ${fmt(l.budgetMax, unit === 'tokens' ? 0 : d).padStart(9)} ${fmt(l.maxOverMin, 2).padStart(8)} ${String(l.distinct).padStart(8)}`,
    );
  lines.push(
    `all: min ${fmt(overall.budgetMin, unit === 'tokens' ? 0 : d)}, mean ${overall.budgetMean.toFixed(d)}, max ${fmt(overall.budgetMax, unit === 'tokens' ? 0 : d)}, ${overall.distinct} distinct values; ` +
      `largest within-layer max/min ${fmt(overall.maxOverMinLargest, 2)}; layer means spread ${fmt(overall.layerMeanSpread, 2)}×`,
  );
  io.out(`${lines.join('\n')}\n`);
  return 0;
};
