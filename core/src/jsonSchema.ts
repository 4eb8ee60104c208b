/**
 * io-ts codecs to JSON Schema (draft 2020-12). The JSON Schemas shipped in `@hplb/core/schemas/*.schema.json`
 * (`hplb.plan/1`, `hplb.engine-layout/1`, `hplb.calibration/1`, `hplb.profile/1`) are generated from the codecs by
 * `core/scripts/generate-schemas.ts` with this converter, so a file that decodes in hplb is a file that validates in
 * any standard JSON Schema validator (Python `jsonschema`, Ajv, …), and the two cannot drift apart.
 *
 * The translation is faithful to what the decoder accepts, not stricter:
 *   - `t.type` / `t.partial` / `t.exact`: objects whose other properties are allowed (io-ts strips them, never fails);
 *     a property whose codec admits `undefined` is optional;
 *   - `t.intersection`: one merged object when the members are plain objects with disjoint properties, else `allOf`;
 *   - `t.union`: `enum` when every member is a literal, else `anyOf`; `undefined` members are dropped;
 *   - refinements and brands: the base schema plus the constraints stated for that refinement's name
 *     (`CORE_REFINEMENTS` for core's brands and io-ts's `Int`). A refinement without stated constraints is an error,
 *     because its predicate cannot be read;
 *   - `t.recursion` and the codecs named in `definitions`: written once under `$defs` and referenced by `$ref`;
 *   - `t.tuple`: `prefixItems` and `minItems` (io-ts strips extra components).
 * Every other tag (functions, bigint, `undefined` on its own, unknown custom types) is an explicit error naming the
 * tag and the JSON path inside the schema, never a silent `{}`. Deliberate `t.unknown` / `t.any` become `{}`.
 * Cross-field rules that codecs cannot express (e.g. `validatePlan`, `checkProfile`) are not in the schemas.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { fail, words, type HplbError } from './errors.ts';

/** A JSON Schema object (draft 2020-12), or `true` / `false`. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema' as const;

/**
 * Constraints for core's brands (core/src/brand.ts) and io-ts's `Int`, by refinement name. JSON numbers are always
 * finite, so `Finite` is a plain number. `core/test/json-schema.test.ts` checks each against its predicate.
 */
export const CORE_REFINEMENTS: Readonly<Record<string, { readonly [keyword: string]: unknown }>> = {
  PositiveInt: { type: 'integer', minimum: 1 },
  NonNegativeInt: { type: 'integer', minimum: 0 },
  Int: { type: 'integer' },
  Finite: { type: 'number' },
  NonNegative: { type: 'number', minimum: 0 },
  Positive: { type: 'number', exclusiveMinimum: 0 },
  Fraction: { type: 'number', minimum: 0, maximum: 1 },
};

export interface JsonSchemaOptions {
  /** Codecs written once under `$defs/<name>` and referenced by `$ref` wherever they occur (matched by identity). */
  readonly definitions?: Readonly<Record<string, t.Mixed>>;
  /** Constraints per refinement / brand name, merged over the base type's schema. Default `CORE_REFINEMENTS`. */
  readonly refinements?: Readonly<Record<string, { readonly [keyword: string]: unknown }>>;
  /** Root keywords put first (e.g. `title`, `description`, `$id`). */
  readonly root?: { readonly [keyword: string]: unknown };
}

type Obj = { [keyword: string]: unknown };
type Any = t.Mixed & { readonly _tag?: string } & Record<string, unknown>;

const isObj = (s: JsonSchema): s is Obj => typeof s === 'object';
const tagOf = (c: t.Mixed): string | undefined => (c as Any)._tag;

/** Does the codec accept `undefined` (so a property of this type may be absent)? */
const admitsUndefined = (c: t.Mixed): boolean => {
  const tag = tagOf(c);
  if (tag === 'UndefinedType' || tag === 'VoidType' || tag === 'UnknownType' || tag === 'AnyType') return true;
  if (tag === 'UnionType') return ((c as unknown as t.UnionType<t.Mixed[]>).types).some(admitsUndefined);
  return false;
};
const isUndefinedTag = (c: t.Mixed): boolean => tagOf(c) === 'UndefinedType' || tagOf(c) === 'VoidType';

/** A plain object schema (`type: object` with properties / required and nothing else) can be merged. */
const plainObject = (s: JsonSchema): s is Obj =>
  isObj(s) && s['type'] === 'object' && Object.keys(s).every((k) => k === 'type' || k === 'properties' || k === 'required');

/**
 * The JSON Schema (draft 2020-12) of an io-ts codec: `$schema`, the `root` keywords, the codec's schema, `$defs`.
 * Left: an `argument` error whose path is the JSON path inside the would-be document where an untranslatable codec
 * sits (e.g. `$.solver.layers[]`), and whose actual names its `_tag` and name.
 */
export const toJsonSchema = (codec: t.Mixed, options: JsonSchemaOptions = {}): E.Either<HplbError, Obj> => {
  const refinements = options.refinements ?? CORE_REFINEMENTS;
  const defNames = new Map<t.Mixed, string>();
  for (const [name, c] of Object.entries(options.definitions ?? {})) defNames.set(c, name);
  const defs = new Map<string, JsonSchema>();
  const inProgress = new Set<string>();

  const unsupported = (c: t.Mixed, path: string, why: string): E.Either<HplbError, JsonSchema> =>
    fail('argument', path, `an io-ts codec with a JSON Schema (${why})`, words(`${tagOf(c) ?? 'a codec without _tag'} ${JSON.stringify(c.name)}`));

  const all = (cs: ReadonlyArray<t.Mixed>, path: string): E.Either<HplbError, JsonSchema[]> => {
    const out: JsonSchema[] = [];
    for (const c of cs) {
      const s = go(c, path);
      if (E.isLeft(s)) return s;
      out.push(s.right);
    }
    return E.right(out);
  };

  const properties = (props: t.Props, path: string, requireAll: boolean): E.Either<HplbError, Obj> => {
    const ps: Obj = {};
    const required: string[] = [];
    for (const [key, c] of Object.entries(props)) {
      const s = go(c, `${path}.${key}`);
      if (E.isLeft(s)) return s;
      ps[key] = s.right;
      if (requireAll && !admitsUndefined(c)) required.push(key);
    }
    return E.right(required.length > 0 ? { type: 'object', properties: ps, required } : { type: 'object', properties: ps });
  };

  // A definition being translated (a recursion) is referenced before it is complete, which is what `$ref` is for.
  const viaDefinition = (name: string, body: () => E.Either<HplbError, JsonSchema>): E.Either<HplbError, JsonSchema> => {
    if (!defs.has(name) && !inProgress.has(name)) {
      inProgress.add(name);
      const s = body();
      inProgress.delete(name);
      if (E.isLeft(s)) return s;
      defs.set(name, s.right);
    }
    return E.right({ $ref: `#/$defs/${name}` });
  };

  const go = (c: t.Mixed, path: string): E.Either<HplbError, JsonSchema> => {
    const def = defNames.get(c);
    if (def !== undefined) return viaDefinition(def, () => translate(c, path));
    return translate(c, path);
  };

  const translate = (c: t.Mixed, path: string): E.Either<HplbError, JsonSchema> => {
    const a = c as unknown as Any;
    switch (tagOf(c)) {
      case 'NullType': return E.right({ type: 'null' });
      case 'StringType': return E.right({ type: 'string' });
      case 'NumberType': return E.right({ type: 'number' });
      case 'BooleanType': return E.right({ type: 'boolean' });
      case 'UnknownType':
      case 'AnyType': return E.right({});
      case 'NeverType': return E.right(false);
      case 'AnyArrayType': return E.right({ type: 'array' });
      case 'AnyDictionaryType': return E.right({ type: 'object' });
      case 'ObjectType': return E.right({ type: ['object', 'array'] });
      case 'LiteralType': {
        const v = a['value'];
        return v === undefined ? unsupported(c, path, 'a JSON literal') : E.right({ const: v });
      }
      case 'KeyofType': return E.right({ type: 'string', enum: Object.keys(a['keys'] as object) });
      case 'ArrayType':
      case 'ReadonlyArrayType': {
        const items = go(a['type'] as t.Mixed, `${path}[]`);
        return E.map((s: JsonSchema) => ({ type: 'array', items: s }))(items);
      }
      case 'TupleType': {
        const types = a['types'] as t.Mixed[];
        const items: JsonSchema[] = [];
        for (let i = 0; i < types.length; i++) {
          const s = go(types[i]!, `${path}[${i}]`);
          if (E.isLeft(s)) return s;
          items.push(s.right);
        }
        return E.right({ type: 'array', prefixItems: items, minItems: items.length });
      }
      case 'InterfaceType': return properties(a['props'] as t.Props, path, true);
      case 'PartialType': return properties(a['props'] as t.Props, path, false);
      case 'ExactType':
      case 'StrictType':
      case 'ReadonlyType': return go(a['type'] as t.Mixed, path);
      case 'DictionaryType': {
        const domain = a['domain'] as t.Mixed;
        const codomain = a['codomain'] as t.Mixed;
        const keyTag = tagOf(domain);
        if (keyTag === 'StringType') return E.map((s: JsonSchema) => ({ type: 'object', additionalProperties: s }))(go(codomain, `${path}[*]`));
        const keys = domainKeys(domain);
        if (keys === undefined) return unsupported(c, path, 'a record keyed by string or by a finite set of string keys');
        const props: t.Props = {};
        for (const k of keys) props[k] = codomain;
        return properties(props, path, true);
      }
      case 'UnionType': {
        const members = (a['types'] as t.Mixed[]).filter((m) => !isUndefinedTag(m));
        if (members.length === 0) return unsupported(c, path, 'a union with a JSON member');
        if (members.every((m) => tagOf(m) === 'LiteralType')) return E.right({ enum: members.map((m) => (m as unknown as Any)['value']) });
        return E.map((ss: JsonSchema[]) => (ss.length === 1 ? ss[0]! : { anyOf: ss }))(all(members, path));
      }
      case 'IntersectionType': {
        const r = all(a['types'] as t.Mixed[], path);
        if (E.isLeft(r)) return r;
        const ss = r.right;
        const keys = ss.flatMap((s) => (plainObject(s) ? Object.keys((s['properties'] as Obj | undefined) ?? {}) : []));
        if (ss.every(plainObject) && new Set(keys).size === keys.length) {
          const properties: Obj = {};
          const required: string[] = [];
          for (const s of ss as Obj[]) {
            Object.assign(properties, s['properties'] ?? {});
            required.push(...((s['required'] as string[] | undefined) ?? []));
          }
          return E.right(required.length > 0 ? { type: 'object', properties, required } : { type: 'object', properties });
        }
        return E.right({ allOf: ss });
      }
      case 'RefinementType': {
        const constraints = refinements[c.name];
        if (constraints === undefined) return unsupported(c, path, `constraints stated for the refinement ${JSON.stringify(c.name)}`);
        return E.map((base: JsonSchema) => ({ ...(isObj(base) ? base : {}), ...constraints }))(go(a['type'] as t.Mixed, path));
      }
      case 'RecursiveType': return viaDefinition(c.name, () => translate(a['type'] as t.Mixed, path));
      default:
        return unsupported(c, path, 'UndefinedType, VoidType, BigIntType, FunctionType and custom types have none');
    }
  };

  return E.map((body: JsonSchema): Obj => {
    const out: Obj = { $schema: JSON_SCHEMA_DIALECT, ...(options.root ?? {}), ...(isObj(body) ? body : body ? {} : { not: {} }) };
    if (defs.size > 0) out['$defs'] = Object.fromEntries([...defs.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    return out;
  })(go(codec, '$'));
};

/** The keys of a finite record domain (a string literal, a keyof, or a union of those), as io-ts computes them. */
const domainKeys = (domain: t.Mixed): string[] | undefined => {
  const a = domain as unknown as Any;
  switch (tagOf(domain)) {
    case 'LiteralType': return typeof a['value'] === 'string' ? [a['value']] : undefined;
    case 'KeyofType': return Object.keys(a['keys'] as object);
    case 'UnionType': {
      const out: string[] = [];
      for (const m of a['types'] as t.Mixed[]) {
        const ks = domainKeys(m);
        if (ks === undefined) return undefined;
        out.push(...ks);
      }
      return out;
    }
    default: return undefined;
  }
};
