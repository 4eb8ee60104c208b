/**
 * The tensor-core kernels' fragment addressing (src/fragments.h, used by src/kernels.cu), checked on the CPU:
 * test/fragments.cc emulates ldmatrix (plain and .trans) and mma.sync.m16n8k16 from the PTX ISA's fragment layouts,
 * feeds them the kernels' offsets for d = 32/64/128 (simple and pipelined variants) and requires S = Q·Kᵀ and
 * O = P·V exactly. No GPU needed; skipped only where no C++ compiler is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/binding.ts';

const compiler = ['g++', 'c++', 'clang++'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);

test('mma / ldmatrix fragment offsets give S = Q·Kᵀ and O = P·V exactly (host emulation of the PTX layouts)', { skip: compiler === undefined ? 'no C++ compiler (g++, c++, clang++) on this machine' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-fragments-'));
  try {
    const exe = join(dir, 'fragments');
    execFileSync(compiler!, ['-std=c++17', '-O1', '-o', exe, join(packageRoot(), 'test/fragments.cc')], { stdio: 'pipe' });
    const run = spawnSync(exe, { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^0 failure\(s\)$/m);
    assert.equal((run.stdout.match(/^ok /gm) ?? []).length, 12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
