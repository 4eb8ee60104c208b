/**
 * Hugging Face config.json parsing (issue 14): Llama-, Gemma- (head_dim ≠ hidden / heads), multimodal (text_config) and
 * ChatGLM-style configs; one-line errors at the offending field; the check of a profile's own shape against the
 * config (both numbers, both files); case-insensitive `model` names with nearest-name suggestions; the registry rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import {
  MODEL_REGISTRY,
  formatError,
  importDuo,
  importHplbProfile,
  importMinference,
  nearestModelNames,
  parseModelConfig,
  parseModelConfigText,
  registeredModel,
  type HplbError,
  type ModelConfig,
} from '@hplb/core';

const right = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) assert.fail(formatError(e.left));
  return e.right;
};
const leftText = <A>(e: E.Either<HplbError, A>): string => {
  if (E.isRight(e)) assert.fail('expected an error');
  return formatError(e.left);
};

// Field values as the models' public config.json files state them (see core/src/data/models.json for the sources).
const LLAMA_31_8B = {
  _name_or_path: 'meta-llama/Llama-3.1-8B-Instruct',
  architectures: ['LlamaForCausalLM'],
  hidden_size: 4096,
  max_position_embeddings: 131072,
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
};
const GEMMA_2_9B = { architectures: ['Gemma2ForCausalLM'], head_dim: 256, hidden_size: 3584, max_position_embeddings: 8192, num_attention_heads: 16, num_hidden_layers: 42, num_key_value_heads: 8 };
const GEMMA_3_27B = {
  architectures: ['Gemma3ForConditionalGeneration'],
  text_config: { head_dim: 128, hidden_size: 5376, max_position_embeddings: 131072, num_attention_heads: 32, num_hidden_layers: 62, num_key_value_heads: 16 },
  vision_config: { hidden_size: 1152, num_attention_heads: 16, num_hidden_layers: 27 },
};
const GLM_4_9B_1M = { model_type: 'chatglm', hidden_size: 4096, kv_channels: 128, multi_query_attention: true, multi_query_group_num: 4, num_attention_heads: 32, num_layers: 40, seq_length: 1048576 };

test('config.json: Llama-style, head_dim = hidden_size / heads, context from max_position_embeddings, name from _name_or_path', () => {
  const c = right(parseModelConfig(LLAMA_31_8B, 'llama/config.json'));
  assert.deepEqual(c.shape, { name: 'meta-llama/Llama-3.1-8B-Instruct', layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128 });
  assert.equal(c.contextLength, 131072);
  assert.equal(c.from.headDim, '$.hidden_size / $.num_attention_heads');
  // The registered row for the same model agrees with what its config says.
  const reg = registeredModel('Llama-3.1-8B-Instruct')!;
  assert.deepEqual([reg.layers, reg.queryHeads, reg.kvHeads, reg.headDim], [c.shape.layers, c.shape.queryHeads, c.shape.kvHeads, c.shape.headDim]);
});

test('config.json: without _name_or_path a model is named after its folder (or file), not its architecture class', () => {
  const { _name_or_path: _n, ...anon } = LLAMA_31_8B;
  assert.equal(right(parseModelConfig(anon, 'models/Qwen2.5-14B-Instruct/config.json')).shape.name, 'Qwen2.5-14B-Instruct');
  assert.equal(right(parseModelConfig(anon, 'acme-7b.json')).shape.name, 'acme-7b');
  assert.equal(right(parseModelConfig(anon, 'config.json')).shape.name, 'LlamaForCausalLM', 'a bare config.json says nothing more');
});

test('config.json: num_key_value_heads defaults to the query heads; name falls back to architectures', () => {
  const { num_key_value_heads: _kv, _name_or_path: _n, ...mha } = LLAMA_31_8B;
  const c = right(parseModelConfig(mha));
  assert.equal(c.shape.kvHeads, 32);
  assert.equal(c.shape.name, 'LlamaForCausalLM');
});

test('config.json: a Gemma-style head_dim that differs from hidden_size / heads wins', () => {
  const c = right(parseModelConfig(GEMMA_2_9B, 'gemma/config.json'));
  assert.notEqual(GEMMA_2_9B.hidden_size / GEMMA_2_9B.num_attention_heads, 256, 'the test needs a head_dim that differs');
  assert.equal(c.shape.headDim, 256);
  assert.equal(c.from.headDim, '$.head_dim');
  assert.deepEqual([c.shape.layers, c.shape.queryHeads, c.shape.kvHeads], [42, 16, 8]);
  const reg = registeredModel('GEMMA-2-9B-IT')!;
  assert.equal(reg.headDim, c.shape.headDim);
});

test('config.json: a multimodal config is read under text_config (Gemma 3), named from the top level', () => {
  const c = right(parseModelConfig(GEMMA_3_27B, 'g3/config.json'));
  // No _name_or_path anywhere: named after the folder of its config.json, not its architecture class.
  assert.deepEqual(c.shape, { name: 'g3', layers: 62, queryHeads: 32, kvHeads: 16, headDim: 128 });
  assert.equal(c.from.layers, '$.text_config.num_hidden_layers');
  assert.equal(c.contextLength, 131072);
  // Errors inside text_config name the nested path.
  const bad = { ...GEMMA_3_27B, text_config: { ...GEMMA_3_27B.text_config, num_attention_heads: 0 } };
  assert.match(leftText(parseModelConfig(bad, 'g3/config.json')), /^g3\/config\.json: at \$\.text_config\.num_attention_heads: expected a positive integer/);
});

test('config.json: ChatGLM keys (GLM-4-9B-chat-1M) give the registered GLM-4 shape and its 1M context', () => {
  const c = right(parseModelConfig(GLM_4_9B_1M));
  const reg = registeredModel('glm-4-9b-chat-1m')!;
  assert.deepEqual([c.shape.layers, c.shape.queryHeads, c.shape.kvHeads, c.shape.headDim], [reg.layers, reg.queryHeads, reg.kvHeads, reg.headDim]);
  assert.equal(c.contextLength, 1048576);
});

test('bad config.json: one line naming the file and the field', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing layers', { num_attention_heads: 32, hidden_size: 4096 }, 'at $.num_hidden_layers: expected a positive integer (the number of decoder layers), got nothing'],
    ['missing heads', { num_hidden_layers: 32, hidden_size: 4096 }, 'at $.num_attention_heads: expected a positive integer'],
    ['zero heads', { ...LLAMA_31_8B, num_attention_heads: 0 }, 'at $.num_attention_heads: expected a positive integer (the number of query heads per layer), got 0'],
    ['fractional heads', { ...LLAMA_31_8B, num_attention_heads: 32.5 }, 'at $.num_attention_heads: expected a positive integer'],
    ['string layers', { ...LLAMA_31_8B, num_hidden_layers: '32' }, 'at $.num_hidden_layers: expected a number, got "32"'],
    ['zero kv heads', { ...LLAMA_31_8B, num_key_value_heads: 0 }, 'at $.num_key_value_heads: expected a positive integer'],
    ['kv not dividing', { ...LLAMA_31_8B, num_key_value_heads: 5 }, 'at $.num_key_value_heads: expected a divisor of num_attention_heads (32)'],
    ['hidden not divisible', { ...LLAMA_31_8B, hidden_size: 4100 }, 'at $.hidden_size: expected a multiple of num_attention_heads (32)'],
    ['no hidden, no head_dim', { num_hidden_layers: 2, num_attention_heads: 4 }, 'at $.hidden_size: expected a positive integer'],
    ['zero head_dim', { ...GEMMA_2_9B, head_dim: 0 }, 'at $.head_dim: expected a positive integer'],
    ['bad context', { ...LLAMA_31_8B, max_position_embeddings: -1 }, 'at $.max_position_embeddings: expected a positive integer'],
    ['not an object', [1, 2], 'at $: expected a Hugging Face config.json object'],
  ];
  for (const [what, json, want] of cases) {
    const msg = leftText(parseModelConfig(json, 'm/config.json'));
    assert.equal(msg.split('\n').length, 1, `${what}: one line`);
    assert.ok(msg.startsWith('m/config.json: '), `${what}: names the file: ${msg}`);
    assert.ok(msg.includes(want), `${what}: ${msg}`);
  }
  const notJson = leftText(parseModelConfigText('{"num_hidden_layers": 32,', 'm/config.json'));
  assert.match(notJson, /^m\/config\.json: at \$: expected valid JSON, got /);
  assert.equal(notJson.split('\n').length, 1);
});

/** A MInference pattern file of `layers` × `heads` entries (budget 100 + 200 tokens, recall 0.9). */
const minferenceText = (layers: number, heads: number): string =>
  JSON.stringify(Array.from({ length: layers }, () => Object.fromEntries(Array.from({ length: heads }, (_, h) => [String(h), ['vertical_and_slash', 100, 200, 0.9]]))));
const tinyConfig = (layers: number, heads: number, kv: number): ModelConfig =>
  right(parseModelConfig({ _name_or_path: 'acme/Tiny-2B', num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kv, hidden_size: heads * 64, max_position_embeddings: 32768 }, 'tiny/config.json'));

test('a model config gives an unregistered model its shape and its default context', () => {
  const p = right(importMinference(minferenceText(3, 8), { file: 'Tiny_2B_kv_out_v32_fit_o_best_pattern.json', modelConfig: tinyConfig(3, 8, 2) }));
  assert.deepEqual(p.model, { name: 'acme/Tiny-2B', layers: 3, queryHeads: 8, kvHeads: 2, headDim: 64 });
  assert.equal(p.contextLength, 32768, 'max_position_embeddings is the default N');
  const at8k = right(importMinference(minferenceText(3, 8), { file: 'x.json', modelConfig: tinyConfig(3, 8, 2), contextLength: 8192 }));
  assert.equal(at8k.contextLength, 8192, 'an explicit context wins');
});

test('a profile that contradicts its model config is refused, naming both files and both numbers', () => {
  const layers = leftText(importMinference(minferenceText(4, 8), { file: 'prof.json', modelConfig: tinyConfig(3, 8, 2) }));
  assert.equal(layers, 'prof.json: at $: expected 3 layers as the model config tiny/config.json states ($.num_hidden_layers), got 4 layers in this profile');
  const heads = leftText(importMinference(minferenceText(3, 6), { file: 'prof.json', modelConfig: tinyConfig(3, 8, 2) }));
  assert.equal(heads, 'prof.json: at $[0]: expected 8 query heads as the model config tiny/config.json states ($.num_attention_heads), got 6 query heads in this profile');
  // DuoAttention tables are per KV head: their column count is checked against the config's KV heads.
  const tsv = [[0.1, 0.9, 0.5], [0.2, 0.8, 0.4], [0.3, 0.7, 0.6]].map((r) => r.join('\t')).join('\n');
  const duo = leftText(importDuo(tsv, { file: 'gates.tsv', sparsity: 0.5, modelConfig: tinyConfig(3, 8, 2) }));
  assert.match(duo, /^gates\.tsv: at \$\[0\]: expected 2 KV heads as the model config tiny\/config\.json states \(\$\.num_key_value_heads\), got 3 KV heads in this profile$/);
  // hplb profiles state their model: it must agree too.
  const hplb = JSON.stringify({ format: 'hplb.profile/1', kind: 'required', model: { name: 'x', layers: 3, queryHeads: 8, kvHeads: 4, headDim: 64 }, contextLength: 1000, budgets: Array.from({ length: 3 }, () => Array(8).fill(10)) });
  assert.match(leftText(importHplbProfile(hplb, { file: 'p.json', modelConfig: tinyConfig(3, 8, 2) })), /^p\.json: at \$\.model\.kvHeads: expected 2 KV heads as the model config tiny\/config\.json states .*got 4 KV heads/);
});

test('model and modelConfig must agree when both are given', () => {
  const msg = leftText(importMinference(minferenceText(3, 8), { file: 'p.json', model: 'Llama-3.1-8B-Instruct', modelConfig: tinyConfig(3, 8, 2) }));
  assert.match(msg, /expected a model of the shape tiny\/config\.json states \(3 layers, 8 query heads, 2 KV heads, head dim 64\), got Llama-3\.1-8B-Instruct \(32 layers/);
});

test('model names: case-insensitive, separators ignored; an unknown name gets the nearest names and the modelConfig option', () => {
  for (const n of ['LLAMA-3.1-8B-INSTRUCT', 'llama_3.1_8b_instruct', 'meta-llama/Llama-3.1-8B-Instruct', 'qwen2.5-7b-instruct-1m'])
    assert.ok(registeredModel(n), n);
  assert.equal(registeredModel('qwen2.5-7b-instruct-1m')!.name, 'Qwen2.5-7B-Instruct-1M');
  assert.equal(registeredModel('Qwen2.5-7B-Instrct'), undefined, 'no fuzzy match');
  assert.equal(nearestModelNames('Qwen2.5-7B-Instrct')[0], 'Qwen2.5-7B-Instruct');
  assert.equal(nearestModelNames('qwen2.5-7b-instruct-2m')[0], 'Qwen2.5-7B-Instruct-1M');
  const msg = leftText(importMinference(minferenceText(28, 28), { file: 'x.json', model: 'Qwen2.5-7B-Instrct' }));
  assert.match(msg, /at \$\.model: expected a registered model \(nearest: Qwen2\.5-7B-Instruct[^)]*\), or the model's config\.json \(\$\.modelConfig\), got "Qwen2\.5-7B-Instrct"/);
  const none = leftText(importMinference(minferenceText(28, 28), { file: 'My_Model_kv_out.json' }));
  assert.match(none, /\$\.modelConfig = config\.json/);
  assert.equal(none.split('\n').length, 1);
});

test('registry: every row cites its config.json, shapes are consistent, the original 20 names still resolve', () => {
  const seen = new Set<string>();
  for (const m of MODEL_REGISTRY) {
    assert.ok(m.queryHeads % m.kvHeads === 0, `${m.name}: kvHeads divides queryHeads`);
    assert.match(m.source.repository, /^huggingface\.co\/[^/]+\/[^/]+$/, `${m.name}: repository`);
    assert.equal(m.source.file, 'config.json', m.name);
    assert.ok(m.source.verifiedIn.length > 0, m.name);
    for (const n of [m.name, ...m.aliases]) {
      assert.ok(!seen.has(n.toLowerCase()), `${n} is unique`);
      seen.add(n.toLowerCase());
    }
  }
  const original = [
    'Llama-3-8B-Instruct-262k', 'Llama-3-8B-Instruct-Gradient-1048k', 'Llama-3-8B-Instruct-Gradient-4194k', 'Llama-3.1-8B-Instruct',
    'Llama-3-70B-Instruct-262k', 'Llama-3.1-70B-Instruct', 'Qwen2-7B-Instruct', 'Qwen2.5-7B-Instruct', 'Qwen2.5-32B-Instruct',
    'Qwen2.5-72B-Instruct', 'Yi-9B-200K', 'GLM-4-9B-chat-1M', 'Phi-3-mini-128k-instruct', 'Mistral-7B-Instruct-v0.2',
    'Mistral-7B-Instruct-v0.3', 'Llama-2-7B-32K-Instruct', 'vicuna-7b-v1.5-16k', 'vicuna-13b-v1.5-16k', 'Llama-3.2-1B-Instruct', 'Llama-3.2-3B-Instruct',
  ];
  for (const n of original) assert.equal(registeredModel(n)?.name, n);
  // The families issue 14 asks for.
  for (const n of ['Llama-3.3-70B-Instruct', 'Llama-3.1-405B-Instruct', 'Qwen2.5-14B-Instruct', 'Qwen2.5-14B-Instruct-1M', 'Qwen3-8B', 'Mixtral-8x7B-Instruct-v0.1', 'gemma-3-27b-it', 'phi-4', 'Yi-34B-Chat'])
    assert.ok(registeredModel(n), n);
});
