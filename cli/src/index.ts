/** The CLI as a library: run `hplb` commands in-process (tests, embedding). */
export { main, COMMANDS, type Command, type CommandName } from './main.ts';
export { processIo, type Io, CliFailure, argumentError, orFail, readJson, readText } from './io.ts';
export { parseArgs, Args } from './args.ts';
export { progressBar } from './progress.ts';
export { takeBackendOptions, parseBackendOptions, BACKEND_OPTION_FLAG } from './backendFlags.ts';
