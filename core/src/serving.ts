/**
 * The serving cost model: what a placement costs in the serving step users pay for, not attention alone. The same
 * head placement sets every GPU's Q/K/V/O projection work, its decode-step reads and its KV memory, so a plan is
 * priced here as a whole tensor-parallel layer, in both phases, on a named hardware preset. Pure and total.
 *
 * Prefill, one request of N tokens, per layer (GPUs synchronise at the two all-reduces of every layer):
 *   attention block of GPU d  = Σ its query heads and split parts: fixed + (perQueryRow·rows + perTokenPair·work)/speed
 *                               + for every KV head it holds (home copy and extra copies): K/V projection of N tokens
 *                               (core loads.ts `deviceLoadsOfLayer` with `servingCostModel`: one arithmetic)
 *       perTokenPair  attention: 4·headDim flops per token pair at the preset's attention efficiency (or the plan's
 *                     own cost model when it is in seconds: a calibration of the real kernel);
 *       perQueryRow   Q and O projections: 2 GEMMs of hidden × headDim per query row (a split part counts its rows);
 *       K/V           2 GEMMs of hidden × headDim per context token, for each KV head the GPU holds, copies included;
 *   layer         = max_d attention block + MLP shard (6·hidden·intermediate flops per token, ÷ GPUs; MoE: top-k
 *                   experts and the shared expert) + 2 all-reduces of N·hidden activations (ring: 2(G−1)/G · bytes /
 *                   bus bandwidth + latency).
 *   GEMMs run at max(flops / (peak · gemmEfficiency), weight bytes / (HBM · hbmEfficiency)).
 *
 * Decode, one step of `batch` sequences (one output token each), per layer:
 *   GPU d reads the weights of the query heads it decodes (Q and O rows) and of the KV heads it decodes (K and V),
 *   plus, for each KV head it decodes, the KV cache of each sequence: the whole context (N + T/2 on average over the
 *   T output tokens) for prefill-only sparse methods (MInference, XAttention: decode is dense), or the head's budget
 *   for methods that sparsify decode (DuoAttention's streaming heads, MoA); `decodeSparse` says which (importers).
 *   A whole head decodes on its device; a split head on the part that holds its last row.
 *   layer = max_d (bytes_d / (HBM · hbmEfficiency · speed_d)) + MLP shard weights / HBM + 2 all-reduces of
 *   batch·hidden activations. Plus the vocabulary-parallel LM head once per step.
 *
 * Memory per GPU: its weight shard (Q/O of every head or part it computes, K/V of every KV head it holds, the MLP
 * shard, the vocabulary shard) plus the KV cache: batch × Σ layers Σ KV heads it holds × 2·headDim·kvBytes × length,
 * where length is N + T for a KV head it decodes in colocated serving, N in prefill-only serving, and the rows a
 * split part reads (its last row) for a copy that only prefill needs. `fits` compares that with the GPU's memory.
 *
 * Workloads: `colocated` (prefill and decode on the same GPUs; objective = prefill + T × decode step, ties to the
 * lower KV on the busiest GPU) or `prefill` (disaggregated prefill instances; objective = prefill, decode runs
 * elsewhere with its own layout, and its figure here is what this layout would cost if it decoded).
 *
 * Hardware presets name their source for every number; every number can be overridden (`HardwareOverrides`, the
 * `hardware` option and the `hardware` block of a calibration file).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, Positive } from './brand.ts';
import type { CostModel } from './cost.ts';
import { hplbError, issue, type HplbError } from './errors.ts';
import { deviceLoadsOfLayer } from './loads.ts';
import { kvHostsOfLayer, type SplitLike } from './kv.ts';
import { kvHeadOf, type ModelDims, type ModelShape } from './model.ts';

// ---------------------------------------------------------------- hardware

/** One GPU kind, as the serving model sees it. Bandwidths in bytes per second, compute in flop/s, memory in bytes. */
export interface HardwarePreset {
  readonly name: string;
  /** Human label printed beside every modelled figure, e.g. "NVIDIA H100 SXM 80GB". */
  readonly label: string;
  /** Dense bf16 tensor-core peak (no sparsity), flop/s. */
  readonly bf16Flops: number;
  /** Share of the peak large GEMMs reach (projections, MLP). */
  readonly gemmEfficiency: number;
  /** Share of the peak block-sparse attention kernels reach (64-token blocks). */
  readonly attentionEfficiency: number;
  /** Fixed time per attention head (launch and tile set-up amortised over a head's blocks), seconds. */
  readonly attentionFixedSeconds: number;
  /** HBM bandwidth, bytes/s. */
  readonly hbmBytesPerSecond: number;
  /** Share of HBM bandwidth streaming reads reach. */
  readonly hbmEfficiency: number;
  /** All-reduce bus bandwidth (NCCL tests' busbw, large messages), bytes/s. */
  readonly allReduceBusBytesPerSecond: number;
  /** All-reduce latency (small messages), seconds. */
  readonly allReduceLatencySeconds: number;
  /** Memory per GPU, bytes. */
  readonly memoryBytes: number;
  /** Where each number comes from, by field name. */
  readonly sources: Readonly<Record<string, string>>;
}

const H100_DATASHEET = 'NVIDIA H100 Tensor Core GPU datasheet (SXM5: 989 TFLOP/s dense BF16, 3.35 TB/s HBM3, 80 GB)';
const H200_DATASHEET = 'NVIDIA H200 Tensor Core GPU datasheet (SXM: 989 TFLOP/s dense BF16, 4.8 TB/s HBM3e, 141 GB)';
const A100_DATASHEET = 'NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB: 312 TFLOP/s dense BF16, 2,039 GB/s HBM2e, 80 GB)';
const GEMM_SOURCE = 'large bf16 GEMMs reach about 70% of dense peak (cuBLAS on H100/A100, e.g. 4096×4096×8192 and larger)';
const ATTENTION_SOURCE = 'block-sparse FlashAttention-class kernels at about 40% of dense peak on 64-token blocks (the cuda-h100 cost model of core cost.ts; 4·headDim flops per token pair)';
const HBM_SOURCE = 'streaming reads reach about 80% of HBM peak (STREAM-like copy kernels, decode weight reads)';
const NCCL_SOURCE = 'nccl-tests all_reduce_perf busbw on 8 GPUs over NVLink/NVSwitch, large messages';
const NCCL_LAT = 'nccl-tests all_reduce_perf small-message time on 8 GPUs over NVLink (about 10 µs; A100 about 12 µs)';

const H100_SXM: HardwarePreset = {
  name: 'h100-sxm', label: 'NVIDIA H100 SXM 80GB',
  bf16Flops: 989e12, gemmEfficiency: 0.71, attentionEfficiency: 0.4, attentionFixedSeconds: 5e-6,
  hbmBytesPerSecond: 3.35e12, hbmEfficiency: 0.8,
  allReduceBusBytesPerSecond: 360e9, allReduceLatencySeconds: 10e-6, memoryBytes: 80e9,
  sources: {
    bf16Flops: H100_DATASHEET, gemmEfficiency: `${GEMM_SOURCE}: 700 TFLOP/s`, attentionEfficiency: ATTENTION_SOURCE,
    attentionFixedSeconds: 'the cuda-h100 cost model of core cost.ts (documented default, not measured)',
    hbmBytesPerSecond: H100_DATASHEET, hbmEfficiency: HBM_SOURCE,
    allReduceBusBytesPerSecond: `${NCCL_SOURCE} (DGX H100: about 360 GB/s bf16)`, allReduceLatencySeconds: NCCL_LAT, memoryBytes: H100_DATASHEET,
  },
};

/** The built-in presets: `h100-sxm` (the default), `h200`, `a100-80gb`. */
export const HARDWARE_PRESETS: Readonly<Record<string, HardwarePreset>> = {
  'h100-sxm': H100_SXM,
  // The H200 is the H100's compute and NVLink with more and faster HBM: only those numbers and their sources differ.
  h200: {
    ...H100_SXM,
    name: 'h200', label: 'NVIDIA H200 SXM 141GB',
    hbmBytesPerSecond: 4.8e12, memoryBytes: 141e9,
    sources: {
      ...H100_SXM.sources,
      bf16Flops: H200_DATASHEET, gemmEfficiency: GEMM_SOURCE,
      attentionFixedSeconds: 'as h100-sxm (same SM architecture)',
      hbmBytesPerSecond: H200_DATASHEET, memoryBytes: H200_DATASHEET,
      allReduceBusBytesPerSecond: `${NCCL_SOURCE} (NVLink 4 as H100: about 360 GB/s)`,
    },
  },
  'a100-80gb': {
    name: 'a100-80gb', label: 'NVIDIA A100 SXM 80GB',
    bf16Flops: 312e12, gemmEfficiency: 0.7, attentionEfficiency: 0.4, attentionFixedSeconds: 6e-6,
    hbmBytesPerSecond: 2.039e12, hbmEfficiency: 0.8,
    allReduceBusBytesPerSecond: 230e9, allReduceLatencySeconds: 12e-6, memoryBytes: 80e9,
    sources: {
      bf16Flops: A100_DATASHEET, gemmEfficiency: GEMM_SOURCE, attentionEfficiency: ATTENTION_SOURCE,
      attentionFixedSeconds: 'h100-sxm value scaled for the slower launch path (documented default, not measured)',
      hbmBytesPerSecond: A100_DATASHEET, hbmEfficiency: HBM_SOURCE,
      allReduceBusBytesPerSecond: `${NCCL_SOURCE} (DGX A100, NVLink 3: about 230 GB/s)`, allReduceLatencySeconds: NCCL_LAT, memoryBytes: A100_DATASHEET,
    },
  },
};

/** The preset a plan is priced on when none is named. */
export const DEFAULT_HARDWARE = 'h100-sxm';
export const HARDWARE_NAMES: ReadonlyArray<string> = Object.keys(HARDWARE_PRESETS);

/** Numbers that replace a preset's (flags, the `hardware` option, a calibration file's `hardware` block). */
export const HardwareOverridesC = t.partial({
  bf16Flops: Positive,
  gemmEfficiency: Positive,
  attentionEfficiency: Positive,
  attentionFixedSeconds: NonNegative,
  hbmBytesPerSecond: Positive,
  hbmEfficiency: Positive,
  allReduceBusBytesPerSecond: Positive,
  allReduceLatencySeconds: NonNegative,
  memoryBytes: Positive,
}, 'HardwareOverrides');
/** Plain numbers (the codec checks them when they come from a file or JSON options). */
export type HardwareOverrides = { readonly [K in keyof t.TypeOf<typeof HardwareOverridesC>]?: number };

const EFFICIENCIES = ['gemmEfficiency', 'attentionEfficiency', 'hbmEfficiency'] as const;

/**
 * A preset by name, with overrides. Left: an unknown name (listing the presets) or an efficiency above 1, at `path`
 * (`$.hardware`).
 */
export const resolveHardware = (name: string = DEFAULT_HARDWARE, overrides: HardwareOverrides = {}, source = 'override', path = '$.hardware'): E.Either<HplbError, HardwarePreset> => {
  const base = HARDWARE_PRESETS[name.toLowerCase()];
  if (!base) return E.left(hplbError('argument', [issue(path, `a hardware preset: one of ${HARDWARE_NAMES.join('|')}`, name)]));
  for (const k of EFFICIENCIES) {
    const v = overrides[k];
    if (v !== undefined && !(v > 0 && v <= 1)) return E.left(hplbError('argument', [issue(`${path}.${k}`, 'a share of the peak in (0, 1]', v)]));
  }
  const keys = Object.keys(overrides).filter((k) => (overrides as Record<string, unknown>)[k] !== undefined);
  if (keys.length === 0) return E.right(base);
  return E.right({
    ...base,
    ...overrides,
    sources: { ...base.sources, ...Object.fromEntries(keys.map((k) => [k, source])) },
  });
};

// ---------------------------------------------------------------- workload

export const WORKLOAD_MODES = ['colocated', 'prefill'] as const;
export type WorkloadMode = (typeof WORKLOAD_MODES)[number];

/** What is served: the mode, output tokens per request, concurrent sequences, the context (the plan's N). */
export interface Workload {
  readonly mode: WorkloadMode;
  readonly outputTokens: number;
  readonly batch: number;
}

/** One statement of the workload defaults: colocated serving, 256 output tokens, one sequence. */
export const DEFAULT_WORKLOAD: Workload = { mode: 'colocated', outputTokens: 256, batch: 1 };

/** A workload from options, each checked. Left: the option's JSON path (`$.workload.outputTokens`) and what it takes. */
export const resolveWorkload = (w: Partial<Workload> = {}, path = '$.workload'): E.Either<HplbError, Workload> => {
  const mode = w.mode ?? DEFAULT_WORKLOAD.mode;
  if (!(WORKLOAD_MODES as ReadonlyArray<string>).includes(mode)) return E.left(hplbError('argument', [issue(`${path}.mode`, `one of ${WORKLOAD_MODES.join('|')}`, mode)]));
  const outputTokens = w.outputTokens ?? DEFAULT_WORKLOAD.outputTokens;
  if (!(Number.isInteger(outputTokens) && outputTokens >= 0 && outputTokens <= 1e9)) return E.left(hplbError('argument', [issue(`${path}.outputTokens`, 'a whole number of output tokens ≥ 0', outputTokens)]));
  const batch = w.batch ?? DEFAULT_WORKLOAD.batch;
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 1e6)) return E.left(hplbError('argument', [issue(`${path}.batch`, 'a whole number of concurrent sequences ≥ 1', batch)]));
  return E.right({ mode, outputTokens, batch });
};

// ---------------------------------------------------------------- prefill cost model

/** Flops of a GEMM of `rows` × `k` by `k` × `n`: 2·rows·k·n. */
const gemmFlops = (rows: number, k: number, n: number) => 2 * rows * k * n;

/** Seconds of a GEMM that does `flops` and reads `bytes` of weights: the roofline's max of both. */
const gemmSeconds = (hw: HardwarePreset, flops: number, bytes: number) =>
  Math.max(flops / (hw.bf16Flops * hw.gemmEfficiency), bytes / (hw.hbmBytesPerSecond * hw.hbmEfficiency));

/** Seconds of one all-reduce of `bytes` over `g` GPUs (ring: 2(g−1)/g · bytes / bus bandwidth, plus latency; 0 for one GPU). */
export const allReduceSeconds = (hw: HardwarePreset, bytes: number, g: number): number =>
  g <= 1 ? 0 : hw.allReduceLatencySeconds + (2 * (g - 1) / g) * bytes / hw.allReduceBusBytesPerSecond;

/**
 * Attention alone on the hardware, in seconds: perTokenPair = 4·headDim flops / (peak · attentionEfficiency), fixed
 * per head. (For h100-sxm and headDim 128 this is the `cuda-h100` cost model: 1.29e-12 s, 5 µs.)
 */
export const attentionCostModel = (hw: HardwarePreset, headDim: number): CostModel => ({
  name: `attention@${hw.name}`,
  unit: 'seconds',
  workModel: 'pairs',
  fixed: hw.attentionFixedSeconds,
  perTokenPair: (4 * headDim) / (hw.bf16Flops * hw.attentionEfficiency),
  source: `serving model: ${hw.sources['attentionEfficiency'] ?? 'preset'}`,
});

/**
 * The prefill cost model the solvers see: attention (the given cost model when it is in seconds, else the hardware's)
 * plus the Q/O projections per query row and the K/V projections per context token of every KV head a device holds.
 * Its loads (core loads.ts) are each GPU's placement-dependent prefill time per layer; the MLP and all-reduces are the
 * same on every GPU and are added by `servingCost`.
 */
export const servingCostModel = (hw: HardwarePreset, m: ModelShape, dims: ModelDims, attention?: CostModel): CostModel => {
  const att = attention && attention.unit === 'seconds' ? attention : attentionCostModel(hw, m.headDim);
  const perRow = (2 * gemmFlops(1, dims.hiddenSize, m.headDim)) / (hw.bf16Flops * hw.gemmEfficiency);
  return {
    name: `serving@${hw.name}`,
    unit: 'seconds',
    workModel: att.workModel,
    fixed: att.fixed,
    perTokenPair: att.perTokenPair,
    perQueryRow: (att.perQueryRow ?? 0) + perRow,
    kvHeadProjectionPerToken: perRow,
    ...(att.kvCopySecondsPerByte !== undefined ? { kvCopySecondsPerByte: att.kvCopySecondsPerByte } : {}),
    source: `serving model on ${hw.label}: attention ${att.name} (${att.source ?? 'no source'}); Q/O/K/V projections 2·hidden·headDim flops per row at ${hw.gemmEfficiency} of ${hw.bf16Flops / 1e12} TFLOP/s`,
  };
};

/**
 * The colocated objective as one per-GPU cost, for whole-head planning: the prefill cost model plus T output tokens'
 * decode reads charged where they happen (each query head: its Q/O weights; each KV head a GPU holds: its K/V weights
 * and KV cache, spread over N context tokens so the per-token KV term carries it; with sparse decode, a head's KV
 * reads grow with its budget, charged per token pair). A GPU's load is then its prefill block + T × its decode reads,
 * a proxy of the objective Σ_l (max prefill + T · max decode) that the solvers can balance; the written plan is still
 * chosen by the true objective (`servingCost`).
 */
export const colocatedCostModel = (hw: HardwarePreset, m: ModelShape, dims: ModelDims, w: Workload, n: number, decodeSparse: boolean, attention?: CostModel): CostModel => {
  const base = servingCostModel(hw, m, dims, attention);
  const hbm = hw.hbmBytesPerSecond * hw.hbmEfficiency;
  const T = w.outputTokens;
  const headWeightSeconds = (2 * dims.hiddenSize * m.headDim * dims.weightBytesPerElement) / hbm;
  const kvTokenSeconds = (w.batch * 2 * m.headDim * 2) / hbm;
  // Per KV head held: its K/V weights, and with dense decode its whole cache (N + T/2 tokens), per context token.
  const perKvHead = T * (headWeightSeconds + (decodeSparse ? 0 : (n + T / 2) * kvTokenSeconds));
  return {
    ...base,
    name: `serving-colocated@${hw.name}`,
    fixed: base.fixed + T * headWeightSeconds,
    // Sparse decode reads about b tokens per head and step; W(b, N) ≈ N·b, so T·b·kv/N per token pair.
    perTokenPair: base.perTokenPair + (decodeSparse ? (T * kvTokenSeconds) / n : 0),
    kvHeadProjectionPerToken: (base.kvHeadProjectionPerToken ?? 0) + perKvHead / n,
    source: `${base.source}; plus ${T} output tokens' decode reads per GPU at ${hw.hbmBytesPerSecond / 1e12} TB/s × ${hw.hbmEfficiency} (the colocated objective's proxy)`,
  };
};

/** An attention cost model without its KV-copy terms: what `attentionMs` sums. */
export const attentionPart = (cm: CostModel): CostModel => {
  const { kvHeadProjectionPerToken: _k, kvProjectionPerToken: _p, kvCopySecondsPerByte: _c, ...rest } = cm;
  return rest;
};

// ---------------------------------------------------------------- the cost of a placement

/** What `servingCost` prices: a placement (plan-shaped) on a hardware preset under a workload. */
export interface ServingInput {
  readonly model: ModelShape;
  readonly dims: ModelDims;
  readonly hardware: HardwarePreset;
  readonly workload: Workload;
  readonly contextLength: number;
  readonly budgets: ReadonlyArray<ReadonlyArray<number>>;
  readonly placement: ReadonlyArray<ReadonlyArray<number>>;
  readonly splits?: ReadonlyArray<SplitLike>;
  /** Relative speeds, one per GPU (the device count). */
  readonly speeds: ReadonlyArray<number>;
  /** Memory per GPU in bytes (null: the preset's). */
  readonly memoryBytes?: ReadonlyArray<number | null>;
  /** The plan's cost model: used for attention when it is in seconds. */
  readonly costModel?: CostModel;
  /** Decode reads each head's budget (DuoAttention, MoA) rather than the whole context (MInference, XAttention). */
  readonly decodeSparse?: boolean;
  /** Bytes per KV element (default 2). */
  readonly kvBytesPerElement?: number;
}

/** The `serving` block of plan.json: exactly these keys (the plan schema states them). */
export interface ServingSummary {
  readonly hardware: string;
  readonly workload: { readonly mode: WorkloadMode; readonly outputTokens: number; readonly batch: number; readonly context: number };
  readonly prefillMs: number;
  readonly decodeMsPerToken: number;
  readonly requestMs: number;
  readonly attentionMs: number;
  readonly kvBytesPerDevice: ReadonlyArray<number>;
  readonly fits: boolean;
}

/** Everything `servingCost` computes: the summary plus per-layer and per-GPU detail. */
export interface ServingCost extends ServingSummary {
  /** Per layer: the slowest GPU's attention block (attention + projections), seconds. */
  readonly prefillBlockSeconds: ReadonlyArray<number>;
  /** Per layer and GPU: the attention block, seconds. */
  readonly prefillBlockLoads: ReadonlyArray<ReadonlyArray<number>>;
  /** Per layer and GPU: attention alone, seconds. */
  readonly attentionLoads: ReadonlyArray<ReadonlyArray<number>>;
  /** Per layer: the same for every GPU (MLP shard + 2 all-reduces), seconds. */
  readonly prefillCommonSeconds: number;
  /** Per layer: the slowest GPU's decode read time, seconds. */
  readonly decodeLayerSeconds: ReadonlyArray<number>;
  /** Per layer and GPU: decode bytes read (weights + KV). */
  readonly decodeBytes: ReadonlyArray<ReadonlyArray<number>>;
  /** Per GPU: weight bytes resident. */
  readonly weightBytesPerDevice: ReadonlyArray<number>;
  /** Per GPU: memory capacity priced against. */
  readonly memoryBytesPerDevice: ReadonlyArray<number>;
}

/** MLP flops per token (gate, up, down: 6·hidden·intermediate; MoE: top-k experts, the shared expert and the router). */
const mlpFlopsPerToken = (d: ModelDims): number =>
  d.moe
    ? d.moe.topK * 6 * d.hiddenSize * d.intermediateSize + 6 * d.hiddenSize * (d.moe.sharedExpertIntermediateSize ?? 0) + 2 * d.hiddenSize * d.moe.experts
    : 6 * d.hiddenSize * d.intermediateSize;

/** MLP weight elements of one layer (all experts). */
const mlpWeights = (d: ModelDims): number =>
  d.moe ? 3 * d.hiddenSize * (d.intermediateSize * d.moe.experts + (d.moe.sharedExpertIntermediateSize ?? 0)) + d.hiddenSize * d.moe.experts : 3 * d.hiddenSize * d.intermediateSize;

/** MLP weight elements one decode step reads for `batch` tokens (MoE: the experts they route to, at most all). */
const mlpDecodeWeights = (d: ModelDims, batch: number): number =>
  d.moe
    ? 3 * d.hiddenSize * (d.intermediateSize * Math.min(d.moe.experts, d.moe.topK * batch) + (d.moe.sharedExpertIntermediateSize ?? 0)) + d.hiddenSize * d.moe.experts
    : 3 * d.hiddenSize * d.intermediateSize;

/** Device that decodes query head h: its own, or the part holding row N of a split head. */
const decoderOf = (placementRow: ReadonlyArray<number>, split: SplitLike | undefined, h: number, n: number): number => {
  if (!split) return placementRow[h] ?? -1;
  const last = split.parts.find((p) => p.rowEnd >= n) ?? split.parts[split.parts.length - 1];
  return last?.device ?? placementRow[h] ?? -1;
};

/** Price a placement: see the module comment. Total for consistent input (a plan `validatePlan` accepts). */
export const servingCost = (x: ServingInput): ServingCost => {
  const { model: m, dims, hardware: hw, workload: w, contextLength: n } = x;
  const G = x.speeds.length;
  const kvb = x.kvBytesPerElement ?? 2;
  const wb = dims.weightBytesPerElement;
  const H = dims.hiddenSize;
  const dh = m.headDim;
  const cm = servingCostModel(hw, m, dims, x.costModel);
  const att = x.costModel && x.costModel.unit === 'seconds' ? attentionPart(x.costModel) : attentionCostModel(hw, m.headDim);
  const splits = x.splits ?? [];
  const byLayer = new Map<number, SplitLike[]>();
  for (const s of splits) byLayer.set(s.layer, [...(byLayer.get(s.layer) ?? []), s]);

  // Placement-independent prefill per layer: the MLP shard and two all-reduces of N·hidden bf16 activations.
  const mlpSeconds = gemmSeconds(hw, (mlpFlopsPerToken(dims) * n) / G, (mlpWeights(dims) * wb) / G);
  const prefillCommonSeconds = mlpSeconds + 2 * allReduceSeconds(hw, n * H * 2, G);
  // Decode per layer, the same on every GPU: the MLP shard's weights and two all-reduces of batch·hidden activations.
  const hbm = hw.hbmBytesPerSecond * hw.hbmEfficiency;
  const decodeCommonSeconds = (mlpDecodeWeights(dims, w.batch) * wb) / G / hbm + 2 * allReduceSeconds(hw, w.batch * H * 2, G);
  const headWeight = 2 * H * dh * wb; // Q and O rows of one query head, or K and V rows of one KV head
  const kvPerToken = 2 * dh * kvb; // K and V of one KV head, one token
  const colocated = w.mode === 'colocated';
  const decodeLength = n + w.outputTokens / 2;
  const residentLength = colocated ? n + w.outputTokens : n;

  const prefillBlockLoads: number[][] = [];
  const prefillBlockSeconds: number[] = [];
  const attentionSeconds: number[] = [];
  const attentionLoads: number[][] = [];
  const decodeBytes: number[][] = [];
  const decodeLayerSeconds: number[] = [];
  const kvBytes = Array<number>(G).fill(0);
  const weightBytes = Array<number>(G).fill((mlpWeights(dims) * wb * m.layers) / G + ((dims.tieWordEmbeddings ? 1 : 2) * dims.vocabSize * H * wb) / G);
  const s = m.queryHeads / m.kvHeads;
  for (let l = 0; l < m.layers; l++) {
    const placementRow = x.placement[l] ?? [];
    const budgets = x.budgets[l] ?? [];
    const ls = byLayer.get(l) ?? [];
    const loads = deviceLoadsOfLayer({ model: m, contextLength: n, budgets, speeds: x.speeds, placement: placementRow, splits: ls, costModel: cm, kvBytesPerElement: kvb });
    prefillBlockLoads.push(loads);
    prefillBlockSeconds.push(Math.max(0, ...loads));
    const attLoads = deviceLoadsOfLayer({ model: m, contextLength: n, budgets, speeds: x.speeds, placement: placementRow, splits: ls, costModel: att, extraKvCopies: [] });
    attentionSeconds.push(Math.max(0, ...attLoads));
    attentionLoads.push(attLoads);

    // Decode: who decodes each head; each GPU reads its heads' Q/O rows, its KV heads' K/V rows and their KV.
    const split = new Map<number, SplitLike>();
    for (const sp of ls) split.set(sp.head, sp);
    const bytes = Array<number>(G).fill(0);
    const decodedGroups: Array<Map<number, number>> = Array.from({ length: G }, () => new Map());
    for (let h = 0; h < m.queryHeads; h++) {
      const d = decoderOf(placementRow, split.get(h), h, n);
      if (d < 0 || d >= G) continue;
      bytes[d]! += headWeight;
      const g = kvHeadOf(m, h);
      const len = x.decodeSparse ? Math.min(budgets[h] ?? n, decodeLength) : decodeLength;
      decodedGroups[d]!.set(g, Math.max(decodedGroups[d]!.get(g) ?? 0, len));
    }
    for (let d = 0; d < G; d++) for (const len of decodedGroups[d]!.values()) bytes[d]! += headWeight + w.batch * len * kvPerToken;
    decodeBytes.push(bytes);
    decodeLayerSeconds.push(Math.max(0, ...bytes.map((b, d) => b / (hbm * (x.speeds[d] ?? 1)))));

    // Memory: weights of every head or part a GPU computes and every KV head it holds; KV of every KV head it holds.
    const hosts = kvHostsOfLayer(m, placementRow, ls);
    for (let h = 0; h < m.queryHeads; h++) {
      const sp = split.get(h);
      const devs = sp ? [...new Set(sp.parts.map((p) => p.device))] : [placementRow[h] ?? -1];
      for (const d of devs) if (d >= 0 && d < G) weightBytes[d]! += headWeight;
    }
    hosts.forEach((hs, g) => {
      for (const d of hs) {
        if (d < 0 || d >= G) continue;
        weightBytes[d]! += headWeight;
        let len: number;
        if (decodedGroups[d]!.has(g)) len = x.decodeSparse && colocated ? Math.min(residentLength, decodedGroups[d]!.get(g)! + w.outputTokens) : residentLength;
        else {
          // A copy only prefill needs: the rows its parts read (up to their last row).
          len = 0;
          for (let q = g * s; q < (g + 1) * s; q++) {
            const sp = split.get(q);
            if (sp) for (const p of sp.parts) if (p.device === d) len = Math.max(len, p.rowEnd);
            if (!sp && placementRow[q] === d) len = n;
          }
        }
        kvBytes[d]! += w.batch * len * kvPerToken;
      }
    });
  }
  const lmHeadSeconds = (dims.vocabSize * H * wb) / G / hbm;
  const prefill = prefillBlockSeconds.reduce((a, b) => a + b, 0) + m.layers * prefillCommonSeconds;
  const decode = decodeLayerSeconds.reduce((a, b) => a + b, 0) + m.layers * decodeCommonSeconds + lmHeadSeconds;
  const memory = Array.from({ length: G }, (_, d) => x.memoryBytes?.[d] ?? hw.memoryBytes);
  const fits = kvBytes.every((k, d) => k + weightBytes[d]! <= memory[d]!);
  const prefillMs = prefill * 1e3;
  const decodeMs = decode * 1e3;
  const requestMs = colocated ? prefillMs + w.outputTokens * decodeMs : prefillMs;
  return {
    hardware: hw.name,
    workload: { mode: w.mode, outputTokens: w.outputTokens, batch: w.batch, context: n },
    prefillMs,
    decodeMsPerToken: decodeMs,
    requestMs,
    attentionMs: attentionSeconds.reduce((a, b) => a + b, 0) * 1e3,
    kvBytesPerDevice: kvBytes,
    fits,
    prefillBlockSeconds,
    prefillBlockLoads,
    attentionLoads,
    prefillCommonSeconds,
    decodeLayerSeconds,
    decodeBytes,
    weightBytesPerDevice: weightBytes,
    memoryBytesPerDevice: memory,
  };
};

/**
 * The prefill ceiling of a placement (in practice: contiguous's): its prefill with attention perfectly balanced in
 * every layer (each GPU's attention the layer's mean) and everything else as it is. Milliseconds.
 */
export const prefillCeilingMs = (c: ServingCost): number => {
  let s = 0;
  c.prefillBlockLoads.forEach((row, l) => {
    const att = c.attentionLoads[l] ?? [];
    const mean = att.reduce((a, b) => a + b, 0) / Math.max(1, att.length);
    s += Math.max(0, ...row.map((v, d) => v - (att[d] ?? 0))) + mean + c.prefillCommonSeconds;
  });
  return s * 1e3;
};

/** The plan.json block: the summary keys only. */
export const servingSummary = (c: ServingCost): ServingSummary => ({
  hardware: c.hardware,
  workload: c.workload,
  prefillMs: c.prefillMs,
  decodeMsPerToken: c.decodeMsPerToken,
  requestMs: c.requestMs,
  attentionMs: c.attentionMs,
  kvBytesPerDevice: c.kvBytesPerDevice,
  fits: c.fits,
});

/**
 * Order two priced plans by the workload's objective: a plan that fits beats one that does not; then the lower
 * objective (request latency, or prefill latency in prefill mode); ties (within 1e-9 relative) go to the lower KV on
 * the busiest GPU. Negative: `a` is better.
 */
export const compareServing = (a: ServingSummary, b: ServingSummary): number => {
  if (a.fits !== b.fits) return a.fits ? -1 : 1;
  const diff = a.requestMs - b.requestMs;
  if (Math.abs(diff) > 1e-9 * Math.max(Math.abs(a.requestMs), Math.abs(b.requestMs))) return diff;
  return Math.max(0, ...a.kvBytesPerDevice) - Math.max(0, ...b.kvBytesPerDevice);
};

// ---------------------------------------------------------------- the plan block's codec

export const ServingSummaryC = t.type({
  hardware: t.string,
  workload: t.type({
    mode: t.union([t.literal('colocated'), t.literal('prefill')]),
    outputTokens: NonNegative,
    batch: Positive,
    context: Positive,
  }),
  prefillMs: NonNegative,
  decodeMsPerToken: NonNegative,
  requestMs: NonNegative,
  attentionMs: NonNegative,
  kvBytesPerDevice: t.array(NonNegative),
  fits: t.boolean,
}, 'Serving');
