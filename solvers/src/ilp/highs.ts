/**
 * HiGHS (npm `highs`, MIT; WebAssembly) as an ILP engine: reads the LP text, takes the warm start through
 * `setSolution`, relative gap 0 and an absolute gap just under 1 (the objective is integral, so a dual bound
 * above primal − 1 proves optimality). Runs inside the ILP worker: `run()` blocks its thread.
 */
import * as highsModule from 'highs';
import type { Highs, InitOptions } from 'highs';
import type { EngineAnswer, EngineRequest } from './engine.ts';

// `highs` ships ESM (default export = loader) but its types describe the CommonJS build: take either shape.
type Loader = (options?: InitOptions) => Promise<Highs>;
const highsLoader: Loader = ((highsModule as unknown as { default?: Loader }).default ?? (highsModule as unknown as Loader));

let runtime: Promise<Highs> | null = null;
const load = () => (runtime ??= highsLoader());

export const runHighs = async (req: EngineRequest): Promise<EngineAnswer> => {
  const highs = await load();
  const t0 = performance.now();
  const model = highs.createModel({ format: 'lp', data: req.lp });
  try {
    model.options.set({
      output_flag: false,
      log_to_console: false,
      mip_rel_gap: 0,
      mip_abs_gap: 1 - 1e-6,
      time_limit: Math.max(0.01, req.timeLimitSec),
      random_seed: 1,
      presolve: req.presolve === false ? 'off' : 'choose',
    });
    const names: string[] = [];
    const numCols = model.getDimensions().numCols;
    for (let i = 0; i < numCols; i++) names.push(model.getColName(i));
    if (req.start) {
      const byName = new Map(req.columns.map((c, i) => [c, req.start![i]!] as const));
      model.setSolution({ colValue: names.map((c) => byName.get(c) ?? 0) });
    }
    const { modelStatus } = model.run();
    const codes = highs.constants.modelStatus;
    const seconds = (performance.now() - t0) / 1000;
    const hasPrimal = Number(model.info.get('primal_solution_status')) === 2;
    const values: Record<string, number> = {};
    if (hasPrimal) {
      const col = model.getSolution().colValue;
      names.forEach((c, i) => (values[c] = col[i]!));
    }
    let dualBound: number | undefined;
    try {
      const db = Number(model.info.get('mip_dual_bound'));
      if (Number.isFinite(db)) dualBound = db;
    } catch {
      dualBound = undefined;
    }
    const objective = hasPrimal ? model.getObjectiveValue() : undefined;
    if (modelStatus === codes.optimal) return { claim: hasPrimal ? 'optimal' : 'nosolution', values, objective, dualBound, seconds };
    if (modelStatus === codes.infeasible) return { claim: 'infeasible', seconds };
    return { claim: hasPrimal ? 'feasible' : 'nosolution', values, objective, dualBound, seconds, message: `HiGHS model status ${modelStatus}` };
  } finally {
    model.dispose();
  }
};
