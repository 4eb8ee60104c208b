/**
 * examples/bench-kernels.ts, the kernel-timing companion of `hplb calibrate`: `--backend-option key=value` reaches
 * createBackend (and a malformed or refused option is one clear line, exit 1); table 4's note is derived from the
 * backend's declared capabilities (gpujs: multiHead false), and the table headers stay the same for every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bench = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
  execFile(process.execPath, ['--import', 'tsx', 'examples/bench-kernels.ts', ...args], { cwd: root, timeout: 120_000 }, (e, out, err) =>
    resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err }));
});

test('bench-kernels --backend gpujs --backend-option mode=cpu: the option reaches the backend; table text from capabilities', async () => {
  const r = await bench(['--backend', 'gpujs', '--backend-option', 'mode=cpu', '--context', '128', '--head-dim', '32', '--block', '32', '--repeats', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /gpu\.js CPU mode/); // the device the backend reports in mode=cpu (the default would be GPU mode)
  assert.match(r.out, /options \{"mode":"cpu"\}/);
  assert.match(r.out, /\| budget \(tokens\) \| density \| blocks \| first run \(ms\) \| steady median \(ms\) \| IQR \(ms\) \| re-measured \| GFLOP\/s \(executed\) \|/);
  assert.match(r.out, /timing protocol: 1 warm-up run reported apart, 1 interleaved steady runs per point/);
  assert.match(r.out, /## timing\n\n- table 1: (quiet|NOISY): spread/);
  assert.match(r.out, /\| layout \| kernel GFLOP\/s \| GEMM GFLOP\/s \| ratio \|/);
  assert.match(r.out, /gpujs runs one head per call.*\(multiHead: false\)/);
  assert.doesNotMatch(r.out, /batches on its device/);
});

test('bench-kernels: a malformed or refused --backend-option is one line naming it, exit 1', async () => {
  const bad = await bench(['--backend', 'gpujs', '--backend-option', 'mode']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^bench-kernels: at --backend-option: expected key=value backend options.*got "mode"\n$/);
  const refused = await bench(['--backend', 'gpujs', '--backend-option', 'mode=fast']);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^bench-kernels: at \$\.backends\.gpujs\.mode: expected gpu or cpu, got "fast"\n$/);
});
