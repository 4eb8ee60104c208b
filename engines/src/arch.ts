/**
 * Which checkpoint architectures `hplb apply` can rewrite, and their attention tensor names. Llama, Mistral and
 * Qwen2 (separate q/k/v/o projections; Qwen2 with q/k/v biases) are supported; architectures with a fused QKV
 * projection or per-head ALiBi slopes are refused with what is missing. Used by `hplb apply`.
 */

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
