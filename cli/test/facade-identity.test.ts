/**
 * The CLI uses exactly the library: `hplb plan` (no arguments) writes the plan.json that the facade's
 * `planProfile(defaultProfile())` returns, serialized the same way (`JSON.stringify(plan, null, 2) + '\n'`), and the
 * plan.svg `renderComparisonSvg(mainJob())` draws, byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProfile, formatError, renderComparisonSvg } from 'hplb';
import { mainJob, planProfile } from 'hplb/node';
import { main } from '../src/main.ts';

test('hplb plan writes what planProfile(defaultProfile()) returns, byte for byte', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-facade-'));
  try {
    let err = '';
    const code = await main(['plan', '--out-dir', dir], { out: () => undefined, err: (s) => (err += s), tty: false, cwd: dir });
    assert.equal(code, 0, err);
    const r = await planProfile(defaultProfile());
    assert.equal(r._tag, 'Right', r._tag === 'Left' ? formatError(r.left) : '');
    if (r._tag !== 'Right') return;
    const mine = JSON.stringify(r.right.plan, null, 2) + '\n';
    const written = readFileSync(join(dir, 'plan.json'), 'utf8');
    if (mine !== written) {
      const a = mine.split('\n');
      const b = written.split('\n');
      const i = a.findIndex((line, k) => line !== b[k]);
      assert.fail(`plan.json differs from planProfile's plan first at line ${i + 1}: ${b[i]} vs ${a[i]}`);
    }
    const job = await mainJob();
    assert.equal(job._tag, 'Right', job._tag === 'Left' ? formatError(job.left) : '');
    if (job._tag !== 'Right') return;
    assert.equal(JSON.stringify(job.right.outcome.plan, null, 2) + '\n', written, 'the main job writes planProfile(defaultProfile())');
    assert.equal(renderComparisonSvg(job.right), readFileSync(join(dir, 'plan.svg'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
