/**
 * @hplb/solver-glpk (GPL-3.0-or-later): GLPK through glpk.js as an ILP engine for @hplb/solvers.
 *
 * It is a separate, optional package because glpk.js is GPL-3.0: the MIT packages never import it statically.
 * @hplb/solvers' ILP worker loads it with a dynamic `import('@hplb/solver-glpk')` when `--solver ilp-glpk` is asked
 * for, and reports a clear error when it is not installed. GLPK has no warm start: the caller's upper bound on T
 * (the warm start's value) is already in the model's bounds. Presolve stays on (`presol: false` breaks integer
 * solves in glpk.js; it is off for pure LP relaxations), relative gap 0.
 */
import GLPK from 'glpk.js/node';
import type { LP } from 'glpk.js/node';
import type { EngineAnswer, EngineRequest } from '@hplb/solvers/node';
import type { LinearModel } from '@hplb/solvers/node';

type Glpk = Awaited<ReturnType<typeof GLPK>>;
let runtime: Promise<Glpk> | null = null;
/** The glpk.js runtime (WebAssembly), created once per thread. */
export const loadGlpk = (): Promise<Glpk> => (runtime ??= GLPK());

/** glpk.js's LP object for our model (same rows, names and column order as the LP text). */
export const toGlpkLp = (g: Glpk, model: LinearModel): LP => ({
  name: model.name,
  objective: { direction: g.GLP_MIN, name: 'obj', vars: model.objective.map((v) => ({ ...v })) },
  subjectTo: model.rows.map((r) => ({ name: r.name, vars: r.vars.map((v) => ({ ...v })), bnds: { type: r.type, lb: r.lb, ub: r.ub } })),
  bounds: model.bounds.map((b) => ({ name: b.name, type: b.lb === b.ub ? g.GLP_FX : g.GLP_DB, lb: b.lb, ub: b.ub })),
  binaries: [...model.binaries],
  generals: [...model.generals],
});

/** glpk.js's own CPLEX LP rendering of the model (what `glp_write_lp` prints). */
export const glpkLpText = async (model: LinearModel): Promise<string> => {
  const g = await loadGlpk();
  const log = console.log;
  console.log = () => undefined; // glp_write_lp prints "Writing problem data..." to stdout
  try {
    return g.write(toGlpkLp(g, model));
  } finally {
    console.log = log;
  }
};

/** Solve the request with GLPK (blocks the calling thread: run it in a worker). */
export const runGlpk = async (req: EngineRequest): Promise<EngineAnswer> => {
  const g = await loadGlpk();
  const t0 = performance.now();
  // Integer models need the presolver in glpk.js; pure LPs (relaxations) skip it, so that an infeasible LP is
  // reported as such (with presolve, glp_simplex leaves the status undefined).
  const integer = req.model.generals.length + req.model.binaries.length > 0;
  const out = g.solve(toGlpkLp(g, req.model), { msglev: g.GLP_MSG_OFF, mipgap: 0, presol: integer, tmlim: Math.max(0.01, req.timeLimitSec) });
  const seconds = (performance.now() - t0) / 1000;
  const r = out.result;
  if (r.status === g.GLP_OPT) return { claim: 'optimal', values: r.vars, objective: r.z, seconds };
  if (r.status === g.GLP_FEAS) return { claim: 'feasible', values: r.vars, objective: r.z, seconds, message: 'GLPK stopped at its time limit' };
  if (r.status === g.GLP_NOFEAS) return { claim: 'infeasible', seconds };
  return { claim: 'nosolution', seconds, message: `GLPK status ${r.status}` };
};
