/**
 * The cost model: how long one head (or one split part of a head) takes on one device.
 *
 *   time(head, device) = fixed + (perQueryRow · rows + perTokenPair · work) / speed(device)
 *
 * where `work` is the causal-prefill token-pair count W(b, N) (workModel "pairs", the default and what the kernels
 * actually compute) or N·b (workModel "budget": the S-HPLB paper's "time ∝ budget" setting, kept as a named option),
 * and `rows` the query rows the head (N) or split part (rowEnd − rowStart) computes. `perQueryRow` (optional,
 * default 0) prices what every query row costs whatever its budget: the softmax normalisation and output write of
 * the row, and its share of the partly masked blocks a block-sparse kernel computes. Without it a fit over whole
 * heads folds N rows' worth of it into `fixed`, and a split part of a few rows is priced like a whole head
 * (measured on the CPU backend at N = 1024: a 32-row part 0.38 ms, priced 1.75 ms by fixed + pairs alone).
 * Optional terms price what split heads and KV replication cost:
 *   - `kvCopySecondsPerByte`: per-layer communication for each extra copy of a KV head (bytes / link bandwidth);
 *   - `kvProjectionPerToken`: recomputing K/V projections for an extra copy, per context token.
 * Both are charged to the device that receives the extra copy.
 *
 * Defaults (`WORK_COST_MODEL`) are unit-free token pairs so anyone can recompute plan loads by hand. A calibration
 * file measured by `hplb calibrate` replaces them with seconds for a given backend and device kind.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative } from './brand.ts';
import { decode, type HplbError } from './errors.ts';
import { headWork, prefixRowWork, rowRangeWork } from './work.ts';
import { HardwareOverridesC } from './serving.ts';

export const CostModelC = t.intersection([
  t.type({
    name: t.string,
    unit: t.union([t.literal('token-pairs'), t.literal('seconds')]),
    workModel: t.union([t.literal('pairs'), t.literal('budget')]),
    fixed: NonNegative,
    perTokenPair: NonNegative,
  }),
  t.partial({
    kvCopySecondsPerByte: NonNegative,
    kvProjectionPerToken: NonNegative,
    /** K/V projection per context token of every KV head a device holds, its home copy included (serving.ts). */
    kvHeadProjectionPerToken: NonNegative,
    /** Cost per query row computed (0 when absent): see the module doc. */
    perQueryRow: NonNegative,
    /** Where the numbers came from (e.g. `calibrate --backend cpu` on a machine, or "documented default"). */
    source: t.string,
  }),
], 'CostModel');

export interface CostModel {
  readonly name: string;
  readonly unit: 'token-pairs' | 'seconds';
  readonly workModel: 'pairs' | 'budget';
  readonly fixed: number;
  readonly perTokenPair: number;
  /** Cost per query row computed, whatever its budget (absent: 0). */
  readonly perQueryRow?: number;
  readonly kvCopySecondsPerByte?: number;
  readonly kvProjectionPerToken?: number;
  /**
   * K/V projection per context token of every KV head a device holds (absent: 0): charged once to each KV head's home
   * device (with its group's first query head, `kvHomeCost`) and once more to every device holding an extra copy
   * (inside `kvCopyCost`). The serving cost model (core serving.ts) sets it; attention-only models leave it out.
   */
  readonly kvHeadProjectionPerToken?: number;
  readonly source?: string;
}

/** Loads in token pairs: W(b, N) / speed. What `--cost work` selects. */
export const WORK_COST_MODEL: CostModel = { name: 'work', unit: 'token-pairs', workModel: 'pairs', fixed: 0, perTokenPair: 1, source: 'definition: W(b,N)/speed' };

/** The paper's setting: time ∝ budget (N·b), in token pairs. */
export const BUDGET_COST_MODEL: CostModel = { name: 'paper-budget', unit: 'token-pairs', workModel: 'budget', fixed: 0, perTokenPair: 1, source: 'S-HPLB: attention time proportional to budget' };

export const decodeCostModel = (u: unknown, file?: string): E.Either<HplbError, CostModel> => decode(CostModelC, u, file);

/** Work term of a whole head under the model's work model. */
export const modelWork = (cm: CostModel, b: number, n: number): number => (cm.workModel === 'pairs' ? headWork(b, n) : n * Math.min(b, n));

/**
 * Work term of a head's first x query rows under the model's work model: S(x) = Σ_{i≤x} min(i, b) token pairs, or x·b
 * under workModel "budget". A part's work term (`partCost`) is S(rowEnd) − S(rowStart); the split solver inverts it
 * to place cut rows.
 */
export const modelPrefixWork = (cm: CostModel, b: number, x: number): number => (cm.workModel === 'pairs' ? prefixRowWork(b, x) : x * b);

/**
 * Time of a head's first x query rows at unit speed without the fixed cost: perQueryRow·x + perTokenPair·S(x)
 * (S = `modelPrefixWork`). Monotone in x; a part [rowStart, rowEnd) costs fixed + (P(rowEnd) − P(rowStart)) / speed,
 * which the split solver inverts (bisection on P) to place cut rows.
 */
export const modelPrefixCost = (cm: CostModel, b: number, x: number): number => (cm.perQueryRow ?? 0) * x + cm.perTokenPair * modelPrefixWork(cm, b, x);

/** Time of a whole head with budget b at context n on a device of relative speed `speed`. */
export const headCost = (cm: CostModel, b: number, n: number, speed = 1): number =>
  cm.fixed + ((cm.perQueryRow ?? 0) * n + cm.perTokenPair * modelWork(cm, b, n)) / speed;

/** Time of query rows [rowStart, rowEnd) of a head (a split part). Under workModel "budget", rows cost b each. */
export const partCost = (cm: CostModel, b: number, n: number, rowStart: number, rowEnd: number, speed = 1): number => {
  const w = cm.workModel === 'pairs' ? rowRangeWork(Math.min(b, n), rowStart, rowEnd) : (rowEnd - rowStart) * Math.min(b, n);
  return cm.fixed + ((cm.perQueryRow ?? 0) * (rowEnd - rowStart) + cm.perTokenPair * w) / speed;
};

/** Time on its home device of projecting one KV head's K and V over n context tokens (`kvHeadProjectionPerToken`). */
export const kvHomeCost = (cm: CostModel, n: number, speed = 1): number => ((cm.kvHeadProjectionPerToken ?? 0) * n) / speed;

/** Extra time on a device for receiving one extra copy of a KV head of `kvBytes` bytes at context n. */
export const kvCopyCost = (cm: CostModel, kvBytes: number, n: number, speed = 1): number =>
  (cm.kvCopySecondsPerByte ?? 0) * kvBytes + (((cm.kvProjectionPerToken ?? 0) + (cm.kvHeadProjectionPerToken ?? 0)) * n) / speed;

// ---------------------------------------------------------------- named settings and documented defaults

/**
 * Documented default cost models in seconds, one per backend and device kind, used until `hplb calibrate` measures
 * the real numbers (a calibration file always wins). Derivation, for head dim d = 128, bf16:
 *   - a token pair costs 4·d flops (QKᵀ and PV, a multiply-add each) = 512 flops;
 *   - `cuda-h100`: block-sparse FlashAttention-class kernels sustain about 40% of the H100 SXM's 989 TFLOP/s dense
 *     bf16 peak on 64-token blocks, so perTokenPair ≈ 512 / (0.4 · 989e12) ≈ 1.3e-12 s; fixed ≈ 5 µs per head
 *     (launch and tile set-up amortised over a head's blocks);
 *   - `cpu`: the reference CPU backend at about 5 GFLOP/s per core on one core, perTokenPair ≈ 1e-10 s, fixed 20 µs.
 * The KV-copy communication term is off by default (in head-parallel prefill every GPU can project its own K/V from
 * the hidden states it already holds); `withLinkBandwidth` adds it, e.g. NVLink 4 at about 450 GB/s one way.
 * These are order-of-magnitude settings for planning, labelled with their source; placement only depends on the ratio
 * fixed / perTokenPair, and on the KV-copy term once split heads replicate KV.
 */
export const DEFAULT_COST_MODELS: Readonly<Record<string, CostModel>> = {
  'cuda-h100': { name: 'cuda-h100', unit: 'seconds', workModel: 'pairs', fixed: 5e-6, perTokenPair: 1.3e-12, source: 'documented default (docs/budgets.md); not measured' },
  cpu: { name: 'cpu', unit: 'seconds', workModel: 'pairs', fixed: 2e-5, perTokenPair: 1e-10, source: 'documented default (docs/budgets.md); not measured' },
};

/** Every named cost setting: `work` (token pairs), `paper-budget` (time ∝ budget), and the documented defaults. */
export const namedCostModel = (name: string): CostModel | undefined =>
  name === 'work' ? WORK_COST_MODEL : name === 'paper-budget' || name === 'budget' ? BUDGET_COST_MODEL : DEFAULT_COST_MODELS[name];

export const COST_MODEL_NAMES: ReadonlyArray<string> = ['work', 'paper-budget', ...Object.keys(DEFAULT_COST_MODELS)];

/** The same model with a KV-copy communication term of bytes / link bandwidth (bytes per second). */
export const withLinkBandwidth = (cm: CostModel, bytesPerSecond: number): CostModel =>
  ({ ...cm, kvCopySecondsPerByte: cm.unit === 'seconds' ? 1 / bytesPerSecond : 0 });

/** The fitted cost model of a calibration file (what `hplb plan --calibration F` uses). */
export const costModelOfCalibration = (c: Calibration): CostModel => ({ ...c.costModel, source: c.costModel.source ?? `calibrated: ${c.backend} on ${c.device}` });

// ---------------------------------------------------------------- calibration file

export const CalibrationSampleC = t.intersection([
  t.type({ contextLength: NonNegative, budget: NonNegative, blocks: NonNegative, tokenPairs: NonNegative, seconds: NonNegative }),
  /** The query rows timed, [rowStart, rowEnd) (absent: the whole head, [0, contextLength)). */
  t.partial({ rowStart: NonNegative, rowEnd: NonNegative }),
], 'CalibrationSample');

/**
 * The serving step's coefficients measured on a backend (`hplb calibrate --serving`; @hplb/runtime serving.ts):
 * seconds per dense product and per flop (the Q/K/V/O projections), seconds per decode read and per byte read (a
 * decode step), and the hidden sizes and context they were timed at. Two optional terms say where a CPU departs
 * from a GPU's roofline: a cost per product row (the output tile's overhead, large beside few flops at a small
 * hidden size), a cost per KV read beyond a GEMV's (an attention call's set-up and checks) and a separate rate for
 * weight bytes (a GEMV streams them at another rate than a KV read). What `hplb execute --phases prefill,decode`
 * predicts with; the same rates also go into the file's `hardware` block (1/secondsPerFlop, 1/secondsPerByte).
 */
export const ServingCalibrationC = t.intersection([
  t.type({
    /** Per product: fixedSeconds + secondsPerFlop · flops (+ secondsPerRow · rows of the product, absent: 0). */
    projection: t.intersection([t.type({ fixedSeconds: NonNegative, secondsPerFlop: NonNegative }), t.partial({ secondsPerRow: NonNegative })]),
    /**
     * Per step: fixedSeconds per read (weight GEMV or KV read) + kvReadSeconds (absent: 0) per KV read + secondsPerByte ·
     * KV bytes + secondsPerWeightByte (absent: secondsPerByte) · weight bytes.
     */
    decode: t.intersection([t.type({ fixedSeconds: NonNegative, secondsPerByte: NonNegative }), t.partial({ kvReadSeconds: NonNegative, secondsPerWeightByte: NonNegative })]),
  }),
  t.partial({ hiddenSizes: t.array(NonNegative), contextLength: NonNegative }),
], 'ServingCalibration');

/** `hplb.calibration/1`: what `hplb calibrate` writes and `hplb plan --calibration F` reads. */
export const CalibrationC = t.intersection([
  t.type({
    format: t.literal('hplb.calibration/1'),
    backend: t.string,
    device: t.string,
    precision: t.string,
    blockSize: NonNegative,
    headDim: NonNegative,
    /** The fitted model, unit seconds. */
    costModel: CostModelC,
    /** time = fixed + perBlock · computed blocks (the kernel-level fit). */
    fit: t.type({ fixedSeconds: t.number, secondsPerBlock: t.number, r2: t.number }),
  }),
  t.partial({
    samples: t.array(CalibrationSampleC), date: t.string, machine: t.string,
    /**
     * The timing protocol's reference kernel as calibration measured it: a whole head at `contextLength` with
     * `keyBlocks` key blocks per query block, `seconds` on `clock` (the baseline of its times: their 10th
     * percentile). An executed plan at that N compares its own reference times with it: how fast the machine ran
     * against its speed at calibration.
     */
    reference: t.type({ contextLength: NonNegative, keyBlocks: NonNegative, clock: t.string, seconds: NonNegative }),
    /** Serving-model numbers measured on this machine (core serving.ts `HardwareOverrides`): they replace the preset's. */
    hardware: HardwareOverridesC,
    /** The serving step's fitted coefficients (`ServingCalibrationC`), when calibrated with `--serving`. */
    serving: ServingCalibrationC,
  }),
], 'Calibration');
export type Calibration = t.TypeOf<typeof CalibrationC>;
