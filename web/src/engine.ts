/**
 * What the worker runs: the library facade `hplb` (its platform-neutral root) turned into the page's results.
 *   - profiles: `defaultProfile()` or `loadProfile({ text, fileName }, options)` for a dropped file, with an
 *     optional config.json as its `modelConfig` option;
 *   - planning: `mainJob` for the built-in default (what `hplb plan` runs with no flags), else `comparePipelines`
 *     (the CLI's table; its chosen row is what `hplb plan` writes), progress reported;
 *   - output: `serializePlan` (plan.json's exact bytes), `renderComparisonSvg` (plan.svg: before/after),
 *     `comparisonTable` (cells),
 *     `paretoSweep` + `renderParetoSvg` (the Pareto chart), errors through `formatError` (one line).
 * Settings the page leaves empty are not sent, so the facade's defaults apply (they are never restated here).
 */
import * as hplb from 'hplb';
import type { HplbError, LoadedProfile, PlanOptions, Profile } from 'hplb';
import type { PlanResult, PlanSettings, ProfileSource, TextFile } from './protocol.ts';

export type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string };
export type OnProgress = (done: number, total: number, label: string) => void;

/** The facade's version, from hplb/package.json at build time (web/scripts/build.ts). */
declare const __HPLB_VERSION__: string;
/** Shown on the page once the worker is up. */
export const LIBRARY = `hplb ${__HPLB_VERSION__}`;

type Either<A> = { readonly _tag: 'Left'; readonly left: HplbError } | { readonly _tag: 'Right'; readonly right: A };

const fail = (e: HplbError): Outcome<never> => ({ ok: false, message: hplb.formatError(e) });

// ---------------------------------------------------------------- profiles

/** The facade's load options. */
type LoadOptions = NonNullable<Parameters<typeof hplb.loadProfile>[1]>;

/** The profile of a request: the built-in default, or the dropped file through `loadProfile`. */
export const loadSource = (source: ProfileSource, settings: PlanSettings): Either<Profile | LoadedProfile> => {
  if (source.kind === 'default') return { _tag: 'Right', right: hplb.defaultProfile() };
  const options: Record<string, unknown> = {
    fileName: source.profile.name,
    ...(settings.format !== undefined ? { format: settings.format } : {}),
    ...(settings.model !== undefined ? { model: settings.model } : {}),
    ...(settings.contextLength !== undefined ? { contextLength: settings.contextLength } : {}),
    ...(settings.sparsity !== undefined ? { sparsity: settings.sparsity } : {}),
  };
  // A Hugging Face config.json: the model's shape (and default context), checked against the profile by the library.
  if (source.config !== undefined) options['modelConfig'] = { text: source.config.text, fileName: source.config.name };
  return hplb.loadProfile({ text: source.profile.text, fileName: source.profile.name }, options as LoadOptions);
};

// ---------------------------------------------------------------- settings

/** The page's controls as facade options: only what the user set. */
export const planOptions = (s: PlanSettings): PlanOptions => {
  const constraints = {
    ...(s.equalHeads !== undefined ? { equalHeadsPerDevice: s.equalHeads } : {}),
    ...(s.kv !== undefined ? { kv: s.kv } : {}),
  };
  const o: Record<string, unknown> = {
    ...(s.gpus !== undefined ? { gpus: s.gpus } : {}),
    ...(s.speeds !== undefined ? { speeds: s.speeds } : {}),
    ...(s.policy !== undefined ? { policy: s.policy } : {}),
    ...(s.density !== undefined ? { density: s.density } : {}),
    ...(s.solver !== undefined ? { solver: s.solver } : {}),
    ...(s.splitHeads !== undefined ? { splitHeads: s.splitHeads } : {}),
    ...(Object.keys(constraints).length > 0 ? { constraints } : {}),
    ...(s.contextLength !== undefined ? { contextLength: s.contextLength } : {}),
  };
  // Decoded (and refused with the option's JSON path) by the facade: the page passes what the user typed.
  return o as PlanOptions;
};

// ---------------------------------------------------------------- requests

type TableRows = Parameters<typeof hplb.comparisonTable>[0];
type FacadeRow = hplb.ComparisonRow;

/** Comparison rows as the table takes them (a failed row shows its reason). */
const tableRows = (rows: ReadonlyArray<FacadeRow>): TableRows =>
  rows.map((row) => (row.ok ? row : { ok: false as const, name: row.name, error: row.error.issues[0]?.expected ?? row.error.code, chosen: row.chosen }));

const tableOf = (rows: ReadonlyArray<FacadeRow>): PlanResult['table'] => {
  const t = hplb.comparisonTable(tableRows(rows));
  return { head: t.head, rows: t.rows.map((x) => ({ cells: x.cells, written: x.chosen, failed: x.failed })) };
};

/** What the serving figures are (modelled, on which hardware, for which workload) and the regime line: the CLI's lines. */
const servingNotes = (rows: ReadonlyArray<FacadeRow>, chosen: number, plan: hplb.Plan): string[] => {
  const header = hplb.servingHeader(plan);
  const regime = hplb.servingRegime(tableRows(rows), chosen);
  return [...(header ? [header] : []), ...(regime ? [regime] : [])];
};

/** The page's settings that the main job takes (the CLI's `hplb plan [--gpus G]`); any other one plans in general. */
const MAIN_JOB_SETTINGS: ReadonlyArray<keyof PlanSettings> = ['gpus'];

/**
 * Plan. The built-in default with at most a GPU count is the main job (`mainJob`: what `hplb plan` runs with no
 * flags: its table, its plan.json, its before/after plan.svg); anything else is `comparePipelines` on the profile
 * with the settings given (the table's pipelines, the chosen row's plan.json and plan.svg).
 */
export const planRequest = async (source: ProfileSource, settings: PlanSettings, onProgress: OnProgress): Promise<Outcome<PlanResult>> => {
  if (source.kind === 'default' && Object.keys(settings).every((k) => MAIN_JOB_SETTINGS.includes(k as keyof PlanSettings))) {
    const r = await hplb.mainJob({ ...(settings.gpus !== undefined ? { gpus: settings.gpus } : {}), onProgress });
    if (r._tag === 'Left') return fail(r.left);
    const job = r.right;
    const ctx = job.outcome.settings;
    const d = ctx.devices.length;
    const notes = [...servingNotes(job.rows, job.chosen, job.outcome.plan), ...job.notes];
    if (!('rows' in job.modelled)) notes.push(`[modelled] rows not run: ${job.modelled.issues[0]?.expected ?? job.modelled.code}`);
    return {
      ok: true,
      value: {
        planJson: hplb.serializePlan(job.outcome.plan),
        svg: hplb.renderComparisonSvg(job),
        table: tableOf(job.rows),
        summary: `${job.profile.label} · N = ${ctx.contextLength}, ${d} GPU${d === 1 ? '' : 's'}, block ${ctx.blockSize}, cost ${ctx.costModel.name} (${ctx.costModel.unit}); ${job.totalTokens} tokens per query over all heads`,
        notes,
      },
    };
  }
  const profile = loadSource(source, settings);
  if (profile._tag === 'Left') return fail(profile.left);
  // As `hplb plan --profile F` does: a dropped file's budgets default to the profile's own (policy "profile"); the
  // built-in default keeps the library's policy.
  const policy = settings.policy === undefined && source.kind === 'file' ? { policy: 'profile' as const } : {};
  const r = await hplb.comparePipelines(profile.right, { ...planOptions(settings), ...policy, onProgress });
  if (r._tag === 'Left') return fail(r.left);
  const c = r.right;
  const o = c.outcome;
  const ctx = c.settings;
  const d = ctx.devices.length;
  const notes: string[] = [...servingNotes(c.rows, c.chosen, o.plan)];
  if (c.profile.synthetic) notes.push('SYNTHETIC profile (generated from head archetypes, not measured on a real model).');
  if (!ctx.curves) notes.push(`recovery: n/a (${ctx.curvesError?.issues[0]?.expected ?? 'the profile has no recovery curves'})`);
  const bf = o.budgets?.details as { before?: { min: number; mean: number }; after?: { min: number; mean: number }; blocksAdded?: number } | undefined;
  if (c.policy === 'bubble-fill' && bf?.before && bf.after)
    notes.push(`bubble-fill: +${bf.blocksAdded} blocks; recovery min ${bf.before.min.toFixed(4)} → ${bf.after.min.toFixed(4)}, mean ${bf.before.mean.toFixed(4)} → ${bf.after.mean.toFixed(4)}, at the same latency`);
  const budgetText = c.policy === 'profile' ? 'budgets as stated by the profile'
    : c.policy === 'top-p' ? `policy top-p, p = ${c.choice.p ?? hplb.DEFAULT_P}`
    : `policy ${c.policy}, ${c.choice.totalTokens !== undefined ? `total ${c.choice.totalTokens} tokens` : c.choice.totalWork !== undefined ? `total work ${c.choice.totalWork} token pairs` : `density ${c.choice.density ?? hplb.DEFAULT_DENSITY}`}`;
  return {
    ok: true,
    value: {
      planJson: hplb.serializePlan(o.plan),
      svg: hplb.renderComparisonSvg(c),
      table: tableOf(c.rows),
      summary: `${c.profile.label} · N = ${ctx.contextLength}, ${d} GPU${d === 1 ? '' : 's'}, ${budgetText}, block ${ctx.blockSize}, cost ${ctx.costModel.name} (${ctx.costModel.unit})`,
      notes,
    },
  };
};

/** Pareto sweep: latency against min and mean recovery per pipeline, drawn by the CLI's chart code. */
export const paretoRequest = async (source: ProfileSource, settings: PlanSettings, onProgress: OnProgress): Promise<Outcome<string>> => {
  const profile = loadSource(source, settings);
  if (profile._tag === 'Left') return fail(profile.left);
  const { policy: _p, density: _d, solver: _s, splitHeads: _h, ...rest } = planOptions(settings) as PlanOptions & Record<string, unknown>;
  const r = await hplb.paretoSweep(profile.right, { ...rest, onProgress } as Parameters<typeof hplb.paretoSweep>[1]);
  if (r._tag === 'Left') return fail(r.left);
  const s = r.right;
  return {
    ok: true,
    value: hplb.renderParetoSvg(s.series, {
      title: 'hplb pareto: attention latency vs recovery',
      subtitle: `${s.profile.short} · N = ${s.settings.contextLength} · ${s.settings.devices.length} GPUs · cost ${s.settings.costModel.name}`,
      unit: s.unit,
      synthetic: s.profile.synthetic,
    }),
  };
};
