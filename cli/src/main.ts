/**
 * `hplb` command dispatcher. Each command lives in `commands/<name>.ts` and exports `summary` and
 * `run(argv, io): Promise<number>`. Commands are loaded lazily so one command's heavy dependencies
 * (GPU backends, ILP engines) never slow down or break another. `hplb --help` prints from the static table
 * `SUMMARIES` and loads nothing else (no command, no library), so it starts about as fast as Node itself; a test
 * checks the table against each command's own `summary`.
 */
import type { Io } from './io.ts';

export interface Command {
  readonly summary: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Every command, in help order. */
export const COMMANDS = ['plan', 'pareto', 'inspect', 'solve', 'profile', 'execute', 'calibrate', 'export', 'apply'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** One line per command for `hplb --help` (each equals the command module's `summary`). */
export const SUMMARIES: Readonly<Record<CommandName, string>> = {
  plan: 'plan budgets and head placement (no arguments: the published MInference Llama-3.1-8B-Instruct profile on 8 GPUs, with charts)',
  pareto: 'sweep budget densities per pipeline and chart latency against recovery (pareto.svg)',
  inspect: 'per-layer head budgets (min/mean/max, max/min) of a MInference, DuoAttention, MoA, XAttention or hplb profile',
  solve: 'solve a raw partitioning instance {costs, gpus, constraints?} (or a shared bench instance by --name)',
  profile: 'recovery curves per head from q/k dumps (.npy/safetensors) or synthetic heads; stability report',
  execute: 'run a plan on a kernel backend (simulated devices in turn or a worker each, barrier per layer); predicted vs measured per layer',
  calibrate: 'time a kernel backend over budgets × context lengths, whole heads and split parts; fit fixed + per-row + per-pair cost (R², CIs); write hplb.calibration/1',
  export: 'turn a plan into an engine layout (hplb.engine-layout/1) for vLLM, SGLang or TensorRT-LLM, plus a re-indexed MInference config',
  apply: 'rewrite a Llama / Mistral / Qwen2 safetensors checkpoint for an engine layout (permute and duplicate q/k/v/o heads, update config.json)',
};

/** Load a command module. */
export const loadCommand = async (name: CommandName): Promise<Command> =>
  (await import(new URL(`./commands/${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href)) as Command;

const helpText = (): string =>
  'hplb: plan how sparse LLM attention is served across GPUs\n\nUsage: hplb <command> [flags]   (hplb <command> --help for flags)\n\n' +
  COMMANDS.map((name) => `  ${name.padEnd(10)} ${SUMMARIES[name]}\n`).join('');

export const main = async (argv: string[], given?: Io): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    if (given) given.out(helpText());
    else process.stdout.write(helpText());
    return 0;
  }
  const { CliFailure, processIo, renderFailure } = await import('./io.ts');
  const io = given ?? processIo();
  try {
    if (name === undefined) return await (await loadCommand('plan')).run([], io);
    if (!(COMMANDS as ReadonlyArray<string>).includes(name)) {
      const { hplbError, issue } = await import('@hplb/core');
      io.err(renderFailure(new CliFailure(hplbError('argument', [issue('$', `a command (${COMMANDS.join(', ')})`, name)]), 2)));
      return 2;
    }
    return await (await loadCommand(name as CommandName)).run(rest, io);
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
