/**
 * fast-check arbitraries for hplb's data, derived from the io-ts codecs in @hplb/core (after gcanti/io-ts
 * `test/Arbitrary.ts`): `arbitraryOf(codec)` walks a codec's structure and generates values it must accept. Codecs do
 * not express cross-field invariants (dimensions, monotone curves, loads that add up), so on top of that this module
 * builds the values every tool actually exchanges:
 *   - `modelShapeArb`: small GQA shapes (queryHeads a multiple of kvHeads);
 *   - `curveProfileArb`, `requiredProfileArb`, `topPProfileArb`, `elasticProfileArb`, `profileArb`: profiles of each
 *     kind that pass `decodeProfile` (codec + `checkProfile`);
 *   - `planArb`: `hplb.plan/1` plans built from random budgets and placements (optionally split heads, equal heads per
 *     device, KV groups kept whole, memory caps, a seconds cost model) whose `predicted` block is computed from first
 *     principles, so `validatePlan` accepts them;
 *   - `mutationArb`: a way to break a valid JSON value (wrong type at a leaf, a missing key, a short row) with the JSON
 *     path where a decoder must report it.
 * Used by spec/test/decoders.test.ts and by any package's property tests.
 */
import * as fc from 'fast-check';
import * as t from 'io-ts';
import {
  PLAN_FORMAT,
  PROFILE_FORMAT,
  headCost,
  kvSummary,
  layerLowerBound,
  recomputeLoads,
  summarizeLoads,
  type CostModel,
  type CurveProfile,
  type Device,
  type ElasticProfile,
  type ModelShape,
  type Plan,
  type Profile,
  type RequiredProfile,
} from '@hplb/core';

// ---------------------------------------------------------------- derived from codecs

/** Generators for the branded numbers of core/src/brand.ts, by brand name. */
export const BRAND_ARBITRARIES: Record<string, fc.Arbitrary<unknown>> = {
  PositiveInt: fc.integer({ min: 1, max: 64 }),
  NonNegativeInt: fc.integer({ min: 0, max: 64 }),
  Finite: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  NonNegative: fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  Positive: fc.double({ min: 1e-3, max: 1e3, noNaN: true, noDefaultInfinity: true }),
  Fraction: fc.double({ min: 0, max: 1, noNaN: true }),
};

type AnyCodec = t.Mixed & { _tag?: string };

/**
 * An arbitrary of values `codec` accepts, derived from its structure. Supports the io-ts combinators core uses
 * (type, partial, intersection, union, literal, array, tuple, record, brands by name, string/number/boolean/null,
 * UnknownRecord, exact, readonly). Arrays are kept short (≤ 4) so nested tables stay small. Throws for a codec it does
 * not understand (a custom t.Type): give such codecs their own arbitrary.
 */
export const arbitraryOf = (codec: t.Mixed): fc.Arbitrary<unknown> => {
  const c = codec as AnyCodec;
  switch (c._tag) {
    case 'NumberType':
      return fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
    case 'StringType':
      return fc.string({ maxLength: 12 });
    case 'BooleanType':
      return fc.boolean();
    case 'NullType':
      return fc.constant(null);
    case 'LiteralType':
      return fc.constant((c as unknown as t.LiteralType<string | number | boolean>).value);
    case 'UnknownRecordType':
    case 'AnyDictionaryType':
      return fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()), { maxKeys: 3 });
    case 'RefinementType': {
      const brand = BRAND_ARBITRARIES[c.name];
      if (brand) return brand;
      throw new Error(`arbitraryOf: no generator for refinement ${c.name}`);
    }
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return fc.array(arbitraryOf((c as unknown as t.ArrayType<t.Mixed>).type), { maxLength: 4 });
    case 'TupleType':
      return fc.tuple(...(c as unknown as t.TupleType<t.Mixed[]>).types.map(arbitraryOf));
    case 'DictionaryType':
      return fc.dictionary(fc.string({ maxLength: 6 }), arbitraryOf((c as unknown as t.DictionaryType<t.Mixed, t.Mixed>).codomain), { maxKeys: 3 });
    case 'InterfaceType': {
      const props = (c as unknown as t.InterfaceType<t.Props>).props;
      return fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbitraryOf(v)])));
    }
    case 'PartialType': {
      const props = (c as unknown as t.PartialType<t.Props>).props;
      return fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbitraryOf(v)])), { requiredKeys: [] });
    }
    case 'IntersectionType':
      return fc
        .tuple(...(c as unknown as t.IntersectionType<t.Mixed[]>).types.map(arbitraryOf))
        .map((parts) => Object.assign({}, ...(parts as object[])) as unknown);
    case 'UnionType':
      return fc.oneof(...(c as unknown as t.UnionType<t.Mixed[]>).types.map(arbitraryOf));
    case 'ExactType':
    case 'ReadonlyType':
      return arbitraryOf((c as unknown as { type: t.Mixed }).type);
    default:
      throw new Error(`arbitraryOf: unsupported codec ${c.name} (${String(c._tag)})`);
  }
};

// ---------------------------------------------------------------- model shapes and profiles

/** A small model shape with valid GQA: layers 1..3, kvHeads 1..3, group size 1..3. */
export const modelShapeArb: fc.Arbitrary<ModelShape> = fc
  .record({ layers: fc.integer({ min: 1, max: 3 }), kvHeads: fc.integer({ min: 1, max: 3 }), group: fc.integer({ min: 1, max: 3 }), headDim: fc.constantFrom(8, 64, 128) })
  .map(({ layers, kvHeads, group, headDim }) => ({ name: `arb-${layers}x${kvHeads * group}`, layers, queryHeads: kvHeads * group, kvHeads, headDim }));

const table = <A>(m: ModelShape, cell: fc.Arbitrary<A>): fc.Arbitrary<A[][]> =>
  fc.array(fc.array(cell, { minLength: m.queryHeads, maxLength: m.queryHeads }), { minLength: m.layers, maxLength: m.layers });

const contextArb = fc.integer({ min: 16, max: 200_000 });

/** One recovery curve at reference context n: tokens strictly ascending in [0, n], mass non-decreasing in [0, 1]. */
export const headCurveArb = (n: number): fc.Arbitrary<{ tokens: number[]; mass: number[] }> =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: n }), { minLength: 1, maxLength: 6 })
    .chain((ts) =>
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: ts.length, maxLength: ts.length }).map((ms) => ({
        tokens: [...ts].sort((a, b) => a - b),
        mass: [...ms].sort((a, b) => a - b),
      })),
    );

export const curveProfileArb = (mArb: fc.Arbitrary<ModelShape> = modelShapeArb): fc.Arbitrary<CurveProfile> =>
  fc.tuple(mArb, contextArb).chain(([m, n]) =>
    table(m, headCurveArb(n)).map((curves) => ({ format: PROFILE_FORMAT, kind: 'curve', model: m, contextLength: n, curves }) as unknown as CurveProfile),
  );

export const requiredProfileArb = (mArb: fc.Arbitrary<ModelShape> = modelShapeArb): fc.Arbitrary<RequiredProfile> =>
  fc.tuple(mArb, contextArb).chain(([m, n]) =>
    fc
      .record({
        budgets: table(m, fc.integer({ min: 0, max: 2 * n })),
        recall: fc.option(table(m, fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null })), { nil: undefined }),
      })
      .map(({ budgets, recall }) => ({ format: PROFILE_FORMAT, kind: 'required', model: m, contextLength: n, budgets, ...(recall ? { recall } : {}) }) as unknown as RequiredProfile),
  );

/** The XAttention shape of a required profile: per-head top-p targets and no token budgets. */
export const topPProfileArb = (mArb: fc.Arbitrary<ModelShape> = modelShapeArb): fc.Arbitrary<RequiredProfile> =>
  fc.tuple(mArb, contextArb).chain(([m, n]) =>
    table(m, fc.double({ min: 0, max: 1, noNaN: true })).map((topP) => ({ format: PROFILE_FORMAT, kind: 'required', model: m, contextLength: n, budgets: [], topP }) as unknown as RequiredProfile),
  );

export const elasticProfileArb = (mArb: fc.Arbitrary<ModelShape> = modelShapeArb): fc.Arbitrary<ElasticProfile> =>
  mArb.chain((m) =>
    fc
      .record({
        alpha: table(m, fc.integer({ min: -2048, max: 8192 })),
        beta: table(m, fc.double({ min: 0, max: 1, noNaN: true })),
        spanRule: fc.option(fc.record({ multiple: fc.constantFrom(1, 16, 64), minimum: fc.constantFrom(0, 64, 128) }), { nil: undefined }),
        gate: fc.option(table(m, fc.double({ min: 0, max: 1, noNaN: true })), { nil: undefined }),
      })
      .map(({ alpha, beta, spanRule, gate }) => ({ format: PROFILE_FORMAT, kind: 'elastic', model: m, alpha, beta, ...(spanRule ? { spanRule } : {}), ...(gate ? { gate } : {}) }) as unknown as ElasticProfile),
  );

/** Any profile that `decodeProfile` accepts. */
export const profileArb: fc.Arbitrary<Profile> = fc.oneof(curveProfileArb(), requiredProfileArb(), topPProfileArb(), elasticProfileArb());

// ---------------------------------------------------------------- plans

export interface PlanArbOptions {
  /** Allow split heads (only in plans without equal-heads / KV-group constraints). Default true. */
  readonly splits?: boolean;
  /** Also generate plans in seconds through a cost model. Default true. */
  readonly seconds?: boolean;
}

const SECONDS_MODEL: CostModel = { name: 'arb-seconds', unit: 'seconds', workModel: 'pairs', fixed: 1e-6, perTokenPair: 1e-9, source: 'spec arbitrary' };

/**
 * A plan that passes `validatePlan`: random model, devices (speeds, optional memory caps that fit), budgets in [1, N],
 * a placement drawn in one of three modes (free, KV groups whole, equal heads per device), optional split heads in free
 * mode, and a `predicted` block recomputed from first principles with a valid lower bound.
 */
export const planArb = (opts: PlanArbOptions = {}): fc.Arbitrary<Plan> =>
  fc
    .record({
      m: modelShapeArb,
      n: fc.integer({ min: 4, max: 4096 }),
      speeds: fc.array(fc.constantFrom(0.5, 1, 1, 2), { minLength: 1, maxLength: 4 }),
      mode: fc.constantFrom('free', 'group', 'equal'),
      seconds: opts.seconds === false ? fc.constant(false) : fc.boolean(),
      memory: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
    })
    .chain(({ m, n, speeds, mode, seconds, memory, seed }) => {
      const G = speeds.length;
      const eqOk = m.queryHeads % G === 0;
      const realMode = mode === 'equal' && !eqOk ? 'free' : mode;
      const budgets = table(m, fc.integer({ min: 1, max: n }));
      const placeRow: fc.Arbitrary<number[]> =
        realMode === 'group'
          ? fc.array(fc.integer({ min: 0, max: G - 1 }), { minLength: m.kvHeads, maxLength: m.kvHeads }).map((gs) => Array.from({ length: m.queryHeads }, (_, q) => gs[Math.floor(q / (m.queryHeads / m.kvHeads))]!))
          : realMode === 'equal'
            ? fc.shuffledSubarray(Array.from({ length: m.queryHeads }, (_, q) => q % G), { minLength: m.queryHeads, maxLength: m.queryHeads })
            : fc.array(fc.integer({ min: 0, max: G - 1 }), { minLength: m.queryHeads, maxLength: m.queryHeads });
      const placement = fc.array(placeRow, { minLength: m.layers, maxLength: m.layers });
      const splitSpec = realMode === 'free' && opts.splits !== false && G >= 2 && n >= 3
        ? fc.array(fc.record({ layer: fc.integer({ min: 0, max: m.layers - 1 }), head: fc.integer({ min: 0, max: m.queryHeads - 1 }), cuts: fc.uniqueArray(fc.integer({ min: 1, max: n - 1 }), { minLength: 1, maxLength: Math.min(G - 1, 2) }), devs: fc.shuffledSubarray(Array.from({ length: G }, (_, d) => d), { minLength: G, maxLength: G }) }), { maxLength: 3 })
        : fc.constant([]);
      return fc.tuple(budgets, placement, splitSpec).map(([b, p, ss]) => {
        const seen = new Set<string>();
        const splits: { layer: number; head: number; parts: { device: number; rowStart: number; rowEnd: number }[] }[] = [];
        for (const s of ss) {
          const key = `${s.layer}/${s.head}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const cuts = [0, ...[...s.cuts].sort((x, y) => x - y), n];
          const parts = cuts.slice(0, -1).map((start, i) => ({ device: s.devs[i]!, rowStart: start, rowEnd: cuts[i + 1]! }));
          p[s.layer]![s.head] = parts[0]!.device;
          splits.push({ layer: s.layer, head: s.head, parts });
        }
        const devices: Device[] = speeds.map((speed, i) => ({ id: `gpu${i}`, speed, memoryBytes: null }));
        const draft = {
          format: PLAN_FORMAT,
          model: m,
          contextLength: n,
          devices,
          constraints: { equalHeadsPerDevice: realMode === 'equal', kv: realMode === 'group' ? 'group' : 'replicate' },
          budgets: b,
          placement: p,
          ...(splits.length > 0 ? { splits } : {}),
          ...(seconds ? { costModel: SECONDS_MODEL } : {}),
          predicted: { unit: 'token-pairs', deviceLoad: [], layerMakespan: [], layerLowerBound: [], total: 0, lowerBoundTotal: 0, balanceEfficiency: 1, bubbleFraction: 0 },
          solver: { name: 'arbitrary', status: 'feasible', gap: 0, seconds: 0 },
        } as unknown as Plan;
        const kv = kvSummary(m, n, G, p, splits);
        const withMemory: Plan = memory
          ? ({ ...draft, devices: devices.map((d, i) => ({ ...d, memoryBytes: kv.deviceBytes[i]! + (seed % 1000) })) } as Plan)
          : draft;
        const loads = recomputeLoads(withMemory);
        const cm = seconds ? SECONDS_MODEL : undefined;
        const bounds = b.map((row, l) => {
          // Speed-scaled bounds take speed-1 costs; a fixed per-head term does not scale with speed, so leave it out
          // (the bound stays valid: the real loads only add it).
          const perPair = cm ? cm.perTokenPair : 1;
          const costs = row.map((x) => perPair * headCost({ name: 'w', unit: 'token-pairs', workModel: 'pairs', fixed: 0, perTokenPair: 1 }, x, n));
          // Split heads can beat the whole-head bounds; the mean-load bound holds for every plan.
          const lb = splits.some((s) => s.layer === l) ? costs.reduce((x, y) => x + y, 0) / speeds.reduce((x, y) => x + y, 0) : layerLowerBound(costs, { devices: speeds });
          return lb;
        });
        return { ...withMemory, predicted: summarizeLoads(seconds ? 'seconds' : 'token-pairs', loads, bounds), kvReplication: { copies: kv.copies, bytes: kv.bytes } } as Plan;
      });
    });

// ---------------------------------------------------------------- mutations

export interface Mutation {
  /** JSON path of the change, in the `$.a[0]["b"]` form errors use. */
  readonly path: string;
  readonly kind: 'wrong-type' | 'missing-key' | 'short-row';
  /** Apply to a deep copy of the value. */
  readonly apply: (u: unknown) => unknown;
}

const keyPath = (base: string, k: string | number) => (typeof k === 'number' ? `${base}[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${base}.${k}` : `${base}[${JSON.stringify(k)}]`);

const leaves = (u: unknown, path: string, keys: (string | number)[], skip: (k: string) => boolean, out: { path: string; keys: (string | number)[] }[]) => {
  if (Array.isArray(u)) u.forEach((v, i) => leaves(v, keyPath(path, i), [...keys, i], skip, out));
  else if (typeof u === 'object' && u !== null) {
    for (const [k, v] of Object.entries(u)) if (!skip(k)) leaves(v, keyPath(path, k), [...keys, k], skip, out);
  } else if (typeof u === 'number') out.push({ path, keys });
};

const setAt = (u: unknown, keys: ReadonlyArray<string | number>, f: (parent: any, key: string | number) => void): unknown => {
  const copy = JSON.parse(JSON.stringify(u)) as unknown;
  let cur: any = copy;
  for (const k of keys.slice(0, -1)) cur = cur[k];
  f(cur, keys[keys.length - 1]!);
  return copy;
};

/**
 * Ways to break `value` so a decoder must reject it: a numeric leaf turned into a string, a required top-level key
 * removed, or the last entry of a [layer][head] table row dropped. `skip` names object keys whose content is free-form
 * (e.g. `source`). `requiredKeys` are the top-level keys the codec requires; `tables` the top-level [L][H] tables.
 */
export const mutationArb = (
  value: unknown,
  opts: { readonly requiredKeys: ReadonlyArray<string>; readonly tables?: ReadonlyArray<string>; readonly skip?: ReadonlyArray<string> },
): fc.Arbitrary<Mutation> => {
  const skipSet = new Set(opts.skip ?? ['source', 'budgetPolicy']);
  const ls: { path: string; keys: (string | number)[] }[] = [];
  leaves(value, '$', [], (k) => skipSet.has(k), ls);
  const options: fc.Arbitrary<Mutation>[] = [];
  if (ls.length > 0)
    options.push(fc.constantFrom(...ls).map((l) => ({ path: l.path, kind: 'wrong-type' as const, apply: (u: unknown) => setAt(u, l.keys, (p, k) => (p[k] = String(p[k]))) })));
  const present = opts.requiredKeys.filter((k) => typeof value === 'object' && value !== null && k in value);
  if (present.length > 0) options.push(fc.constantFrom(...present).map((k) => ({ path: `$.${k}`, kind: 'missing-key' as const, apply: (u: unknown) => setAt(u, [k], (p, kk) => delete p[kk]) })));
  const rows: { table: string; l: number }[] = [];
  for (const tname of opts.tables ?? []) {
    const tab = (value as Record<string, unknown>)[tname];
    if (Array.isArray(tab)) tab.forEach((row, l) => Array.isArray(row) && row.length > 0 && rows.push({ table: tname, l }));
  }
  if (rows.length > 0)
    options.push(fc.constantFrom(...rows).map((r) => ({ path: `$.${r.table}[${r.l}]`, kind: 'short-row' as const, apply: (u: unknown) => setAt(u, [r.table, r.l], (p, k) => (p[k] as unknown[]).pop()) })));
  return fc.oneof(...options);
};

// ---------------------------------------------------------------- published formats (importer inputs)

/** A MInference best-pattern file for `m`: per layer, `"q_head": [pattern, vertical, slash, recall]`. */
export const minferenceFileArb = (m: ModelShape): fc.Arbitrary<Record<string, [string, number, number, number]>[]> =>
  fc.array(
    fc
      .array(
        fc.tuple(
          fc.constantFrom('vertical_and_slash', 'vertical_and_slash', 'stream_llm'),
          fc.integer({ min: 0, max: 4000 }),
          fc.integer({ min: 0, max: 8000 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
        ),
        { minLength: m.queryHeads, maxLength: m.queryHeads },
      )
      .map((heads) => Object.fromEntries(heads.map((e, h) => [String(h), e]))),
    { minLength: m.layers, maxLength: m.layers },
  );

/** A DuoAttention gate matrix for `m` (rows = layers, columns = KV heads), with values a little outside [0, 1]. */
export const duoGatesArb = (m: ModelShape): fc.Arbitrary<number[][]> =>
  fc.array(fc.array(fc.double({ min: -0.1, max: 1.1, noNaN: true }), { minLength: m.kvHeads, maxLength: m.kvHeads }), { minLength: m.layers, maxLength: m.layers });

/** A MoA alpha/beta file for `m`. */
export const moaFileArb = (m: ModelShape): fc.Arbitrary<{ alphas: number[][]; betas: number[][] }> =>
  fc.record({ alphas: table(m, fc.constantFrom(-1024, 0, 512, 1024, 3072)), betas: table(m, fc.constantFrom(0, 0.125, 0.25, 0.5, 1)) });

/** An XAttention threshold file for `m` with a `max` table (as `{values}`) and a bare `other` table. */
export const xattentionFileArb = (m: ModelShape): fc.Arbitrary<Record<string, unknown>> =>
  fc.record({ max: table(m, fc.double({ min: 0, max: 1, noNaN: true })).map((values) => ({ values })), other: table(m, fc.double({ min: 0, max: 1, noNaN: true })) });
