/**
 * `hplb` command dispatcher. Each command lives in `commands/<name>.ts` and exports `summary` and
 * `run(argv, io): Promise<number>`. Commands are loaded lazily so one command's heavy dependencies
 * (GPU backends, ILP engines) never slow down or break another.
 */
import { formatError, hplbError, issue } from '@hplb/core';
import { CliFailure, processIo, renderFailure, type Io } from './io.ts';

export interface Command {
  readonly summary: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Every command, in help order. */
export const COMMANDS = ['plan', 'pareto', 'inspect', 'solve', 'profile', 'execute', 'calibrate', 'export', 'apply'] as const;
export type CommandName = (typeof COMMANDS)[number];

const load = async (name: CommandName): Promise<Command> => (await import(new URL(`./commands/${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href)) as Command;

const help = async (io: Io): Promise<number> => {
  io.out('hplb: plan how sparse LLM attention is served across GPUs\n\nUsage: hplb <command> [flags]   (hplb <command> --help for flags)\n\n');
  for (const name of COMMANDS) {
    const summary = await load(name).then((c) => c.summary, () => '(unavailable)');
    io.out(`  ${name.padEnd(10)} ${summary}\n`);
  }
  return 0;
};

export const main = async (argv: string[], io: Io = processIo()): Promise<number> => {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      if (name === undefined) return await (await load('plan')).run([], io);
      return await help(io);
    }
    if (!(COMMANDS as ReadonlyArray<string>).includes(name)) {
      io.err(renderFailure(new CliFailure(hplbError('argument', [issue('$', `a command (${COMMANDS.join(', ')})`, name)]), 2)));
      return 2;
    }
    return await (await load(name as CommandName)).run(rest, io);
  } catch (e) {
    if (e instanceof CliFailure) {
      io.err(renderFailure(e));
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`hplb: internal error: ${msg}\n`);
    if (process.env['HPLB_DEBUG'] && e instanceof Error) io.err(`${e.stack}\n`);
    return 70;
  }
};
export { formatError };
