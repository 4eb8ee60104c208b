/**
 * Consumer tests (issue 12 item 8): what a user installs, tried as a user would, outside the workspace.
 *
 * `npm pack` every non-private workspace package, create a project under os.tmpdir() (no workspace links, nothing of
 * this repository on its resolution path) and `npm install` the tarballs (third-party dependencies come from the npm
 * cache or the registry). One pack and one install serve every subtest:
 *   - the tarballs: explicit exports (no "./*"), every export target shipped, no build state, no install-time build;
 *   - (a) a plain `.mjs` file, no loader, plans the built-in default on 8 GPUs through the facade and validates the
 *     plan (and the plan validates against the shipped JSON Schema), and the installed `hplb` bin starts;
 *   - (b) a `.ts` consumer type-checks with `tsc --noEmit` (skipLibCheck off, so the shipped .d.ts are checked too)
 *     under `moduleResolution: "NodeNext"` and `"bundler"`, and a browser consumer of the platform-neutral entry
 *     points type-checks without Node's types (a global like `Buffer` is invisible to the bundle check);
 *   - (c) core, solvers, planner, engines and the facade root bundle for the browser (esbuild, platform "browser") without
 *     touching a Node built-in; `@hplb/core/node` is the control that the check sees one;
 *   - the README's "Use as a library" example, extracted from README.md, runs as is.
 * Install scripts are not run (`--ignore-scripts`): headless-gl (gpu.js's dependency) would compile from source for
 * minutes; the tarball check asserts hplb's own packages need no install-time script or node-gyp build.
 * Skips, saying why, only when npm cannot reach the registry for a dependency missing from its cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv/dist/2020.js';
import * as esbuild from 'esbuild';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

interface Manifest {
  name: string; private?: boolean; version: string; exports?: Record<string, unknown>; files?: string[];
  scripts?: Record<string, string>; gypfile?: boolean; bin?: Record<string, string>;
}
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The non-private workspace packages, from the root package.json's workspaces. */
const publishable = (): Manifest[] =>
  readJson<{ workspaces: string[] }>(join(repo, 'package.json')).workspaces
    .map((w) => readJson<Manifest>(join(repo, w, 'package.json')))
    .filter((m) => m.private !== true);

interface Run { status: number | null; stdout: string; stderr: string }
const run = (cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Run => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
};
const runAsync = (cmd: string, args: string[], cwd: string): Promise<Run> =>
  new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NETWORK = /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NETUNREACH)|network|request to https?:\/\/\S+ failed/i;

/** The files of a tarball (paths inside `package/`). */
const tarFiles = (tgz: string): string[] =>
  run('tar', ['tzf', tgz], repo).stdout.split('\n').filter(Boolean).map((p) => p.replace(/^package\//, ''));

/** Every file an exports map points at (strings, nested conditions). */
const exportTargets = (e: unknown): string[] =>
  typeof e === 'string' ? [e] : e !== null && typeof e === 'object' ? Object.values(e).flatMap(exportTargets) : [];

/** The code block of the README's "Use as a library" section. */
const readmeExample = (): string => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const at = readme.indexOf('## Use as a library');
  assert.ok(at >= 0, 'README.md has a "Use as a library" section');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'the section has a ```js code block');
  return m[1]!;
};

const PLAN_DEFAULT_MJS = `import { defaultProfile, planProfile, validatePlan, formatError } from 'hplb';
import { writeFileSync } from 'node:fs';
const r = await planProfile(defaultProfile(), { gpus: 8 });
if (r._tag === 'Left') { console.error(formatError(r.left)); process.exit(1); }
const { plan } = r.right;
const v = validatePlan(plan);
if (v._tag === 'Left') { console.error(formatError(v.left)); process.exit(1); }
writeFileSync('plan.json', JSON.stringify(plan, null, 2) + '\\n');
console.log(\`valid plan: \${plan.model.layers} layers on \${plan.devices.length} GPUs, balance efficiency \${plan.predicted.balanceEfficiency.toFixed(4)}\`);
`;

const CONSUMER_TS = `import * as E from 'fp-ts/lib/Either.js';
import { defaultProfile, planProfile, validatePlan, formatError, PlanC, type HplbError, type Plan, type PlanOutcome } from 'hplb';
import { loadProfile, nodeSolverRuntime } from 'hplb/node';
import { headWork } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { solveLayer } from '@hplb/solvers';

export const efficiency = async (): Promise<number> => {
  const r: E.Either<HplbError, PlanOutcome> = await planProfile(defaultProfile(), { gpus: 8, solver: 'lpt', splitHeads: false });
  if (E.isLeft(r)) throw new Error(formatError(r.left));
  const plan: Plan = r.right.plan;
  const checked = validatePlan(plan);
  const decoded = PlanC.decode(JSON.parse(JSON.stringify(plan)));
  return E.isRight(checked) && E.isRight(decoded) ? plan.predicted.balanceEfficiency : NaN;
};
// @ts-expect-error gpus is a count or a device list, never a string: the shipped types say so.
void planProfile(defaultProfile(), { gpus: 'eight' });
const loaded: ReturnType<typeof loadProfile> = loadProfile('profile.json', { format: 'minference' });
export const work: number = headWork(64, 1024);
void loaded; void nodeSolverRuntime; void makeAttentionParams; void solveLayer;
`;

/** A browser consumer: only the platform-neutral entry points, type-checked without Node's types. */
const BROWSER_TS = `import * as E from 'fp-ts/lib/Either.js';
import { defaultProfile, planProfile, validatePlan, createBackend, type Plan } from 'hplb';
import { headWork } from '@hplb/core';
import { makeAttentionParams } from '@hplb/core/kernel';
import { solveLayer } from '@hplb/solvers';
import { comparePipelines } from '@hplb/planner';
import { exportEngineLayout } from '@hplb/engines';
export const run = async (): Promise<number> => {
  const r = await planProfile(defaultProfile(), { gpus: 8 });
  if (E.isLeft(r)) return NaN;
  const plan: Plan = r.right.plan;
  return E.isRight(validatePlan(plan)) ? headWork(64, 1024) : NaN;
};
void createBackend; void makeAttentionParams; void solveLayer; void comparePipelines; void exportEngineLayout;
`;

const tsconfig = (moduleResolution: 'NodeNext' | 'bundler') => ({
  compilerOptions: {
    target: 'ES2022', lib: moduleResolution === 'bundler' ? ['ES2023', 'DOM'] : ['ES2023'],
    module: moduleResolution === 'bundler' ? 'ESNext' : 'NodeNext', moduleResolution,
    strict: true, noEmit: true, skipLibCheck: false, types: ['node'],
  },
  files: ['consumer.ts'],
});

/** Bundle `entry` for the browser; the Node built-ins it reaches, as "importer imports module". */
const browserBundle = async (entry: string, cwd: string): Promise<{ builtins: string[]; errors: string[]; bytes: number }> => {
  const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const builtins: string[] = [];
  const r = await esbuild.build({
    stdin: { contents: `export * from '${entry}';`, resolveDir: cwd, loader: 'js' },
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
    plugins: [{
      name: 'no-node-builtins',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (a) => {
          if (!names.has(a.path) && !a.path.startsWith('node:')) return undefined;
          builtins.push(`${a.importer.replace(`${cwd}/node_modules/`, '')} imports ${a.path}`);
          return { path: a.path, external: true };
        });
      },
    }],
  }).catch((e: esbuild.BuildFailure) => ({ errors: e.errors, outputFiles: [] as esbuild.OutputFile[] }));
  return { builtins, errors: r.errors.map((e) => e.text), bytes: r.outputFiles?.[0]?.contents.length ?? 0 };
};

test('consumer: the packed packages, installed into a project outside the workspace', { timeout: 900_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hplb-consumer-'));
  const tgzDir = join(root, 'tarballs');
  const proj = join(root, 'project');
  mkdirSync(tgzDir);
  mkdirSync(proj);
  try {
    const manifests = publishable();
    assert.ok(manifests.some((m) => m.name === 'hplb'), 'the facade hplb is a publishable workspace');
    const pack = run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', tgzDir, ...manifests.flatMap((m) => ['-w', m.name])], repo);
    assert.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
    const packed = (JSON.parse(pack.stdout) as Array<{ name: string; filename: string }>).map((p) => ({ ...p, path: join(tgzDir, p.filename) }));
    assert.deepEqual(packed.map((p) => p.name).sort(), manifests.map((m) => m.name).sort());
    assert.deepEqual(readdirSync(tgzDir).sort(), packed.map((p) => p.filename).sort());

    const typesVersion = readJson<{ version: string }>(join(repo, 'node_modules', '@types', 'node', 'package.json')).version;
    writeFileSync(join(proj, 'package.json'), JSON.stringify({
      name: 'hplb-consumer', private: true, type: 'module',
      dependencies: Object.fromEntries(packed.map((p) => [p.name, `file:${p.path}`])),
      devDependencies: { '@types/node': typesVersion },
    }, null, 2));
    const install = run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], proj, 600_000);
    if (install.status !== 0 && NETWORK.test(install.stderr)) {
      t.skip(`npm cannot reach the registry for a dependency missing from its cache: ${install.stderr.split('\n').find((l) => NETWORK.test(l))?.trim()}`);
      return;
    }
    assert.equal(install.status, 0, `npm install of the tarballs: ${install.stderr}`);

    await t.test('tarballs: explicit exports, every target shipped, no build state, no install-time build', () => {
      for (const m of manifests) {
        const p = packed.find((x) => x.name === m.name)!;
        const files = new Set(tarFiles(p.path));
        assert.ok(m.exports !== undefined, `${m.name}: package.json has exports`);
        for (const [subpath, target] of Object.entries(m.exports)) {
          assert.ok(!subpath.includes('*'), `${m.name}: exports ${subpath} is explicit, not a wildcard`);
          for (const file of exportTargets(target)) assert.ok(files.has(file.replace(/^\.\//, '')), `${m.name}: exports ${subpath} -> ${file} is in the tarball`);
        }
        for (const file of Object.values(m.bin ?? {})) assert.ok(files.has(file.replace(/^\.\//, '')), `${m.name}: bin ${file} is in the tarball`);
        assert.ok(![...files].some((f) => f.endsWith('.tsbuildinfo')), `${m.name}: no .tsbuildinfo in the tarball`);
        assert.ok(![...files].some((f) => /(^|\/)test\//.test(f) || f.endsWith('.test.js')), `${m.name}: no tests in the tarball`);
        for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(m.scripts?.[s], undefined, `${m.name}: no ${s} script`);
        if (files.has('binding.gyp')) assert.equal(m.gypfile, false, `${m.name}: ships binding.gyp, so gypfile: false keeps npm from running node-gyp on install`);
      }
    });

    await t.test('(a) a plain .mjs, no loader: plan the built-in default on 8 GPUs through the facade and validate it', () => {
      writeFileSync(join(proj, 'plan-default.mjs'), PLAN_DEFAULT_MJS);
      const r = run(process.execPath, ['plan-default.mjs'], proj);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^valid plan: 32 layers on 8 GPUs, balance efficiency 0\.\d{4}\n$/);
      const plan = readJson<{ format: string }>(join(proj, 'plan.json'));
      assert.equal(plan.format, 'hplb.plan/1');
      // The schema shipped in the installed @hplb/core accepts it.
      const ajv = new AjvModule.default({ strict: true });
      const validate = ajv.compile(readJson<object>(join(proj, 'node_modules', '@hplb', 'core', 'schemas', 'plan.schema.json')));
      assert.ok(validate(plan), JSON.stringify(validate.errors));
      // The installed bin starts.
      const help = run(join(proj, 'node_modules', '.bin', 'hplb'), ['--help'], proj);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^\s+plan\s/m);
    });

    await t.test('(b) a .ts consumer type-checks under moduleResolution NodeNext and bundler', async () => {
      writeFileSync(join(proj, 'consumer.ts'), CONSUMER_TS);
      for (const mode of ['NodeNext', 'bundler'] as const) writeFileSync(join(proj, `tsconfig.${mode}.json`), JSON.stringify(tsconfig(mode), null, 2));
      const [nodenext, bundler] = await Promise.all((['NodeNext', 'bundler'] as const).map((mode) => runAsync(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], proj)));
      assert.equal(nodenext!.status, 0, `tsc (NodeNext): ${nodenext!.stdout}${nodenext!.stderr}`);
      assert.equal(bundler!.status, 0, `tsc (bundler): ${bundler!.stdout}${bundler!.stderr}`);
    });

    await t.test('(b) a browser .ts consumer of the platform-neutral entry points type-checks without Node types', () => {
      writeFileSync(join(proj, 'browser.ts'), BROWSER_TS);
      const config = tsconfig('bundler');
      writeFileSync(join(proj, 'tsconfig.browser.json'), JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, types: [] }, files: ['browser.ts'] }, null, 2));
      const r = run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], proj);
      assert.equal(r.status, 0, `a shipped .d.ts of a platform-neutral entry point needs Node's types: ${r.stdout}${r.stderr}`);
    });

    await t.test('(c) core, solvers, planner, engines and the facade root bundle for the browser with no Node built-ins', async () => {
      for (const entry of ['@hplb/core', '@hplb/core/kernel', '@hplb/solvers', '@hplb/planner', '@hplb/engines', 'hplb']) {
        const b = await browserBundle(entry, proj);
        assert.deepEqual(b.errors, [], `${entry}: esbuild errors`);
        assert.deepEqual(b.builtins, [], `${entry} reaches Node built-ins (Node-only code belongs under a /node subpath)`);
        assert.ok(b.bytes > 1000, `${entry}: a bundle was written`);
      }
      // Control: the check does see built-ins where they are allowed.
      const control = await browserBundle('@hplb/core/node', proj);
      assert.ok(control.builtins.some((s) => s.includes('node:fs')), `@hplb/core/node imports node:fs: ${JSON.stringify(control.builtins)}`);
    });

    await t.test('README "Use as a library": the example runs as is', () => {
      writeFileSync(join(proj, 'readme-example.mjs'), readmeExample());
      const r = run(process.execPath, ['readme-example.mjs'], proj);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /on 8 GPUs: balance efficiency 0\.\d{4}\n/);
      assert.match(r.stdout, /independent validator: valid\n/);
    });
  } finally {
    if (process.env['HPLB_KEEP_CONSUMER'] === undefined) rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`consumer project kept in ${root}\n`);
  }
});
