/**
 * Which checkpoint architectures `hplb apply` can rewrite, and their attention tensor names. Llama, Mistral and
 * Qwen2 (separate q/k/v/o projections; Qwen2 with q/k/v biases) are supported; architectures with a fused QKV
 * projection or per-head ALiBi slopes are refused with what is missing; `checkCheckpointConfig` checks a
 * `config.json` against a layout. Used by `applyLayout` (`@hplb/engines/node`, behind `hplb apply`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, parseModelConfig, type EngineLayout, type HplbError } from '@hplb/core';

export interface AttentionTensors {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly o: string;
  readonly qBias: string;
  readonly kBias: string;
  readonly vBias: string;
  readonly oBias: string;
}

export interface ArchSpec {
  readonly architecture: string;
  readonly family: 'llama' | 'mistral' | 'qwen2';
  /** q/k/v biases: required (Qwen2), optional (Llama with attention_bias), or none. */
  readonly biases: 'required' | 'optional' | 'none';
  readonly tensors: (layer: number) => AttentionTensors;
}

const hfNames = (l: number): AttentionTensors => {
  const p = `model.layers.${l}.self_attn`;
  return { q: `${p}.q_proj.weight`, k: `${p}.k_proj.weight`, v: `${p}.v_proj.weight`, o: `${p}.o_proj.weight`, qBias: `${p}.q_proj.bias`, kBias: `${p}.k_proj.bias`, vBias: `${p}.v_proj.bias`, oBias: `${p}.o_proj.bias` };
};

export const SUPPORTED_ARCHS: ReadonlyArray<ArchSpec> = [
  { architecture: 'LlamaForCausalLM', family: 'llama', biases: 'optional', tensors: hfNames },
  { architecture: 'MistralForCausalLM', family: 'mistral', biases: 'none', tensors: hfNames },
  { architecture: 'Qwen2ForCausalLM', family: 'qwen2', biases: 'required', tensors: hfNames },
];

/** Known architectures hplb apply refuses, and what their checkpoints lack for a head-wise rewrite. */
export const REFUSED_ARCHS: Readonly<Record<string, string>> = {
  Phi3ForCausalLM: 'a fused QKV projection (qkv_proj): separate q_proj/k_proj/v_proj are needed',
  GPTNeoXForCausalLM: 'a fused QKV projection (query_key_value): separate q_proj/k_proj/v_proj are needed',
  FalconForCausalLM: 'a fused QKV projection (query_key_value; ALiBi in some variants): separate q_proj/k_proj/v_proj and rotary positions are needed',
  BloomForCausalLM: 'rotary positions (it uses per-head ALiBi slopes) and separate q/k/v projections (it fuses query_key_value)',
  MPTForCausalLM: 'rotary positions (it uses per-head ALiBi slopes) and separate q/k/v projections (it fuses Wqkv)',
  BaichuanForCausalLM: 'a separate q/k/v projection (it fuses W_pack; the 13B model also uses ALiBi)',
  ChatGLMModel: 'a separate q/k/v projection (it fuses query_key_value)',
  ChatGLMForConditionalGeneration: 'a separate q/k/v projection (it fuses query_key_value)',
  QWenLMHeadModel: 'a separate q/k/v projection (Qwen v1 fuses c_attn)',
  GPT2LMHeadModel: 'a separate q/k/v projection (it fuses c_attn)',
};

/** Tensor-name fragments that reveal a fused QKV projection. */
export const FUSED_QKV_MARKERS = ['qkv_proj', 'query_key_value', 'W_pack', 'Wqkv', 'c_attn'];

// ---------------------------------------------------------------- config.json

const configInt = (cfg: Record<string, unknown>, key: string, file: string | undefined): E.Either<HplbError, number | undefined> => {
  const v = cfg[key];
  if (v === undefined || v === null) return E.right(undefined);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return E.left(hplbError('decode', [issue(`$.${key}`, 'a positive integer', v)], file));
  return E.right(v);
};

/**
 * Check a Hugging Face `config.json` against an engine layout and pick the architecture's tensor names: a supported
 * architecture (refused ones name what they lack), unquantized, and the layout's model (query / KV heads, layers,
 * head dim; a KV head count that already differs usually means an already rewritten checkpoint). Errors name the
 * config's JSON paths and `file`.
 */
export const checkCheckpointConfig = (cfg: Record<string, unknown>, layout: EngineLayout, file?: string): E.Either<HplbError, { arch: ArchSpec; hidden: number }> => {
  const failure = (code: HplbError['code'], path: string, expected: string, actual?: unknown) => E.left(hplbError(code, [issue(path, expected, actual)], file));
  const supported = SUPPORTED_ARCHS.map((a) => a.architecture).join(', ');
  const archs = cfg['architectures'];
  const name = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (name === undefined) return failure('decode', '$.architectures', `a list naming the architecture (supported: ${supported})`, archs);
  const arch = SUPPORTED_ARCHS.find((a) => a.architecture === name);
  if (!arch) {
    const why = REFUSED_ARCHS[name];
    return failure(
      'argument',
      '$.architectures[0]',
      why
        ? `an architecture hplb apply can rewrite head by head (${supported}); ${name} lacks ${why}`
        : `a supported architecture (${supported}); ${name} is unknown to hplb apply: its attention tensor names, bias layout and position encoding would have to be added to engines/src/arch.ts`,
      name,
    );
  }
  if (cfg['quantization_config'] !== undefined) return failure('argument', '$.quantization_config', 'an unquantized checkpoint (quantized weights pack rows and scales; rewrite the original weights, then quantize)', 'present');
  const m = layout.model;
  // The checkpoint's shape as core reads any config.json (parseModelConfig: num_key_value_heads defaulting to the
  // heads, head_dim else hidden_size / heads), then each number against the layout's model.
  const hiddenSize = configInt(cfg, 'hidden_size', file);
  if (E.isLeft(hiddenSize)) return hiddenSize;
  if (hiddenSize.right === undefined) return failure('decode', '$.hidden_size', 'a positive integer', undefined);
  const hidden = hiddenSize.right;
  const parsed = parseModelConfig(cfg, file);
  if (E.isLeft(parsed)) return parsed;
  const c = parsed.right.shape;
  if (c.queryHeads !== m.queryHeads) return failure('decode', '$.num_attention_heads', `${m.queryHeads} (the layout's model ${m.name})`, c.queryHeads);
  if (c.kvHeads !== m.kvHeads) return failure('decode', '$.num_key_value_heads', `${m.kvHeads} (the layout's model ${m.name}; is this checkpoint already rewritten?)`, c.kvHeads);
  if (c.layers !== m.layers) return failure('decode', '$.num_hidden_layers', `${m.layers} (the layout's model ${m.name})`, c.layers);
  if (c.headDim !== m.headDim) return failure('decode', '$.head_dim', `${m.headDim} (the layout's head dim)`, c.headDim);
  return E.right({ arch, hidden });
};
