/**
 * Golden cases as data: each `spec/golden/<name>.json` (format `hplb.golden/1`) holds a case's parameters, layout,
 * inputs and the CPU reference's outputs (out, lse, blockMass), tensors as base64 little-endian float32. The case
 * list lives here; `spec/scripts/regenerate-golden.ts` regenerates every file from the CPU backend; the conformance
 * suite replays them on any backend.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { decode, parseJson, type HplbError } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { budgetLayout, fullLayout, topKLayout, topPLayout } from '@hplb/core/kernel';
import { gaussian, mixSeed, rng } from '@hplb/core/kernel';
import type { AttentionParams, BlockLayout, Precision } from '@hplb/core/kernel';
import { referenceBlockMass } from './reference.ts';

export const GOLDEN_FORMAT = 'hplb.golden/1' as const;
export const GOLDEN_DIR = fileURLToPath(new URL('../../golden/', import.meta.url));

// ---------------------------------------------------------------- case list

export type GoldenLayoutSpec =
  | { readonly kind: 'full' }
  | { readonly kind: 'budget'; readonly budget: number }
  | { readonly kind: 'topK'; readonly k: number }
  | { readonly kind: 'topP'; readonly threshold: number };

export interface GoldenCaseSpec {
  readonly name: string;
  readonly tokens: number;
  readonly headDim: number;
  readonly blockSize: number;
  readonly causal: boolean;
  readonly layout: GoldenLayoutSpec;
  readonly rows?: readonly [number, number];
  readonly seed: number;
  /** Input standard deviation (larger = peakier softmax). */
  readonly inputScale: number;
}

export const GOLDEN_CASES: ReadonlyArray<GoldenCaseSpec> = [
  { name: 'b16-causal-full-d16', tokens: 48, headDim: 16, blockSize: 16, causal: true, layout: { kind: 'full' }, seed: 1, inputScale: 1 },
  { name: 'b16-noncausal-full-ragged-d32', tokens: 53, headDim: 32, blockSize: 16, causal: false, layout: { kind: 'full' }, seed: 2, inputScale: 1 },
  { name: 'b16-causal-budget-d32', tokens: 100, headDim: 32, blockSize: 16, causal: true, layout: { kind: 'budget', budget: 30 }, seed: 3, inputScale: 1.5 },
  { name: 'b16-causal-topk-rows-d64', tokens: 90, headDim: 64, blockSize: 16, causal: true, layout: { kind: 'topK', k: 2 }, rows: [21, 77], seed: 4, inputScale: 1 },
  { name: 'b16-causal-topp-d128', tokens: 70, headDim: 128, blockSize: 16, causal: true, layout: { kind: 'topP', threshold: 0.9 }, seed: 5, inputScale: 0.8 },
  { name: 'b64-causal-full-ragged-d64', tokens: 150, headDim: 64, blockSize: 64, causal: true, layout: { kind: 'full' }, seed: 6, inputScale: 1 },
  { name: 'b64-causal-budget-rows-d128', tokens: 200, headDim: 128, blockSize: 64, causal: true, layout: { kind: 'budget', budget: 70 }, rows: [70, 190], seed: 7, inputScale: 1 },
  { name: 'b64-noncausal-topp-d32', tokens: 192, headDim: 32, blockSize: 64, causal: false, layout: { kind: 'topP', threshold: 0.8 }, seed: 8, inputScale: 2 },
];

// ---------------------------------------------------------------- constructors

export const caseParams = (c: GoldenCaseSpec, precision: Precision = 'fp32'): E.Either<HplbError, AttentionParams> =>
  makeAttentionParams({ tokens: c.tokens, headDim: c.headDim, blockSize: c.blockSize, causal: c.causal, precision });

/** Seeded Gaussian inputs for a case. */
export const caseInputs = (c: GoldenCaseSpec): { q: Float32Array; k: Float32Array; v: Float32Array } => {
  const make = (which: number) => {
    const g = gaussian(rng(mixSeed(c.seed, which)));
    const x = new Float32Array(c.tokens * c.headDim);
    for (let i = 0; i < x.length; i++) x[i] = (which < 2 ? c.inputScale : 1) * g();
    return x;
  };
  return { q: make(0), k: make(1), v: make(2) };
};

/** The case's layout, built with core's builders (topK/topP from the independent reference block masses). */
export const caseLayout = (c: GoldenCaseSpec, p: AttentionParams, q: Float32Array, k: Float32Array): E.Either<HplbError, BlockLayout> => {
  switch (c.layout.kind) {
    case 'full': return E.right(fullLayout(p));
    case 'budget': return budgetLayout(p, c.layout.budget);
    case 'topK': return topKLayout(p, Float32Array.from(referenceBlockMass(q, k, p)), c.layout.k);
    case 'topP': return topPLayout(p, Float32Array.from(referenceBlockMass(q, k, p)), c.layout.threshold);
  }
};

// ---------------------------------------------------------------- file format

export const toBase64 = (x: Float32Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
export const fromBase64 = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

const F32 = t.string;
export const GoldenFileC = t.type({
  format: t.literal(GOLDEN_FORMAT),
  name: t.string,
  spec: t.UnknownRecord,
  params: t.type({ tokens: t.number, headDim: t.number, blockSize: t.number, causal: t.boolean, scale: t.number }),
  layout: t.type({ offsets: t.array(t.number), indices: t.array(t.number) }),
  rows: t.union([t.null, t.type({ start: t.number, end: t.number })]),
  generatedBy: t.type({ backend: t.string, device: t.string }),
  q: F32, k: F32, v: F32, out: F32, lse: F32, mass: F32,
}, 'GoldenFile');
export type GoldenFile = t.TypeOf<typeof GoldenFileC>;

export interface GoldenCase {
  readonly file: string;
  readonly name: string;
  readonly params: AttentionParams;
  readonly layout: BlockLayout;
  readonly rows: { start: number; end: number } | undefined;
  readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array;
  readonly out: Float32Array; readonly lse: Float32Array; readonly mass: Float32Array;
}

/** Decode one golden file into typed arrays and params (precision as requested). */
export const readGolden = (file: string, precision: Precision = 'fp32'): E.Either<HplbError, GoldenCase> => {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { return E.left({ code: 'io', file, issues: [{ path: '$', expected: 'a readable golden file', actual: String(e) }] }); }
  return E.chain((g: GoldenFile) => E.map((params: AttentionParams) => ({
    file, name: g.name, params,
    layout: { blockSize: params.blockSize, blocks: params.blocks, offsets: Int32Array.from(g.layout.offsets), indices: Int32Array.from(g.layout.indices) },
    rows: g.rows ?? undefined,
    q: fromBase64(g.q), k: fromBase64(g.k), v: fromBase64(g.v), out: fromBase64(g.out), lse: fromBase64(g.lse), mass: fromBase64(g.mass),
  }))(makeAttentionParams({ ...g.params, precision })))(E.chain((u: unknown) => decode(GoldenFileC, u, file))(parseJson(text, file)));
};

/** Every golden file in spec/golden/, sorted by name. */
export const goldenFiles = (dir = GOLDEN_DIR): string[] => {
  try { return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => `${dir}${f}`); } catch { return []; }
};
