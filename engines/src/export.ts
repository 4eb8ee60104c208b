/**
 * `exportEngineLayout`: what `hplb export` computes. An `hplb.plan/1` plan becomes an `hplb.engine-layout/1` layout
 * for vLLM, SGLang or TensorRT-LLM (layout.ts), plus, when the plan's budgets came from a MInference best-pattern
 * config, that config re-indexed to the new head order so MInference's own integration runs on the rewritten
 * checkpoint unchanged. Platform-neutral: the caller reads the plan and the config and writes the results.
 *
 * Errors name the plan's JSON paths (with `planFile`), the MInference config's (with `minference.file`), and
 * options as `$.<option>` (`$.minference`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { ENGINES, fail, type EngineLayout, type EngineName, type HplbError, type Plan } from '@hplb/core';
import { buildEngineLayout, reindexMinference } from './layout.ts';

// ---------------------------------------------------------------- model

/** The MInference best-pattern config to re-index, and how the layout refers to the copy. */
export interface MinferenceExportOptions {
  /** The parsed config: one object per layer, query head → pattern. */
  readonly config: unknown;
  /** The config's file, named in its errors. */
  readonly file?: string;
  /** Where the re-indexed copy will live, as the layout should record it (`layout.minferenceConfig`). */
  readonly path?: string;
  /**
   * A tier-3 layout (virtual heads from split heads) has no MInference pattern of its own: `fail` (default) returns
   * an error at `$.minference`; `skip` leaves the config out and says why in `minferenceSkipped`.
   */
  readonly ifVirtualHeads?: 'fail' | 'skip';
}

export interface ExportOptions {
  /** The serving engine the layout is for (it picks the engine notes). */
  readonly engine: EngineName;
  /** The plan's file: named in errors and recorded in `layout.source.plan`. */
  readonly planFile?: string;
  /** Re-index this MInference config to the layout's head order. */
  readonly minference?: MinferenceExportOptions;
}

export interface EngineExport {
  /** The validated `hplb.engine-layout/1` layout (with `minferenceConfig` when `minference.path` was given). */
  readonly layout: EngineLayout;
  /** The MInference config in the new head order: entry p of layer l is the original entry of `qSource[p]`. */
  readonly minference?: Record<string, unknown>[];
  /** Why a MInference config was given but not re-indexed (`ifVirtualHeads: 'skip'` on a tier-3 layout). */
  readonly minferenceSkipped?: string;
}

// ---------------------------------------------------------------- operations

/**
 * Turn a plan into the engine layout a checkpoint rewrite (`applyLayout`) and a stock engine run. The plan must
 * satisfy the engines' rule: equal query heads per rank (`equalHeadsPerDevice`, or a plan from
 * `planEngineLayoutForProfile`, whose KV slots it keeps); split heads become tier-3 virtual heads.
 *
 * @example
 * const r = exportEngineLayout(plan, { engine: 'vllm' });
 * if (E.isRight(r)) writeFileSync('layout.json', JSON.stringify(r.right.layout));
 * else console.error(formatError(r.left));
 */
export const exportEngineLayout = (plan: Plan, options: ExportOptions): E.Either<HplbError, EngineExport> => {
  if (!(ENGINES as ReadonlyArray<unknown>).includes(options?.engine)) return fail('argument', '$.engine', `one of ${ENGINES.join('|')}`, options?.engine);
  const built = buildEngineLayout(plan, { engine: options.engine, ...(options.planFile !== undefined ? { planFile: options.planFile } : {}) });
  if (E.isLeft(built)) return built;
  const layout = built.right;
  const mf = options.minference;
  if (mf === undefined) return E.right({ layout });
  if (layout.tier !== 1 && mf.ifVirtualHeads === 'skip') return E.right({ layout, minferenceSkipped: 'virtual heads (tier 3) have no MInference pattern of their own' });
  const re = reindexMinference(layout, mf.config, mf.file);
  if (E.isLeft(re)) return re;
  return E.right({ layout: mf.path !== undefined ? ({ ...layout, minferenceConfig: mf.path } as EngineLayout) : layout, minference: re.right });
};
