/**
 * `hplb apply layout.json --checkpoint DIR --out DIR`: rewrite a Hugging Face checkpoint so a stock engine runs an
 * hplb engine layout (tier 1). Streams the safetensors shards one tensor at a time: per layer it permutes q_proj
 * rows (and bias), permutes and duplicates k_proj / v_proj rows (and biases) into the KV slots, permutes o_proj
 * columns; every other tensor is copied byte for byte. config.json gets the layout's config changes
 * (num_key_value_heads, head_dim). Llama, Mistral and Qwen2 only; anything else is refused naming what is missing.
 * Inputs are checked whole before anything is written (regular files only, links followed; index paths inside the
 * checkpoint; safetensors offsets in bounds and disjoint). The output directory appears atomically (written to a
 * temporary sibling, then renamed), never overlaps an input, and --force replaces only a folder hplb wrote; a
 * progress bar shows bytes.
 * Flags → options → `applyLayout` (@hplb/engines/node) → one line.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeEngineLayout, type EngineLayout, type HplbError } from '@hplb/core';
import { applyLayout, readRegularJson } from '@hplb/engines/node';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, type Io } from '../io.ts';
import { orFailFlags, type FlagTable } from '../optionFlags.ts';
import { progressBar } from '../progress.ts';

export const summary = 'rewrite a Llama / Mistral / Qwen2 safetensors checkpoint for an engine layout (permute and duplicate q/k/v/o heads, update config.json)';

const USAGE = `Usage: hplb apply <layout.json> --checkpoint DIR --out DIR [--force]

  <layout.json>    an hplb.engine-layout/1 file from hplb export (tier 1)
  --checkpoint DIR a Hugging Face checkpoint: config.json + *.safetensors (sharded with model.safetensors.index.json, or one file)
  --out DIR        the rewritten checkpoint (must not exist unless --force; never the checkpoint, inside it or
                   around it); written atomically, with a .hplb-output marker
  --force          replace --out if it exists and hplb wrote it (it has the .hplb-output marker)
`;

/** applyLayout's option paths and phrases → this command's flags. */
const FLAGS: FlagTable = {
  '$.out': { flag: '--out', phrases: { 'other than the checkpoint': 'other than --checkpoint', 'or force: true': 'or --force', '(force replaces': '(--force replaces' }, exitCode: { argument: 2 } },
};

const first = (e: HplbError): HplbError => ({ ...e, issues: e.issues.slice(0, 1) });

export const run = async (argv: string[], io: Io): Promise<number> => {
  const args = parseArgs(argv, { values: ['checkpoint', 'out'], booleans: ['force', 'help'] });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw argumentError('<layout.json>', 'exactly one layout file (hplb apply layout.json --checkpoint DIR --out DIR)', args.positionals.join(' ') || undefined);
  const layoutFile = args.positionals[0]!;
  const ckpt = args.string('checkpoint');
  const outArg = args.string('out');
  if (ckpt === undefined) throw argumentError('--checkpoint', 'the checkpoint directory to rewrite');
  if (outArg === undefined) throw argumentError('--out', 'the directory to write the rewritten checkpoint to');
  // The layout is read only when it is a regular file (a FIFO would block the command forever).
  const layout: EngineLayout = orFail(E.mapLeft(first)(E.chain((u: unknown) => decodeEngineLayout(u, layoutFile))(readRegularJson(layoutFile))));
  const bar = progressBar(io, 'hplb apply');
  const res = await applyLayout(layout, { checkpoint: ckpt, out: outArg, force: args.flag('force'), cwd: io.cwd, layoutFile, onProgress: (d, t, shard) => bar.update(d, t, shard) });
  bar.finish();
  const r = orFailFlags(FLAGS, E.mapLeft(first)(res));
  io.out(
    `rewrote ${r.shards.length} shard(s) of ${r.architecture} for ${r.engine} TP ${r.tpSize}: num_key_value_heads ${r.kvHeads} → ${r.kvSlots} (K/V ×${r.kvCopies}), ` +
      `q/k/v rows and o_proj columns permuted in ${r.layers} layers → ${outArg}` +
      (r.skipped.length > 0 ? `; not copied (not rewritten): ${r.skipped.join(', ')}` : '') +
      '\n',
  );
  return 0;
};
