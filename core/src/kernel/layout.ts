/**
 * Block layouts (CSR, see `BlockLayout` in `types.ts`) and their builders. Used by every backend (through
 * `validateLayout`), by the profiler, the executor, calibration and the benchmarks.
 *
 * Builders:
 *   - `fullLayout`: every key block a query block may see (dense attention, causal-masked when causal);
 *   - `verticalSlashLayout`: MInference's vertical+slash pattern (key columns + diagonals, in tokens) at block
 *     granularity; `budgetLayout` picks the columns and diagonals for a per-query token budget;
 *   - `topKLayout`: per query block, the k key blocks with the highest block scores;
 *   - `topPLayout`: per query block, the fewest key blocks whose block mass reaches p of the row's mass
 *     (XAttention's threshold rule).
 * Causal layouts never contain key blocks above the diagonal (kb > qb); the diagonal block is always kept so
 * every row attends to at least itself.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, hplbError, issue, type HplbError, type Issue } from '../errors.ts';
import type { AttentionParams, BlockLayout } from './types.ts';

// ---------------------------------------------------------------- constructors

/** Build a CSR layout from per-query-block lists (sorted and de-duplicated here). */
export const layoutFromLists = (blockSize: number, blocks: number, lists: ReadonlyArray<Iterable<number>>): BlockLayout => {
  const offsets = new Int32Array(blocks + 1);
  const all: number[] = [];
  for (let qb = 0; qb < blocks; qb++) {
    const sorted = [...new Set(lists[qb] ?? [])].sort((a, b) => a - b);
    all.push(...sorted);
    offsets[qb + 1] = all.length;
  }
  return { blockSize, blocks, offsets, indices: Int32Array.from(all) };
};

/** Largest key block query block qb may attend to. */
const lastKeyBlock = (p: AttentionParams, qb: number): number => (p.causal ? qb : p.blocks - 1);

/** Dense attention: all key blocks (kb ≤ qb when causal). */
export const fullLayout = (p: AttentionParams): BlockLayout =>
  layoutFromLists(p.blockSize, p.blocks, Array.from({ length: p.blocks }, (_, qb) => Array.from({ length: lastKeyBlock(p, qb) + 1 }, (_, kb) => kb)));

/**
 * MInference's vertical+slash pattern at block granularity. `vertical`: key token indices every query attends to
 * (when causal, only those ≤ the query); `slash`: diagonal offsets o ≥ 0, query row i attends to key i − o.
 * A key block is kept for a query block when it holds any such key for any row of the query block.
 */
export const verticalSlashLayout = (
  p: AttentionParams,
  pattern: { readonly vertical: ReadonlyArray<number>; readonly slash: ReadonlyArray<number> },
): E.Either<HplbError, BlockLayout> => {
  const { blockSize: B, blocks, tokens: N } = p;
  for (const [i, v] of pattern.vertical.entries())
    if (!Number.isInteger(v) || v < 0 || v >= N) return fail('argument', `$.vertical[${i}]`, `a key index in [0, ${N})`, v);
  for (const [i, o] of pattern.slash.entries())
    if (!Number.isInteger(o) || o < 0 || o >= N) return fail('argument', `$.slash[${i}]`, `a diagonal offset in [0, ${N})`, o);
  const vBlocks = [...new Set(pattern.vertical.map((v) => Math.floor(v / B)))].sort((a, b) => a - b);
  const lists: Set<number>[] = [];
  for (let qb = 0; qb < blocks; qb++) {
    const s = new Set<number>();
    const r0 = qb * B;
    const r1 = Math.min(N, r0 + B) - 1;
    const last = lastKeyBlock(p, qb);
    s.add(Math.min(qb, last));
    for (const vb of vBlocks) if (vb <= last) s.add(vb);
    for (const o of pattern.slash) {
      const lo = r0 - o;
      const hi = r1 - o;
      if (hi < 0) continue;
      for (let kb = Math.floor(Math.max(0, lo) / B); kb <= Math.floor(hi / B) && kb <= last; kb++) s.add(kb);
    }
    lists.push(s);
  }
  return E.right(layoutFromLists(B, blocks, lists));
};

/**
 * Whole key blocks per query block for a per-row token budget b: the k whose layout (sink block + k − 1 local
 * blocks, the last one the causal diagonal) attends closest to b keys per late row, i.e. (k − ½)·B ≈ b:
 * k = round(b/B + ½), in [1, Qb].
 */
export const budgetBlocks = (p: AttentionParams, budget: number): number => Math.max(1, Math.min(p.blocks, Math.round(budget / p.blockSize + 0.5)));

/**
 * Keys a late row attends to under `budgetLayout(p, budget)`: (k − ½)·B with k = `budgetBlocks` (the diagonal block
 * is half visible on average), at most N. This is the tokenBudget to price with W(b, N): the CPU kernel skips the
 * tiles above the diagonal, so its work tracks it. The executor and calibration use it.
 */
export const budgetKeys = (p: AttentionParams, budget: number): number => Math.min(p.tokens, (budgetBlocks(p, budget) - 0.5) * p.blockSize);

/**
 * The vertical+slash pattern for a per-query budget of `budget` tokens.
 * Without scores (what the executor, calibration and benchmarks run): k = `budgetBlocks` whole key blocks per
 * query block, the first block as attention sinks (vertical columns 0..B−1) and the k − 1 most recent blocks as
 * the local window (slash offsets 0..(k−2)·B), so a late row attends to (k − ½)·B keys on average
 * (`budgetKeys`) and the head's work tracks W(budgetKeys, N) (core/src/work.ts).
 * With `verticalScores` (per key) and/or `slashScores` (per offset), the highest-scoring `round(b·verticalShare)`
 * columns and `b − that` diagonals are taken instead (MInference's estimate from the last queries).
 */
export const budgetLayout = (
  p: AttentionParams,
  budget: number,
  opts: { readonly verticalShare?: number; readonly verticalScores?: Float32Array; readonly slashScores?: Float32Array } = {},
): E.Either<HplbError, BlockLayout> => {
  if (!Number.isFinite(budget) || budget < 1) return fail('argument', '$.budget', 'a token budget ≥ 1', budget);
  if (opts.verticalScores === undefined && opts.slashScores === undefined) {
    const k = budgetBlocks(p, budget);
    const B = p.blockSize;
    return verticalSlashLayout(p, {
      vertical: k >= 2 ? Array.from({ length: Math.min(B, p.tokens) }, (_, i) => i) : [],
      slash: Array.from({ length: Math.min(p.tokens, Math.max(0, k - 2) * B + 1) }, (_, i) => i),
    });
  }
  const b = Math.min(Math.round(budget), p.tokens);
  const share = opts.verticalShare ?? 1 / 8;
  if (!(share >= 0 && share <= 1)) return fail('argument', '$.verticalShare', 'a fraction in [0, 1]', share);
  const nv = Math.min(b - 1, Math.round(b * share));
  const ns = b - nv;
  const top = (scores: Float32Array | undefined, n: number, count: number): number[] => {
    if (scores === undefined) return Array.from({ length: count }, (_, i) => i);
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, c) => scores[c]! - scores[a]! || a - c);
    return idx.slice(0, count);
  };
  return verticalSlashLayout(p, { vertical: top(opts.verticalScores, p.tokens, nv), slash: top(opts.slashScores, p.tokens, ns) });
};

/** Key blocks allowed for qb in descending score order (ties: lower kb first), diagonal excluded. */
const rankedBlocks = (p: AttentionParams, scores: Float32Array, qb: number): number[] => {
  const last = lastKeyBlock(p, qb);
  const cand: number[] = [];
  for (let kb = 0; kb <= last; kb++) if (kb !== qb) cand.push(kb);
  const row = qb * p.blocks;
  return cand.sort((a, b) => scores[row + b]! - scores[row + a]! || a - b);
};

const checkScores = (p: AttentionParams, scores: Float32Array, name: string): E.Either<HplbError, Float32Array> => {
  if (scores.length !== p.blocks * p.blocks) return fail('argument', `$.${name}`, `${p.blocks * p.blocks} values ([Qb × Kb] = [${p.blocks} × ${p.blocks}])`, `${scores.length} values`);
  for (let i = 0; i < scores.length; i++)
    if (Number.isNaN(scores[i]!)) return fail('argument', `$.${name}[${Math.floor(i / p.blocks)}][${i % p.blocks}]`, 'a number', NaN);
  return E.right(scores);
};

/** Per query block: the diagonal block plus the k − 1 highest-scoring other allowed key blocks. */
export const topKLayout = (p: AttentionParams, scores: Float32Array, k: number): E.Either<HplbError, BlockLayout> => {
  if (!Number.isInteger(k) || k < 1) return fail('argument', '$.k', 'a block count k ≥ 1', k);
  return E.map(() => layoutFromLists(p.blockSize, p.blocks, Array.from({ length: p.blocks }, (_, qb) => [
    ...(qb <= lastKeyBlock(p, qb) ? [qb] : []), ...rankedBlocks(p, scores, qb).slice(0, k - 1)]))
  )(checkScores(p, scores, 'scores'));
};

/**
 * XAttention's rule: per query block, key blocks in descending mass until the kept mass reaches
 * threshold · (the query block's total mass). The diagonal block is always kept (and counts toward the mass).
 */
export const topPLayout = (p: AttentionParams, mass: Float32Array, threshold: number): E.Either<HplbError, BlockLayout> => {
  if (!(threshold > 0 && threshold <= 1)) return fail('argument', '$.threshold', 'a mass threshold in (0, 1]', threshold);
  return E.map(() => layoutFromLists(p.blockSize, p.blocks, Array.from({ length: p.blocks }, (_, qb) => {
    const row = qb * p.blocks;
    const last = lastKeyBlock(p, qb);
    let total = 0;
    for (let kb = 0; kb <= last; kb++) total += mass[row + kb]!;
    const kept = [qb];
    let acc = mass[row + qb]!;
    for (const kb of rankedBlocks(p, mass, qb)) {
      if (acc >= threshold * total - 1e-12 * total) break;
      kept.push(kb);
      acc += mass[row + kb]!;
    }
    return kept;
  })))(checkScores(p, mass, 'mass'));
};

// ---------------------------------------------------------------- checks

/** Reject layouts that do not fit the params: geometry, offsets, out-of-range / unsorted / above-diagonal blocks. */
export const validateLayout = (layout: BlockLayout, p: AttentionParams): E.Either<HplbError, BlockLayout> => {
  const out: Issue[] = [];
  if (layout.blockSize !== p.blockSize) out.push(issue('$.layout.blockSize', `the params' block size ${p.blockSize}`, layout.blockSize));
  if (layout.blocks !== p.blocks) out.push(issue('$.layout.blocks', `ceil(N/B) = ${p.blocks} query blocks`, layout.blocks));
  const { offsets, indices } = layout;
  if (!(offsets instanceof Int32Array) || offsets.length !== p.blocks + 1) out.push(issue('$.layout.offsets', `an Int32Array of ${p.blocks + 1} offsets`, offsets?.length));
  if (!(indices instanceof Int32Array)) out.push(issue('$.layout.indices', 'an Int32Array of key blocks', typeof indices));
  if (out.length > 0) return E.left(hplbError('argument', out));
  if (offsets[0] !== 0 || offsets[p.blocks] !== indices.length) return fail('argument', '$.layout.offsets', `offsets from 0 to indices.length (${indices.length})`, `${offsets[0]}..${offsets[p.blocks]}`);
  for (let qb = 0; qb < p.blocks && out.length < 5; qb++) {
    const a = offsets[qb]!;
    const b = offsets[qb + 1]!;
    if (b < a) { out.push(issue(`$.layout.offsets[${qb + 1}]`, `an offset ≥ offsets[${qb}] = ${a}`, b)); continue; }
    const last = lastKeyBlock(p, qb);
    for (let x = a; x < b; x++) {
      const kb = indices[x]!;
      if (kb < 0 || kb > last) {
        out.push(issue(`$.layout.indices[${x}]`, `a key block in [0, ${last}] for query block ${qb}${p.causal && kb < p.blocks && kb >= 0 ? ' (causal: none above the diagonal)' : ''}`, kb));
        break;
      }
      if (x > a && kb <= indices[x - 1]!) { out.push(issue(`$.layout.indices[${x}]`, `key blocks of query block ${qb} sorted ascending and unique`, kb)); break; }
    }
  }
  return out.length === 0 ? E.right(layout) : E.left(hplbError('argument', out));
};

// ---------------------------------------------------------------- measures

/** Number of (query block, key block) pairs computed. */
export const layoutBlocks = (l: BlockLayout): number => l.indices.length;

/** Computed blocks / blocks of the full layout. */
export const layoutDensity = (l: BlockLayout, p: AttentionParams): number => layoutBlocks(l) / layoutBlocks(fullLayout(p));

/** Exact query-key pairs the layout computes over rows [start, end) (causal mask and ragged last block applied). */
export const layoutTokenPairs = (l: BlockLayout, p: AttentionParams, start = 0, end = p.tokens): number => {
  const B = p.blockSize;
  let pairs = 0;
  for (let qb = Math.floor(start / B); qb < p.blocks && qb * B < end; qb++) {
    const r0 = Math.max(qb * B, start);
    const r1 = Math.min((qb + 1) * B, end, p.tokens);
    for (let x = l.offsets[qb]!; x < l.offsets[qb + 1]!; x++) {
      const k0 = l.indices[x]! * B;
      const k1 = Math.min(k0 + B, p.tokens);
      if (!p.causal) { pairs += (r1 - r0) * (k1 - k0); continue; }
      for (let i = r0; i < r1; i++) pairs += Math.max(0, Math.min(k1, i + 1) - k0);
    }
  }
  return pairs;
};

/** Blocks touched by rows [start, end): the query blocks overlapping the range, with their key blocks. */
export const rowRangeBlocks = (l: BlockLayout, start: number, end: number): number => {
  const B = l.blockSize;
  const q0 = Math.floor(start / B);
  const q1 = Math.min(l.blocks, Math.ceil(end / B));
  return q1 > q0 ? l.offsets[q1]! - l.offsets[q0]! : 0;
};
