/**
 * The JSON Schemas generated from the codecs (core/src/jsonSchema.ts, core/src/schemas.ts): the committed files in
 * core/schemas/ equal a fresh generation; Ajv (draft 2020-12, strict) accepts what each codec accepts and rejects a
 * broken document at the same JSON path as hplb's decoder; the converter's translation of each io-ts tag, its errors
 * for codecs it cannot translate, and the brand constraints against the brands' own predicates.
 * Real outputs of the CLI (plan, export, calibrate) are validated in cli/test/schemas-real-outputs.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv/dist/2020.js';
import * as fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import {
  CORE_REFINEMENTS, CalibrationC, EngineLayoutC, Finite, Fraction, NonNegative, NonNegativeInt, PlanC, Positive, PositiveInt, ProfileC,
  SCHEMA_DOCUMENTS, decode, generateSchemas, toJsonSchema, type JsonSchema,
} from '../src/index.ts';
import { loadDefaultProfile } from '../src/node/index.ts';
import { arbitraryOf, mutationArb, planArb, profileArb } from '@hplb/spec';

const Ajv2020 = AjvModule.default;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const schemaDir = new URL('../schemas/', import.meta.url);
const committed = (file: string) => JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')) as Record<string, unknown>;
const validators = new Map(SCHEMA_DOCUMENTS.map((d) => [d.format, ajv.compile(committed(d.file))]));
const validatorOf = (format: string) => validators.get(format)!;

/** Ajv's `/a/0/b c` instance path in the `$.a[0]["b c"]` form hplb's errors use. */
const hplbPath = (instancePath: string, missing?: string): string => {
  const parts = instancePath === '' ? [] : instancePath.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (missing !== undefined) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `${acc}.${p}` : `${acc}[${JSON.stringify(p)}]`), '$');
};
const errorPaths = (format: string, doc: unknown): string[] => {
  const v = validatorOf(format);
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => hplbPath(e.instancePath, (e.params as { missingProperty?: string }).missingProperty));
};

test('core/schemas/*.schema.json equal a fresh generation from the codecs (run `npm run schemas` after changing a codec)', () => {
  const g = generateSchemas();
  assert.ok(E.isRight(g), JSON.stringify(g));
  assert.deepEqual(g.right.map((s) => s.file).sort(), ['calibration.schema.json', 'engine-layout.schema.json', 'plan.schema.json', 'profile.schema.json']);
  for (const { file, text } of g.right) assert.equal(readFileSync(new URL(file, schemaDir), 'utf8'), text, `${file} is stale: run npm run schemas`);
  // Every shipped schema is listed in core's package.json exports and files, so `@hplb/core/schemas/<file>` resolves.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
  assert.ok(pkg.files.includes('schemas'), 'core/package.json files lists schemas');
  for (const { file } of g.right) assert.equal(pkg.exports[`./schemas/${file}`], `./schemas/${file}`, `core/package.json exports ./schemas/${file}`);
});

test('each schema is draft 2020-12, titled with its format, and requires that format', () => {
  for (const d of SCHEMA_DOCUMENTS) {
    const s = committed(d.file);
    assert.equal(s['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s['title'], d.format);
    assert.equal(validatorOf(d.format)({ format: 'hplb.something-else/1' }), false);
  }
});

test('the default profile (the embedded hplb.profile/1 file) validates against profile.schema.json', () => {
  const p = loadDefaultProfile();
  assert.ok(E.isRight(p), JSON.stringify(p));
  assert.deepEqual(errorPaths('hplb.profile/1', JSON.parse(JSON.stringify(p.right))), []);
});

test('what a codec accepts, its schema accepts (values derived from the codec, and valid plans / profiles)', () => {
  for (const codec of [PlanC, EngineLayoutC, CalibrationC, ProfileC] as t.Mixed[]) {
    const format = SCHEMA_DOCUMENTS.find((d) => d.codec === codec)!.format;
    fc.assert(fc.property(arbitraryOf(codec), (u) => {
      const doc = JSON.parse(JSON.stringify(u)) as unknown;
      assert.ok(E.isRight(decode(codec, doc)), 'the arbitrary decodes');
      assert.deepEqual(errorPaths(format, doc), [], JSON.stringify(doc).slice(0, 400));
    }), { numRuns: 40, seed: 12 });
  }
  fc.assert(fc.property(planArb(), (p) => { assert.deepEqual(errorPaths('hplb.plan/1', JSON.parse(JSON.stringify(p))), []); }), { numRuns: 40, seed: 6 });
  fc.assert(fc.property(profileArb, (p) => { assert.deepEqual(errorPaths('hplb.profile/1', JSON.parse(JSON.stringify(p))), []); }), { numRuns: 40, seed: 7 });
});

test('a broken plan is rejected by the schema at the path where the decoder rejects it', () => {
  const cases = fc.sample(planArb().chain((p) => mutationArb(p, { requiredKeys: ['model', 'contextLength', 'devices', 'placement', 'predicted', 'solver'] }).map((m) => ({ p, m }))), { numRuns: 60, seed: 3 });
  for (const { p, m } of cases) {
    const broken = m.apply(p);
    const d = decode(PlanC, broken);
    assert.ok(E.isLeft(d), `${m.kind} at ${m.path} must fail the decoder`);
    assert.ok(d.left.issues.some((i) => i.path === m.path), `decoder: ${JSON.stringify(d.left.issues)}`);
    assert.ok(errorPaths('hplb.plan/1', broken).includes(m.path), `schema errors ${JSON.stringify(errorPaths('hplb.plan/1', broken))} name ${m.path}`);
  }
});

test('hand-made invalid documents: the schema names the path and the rule', () => {
  const profile = JSON.parse(JSON.stringify((loadDefaultProfile() as E.Right<unknown>).right)) as { curves: { mass: number[] }[][]; contextLength: number };
  profile.curves[3]![5]!.mass[2] = 1.5;
  assert.ok(errorPaths('hplb.profile/1', profile).includes('$.curves[3][5].mass[2]'));
  const v = validatorOf('hplb.profile/1');
  v(profile);
  assert.ok(v.errors!.some((e) => e.instancePath === '/curves/3/5/mass/2' && e.keyword === 'maximum'));

  const zero = { ...JSON.parse(JSON.stringify((loadDefaultProfile() as E.Right<unknown>).right)), contextLength: 0 };
  assert.ok(errorPaths('hplb.profile/1', zero).includes('$.contextLength'));
  const unknownKind = { ...zero, contextLength: 1024, kind: 'sparse' };
  assert.ok(errorPaths('hplb.profile/1', unknownKind).includes('$.kind'));

  const cal = {
    format: 'hplb.calibration/1', backend: 'cpu', device: 'x', precision: 'fp32', blockSize: 64, headDim: 128,
    costModel: { name: 'c', unit: 'minutes', workModel: 'pairs', fixed: 0, perTokenPair: 1e-9 }, fit: { fixedSeconds: 0, secondsPerBlock: 1e-6, r2: 0.99 },
  };
  assert.deepEqual(errorPaths('hplb.calibration/1', cal), ['$.costModel.unit']);
  const { fit: _fit, ...noFit } = { ...cal, costModel: { ...cal.costModel, unit: 'seconds' } };
  assert.deepEqual(errorPaths('hplb.calibration/1', noFit), ['$.fit']);
});

test('brand constraints agree with the brand predicates', () => {
  const brands: Record<string, t.Mixed> = { PositiveInt, NonNegativeInt, Finite, NonNegative, Positive, Fraction, Int: t.Int };
  const samples = [-2, -1, -0.5, 0, 1e-9, 0.5, 1, 1.5, 2, 3, 64, 1e12, 1e300];
  for (const [name, codec] of Object.entries(brands)) {
    assert.ok(CORE_REFINEMENTS[name] !== undefined, name);
    const s = toJsonSchema(codec);
    assert.ok(E.isRight(s));
    const v = ajv.compile(s.right);
    for (const x of samples) assert.equal(v(x), codec.is(x), `${name}(${x})`);
    assert.equal(v('1'), false);
  }
});

test('converter: each io-ts tag', () => {
  const schema = (c: t.Mixed, o = {}): JsonSchema => {
    const s = toJsonSchema(c, o);
    assert.ok(E.isRight(s), JSON.stringify(s));
    const { $schema, ...rest } = s.right;
    assert.equal($schema, 'https://json-schema.org/draft/2020-12/schema');
    return rest;
  };
  assert.deepEqual(schema(t.null), { type: 'null' });
  assert.deepEqual(schema(t.keyof({ a: null, b: null })), { type: 'string', enum: ['a', 'b'] });
  assert.deepEqual(schema(t.readonlyArray(t.boolean)), { type: 'array', items: { type: 'boolean' } });
  assert.deepEqual(schema(t.union([t.literal(1), t.literal('x'), t.undefined])), { enum: [1, 'x'] });
  assert.deepEqual(schema(t.union([t.string, t.null])), { anyOf: [{ type: 'string' }, { type: 'null' }] });
  assert.deepEqual(schema(t.type({ a: t.string, b: t.union([t.number, t.undefined]) })), { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] });
  assert.deepEqual(schema(t.exact(t.partial({ a: t.string }))), { type: 'object', properties: { a: { type: 'string' } } });
  assert.deepEqual(schema(t.intersection([t.type({ a: t.string }), t.partial({ b: t.number })])), { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] });
  // Overlapping members cannot be merged into one object: allOf keeps both.
  assert.deepEqual(schema(t.intersection([t.type({ a: t.string }), t.type({ a: t.literal('x') })])), { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { type: 'object', properties: { a: { const: 'x' } }, required: ['a'] }] });
  assert.deepEqual(schema(t.record(t.string, t.number)), { type: 'object', additionalProperties: { type: 'number' } });
  assert.deepEqual(schema(t.record(t.keyof({ x: null, y: null }), t.number)), { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] });
  assert.deepEqual(schema(t.tuple([t.string, NonNegativeInt])), { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer', minimum: 0 }], minItems: 2 });
  assert.deepEqual(schema(t.unknown), {});
  assert.deepEqual(schema(t.UnknownRecord), { type: 'object' });
  const Part = t.type({ n: t.number }, 'Part');
  assert.deepEqual(schema(t.type({ a: Part, b: t.array(Part) }), { definitions: { Part } }), {
    type: 'object', properties: { a: { $ref: '#/$defs/Part' }, b: { type: 'array', items: { $ref: '#/$defs/Part' } } }, required: ['a', 'b'],
    $defs: { Part: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } },
  });
  interface Tree { readonly value: number; readonly children: ReadonlyArray<Tree> }
  const TreeC: t.Type<Tree> = t.recursion('Tree', () => t.type({ value: t.number, children: t.readonlyArray(TreeC) }));
  const tree = schema(TreeC);
  assert.deepEqual(tree, { $ref: '#/$defs/Tree', $defs: { Tree: { type: 'object', properties: { value: { type: 'number' }, children: { type: 'array', items: { $ref: '#/$defs/Tree' } } }, required: ['value', 'children'] } } });
  const v = ajv.compile({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...(tree as object) });
  assert.equal(v({ value: 1, children: [{ value: 2, children: [] }] }), true);
  assert.equal(v({ value: 1, children: [{ value: '2', children: [] }] }), false);
});

test('converter: codecs without a JSON Schema are errors naming the path and the tag, never {}', () => {
  const Even = t.refinement(t.number, (n) => n % 2 === 0, 'Even');
  const cases: Array<[t.Mixed, string, RegExp]> = [
    [t.type({ a: t.array(t.type({ f: t.Function })) }), '$.a[].f', /FunctionType/],
    [t.type({ n: Even }), '$.n', /RefinementType "Even"/],
    [t.bigint, '$', /BigIntType/],
    [t.undefined, '$', /UndefinedType/],
    [t.record(Even as unknown as t.Type<string, string, unknown>, t.number), '$', /DictionaryType/],
    [new t.Type<number>('Custom', (u): u is number => typeof u === 'number', (u, c) => t.number.validate(u, c), (a) => a), '$', /Custom/],
  ];
  for (const [codec, path, actual] of cases) {
    const s = toJsonSchema(codec);
    assert.ok(E.isLeft(s), `${codec.name} must not translate`);
    assert.equal(s.left.code, 'argument');
    assert.equal(s.left.issues[0]!.path, path);
    assert.match(s.left.issues[0]!.actual ?? '', actual);
  }
  // A refinement with stated constraints translates.
  const even = toJsonSchema(t.type({ n: Even }), { refinements: { Even: { type: 'integer', multipleOf: 2 } } });
  assert.ok(E.isRight(even));
  assert.deepEqual((even.right['properties'] as Record<string, unknown>)['n'], { type: 'integer', multipleOf: 2 });
});
