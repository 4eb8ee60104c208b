/**
 * What `hplb plan` reports about planned runs, as library functions (the CLI and the browser page share them): the
 * chart of a run (plan.svg, the per-layer GPU timeline titled with the pipeline and subtitled with the profile,
 * context, devices, policy and solver), a latency in the display unit, plan.json's exact text (`serializePlan`) and
 * the comparison table (`comparisonTable` cells, `comparisonTableText`).
 */
import { renderTimeline } from './svg/timeline.ts';
import { renderServingFrontier, type FrontierPoint } from './svg/frontier.ts';
import { displayUnit } from './svg/xml.ts';
import { HARDWARE_PRESETS, prefillCeilingMs, type Plan } from '@hplb/core';
import type { PipelineRun, PlanContext } from './pipelines.ts';
import type { LoadedProfile } from './profiles.ts';

/** A latency in its display unit, e.g. `314.173 10⁹ token pairs` (the unit chosen for `ref`). */
export const latencyText = (v: number, unit: 'token-pairs' | 'seconds', ref = v): string => {
  const { factor, label } = displayUnit(unit, ref);
  return `${(v * factor).toFixed(3)} ${label}`;
};

/** plan.svg of a run: what `hplb plan` writes next to plan.json. */
export const planTimelineSvg = (run: Pick<PipelineRun, 'spec' | 'plan' | 'sim' | 'recovery'>, settings: Pick<PlanContext, 'devices' | 'contextLength'>, profile: Pick<LoadedProfile, 'short' | 'synthetic'>): string => {
  const d = settings.devices.length;
  const rec = run.recovery ? ` · recovery min ${run.recovery.min.toFixed(4)}, mean ${run.recovery.mean.toFixed(4)}` : '';
  return renderTimeline(run.sim, {
    title: `hplb plan: ${run.spec.name}`,
    subtitle: `${profile.short} · N = ${settings.contextLength} · ${d} GPU${d === 1 ? '' : 's'} · policy ${run.spec.policy} · solver ${run.plan.solver.name}`,
    summary: `latency ${latencyText(run.sim.latency, run.sim.unit)} · balance efficiency ${run.sim.balanceEfficiency.toFixed(4)} · bubble ${(run.sim.bubbleFraction * 100).toFixed(2)}%${rec}`,
    synthetic: profile.synthetic,
  });
};

/**
 * plan.json's text: the bytes `hplb plan` writes (two-space JSON and a final newline). The one serialization of a
 * plan, shared by the CLI and the browser page, so the same plan is the same file everywhere.
 */
export const serializePlan = (plan: Plan): string => JSON.stringify(plan, null, 2) + '\n';

/** A comparison-table row (or a failed pipeline's reason), as `comparisonTable` takes it. */
export type ComparisonTableRow =
  | { readonly ok: true; readonly name: string; readonly run: Pick<PipelineRun, 'spec' | 'plan' | 'sim' | 'recovery' | 'seconds' | 'serving'>; readonly chosen: boolean }
  | { readonly ok: false; readonly name: string; readonly error: string; readonly chosen: boolean };

/** The comparison table as cells: a header and one row per pipeline, numbers formatted as `hplb plan` prints them. */
export interface ComparisonTableCells {
  readonly head: ReadonlyArray<string>;
  readonly rows: ReadonlyArray<{ readonly cells: ReadonlyArray<string>; readonly chosen: boolean; readonly failed: boolean }>;
}

/**
 * The comparison table's cells: pipeline, latency (in the display unit of the slowest row), speed-up over the
 * contiguous row, balance efficiency, bubble fraction, makespan over the lower bound, min and mean recovery, solve
 * seconds. The chosen row's name ends in ` *`. A failed row shows `failed: <reason>`.
 */
export const comparisonTable = (rows: ReadonlyArray<ComparisonTableRow>): ComparisonTableCells => {
  const ok = rows.flatMap((r) => (r.ok ? [r.run] : []));
  if (ok.length > 0 && ok.every((r) => r.plan.serving)) return servingTable(rows);
  const unit = ok[0]?.sim.unit ?? 'token-pairs';
  const ref = ok.reduce((a, r) => Math.max(a, r.sim.latency), 0);
  const { factor, label } = displayUnit(unit, ref);
  const base = ok.find((r) => r.spec.solver === 'contiguous');
  const head = ['pipeline', `latency (${label})`, 'speed-up', 'balance eff.', 'bubble', 'makespan/LB', 'min rec.', 'mean rec.', 'solve s'];
  return {
    head,
    rows: rows.map((r) => {
      const name = r.name + (r.chosen ? ' *' : '');
      if (!r.ok) return { cells: [name, `failed: ${r.error}`, '', '', '', '', '', '', ''], chosen: r.chosen, failed: true };
      const x = r.run;
      const lb = x.plan.predicted.lowerBoundTotal;
      return {
        cells: [
          name,
          (x.sim.latency * factor).toFixed(3),
          base ? `${(base.sim.latency / x.sim.latency).toFixed(3)}x` : '-',
          x.sim.balanceEfficiency.toFixed(4),
          `${(x.sim.bubbleFraction * 100).toFixed(2)}%`,
          lb > 0 ? (x.sim.latency / lb).toFixed(4) : '-',
          x.recovery ? x.recovery.min.toFixed(4) : 'n/a',
          x.recovery ? x.recovery.mean.toFixed(4) : 'n/a',
          x.seconds.toFixed(2),
        ],
        chosen: r.chosen,
        failed: false,
      };
    }),
  };
};

/** The comparison table as aligned text, what `hplb plan` prints. */
export const comparisonTableText = (rows: ReadonlyArray<ComparisonTableRow>): string => {
  const t = comparisonTable(rows);
  const cells = t.rows.map((r) => r.cells);
  const widths = t.head.map((h, c) => Math.max(h.length, ...cells.map((r) => (r[c] ?? '').length)));
  const line = (cs: ReadonlyArray<string>) => cs.map((x, c) => (c > 0 ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n';
};

/**
 * The comparison table priced in the serving step (every row has a `serving` block): whole-step prefill, decode per
 * output token, request latency (the colocated objective; prefill in prefill mode) and its speed-up over contiguous,
 * attention alone and its speed-up, KV on the busiest GPU, whether weights and KV fit, balance efficiency (of the
 * row's own cost model), min and mean recovery, solve seconds. Modelled figures: `servingHeader` names the hardware.
 */
const servingTable = (rows: ReadonlyArray<ComparisonTableRow>): ComparisonTableCells => {
  const ok = rows.flatMap((r) => (r.ok ? [r.run] : []));
  const base = ok.find((r) => r.spec.solver === 'contiguous')?.plan.serving;
  const mode = ok[0]!.plan.serving!.workload.mode;
  const head = ['pipeline', 'prefill ms', 'decode ms/tok', mode === 'colocated' ? 'request ms' : 'objective ms', 'speed-up', 'attention ms', 'attn speed-up', 'KV GB max', 'fits', 'balance eff.', 'min rec.', 'mean rec.', 'solve s'];
  return {
    head,
    rows: rows.map((r) => {
      const name = r.name + (r.chosen ? ' *' : '');
      if (!r.ok) return { cells: [name, `failed: ${r.error}`, ...head.slice(2).map(() => '')], chosen: r.chosen, failed: true };
      const x = r.run;
      const s = x.plan.serving!;
      return {
        cells: [
          name,
          s.prefillMs.toFixed(1),
          s.decodeMsPerToken.toFixed(3),
          s.requestMs.toFixed(1),
          base ? `${(base.requestMs / s.requestMs).toFixed(3)}x` : '-',
          s.attentionMs.toFixed(1),
          base ? `${(base.attentionMs / s.attentionMs).toFixed(3)}x` : '-',
          (Math.max(0, ...s.kvBytesPerDevice) / 1e9).toFixed(2),
          s.fits ? 'yes' : 'NO',
          x.sim.balanceEfficiency.toFixed(4),
          x.recovery ? x.recovery.min.toFixed(4) : 'n/a',
          x.recovery ? x.recovery.mean.toFixed(4) : 'n/a',
          x.seconds.toFixed(2),
        ],
        chosen: r.chosen,
        failed: false,
      };
    }),
  };
};

/** One line naming what the serving figures are: modelled, on which hardware, for which workload. */
export const servingHeader = (plan: Plan): string | undefined => {
  const s = plan.serving;
  if (!s) return undefined;
  const hw = HARDWARE_PRESETS[s.hardware];
  const w = s.workload;
  return `modelled on ${hw ? `${hw.label} (${s.hardware})` : s.hardware}: whole TP step (Q/K/V/O projections, attention, MLP, 2 all-reduces per layer), ${w.mode === 'colocated' ? `colocated serving, request = prefill + ${w.outputTokens} output tokens × decode step` : 'prefill-only serving (decode runs elsewhere), objective = prefill'}, ${w.batch} sequence${w.batch === 1 ? '' : 's'}, N = ${w.context}`;
};

/**
 * The regime in one line: attention's share of contiguous's prefill step, the ceiling (attention perfectly balanced,
 * the rest as contiguous) and how much of its gain the written plan captures, plus the request-level speed-up.
 */
export const servingRegime = (rows: ReadonlyArray<ComparisonTableRow>, written: number): string | undefined => {
  const contiguous = rows.find((r) => r.ok && r.run.spec.solver === 'contiguous');
  const mine = rows[written];
  if (!contiguous?.ok || !mine?.ok || !contiguous.run.serving || !mine.run.plan.serving) return undefined;
  const c = contiguous.run.serving;
  const w = mine.run.plan.serving;
  const ceiling = prefillCeilingMs(c);
  const ceilingGain = c.prefillMs / ceiling;
  const gain = c.prefillMs / w.prefillMs;
  const captured = ceilingGain > 1 + 1e-9 ? ((gain - 1) / (ceilingGain - 1)) * 100 : 0;
  return `regime: attention is ${((c.attentionMs / c.prefillMs) * 100).toFixed(1)}% of contiguous's prefill step; ceiling ${ceilingGain.toFixed(3)}x prefill (attention perfectly balanced, the rest as contiguous); the written plan gets ${gain.toFixed(3)}x prefill (${captured.toFixed(0)}% of the ceiling's gain) and ${(c.requestMs / w.requestMs).toFixed(3)}x ${w.workload.mode === 'colocated' ? 'request latency' : 'prefill'}`;
};

/**
 * frontier.svg of a comparison priced in the serving step: every row's prefill against decode per token, disc area
 * the KV on its busiest GPU; contiguous, LPT, the engine layout and the written plan marked. Undefined without serving.
 */
export const servingFrontierSvg = (rows: ReadonlyArray<ComparisonTableRow>, written: number, subtitle?: string): string | undefined => {
  const points: FrontierPoint[] = [];
  rows.forEach((r, i) => {
    if (!r.ok || !r.run.plan.serving) return;
    const s = r.run.plan.serving;
    const role: FrontierPoint['role'] = i === written ? 'written' : r.run.spec.solver === 'contiguous' ? 'contiguous' : r.run.spec.solver === 'lpt' ? 'lpt' : /engine layout/.test(r.name) ? 'engine' : undefined;
    points.push({ name: r.name, prefillMs: s.prefillMs, decodeMsPerToken: s.decodeMsPerToken, kvMaxBytes: Math.max(0, ...s.kvBytesPerDevice), fits: s.fits, ...(role ? { role } : {}) });
  });
  const mine = rows[written];
  if (points.length === 0 || !mine?.ok) return undefined;
  return renderServingFrontier(points, { title: 'hplb: candidate plans in the serving step', subtitle: subtitle ?? servingHeader(mine.run.plan) ?? '' });
};
