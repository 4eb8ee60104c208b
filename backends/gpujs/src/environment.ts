/**
 * What gpu.js's GPU mode needs on Node and what is missing when it cannot run: headless-gl (the npm package `gl`,
 * a native addon built from source by `npm ci` when its build dependencies are installed) and an X display (Xvfb on
 * servers). Used by `backend.ts` to turn "gpu.js would silently fall back to the CPU" into a clear Left.
 */
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** The gpu.js module (CommonJS), loaded on first use. */
export type GpuJsModule = typeof import('gpu.js');

export const loadGpuJs = (): GpuJsModule => require('gpu.js') as GpuJsModule;

const BUILD_DEPS = 'libxi-dev libx11-dev libxext-dev libgl1-mesa-dev pkg-config python3 make g++';

/** A WebGL context headless-gl opened (and closed again): what it runs on. */
export interface HeadlessGl {
  readonly renderer: string;
  readonly version: string;
}

/**
 * Can headless-gl give gpu.js a WebGL context here? Either what it runs on, or why not: the addon is not built,
 * or it is built but no context opens (no X display, or one that refuses GLX).
 */
export const probeHeadlessGl = (): { readonly ok: HeadlessGl } | { readonly problem: string } => {
  type Ctx = { getParameter(p: number): unknown; getExtension(name: string): { destroy(): void } | null; RENDERER: number; VERSION: number };
  let createContext: (w: number, h: number) => Ctx | null;
  try {
    createContext = require('gl') as typeof createContext;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    if (/did not self-register/.test(why) && !isMainThread)
      return {
        problem: 'headless-gl cannot load in this worker thread: its native addon is not context-aware, so it loads in ONE ' +
          'thread per process and another thread of this process already has it; run the gpujs GPU mode from a single thread ' +
          '(the backend declares capabilities.workerThreads: false, and `hplb execute` then runs every device on its main thread)',
      };
    return {
      problem: `headless-gl (npm package "gl") does not load (${why}): install its build dependencies (${BUILD_DEPS}; ` +
        '`bash scripts/setup-system.sh` does it on Debian/Ubuntu) and run `npm rebuild gl`',
    };
  }
  const ctx = createContext(1, 1);
  if (ctx === null) {
    const display = process.env['DISPLAY'];
    return {
      problem: display === undefined || display === ''
        ? 'headless-gl could not open a WebGL context: no X display (DISPLAY is unset); run under `xvfb-run -a` (Debian package xvfb, installed by `bash scripts/setup-system.sh`) or set DISPLAY'
        : `headless-gl could not open a WebGL context on DISPLAY=${display} (is the X server running and does it offer GLX? try \`xvfb-run -a\`)`,
    };
  }
  const ok = { renderer: String(ctx.getParameter(ctx.RENDERER)), version: String(ctx.getParameter(ctx.VERSION)) };
  ctx.getExtension('STACKGL_destroy_context')?.destroy();
  return { ok };
};
