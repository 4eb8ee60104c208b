/**
 * The serving step's placement-dependent work, measured (issue 20, item 7): what the executor's `prefill` and
 * `decode` phases run on a backend at a scaled size, what `calibrate` with `serving` times to fit their
 * coefficients, and the prediction both are compared with (core `servingCost`, priced with those coefficients).
 * Used by `executor.ts`, `deviceRunner.ts` and `calibration.ts`.
 *
 * Scaled size. A plan is made for N tokens of a model of hidden size H; the run uses N' tokens (the executor's
 * scaling rule: budgets b·N'/N in whole blocks, split rows r·N'/N) and the hidden size H' = round(H · N'/N), at
 * least 1 (`scaledHiddenSize`; the executor's `hiddenSize` option replaces it). Attention work scales as N'²
 * (budgets scale with N), projection work as N'·H', so H' keeps the two in the proportion they have at N:
 * Llama-3.1-8B (H = 4096) planned at N = 131072 and run at N' = 1024 gets H' = 32.
 *
 * Prefill, per layer and device (core serving.ts, "prefill"): its attention tasks (the executor's, unchanged), plus
 *   - per query head or split part it computes, the Q/O projection of its rows: one product of those rows of the
 *     layer's hidden states [rows × H'] by the head's Q|O weights [H' × 2d]. Core prices 2 GEMMs of hidden × headDim
 *     per row; the O projection (d × H' per row) has the Q projection's flops, so both run as one product of that
 *     flop count;
 *   - per KV head it holds (its home KV heads and every extra copy, as core loads.ts charges them), the K/V
 *     projection: one product [N' × H'] by [H' × 2d].
 * Decode, per layer and device, one step, one task (core serving.ts, "decode"; a run times `decodeSteps` steps,
 * default `DEFAULT_DECODE_STEPS`, and reports their time per step):
 *   - per query head it decodes (a split head decodes on the part holding its last row): a GEMV reading the head's
 *     Q|O weights, [1 × H'] by [H' × 2d];
 *   - per KV head it decodes: a GEMV reading its K|V weights, and one query row over its resident KV (the dense
 *     causal layout, row N' − 1: N' keys; with sparse decode the head's budget layout and the row of its last query
 *     block that reads its scaled budget, `decodeRow`). The other query heads of a group share that read: core
 *     prices decode by bytes (a GPU's decode step is bandwidth-bound, and a GQA kernel reads a group's KV once for
 *     all its heads), so the run reads every byte core counts once. What a CPU would spend computing the other rows
 *     of a group, which a GPU does not pay, is not timed.
 *
 * Coefficients (`ServingCoefficients`, fitted by `runServingCalibration` on the same backend and clock):
 *   projection seconds = fixedSeconds + secondsPerRow · rows + secondsPerFlop · 2·rows·inner·cols, per product;
 *   decode seconds     = fixedSeconds · reads + kvReadSeconds · KV reads + secondsPerByte · KV bytes
 *                        + secondsPerWeightByte · weight bytes, per step (reads: GEMVs and KV reads).
 * On a GPU the per-row and per-KV-read terms are nil and both byte rates are HBM's. On a CPU (the CPU backend,
 * N' = 1024, d = 128) a product's 4×4 output tiles cost something per row whatever the hidden size (at H' = 32, 16%
 * more per flop than at 128), an attention call for one row costs about 24 µs before its first key (its set-up and
 * checks) against a few µs for a GEMV, and a GEMV streams its weights about 3x faster per byte than an attention row
 * reads K and V; the fit keeps them apart. Absent, the extra terms are 0 and the weight rate is secondsPerByte.
 * Prediction (`servingPredictions`): core `servingCost` of the scaled plan on a hardware whose GEMM rate is one row's
 * flops (4·H'·d) per (secondsPerFlop · 4·H'·d + secondsPerRow), i.e. the fitted cost of a row at H', and whose HBM
 * rate is 1/secondsPerByte (efficiencies 1), with hidden size H', fp32 weights and KV, the calibrated attention cost
 * model and no output tokens. Per device: `prefillBlockLoads` (attention, Q/O per row, K/V per KV head held) plus
 * the projection's fixed term per product; `decodeBytes` · secondsPerByte / speed, with the weight bytes at
 * secondsPerWeightByte instead, plus the decode's fixed terms per read and per KV read.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  DEFAULT_HARDWARE, hplbError, issue, kvHeadOf, kvHostsOfLayer, resolveHardware, servingCost,
  type CostModel, type HplbError, type ModelDims, type Plan, type Split,
} from '@hplb/core';
import { budgetLayout, fullLayout, layoutTokenPairs, mixSeed, rng } from '@hplb/core/kernel';
import type { AttentionBackend, AttentionParams, BlockLayout, MatmulShape } from '@hplb/core/kernel';
import { headInputs } from './inputs.ts';
import type { Reading } from './timing.ts';

// ---------------------------------------------------------------- model

/** What the serving phases' prediction needs from calibration (seconds; see the module doc). */
export interface ServingCoefficients {
  /** A dense product (`matmul`): seconds per call, per flop (2 per multiply-add) and per row of the product (absent: 0). */
  readonly projection: { readonly fixedSeconds: number; readonly secondsPerFlop: number; readonly secondsPerRow?: number };
  /**
   * A decode step: seconds per read (a weight GEMV or a KV read), more per KV read (absent: 0), per KV byte read and
   * per weight byte read (absent: per KV byte).
   */
  readonly decode: { readonly fixedSeconds: number; readonly secondsPerByte: number; readonly kvReadSeconds?: number; readonly secondsPerWeightByte?: number };
}

/** A Q/O (query head, its rows [start, end)) or K/V (KV head `head`, all N' rows) projection. */
export interface ProjectionTask {
  readonly kind: 'projection';
  readonly what: 'qo' | 'kv';
  readonly head: number;
  readonly start: number;
  readonly end: number;
}

/** One KV head a device decodes: its K|V weights and one row of `head`'s queries over its KV (`layout`'s budget). */
export interface DecodeGroup {
  readonly kvHead: number;
  /** The query head whose row is read (the group's decoded head with the largest budget). */
  readonly head: number;
  /** Keys read: the scaled budget (sparse decode), or null for the whole context (dense decode). */
  readonly budget: number | null;
}

/** One device's decode step in one layer: the query heads it decodes and their KV heads. */
export interface DecodeTask {
  readonly kind: 'decode';
  readonly heads: ReadonlyArray<number>;
  readonly groups: ReadonlyArray<DecodeGroup>;
}

/** Bytes per element the scaled run reads (fp32 weights and KV). */
export const RUN_BYTES_PER_ELEMENT = 4;

// ---------------------------------------------------------------- the scaled size

/** H' = round(H · N'/N), at least 1 (module doc). */
export const scaledHiddenSize = (hidden: number, planContext: number, runContext: number): number =>
  Math.max(1, Math.round((hidden * runContext) / planContext));

/** FLOPs of one product: 2·rows·inner·cols. */
export const matmulFlops = (s: MatmulShape): number => 2 * s.rows * s.inner * s.cols;

/** Reads (GEMVs and KV reads) of a decode step: one GEMV per head, a GEMV and a KV read per group. */
export const decodeReads = (t: Pick<DecodeTask, 'heads' | 'groups'>): number => t.heads.length + 2 * t.groups.length;

/** Weight bytes a decode step reads: Q|O of each head and K|V of each group, [H' × 2d] fp32 each. */
export const decodeWeightBytes = (t: Pick<DecodeTask, 'heads' | 'groups'>, hidden: number, headDim: number): number =>
  (t.heads.length + t.groups.length) * 2 * hidden * headDim * RUN_BYTES_PER_ELEMENT;

// ---------------------------------------------------------------- the work of a layer

/** The device that decodes query head h: its own, or the part of a split head holding row n (core serving.ts). */
const decoderOf = (placementRow: ReadonlyArray<number>, split: Split | undefined, h: number, n: number): number => {
  if (!split) return placementRow[h] ?? -1;
  const last = split.parts.find((p) => p.rowEnd >= n) ?? split.parts[split.parts.length - 1];
  return last?.device ?? placementRow[h] ?? -1;
};

/**
 * Per device, the projection tasks of one layer of a (scaled) plan: a Q/O product per head or split part (its rows),
 * then a K/V product per KV head held, home first (`placement[g·groupSize]`, core loads.ts), then every extra copy.
 */
export const projectionTasks = (plan: Plan, layer: number): ProjectionTask[][] => {
  const m = plan.model;
  const n = plan.contextLength;
  const G = plan.devices.length;
  const out: ProjectionTask[][] = Array.from({ length: G }, () => []);
  const placement = plan.placement[layer]!.map(Number);
  const splits = (plan.splits ?? []).filter((s) => s.layer === layer);
  const split = new Map<number, Split>(splits.map((s) => [s.head, s] as const));
  for (let h = 0; h < m.queryHeads; h++) {
    const s = split.get(h);
    if (s) { for (const p of s.parts) if (p.device >= 0 && p.device < G) out[p.device]!.push({ kind: 'projection', what: 'qo', head: h, start: p.rowStart, end: p.rowEnd }); }
    else { const d = placement[h] ?? -1; if (d >= 0 && d < G) out[d]!.push({ kind: 'projection', what: 'qo', head: h, start: 0, end: n }); }
  }
  const groupSize = m.queryHeads / m.kvHeads;
  const hosts = kvHostsOfLayer(m, placement, splits);
  for (let g = 0; g < m.kvHeads; g++) {
    const home = placement[g * groupSize] ?? -1;
    if (home >= 0 && home < G) out[home]!.push({ kind: 'projection', what: 'kv', head: g, start: 0, end: n });
    for (const d of hosts[g] ?? []) if (d !== home && d >= 0 && d < G) out[d]!.push({ kind: 'projection', what: 'kv', head: g, start: 0, end: n });
  }
  return out;
};

/** Per device, its decode step in one layer of a (scaled) plan (undefined: it decodes nothing). */
export const decodeTasks = (plan: Plan, layer: number, decodeSparse: boolean): Array<DecodeTask | undefined> => {
  const m = plan.model;
  const n = plan.contextLength;
  const G = plan.devices.length;
  const placement = plan.placement[layer]!.map(Number);
  const budgets = plan.budgets[layer]!.map(Number);
  const split = new Map<number, Split>((plan.splits ?? []).filter((s) => s.layer === layer).map((s) => [s.head, s] as const));
  const heads: number[][] = Array.from({ length: G }, () => []);
  const groups: Array<Map<number, DecodeGroup>> = Array.from({ length: G }, () => new Map());
  for (let h = 0; h < m.queryHeads; h++) {
    const d = decoderOf(placement, split.get(h), h, n);
    if (d < 0 || d >= G) continue;
    heads[d]!.push(h);
    const g = kvHeadOf(m, h);
    const budget = decodeSparse ? Math.min(budgets[h] ?? n, n) : null;
    const had = groups[d]!.get(g);
    if (had === undefined || (budget !== null && had.budget !== null && budget > had.budget)) groups[d]!.set(g, { kvHead: g, head: h, budget });
  }
  return heads.map((hs, d) => (hs.length === 0 ? undefined : { kind: 'decode', heads: hs, groups: [...groups[d]!.values()].sort((a, b) => a.kvHead - b.kvHead) }));
};

// ---------------------------------------------------------------- the prediction

/** Per sampled layer and device: predicted prefill (attention + projections) and decode seconds. */
export interface ServingPrediction {
  readonly prefill: ReadonlyArray<ReadonlyArray<number>>;
  readonly decode: ReadonlyArray<ReadonlyArray<number>>;
  /** One line: what predicts (for `ExecutionResult.phases.*.costModel`). */
  readonly source: string;
}

/**
 * The prediction of the serving phases for every layer of a scaled plan (module doc): core `servingCost` on the
 * calibrated rates, plus the fixed terms per product and per decode read. Left: coefficients that price nothing (a
 * rate of 0), at `options.serving`.
 */
export const servingPredictions = (
  plan: Plan, coefficients: ServingCoefficients, hiddenSize: number, attention: CostModel, decodeSparse: boolean,
): E.Either<HplbError, ServingPrediction> => {
  const { projection: pr, decode: de } = coefficients;
  const perRow = pr.secondsPerRow ?? 0;
  const perWeightByte = de.secondsPerWeightByte ?? de.secondsPerByte;
  const perKvRead = de.kvReadSeconds ?? 0;
  if (!(pr.secondsPerFlop > 0) || !(de.secondsPerByte > 0) || !(pr.fixedSeconds >= 0) || !(de.fixedSeconds >= 0) || !(perRow >= 0) || !(perWeightByte >= 0) || !(perKvRead >= 0))
    return E.left(hplbError('argument', [issue('options.serving', 'serving coefficients with positive seconds per flop and per byte and other terms ≥ 0 (a serving calibration)', coefficients)]));
  // One row of a projection: 4·H'·d flops; its fitted cost, secondsPerFlop · flops + secondsPerRow, as a flop rate.
  const rowFlops = 4 * hiddenSize * plan.model.headDim;
  const hw = resolveHardware(DEFAULT_HARDWARE, { bf16Flops: rowFlops / (pr.secondsPerFlop * rowFlops + perRow), gemmEfficiency: 1, hbmBytesPerSecond: 1 / de.secondsPerByte, hbmEfficiency: 1 }, 'calibration');
  if (E.isLeft(hw)) return hw;
  const dims: ModelDims = {
    hiddenSize, intermediateSize: hiddenSize, vocabSize: 1, tieWordEmbeddings: true, weightDtype: 'float32', weightBytesPerElement: RUN_BYTES_PER_ELEMENT,
    source: `scaled run: hidden size ${hiddenSize}`,
  };
  const cost = servingCost({
    model: plan.model, dims, hardware: hw.right, workload: { mode: 'prefill', outputTokens: 0, batch: 1 }, contextLength: plan.contextLength,
    budgets: plan.budgets, placement: plan.placement, splits: plan.splits ?? [], speeds: plan.devices.map((d) => d.speed),
    costModel: attention, decodeSparse, kvBytesPerElement: RUN_BYTES_PER_ELEMENT,
  });
  const speeds = plan.devices.map((d) => d.speed);
  const prefill = cost.prefillBlockLoads.map((row, l) => {
    const tasks = projectionTasks(plan, l);
    return row.map((s, d) => s + pr.fixedSeconds * tasks[d]!.length);
  });
  const decode = cost.decodeBytes.map((row, l) => {
    const tasks = decodeTasks(plan, l, decodeSparse);
    return row.map((bytes, d) => {
      const t = tasks[d];
      if (t === undefined) return 0;
      const w = decodeWeightBytes(t, hiddenSize, plan.model.headDim);
      return de.fixedSeconds * decodeReads(t) + perKvRead * t.groups.length + (de.secondsPerByte * bytes + (perWeightByte - de.secondsPerByte) * w) / speeds[d]!;
    });
  });
  const g = (x: number) => x.toPrecision(3);
  return E.right({
    prefill, decode,
    source: `core servingCost at hidden size ${hiddenSize}, fp32: attention ${attention.source ?? attention.name}; projections ${g(pr.fixedSeconds * 1e6)} µs + ${g(perRow * 1e9)} ns/row + ${g(pr.secondsPerFlop * 1e12)} ps/flop; decode ${g(de.fixedSeconds * 1e6)} µs/read + ${g(perKvRead * 1e6)} µs/KV read + ${g(de.secondsPerByte * 1e12)} ps/KV byte + ${g(perWeightByte * 1e12)} ps/weight byte`,
  });
};

// ---------------------------------------------------------------- running the work

const uniform = (n: number, seed: number): Float32Array => {
  const u = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * u() - 1;
  return x;
};

/** The layer's hidden states [N' × H'] (uniform in [−1, 1), seeded by layer). */
export const hiddenStates = (seed: number, layer: number, tokens: number, hidden: number): Float32Array => uniform(tokens * hidden, mixSeed(seed, layer, -4, 0));

/** A head's projection weights [H' × 2d]: Q|O of query head `head` ('qo') or K|V of KV head `head` ('kv'). */
export const projectionWeights = (seed: number, layer: number, what: 'qo' | 'kv', head: number, hidden: number, headDim: number): Float32Array =>
  uniform(hidden * 2 * headDim, mixSeed(seed, layer, head, what === 'qo' ? 3 : 4));

/**
 * The query row a decode read uses: N' − 1 (every key) for dense decode; with a budget, the row of the last query
 * block whose keys under `layout` come closest to it (the budget layout's late rows read whole blocks; the
 * executor's scaled budgets are (k − ½)·B keys, which a row halfway through its diagonal block reads exactly).
 */
export const decodeRow = (p: AttentionParams, layout: BlockLayout, budget: number | null): number => {
  const last = p.tokens - 1;
  if (budget === null) return last;
  let best = last, bestGap = Infinity;
  for (let r = last; r >= Math.max(0, (p.blocks - 1) * p.blockSize); r--) {
    const gap = Math.abs(layoutTokenPairs(layout, p, r, r + 1) - budget);
    if (gap < bestGap) { best = r; bestGap = gap; }
  }
  return best;
};

/** Keys one decode read touches (what its KV bytes count). */
export const decodeKeys = (p: AttentionParams, layout: BlockLayout, row: number): number => layoutTokenPairs(layout, p, row, row + 1);

/** A projection's inputs, prepared untimed. */
export interface PreparedProjection { readonly a: Float32Array; readonly b: Float32Array; readonly shape: MatmulShape }

/** A decode step's inputs, prepared untimed. */
export interface PreparedDecode {
  readonly x: Float32Array;
  readonly weights: ReadonlyArray<Float32Array>;
  readonly reads: ReadonlyArray<{ q: Float32Array; k: Float32Array; v: Float32Array; layout: BlockLayout; row: number }>;
  readonly shape: MatmulShape;
}

/** Inputs of a projection task (the layer's hidden states are shared: pass them in). */
export const prepareProjection = (t: ProjectionTask, states: Float32Array, seed: number, layer: number, hidden: number, headDim: number): PreparedProjection => ({
  a: states.subarray(t.start * hidden, t.end * hidden),
  b: projectionWeights(seed, layer, t.what, t.head, hidden, headDim),
  shape: { rows: t.end - t.start, inner: hidden, cols: 2 * headDim },
});

/** Inputs of a decode task: the last hidden state, every weight it reads, and each group's query row, K, V and layout. */
export const prepareDecode = (
  t: DecodeTask, states: Float32Array, seed: number, layer: number, p: AttentionParams, hidden: number,
  layoutOf: (budget: number) => E.Either<HplbError, BlockLayout>,
): E.Either<HplbError, PreparedDecode> => {
  const weights = [
    ...t.heads.map((h) => projectionWeights(seed, layer, 'qo', h, hidden, p.headDim)),
    ...t.groups.map((g) => projectionWeights(seed, layer, 'kv', g.kvHead, hidden, p.headDim)),
  ];
  const reads: PreparedDecode['reads'][number][] = [];
  for (const g of t.groups) {
    const layout = g.budget === null ? E.right(fullLayout(p)) : layoutOf(g.budget);
    if (E.isLeft(layout)) return layout;
    const x = headInputs(seed, layer, g.head, g.kvHead, p.tokens, p.headDim);
    reads.push({ ...x, layout: layout.right, row: decodeRow(p, layout.right, g.budget) });
  }
  return E.right({ x: states.subarray((p.tokens - 1) * hidden, p.tokens * hidden), weights, reads, shape: { rows: 1, inner: hidden, cols: 2 * p.headDim } });
};

/** The backend's dense product, or a Left naming the backend that lacks it. */
export const matmulOf = (backend: AttentionBackend): E.Either<HplbError, NonNullable<AttentionBackend['matmul']>> =>
  backend.matmul === undefined
    ? E.left(hplbError('argument', [issue('$.backend', 'a backend with the dense product (matmul) the serving phases run', backend.name)]))
    : E.right(backend.matmul.bind(backend));

/** Run one prepared projection. */
export const runProjection = async (backend: AttentionBackend, x: PreparedProjection): Promise<E.Either<HplbError, void>> => {
  const mm = matmulOf(backend);
  if (E.isLeft(mm)) return mm;
  return E.map(() => undefined)(await mm.right(x.a, x.b, x.shape));
};

/**
 * Run one prepared decode step `steps` times over (every weight GEMV, then one query row over each group's KV): what
 * one timed run of a decode task is (`perStep` then reports it per step).
 */
export const runDecode = async (backend: AttentionBackend, p: AttentionParams, x: PreparedDecode, steps = 1): Promise<E.Either<HplbError, void>> => {
  const mm = matmulOf(backend);
  if (E.isLeft(mm)) return mm;
  for (let s = 0; s < steps; s++) {
    for (const w of x.weights) {
      const r = await mm.right(x.x, w, x.shape);
      if (E.isLeft(r)) return r;
    }
    for (const r of x.reads) {
      const o = await backend.sparseAttention(r.q, r.k, r.v, r.layout, p, { start: r.row, end: r.row + 1 });
      if (E.isLeft(o)) return o;
    }
  }
  return E.right(undefined);
};

/**
 * Decode steps timed together in one run, reported per step (the executor's and calibration's default). One step
 * at N' = 1024 takes about 1 ms on the CPU backend, less than the jitter of a shared machine (the same step on
 * eight devices measured 0.80-1.26 ms in one layer); eight take about as long as the protocol's reference kernel.
 */
export const DEFAULT_DECODE_STEPS = 8;

/** A reading of `steps` repetitions, per repetition (the wall / CPU ratio is unchanged). */
export const perStep = (r: Reading, steps: number): Reading => ({
  seconds: r.seconds / steps,
  ...(r.wallSeconds !== undefined ? { wallSeconds: r.wallSeconds / steps } : {}),
  ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds / steps } : {}),
});
