/**
 * ILP placement engines (GLPK through the optional GPL package @hplb/solver-glpk, HiGHS through npm `highs`).
 * Used by the solver registry (`ilp-glpk`, `ilp-highs`) and the `auto` portfolio. Work in progress: the engines
 * land in the next commits; until then this rejects with a clear message.
 */
import type { LayerProblem, LayerResult } from '../types.ts';

export type IlpEngine = 'glpk' | 'highs';

export function solveIlp(
  problem: LayerProblem,
  options: { engine: IlpEngine; timeLimitMs: number; warmStart?: ReadonlyArray<number> },
): Promise<LayerResult> {
  void problem;
  return Promise.reject(new Error(`ILP engine ${options.engine}: not built yet (in progress)`));
}
