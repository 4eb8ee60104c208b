/**
 * Real outputs of the `hplb` bin validate against the shipped JSON Schemas (`@hplb/core/schemas/*.schema.json`,
 * generated from the codecs) with a standard validator (Ajv, draft 2020-12, strict): the main job's plan.json, an
 * engine layout from `hplb export`, a calibration from `hplb calibrate`, and a plan in seconds made with that
 * calibration. Shows that Python serving code holding only the schemas accepts what hplb writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv/dist/2020.js';

const Ajv2020 = AjvModule.default;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const require = createRequire(import.meta.url);
const schema = (file: string) => JSON.parse(readFileSync(require.resolve(`@hplb/core/schemas/${file}`), 'utf8')) as object;
const bin = fileURLToPath(new URL('../bin/hplb.mjs', import.meta.url));

const hplb = (cwd: string, ...args: string[]): string => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `hplb ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const check = (file: string, path: string, format: string) => {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { format?: string };
  assert.equal(doc.format, format);
  const v = ajv.compile(schema(file));
  assert.ok(v(doc), `${path} against ${file}: ${JSON.stringify(v.errors?.slice(0, 5))}`);
  // The schema is not vacuous for this document: breaking its format breaks validation.
  assert.equal(v({ ...doc, format: 'hplb.other/1' }), false);
};

test('hplb plan / export / calibrate outputs validate against @hplb/core/schemas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-schemas-'));
  try {
    hplb(dir, 'plan', '--out', 'plan.json');
    check('plan.schema.json', join(dir, 'plan.json'), 'hplb.plan/1');
    hplb(dir, 'export', 'plan.json', '--engine', 'vllm', '--out', 'layout.json');
    check('engine-layout.schema.json', join(dir, 'layout.json'), 'hplb.engine-layout/1');
    // A tiny grid; the shared machine makes timings noisy, and the noise check (where present) must not refuse it.
    const force = hplb(dir, 'calibrate', '--help').includes('--force') ? ['--force'] : [];
    hplb(dir, 'calibrate', '--backend', 'cpu', '--contexts', '256,512', '--fractions', '0.25,1', '--head-dim', '32', '--repeats', '1', ...force, '--out', 'cal.json');
    check('calibration.schema.json', join(dir, 'cal.json'), 'hplb.calibration/1');
    hplb(dir, 'plan', '--whole-heads', '--solver', 'lpt', '--calibration', 'cal.json', '--out', 'seconds.json');
    const seconds = JSON.parse(readFileSync(join(dir, 'seconds.json'), 'utf8')) as { predicted: { unit: string }; costModel?: unknown };
    assert.equal(seconds.predicted.unit, 'seconds');
    assert.ok(seconds.costModel !== undefined);
    check('plan.schema.json', join(dir, 'seconds.json'), 'hplb.plan/1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
