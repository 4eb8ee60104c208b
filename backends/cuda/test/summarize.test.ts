/**
 * The device check's summary (scripts/summarize.ts) decides the targets from the GPU run's files: each
 * target passes or FAILs on the measured numbers, and anything not measured reads "not run", never a number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateTargets, renderSummary, type CudaBench, type TorchResults } from '../scripts/summarize.ts';

const row = (tokens: number, pct: number, density: number, ms: number) =>
  ({ id: `N${tokens}-D${pct}`, tokens, heads: 2, targetDensityPct: pct, blockDensity: density, kernelMs: ms, firstKernelMs: ms * 2, tflops: 100 });
const cuda: CudaBench = {
  results: [row(131072, 10, 0.1, 10), row(131072, 20, 0.2, 19), row(131072, 100, 1, 60)],
  blockMass: [{ tokens: 131072, kernelMs: 35 }],
  linearity: [{ tokens: 131072, r2: 0.97, slope: 1, intercept: 0 }],
};
const torch: TorchResults = {
  torch: '2.11', device: 'H100',
  flash: [{ tokens: 131072, heads: 2, ms: 45, firstMs: 50 }, { tokens: 131072, heads: 1, ms: 20, firstMs: 21 }],
  flex: [{ id: 'N131072-D10', tokens: 131072, heads: 2, ms: 9, firstMs: 900, kernelOptions: null }],
  checks: [],
};

test('targets pass or fail on the measured numbers', () => {
  const t = evaluateTargets(cuda, torch, 0.99, 0.12);
  const by = (prefix: string) => t.find((x) => x.name.startsWith(prefix));
  assert.equal(by('dense N=128K')?.pass, true); // 45 / 60 = 0.75 ≥ 0.7
  assert.equal(by('10 % density N=128K')?.pass, true); // 60·0.1/10 = 0.6
  assert.equal(by('N131072-D10: within 1.25×')?.pass, true); // 10/9
  assert.equal(by('blockMass N=128K')?.pass, false); // 35/20 = 1.75 > 1.5
  assert.equal(by('time linear')?.pass, false); // 0.97 < 0.98
  assert.equal(by('predicted vs measured')?.pass, false); // 12 % > 10 %
});

test('missing outputs read "not run"', () => {
  const t = evaluateTargets(undefined, undefined, undefined, undefined);
  assert.ok(t.length > 0);
  assert.ok(t.every((x) => x.pass === undefined && x.measured.startsWith('not run')));
  const md = renderSummary({ status: '| torch | FAILED (exit 1) | 3 s |' });
  assert.match(md, /^# CUDA backend on device not recorded/);
  assert.match(md, /\| torch \| FAILED \(exit 1\)/);
  assert.doesNotMatch(md, /\| pass \|/);
});
