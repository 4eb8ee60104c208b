/**
 * `hplb export plan.json --engine vllm|sglang|trtllm --out layout.json`: turn an `hplb.plan/1` plan into an
 * `hplb.engine-layout/1` layout (per layer qSource / kvSource / budgets in the new order / per-rank lists, the TP
 * size, K/V duplication factor, geometry and config changes), plus a MInference budget config re-indexed to the new
 * head order so MInference's own vLLM integration runs on the rewritten checkpoint unchanged. The plan must satisfy
 * the engines' rule (equal heads per rank; every query head with its KV slot); split heads become tier-3 virtual
 * heads. Flags → options → `exportEngineLayout` (@hplb/engines) → the files written. Next step:
 * `hplb apply layout.json --checkpoint DIR --out DIR`.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { checkShapeAgainstConfig, decodePlan, parseModelConfig, statedShape, validatePlan, type HplbError, type Plan } from '@hplb/core';
import { ENGINES, type EngineName } from '@hplb/core';
import { writeFilesAtomic } from '@hplb/core/node';
import { exportEngineLayout, type MinferenceExportOptions } from '@hplb/engines';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, readJson, realPath, refuseOverwritingInputs, type Io, type PathArg } from '../io.ts';
import { orFailFlags, type FlagTable } from '../optionFlags.ts';

/** exportEngineLayout's option paths and phrases → this command's flags. */
const FLAGS: FlagTable = {
  '$.minference': { flag: '--minference' },
  '$.placement[*]': { phrases: { 'plan with equal heads per device or an engine layout': 'plan with --equal-heads or --engine-layout' } },
};

export const summary = 'turn a plan into an engine layout (hplb.engine-layout/1) for vLLM, SGLang or TensorRT-LLM, plus a re-indexed MInference config';

const USAGE = `Usage: hplb export <plan.json> --engine ${ENGINES.join('|')} --out layout.json
                   [--minference CONFIG.json] [--minference-out FILE] [--model-config config.json] [--json]

  <plan.json>        an hplb.plan/1 plan (best: from hplb plan --engine-layout)
  --engine           the serving engine the layout is for
  --out              where to write the layout (atomically)
  --minference F     the MInference best-pattern config the plan's budgets came from (default: the plan's source
                     file when its format is minference); a copy re-indexed to the new head order is written
  --minference-out F where to write that copy (default: <out>.minference.json)
  --model-config F   the checkpoint's Hugging Face config.json: the plan's model (layers, query and KV heads, head dim)
                     must be the one it describes
  --json             print the layout instead of a summary
`;

export const run = async (argv: string[], io: Io): Promise<number> => {
  const args = parseArgs(argv, { values: ['engine', 'out', 'minference', 'minference-out', 'model-config'], booleans: ['json', 'help'] });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw argumentError('<plan.json>', 'exactly one plan file (hplb export plan.json --engine vllm --out layout.json)', args.positionals.join(' ') || undefined);
  const planFile = args.positionals[0]!;
  const engineArg = args.string('engine');
  if (engineArg === undefined) throw argumentError('--engine', `one of ${ENGINES.join('|')}`);
  const engine = args.oneOf('engine', ENGINES, 'vllm') as EngineName;
  const out = args.string('out');
  if (out === undefined && !args.flag('json')) throw argumentError('--out', 'a layout file to write (or --json to print it)');

  const plan: Plan = orFail(
    E.mapLeft((e: HplbError) => ({ ...e, issues: e.issues.slice(0, 1) }))(
      E.chain((u: unknown) => E.chain((p: Plan) => validatePlan(p, planFile))(decodePlan(u, planFile)))(readJson(planFile)),
    ),
  );

  // --model-config: the plan must be for the model that config.json describes (before anything is written).
  const cfgFile = args.string('model-config');
  if (cfgFile !== undefined)
    orFail(E.chain((cfg: Parameters<typeof checkShapeAgainstConfig>[1]) => checkShapeAgainstConfig(statedShape(plan.model), cfg, planFile, 'plan'))(E.chain((u: unknown) => parseModelConfig(u, cfgFile))(readJson(cfgFile, '--model-config'))));

  // The MInference config the budgets came from: --minference, or the plan's source file when it is one.
  let mfFile = args.string('minference');
  const explicit = mfFile !== undefined;
  const src = plan.source as { file?: unknown; format?: unknown } | undefined;
  if (mfFile === undefined && src?.format === 'minference' && typeof src.file === 'string') {
    const candidates = isAbsolute(src.file) ? [src.file] : [resolve(io.cwd, src.file), resolve(dirname(planFile), src.file)];
    mfFile = candidates.find((f) => existsSync(f));
  }
  const mfOut = mfFile !== undefined && out !== undefined ? args.string('minference-out') ?? out.replace(/\.json$/i, '') + '.minference.json' : undefined;

  // Before anything is written: no output may be, contain or lie inside a file this export reads, nor be the other output.
  const outputs: PathArg[] = [
    ...(out !== undefined ? [{ flag: '--out', path: out }] : []),
    ...(mfOut !== undefined ? [{ flag: args.has('minference-out') ? '--minference-out' : '--out (its .minference.json copy)', path: mfOut }] : []),
  ];
  // (--out and --minference-out are written where the process runs, as the reads are.)
  refuseOverwritingInputs(process.cwd(), outputs, [
    { flag: '<plan.json>', path: planFile },
    ...(cfgFile !== undefined ? [{ flag: '--model-config', path: cfgFile }] : []),
    ...(mfFile !== undefined ? [{ flag: explicit ? '--minference' : "--minference (the plan's source.file)", path: mfFile }] : []),
  ]);
  if (out !== undefined && mfOut !== undefined && realPath(process.cwd(), out) === realPath(process.cwd(), mfOut))
    throw argumentError('--minference-out', 'a file apart from the layout --out', mfOut);

  let minference: (MinferenceExportOptions & { out: string }) | undefined;
  if (mfFile !== undefined && mfOut !== undefined && out !== undefined) {
    minference = {
      config: orFail(readJson(mfFile, explicit ? '--minference' : undefined)),
      file: mfFile,
      path: dirname(resolve(mfOut)) === dirname(resolve(out)) ? basename(mfOut) : resolve(mfOut),
      ifVirtualHeads: explicit ? 'fail' : 'skip',
      out: mfOut,
    };
  }
  const { layout, minference: reindexed, minferenceSkipped } = orFailFlags(FLAGS, exportEngineLayout(plan, { engine, planFile, ...(minference ? { minference } : {}) }));

  const notes: string[] = [];
  if (minferenceSkipped !== undefined) notes.push(`no MInference config written: ${minferenceSkipped}`);
  // The layout and its re-indexed MInference copy land as one set (both or neither).
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const files = [
    ...(out !== undefined ? [{ path: out, data: json(layout) }] : []),
    ...(minference !== undefined && reindexed !== undefined ? [{ path: minference.out, data: json(reindexed) }] : []),
  ];
  orFail(writeFilesAtomic(files));
  if (minference !== undefined && reindexed !== undefined) notes.push(`wrote ${minference.out} (MInference config re-indexed from ${mfFile})`);
  if (args.flag('json')) {
    io.out(`${JSON.stringify(layout)}\n`);
    return 0;
  }
  const g = layout.geometry;
  const lines = [
    `${layout.model.name} → ${engine} layout, tier ${layout.tier}${layout.tier === 3 ? ' (virtual heads: needs a row-range-aware attention backend; no engine ships one today)' : ' (runs in the stock engine after hplb apply)'}`,
    `TP ${layout.tpSize}: ${g.queryHeads} query heads (${g.queryHeads / layout.tpSize} per rank), ${g.kvSlots} KV slots (${g.slotsPerRank} per rank${g.ranksPerSlot > 1 ? `, shared by ${g.ranksPerSlot} ranks` : ''}), K/V duplication ×${layout.kvCopies}`,
    `config changes: ${Object.entries(layout.configChanges).map(([k, v]) => `${k} = ${v}`).join(', ')}`,
    ...notes,
    ...(out !== undefined ? [`wrote ${out}; next: hplb apply ${out} --checkpoint <hf-dir> --out <new-dir>`] : []),
  ];
  io.out(lines.join('\n') + '\n');
  return 0;
};
