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

/**
 * Solve the request. Configuration models (presolve off) run as restarts with different random seeds and a
 * doubling time slice: HiGHS's root node on these tiny feasibility models has a heavy-tailed run time that
 * depends on the seed (the same Phi-3 layer took 0.5 s or more than 8 s).
 */
export const runHighs = async (req: EngineRequest): Promise<EngineAnswer> => {
  if (req.presolve !== false) return runHighsOnce(req, req.timeLimitSec, 1);
  const t0 = performance.now();
  let slice = 0.25;
  for (let seed = 1; ; seed++) {
    const left = req.timeLimitSec - (performance.now() - t0) / 1000;
    const last = left <= slice * 1.5;
    const ans = await runHighsOnce(req, last ? Math.max(0.01, left) : slice, seed);
    const unresolved = ans.claim === 'nosolution' || ans.claim === 'feasible';
    if (!unresolved || last) return { ...ans, seconds: (performance.now() - t0) / 1000 };
    slice *= 2;
  }
};

const runHighsOnce = async (req: EngineRequest, timeLimitSec: number, seed: number): Promise<EngineAnswer> => {
  const highs = await load();
  const t0 = performance.now();
  const model = highs.createModel({ format: 'lp', data: req.lp });
  try {
    model.options.set({
      output_flag: false,
      log_to_console: false,
      mip_rel_gap: 0,
      mip_abs_gap: 1 - 1e-6,
      time_limit: Math.max(0.01, timeLimitSec),
      random_seed: seed,
      presolve: req.presolve === false ? 'off' : 'choose',
    });
    // The small configuration models (presolve off): a low heuristic effort made
    // some feasible root nodes take seconds (Phi-3 layer 11, N=131072, 8 GPUs: 3.5 s → about 0.5 s at 0.3).
    if (req.presolve === false) model.options.set({ mip_heuristic_effort: 0.3 });
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
