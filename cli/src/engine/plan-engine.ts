/**
 * `hplb plan` in engine-compatible mode: `--engine-layout`, `--kv-copies r|auto`, or a context-length distribution
 * (`--context 8192:0.3,32768:0.5,131072:0.2`). `cli/src/commands/plan.ts` delegates here when its argv holds any
 * of those. Flags → options → one call of `@hplb/engines` (`planEngineLayoutForProfile`, or
 * `planLengthDistribution` without `--engine-layout`) → the `hplb.plan/1` plan written with its `engineLayout`
 * extension, which `hplb export` turns into an `hplb.engine-layout/1` file. Prints a table: per K/V duplication
 * factor r, the attention balance at every length, the expected latency with the K/V projection price, the extra
 * KV memory, and the price against free placement; `--json` prints the plan. Library errors name options; the
 * table below maps them to these flags.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_CONTEXT_LENGTH,
  PROFILE_FORMATS,
  hplbError,
  importProfile,
  isProfileFormat,
  issue,
  makeDevices,
  namedCostModel,
  type CostModel,
  type Device,
  type Profile,
  detectProfileFormat,
  planEngineLayoutForProfile,
  planLengthDistribution,
  type EnginePlanResult,
  type KvCopiesCandidate,
} from 'hplb';
import { writeJsonAtomic } from 'hplb/node';
import { parseArgs, type Args } from '../args.ts';
import { CliFailure, argumentError, orFail, readText, refuseOverwritingInputs, type Io } from '../io.ts';
import { orFailFlags, type FlagTable } from '../optionFlags.ts';
import { SOLVER_FLAG_SPEC, readCostModel, readTimeLimitMs } from '../solverFlags.ts';
import { progressBar } from '../progress.ts';

/** The planners' option paths → the flags that set them. */
const FLAGS: FlagTable = {
  '$.gpus': { flag: '--gpus' },
  '$.devices': { flag: '--gpus' },
  '$.devices[*].speed': { flag: '--speeds', phrases: { 'at one context length': 'at one --context N' } },
  '$.devices[*].memoryBytes': { flag: '--memory-gb' },
  '$.kvCopies': { flag: '--kv-copies' },
  '$.lengths': { flag: '--context' },
  '$.contextLength': { flag: '--context' },
  '$.recoveryTarget': { flag: '--recovery' },
  '$.equalHeadsPerDevice': { flag: '--equal-heads' },
};

const USAGE = `Usage: hplb plan --profile F [--format ${PROFILE_FORMATS.join('|')}] --gpus T
                 (--engine-layout [--kv-copies r|auto] | --context 8192:0.3,32768:0.5,131072:0.2)
                 [--context N | N1:w1,N2:w2,...] [--cost work|budget] [--calibration F] [--memory-gb X[,Y,…]]
                 [--kv-projection-cost X] [--hidden-size D] [--kv-bytes B] [--time-limit S] [--out plan.json] [--json]

  --engine-layout    place heads the way vLLM / SGLang / TensorRT-LLM can run them after a checkpoint rewrite:
                     equal query heads and KV slots per rank, every query head with its KV slot
  --kv-copies r|auto K/V duplication factor (copies of every KV head; default auto: chosen by cost)
  --context          one length N, or a distribution N:weight,... (expected latency is minimised; weights sum to 1)
  --gpus T           TP size
  --cost             work: token pairs W(b,N) (default); budget: the paper's time ∝ N·b
  --calibration F    an hplb.calibration/1 file: costs in seconds
  --memory-gb X      KV memory per rank in GB (1e9 bytes); a duplication factor whose KV cache does not fit is ruled out
  --kv-projection-cost X  price of one KV slot's K/V projection per context token, in cost units
                     (default: hidden size = heads·headDim token-pair equivalents)
  --hidden-size D    the model's hidden size, for the default projection price
  --kv-bytes B       bytes per KV element (default 2)
  --time-limit S     seconds per layer and duplication factor for the local search (default 0.5)
  --equal-heads, --kv group|replicate   (length distributions without --engine-layout only)
`;

/** Parse `N` or `N1:w1,N2:w2,...` into lengths with weights summing to 1. */
export const parseContext = (v: string | undefined, dflt: number): { contextLength: number; weight: number }[] => {
  if (v === undefined) return [{ contextLength: dflt, weight: 1 }];
  const parts = v.split(',').map((s) => s.trim());
  const expected = 'a context length N, or a distribution N:weight,... with positive integer lengths, distinct, and weights > 0 summing to 1';
  const out = parts.map((p) => {
    const [n, w, extra] = p.split(':');
    const N = Number(n);
    const W = w === undefined ? (parts.length === 1 ? 1 : NaN) : Number(w);
    if (extra !== undefined || !Number.isInteger(N) || N <= 0 || !(W > 0) || !Number.isFinite(W)) throw argumentError('--context', expected, v);
    return { contextLength: N, weight: W };
  });
  const sum = out.reduce((s, p) => s + p.weight, 0);
  if (Math.abs(sum - 1) > 1e-6) throw argumentError('--context', `weights that sum to 1 (they sum to ${sum})`, v);
  if (new Set(out.map((p) => p.contextLength)).size !== out.length) throw argumentError('--context', expected, v);
  return out.map((p) => ({ ...p, weight: p.weight / sum }));
};

const gb = (b: number) => (b / 2 ** 30).toFixed(2);

/** The TP ranks from --gpus, --speeds and --memory-gb (GB, one value or one per GPU). */
const readDevices = (args: Args): Device[] => {
  const g = args.int('gpus', (x) => x >= 0, 'a number of GPUs ≥ 1');
  if (g === undefined) throw argumentError('--gpus', 'a number of GPUs (e.g. --gpus 8)');
  if (g === 0) throw argumentError('--gpus', 'at least one GPU', 0);
  const speeds = args.numberList('speeds', (x) => x > 0, 'a comma-separated list of positive speeds');
  if (speeds && speeds.length !== g) throw argumentError('--speeds', `${g} speeds, one per GPU (--gpus ${g})`, `${speeds.length} values`);
  const mem = args.numberList('memory-gb', (x) => x >= 0, 'a memory size in GB (≥ 0), or one per GPU');
  if (mem && mem.length !== 1 && mem.length !== g) throw argumentError('--memory-gb', `one value for all GPUs or ${g} values, one per GPU (--gpus ${g})`, `${mem.length} values`);
  return makeDevices(g, speeds).map((d, i) => ({ ...d, memoryBytes: mem ? Math.round((mem.length === 1 ? mem[0]! : mem[i]!) * 1e9) : null }));
};

export async function runEnginePlan(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, {
    values: [...new Set([...SOLVER_FLAG_SPEC.values, 'profile', 'format', 'context', 'kv-copies', 'kv-projection-cost', 'hidden-size', 'kv-bytes', 'out', 'model', 'recovery', 'sparsity', 'threshold', 'table'])],
    booleans: [...new Set([...SOLVER_FLAG_SPEC.booleans, 'engine-layout', 'json', 'help'])],
  });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  const engine = args.flag('engine-layout') || args.has('kv-copies');
  if (args.flag('split-heads'))
    throw argumentError('--split-heads', engine ? 'no --split-heads with --engine-layout (split heads are virtual heads: they need a row-range-aware attention backend, tier 3; plan them with plain `hplb plan --split-heads` and export that plan)' : 'no --split-heads with a length distribution (one placement serves every length; split rows depend on N)');
  const solver = args.string('solver');
  if (solver !== undefined && solver !== 'auto') throw argumentError('--solver', 'auto (engine-layout and length-distribution plans use their own solver: exact pair re-splits from the best of three starts)', solver);

  let file = args.string('profile') ?? args.positionals[0];
  if (file === undefined) throw argumentError('--profile', 'a profile file (hplb plan --profile F --format minference ...)');
  const out = args.string('out');
  // Before any work: the plan may not be, contain or lie inside a file it reads (it is written where the process runs).
  if (out !== undefined)
    refuseOverwritingInputs(process.cwd(), [{ flag: '--out', path: out }], [
      { flag: args.has('profile') ? '--profile' : '<profile>', path: file },
      ...(['calibration', 'previous'] as const).flatMap((f) => { const p = args.string(f); return p !== undefined ? [{ flag: `--${f}`, path: p }] : []; }),
    ]);
  try {
    // A DuoAttention folder: its gate table.
    if (statSync(file).isDirectory() && statSync(join(file, 'full_attention_heads.tsv')).isFile()) file = join(file, 'full_attention_heads.tsv');
  } catch {
    // readText names a missing file.
  }
  const text = orFail(readText(file, args.has('profile') ? '--profile' : undefined));
  // Text that must be JSON is checked first: a truncated file is invalid JSON, not an undetectable format.
  const format = args.string('format') ?? orFail(detectProfileFormat(text, file));
  if (format === undefined || !isProfileFormat(format)) throw new CliFailure(hplbError('format', [issue('--format', `one of ${PROFILE_FORMATS.join('|')}`, format)], file), 2);
  const modelName = args.string('model');
  const sparsity = args.number('sparsity', (n) => n >= 0 && n <= 1, 'a sparsity in [0, 1]');
  const threshold = args.number('threshold');
  const table = args.string('table');
  const profile: Profile = orFail(
    importProfile(format, text, {
      file,
      ...(modelName !== undefined ? { model: modelName } : {}),
      ...(sparsity !== undefined ? { sparsity } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(table !== undefined ? { table } : {}),
    }),
  );
  const model = profile.model;
  const refN = 'contextLength' in profile ? profile.contextLength : DEFAULT_CONTEXT_LENGTH;
  const lengths = parseContext(args.string('context'), refN);
  const recovery = args.number('recovery', (n) => n >= 0 && n <= 1, 'a recovery target in [0, 1]');

  // Device, cost and time flags: --gpus, --speeds, --memory-gb (GB, one or per GPU), --cost / --calibration, --time-limit.
  const devices = readDevices(args);
  const named: CostModel | string = readCostModel(args);
  const cm: CostModel = typeof named === 'string' ? namedCostModel(named)! : named;
  const timeLimitMs = readTimeLimitMs(args, 500);
  for (const f of ['previous', 'migration-weight', 'kv-cap-gb', 'max-splits', 'min-rows', 'seed'])
    if (args.has(f)) throw argumentError(`--${f}`, 'no such flag with --engine-layout or a length distribution (not supported by the engine-layout planner)', args.string(f));
  const kvBytes = args.int('kv-bytes', (n) => n > 0, 'a positive integer') ?? 2;
  const hidden = args.int('hidden-size', (n) => n > 0, 'a positive integer');
  const projArg = args.number('kv-projection-cost', (n) => n >= 0, 'a cost ≥ 0 per context token per KV slot');
  const kvCopiesArg = args.string('kv-copies') ?? 'auto';
  let kvCopies: number | 'auto';
  if (kvCopiesArg === 'auto') kvCopies = 'auto';
  else {
    const r = Number(kvCopiesArg);
    if (!Number.isInteger(r) || r < 1) throw argumentError('--kv-copies', 'a positive integer duplication factor, or auto', kvCopiesArg);
    kvCopies = r;
  }
  const kv = engine ? undefined : args.oneOf('kv', ['group', 'replicate'], 'replicate');
  if (engine && args.has('kv') && args.string('kv') !== 'replicate') throw argumentError('--kv', 'replicate (engine layouts copy KV heads; a whole GQA group per rank is --kv-copies 1)', args.string('kv'));
  const source = { file, format, ...(profile.source ? { profile: profile.source } : {}), ...(profile.synthetic ? { synthetic: true } : {}) };
  const bar = progressBar(io, engine ? 'engine layout' : 'plan');
  const options = {
    gpus: devices,
    lengths,
    costModel: cm,
    timeLimitMs,
    kvBytesPerElement: kvBytes,
    source,
    profileFile: file,
    ...(recovery !== undefined ? { recoveryTarget: recovery } : {}),
    onProgress: (d: number, t: number, label: string) => bar.update(d, t, label),
  };

  if (!engine) {
    const res = planLengthDistribution(profile, { ...options, equalHeadsPerDevice: args.flag('equal-heads'), kv: kv as 'group' | 'replicate' });
    bar.finish();
    const plan = orFailFlags(FLAGS, res).plan;
    return emit(io, out, args.flag('json'), plan, () => freeTable(plan));
  }
  const res = orFailFlags(
    FLAGS,
    planEngineLayoutForProfile(profile, {
      ...options,
      kvCopies,
      ...(projArg !== undefined ? { kvProjection: { perTokenPerSlot: projArg, source: '--kv-projection-cost' } } : {}),
      ...(hidden !== undefined ? { hiddenSize: hidden } : {}),
    }),
  );
  bar.finish();
  return emit(io, out, args.flag('json'), res.plan, () => engineTable(res.plan));
}

const emit = (io: Io, out: string | undefined, json: boolean, plan: unknown, text: () => string): number => {
  if (out !== undefined) orFail(writeJsonAtomic(out, plan));
  if (json) io.out(`${JSON.stringify(plan, null, out === undefined ? 0 : 2)}\n`);
  else io.out(text() + (out !== undefined ? `wrote ${out}\n` : ''));
  return 0;
};

type EnginePlanOut = EnginePlanResult['plan'];

const engineTable = (plan: EnginePlanOut): string => {
  const el = plan.engineLayout;
  const m = plan.model;
  const L: string[] = [];
  L.push(`engine layout for ${m.name} at TP ${el.tp}: ${m.queryHeads} query heads, ${m.kvHeads} KV heads (group ${m.queryHeads / m.kvHeads}); cost ${plan.costModel?.name ?? 'work'} (${plan.predicted.unit})`);
  L.push(`lengths: ${el.lengths.map((p) => `N=${p.contextLength} (w ${p.weight.toFixed(2)})`).join(', ')}; projection price ${el.pricing.projectionPerTokenPerSlot.toPrecision(4)} per token per KV slot (${el.pricing.source})`);
  const lens = el.lengths.map((p) => `eff@${p.contextLength}`);
  L.push(['r', 'slots/rank', ...lens, 'E[attention]', 'E[K/V proj]', 'E[latency]', '+KV GiB/rank', '+proj', 'price vs free', 'status'].map((s, i) => (i === 0 ? s.padStart(3) : s.padStart(Math.max(10, s.length)))).join(' '));
  const row = (c: KvCopiesCandidate) => {
    if (!c.feasible) return `${String(c.kvCopies).padStart(3)}  ruled out: ${c.reason}`;
    const cells = [
      String(c.slotsPerRank),
      ...c.efficiencyByLength!.map((e) => e.toFixed(3)),
      c.expectedAttention!.toPrecision(4),
      c.expectedProjection!.toPrecision(4),
      c.expectedLatency!.toPrecision(4),
      gb(c.extraKvBytesPerRank!),
      c.extraProjection!.toPrecision(3),
      `+${(100 * c.priceVsFreePlacement!).toFixed(1)}..${(100 * c.priceVsFreeBound!).toFixed(1)}%`,
      `${c.status}${c.gap! > 0 ? ` gap ${(100 * c.gap!).toFixed(1)}%` : ''}`,
    ];
    return `${String(c.kvCopies).padStart(3)} ${cells.map((s, i) => s.padStart(Math.max(10, [...['slots/rank'], ...lens, 'E[attention]', 'E[K/V proj]', 'E[latency]', '+KV GiB/rank', '+proj', 'price vs free', 'status'][i]!.length))).join(' ')}${c.kvCopies === el.kvCopies ? '  ← chosen' : ''}`;
  };
  for (const c of el.candidates) L.push(row(c));
  L.push(`per length (chosen r=${el.kvCopies}): ${el.lengths.map((p) => `N=${p.contextLength}: engine ${p.balanceEfficiency.toFixed(3)}, contiguous ${p.contiguousEfficiency.toFixed(3)}, free bound ≤ ${p.freeBoundEfficiency.toFixed(3)}`).join('; ')}`);
  L.push(`checkpoint: num_key_value_heads ${m.kvHeads} → ${el.kvSlots}; every rank holds ${m.queryHeads / el.tp} query heads and ${el.slotsPerRank} KV slot(s)${el.ranksPerSlot > 1 ? `, ${el.ranksPerSlot} ranks share each slot` : ''}. Next: hplb export plan.json --engine vllm --out layout.json`);
  return L.join('\n') + '\n';
};

const freeTable = (plan: {
  model: { name: string };
  devices: unknown[];
  predicted: { unit: string };
  lengthDistribution: { lengths: { contextLength: number; weight: number; balanceEfficiency: number; contiguousEfficiency: number; attentionTotal: number; contiguousTotal: number }[] };
}): string => {
  const L: string[] = [];
  const ls = plan.lengthDistribution.lengths;
  L.push(`${plan.model.name} on ${plan.devices.length} GPUs, one placement for every length (expected latency minimised, ${plan.predicted.unit})`);
  for (const p of ls)
    L.push(`  N=${String(p.contextLength).padStart(7)} w ${p.weight.toFixed(2)}: balance ${p.balanceEfficiency.toFixed(3)} (contiguous ${p.contiguousEfficiency.toFixed(3)}), latency ${p.attentionTotal.toPrecision(4)} (contiguous ${p.contiguousTotal.toPrecision(4)})`);
  const e = ls.reduce((s, p) => s + p.weight * p.attentionTotal, 0);
  const c = ls.reduce((s, p) => s + p.weight * p.contiguousTotal, 0);
  L.push(`  expected latency ${e.toPrecision(4)} vs contiguous ${c.toPrecision(4)} (${((1 - e / c) * 100).toFixed(1)}% less)`);
  return L.join('\n') + '\n';
};
