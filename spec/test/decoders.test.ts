/**
 * Decoders agree with the generators derived from the same codecs: every value `arbitraryOf(codec)` generates is
 * accepted by `codec.decode` and `codec.is` (and survives a JSON round trip); profiles of each kind pass
 * `decodeProfile`; plans built from random placements pass `decodePlan` and `validatePlan`; and mutations of those
 * values (a wrong type at a leaf, a missing key, a short row) are rejected at the mutated JSON path. The importers
 * get the same treatment with generated MInference, DuoAttention, MoA and XAttention files.
 * Seeds: FC_SEED (default: time-based), printed so a failure can be replayed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import * as fc from 'fast-check';
import * as t from 'io-ts';
import {
  CostModelC,
  CurveProfileC,
  DeviceC,
  ElasticProfileC,
  HeadCurveC,
  ModelShapeC,
  PlanC,
  PredictedC,
  ProfileC,
  RequiredProfileC,
  SpanRuleC,
  SplitC,
  budgetsAt,
  decodePlan,
  decodeProfile,
  formatError,
  importDuo,
  importMinference,
  importMoa,
  importXattention,
  validatePlan,
  type HplbError,
} from '@hplb/core';
import {
  arbitraryOf,
  curveProfileArb,
  duoGatesArb,
  elasticProfileArb,
  minferenceFileArb,
  modelShapeArb,
  moaFileArb,
  mutationArb,
  planArb,
  profileArb,
  requiredProfileArb,
  topPProfileArb,
  xattentionFileArb,
} from '../src/arbitraries.ts';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
console.log(`decoders.test.ts: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
const params = (numRuns: number) => ({ seed, numRuns, verbose: 1 as const });
const roundTrip = (u: unknown) => JSON.parse(JSON.stringify(u)) as unknown;

test('every codec accepts what its derived arbitrary generates (decode, is, JSON round trip)', () => {
  const codecs: [string, t.Mixed][] = [
    ['ModelShape', ModelShapeC],
    ['Device', DeviceC],
    ['HeadCurve', HeadCurveC],
    ['SpanRule', SpanRuleC],
    ['CurveProfile', CurveProfileC],
    ['RequiredProfile', RequiredProfileC],
    ['ElasticProfile', ElasticProfileC],
    ['Profile', ProfileC],
    ['Split', SplitC],
    ['Predicted', PredictedC],
    ['CostModel', CostModelC],
    ['Plan', PlanC],
  ];
  for (const [name, c] of codecs) {
    fc.assert(
      fc.property(arbitraryOf(c), (u) => {
        const r = c.decode(roundTrip(u));
        assert.ok(E.isRight(r), `${name} rejected its own arbitrary`);
        assert.ok(c.is(u), `${name}.is disagrees with decode`);
      }),
      params(100),
    );
  }
});

test('profiles of every kind pass decodeProfile (codec + checks) unchanged, and budgetsAt gives integers in [1, N]', () => {
  fc.assert(
    fc.property(profileArb, (p) => {
      const r = decodeProfile(roundTrip(p));
      if (E.isLeft(r)) assert.fail(formatError(r.left));
      assert.deepEqual(r.right, roundTrip(p));
    }),
    params(200),
  );
  fc.assert(
    fc.property(fc.oneof(curveProfileArb(), requiredProfileArb(), elasticProfileArb()), fc.integer({ min: 1, max: 300_000 }), (p, n) => {
      const b = budgetsAt(p, n);
      if (E.isLeft(b)) assert.fail(formatError(b.left));
      assert.equal(b.right.length, p.model.layers);
      for (const row of b.right) {
        assert.equal(row.length, p.model.queryHeads);
        for (const x of row) assert.ok(Number.isInteger(x) && x >= 1 && x <= n, `budget ${x} at N=${n}`);
      }
    }),
    params(200),
  );
});

test('plans built from random placements pass decodePlan and validatePlan', () => {
  fc.assert(
    fc.property(planArb(), (p) => {
      const d = decodePlan(roundTrip(p));
      if (E.isLeft(d)) assert.fail(formatError(d.left));
      const v = validatePlan(d.right);
      if (E.isLeft(v)) assert.fail(`${formatError(v.left)}\n${JSON.stringify(p).slice(0, 400)}`);
    }),
    params(300),
  );
});

const profileKeys = {
  curve: { requiredKeys: ['format', 'kind', 'model', 'contextLength', 'curves'], tables: ['curves'] },
  required: { requiredKeys: ['format', 'kind', 'model', 'contextLength', 'budgets'], tables: ['budgets', 'recall', 'topP'] },
  elastic: { requiredKeys: ['format', 'kind', 'model', 'alpha', 'beta'], tables: ['alpha', 'beta', 'gate'] },
} as const;

test('mutated profiles are rejected at the mutated path', () => {
  fc.assert(
    fc.property(
      fc.oneof(curveProfileArb(), requiredProfileArb(), topPProfileArb(), elasticProfileArb()).chain((p) => fc.tuple(fc.constant(p), mutationArb(p, profileKeys[p.kind]))),
      ([p, mut]) => {
        const bad = mut.apply(roundTrip(p));
        const r = decodeProfile(bad);
        assert.ok(E.isLeft(r), `${mut.kind} at ${mut.path} was accepted`);
        if (E.isRight(r)) return;
        const got = r.left.issues[0]!.path;
        // A missing or mistyped `format`/`kind` is reported there; otherwise at the mutated path (or its row / table
        // for a short row, or the model field a dimension check refers to).
        const ok =
          got === mut.path ||
          (mut.kind === 'short-row' && mut.path.startsWith(got)) ||
          (mut.kind === 'wrong-type' && mut.path.startsWith(got) && got !== '$') ||
          (mut.path === '$.kind' && got === '$.kind');
        assert.ok(ok, `${mut.kind} at ${mut.path} reported at ${got}: ${formatError(r.left)}`);
      },
    ),
    params(300),
  );
});

test('mutated plans are rejected by the decoder or the validator at the mutated path', () => {
  const planKeys = { requiredKeys: ['format', 'model', 'contextLength', 'devices', 'constraints', 'budgets', 'placement', 'predicted', 'solver'], tables: ['budgets', 'placement'] };
  fc.assert(
    fc.property(
      planArb().chain((p) => fc.tuple(fc.constant(p), mutationArb(p, planKeys))),
      ([p, mut]) => {
        const bad = mut.apply(roundTrip(p));
        const r = E.chain((x: typeof p) => validatePlan(x))(decodePlan(bad));
        assert.ok(E.isLeft(r), `${mut.kind} at ${mut.path} was accepted`);
        if (E.isRight(r)) return;
        const paths = r.left.issues.map((i) => i.path);
        assert.ok(
          paths.some((g) => g === mut.path || (mut.kind !== 'missing-key' && mut.path.startsWith(g) && g !== '$')),
          `${mut.kind} at ${mut.path} reported at ${paths.join(', ')}`,
        );
      },
    ),
    params(300),
  );
});

test('importers accept generated files of each published format and reject their mutations at the mutated path', () => {
  const check = (name: string, r: E.Either<HplbError, unknown>, mutPath: string, kind: string) => {
    assert.ok(E.isLeft(r), `${name}: ${kind} at ${mutPath} was accepted`);
    if (E.isLeft(r)) {
      const got = r.left.issues[0]!.path;
      assert.ok(got === mutPath || (mutPath.startsWith(got) && got !== '$') || (kind === 'short-row' && got.length > 0 && mutPath.startsWith(got)), `${name}: ${kind} at ${mutPath} reported at ${got}`);
    }
  };
  fc.assert(
    fc.property(modelShapeArb.chain((m) => fc.tuple(fc.constant(m), minferenceFileArb(m))).chain(([m, f]) => fc.tuple(fc.constant(m), fc.constant(f), mutationArb(f, { requiredKeys: [] }))), ([m, f, mut]) => {
      const ok = importMinference(JSON.stringify(f), { model: m });
      if (E.isLeft(ok)) assert.fail(formatError(ok.left));
      const b = budgetsAt(ok.right, 131072);
      assert.ok(E.isRight(b));
      if (E.isRight(b)) f.forEach((layer, l) => Object.entries(layer).forEach(([h, [p, v, s]]) => assert.equal(b.right[l]![Number(h)], Math.max(1, p === 'stream_llm' ? v + s : Math.max(v, 30) + Math.max(s, 50)))));
      check('minference', importMinference(JSON.stringify(mut.apply(f)), { model: m }), mut.path, mut.kind);
    }),
    params(150),
  );
  fc.assert(
    fc.property(modelShapeArb.chain((m) => fc.tuple(fc.constant(m), moaFileArb(m))).chain(([m, f]) => fc.tuple(fc.constant(m), fc.constant(f), mutationArb(f, { requiredKeys: ['alphas', 'betas'], tables: ['alphas', 'betas'] }))), ([m, f, mut]) => {
      const ok = importMoa(JSON.stringify(f), { model: m });
      if (E.isLeft(ok)) assert.fail(formatError(ok.left));
      check('moa', importMoa(JSON.stringify(mut.apply(f)), { model: m }), mut.path, mut.kind);
    }),
    params(150),
  );
  fc.assert(
    fc.property(modelShapeArb.chain((m) => fc.tuple(fc.constant(m), xattentionFileArb(m))).chain(([m, f]) => fc.tuple(fc.constant(m), fc.constant(f), mutationArb(f, { requiredKeys: ['max'], tables: ['other'] }))), ([m, f, mut]) => {
      const table = mut.path.startsWith('$.other') ? 'other' : 'max';
      const ok = importXattention(JSON.stringify(f), { model: m, table });
      if (E.isLeft(ok)) assert.fail(formatError(ok.left));
      check('xattention', importXattention(JSON.stringify(mut.apply(f)), { model: m, table }), mut.path, mut.kind);
    }),
    params(150),
  );
  fc.assert(
    fc.property(modelShapeArb.chain((m) => fc.tuple(fc.constant(m), duoGatesArb(m), fc.double({ min: 0, max: 1, noNaN: true }))), ([m, g, s]) => {
      const text = g.map((r) => r.join('\t')).join('\n') + '\n';
      const ok = importDuo(text, { model: m, sparsity: s });
      if (E.isLeft(ok)) assert.fail(formatError(ok.left));
      const b = budgetsAt(ok.right, 131072);
      assert.ok(E.isRight(b));
      if (E.isRight(b)) assert.equal(b.right.flat().filter((x) => x === 384).length, Math.round(s * m.layers * m.kvHeads) * (m.queryHeads / m.kvHeads));
      // A non-number in a random cell is reported at that cell.
      const l = Math.floor(s * (m.layers - 1));
      const bad = g.map((r, i) => (i === l ? ['x', ...r.slice(1)] : r)).map((r) => r.join('\t')).join('\n');
      check('duo', importDuo(bad, { model: m, sparsity: s }), `$[${l}][0]`, 'wrong-type');
    }),
    params(150),
  );
});
