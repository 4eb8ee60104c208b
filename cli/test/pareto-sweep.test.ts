/** `hplb pareto`: sweeps each pipeline, writes a well-formed pareto.svg, and the skyline holds no dominated point. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';
import { checkWellFormed } from '@hplb/planner';

test('pareto sweeps four pipelines over densities and p, writes pareto.svg; max-min min ≥ uniform min at each density', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-pareto-'));
  try {
    const n = 8192;
    const grid = [0, 64, 256, 1024, 4096, 8192];
    const curve = (k: number) => ({ tokens: grid, mass: grid.map((t) => (t === 0 ? 0 : t >= n ? 1 : Math.min(0.999, 1 - Math.exp(-t / (60 + 500 * k))))) });
    const file = join(dir, 'curves.json');
    writeFileSync(file, JSON.stringify({
      format: 'hplb.profile/1', kind: 'curve', model: { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 64 }, contextLength: n,
      curves: [0, 1].map((l) => [0, 1, 2, 3].map((h) => curve((l + 3 * h) % 5))),
    }));
    let out = '';
    let err = '';
    const io: Io = { out: (s) => (out += s), err: (s) => (err += s), tty: false, cwd: dir };
    const code = await main(['pareto', '--profile', file, '--gpus', '2', '--densities', '0.05,0.1,0.2', '--ps', '0.9,0.95', '--json', '--out-dir', dir], io);
    assert.equal(code, 0, err);
    const data = JSON.parse(out) as { series: Array<{ name: string; points: Array<{ density: number; latency: number; min: number; mean: number }> }> };
    assert.deepEqual(data.series.map((s) => s.points.length), [3, 2, 3, 3]);
    const uni = data.series[0]!.points;
    const mm = data.series[2]!.points;
    uni.forEach((u, i) => assert.ok(mm[i]!.min >= u.min - 1e-9, `density ${u.density}: max-min min ${mm[i]!.min} < uniform ${u.min}`));
    const svg = readFileSync(join(dir, 'pareto.svg'), 'utf8');
    const wf = checkWellFormed(svg);
    assert.ok(wf.ok, wf.ok ? '' : wf.problem);
    assert.equal(wf.elements.filter((e) => e.name === 'polyline').length, 8);
    const bad = await main(['pareto', '--densities', '0.1,0'], { ...io, err: (s) => (err = s) });
    assert.notEqual(bad, 0);
    assert.match(err, /--densities: expected a comma-separated list of densities in \(0, 1\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
