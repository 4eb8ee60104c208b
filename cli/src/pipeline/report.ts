/**
 * Text and files for `hplb plan`: the comparison table (latency, speed-up over contiguous, balance efficiency, bubble
 * fraction, makespan over the lower bound, min/mean recovery, solve time) of the library's `comparePipelines` rows,
 * and the atomic write of plan.json, plan.svg and plan-frontier.svg as one set.
 */
import { join } from 'node:path';
import { writeFilesAtomic } from 'hplb/node';
import { comparisonTableText, type ComparisonRow, type ComparisonTableRow } from 'hplb';
import { orFail } from '../io.ts';
import { flagText } from '../planFlags.ts';

/**
 * The comparison table as `hplb plan` prints it: the library's `comparisonTableText` (one formatting for the CLI and
 * the browser page), with failed rows' reasons in the CLI's words. `written` is the index of the row whose plan is
 * written (marked `*`).
 */
export const comparisonTable = (table: ReadonlyArray<ComparisonRow>, written: number): string =>
  comparisonTableText(table.map((r, i): ComparisonTableRow => (r.ok
    ? { ok: true, name: r.run.spec.name, run: r.run, chosen: i === written }
    : { ok: false, name: r.name, error: flagText(r.error.issues[0]?.expected ?? r.error.code), chosen: i === written })));

/** Where plan.json and plan.svg go: --out F (svg next to it), else --out-dir D (or the current directory). */
export const outputPaths = (cwd: string, out: string | undefined, outDir: string | undefined): { plan: string; svg: string } => {
  if (out !== undefined) {
    const plan = out.startsWith('/') ? out : join(cwd, out);
    return { plan, svg: plan.replace(/\.json$/i, '') + '.svg' };
  }
  const dir = outDir === undefined ? cwd : outDir.startsWith('/') ? outDir : join(cwd, outDir);
  return { plan: join(dir, 'plan.json'), svg: join(dir, 'plan.svg') };
};

/** Where frontier.svg goes: beside plan.svg, `<plan.svg without .svg>-frontier.svg`. */
export const frontierPath = (paths: { svg: string }): string => paths.svg.replace(/\.svg$/i, '') + '-frontier.svg';

/**
 * Write plan.json, plan.svg and (when given) plan-frontier.svg as one set: each to a temporary name beside it, then
 * all renamed under one lock (`writeFilesAtomic`), so the three always come from the same run, even with other runs
 * writing into the same folder; when a write fails before the renames, nothing is written.
 */
export const writeOutputs = (paths: { plan: string; svg: string }, planJson: string, svg: string, frontier?: string): void => {
  orFail(writeFilesAtomic([
    { path: paths.plan, data: planJson },
    { path: paths.svg, data: svg },
    ...(frontier !== undefined ? [{ path: frontierPath(paths), data: frontier }] : []),
  ]));
};
