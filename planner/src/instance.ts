/**
 * `solveInstance`: one raw multiway-partitioning instance `{costs, gpus, constraints?}` (P‖Cmax with serving
 * constraints) solved by hplb's solvers, so they serve any such problem (what `hplb solve` does). Also picks an
 * instance by name from a bench file `{instances: [...]}`. Errors name JSON paths of the instance.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, NonNegativeInt, Positive, decode, hplbError, issue, type HplbError } from '@hplb/core';
import { instanceSizeIssue, solveLayer, type LayerProblem, type SolverName, type SolverRuntime } from '@hplb/solvers';

const ConstraintsC = t.partial({
  equalHeadsPerDevice: t.boolean,
  groups: t.array(t.array(NonNegativeInt)),
  pinned: t.array(t.type({ item: NonNegativeInt, device: NonNegativeInt })),
  speeds: t.array(Positive),
  timeMatrix: t.array(t.array(NonNegative)),
  previous: t.array(NonNegativeInt),
  migrationWeight: NonNegative,
  kvGroupOf: t.array(NonNegativeInt),
  maxKvPerDevice: t.array(t.union([NonNegativeInt, t.null])),
  maxExtraKvCopies: NonNegativeInt,
}, 'Constraints');

/** An instance: item costs on a speed-1 GPU, the GPU count, optional constraints and a name. */
export const InstanceC = t.intersection([
  t.type({ costs: t.array(NonNegative), gpus: NonNegativeInt }),
  t.partial({ name: t.string, constraints: ConstraintsC }),
], 'Instance');
/** A decoded instance. */
export type Instance = t.TypeOf<typeof InstanceC>;

const BenchC = t.type({ instances: t.array(t.UnknownRecord) }, 'BenchFile');

/**
 * Pick the instance: `u` itself, or the one called `name` in a bench file. Left: a decode error (JSON path inside
 * the instance, `$.instances[k]…` in a bench file) or an `argument` error at `$.name`.
 */
export const readInstance = (u: unknown, name?: string, file?: string): E.Either<HplbError, Instance> => {
  const isBench = typeof u === 'object' && u !== null && 'instances' in u;
  if (!isBench) {
    if (name !== undefined) return E.left(hplbError('argument', [issue('$.name', 'a bench file ({"instances": [...]}) to pick the instance from', name)], file));
    return decode(InstanceC, u, file);
  }
  return E.chain((b: t.TypeOf<typeof BenchC>) => {
    const names = b.instances.map((x) => String(x['name']));
    if (name === undefined) return E.left(hplbError('argument', [issue('$.name', `an instance name (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`)], file));
    const k = names.indexOf(name);
    if (k < 0) return E.left(hplbError('argument', [issue('$.name', `one of the ${names.length} instances in the file (${names.slice(0, 6).join(', ')}, …)`, name)], file));
    return E.mapLeft((e: HplbError) => ({ ...e, issues: e.issues.map((i) => ({ ...i, path: i.path.replace(/^\$/, `$.instances[${k}]`) })) }))(decode(InstanceC, b.instances[k], file));
  })(decode(BenchC, u, file));
};

/** The solvers' problem of an instance. Left: no GPU, or a speed list of the wrong length. */
export const instanceProblem = (inst: Instance, file?: string): E.Either<HplbError, LayerProblem> => {
  const c = inst.constraints ?? {};
  if (inst.gpus === 0) return E.left(hplbError('argument', [issue('$.gpus', 'at least one GPU', 0)], file));
  // The solvers' size limits, before anything is allocated per GPU (gpus 1e308 or 2^32 threw RangeError here).
  const size = instanceSizeIssue(inst.costs.length, inst.gpus);
  if (size) return E.left(hplbError('argument', [issue(size.path, size.expected, size.actual)], file));
  const speeds = c.speeds ?? Array<number>(inst.gpus).fill(1);
  if (speeds.length !== inst.gpus) return E.left(hplbError('decode', [issue('$.constraints.speeds', `${inst.gpus} speeds, one per GPU ($.gpus)`, `${speeds.length} values`)], file));
  return E.right({
    layer: 0,
    costs: inst.costs,
    speeds,
    ...(c.timeMatrix ? { timeMatrix: c.timeMatrix } : {}),
    ...(c.groups ? { groups: c.groups } : {}),
    ...(c.equalHeadsPerDevice ? { equalHeadsPerDevice: true } : {}),
    ...(c.pinned ? { pinned: c.pinned } : {}),
    ...(c.previous ? { previous: c.previous, migrationWeight: c.migrationWeight ?? 0 } : {}),
    ...(c.kvGroupOf ? { kvGroupOf: c.kvGroupOf } : {}),
    ...(c.maxKvPerDevice ? { maxKvPerDevice: c.maxKvPerDevice } : {}),
    ...(c.maxExtraKvCopies !== undefined ? { maxExtraKvCopies: c.maxExtraKvCopies } : {}),
  });
};

/** Options of `solveInstance`. */
export interface SolveInstanceOptions {
  /** Solver (default `auto`). */
  readonly solver?: SolverName;
  /** Wall-clock budget, ms (default 10 000). */
  readonly timeLimitMs?: number;
  readonly seed?: number;
  /** Deterministic effort for `auto`/`exact`/`local` (search steps). */
  readonly effort?: number;
  /** Where solving runs (ILP engines need one; `hplb/node` passes the Node runtime). */
  readonly runtime?: SolverRuntime;
  /** Named in errors. */
  readonly file?: string;
}

/** What `hplb solve` prints. */
export interface InstanceSolution {
  readonly makespan: number;
  readonly lowerBound: number;
  readonly status: 'optimal' | 'feasible' | 'timedout';
  readonly gap: number;
  readonly seconds: number;
  readonly assignment: ReadonlyArray<number>;
  /** The instance solved (the named one of a bench file). */
  readonly instance: Instance;
}

/** Solve an instance (already decoded). Left `infeasible` names the violated constraint (`$.constraints.X`). */
export const solveDecodedInstance = async (inst: Instance, options: SolveInstanceOptions = {}): Promise<E.Either<HplbError, InstanceSolution>> => {
  const problem = instanceProblem(inst, options.file);
  if (E.isLeft(problem)) return problem;
  const r = await solveLayer(problem.right, options.solver ?? 'auto', {
    timeLimitMs: options.timeLimitMs ?? 10_000,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.effort !== undefined ? { effort: options.effort } : {}),
  }, options.runtime);
  // Read the status as data: the solvers may answer `unavailable` (an ILP engine that cannot start) besides a layer result.
  const answer = r as unknown as { status: string; engine?: string; constraint?: string; message?: string };
  if (answer.status === 'unavailable') return E.left(hplbError('backend', [issue('$.solver', `an ILP engine that can start (${answer.engine}: ${answer.message})`, options.solver ?? 'auto')], options.file));
  if (answer.status === 'infeasible' || !('assignment' in r)) return E.left(hplbError('infeasible', [issue(`$.constraints.${answer.constraint ?? ''}`.replace(/\.$/, ''), `a satisfiable constraint set: ${answer.message ?? ''}`)], options.file));
  return E.right({ makespan: r.makespan, lowerBound: r.lowerBound, status: r.status, gap: r.gap, seconds: r.seconds, assignment: r.assignment, instance: inst });
};
