/**
 * The JSON Schemas of hplb's file formats, generated from the codecs that decode them (`toJsonSchema`):
 * `hplb.plan/1` (PlanC), `hplb.engine-layout/1` (EngineLayoutC), `hplb.calibration/1` (CalibrationC) and
 * `hplb.profile/1` (ProfileC). `core/scripts/generate-schemas.ts` (`npm run schemas`) writes them to
 * `core/schemas/<file>`, shipped as `@hplb/core/schemas/<file>` for non-TypeScript readers (Python serving code);
 * a test checks the committed files equal a fresh generation. The schemas state shapes and value ranges; the
 * cross-field checks of `validatePlan`, `validateEngineLayout` and `checkProfile` are not expressible in them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { CalibrationC, CalibrationSampleC, CostModelC } from './cost.ts';
import { EngineLayerC, EngineLayoutC, EngineRankC, ENGINE_LAYOUT_FORMAT, RowRangeC } from './engineLayout.ts';
import type { HplbError } from './errors.ts';
import { toJsonSchema, type JsonSchema } from './jsonSchema.ts';
import { DeviceC, ModelShapeC } from './model.ts';
import { PlanC, PLAN_FORMAT, PredictedC, SplitC, SplitPartC } from './plan.ts';
import { CurveProfileC, ElasticProfileC, HeadCurveC, PROFILE_FORMAT, ProfileC, RequiredProfileC, SpanRuleC } from './profile.ts';

export const CALIBRATION_FORMAT = 'hplb.calibration/1' as const;

/** One shipped schema: its file name, the format it describes and the codec it is generated from. */
export interface SchemaDocument {
  readonly file: string;
  readonly format: string;
  readonly description: string;
  readonly codec: t.Mixed;
  readonly definitions: Readonly<Record<string, t.Mixed>>;
}

export const SCHEMA_DOCUMENTS: ReadonlyArray<SchemaDocument> = [
  {
    file: 'plan.schema.json',
    format: PLAN_FORMAT,
    description: 'An hplb plan: per-head token budgets, placement of heads (and split-head row ranges) on devices, predicted loads. Written by `hplb plan`; consistency across fields is checked by hplb\'s validatePlan.',
    codec: PlanC,
    definitions: { ModelShape: ModelShapeC, Device: DeviceC, CostModel: CostModelC, Split: SplitC, SplitPart: SplitPartC, Predicted: PredictedC },
  },
  {
    file: 'engine-layout.schema.json',
    format: ENGINE_LAYOUT_FORMAT,
    description: 'An hplb engine layout: the per-layer query-head permutation, KV slots (with copies) and rank contents for vLLM / SGLang / TensorRT-LLM. Written by `hplb export`; the engine rule is checked by hplb\'s validateEngineLayout.',
    codec: EngineLayoutC,
    definitions: { ModelShape: ModelShapeC, EngineLayer: EngineLayerC, EngineRank: EngineRankC, RowRange: RowRangeC },
  },
  {
    file: 'calibration.schema.json',
    format: CALIBRATION_FORMAT,
    description: 'An hplb calibration: a kernel backend timed over budgets x context lengths, the fitted cost model in seconds. Written by `hplb calibrate`, read by `hplb plan --calibration`.',
    codec: CalibrationC,
    definitions: { CostModel: CostModelC, CalibrationSample: CalibrationSampleC },
  },
  {
    file: 'profile.schema.json',
    format: PROFILE_FORMAT,
    description: 'An hplb sparsity profile: what each attention head needs, as recovery curves (kind "curve"), one budget per head (kind "required") or spans alpha + beta*N (kind "elastic"). Tables are [layer][head]; hplb\'s checkProfile adds the shape and monotonicity checks.',
    codec: ProfileC,
    definitions: { ModelShape: ModelShapeC, CurveProfile: CurveProfileC, RequiredProfile: RequiredProfileC, ElasticProfile: ElasticProfileC, HeadCurve: HeadCurveC, SpanRule: SpanRuleC },
  },
];

/** The schema of one document, with `title` (the format name) and `description` at its root. */
export const schemaOf = (doc: SchemaDocument): E.Either<HplbError, { readonly [keyword: string]: unknown }> =>
  toJsonSchema(doc.codec, { definitions: doc.definitions, root: { title: doc.format, description: doc.description } });

/** Every shipped schema by file name, as the text written to `core/schemas/` (2-space JSON, final newline). */
export const generateSchemas = (): E.Either<HplbError, ReadonlyArray<{ readonly file: string; readonly schema: JsonSchema; readonly text: string }>> => {
  const out: Array<{ file: string; schema: JsonSchema; text: string }> = [];
  for (const doc of SCHEMA_DOCUMENTS) {
    const s = schemaOf(doc);
    if (E.isLeft(s)) return s;
    out.push({ file: doc.file, schema: s.right, text: JSON.stringify(s.right, null, 2) + '\n' });
  }
  return E.right(out);
};
