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
import * as E from 'fp-ts/lib/Either.js';
import { SOLVER_NAMES, type InstanceSolution } from 'hplb';
import { solveInstance } from 'hplb/node';
import { parseArgs } from '../args.ts';
import { argumentError, orFail, readJson, type Io } from '../io.ts';
import { CliFailure } from '../io.ts';
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

/** `hplb solve`'s own option paths (the instance's paths, `$.gpus`, `$.constraints.X`, stay as they are). */
const SOLVE_FLAGS: Readonly<Record<string, string>> = { '$.name': '--name', '$.solver': '--solver' };

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
  const name = args.string('name');
  const u = orFail(readJson(file));
  const solved = await solveInstance(u, { solver, timeLimitMs, file, ...(seed !== undefined ? { seed } : {}), ...(name !== undefined ? { name } : {}) });
  if (E.isLeft(solved)) {
    const e = solved.left;
    // Usage errors (--name) exit 2, like the argument errors of the flags; a bad instance exits 1.
    const usage = e.code === 'argument' && e.issues[0]?.path === '$.name';
    throw new CliFailure({ ...e, issues: e.issues.map((i) => ({ ...i, path: SOLVE_FLAGS[i.path] ?? i.path })) }, usage ? 2 : 1);
  }
  const r: InstanceSolution = solved.right;
  const out = { makespan: r.makespan, lowerBound: r.lowerBound, status: r.status, gap: r.gap, seconds: r.seconds, assignment: r.assignment };
  const inst = r.instance;
  if (args.flag('json')) {
    io.out(JSON.stringify(out) + '\n');
    return 0;
  }
  io.out(`${inst.name ?? file}: ${inst.costs.length} items on ${inst.gpus} GPUs, solver ${solver}\n`);
  io.out(`  makespan    ${r.makespan}\n  lowerBound  ${r.lowerBound}\n  status      ${r.status}\n  gap         ${(r.gap * 100).toFixed(4)}%\n  seconds     ${r.seconds.toFixed(3)}\n`);
  io.out(`  assignment  ${r.assignment.join(' ')}\n`);
  return 0;
}
