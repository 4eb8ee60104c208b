/**
 * `hplb solve <instance.json> [--solver …] [--time-limit S] [--json] [--name <instance>] [--seed N]`: solve one raw
 * multiway-partitioning instance `{costs: number[], gpus: int, constraints?}` with hplb's solvers, so the engine can be
 * used for any P||Cmax problem and checked against the peers. It also reads the shared bench file
 * (`{instances: [{name, costs, gpus, …}]}`) with `--name <instance>`.
 *
 * Prints `{makespan, lowerBound, status, gap, seconds, assignment}` (`--json`), or the same as text. `constraints`
 * may hold: equalHeadsPerDevice, groups (atomic item sets), pinned [{item, device}], speeds (one per GPU),
 * timeMatrix (item × GPU), previous (a device per item) + migrationWeight, kvGroupOf + maxKvPerDevice /
 * maxExtraKvCopies. An infeasible constraint set fails with one line naming the constraint (exit 1).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { NonNegative, NonNegativeInt, Positive, decode, hplbError, issue, type HplbError } from '@hplb/core';
import { SOLVER_NAMES, solveLayer, type LayerProblem } from '@hplb/solvers/node';
import { parseArgs } from '../args.ts';
import { CliFailure, argumentError, orFail, readJson, type Io } from '../io.ts';
import { readSolverName, readTimeLimitMs } from '../solverFlags.ts';

export const summary = 'solve a raw partitioning instance {costs, gpus, constraints?} (or a shared bench instance by --name)';

const USAGE = `Usage: hplb solve <instance.json> [--solver ${SOLVER_NAMES.join('|')}] [--time-limit S] [--json] [--name NAME] [--seed N]

  <instance.json>  {"costs": [..], "gpus": G, "constraints"?: {...}} or a bench file {"instances": [...]} (with --name)
  --solver         solver (default auto: builders, local search, then exact within the time limit)
  --time-limit S   wall-clock budget in seconds (> 0, default 10)
  --json           print {makespan, lowerBound, status, gap, seconds, assignment}
  --name NAME      the instance to take from a bench file
  --seed N         seed for randomised search (default 1)
`;

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

export const InstanceC = t.intersection([
  t.type({ costs: t.array(NonNegative), gpus: NonNegativeInt }),
  t.partial({ name: t.string, constraints: ConstraintsC }),
], 'Instance');
export type Instance = t.TypeOf<typeof InstanceC>;

const BenchC = t.type({ instances: t.array(t.UnknownRecord) }, 'BenchFile');

/** Pick the instance: the file itself, or the named one of a bench file. */
export const readInstance = (u: unknown, file: string, name: string | undefined): E.Either<HplbError, Instance> => {
  const isBench = typeof u === 'object' && u !== null && 'instances' in u;
  if (!isBench) {
    if (name !== undefined) return E.left(hplbError('argument', [issue('--name', 'a bench file ({"instances": [...]}) to pick the instance from', name)], file));
    return decode(InstanceC, u, file);
  }
  return E.chain((b: t.TypeOf<typeof BenchC>) => {
    const names = b.instances.map((x) => String(x['name']));
    if (name === undefined) return E.left(hplbError('argument', [issue('--name', `an instance name (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`)], file));
    const k = names.indexOf(name);
    if (k < 0) return E.left(hplbError('argument', [issue('--name', `one of the ${names.length} instances in the file (${names.slice(0, 6).join(', ')}, …)`, name)], file));
    return E.mapLeft((e: HplbError) => ({ ...e, issues: e.issues.map((i) => ({ ...i, path: i.path.replace(/^\$/, `$.instances[${k}]`) })) }))(decode(InstanceC, b.instances[k], file));
  })(decode(BenchC, u, file));
};

export const problemOf = (inst: Instance, file: string): LayerProblem => {
  const c = inst.constraints ?? {};
  if (inst.gpus === 0) throw new CliFailure(hplbError('argument', [issue('$.gpus', 'at least one GPU', 0)], file), 1);
  const speeds = c.speeds ?? Array<number>(inst.gpus).fill(1);
  if (speeds.length !== inst.gpus) throw new CliFailure(hplbError('decode', [issue('$.constraints.speeds', `${inst.gpus} speeds, one per GPU ($.gpus)`, `${speeds.length} values`)], file), 1);
  return {
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
  };
};

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['solver', 'time-limit', 'name', 'seed'], booleans: ['json', 'help'] });
  if (args.flag('help')) {
    io.out(USAGE);
    return 0;
  }
  const file = args.positionals[0];
  if (file === undefined) throw argumentError('<instance.json>', 'an instance file (hplb solve --help)');
  if (args.positionals.length > 1) throw argumentError('<instance.json>', 'one instance file', args.positionals.slice(1).join(' '));
  const solver = readSolverName(args);
  const timeLimitMs = readTimeLimitMs(args, 10_000);
  const seed = args.int('seed');
  const picked = E.chain((u: unknown) => readInstance(u, file, args.string('name')))(readJson(file));
  const inst = orFail(picked, E.isLeft(picked) && picked.left.code === 'argument' ? 2 : 1);
  const problem = problemOf(inst, file);
  const r = await solveLayer(problem, solver, { timeLimitMs, ...(seed !== undefined ? { seed } : {}) });
  if (r.status === 'infeasible') throw new CliFailure(hplbError('infeasible', [issue(`$.constraints.${r.constraint}`, `a satisfiable constraint set: ${r.message}`)], file), 1);
  const out = { makespan: r.makespan, lowerBound: r.lowerBound, status: r.status, gap: r.gap, seconds: r.seconds, assignment: r.assignment };
  if (args.flag('json')) {
    io.out(JSON.stringify(out) + '\n');
    return 0;
  }
  io.out(`${inst.name ?? file}: ${inst.costs.length} items on ${inst.gpus} GPUs, solver ${solver}\n`);
  io.out(`  makespan    ${r.makespan}\n  lowerBound  ${r.lowerBound}\n  status      ${r.status}\n  gap         ${(r.gap * 100).toFixed(4)}%\n  seconds     ${r.seconds.toFixed(3)}\n`);
  io.out(`  assignment  ${r.assignment.join(' ')}\n`);
  return 0;
}
