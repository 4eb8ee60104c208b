/**
 * The built-in real profile: MInference's published per-query-head pattern for Llama-3.1-8B-Instruct at 128k
 * (microsoft/MInference, MIT), shipped inside @hplb/core as a JSON module (`data/published/`), byte for byte the file of
 * `../shared/data/minference/` (a test checks it), with its license notice and provenance (`data/published/provenance.json`).
 * It is what `hplb plan` runs by default (N = 131072, 8 GPUs). Platform-neutral: a JSON import, so it bundles for browsers.
 *
 * What is published and what is not: each head's budget (vertical + slash tokens) and its recall (the share of dense
 * attention mass its pattern keeps) are the authors' numbers. A recovery curve through that one point is a model
 * (`power-through-point`, core/src/recovery.ts), not a measurement.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from './errors.ts';
import type { RequiredProfile } from './profile.ts';
import { minferenceProfile } from './importers/minference.ts';
import pattern from './data/published/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json' with { type: 'json' };
import provenanceData from './data/published/provenance.json' with { type: 'json' };

// ---------------------------------------------------------------- model

/** Where the embedded profile comes from and under which license it is redistributed. */
export interface PublishedProvenance {
  readonly what: string;
  /** Upstream repository URL. */
  readonly repository: string;
  /** Upstream commit the file was taken at. */
  readonly commit: string;
  /** Path of the file inside the upstream repository. */
  readonly path: string;
  /** The file's name (also the name of the embedded copy). */
  readonly file: string;
  /** The registered model the pattern belongs to. */
  readonly model: string;
  /** The context length and GPU count the default plan uses. */
  readonly contextLength: number;
  readonly gpus: number;
  /** Which numbers in it are published (as opposed to modelled by hplb). */
  readonly published: ReadonlyArray<string>;
  readonly license: { readonly spdx: string; readonly copyright: string; readonly text: string };
}

/** Provenance and license notice of the embedded profile. */
export const PUBLISHED_DEFAULT_PROVENANCE: PublishedProvenance = provenanceData;

/** The context length (N) and GPU count of the main job on the published default. */
export const PUBLISHED_DEFAULT_CONTEXT_LENGTH = provenanceData.contextLength;
export const PUBLISHED_DEFAULT_GPUS = provenanceData.gpus;

/** The embedded profile and where it comes from. */
export interface PublishedDefault {
  readonly profile: RequiredProfile;
  readonly provenance: PublishedProvenance;
}

// ---------------------------------------------------------------- constructors

/** The raw embedded MInference pattern JSON (one `{"q_head": [pattern, v, s, score]}` object per layer). */
export const publishedDefaultPattern = (): unknown => pattern;

/**
 * The published MInference Llama-3.1-8B-Instruct profile (`required`: budgets + recall) at N = 131072, with its
 * provenance recorded in `profile.source` too (repository, commit, path, license).
 */
export const publishedDefaultProfile = (): E.Either<HplbError, PublishedDefault> => {
  const p = PUBLISHED_DEFAULT_PROVENANCE;
  return E.map((profile: RequiredProfile) => {
    const source = {
      ...(profile.source ?? {}),
      file: p.file,
      repository: p.repository,
      commit: p.commit,
      path: p.path,
      license: `${p.license.spdx} (${p.license.copyright})`,
      published: p.published,
      embedded: 'the built-in default profile of @hplb/core (core/src/data/published/)',
    };
    return { profile: { ...profile, source } as RequiredProfile, provenance: p };
  })(minferenceProfile(pattern, { file: p.file, model: p.model, contextLength: p.contextLength }));
};
