/**
 * Where the real per-head data lives: `../shared/data/` next to the repository (never copied into it).
 * Tests and benchmarks call `sharedDataDir()` and skip with `SHARED_DATA_MISSING` when it returns undefined.
 * `HPLB_SHARED_DATA` overrides the location.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding the workspace package.json). */
export const repoRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const sharedDataDir = (): string | undefined => {
  const env = process.env['HPLB_SHARED_DATA'];
  const candidates = [env, join(repoRoot(), '../shared/data')].filter((x): x is string => Boolean(x));
  return candidates.find((c) => existsSync(join(c, 'README.md')) || existsSync(join(c, 'minference')));
};

/** `../shared/bench/` (peer results for partitioning instances), or undefined. */
export const sharedBenchDir = (): string | undefined => {
  const d = join(repoRoot(), '../shared/bench');
  return existsSync(d) ? d : undefined;
};

export const SHARED_DATA_MISSING =
  'real data not found: expected ../shared/data next to the repository (or set HPLB_SHARED_DATA); skipping the tests that read it';
