/**
 * Issue 21, "inputs overwritten without a guard": every command that writes (plan, its engine-layout path, pareto,
 * export) refuses an output that is, contains or lies inside a file it reads — compared as real paths (symlinks of
 * the existing part resolved, hard links by identity) — with one line naming the output flag, the input flag and
 * the path, exit 2, and nothing written (the folder is byte-for-byte as before, no temporaries left).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, makeDevices, type ModelShape } from '@hplb/core';
import { planEngineLayout } from '@hplb/solvers';
import { main } from '../src/main.ts';
import { refuseOverwritingInputs, CliFailure, type Io } from '../src/io.ts';

const root = mkdtempSync(join(tmpdir(), 'hplb-overwrite-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const capture = (cwd = root) => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false, cwd };
  return { io, get out() { return out; }, get err() { return err; } };
};

/** Every file under `dir` (symlinks not followed) with its bytes: what "nothing written" compares. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = e.isSymbolicLink() ? '<link>' : readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
};

let n = 0;
const fresh = (): string => {
  const d = join(root, `case-${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};

const refused = async (dir: string, argv: string[], outFlag: string, inFlag: string, path: string, cwd = dir) => {
  const before = snapshot(dir);
  const c = capture(cwd);
  const code = await main(argv, c.io);
  assert.equal(code, 2, `exit 2 for ${argv.join(' ')}: ${c.err}${c.out}`);
  assert.equal(c.err.trimEnd().split('\n').length, 1, `one line: ${c.err}`);
  assert.ok(!c.err.includes('    at '), 'no stack trace');
  for (const s of [outFlag, inFlag, path]) assert.ok(c.err.includes(s), `the message names ${s}: ${c.err}`);
  assert.deepEqual(snapshot(dir), before, 'nothing written');
};

const PROFILE = readFileSync(new URL('../../core/src/data/default-profile.json', import.meta.url), 'utf8');

test('plan refuses --out, --out-dir and the default output on any file it reads (--profile, --model-config, --calibration, --previous)', async () => {
  {
    const d = fresh();
    const p = join(d, 'profile.json');
    writeFileSync(p, PROFILE);
    await refused(d, ['plan', '--profile', p, '--out', p], '--out', '--profile', p);
  }
  {
    const d = fresh();
    const p = join(d, 'profile.json');
    const c = join(d, 'config.json');
    writeFileSync(p, PROFILE);
    writeFileSync(c, '{"num_hidden_layers": 32}');
    await refused(d, ['plan', '--profile', p, '--model-config', c, '--out', c], '--out', '--model-config', c);
  }
  {
    // The profile is D/plan.json: --out-dir D would replace it.
    const d = fresh();
    const p = join(d, 'plan.json');
    writeFileSync(p, PROFILE);
    await refused(d, ['plan', '--profile', p, '--out-dir', d], '--out-dir', '--profile', p);
    // The same through a relative --out-dir and a symlinked folder.
    symlinkSync(d, join(root, `link-${n}`));
    await refused(d, ['plan', '--profile', p, '--out-dir', `link-${n}`], '--out-dir', '--profile', p, root);
  }
  {
    const d = fresh();
    const p = join(d, 'profile.json');
    writeFileSync(p, PROFILE);
    // A symlink to the profile and a hard link of it are the profile.
    symlinkSync(p, join(d, 'alias.json'));
    await refused(d, ['plan', '--profile', p, '--out', join(d, 'alias.json')], '--out', '--profile', p);
    linkSync(p, join(d, 'hard.json'));
    await refused(d, ['plan', '--profile', join(d, 'hard.json'), '--out', p], '--out', '--profile', 'hard.json');
  }
  {
    const d = fresh();
    const cal = join(d, 'cal.json');
    writeFileSync(cal, '{}');
    await refused(d, ['plan', '--profile', 'published', '--calibration', cal, '--out', cal], '--out', '--calibration', cal);
    // plan.svg lands beside --out: --out cal.json would write cal.svg, and a calibration named x.svg is an input too.
    const svg = join(d, 'x.svg');
    writeFileSync(svg, '{}');
    await refused(d, ['plan', '--profile', 'published', '--calibration', svg, '--out', join(d, 'x.json')], '--out', '--calibration', svg);
  }
  {
    // --previous plan.json in the current directory: the default output (./plan.json) would replace it.
    const d = fresh();
    const prev = join(d, 'plan.json');
    writeFileSync(prev, '{"format": "hplb.plan/1"}');
    await refused(d, ['plan', '--profile', 'published', '--previous', prev, '--gpus', '2'], '--out', '--previous', prev);
  }
  {
    // An output that contains an input (a folder named as the plan file), and one that lies inside an input.
    const d = fresh();
    mkdirSync(join(d, 'in'));
    const p = join(d, 'in', 'p.json');
    writeFileSync(p, PROFILE);
    await refused(d, ['plan', '--profile', p, '--out', join(d, 'in')], '--out', '--profile', 'contains');
    await refused(d, ['plan', '--profile', join(d, 'in'), '--out', join(d, 'in', 'plan.json')], '--out', '--profile', 'lies inside');
  }
});

test('plan --engine-layout and pareto refuse an output that is their profile', async () => {
  const d = fresh();
  const p = join(d, 'profile.json');
  writeFileSync(p, PROFILE);
  await refused(d, ['plan', '--engine-layout', '--profile', p, '--gpus', '2', '--out', p], '--out', '--profile', p);
  await refused(d, ['plan', '--context', '4096:0.5,8192:0.5', '--profile', p, '--gpus', '2', '--out', p], '--out', '--profile', p);
  await refused(d, ['pareto', '--profile', p, '--out', p], '--out', '--profile', p);
  const q = join(d, 'pareto.svg');
  writeFileSync(q, PROFILE);
  await refused(d, ['pareto', '--profile', q, '--out-dir', d], '--out-dir', '--profile', q);
  await refused(d, ['pareto', '--profile', q], '--out', '--profile', q);
});

const M: ModelShape = { name: 'tiny-overwrite', layers: 2, queryHeads: 8, kvHeads: 2, headDim: 8 };
const enginePlan = (): unknown => {
  const budgets = Array.from({ length: M.layers }, (_, l) => Array.from({ length: M.queryHeads }, (_, h) => 64 + ((h * 977 + l * 131) % 900)));
  const res = planEngineLayout({ model: M, devices: makeDevices(2), lengths: [{ contextLength: 1024, weight: 1, budgets }], costModel: WORK_COST_MODEL, kvCopies: 1, timeLimitMs: 50, projection: { perTokenPerSlot: 0, source: 'test' } });
  assert.ok(E.isRight(res));
  return res.right.plan;
};

test('export refuses --out / --minference-out on the plan, --minference, --model-config or the plan\'s MInference source, and two outputs alike', async () => {
  const plan = enginePlan();
  const d = fresh();
  const planFile = join(d, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  await refused(d, ['export', planFile, '--engine', 'vllm', '--out', planFile], '--out', '<plan.json>', planFile);
  const mf = join(d, 'mf.json');
  writeFileSync(mf, '[]');
  await refused(d, ['export', planFile, '--engine', 'vllm', '--minference', mf, '--out', mf], '--out', '--minference', mf);
  await refused(d, ['export', planFile, '--engine', 'vllm', '--minference', mf, '--out', join(d, 'layout.json'), '--minference-out', mf], '--minference-out', '--minference', mf);
  await refused(d, ['export', planFile, '--engine', 'vllm', '--minference', mf, '--out', join(d, 'layout.json'), '--minference-out', planFile], '--minference-out', '<plan.json>', planFile);
  await refused(d, ['export', planFile, '--engine', 'vllm', '--minference', mf, '--out', join(d, 'layout.json'), '--minference-out', join(d, 'layout.json')], '--minference-out', '--out', 'layout.json');
  // The MInference config named by the plan's own source.file is an input as well.
  const sourced = join(d, 'sourced.json');
  writeFileSync(sourced, JSON.stringify({ ...(plan as object), source: { format: 'minference', file: mf } }));
  await refused(d, ['export', sourced, '--engine', 'vllm', '--out', mf], '--out', '--minference', mf);
  // --model-config: a layout written over the checkpoint's config.json.
  const cfg = join(d, 'config.json');
  writeFileSync(cfg, JSON.stringify({ num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 64 }));
  await refused(d, ['export', planFile, '--engine', 'vllm', '--model-config', cfg, '--out', cfg], '--out', '--model-config', cfg);
});

test('refuseOverwritingInputs: siblings and look-alike names pass, only is / contains / lies inside is refused', () => {
  const d = fresh();
  writeFileSync(join(d, 'plan.json'), '{}');
  mkdirSync(join(d, 'ab'));
  const ok = (out: string, input: string) => assert.doesNotThrow(() => refuseOverwritingInputs(d, [{ flag: '--out', path: out }], [{ flag: '--profile', path: input }]));
  const no = (out: string, input: string, relation: RegExp) => {
    try {
      refuseOverwritingInputs(d, [{ flag: '--out', path: out }], [{ flag: '--profile', path: input }]);
      assert.fail(`${out} over ${input} was not refused`);
    } catch (e) {
      assert.ok(e instanceof CliFailure);
      assert.equal(e.exitCode, 2);
      assert.match(JSON.stringify(e.error), relation);
    }
  };
  ok(join(d, 'plan.json.bak'), join(d, 'plan.json'));
  ok(join(d, 'plan.svg'), join(d, 'plan.json'));
  ok(join(d, 'abc', 'x.json'), join(d, 'ab'));
  ok(join(d, 'new', 'plan.json'), join(d, 'plan.json'));
  no(join(d, 'plan.json'), join(d, 'plan.json'), /which is the --profile input/);
  no(join(d, 'ab', 'x', 'y.json'), join(d, 'ab'), /lies inside/);
  no(d, join(d, 'ab'), /contains/);
  no(join(d, 'ab', '..', 'plan.json'), join(d, 'plan.json'), /which is/);
  assert.ok(statSync(join(d, 'plan.json')).isFile());
});
