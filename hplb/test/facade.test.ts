/**
 * The facade as a caller sees it: results are Either values readable from plain JavaScript (`_tag`, `right`,
 * `left`), options from any caller are decoded (a wrong type is a Left naming `$.path`, never a throw), profiles load
 * from objects, text and (hplb/node) paths, the built-in default is the same data as core's file, solveInstance solves
 * raw instances, and the root plans in the calling thread exactly as hplb/node does with worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDefaultProfile, sharedDataDir, SHARED_DATA_MISSING } from '@hplb/core/node';
import { publishedDefaultProfile } from '@hplb/core';
import * as root from 'hplb';
import * as node from 'hplb/node';

const fast = { gpus: 4, solver: 'lpt', splitHeads: false, policy: 'max-min', density: 0.1 } as const;

test('syntheticProfile() is the committed synthetic profile, decoded the same way as @hplb/core/node reads it; defaultProfile() the published one', () => {
  const p = root.syntheticProfile();
  const disk = loadDefaultProfile();
  assert.equal(disk._tag, 'Right');
  assert.deepEqual(p, disk._tag === 'Right' ? disk.right : undefined);
  assert.equal(root.syntheticProfile(), p, 'the same object on every call');
  assert.equal(p.synthetic, true);
  const d = root.defaultProfile();
  assert.equal(root.defaultProfile(), d, 'the same object on every call');
  assert.equal(d.kind, 'required');
  assert.equal(d.model.name, 'Llama-3.1-8B-Instruct');
  const pub = publishedDefaultProfile();
  assert.deepEqual(d, pub._tag === 'Right' ? pub.right.profile : undefined);
});

test('options from a JavaScript caller are decoded: wrong types are a Left naming the JSON path, never a throw', async () => {
  const cases: Array<[unknown, string]> = [
    [{ gpus: 'eight' }, '$.gpus'],
    [{ density: 1.5 }, '$.density'],
    [{ policy: 'fastest' }, '$.policy'],
    [{ solver: 'magic' }, '$.solver'],
    [{ constraints: { kv: 'both' } }, '$.constraints.kv'],
    [{ splitHeads: 'yes' }, '$.splitHeads'],
    [{ density: 0.2, totalWork: 10 }, '$.totalTokens'],
    [{ gpus: 3, constraints: { equalHeadsPerDevice: true } }, '$.constraints.equalHeadsPerDevice'],
  ];
  for (const [options, path] of cases) {
    const r = await root.planProfile(root.defaultProfile(), options as root.PlanOptions);
    assert.equal(r._tag, 'Left', `${JSON.stringify(options)} should fail`);
    if (r._tag === 'Left') {
      assert.equal(r.left.issues[0]!.path, path, root.formatError(r.left));
      assert.doesNotMatch(root.formatError(r.left), /--[a-z]/, 'library errors never name CLI flags');
    }
  }
  const g = await root.planProfile(root.defaultProfile(), { gpus: 'eight' } as unknown as root.PlanOptions);
  assert.match(g._tag === 'Left' ? root.formatError(g.left) : '', /^at \$\.gpus: expected a number of GPUs ≥ 1 or a list of devices .*, got "eight"$/);
  const notProfile = await root.planProfile({ kind: 'curve' } as unknown as root.Profile, {});
  assert.equal(notProfile._tag, 'Left');
  const s = await root.solveInstance({ costs: [3, 2], gpus: 'two' });
  assert.equal(s._tag === 'Left' ? s.left.issues[0]!.path : '', '$.gpus');
});

test('loadProfile: a parsed object, { text, fileName } and (hplb/node) a path give the same profile', () => {
  const text = JSON.stringify(root.syntheticProfile());
  const fromObject = root.loadProfile(JSON.parse(text));
  const fromText = root.loadProfile({ text, fileName: 'default.json' });
  assert.equal(fromObject._tag, 'Right');
  assert.equal(fromText._tag, 'Right');
  if (fromObject._tag === 'Right' && fromText._tag === 'Right') {
    assert.deepEqual(fromObject.right.profile, fromText.right.profile);
    assert.equal(fromText.right.format, 'hplb');
    assert.equal(fromText.right.synthetic, true);
    assert.equal(fromText.right.file, 'default.json');
  }
  const undetectable = root.loadProfile({ text: '{"nothing": 1}' });
  assert.equal(undetectable._tag === 'Left' ? undetectable.left.issues[0]!.path : '', '$.format');
  const badOption = root.loadProfile({ text }, { contextLength: -1 });
  assert.equal(badOption._tag === 'Left' ? badOption.left.issues[0]!.path : '', '$.contextLength');
  const missing = node.loadProfile('/no/such/profile.json');
  assert.equal(missing._tag === 'Left' ? missing.left.code : '', 'io');
});

test('loadProfile on published data (hplb/node path, MInference; DuoAttention needs sparsity)', (t) => {
  const dir = sharedDataDir();
  const file = dir && join(dir, 'minference', 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
  if (!file || !existsSync(file)) return t.skip(SHARED_DATA_MISSING);
  const r = node.loadProfile(file);
  assert.equal(r._tag, 'Right', r._tag === 'Left' ? root.formatError(r.left) : '');
  if (r._tag === 'Right') {
    assert.equal(r.right.format, 'minference');
    assert.equal(r.right.profile.model.layers, 32);
  }
  const fromText = root.loadProfile({ text: readFileSync(file, 'utf8'), fileName: file });
  assert.deepEqual(fromText._tag === 'Right' ? fromText.right.profile : undefined, r._tag === 'Right' ? r.right.profile : undefined);
  const duo = node.loadProfile(join(dir!, 'duo', 'Meta-Llama-3.1-8B-Instruct'));
  assert.equal(duo._tag === 'Left' ? duo.left.issues[0]!.path : '', '$.sparsity');
});

test('the root (calling thread) and hplb/node (worker threads) give the same plan bytes; the plan validates', async () => {
  const a = await root.planProfile(root.syntheticProfile(), fast);
  const b = await node.planProfile(root.syntheticProfile(), fast);
  assert.equal(a._tag, 'Right', a._tag === 'Left' ? root.formatError(a.left) : '');
  assert.equal(b._tag, 'Right');
  if (a._tag === 'Right' && b._tag === 'Right') {
    assert.equal(JSON.stringify(a.right.plan, null, 2), JSON.stringify(b.right.plan, null, 2));
    assert.equal(root.validatePlan(a.right.plan)._tag, 'Right');
    assert.equal(a.right.plan.source?.['profile'], 'built-in default (core/data/default-profile.json)');
    assert.equal(a.right.layers.length, 32);
    assert.equal(a.right.simulation.layers.length, 32);
    const svg = root.renderPlanSvg(a.right);
    assert.match(svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\n?$/);
    assert.match(svg, /LPT \+ max-min \(paper\)/, 'the row it equals names the chart');
  }
});

test('solveInstance: a raw instance and a bench file entry; infeasible constraints name the constraint', async () => {
  const r = await root.solveInstance({ costs: [5, 4, 3, 3, 3], gpus: 2 }, { solver: 'exact' });
  assert.equal(r._tag, 'Right');
  if (r._tag === 'Right') {
    assert.equal(r.right.makespan, 9);
    assert.equal(r.right.status, 'optimal');
    assert.equal(r.right.assignment.length, 5);
  }
  const bench = { instances: [{ name: 'a', costs: [1, 1], gpus: 2 }, { name: 'b', costs: [2, 2, 2], gpus: 3 }] };
  const b = await root.solveInstance(bench, { name: 'b', solver: 'lpt' });
  assert.equal(b._tag === 'Right' ? b.right.makespan : -1, 2);
  const noName = await root.solveInstance(bench);
  assert.equal(noName._tag === 'Left' ? noName.left.issues[0]!.path : '', '$.name');
  const inf = await root.solveInstance({ costs: [1, 1, 1], gpus: 2, constraints: { equalHeadsPerDevice: true } }, { solver: 'lpt' });
  assert.equal(inf._tag, 'Left');
  if (inf._tag === 'Left') assert.match(inf.left.issues[0]!.path, /^\$\.constraints\./);
});

test('comparePipelines returns the rows hplb plan prints, the chosen one marked', async () => {
  const r = await root.comparePipelines(root.syntheticProfile(), fast);
  assert.equal(r._tag, 'Right');
  if (r._tag === 'Right') {
    assert.deepEqual(r.right.rows.map((x) => x.name), root.REFERENCE_PIPELINES.map((x) => x.name));
    assert.equal(r.right.rows.filter((x) => x.chosen).length, 1);
    assert.equal(r.right.rows[r.right.chosen]!.name, 'LPT + max-min (paper)');
  }
});

test('loadProfile keeps MoA spanRecovery with the profile: max-min plans need it', async (t) => {
  const dir = sharedDataDir();
  const file = dir && join(dir, 'moa', 'meta-llama--Llama-3.2-1B-Instruct', 'moa_alpha_beta.json');
  if (!file || !existsSync(file)) return t.skip(SHARED_DATA_MISSING);
  const options = { gpus: 4, solver: 'lpt', splitHeads: false, policy: 'max-min' } as const;
  const without = node.loadProfile(file, { format: 'moa' });
  const withRecovery = node.loadProfile(file, { format: 'moa', spanRecovery: 0.9 });
  assert.equal(without._tag, 'Right');
  assert.equal(withRecovery._tag, 'Right');
  if (without._tag !== 'Right' || withRecovery._tag !== 'Right') return;
  const a = await root.planProfile(without.right, options);
  assert.equal(a._tag, 'Left');
  if (a._tag === 'Left') assert.match(root.formatError(a.left), /\$\.spanRecovery = R.*\$\.policy = max-min needs recovery curves/);
  const b = await root.planProfile(withRecovery.right, options);
  assert.equal(b._tag, 'Right', b._tag === 'Left' ? root.formatError(b.left) : '');
});
