/**
 * Every workspace package declares what it imports: a package installed from its tarball (outside this repository's
 * hoisted node_modules) finds each dependency only if its package.json names it. Source imports must be in
 * dependencies / optionalDependencies; test and script imports may also be devDependencies. Dynamic imports with a
 * literal specifier count; computed ones (the backend registry's) are declared by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '@hplb/core/node';

const root = repoRoot();
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
const walk = (d: string): string[] =>
  !existsSync(d) ? [] : readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    if (f === 'node_modules' || f === 'dist' || f === '.tsbuild') return [];
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|mjs)$/.test(f) ? [p] : [];
  });
const packageOf = (s: string) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Packages a set of files imports that `declared` lacks, as "package <- file". */
const undeclared = (files: ReadonlyArray<string>, declared: ReadonlySet<string>): string[] => {
  const out = new Set<string>();
  for (const f of files)
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const s = (m[1] ?? m[2])!;
      if (s.startsWith('.') || s.startsWith('node:') || s.startsWith('#') || builtinModules.includes(packageOf(s))) continue;
      if (!declared.has(packageOf(s))) out.add(`${packageOf(s)} <- ${f.slice(root.length + 1)}`);
    }
  return [...out].sort();
};

test('the import scan sees real imports (it is not vacuous)', () => {
  const files = walk(join(root, 'planner', 'src'));
  assert.ok(files.length > 3);
  assert.ok(undeclared(files, new Set()).some((x) => x.startsWith('@hplb/solvers <- ')));
});

for (const w of workspaces) {
  test(`${w}: every import is declared in its package.json`, () => {
    const pj = JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string | undefined>;
    const keys = (k: string) => Object.keys((pj[k] as Record<string, string> | undefined) ?? {});
    const prod = new Set([...keys('dependencies'), ...keys('optionalDependencies'), ...keys('peerDependencies'), pj['name'] as string]);
    const dev = new Set([...prod, ...keys('devDependencies')]);
    assert.deepEqual(undeclared(walk(join(root, w, 'src')), prod), [], 'source imports missing from dependencies');
    assert.deepEqual(undeclared([...walk(join(root, w, 'test')), ...walk(join(root, w, 'scripts'))], dev), [], 'test/script imports missing from (dev)dependencies');
  });
}
