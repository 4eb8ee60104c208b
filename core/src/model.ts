/**
 * Model shapes, devices and token budgets: the typed description of what is being served and where.
 * Used by importers (to check a profile against its model), by the plan format and by every solver.
 *
 * GQA mapping: query head q reads KV head `floor(q / (Hq / Hkv))`: consecutive query heads share one KV head.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { PositiveInt, NonNegative, Positive } from './brand.ts';
import { decode, fail, type HplbError } from './errors.ts';
import registryData from './data/models.json' with { type: 'json' };

// ---------------------------------------------------------------- model

export const ModelShapeC = t.type({
  name: t.string,
  layers: PositiveInt,
  queryHeads: PositiveInt,
  kvHeads: PositiveInt,
  headDim: PositiveInt,
}, 'ModelShape');

/** Attention geometry of a model. `queryHeads` is a multiple of `kvHeads`. */
export interface ModelShape {
  readonly name: string;
  readonly layers: number;
  readonly queryHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** Decode and check the GQA divisibility that the codec alone cannot express. */
export const decodeModelShape = (u: unknown, file?: string): E.Either<HplbError, ModelShape> =>
  E.chain((m: ModelShape) =>
    m.queryHeads % m.kvHeads === 0
      ? E.right(m)
      : fail<ModelShape>('decode', '$.kvHeads', `a divisor of queryHeads (${m.queryHeads})`, m.kvHeads))(decode(ModelShapeC, u, file));

/** Query heads per KV head (the GQA group size). */
export const groupSize = (m: ModelShape): number => m.queryHeads / m.kvHeads;

/** KV head read by query head `q`: `floor(q / (Hq / Hkv))`. */
export const kvHeadOf = (m: ModelShape, q: number): number => Math.floor(q / groupSize(m));

/** Query heads of KV group `g`, in order. */
export const queryHeadsOfGroup = (m: ModelShape, g: number): number[] => {
  const s = groupSize(m);
  return Array.from({ length: s }, (_, i) => g * s + i);
};

// ---------------------------------------------------------------- registry

/** Where a registered shape comes from: the model's `config.json` and where its figures were checked. */
export interface ModelSource {
  /** The model repository holding the config, e.g. `huggingface.co/Qwen/Qwen3-8B`. */
  readonly repository: string;
  /** The file inside it: `config.json`. */
  readonly file: string;
  /** Where the figures were read or checked (a public copy or transcription of that config). */
  readonly verifiedIn: string;
}

/**
 * The rest of a decoder's dimensions, beside its attention shape: what the serving cost model (core serving.ts) needs
 * to price projections, the MLP, weights and all-reduces. Read from the same `config.json` as the shape.
 *   hiddenSize        `hidden_size` (ChatGLM: `hidden_size`)
 *   intermediateSize  `intermediate_size` (ChatGLM: `ffn_hidden_size`): the dense MLP width; for a mixture of experts,
 *                     the width of one expert (Qwen MoE: `moe_intermediate_size`)
 *   vocabSize         `vocab_size` (ChatGLM: `padded_vocab_size`)
 *   tieWordEmbeddings `tie_word_embeddings` (absent: the transformers default: false, but true for Gemma 2 and 3)
 *   weightDtype       `torch_dtype` (absent: bfloat16); weightBytesPerElement follows from it
 *   moe               Mixtral: `num_local_experts`, `num_experts_per_tok`; Qwen MoE: `num_experts`,
 *                     `num_experts_per_tok`, `shared_expert_intermediate_size`
 */
export interface ModelDims {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly tieWordEmbeddings: boolean;
  /** `bfloat16`, `float16` or `float32`, as the config states it. */
  readonly weightDtype: string;
  /** Bytes per weight element: 2 for bfloat16/float16, 4 for float32. */
  readonly weightBytesPerElement: number;
  /** Mixture of experts: `intermediateSize` is then one expert's width. */
  readonly moe?: { readonly experts: number; readonly topK: number; readonly sharedExpertIntermediateSize?: number };
  /** Where the figures were read: the config.json and the keys (each registry row cites its own). */
  readonly source: string;
}

export interface RegisteredModel extends ModelShape {
  readonly aliases: ReadonlyArray<string>;
  readonly source: ModelSource;
  readonly note?: string;
  /** Hidden and MLP sizes, vocabulary and weight dtype, from the same config.json (every registered row has them). */
  readonly dims?: ModelDims;
}

/**
 * The built-in model registry (`core/src/data/models.json`): Llama 3.x, Qwen2/2.5 (incl. the 1M models), Qwen3 dense,
 * Mistral, Mixtral, Gemma 2 and 3, Phi-3 and Phi-4, GLM-4 1M, Yi, and the models of `shared/data/README.md`; each row
 * cites its config.json. Look a name up with `registeredModel` (exact, case-insensitive) or `findModel` (in a path).
 */
export const MODEL_REGISTRY: ReadonlyArray<RegisteredModel> = registryData.models;

const normalize = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Find a registered model by name, alias, or a file/folder name that contains one
 * (e.g. `Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json`). Longest match wins.
 */
export const findModel = (nameOrPath: string): RegisteredModel | undefined => {
  const base = normalize(nameOrPath.split('/').filter(Boolean).slice(-2).join('/'));
  let best: RegisteredModel | undefined;
  let bestLen = 0;
  for (const m of MODEL_REGISTRY) {
    for (const n of [m.name, ...m.aliases]) {
      const k = normalize(n);
      if (k.length > bestLen && base.includes(k)) {
        best = m;
        bestLen = k.length;
      }
    }
  }
  return best;
};

// ---------------------------------------------------------------- devices

export const DeviceC = t.type({
  id: t.string,
  speed: Positive,
  memoryBytes: t.union([NonNegative, t.null]),
}, 'Device');

/** A GPU: relative speed (1 = reference) and memory capacity for KV (null = unconstrained). */
export interface Device {
  readonly id: string;
  readonly speed: number;
  readonly memoryBytes: number | null;
}

/** `g` identical devices `gpu0..gpu{g-1}`, optionally with speeds / memory. */
export const makeDevices = (g: number, speeds?: ReadonlyArray<number>, memoryBytes?: number | null): Device[] =>
  Array.from({ length: g }, (_, i) => ({ id: `gpu${i}`, speed: speeds?.[i] ?? 1, memoryBytes: memoryBytes ?? null }));

// ---------------------------------------------------------------- budgets

/**
 * Token budgets: tokens per query per head at context length N (`budgets[layer][queryHead]`), each in [1, N].
 * In causal prefill a query row i (1-based) attends to min(i, b) keys.
 */
export interface TokenBudgets {
  readonly contextLength: number;
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
}

/** Check budgets against a model shape and N: dimensions, finiteness, range [1, N]. */
export const checkBudgets = (m: ModelShape, b: TokenBudgets): E.Either<HplbError, TokenBudgets> => {
  if (b.budgets.length !== m.layers) return fail('decode', '$.budgets', `${m.layers} layers for ${m.name}`, b.budgets.length);
  for (let l = 0; l < m.layers; l++) {
    const row = b.budgets[l]!;
    if (row.length !== m.queryHeads) return fail('decode', `$.budgets[${l}]`, `${m.queryHeads} query heads for ${m.name}`, row.length);
    for (let h = 0; h < row.length; h++) {
      const v = row[h]!;
      if (!Number.isFinite(v) || v < 1 || v > b.contextLength)
        return fail('decode', `$.budgets[${l}][${h}]`, `a budget in [1, ${b.contextLength}] tokens`, v);
    }
  }
  return E.right(b);
};
