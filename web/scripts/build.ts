/**
 * Builds the static planner page into web/dist/: index.html, style.css, main.js, worker.js (the solver worker) and
 * gpuWorker.js (the GPU panel's worker), with source maps,
 * bundled by esbuild for the browser from web/src and the compiled library packages (run `tsc -b` first; the root
 * `npm run build:web` does both). No server code and no Node built-ins end up in the page: esbuild's browser
 * platform refuses to resolve them, and the build checks the bundle's inputs as well. The new site is written
 * next to the old one and renamed over it, so a server never sees a half-written dist/.
 *
 *   npx tsx web/scripts/build.ts [--out DIR]
 */
import { build, type Metafile } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT_DIR = join(WEB_DIR, 'dist');
const STATIC_FILES = ['index.html', 'style.css'];

export interface BuiltSite {
  readonly dir: string;
  /** Bytes per output file, for the build's summary line. */
  readonly outputs: Record<string, number>;
}

/**
 * Library modules that are Node-only would not run in a browser: a package's `/node` subpath. (Node built-ins
 * themselves cannot even resolve on esbuild's browser platform.)
 */
const nodeOnlyInputs = (meta: Metafile): string[] => Object.keys(meta.inputs).filter((f) => /(^|\/)dist\/node\//.test(f));

export const buildSite = async (outDir: string = DEFAULT_OUT_DIR): Promise<BuiltSite> => {
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const version = (JSON.parse(readFileSync(join(WEB_DIR, '..', 'hplb', 'package.json'), 'utf8')) as { version: string }).version;
    const r = await build({
      absWorkingDir: WEB_DIR,
      entryPoints: { main: 'src/main.ts', worker: 'src/worker.ts', gpuWorker: 'src/gpuWorker.ts' },
      outdir: tmp,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      sourcemap: true,
      metafile: true,
      logLevel: 'warning',
      define: { __HPLB_VERSION__: JSON.stringify(version) },
    });
    const bad = nodeOnlyInputs(r.metafile);
    if (bad.length > 0) throw new Error(`the page bundle pulls in Node-only modules: ${bad.slice(0, 5).join(', ')}`);
    for (const f of STATIC_FILES) copyFileSync(join(WEB_DIR, 'src', f), join(tmp, f));
    const outputs: Record<string, number> = {};
    for (const [f, o] of Object.entries(r.metafile.outputs)) outputs[f.slice(f.lastIndexOf('/') + 1)] = o.bytes;
    for (const f of STATIC_FILES) outputs[f] = readFileSync(join(tmp, f)).length;
    const old = `${outDir}.old-${process.pid}`;
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(tmp, outDir);
    rmSync(old, { recursive: true, force: true });
    return { dir: outDir, outputs };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
};

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 && process.argv[i + 1] !== undefined ? resolve(process.argv[i + 1]!) : DEFAULT_OUT_DIR;
  buildSite(out).then(
    (s) => {
      const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
      console.log(`web: built ${s.dir}: ${Object.entries(s.outputs).filter(([f]) => !f.endsWith('.map')).map(([f, b]) => `${f} ${kb(b)}`).join(', ')}`);
    },
    (e: unknown) => {
      console.error(`web: build failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      process.exit(1);
    },
  );
}
