/**
 * The root facade is platform-neutral: walking the import graph of the compiled `hplb` root (dist/index.js, through
 * @hplb/core, @hplb/solvers and @hplb/planner) reaches no Node built-in module (`node:*`, fs, path, worker_threads…);
 * `hplb/node` does reach them (the check can fail). Static and dynamic imports are followed; fp-ts and io-ts are
 * platform-neutral dependencies and are not entered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NEUTRAL_DEPENDENCIES = ['fp-ts', 'io-ts'];
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every Node built-in reached from `entry`, with the chain of files that reaches it. */
const nodeImports = (entry: string): string[] => {
  const seen = new Set<string>();
  const found: string[] = [];
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith('.js')) return;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (builtins.has(spec)) {
        found.push(`${[...chain, file].map((f) => f.replace(/^.*?\/main\//, '')).join(' -> ')} imports ${spec}`);
        continue;
      }
      if (NEUTRAL_DEPENDENCIES.some((d) => spec === d || spec.startsWith(`${d}/`))) continue;
      const target = spec.startsWith('.') ? resolve(dirname(file), spec) : createRequire(file).resolve(spec);
      walk(target, [...chain, file]);
    }
  };
  walk(entry, []);
  return found;
};

const dist = (p: string) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));

test('the root facade (hplb) reaches no Node built-in module', () => {
  assert.deepEqual(nodeImports(dist('index.js')), []);
});

test('the check sees Node built-ins: hplb/node reaches them', () => {
  assert.ok(nodeImports(dist('node/index.js')).length > 0);
});
