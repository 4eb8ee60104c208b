/**
 * What the worker runs: the library facade `hplb` (platform-neutral root) turned into the page's results.
 * Expected failures come back as `{ ok: false, message }` with the library's one-line message (`formatError`).
 */
import type { PlanResult, PlanSettings, ProfileSource } from './protocol.ts';

export type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string };
export type OnProgress = (done: number, total: number, label: string) => void;

/** The facade's version, from hplb/package.json at build time (web/scripts/build.ts). */
declare const __HPLB_VERSION__: string;
/** Shown on the page once the worker is up. */
export const LIBRARY = `hplb ${__HPLB_VERSION__}`;

export const planRequest = async (_source: ProfileSource, _settings: PlanSettings, _onProgress: OnProgress): Promise<Outcome<PlanResult>> =>
  ({ ok: false, message: 'planning is not wired to the library yet' });

export const paretoRequest = async (_source: ProfileSource, _settings: PlanSettings, _onProgress: OnProgress): Promise<Outcome<string>> =>
  ({ ok: false, message: 'the Pareto sweep is not wired to the library yet' });
