/**
 * `--model-config FILE` (issue 14): inspect and plan plan a model hplb does not register from its config.json (its
 * shape, and max_position_embeddings as the default context); a bad config or one that contradicts the profile is one
 * stderr line naming the files, the field and both numbers; an unknown --model gets the nearest names and the hint
 * that --model-config exists; export refuses a plan for another model than the config's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'hplb-model-config-'));
const run = async (...argv: string[]) => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd: dir };
  const code = await main(argv, io);
  return { code, out, err };
};
const write = (name: string, u: unknown): string => {
  const f = join(dir, name);
  writeFileSync(f, typeof u === 'string' ? u : JSON.stringify(u));
  return f;
};
/** A MInference pattern file of an unregistered 4-layer model with 8 query heads (2 budget classes). */
const pattern = write(
  'Acme_Tiny_kv_out_v32_fit_o_best_pattern.json',
  Array.from({ length: 4 }, (_, l) => Object.fromEntries(Array.from({ length: 8 }, (_, h) => [String(h), ['vertical_and_slash', h % 2 ? 1000 : 100, 2000 + 100 * l, 0.9]]))),
);
const config = write('config.json', { _name_or_path: 'acme/Tiny-1B', architectures: ['LlamaForCausalLM'], num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 512, max_position_embeddings: 16384 });

test('inspect: an unregistered model from its config.json; default N = max_position_embeddings', async () => {
  const r = await run('inspect', pattern, '--format', 'minference', '--model-config', config, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(j.model, { name: 'acme/Tiny-1B', layers: 4, queryHeads: 8, kvHeads: 2, headDim: 64 });
  assert.equal(j.contextLength, 16384);
});

test('plan: --model-config plans the model on 4 GPUs, priced in the serving step from the config\'s sizes', async () => {
  const full = write('full-config.json', { _name_or_path: 'acme/Tiny-1B', architectures: ['LlamaForCausalLM'], num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 512, intermediate_size: 1376, vocab_size: 32000, max_position_embeddings: 16384 });
  const r = await run('plan', '--profile', pattern, '--model-config', full, '--gpus', '4', '--solver', 'lpt', '--whole-heads', '--out-dir', join(dir, 'out'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /acme\/Tiny-1B/);
  assert.match(r.out, /modelled on NVIDIA H100 SXM 80GB \(h100-sxm\)/);
});

test('plan: a config.json without the MLP size names what is missing and the flags that give it; the flags plan it', async () => {
  const r = await run('plan', '--profile', pattern, '--model-config', config, '--gpus', '4', '--out-dir', join(dir, 'out-missing'));
  assert.equal(r.code, 2, r.out);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /config\.json lacks \$\.intermediate_size, \$\.vocab_size/);
  assert.match(r.err, /--hidden-size|--intermediate-size/);
  const ok = await run('plan', '--profile', pattern, '--model-config', config, '--gpus', '4', '--hidden-size', '512', '--intermediate-size', '1376', '--out-dir', join(dir, 'out-flags'));
  assert.equal(ok.code, 0, ok.err);
  const plain = await run('plan', '--profile', pattern, '--model-config', config, '--gpus', '4', '--attention-only', '--out-dir', join(dir, 'out-attn'));
  assert.equal(plain.code, 0, plain.err);
  assert.doesNotMatch(plain.out, /modelled on/);
});

test('bad input: one line naming the file and the field; a contradiction names both files and both numbers', async () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['zero-heads.json', { num_hidden_layers: 4, num_attention_heads: 0, hidden_size: 512 }, /^hplb: .*zero-heads\.json: at \$\.num_attention_heads: expected a positive integer \(the number of query heads per layer\), got 0$/],
    ['no-layers.json', { num_attention_heads: 8, hidden_size: 512 }, /^hplb: .*no-layers\.json: at \$\.num_hidden_layers: expected a positive integer/],
    ['not-json.json', '{"num_hidden_layers": 4,', /^hplb: .*not-json\.json: at \$: expected valid JSON, got /],
    ['other-model.json', { num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 512 }, /^hplb: .*Acme_Tiny_kv_out_v32_fit_o_best_pattern\.json: at \$: expected 6 layers as the model config .*other-model\.json states \(\$\.num_hidden_layers\), got 4 layers in this profile$/],
  ];
  for (const [name, body, want] of cases) {
    const f = write(name, body);
    const r = await run('inspect', pattern, '--format', 'minference', '--model-config', f);
    assert.notEqual(r.code, 0, name);
    assert.equal(r.out, '');
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${name}: one line: ${r.err}`);
    assert.match(lines[0]!, want, name);
  }
});

test('an unknown or missing model names --model-config and the nearest registered names', async () => {
  const unknown = await run('inspect', pattern, '--format', 'minference', '--model', 'qwen2.5-7b-instrct');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /at --model: expected a registered model \(nearest: Qwen2\.5-7B-Instruct, .*\), or the model's config\.json \(--model-config\), got "qwen2\.5-7b-instrct"/);
  const none = await run('inspect', pattern, '--format', 'minference');
  assert.equal(none.code, 2);
  assert.match(none.err, /expected a model name \(--model NAME\) or the model's config\.json \(--model-config config\.json\)/);
  const anyCase = await run('inspect', pattern, '--format', 'minference', '--model', 'LLAMA-3.1-8B-INSTRUCT');
  assert.match(anyCase.err, /expected 32 layers/, 'the name resolved (case-insensitively) to the registered shape, which the file contradicts');
});

test('export --model-config: the plan must be for the config.json model', async () => {
  const planFile = join(dir, 'eng', 'plan.json');
  const p = await run('plan', '--profile', pattern, '--model-config', config, '--gpus', '2', '--equal-heads', '--kv', 'group', '--solver', 'lpt', '--whole-heads', '--attention-only', '--out-dir', join(dir, 'eng'));
  assert.equal(p.code, 0, p.err);
  const ok = await run('export', planFile, '--engine', 'vllm', '--model-config', config, '--json');
  assert.equal(ok.code, 0, ok.err);
  const other = write('other-kv.json', { num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 4, hidden_size: 512 });
  const bad = await run('export', planFile, '--engine', 'vllm', '--model-config', other, '--json');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /plan\.json: at \$\.model\.kvHeads: expected 4 KV heads as the model config .*other-kv\.json states \(\$\.num_key_value_heads\), got 2 KV heads in this plan/);
});
