/**
 * What every importer shares: the options they take, how they find the model shape (an explicit `model` option, else
 * the registry entry named by the file or folder name), and the dimension checks that name the offending path.
 * Used by the importers in this folder; nothing here reads files (the CLI edge passes text in).
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, hplbError, issue, issueText, type HplbError } from '../errors.ts';
import { MODEL_REGISTRY, findModel, type ModelShape } from '../model.ts';

/** The context length importers use as the profile's reference N when none is given: 128k. */
export const DEFAULT_CONTEXT_LENGTH = 131072;

export interface ImportOptions {
  /** The input's path (or folder, for DuoAttention): named in errors, and used to find the model by name. */
  readonly file?: string;
  /** The model: a registered name or alias, or a shape. Overrides what the file name says. */
  readonly model?: string | ModelShape;
  /** Reference context length N stored in `curve` / `required` profiles. Default `DEFAULT_CONTEXT_LENGTH`. */
  readonly contextLength?: number;
}

/** A plain shape (registry entries carry aliases and notes). */
export const shapeOf = (m: ModelShape): ModelShape => ({ name: m.name, layers: m.layers, queryHeads: m.queryHeads, kvHeads: m.kvHeads, headDim: m.headDim });

const knownNames = (): string => MODEL_REGISTRY.map((m) => m.name).join(', ');

/**
 * The model an input describes: the `model` option (a registered name/alias or a shape), else the registry entry whose
 * name or alias appears in the file or folder name. Errors name the file and what was expected.
 */
export const resolveModel = (opts: ImportOptions, hint?: string): E.Either<HplbError, ModelShape> => {
  const file = opts.file;
  if (opts.model !== undefined && typeof opts.model !== 'string') {
    const m = opts.model;
    if (m.queryHeads % m.kvHeads !== 0) return E.left(hplbError('argument', [issue('--model', `a model whose kvHeads divides queryHeads (${m.queryHeads})`, m.kvHeads)], file));
    return E.right(shapeOf(m));
  }
  if (typeof opts.model === 'string') {
    const exact = MODEL_REGISTRY.find((m) => [m.name, ...m.aliases].some((n) => n.toLowerCase() === (opts.model as string).toLowerCase()));
    const m = exact ?? findModel(opts.model);
    return m ? E.right(shapeOf(m)) : E.left(hplbError('argument', [issue('--model', `a registered model (${knownNames()})`, opts.model)], file));
  }
  for (const name of [file, hint]) {
    if (name === undefined) continue;
    const m = findModel(name);
    if (m) return E.right(shapeOf(m));
  }
  return E.left(
    hplbError('argument', [issue('--model', `a model name (--model NAME) because the file name names no registered model (${knownNames()})`, file ?? hint)], file),
  );
};

/** `rows` must be `m.layers` rows of `width` entries each (a per-layer table), else an error at the first bad path. */
export const checkTable = (
  path: string,
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
  m: ModelShape,
  width: number,
  what: string,
  file?: string,
): E.Either<HplbError, void> => {
  if (rows.length !== m.layers) return E.left(hplbError('decode', [issueText(path, `${m.layers} layers for ${m.name}`, `${rows.length} layers`)], file));
  for (let l = 0; l < rows.length; l++)
    if (rows[l]!.length !== width) return E.left(hplbError('decode', [issueText(`${path}[${l}]`, `${width} ${what} for ${m.name}`, `${rows[l]!.length} entries`)], file));
  return E.right(undefined);
};

export const withFileOf = <A>(file: string | undefined, e: E.Either<HplbError, A>): E.Either<HplbError, A> =>
  file === undefined || E.isRight(e) || e.left.file !== undefined ? e : E.left({ ...e.left, file });

export const positiveIntOption = (name: string, v: number | undefined, dflt: number, file?: string): E.Either<HplbError, number> =>
  v === undefined ? E.right(dflt) : Number.isInteger(v) && v > 0 ? E.right(v) : withFileOf(file, fail<number>('argument', name, 'a positive integer', v));

