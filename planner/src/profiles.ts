/**
 * Profiles as the planner receives them: the built-in SYNTHETIC default, or a published / hplb file imported from its
 * text (or an already parsed object) through core's importers, labelled for tables and charts. Platform-neutral: the
 * caller reads files (`hplb/node`'s `loadProfile` takes a path).
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  BUILTIN_PROFILE_SOURCE, PROFILE_FORMATS, PUBLISHED_DEFAULT_PROVENANCE, builtinProfile, detectFormat, errorText, formatError, hplbError, importProfile, issue,
  issueText, parseJson, parseModelConfig, parseModelConfigText, publishedDefaultProfile, stripBom,
  type HplbError, type ImportProfileOptions, type ModelConfig, type ModelShape, type Profile, type RequiredProfile,
} from '@hplb/core';

// ---------------------------------------------------------------- model

/** A profile with what tables, charts and plans say about where it came from. */
export interface LoadedProfile {
  readonly profile: Profile;
  /** The file it was read from (or the name the caller gave its text), named in errors and in `plan.source`. */
  readonly file?: string;
  /** The format it was imported from (absent for the built-in default and for profiles passed as objects). */
  readonly format?: string;
  /** One line for table headers, e.g. `Llama_…json (minference, Llama-3.1-8B-Instruct)`. */
  readonly label: string;
  /** A label short enough for a chart subtitle. */
  readonly short: string;
  /** True when the profile is synthetic (not measured on a real model); every output says so. */
  readonly synthetic: boolean;
  /** True for the built-in default profile. */
  readonly builtIn: boolean;
  /** MoA: the recovery assumed at each head's span, as given to `loadProfile` (planning uses it unless told otherwise). */
  readonly spanRecovery?: number;
  /** The model's `config.json` as given to `loadProfile` (its hidden and MLP sizes price the serving step). */
  readonly modelConfig?: ModelConfig;
}

/** How to read a profile's text: its format (default: detected), model, context length and format-specific options. */
export interface LoadProfileOptions {
  /** `minference`, `duo`, `moa`, `xattention` or `hplb` (default: detected from the file name and content). */
  readonly format?: string;
  /** Context length N stored in `curve` / `required` profiles. */
  readonly contextLength?: number;
  /** The model: a registered name or alias, or a shape (default: found from the file name). */
  readonly model?: string | ModelShape;
  /**
   * The model's Hugging Face `config.json`: a parsed object, `{ text, fileName? }`, or a `ModelConfig` from core's
   * `parseModelConfig`. It gives the shape of any model (registered or not) and the default context length
   * (`max_position_embeddings`); the profile's own layers and heads must agree with it. `hplb/node` also takes a path.
   */
  readonly modelConfig?: unknown;
  /** The file name (or path) of the text: used to detect the format and the model, and named in errors. */
  readonly fileName?: string;
  /** DuoAttention: share of KV heads made streaming, in [0, 1]. */
  readonly sparsity?: number;
  /** DuoAttention: gates below this stream. */
  readonly threshold?: number;
  /** DuoAttention: the streaming window (default 128 sink + 256 recent tokens). */
  readonly sinkTokens?: number;
  readonly recentTokens?: number;
  /** XAttention: the threshold table (default `max`). */
  readonly table?: string;
  /** MoA: the recovery assumed at each head's span (MoA publishes none), kept with the profile for planning. */
  readonly spanRecovery?: number;
}

// ---------------------------------------------------------------- constructors

const isModelConfig = (u: unknown): u is ModelConfig =>
  typeof u === 'object' && u !== null && 'shape' in u && 'from' in u && typeof (u as { shape: unknown }).shape === 'object';
const isConfigText = (u: unknown): u is { text: string; fileName?: string } =>
  typeof u === 'object' && u !== null && typeof (u as { text?: unknown }).text === 'string' && Object.keys(u).every((k) => k === 'text' || k === 'fileName');

/**
 * The `modelConfig` option as a `ModelConfig`: already parsed, `{ text, fileName? }` (parsed, errors name the file), or
 * a parsed config.json object. Left: the config's error at its JSON path (`$.num_attention_heads`, …).
 */
export const modelConfigOf = (u: unknown): E.Either<HplbError, ModelConfig> =>
  isModelConfig(u) ? E.right(u) : isConfigText(u) ? parseModelConfigText(u.text, u.fileName) : parseModelConfig(u);

const seedOf = (p: Profile): string => String((p.source as { seed?: number } | undefined)?.seed ?? '?');

/** The built-in SYNTHETIC curve profile (`--profile synthetic`), labelled: for the curve-based budget policies. */
export const syntheticLoadedProfile = (): LoadedProfile => {
  const p = builtinProfile();
  return {
    profile: p,
    label: `built-in SYNTHETIC profile (${p.model.name}, generated from head archetypes, seed ${seedOf(p)})`,
    short: `built-in SYNTHETIC profile (seed ${seedOf(p)})`,
    synthetic: true,
    builtIn: true,
  };
};

let published: RequiredProfile | undefined;

/**
 * The built-in published profile: MInference's Llama-3.1-8B-Instruct pattern (microsoft/MInference, MIT) embedded in
 * @hplb/core, at N = 131072. The same object on every call (treat it as read-only). The embedded data is checked by
 * core's tests, so importing it cannot fail at run time; if it ever did, that is a broken build and this throws.
 */
export const publishedProfile = (): RequiredProfile => {
  if (published === undefined) {
    const r = publishedDefaultProfile();
    if (E.isLeft(r)) throw new Error(`hplb: the embedded published profile does not import: ${formatError(r.left)}`);
    published = r.right.profile;
  }
  return published;
};

/** Where plans say the built-in published profile came from (`plan.source.profile`). */
export const PUBLISHED_PROFILE_SOURCE = `built-in published profile: ${PUBLISHED_DEFAULT_PROVENANCE.repository} @ ${PUBLISHED_DEFAULT_PROVENANCE.commit}, ${PUBLISHED_DEFAULT_PROVENANCE.path} (${PUBLISHED_DEFAULT_PROVENANCE.license.spdx})`;

/** The built-in published profile, labelled: the default of `hplb plan` (the main job). */
export const publishedLoadedProfile = (): LoadedProfile => {
  const p = publishedProfile();
  return {
    profile: p,
    file: PUBLISHED_DEFAULT_PROVENANCE.file,
    format: 'minference',
    label: `built-in published profile: MInference ${p.model.name} (${PUBLISHED_DEFAULT_PROVENANCE.repository.replace('https://github.com/', '')} @ ${PUBLISHED_DEFAULT_PROVENANCE.commit}, ${PUBLISHED_DEFAULT_PROVENANCE.license.spdx})`,
    short: `MInference ${p.model.name} (published)`,
    synthetic: false,
    builtIn: true,
  };
};

/** The default profile of `hplb plan`, labelled: the published MInference Llama-3.1-8B-Instruct profile. */
export const builtinLoadedProfile = (): LoadedProfile => publishedLoadedProfile();

const baseName = (path: string): string => path.replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? path;

/**
 * Whether text to be format-detected must be JSON: every format but DuoAttention's TSV is, so a text that is not a
 * `.tsv` file and is named `.json`, is empty, or opens like JSON (`{`, `[`, `"`) is reported as broken JSON when it does
 * not parse (a truncated profile), never as a format that could not be detected.
 */
const mustBeJson = (file: string | undefined, text: string): boolean =>
  !/\.tsv$/i.test(file ?? '') && (/\.json$/i.test(file ?? '') || /^\s*(?:[[{"]|$)/.test(text));

/**
 * The format of a profile's text: detected from the file name and content, after checking that text which must be JSON
 * parses (invalid JSON is reported as such, with line and column, not as an undetectable format). Right(undefined):
 * nothing names a format. One rule for `loadProfile`, `hplb inspect` and the engine-layout planner.
 */
export const detectProfileFormat = (raw: string, file?: string): E.Either<HplbError, string | undefined> => {
  const text = stripBom(raw);
  if (mustBeJson(file, text)) {
    const parsed = parseJson(text, file);
    if (E.isLeft(parsed)) return parsed;
  }
  return E.right(detectFormat(file ?? '', text));
};

/**
 * Import a profile from its text (a UTF-8 byte order mark is skipped). Left: the text is not valid JSON (`$`, with line
 * and column, checked before the format is detected), the format cannot be detected (`$.format`), or the importer's
 * error (naming the file, the JSON path and what was expected). Total: never throws, whatever the options hold.
 */
export const loadProfileText = (text: string, options: LoadProfileOptions = {}): E.Either<HplbError, LoadedProfile> => {
  try {
    return loadText(text, options);
  } catch (e) {
    return E.left(hplbError('argument', [issueText('$', 'a profile text and options of plain data', `ones that cannot be read (${errorText(e)})`)], options?.fileName));
  }
};

const loadText = (raw: string, options: LoadProfileOptions): E.Either<HplbError, LoadedProfile> => {
  if (typeof raw !== 'string') return E.left(hplbError('argument', [issue('$', "a profile's text", raw)]));
  const text = stripBom(raw);
  const file = options.fileName;
  let format = options.format;
  if (format === undefined) {
    const detected = detectProfileFormat(text, file);
    if (E.isLeft(detected)) return detected;
    format = detected.right;
  }
  if (format === undefined)
    return E.left(hplbError('argument', [issue('$.format', `a profile format (${PROFILE_FORMATS.join('|')}): it could not be detected from ${file ?? 'the text'}`)]));
  let opts: ImportProfileOptions = {
    ...(file !== undefined ? { file } : {}),
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.sparsity !== undefined ? { sparsity: options.sparsity } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.table !== undefined ? { table: options.table } : {}),
    ...(options.contextLength !== undefined ? { contextLength: options.contextLength } : {}),
    ...(options.sinkTokens !== undefined ? { sinkTokens: options.sinkTokens } : {}),
    ...(options.recentTokens !== undefined ? { recentTokens: options.recentTokens } : {}),
  };
  let modelConfig: ModelConfig | undefined;
  if (options.modelConfig !== undefined) {
    const c = modelConfigOf(options.modelConfig);
    if (E.isLeft(c)) return c;
    modelConfig = c.right;
  }
  if (modelConfig !== undefined) opts = { ...opts, modelConfig };
  return E.map((p: Profile): LoadedProfile => {
    const synthetic = p.synthetic === true;
    const name = file !== undefined ? baseName(file) : 'profile';
    return {
      profile: p,
      ...(file !== undefined ? { file } : {}),
      format,
      label: `${name} (${format}, ${p.model.name}${synthetic ? ', SYNTHETIC' : ''})`,
      short: `${p.model.name} (${format}${synthetic ? ', SYNTHETIC' : ''})`,
      synthetic,
      builtIn: false,
      ...(options.spanRecovery !== undefined ? { spanRecovery: options.spanRecovery } : {}),
      ...(modelConfig !== undefined ? { modelConfig } : {}),
    };
  })(importProfile(format, text, opts));
};

const isLoaded = (x: Profile | LoadedProfile): x is LoadedProfile => 'profile' in x && 'label' in x && typeof (x as LoadedProfile).label === 'string';

/** A profile object as the planner sees it: labelled (the built-in default is recognised by identity). */
export const asLoadedProfile = (x: Profile | LoadedProfile): LoadedProfile => {
  if (isLoaded(x)) return x;
  if (x === builtinProfile()) return syntheticLoadedProfile();
  if (x === publishedProfile()) return publishedLoadedProfile();
  const synthetic = x.synthetic === true;
  return { profile: x, label: `${x.model.name} (${x.kind} profile${synthetic ? ', SYNTHETIC' : ''})`, short: `${x.model.name}${synthetic ? ' (SYNTHETIC)' : ''}`, synthetic, builtIn: false };
};

/** What plans write as `source.profile`. */
export const profileSourceName = (loaded: LoadedProfile): string =>
  loaded.builtIn ? (loaded.profile === builtinProfile() ? BUILTIN_PROFILE_SOURCE : PUBLISHED_PROFILE_SOURCE) : loaded.file ?? 'a profile given by the caller';
