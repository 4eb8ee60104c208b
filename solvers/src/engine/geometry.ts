/**
 * Engine geometry: how vLLM, SGLang and TensorRT-LLM shard attention over tensor-parallel (TP) ranks, and what a
 * K/V duplication factor r changes. Used by the engine-layout solver, `hplb plan --engine-layout` and `hplb export`.
 *
 * What the engines do (their own code): rank t gets the contiguous block of H/T query heads and the contiguous block
 * of S/T KV heads, where S is the checkpoint's `num_key_value_heads`; when T > S, each KV head is replicated on the
 * T/S consecutive ranks that share it (vLLM `QKVParallelLinear`: `(tp_rank // num_kv_head_replicas)·shard`). Inside
 * a rank the standard GQA rule holds: local query head i reads local KV slot floor(i / (H/S)).
 *
 * A rewritten checkpoint with r copies of every KV head has S = K·r KV slots, each serving c = H/S query heads of
 * one group. So an engine-compatible placement is: split each GQA group (g = H/K heads) into g/c "chunks" of c
 * heads, and give every rank the same number of chunks, C/T, where C = max(S, T) (when T > S, a chunk is one rank's
 * share of a slot). Every layer must use the same S (one `num_key_value_heads`).
 *
 * Errors name the arguments as JSON paths: `$.tp` (the TP size) and `$.kvCopies`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fail, type HplbError, type ModelShape } from '@hplb/core';

/** The sharding that a TP size and a K/V duplication factor impose. */
export interface EngineGeometry {
  /** TP size T: ranks. */
  readonly tp: number;
  /** K/V duplication factor r: copies of every KV head in the rewritten checkpoint. */
  readonly kvCopies: number;
  readonly queryHeads: number;
  readonly kvHeads: number;
  /** g = H/K: query heads per original KV head. */
  readonly groupSize: number;
  /** S = K·r: the rewritten checkpoint's num_key_value_heads. */
  readonly kvSlots: number;
  /** H/S: query heads served by one KV slot (the engine's GQA ratio after the rewrite). */
  readonly queryHeadsPerSlot: number;
  /** c = H/max(S,T): heads in one placement chunk (all of one group, on one rank). */
  readonly chunkSize: number;
  /** C = max(S, T): chunks per layer. */
  readonly chunks: number;
  /** C/T: chunks per rank. */
  readonly chunksPerRank: number;
  /** H/T: query heads per rank. */
  readonly headsPerRank: number;
  /** max(S/T, 1): KV slots each rank stores (and projects). */
  readonly slotsPerRank: number;
  /** max(T/S, 1): consecutive ranks that share one KV slot (the engine replicates it). */
  readonly ranksPerSlot: number;
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** TP sizes that divide the query heads and fit the engines' KV sharding rule with r = 1 (for error messages). */
export const feasibleTpSizes = (m: ModelShape): number[] =>
  divisors(m.queryHeads).filter((t) => (t <= m.kvHeads ? m.kvHeads % t === 0 : t % m.kvHeads === 0));

/**
 * The geometry for TP size `tp` and duplication factor `kvCopies`, or why the engines cannot run it:
 * T must divide H; r must divide the group size g (each slot serves a whole number of query heads);
 * and S = K·r must be a multiple of T, or divide it (the engines' KV sharding rule).
 */
export const engineGeometry = (m: ModelShape, tp: number, kvCopies: number): E.Either<HplbError, EngineGeometry> => {
  const H = m.queryHeads;
  const K = m.kvHeads;
  if (!Number.isInteger(tp) || tp < 1) return fail('argument', '$.tp', 'a positive integer TP size', tp);
  if (H % K !== 0) return fail('decode', '$.model.kvHeads', `a divisor of queryHeads (${H})`, K);
  if (H % tp !== 0)
    return fail('infeasible', '$.tp', `a TP size that divides the ${H} query heads of ${m.name} (engines give every rank H/T heads; feasible: ${feasibleTpSizes(m).join(', ')})`, tp);
  const g = H / K;
  if (!Number.isInteger(kvCopies) || kvCopies < 1 || g % kvCopies !== 0)
    return fail('infeasible', '$.kvCopies', `a K/V duplication factor dividing the group size ${g} (each KV slot must serve a whole number of query heads: ${divisors(g).join(', ')})`, kvCopies);
  const S = K * kvCopies;
  if (!(S % tp === 0 || tp % S === 0)) {
    const ok = divisors(g).filter((r) => (K * r) % tp === 0 || tp % (K * r) === 0);
    return fail('infeasible', '$.kvCopies', `r such that K·r = ${K}·r is a multiple or a divisor of TP ${tp} (the engines' KV sharding rule; feasible r: ${ok.join(', ') || 'none'})`, kvCopies);
  }
  const C = Math.max(S, tp);
  return E.right({
    tp,
    kvCopies,
    queryHeads: H,
    kvHeads: K,
    groupSize: g,
    kvSlots: S,
    queryHeadsPerSlot: H / S,
    chunkSize: H / C,
    chunks: C,
    chunksPerRank: C / tp,
    headsPerRank: H / tp,
    slotsPerRank: Math.max(S / tp, 1),
    ranksPerSlot: Math.max(tp / S, 1),
  });
};

/** Every duplication factor the engines can run at this TP size, ascending. */
export const feasibleKvCopies = (m: ModelShape, tp: number): number[] =>
  m.queryHeads % m.kvHeads !== 0 ? [] : divisors(m.queryHeads / m.kvHeads).filter((r) => E.isRight(engineGeometry(m, tp, r)));
