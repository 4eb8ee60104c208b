/**
 * What every importer shares: the options they take, how they find the model shape (an explicit `model` option, else
 * the registry entry named by the file or folder name), and the dimension checks that name the offending path.
 * Used by the importers in this folder; nothing here reads files (the CLI edge passes text in).
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, hplbError, issue, issueText, type HplbError } from '../errors.ts';
import { MODEL_REGISTRY, findModel, type ModelShape } from '../model.ts';
import { checkShapeAgainstConfig, nearestModelNames, registeredModel, type InferredShape, type ModelConfig } from '../modelConfig.ts';

/** The context length importers use as the profile's reference N when none is given: 128k. */
export const DEFAULT_CONTEXT_LENGTH = 131072;

/** The option names as errors report them: JSON paths of the options (the CLI maps them to its flags). */
export const MODEL_OPTION = '$.model';
export const MODEL_CONFIG_OPTION = '$.modelConfig';

export interface ImportOptions {
  /** The input's path (or folder, for DuoAttention): named in errors, and used to find the model by name. */
  readonly file?: string;
  /** The model: a registered name or alias (case-insensitive), or a shape. Overrides what the file name says. */
  readonly model?: string | ModelShape;
  /**
   * The model's Hugging Face `config.json`, parsed (`parseModelConfig`): gives the shape of any model, registered or
   * not, and the default context length (`max_position_embeddings`). The profile's own tables must agree with it.
   */
  readonly modelConfig?: ModelConfig;
  /** Reference context length N stored in `curve` / `required` profiles. Default: the model config's context, else `DEFAULT_CONTEXT_LENGTH`. */
  readonly contextLength?: number;
}

/** The reference N when the caller gives none: the model config's `max_position_embeddings`, else 128k. */
export const defaultContextLength = (opts: ImportOptions): number => opts.modelConfig?.contextLength ?? DEFAULT_CONTEXT_LENGTH;

/** A plain shape (registry entries carry aliases and notes). */
export const shapeOf = (m: ModelShape): ModelShape => ({ name: m.name, layers: m.layers, queryHeads: m.queryHeads, kvHeads: m.kvHeads, headDim: m.headDim });

const sameShape = (a: ModelShape, b: ModelShape) => a.layers === b.layers && a.queryHeads === b.queryHeads && a.kvHeads === b.kvHeads && a.headDim === b.headDim;
const describe = (m: ModelShape) => `${m.layers} layers, ${m.queryHeads} query heads, ${m.kvHeads} KV heads, head dim ${m.headDim}`;

const unknownName = (name: string, file?: string): HplbError =>
  hplbError(
    'argument',
    [issue(MODEL_OPTION, `a registered model (nearest: ${nearestModelNames(name).join(', ')}; ${MODEL_REGISTRY.length} registered), or the model's config.json (${MODEL_CONFIG_OPTION})`, name)],
    file,
  );

/**
 * The model an input describes: the `modelConfig` option (checked against `inferred`, what the input's own tables say),
 * else the `model` option (a registered name/alias, case-insensitive, or a shape), else the registry entry whose name
 * or alias appears in the file or folder name. An unknown name gets the nearest registered names; no model at all says
 * that a model config can be given. Errors name the file and what was expected.
 */
export const resolveModel = (opts: ImportOptions, hint?: string, inferred?: InferredShape): E.Either<HplbError, ModelShape> => {
  const file = opts.file;
  if (opts.modelConfig !== undefined) {
    const cfg = opts.modelConfig;
    const checked = checkShapeAgainstConfig(inferred ?? {}, cfg, file);
    if (E.isLeft(checked)) return checked;
    if (opts.model !== undefined) {
      const named = typeof opts.model === 'string' ? registeredModel(opts.model) : opts.model;
      if (named === undefined) return E.left(unknownName(opts.model as string, file));
      if (!sameShape(named, cfg.shape))
        return E.left(
          hplbError('argument', [issueText(MODEL_OPTION, `a model of the shape ${cfg.file ?? 'the model config'} states (${describe(cfg.shape)})`, `${named.name} (${describe(named)})`)], file),
        );
    }
    return E.right(shapeOf(cfg.shape));
  }
  if (opts.model !== undefined && typeof opts.model !== 'string') {
    const m = opts.model;
    if (m.queryHeads % m.kvHeads !== 0) return E.left(hplbError('argument', [issue(MODEL_OPTION, `a model whose kvHeads divides queryHeads (${m.queryHeads})`, m.kvHeads)], file));
    return E.right(shapeOf(m));
  }
  if (typeof opts.model === 'string') {
    const m = registeredModel(opts.model);
    return m ? E.right(shapeOf(m)) : E.left(unknownName(opts.model, file));
  }
  for (const name of [file, hint]) {
    if (name === undefined) continue;
    const m = findModel(name);
    if (m) return E.right(shapeOf(m));
  }
  const base = (file ?? hint ?? '').split('/').filter(Boolean).pop() ?? '';
  return E.left(
    hplbError(
      'argument',
      [
        issue(
          MODEL_OPTION,
          `a model name (${MODEL_OPTION} = NAME) or the model's config.json (${MODEL_CONFIG_OPTION} = config.json), because the file name names no registered model` +
            (base !== '' ? ` (nearest registered names: ${nearestModelNames(base.replace(/\.[a-z]+$/i, '')).join(', ')})` : ''),
          file ?? hint,
        ),
      ],
      file,
    ),
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

