/**
 * The ILP worker thread: receives `{ id, engine, request }`, runs the engine (which blocks this thread) and posts
 * `{ id, answer }`. Started by `index.ts` through core's `spawnTsWorker`; terminated by it at the hard time limit.
 * GLPK (GPL) is loaded here by a dynamic import of the optional package, never statically.
 */
import { parentPort } from 'node:worker_threads';
import type { EngineAnswer, EngineRequest } from './engine.ts';
import { runHighs } from './highs.ts';

// The engines' WebAssembly builds print solver chatter through console (glpk: "Constructing initial basis...");
// it must never reach the host's stdout (a CLI's --json output). Everything this worker reports goes by message.
// (Emscripten binds console.log when the runtime is created, i.e. after this line.)
for (const k of ['log', 'info', 'debug', 'warn', 'error'] as const) console[k] = () => undefined;

/** The optional GPL package; a variable, so neither TypeScript nor bundlers follow it statically. */
const GLPK_PACKAGE: string = '@hplb/solver-glpk';

type GlpkModule = { runGlpk: (req: EngineRequest) => Promise<EngineAnswer> };

const runGlpkDynamic = async (req: EngineRequest): Promise<EngineAnswer> => {
  let mod: GlpkModule;
  try {
    mod = (await import(GLPK_PACKAGE)) as GlpkModule;
  } catch (e) {
    return { claim: 'error', seconds: 0, message: `the GLPK engine needs the optional GPL-3.0 package ${GLPK_PACKAGE} (solvers/glpk): ${(e as Error).message}` };
  }
  return mod.runGlpk(req);
};

export interface WorkerCall {
  readonly id: number;
  readonly engine: 'glpk' | 'highs';
  readonly request: EngineRequest;
}

const port = parentPort;
if (port) {
  port.on('message', (msg: WorkerCall) => {
    const run = msg.engine === 'glpk' ? runGlpkDynamic : runHighs;
    run(msg.request).then(
      (answer) => port.postMessage({ id: msg.id, answer }),
      (e: unknown) => port.postMessage({ id: msg.id, answer: { claim: 'error', seconds: 0, message: e instanceof Error ? e.message : String(e) } }),
    );
  });
}
