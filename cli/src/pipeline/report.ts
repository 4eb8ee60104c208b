/**
 * Text and files for `hplb plan`: the comparison table (latency, speed-up over contiguous, balance efficiency, bubble
 * fraction, makespan over the lower bound, min/mean recovery, solve time) of the library's `comparePipelines` rows,
 * and atomic writes of plan.json and plan.svg.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@hplb/core/node';
import { displayUnit, type ComparisonRow, type PipelineRun } from 'hplb';
import { orFail } from '../io.ts';
import { flagText } from '../planFlags.ts';

const pad = (s: string, w: number, right = false) => (right ? s.padStart(w) : s.padEnd(w));

/** The comparison table. `written` is the index of the run whose plan is written. */
export const comparisonTable = (table: ReadonlyArray<ComparisonRow>, written: number): string => {
  const runs = table.map((r) => (r.ok ? r.run : { name: r.name, error: flagText(r.error.issues[0]?.expected ?? r.error.code) }));
  const ok = runs.filter((r): r is PipelineRun => 'plan' in r);
  const unit = ok[0]?.sim.unit ?? 'token-pairs';
  const ref = ok.reduce((a, r) => Math.max(a, r.sim.latency), 0);
  const { factor, label } = displayUnit(unit, ref);
  const base = ok.find((r) => r.spec.solver === 'contiguous');
  const head = ['pipeline', `latency (${label})`, 'speed-up', 'balance eff.', 'bubble', 'makespan/LB', 'min rec.', 'mean rec.', 'solve s'];
  const rows: string[][] = runs.map((r, i) => {
    const mark = i === written ? ' *' : '';
    if (!('plan' in r)) return [r.name + mark, `failed: ${r.error}`, '', '', '', '', '', '', ''];
    const lb = r.plan.predicted.lowerBoundTotal;
    return [
      r.spec.name + mark,
      (r.sim.latency * factor).toFixed(3),
      base ? `${(base.sim.latency / r.sim.latency).toFixed(3)}x` : '-',
      r.sim.balanceEfficiency.toFixed(4),
      `${(r.sim.bubbleFraction * 100).toFixed(2)}%`,
      lb > 0 ? (r.sim.latency / lb).toFixed(4) : '-',
      r.recovery ? r.recovery.min.toFixed(4) : 'n/a',
      r.recovery ? r.recovery.mean.toFixed(4) : 'n/a',
      r.seconds.toFixed(2),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((x, c) => pad(x, widths[c]!, c > 0)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
};

/** Where plan.json and plan.svg go: --out F (svg next to it), else --out-dir D (or the current directory). */
export const outputPaths = (cwd: string, out: string | undefined, outDir: string | undefined): { plan: string; svg: string } => {
  if (out !== undefined) {
    const plan = out.startsWith('/') ? out : join(cwd, out);
    return { plan, svg: plan.replace(/\.json$/i, '') + '.svg' };
  }
  const dir = outDir === undefined ? cwd : outDir.startsWith('/') ? outDir : join(cwd, outDir);
  return { plan: join(dir, 'plan.json'), svg: join(dir, 'plan.svg') };
};

export const writeOutputs = (paths: { plan: string; svg: string }, planJson: string, svg: string): void => {
  orFail(writeFileAtomic(paths.plan, planJson));
  orFail(writeFileAtomic(paths.svg, svg));
};
