/**
 * Model dims (hidden and MLP sizes, vocabulary, weight dtype, experts): every registry row carries them with the
 * config.json they were read from; `parseModelConfig` reads them from Llama-, ChatGLM-, Mixtral- and Gemma 3-style
 * configs, lists what a config lacks (`dimsMissing`) and rejects an invalid value at its path; `modelDimsOf` prefers
 * the config's and falls back to the registry row of the same shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { MODEL_REGISTRY, formatError, modelDimsOf, parseModelConfig, registeredModel, type HplbError, type ModelDims } from '@hplb/core';

const right = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) assert.fail(formatError(e.left));
  return e.right;
};
const left = <A>(e: E.Either<HplbError, A>): HplbError => {
  if (E.isRight(e)) assert.fail('expected an error');
  return e.left;
};
const isPosInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0;
const dimsOf = (name: string): ModelDims => {
  const d = registeredModel(name)?.dims;
  assert.ok(d !== undefined, `${name} is registered with dims`);
  return d;
};

test('registry: every row has dims of positive integers, a known dtype, and a source naming its config.json', () => {
  assert.equal(MODEL_REGISTRY.length, 55);
  for (const m of MODEL_REGISTRY) {
    const d = m.dims;
    assert.ok(d !== undefined, `${m.name}: dims`);
    for (const k of ['hiddenSize', 'intermediateSize', 'vocabSize', 'weightBytesPerElement'] as const) assert.ok(isPosInt(d[k]), `${m.name}: ${k} = ${d[k]}`);
    assert.equal(typeof d.tieWordEmbeddings, 'boolean', `${m.name}: tieWordEmbeddings`);
    assert.equal(d.weightBytesPerElement, { bfloat16: 2, float16: 2, float32: 4 }[d.weightDtype], `${m.name}: ${d.weightDtype} bytes`);
    assert.ok(d.source.startsWith(`${m.source.repository} config.json`), `${m.name}: source cites its own config.json: ${d.source}`);
    if (d.moe !== undefined) assert.ok(isPosInt(d.moe.experts) && isPosInt(d.moe.topK) && d.moe.topK <= d.moe.experts, `${m.name}: moe`);
    // The attention projections fit the model width (GQA: hidden ≥ the KV projection's width).
    assert.ok(d.hiddenSize >= m.kvHeads * m.headDim, `${m.name}: hidden ${d.hiddenSize} vs KV width`);
  }
});

test('registry: known values from the models\' config.json files', () => {
  const want: Array<[string, number, number, number, boolean, string]> = [
    // name, hidden_size, intermediate_size, vocab_size, tie_word_embeddings, torch_dtype
    ['Llama-3.1-8B-Instruct', 4096, 14336, 128256, false, 'bfloat16'],
    ['Llama-3.1-405B-Instruct', 16384, 53248, 128256, false, 'bfloat16'],
    ['Llama-3.2-1B-Instruct', 2048, 8192, 128256, true, 'bfloat16'],
    ['Qwen2.5-0.5B-Instruct', 896, 4864, 151936, true, 'bfloat16'],
    ['Qwen2.5-72B-Instruct', 8192, 29568, 152064, false, 'bfloat16'],
    ['Qwen3-4B', 2560, 9728, 151936, true, 'bfloat16'],
    ['Qwen3-8B', 4096, 12288, 151936, false, 'bfloat16'],
    ['GLM-4-9B-chat-1M', 4096, 13696, 151552, false, 'bfloat16'],
    ['Mistral-Large-Instruct-2407', 12288, 28672, 32768, false, 'bfloat16'],
    ['gemma-2-9b-it', 3584, 14336, 256000, true, 'float32'],
    ['gemma-3-1b-it', 1152, 6912, 262144, true, 'bfloat16'],
    ['phi-4', 5120, 17920, 100352, false, 'bfloat16'],
    ['Phi-4-mini-instruct', 3072, 8192, 200064, true, 'bfloat16'],
    ['vicuna-13b-v1.5-16k', 5120, 13824, 32000, false, 'float16'],
    ['Yi-34B-Chat', 7168, 20480, 64000, false, 'bfloat16'],
  ];
  for (const [name, hidden, mlp, vocab, tied, dtype] of want) {
    const d = dimsOf(name);
    assert.deepEqual([d.hiddenSize, d.intermediateSize, d.vocabSize, d.tieWordEmbeddings, d.weightDtype], [hidden, mlp, vocab, tied, dtype], name);
  }
  assert.deepEqual(dimsOf('Mixtral-8x7B-Instruct-v0.1').moe, { experts: 8, topK: 2 });
  assert.deepEqual(dimsOf('Mixtral-8x22B-Instruct-v0.1').moe, { experts: 8, topK: 2 });
  assert.equal(dimsOf('Mixtral-8x22B-Instruct-v0.1').intermediateSize, 16384, 'one expert\'s width');
  assert.equal(dimsOf('Llama-3.1-8B-Instruct').moe, undefined);
  assert.match(dimsOf('GLM-4-9B-chat-1M').source, /ffn_hidden_size, padded_vocab_size/);
});

// Field values as the models' public config.json files state them (only the keys read).
const LLAMA_31_8B = {
  _name_or_path: 'meta-llama/Llama-3.1-8B-Instruct',
  architectures: ['LlamaForCausalLM'],
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};
const GLM_4_9B_1M = {
  model_type: 'chatglm',
  ffn_hidden_size: 13696,
  hidden_size: 4096,
  kv_channels: 128,
  multi_query_attention: true,
  multi_query_group_num: 4,
  num_attention_heads: 32,
  num_layers: 40,
  padded_vocab_size: 151552,
  seq_length: 1048576,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
};
const MIXTRAL_8X7B = {
  architectures: ['MixtralForCausalLM'],
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mixtral',
  num_attention_heads: 32,
  num_experts_per_tok: 2,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  num_local_experts: 8,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 32000,
};
// Gemma 3 keeps the language model under text_config; the dtype is stated at the top level, tying is the default.
const GEMMA_3_27B = {
  architectures: ['Gemma3ForConditionalGeneration'],
  model_type: 'gemma3',
  text_config: {
    head_dim: 128,
    hidden_size: 5376,
    intermediate_size: 21504,
    model_type: 'gemma3_text',
    num_attention_heads: 32,
    num_hidden_layers: 62,
    num_key_value_heads: 16,
    vocab_size: 262208,
  },
  torch_dtype: 'bfloat16',
  vision_config: { hidden_size: 1152, intermediate_size: 4304, num_attention_heads: 16, num_hidden_layers: 27 },
};

test('config.json dims: Llama (the registered row\'s values), from the usual keys', () => {
  const c = right(parseModelConfig(LLAMA_31_8B, 'llama/config.json'));
  assert.deepEqual(c.dimsMissing, []);
  const { source, ...d } = c.dims!;
  const { source: _regSource, ...reg } = dimsOf('Llama-3.1-8B-Instruct');
  assert.deepEqual(d, reg);
  assert.deepEqual(d, { hiddenSize: 4096, intermediateSize: 14336, vocabSize: 128256, tieWordEmbeddings: false, weightDtype: 'bfloat16', weightBytesPerElement: 2 });
  assert.equal(source, 'llama/config.json: $.hidden_size, $.intermediate_size, $.vocab_size, $.tie_word_embeddings, $.torch_dtype');
});

test('config.json dims: ChatGLM keys (ffn_hidden_size, padded_vocab_size)', () => {
  const c = right(parseModelConfig(GLM_4_9B_1M, 'glm/config.json'));
  assert.deepEqual(c.dimsMissing, []);
  assert.deepEqual([c.dims!.hiddenSize, c.dims!.intermediateSize, c.dims!.vocabSize, c.dims!.tieWordEmbeddings], [4096, 13696, 151552, false]);
  assert.match(c.dims!.source, /\$\.ffn_hidden_size, \$\.padded_vocab_size/);
});

test('config.json dims: Mixtral experts (num_local_experts, num_experts_per_tok); Qwen MoE widths', () => {
  const c = right(parseModelConfig(MIXTRAL_8X7B));
  assert.deepEqual(c.dims!.moe, { experts: 8, topK: 2 });
  assert.equal(c.dims!.intermediateSize, 14336);
  assert.deepEqual(c.dims, { ...dimsOf('Mixtral-8x7B-Instruct-v0.1'), source: c.dims!.source });
  // Qwen MoE: num_experts, and moe_intermediate_size is one expert's width (intermediate_size is the dense one).
  const qwenMoe = { ...LLAMA_31_8B, model_type: 'qwen2_moe', intermediate_size: 5632, moe_intermediate_size: 1408, num_experts: 60, num_experts_per_tok: 4, shared_expert_intermediate_size: 5632 };
  const q = right(parseModelConfig(qwenMoe));
  assert.equal(q.dims!.intermediateSize, 1408);
  assert.deepEqual(q.dims!.moe, { experts: 60, topK: 4, sharedExpertIntermediateSize: 5632 });
  // Experts without a top-k: the dims are incomplete, and say so.
  const { num_experts_per_tok: _k, ...noTopK } = MIXTRAL_8X7B;
  const n = right(parseModelConfig(noTopK));
  assert.equal(n.dims, undefined);
  assert.deepEqual(n.dimsMissing, ['$.num_experts_per_tok']);
});

test('config.json dims: Gemma 3 under text_config, dtype from the top level, tied by the Gemma default', () => {
  const c = right(parseModelConfig(GEMMA_3_27B, 'g3/config.json'));
  assert.deepEqual(c.dimsMissing, []);
  const { source, ...d } = c.dims!;
  assert.deepEqual(d, { hiddenSize: 5376, intermediateSize: 21504, vocabSize: 262208, tieWordEmbeddings: true, weightDtype: 'bfloat16', weightBytesPerElement: 2 });
  assert.match(source, /\$\.text_config\.hidden_size, \$\.text_config\.intermediate_size, \$\.text_config\.vocab_size/);
  assert.match(source, /\$\.torch_dtype/);
  const { source: _s, ...reg } = dimsOf('gemma-3-27b-it');
  assert.deepEqual(d, reg);
  // The published text_config leaves vocab_size to its default: missing, at the nested path.
  const { vocab_size: _v, ...noVocab } = GEMMA_3_27B.text_config;
  const m = right(parseModelConfig({ ...GEMMA_3_27B, text_config: noVocab }));
  assert.equal(m.dims, undefined);
  assert.deepEqual(m.dimsMissing, ['$.text_config.vocab_size']);
});

test('config.json dims: absent sizes are listed, not errors; the shape still parses', () => {
  const { intermediate_size: _i, ...noMlp } = LLAMA_31_8B;
  const c = right(parseModelConfig(noMlp, 'm/config.json'));
  assert.equal(c.dims, undefined);
  assert.deepEqual(c.dimsMissing, ['$.intermediate_size']);
  assert.equal(c.shape.headDim, 128);
  const { vocab_size: _v, tie_word_embeddings: _t, torch_dtype: _d, ...bare } = noMlp;
  assert.deepEqual(right(parseModelConfig(bare)).dimsMissing, ['$.intermediate_size', '$.vocab_size']);
  // Without tie_word_embeddings and torch_dtype the defaults apply: untied, bfloat16.
  const { tie_word_embeddings: _t2, torch_dtype: _d2, ...defaults } = LLAMA_31_8B;
  const d = right(parseModelConfig(defaults)).dims!;
  assert.deepEqual([d.tieWordEmbeddings, d.weightDtype, d.weightBytesPerElement], [false, 'bfloat16', 2]);
  assert.equal(right(parseModelConfig({ ...LLAMA_31_8B, torch_dtype: 'float32' })).dims!.weightBytesPerElement, 4);
});

test('config.json dims: a present but invalid value is an error at its path', () => {
  const cases: Array<[string, unknown, string]> = [
    ['negative hidden', { ...LLAMA_31_8B, hidden_size: -1 }, '$.hidden_size'],
    ['negative hidden, head_dim stated', { ...LLAMA_31_8B, head_dim: 128, hidden_size: -1 }, '$.hidden_size'],
    ['fractional MLP', { ...LLAMA_31_8B, intermediate_size: 14336.5 }, '$.intermediate_size'],
    ['string vocab', { ...LLAMA_31_8B, vocab_size: '128256' }, '$.vocab_size'],
    ['zero padded vocab', { ...GLM_4_9B_1M, padded_vocab_size: 0 }, '$.padded_vocab_size'],
    ['zero experts', { ...MIXTRAL_8X7B, num_local_experts: 0 }, '$.num_local_experts'],
    ['unknown dtype', { ...LLAMA_31_8B, torch_dtype: 'int3' }, '$.torch_dtype'],
    ['tie not boolean', { ...LLAMA_31_8B, tie_word_embeddings: 'no' }, '$.tie_word_embeddings'],
    ['nested MLP', { ...GEMMA_3_27B, text_config: { ...GEMMA_3_27B.text_config, intermediate_size: -5 } }, '$.text_config.intermediate_size'],
  ];
  for (const [what, json, path] of cases) {
    const e = left(parseModelConfig(json, 'm/config.json'));
    assert.equal(e.code, 'decode', what);
    assert.equal(e.issues[0]!.path, path, `${what}: ${formatError(e)}`);
    assert.ok(formatError(e).startsWith('m/config.json: '), what);
  }
});

test('modelDimsOf: the config\'s dims first, else the registry row of the same shape, else undefined', () => {
  const c = right(parseModelConfig({ ...LLAMA_31_8B, intermediate_size: 1000 }));
  assert.equal(modelDimsOf(c.shape, c)?.intermediateSize, 1000, 'the config wins');
  const { intermediate_size: _i, ...noMlp } = LLAMA_31_8B;
  const partial = right(parseModelConfig(noMlp));
  assert.equal(modelDimsOf(partial.shape, partial), dimsOf('Llama-3.1-8B-Instruct'), 'falls back to the row named like the shape');
  const shape = { name: 'Llama-3.1-8B-Instruct', layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128 };
  assert.equal(modelDimsOf(shape), dimsOf('Llama-3.1-8B-Instruct'));
  assert.equal(modelDimsOf({ ...shape, name: 'meta-llama/Meta-Llama-3.1-8B-Instruct' }), dimsOf('Llama-3.1-8B-Instruct'), 'an org/name finds the row');
  assert.equal(modelDimsOf({ ...shape, layers: 16 }), undefined, 'a row of another shape is not used');
  assert.equal(modelDimsOf({ ...shape, name: 'acme/Unknown-7B' }), undefined);
});
