/**
 * `hplb plan` in engine-compatible mode: `--engine-layout`, `--kv-copies r|auto`, or a context-length
 * distribution (`--context 8192:0.3,32768:0.5,131072:0.2`). `cli/src/commands/plan.ts` delegates here when its argv
 * holds any of those. Parses every plan flag itself, solves with the engine-layout solver (solvers/src/engine/) and
 * writes an `hplb.plan/1` plan with an `engineLayout` extension that `hplb export` turns into an engine layout.
 */
import { hplbError, issue } from '@hplb/core';
import { CliFailure, type Io } from '../io.ts';

export async function runEnginePlan(argv: string[], io: Io): Promise<number> {
  void argv;
  void io;
  // Interface first (the plan command delegates here); the solver lands in the next commits.
  throw new CliFailure(hplbError('internal', [issue('$', 'engine-layout planning (being built in cli/src/engine/plan-engine.ts)')]), 1);
}
