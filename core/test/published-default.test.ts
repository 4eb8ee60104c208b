/**
 * The embedded published default (issue 14 item 3): the MInference Llama-3.1-8B-Instruct pattern shipped in
 * @hplb/core is byte for byte the shared file, carries its MIT notice and provenance, imports as the registered
 * Llama-3.1-8B-Instruct at N = 131072, and gives the engines' contiguous split at HP 8 the balance efficiency of the
 * README table (0.514), computed by the library's simulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import {
  PUBLISHED_DEFAULT_CONTEXT_LENGTH,
  PUBLISHED_DEFAULT_GPUS,
  PUBLISHED_DEFAULT_PROVENANCE,
  budgetsAt,
  formatError,
  importMinference,
  makeDevices,
  publishedDefaultPattern,
  publishedDefaultProfile,
  registeredModel,
  simulate,
  type HplbError,
} from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';

const right = <A>(e: E.Either<HplbError, A>): A => {
  if (E.isLeft(e)) assert.fail(formatError(e.left));
  return e.right;
};
const D = sharedDataDir();
const skip = D === undefined ? SHARED_DATA_MISSING : false;
const embeddedFile = fileURLToPath(new URL(`../src/data/published/${PUBLISHED_DEFAULT_PROVENANCE.file}`, import.meta.url));

test('the embedded copy is byte for byte the shared MInference file', { skip }, () => {
  const shared = readFileSync(join(D!, 'minference', PUBLISHED_DEFAULT_PROVENANCE.file));
  const embedded = readFileSync(embeddedFile);
  assert.equal(embedded.length, shared.length, 'same size');
  assert.ok(embedded.equals(shared), 'same bytes');
  // and the JSON module the package imports is that file's content
  assert.deepEqual(publishedDefaultPattern(), JSON.parse(shared.toString('utf8')));
});

test('provenance and license notice: repository, commit, path, MIT text with the copyright holder', () => {
  const p = PUBLISHED_DEFAULT_PROVENANCE;
  assert.equal(p.repository, 'https://github.com/microsoft/MInference');
  assert.equal(p.commit, 'fb56c91');
  assert.equal(p.path, `minference/configs/${p.file}`);
  assert.equal(p.license.spdx, 'MIT');
  assert.equal(p.license.copyright, 'Copyright (c) Microsoft Corporation.');
  assert.ok(p.license.text.startsWith('MIT License\n\nCopyright (c) Microsoft Corporation.\n'));
  assert.match(p.license.text, /Permission is hereby granted, free of charge/);
  assert.match(p.license.text, /The above copyright notice and this permission notice shall be included/);
  assert.equal(PUBLISHED_DEFAULT_CONTEXT_LENGTH, 131072);
  assert.equal(PUBLISHED_DEFAULT_GPUS, 8);
});

test('publishedDefaultProfile: the registered Llama-3.1-8B-Instruct at N = 131072, published budgets and recall, source recorded', () => {
  const { profile, provenance } = right(publishedDefaultProfile());
  const reg = registeredModel('Llama-3.1-8B-Instruct')!;
  assert.deepEqual(profile.model, { name: reg.name, layers: reg.layers, queryHeads: reg.queryHeads, kvHeads: reg.kvHeads, headDim: reg.headDim });
  assert.equal(profile.kind, 'required');
  assert.equal(profile.contextLength, 131072);
  assert.equal(provenance, PUBLISHED_DEFAULT_PROVENANCE);
  const src = profile.source as Record<string, unknown>;
  assert.equal(src['commit'], 'fb56c91');
  assert.equal(src['repository'], 'https://github.com/microsoft/MInference');
  assert.match(String(src['license']), /^MIT/);
  // Budgets and recall are the published numbers: the budget rule applied to each raw entry, the score as recall.
  const raw = publishedDefaultPattern() as Array<Record<string, [string, number, number, number]>>;
  raw.forEach((layer, l) =>
    Object.entries(layer).forEach(([h, [, v, s, score]]) => {
      assert.equal(profile.budgets[l]![Number(h)], Math.max(v, 30) + Math.max(s, 50), `budget ${l}/${h}`);
      assert.equal(profile.recall![l]![Number(h)], Math.min(1, score), `recall ${l}/${h}`);
    }),
  );
});

test('the same numbers as the shared file: identical import, and the contiguous split at HP 8 has 0.514 balance efficiency', { skip }, () => {
  const file = join(D!, 'minference', PUBLISHED_DEFAULT_PROVENANCE.file);
  const shared = right(importMinference(readFileSync(file, 'utf8'), { file }));
  const { profile } = right(publishedDefaultProfile());
  assert.deepEqual(profile.budgets, shared.budgets);
  assert.deepEqual(profile.recall, shared.recall);
  // The engines' contiguous split (rank r holds query heads r·H/G … (r+1)·H/G − 1), simulated by the library.
  const G = PUBLISHED_DEFAULT_GPUS;
  const m = profile.model;
  const budgets = right(budgetsAt(profile, PUBLISHED_DEFAULT_CONTEXT_LENGTH));
  const placement = budgets.map((row) => row.map((_, h) => Math.floor((h * G) / m.queryHeads)));
  const sim = simulate({ model: m, contextLength: PUBLISHED_DEFAULT_CONTEXT_LENGTH, devices: makeDevices(G), placement }, budgets);
  assert.equal(sim.balanceEfficiency.toFixed(3), '0.514', `README: contiguous (engines) 0.514 at HP 8, got ${sim.balanceEfficiency}`);
});
