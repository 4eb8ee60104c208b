/**
 * Hugging Face `config.json` → the attention geometry hplb plans for (`ModelShape`) plus the model's default context
 * length. Used by the importers (`modelConfig` option of every profile format), by the facade's `loadProfile` and by
 * `hplb apply` (a checkpoint's own config). Pure: the caller reads the file and passes the parsed JSON (or its text).
 *
 * Fields read (the usual Hugging Face names; ChatGLM's names as fallbacks, because the GLM-4 1M model uses them):
 *   layers      `num_hidden_layers`                     (ChatGLM: `num_layers`)
 *   queryHeads  `num_attention_heads`
 *   kvHeads     `num_key_value_heads`, else queryHeads   (ChatGLM: `multi_query_group_num` when `multi_query_attention`)
 *   headDim     `head_dim`, else `hidden_size / num_attention_heads` (ChatGLM: `kv_channels`). An explicit
 *               `head_dim` wins: Gemma 2/3 and Qwen3 state one that differs from hidden / heads.
 *   context     `max_position_embeddings`               (ChatGLM: `seq_length`)
 *   name        `_name_or_path` (its last segment when it is a local path), else the folder of a `config.json` (or the
 *               file's own name), else `architectures[0]`, else `model_type`
 * Multimodal configs (Gemma 3, Llama 4, Mistral 3) keep the language model under `text_config`; when the top level
 * has no layer count and `text_config` is an object, the fields are read there (paths say `$.text_config.…`).
 *
 * The rest of the model's dimensions (`ModelConfig.dims`, a `ModelDims`; its doc comment in model.ts lists the keys):
 *   hiddenSize        `hidden_size`
 *   intermediateSize  `intermediate_size`, else ChatGLM's `ffn_hidden_size`; for a mixture of experts with
 *                     `moe_intermediate_size` (Qwen MoE), that one expert's width
 *   vocabSize         ChatGLM's `padded_vocab_size` (its embedding's rows), else `vocab_size`
 *   tieWordEmbeddings `tie_word_embeddings`, under `text_config` then at the top level; absent: the transformers default
 *                     of the model type (true for Gemma, false for the rest)
 *   weightDtype       `torch_dtype` (or transformers 5's `dtype`), under `text_config` then at the top level; absent: bfloat16
 *   moe               `num_local_experts` (Mixtral) or `num_experts` (Qwen MoE), `num_experts_per_tok`,
 *                     `shared_expert_intermediate_size`
 * `dims` is present when hidden, intermediate and vocabulary sizes are all found; otherwise `dimsMissing` lists the
 * JSON paths of those absent (`$.intermediate_size`). A present but invalid value is an error at its path, like the shape.
 *
 * Errors are one `HplbError` naming the file and the JSON path of the offending field (`$.num_attention_heads`).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { decode, hplbError, issue, issueText, parseJson, type HplbError } from './errors.ts';
import { MODEL_REGISTRY, type ModelDims, type ModelShape, type RegisteredModel } from './model.ts';

// ---------------------------------------------------------------- model

/** What a `config.json` says about attention: the shape, the default context length, where each value came from. */
export interface ModelConfig {
  readonly shape: ModelShape;
  /** `max_position_embeddings` (or ChatGLM's `seq_length`); absent when the config has neither. */
  readonly contextLength?: number;
  /** The file it was read from, when known (named in every error that involves it). */
  readonly file?: string;
  /** JSON path each shape field was read from, e.g. `{ headDim: "$.head_dim" }`, or `"hidden_size / num_attention_heads"`. */
  readonly from: Readonly<Record<'layers' | 'queryHeads' | 'kvHeads' | 'headDim' | 'name', string>>;
  /** Hidden and MLP sizes, vocabulary, weight dtype and experts: present when the config states the three sizes. */
  readonly dims?: ModelDims;
  /** JSON paths of the dims fields the config lacks (`$.intermediate_size`, …); empty exactly when `dims` is present. */
  readonly dimsMissing: ReadonlyArray<string>;
}

const intField = t.union([t.number, t.undefined], 'a number');
/** A dims field some configs write as null when it does not apply (null reads as absent). */
const optIntField = t.union([t.number, t.null, t.undefined], 'a number');
const dtypeField = t.union([t.string, t.null, t.undefined], 'a dtype name such as "bfloat16"');
/** The fields read, loosely typed: each is then checked by hand so the error names the field and what it means. */
const HfConfigC = t.type(
  {
    num_hidden_layers: intField,
    num_layers: intField,
    num_attention_heads: intField,
    num_key_value_heads: t.union([t.number, t.null, t.undefined], 'a number'),
    multi_query_group_num: intField,
    multi_query_attention: t.union([t.boolean, t.undefined], 'true or false'),
    head_dim: t.union([t.number, t.null, t.undefined], 'a number'),
    kv_channels: intField,
    hidden_size: intField,
    max_position_embeddings: intField,
    seq_length: intField,
    _name_or_path: t.union([t.string, t.undefined], 'a string'),
    architectures: t.union([t.array(t.string), t.null, t.undefined], 'a list of strings'),
    model_type: t.union([t.string, t.undefined], 'a string'),
    intermediate_size: optIntField,
    ffn_hidden_size: optIntField,
    moe_intermediate_size: optIntField,
    shared_expert_intermediate_size: optIntField,
    vocab_size: optIntField,
    padded_vocab_size: optIntField,
    tie_word_embeddings: t.union([t.boolean, t.null, t.undefined], 'true or false'),
    torch_dtype: dtypeField,
    dtype: dtypeField,
    num_local_experts: optIntField,
    num_experts: optIntField,
    num_experts_per_tok: optIntField,
  },
  'a Hugging Face config.json object',
);
type HfConfig = t.TypeOf<typeof HfConfigC>;

// ---------------------------------------------------------------- constructors

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** A model's name from where its config file lies: the folder of a `config.json`, else the file's own name. */
const nameOfFile = (file: string | undefined): string | undefined => {
  if (file === undefined) return undefined;
  const parts = file.split(/[\\/]/).filter(Boolean);
  const base = parts[parts.length - 1] ?? '';
  const stem = base.replace(/\.json$/i, '');
  if (stem.toLowerCase() === 'config') return parts.length > 1 && parts[parts.length - 2] !== '.' ? parts[parts.length - 2] : undefined;
  return stem || undefined;
};

const nameFrom = (c: HfConfig, at: string, file?: string): { name: string; from: string } | undefined => {
  const p = c._name_or_path?.trim();
  if (p) {
    const local = p.startsWith('/') || p.startsWith('.') || p.includes('\\') || p.split('/').length > 2;
    return { name: local ? p.split(/[\\/]/).filter(Boolean).pop() ?? p : p, from: `${at}._name_or_path` };
  }
  // Without _name_or_path, the file's folder or name says more about the model than its architecture class does.
  const f = nameOfFile(file);
  if (f) return { name: f, from: 'the file name' };
  const a = c.architectures?.[0];
  if (a) return { name: a, from: `${at}.architectures[0]` };
  if (c.model_type) return { name: c.model_type, from: `${at}.model_type` };
  return undefined;
};

/** Bytes per weight element of each dtype `ModelDims.weightDtype` may hold. */
const DTYPE_BYTES: Readonly<Record<string, number>> = { bfloat16: 2, float16: 2, float32: 4 };

/** Model types whose transformers config ties the output projection to the embedding when `tie_word_embeddings` is absent. */
const TIED_BY_DEFAULT: ReadonlySet<string> = new Set(['gemma', 'gemma2', 'gemma3', 'gemma3_text']);

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * The dims of a decoded config `c` (read at `at`; `top` is the whole file, whose `tie_word_embeddings`, `torch_dtype`
 * and `model_type` apply when `c` is a nested `text_config` without them). Left: a present but invalid field, at its path.
 */
const readDims = (c: HfConfig, at: string, top: Record<string, unknown>, file?: string): E.Either<HplbError, { dims?: ModelDims; dimsMissing: string[] }> => {
  const bad = (path: string, expected: string, actual?: unknown) => E.left(hplbError('decode', [issue(path, expected, actual)], file));
  const missing: string[] = [];
  const read: string[] = [];
  /** The first of `keys` that `c` states (null reads as absent): its path and value, or undefined. */
  const pick = (keys: ReadonlyArray<keyof HfConfig>): { path: string; value: unknown } | undefined => {
    const k = keys.find((key) => c[key] !== undefined && c[key] !== null);
    return k === undefined ? undefined : { path: `${at}.${k}`, value: c[k] };
  };
  const size = (keys: ReadonlyArray<keyof HfConfig>, what: string, into = read): E.Either<HplbError, number | undefined> => {
    const f = pick(keys);
    if (f === undefined) {
      missing.push(`${at}.${keys[0]!}`);
      return E.right(undefined);
    }
    if (!isPosInt(f.value)) return bad(f.path, `a positive integer (${what})`, f.value);
    into.push(f.path);
    return E.right(f.value);
  };

  // Experts first: they decide whether `moe_intermediate_size` is the MLP width.
  const expertsAt = pick(['num_local_experts', 'num_experts']);
  const moeRead: string[] = [];
  let moe: ModelDims['moe'];
  if (expertsAt !== undefined) {
    if (!isPosInt(expertsAt.value)) return bad(expertsAt.path, 'a positive integer (the number of experts per MoE layer)', expertsAt.value);
    moeRead.push(expertsAt.path);
    const topK = size(['num_experts_per_tok'], 'the number of experts each token is routed to', moeRead);
    if (E.isLeft(topK)) return topK;
    const shared = pick(['shared_expert_intermediate_size']);
    if (shared !== undefined && !isPosInt(shared.value)) return bad(shared.path, 'a positive integer (the shared expert\'s MLP width)', shared.value);
    if (shared !== undefined) moeRead.push(shared.path);
    if (topK.right !== undefined)
      moe = { experts: expertsAt.value, topK: topK.right, ...(shared !== undefined ? { sharedExpertIntermediateSize: shared.value as number } : {}) };
  }
  const hidden = size(['hidden_size'], 'the model width');
  if (E.isLeft(hidden)) return hidden;
  const mlp = size(expertsAt !== undefined && pick(['moe_intermediate_size']) !== undefined ? ['moe_intermediate_size'] : ['intermediate_size', 'ffn_hidden_size'], expertsAt !== undefined ? 'the MLP width of one expert' : 'the MLP width');
  if (E.isLeft(mlp)) return mlp;
  // ChatGLM's padded_vocab_size is its embedding's row count; vocab_size, when it also states one, is the same or smaller.
  const vocab = size(c.padded_vocab_size !== undefined && c.padded_vocab_size !== null ? ['padded_vocab_size'] : ['vocab_size'], 'the vocabulary size');
  if (E.isLeft(vocab)) return vocab;

  // Tied embeddings and the dtype: the language model's own config first, then the whole file's.
  const nested = at !== '$';
  let tie: boolean;
  if (c.tie_word_embeddings !== undefined && c.tie_word_embeddings !== null) {
    tie = c.tie_word_embeddings;
    read.push(`${at}.tie_word_embeddings`);
  } else if (nested && top['tie_word_embeddings'] !== undefined && top['tie_word_embeddings'] !== null) {
    if (typeof top['tie_word_embeddings'] !== 'boolean') return bad('$.tie_word_embeddings', 'true or false', top['tie_word_embeddings']);
    tie = top['tie_word_embeddings'];
    read.push('$.tie_word_embeddings');
  } else {
    const types = [c.model_type, nested ? top['model_type'] : undefined].filter((m): m is string => typeof m === 'string');
    tie = types.some((m) => TIED_BY_DEFAULT.has(m));
    read.push(`tie_word_embeddings absent (${tie ? `true, the default of model type ${types.find((m) => TIED_BY_DEFAULT.has(m))!}` : 'false'})`);
  }
  const dtypeKey = (['torch_dtype', 'dtype'] as const).find((k) => c[k] !== undefined && c[k] !== null);
  const topDtypeKey = nested ? ['torch_dtype', 'dtype'].find((k) => top[k] !== undefined && top[k] !== null) : undefined;
  const dtypeAt = dtypeKey !== undefined ? { path: `${at}.${dtypeKey}`, value: c[dtypeKey] as unknown } : topDtypeKey !== undefined ? { path: `$.${topDtypeKey}`, value: top[topDtypeKey] } : undefined;
  const dtype = dtypeAt === undefined ? 'bfloat16' : dtypeAt.value;
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) return bad(dtypeAt!.path, 'bfloat16, float16 or float32 (the dtype of the weights)', dtype);
  read.push(dtypeAt?.path ?? 'torch_dtype absent (bfloat16)');

  if (missing.length > 0 || hidden.right === undefined || mlp.right === undefined || vocab.right === undefined) return E.right({ dimsMissing: missing });
  return E.right({
    dims: {
      hiddenSize: hidden.right,
      intermediateSize: mlp.right,
      vocabSize: vocab.right,
      tieWordEmbeddings: tie,
      weightDtype: dtype,
      weightBytesPerElement: DTYPE_BYTES[dtype]!,
      ...(moe !== undefined ? { moe } : {}),
      source: `${file ?? 'config.json'}: ${[...read, ...moeRead].join(', ')}`,
    },
    dimsMissing: missing,
  });
};

/**
 * Parse a Hugging Face `config.json` (already parsed JSON) into a `ModelConfig`. A missing or non-positive-integer
 * layer or head count, a `hidden_size` that the head count does not divide (when `head_dim` is absent), or a KV head
 * count that does not divide the query heads is an error at that field's JSON path, naming `file`. So is a dims field
 * that is present but not a positive integer, or a `torch_dtype` other than bfloat16, float16 or float32; an absent one
 * only leaves `dims` out and is named in `dimsMissing`.
 */
export const parseModelConfig = (json: unknown, file?: string): E.Either<HplbError, ModelConfig> => {
  const bad = (path: string, expected: string, actual?: unknown) => E.left(hplbError('decode', [issue(path, expected, actual)], file));
  if (!isObject(json)) return bad('$', 'a Hugging Face config.json object ({"num_hidden_layers": …, "num_attention_heads": …})', json);
  // Multimodal configs nest the language model; read it there when the top level has no layer count.
  const nested = json['num_hidden_layers'] === undefined && json['num_layers'] === undefined && isObject(json['text_config']);
  const at = nested ? '$.text_config' : '$';
  const raw = nested ? (json['text_config'] as Record<string, unknown>) : json;
  const decoded = decode(HfConfigC, raw, file, 1);
  if (E.isLeft(decoded)) return E.left({ ...decoded.left, issues: decoded.left.issues.map((i) => ({ ...i, path: at + i.path.slice(1) })) });
  const c = decoded.right;
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  const need = (key: string, v: unknown, what: string): E.Either<HplbError, number> =>
    v === undefined ? E.left(hplbError('decode', [issueText(`${at}.${key}`, `a positive integer (${what})`, 'nothing')], file)) : posInt(v) ? E.right(v as number) : bad(`${at}.${key}`, `a positive integer (${what})`, v);

  const layersKey = c.num_hidden_layers === undefined && c.num_layers !== undefined ? 'num_layers' : 'num_hidden_layers';
  const layers = need(layersKey, c[layersKey], 'the number of decoder layers');
  if (E.isLeft(layers)) return layers;
  const heads = need('num_attention_heads', c.num_attention_heads, 'the number of query heads per layer');
  if (E.isLeft(heads)) return heads;
  const hq = heads.right;

  let kvKey = 'num_key_value_heads';
  let kvRaw: unknown = c.num_key_value_heads ?? undefined;
  if (kvRaw === undefined && c.multi_query_attention === true && c.multi_query_group_num !== undefined) {
    kvKey = 'multi_query_group_num';
    kvRaw = c.multi_query_group_num;
  }
  let kv = hq;
  if (kvRaw !== undefined) {
    if (!posInt(kvRaw)) return bad(`${at}.${kvKey}`, 'a positive integer (the number of KV heads per layer)', kvRaw);
    kv = kvRaw as number;
    if (hq % kv !== 0) return bad(`${at}.${kvKey}`, `a divisor of num_attention_heads (${hq}): each KV head serves a whole group of query heads`, kv);
  }

  let headDim: number;
  let headDimFrom: string;
  const explicit = c.head_dim ?? c.kv_channels ?? undefined;
  if (explicit !== undefined) {
    const key = c.head_dim !== undefined && c.head_dim !== null ? 'head_dim' : 'kv_channels';
    if (!posInt(explicit)) return bad(`${at}.${key}`, 'a positive integer (the dimension of one attention head)', explicit);
    headDim = explicit;
    headDimFrom = `${at}.${key}`;
  } else {
    if (c.hidden_size === undefined)
      return E.left(hplbError('decode', [issueText(`${at}.hidden_size`, 'a positive integer (the model width; head_dim is absent, so head_dim = hidden_size / num_attention_heads)', 'nothing')], file));
    if (!posInt(c.hidden_size)) return bad(`${at}.hidden_size`, 'a positive integer (the model width)', c.hidden_size);
    if (c.hidden_size % hq !== 0) return bad(`${at}.hidden_size`, `a multiple of num_attention_heads (${hq}) (head_dim is absent, so head_dim = hidden_size / num_attention_heads)`, c.hidden_size);
    headDim = c.hidden_size / hq;
    headDimFrom = `${at}.hidden_size / ${at}.num_attention_heads`;
  }

  const ctxKey = c.max_position_embeddings === undefined && c.seq_length !== undefined ? 'seq_length' : 'max_position_embeddings';
  const ctx = c[ctxKey];
  if (ctx !== undefined && !posInt(ctx)) return bad(`${at}.${ctxKey}`, 'a positive integer (the longest context the model was built for)', ctx);

  const dims = readDims(c, at, json, file);
  if (E.isLeft(dims)) return dims;

  // The name: from the nested config first, then the top level (multimodal configs name the whole model there).
  const top = nested ? E.getOrElseW(() => c)(decode(HfConfigC, json)) : undefined;
  const named = (c._name_or_path?.trim() ? nameFrom(c, at) : undefined) ?? (top?._name_or_path?.trim() ? nameFrom(top, '$') : undefined) ?? nameFrom(c, at, file);
  const fallbackName = file !== undefined ? `model of ${file}` : 'unnamed model';
  const shape: ModelShape = { name: named?.name ?? fallbackName, layers: layers.right, queryHeads: hq, kvHeads: kv, headDim };
  return E.right({
    shape,
    ...(ctx !== undefined ? { contextLength: ctx } : {}),
    ...(file !== undefined ? { file } : {}),
    from: {
      layers: `${at}.${layersKey}`,
      queryHeads: `${at}.num_attention_heads`,
      kvHeads: kvRaw === undefined ? `${at}.num_attention_heads (num_key_value_heads absent)` : `${at}.${kvKey}`,
      headDim: headDimFrom,
      name: named?.from ?? 'none (no _name_or_path, architectures or model_type)',
    },
    ...(dims.right.dims !== undefined ? { dims: dims.right.dims } : {}),
    dimsMissing: dims.right.dimsMissing,
  });
};

/** Parse `config.json` text (not JSON → a `parse` error naming `file`) and then `parseModelConfig`. */
export const parseModelConfigText = (text: string, file?: string): E.Either<HplbError, ModelConfig> =>
  E.chain((u: unknown) => parseModelConfig(u, file))(parseJson(text, file));

// ---------------------------------------------------------------- operations

/** What a profile file itself says about the shape, with the JSON path each number was read at. */
export interface InferredShape {
  readonly layers?: { readonly value: number; readonly path: string };
  readonly queryHeads?: { readonly value: number; readonly path: string };
  readonly kvHeads?: { readonly value: number; readonly path: string };
  readonly headDim?: { readonly value: number; readonly path: string };
}

/** A model record's own numbers as an `InferredShape` (paths `$.model.layers`, …): to check a plan or profile's model. */
export const statedShape = (m: ModelShape, at = '$.model'): InferredShape => ({
  layers: { value: m.layers, path: `${at}.layers` },
  queryHeads: { value: m.queryHeads, path: `${at}.queryHeads` },
  kvHeads: { value: m.kvHeads, path: `${at}.kvHeads` },
  headDim: { value: m.headDim, path: `${at}.headDim` },
});

const FIELD_WORDS: Record<keyof InferredShape, (n: number) => string> = {
  layers: (n) => `${n} layers`,
  queryHeads: (n) => `${n} query heads`,
  kvHeads: (n) => `${n} KV heads`,
  headDim: (n) => `head dimension ${n}`,
};

/**
 * Check a profile's own shape (what its tables say) against a model config. A contradiction is an error in the profile
 * `file`, at the path where the profile states the number, naming the config file and both numbers. `noun` names
 * what `file` is (`profile`, `plan`).
 */
export const checkShapeAgainstConfig = (inferred: InferredShape, config: ModelConfig, file?: string, noun = 'profile'): E.Either<HplbError, ModelConfig> => {
  const cfg = config.file !== undefined ? `the model config ${config.file}` : 'the model config';
  for (const k of ['layers', 'queryHeads', 'kvHeads', 'headDim'] as const) {
    const got = inferred[k];
    if (got === undefined || got.value === config.shape[k]) continue;
    const says = FIELD_WORDS[k];
    return E.left(hplbError('decode', [issueText(got.path, `${says(config.shape[k])} as ${cfg} states (${config.from[k]})`, `${says(got.value)} in this ${noun}`)], file));
  }
  return E.right(config);
};

// ---------------------------------------------------------------- registry look-up

const normalize = (s: string) => s.toLowerCase().replace(/[^a-z0-9.]/g, '');

/** Levenshtein distance (insert, delete, substitute = 1). */
export const editDistance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
};

/** The `count` registered model names nearest to `name` (edit distance over names and aliases, case-insensitive). */
export const nearestModelNames = (name: string, count = 3): string[] => {
  const q = normalize(name);
  // A file name holds a model name plus a suffix (`…_kv_out_v32_fit_o_best_pattern`): compare its prefix too.
  const dist = (n: string) => Math.min(editDistance(q, n), q.length > n.length ? editDistance(q.slice(0, n.length), n) + 2 : Infinity);
  const scored = MODEL_REGISTRY.map((m) => ({ name: m.name, d: Math.min(...[m.name, ...m.aliases].map((n) => dist(normalize(n)))) }));
  scored.sort((a, b) => a.d - b.d || a.name.localeCompare(b.name));
  return scored.slice(0, count).map((s) => s.name);
};

/**
 * A registered model by name or alias: case-insensitive, and ignoring `-`, `_` and `.` differences
 * (`llama_3.1_8b_instruct` finds `Llama-3.1-8B-Instruct`); an `org/name` form is looked up by its name.
 * Anything else is unknown (no fuzzy match: `nearestModelNames` suggests the closest).
 */
export const registeredModel = (name: string): RegisteredModel | undefined => {
  const k = name.trim().toLowerCase();
  const exact = MODEL_REGISTRY.find((m) => [m.name, ...m.aliases].some((n) => n.toLowerCase() === k));
  if (exact) return exact;
  const loose = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const q = loose(k.split('/').filter(Boolean).pop() ?? k);
  return MODEL_REGISTRY.find((m) => [m.name, ...m.aliases].some((n) => loose(n) === q));
};

/**
 * The dims of a model: its config's (`config.dims`) when it has them, else the registered row named like `shape`
 * (`registeredModel(shape.name)`) when that row has the same attention shape (layers, heads, KV heads, head dim).
 * Undefined when neither says: the caller names what is missing (`config.dimsMissing`).
 */
export const modelDimsOf = (shape: ModelShape, config?: ModelConfig): ModelDims | undefined => {
  if (config?.dims !== undefined) return config.dims;
  const row = registeredModel(shape.name);
  if (row?.dims === undefined) return undefined;
  const same = row.layers === shape.layers && row.queryHeads === shape.queryHeads && row.kvHeads === shape.kvHeads && row.headDim === shape.headDim;
  return same ? row.dims : undefined;
};
