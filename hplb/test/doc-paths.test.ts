/**
 * Every repository path cited in a README, a doc or a module comment exists (issue 22: four docs cited cli/src files
 * that had moved). A cited path starts with a top-level folder (`core/src/serving.ts`, `backends/cuda/scripts`) and
 * resolves against the repository root, the citing file's folder or its package's folder. Package names
 * (`@hplb/solvers`), the facade's subpaths (`hplb/node`) and globs are not paths; build outputs are not committed
 * (`docs/api` from `npm run docs`, any `dist/`, e.g. `web/dist`), so a clean clone does not have them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const TOPS = ['core', 'solvers', 'backends', 'planner', 'runtime', 'engines', 'hplb', 'cli', 'examples', 'web', 'spec', 'scripts', 'docs'];
const CITED = new RegExp(`(?<![@\\w./-])((?:${TOPS.join('|')})/[A-Za-z0-9_.\\-/]*[A-Za-z0-9_])`, 'g');
const GENERATED = /^docs\/api(\/|$)|(^|\/)dist(\/|$)/;

const files = (): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      if (e === 'node_modules' || e.startsWith('.') || e === 'dist' || e === 'build') continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(md|ts)$/.test(e) && !/\.d\.ts$/.test(e)) out.push(p);
    }
  };
  walk(root);
  return out;
};

/** The folder of the nearest package.json above a file. */
const packageDir = (f: string): string => {
  let d = dirname(f);
  while (d.startsWith(root) && !existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
};

/** Markdown as is; TypeScript: its comments only (code holds import specifiers, not citations). */
const citingText = (f: string): string => {
  const text = readFileSync(f, 'utf8');
  return f.endsWith('.md') ? text : [...(text.match(/\/\*[\s\S]*?\*\//g) ?? []), ...(text.match(/\/\/.*$/gm) ?? [])].join('\n');
};

test('every repository path cited in READMEs, docs and module comments exists', () => {
  const missing: string[] = [];
  let cited = 0;
  for (const f of files()) {
    for (const m of citingText(f).matchAll(CITED)) {
      const p = m[1]!;
      if (/^hplb\/(node|testing)$/.test(p) || GENERATED.test(p)) continue;
      cited++;
      if (![root, dirname(f), packageDir(f)].some((base) => existsSync(join(base, p)))) missing.push(`${relative(root, f)} cites ${p}`);
    }
  }
  assert.ok(cited > 100, `found only ${cited} citations: the scan is broken`);
  assert.deepEqual(missing, []);
});
