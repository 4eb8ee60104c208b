/**
 * plan.svg before and after: two (or more) per-layer timelines side by side on ONE time axis — typically the engines'
 * contiguous split ("before") and hplb's plan ("after") — so the bubbles a plan removes are visible at the same scale.
 * Each panel is labelled with its pipeline's name and latency; inside a panel, one row group per layer and one bar per
 * GPU (busy, then hatched idle up to the layer's makespan; GPUs that set the makespan in a distinct colour, marked).
 * Every panel uses the same x scale (the largest layer makespan of all panels), so a shorter bar is a shorter layer.
 * Used by the main job's plan.svg (`hplb plan`); `renderTimeline` (timeline.ts) draws a single plan. Deterministic text.
 */
import type { Simulation } from '@hplb/core';
import type { PlanOutcome } from '../api.ts';
import type { LoadedProfile } from '../profiles.ts';
import { latencyText, planTimelineSvg } from '../report.ts';
import { displayUnit, el, esc, niceTicks, num, text, tickLabel } from './xml.ts';
import { TIMELINE_COLORS as COLORS, barGeometry, layerBars, layerBubble, svgPrologue, timelineLegend } from './chart.ts';

// ---------------------------------------------------------------- model

/** One panel: a pipeline's simulation and its label (the pipeline's name). */
export interface TimelinePanel {
  /** The pipeline's name, e.g. "contiguous (engines today)". */
  readonly label: string;
  readonly sim: Simulation;
}

export interface TimelinePanelsOptions {
  readonly title: string;
  /** Second title line: profile, context, devices, budgets. */
  readonly subtitle: string;
  /** A line under the subtitle (e.g. which numbers are published and which modelled). */
  readonly note?: string;
  readonly synthetic: boolean;
}



/** The label a panel heading shows: `name — latency X unit (speed-up vs the first panel), balance eff., bubble`. */
export const panelHeading = (p: TimelinePanel, first: Simulation, factor: number, unitLabel: string): [string, string] => {
  const speedup = p.sim.latency > 0 ? first.latency / p.sim.latency : 1;
  return [
    p.label,
    `latency ${(p.sim.latency * factor).toFixed(2)} ${unitLabel} (${speedup.toFixed(2)}x) · balance eff. ${p.sim.balanceEfficiency.toFixed(3)} · bubble ${(p.sim.bubbleFraction * 100).toFixed(1)}%`,
  ];
};

// ---------------------------------------------------------------- operations

/** Render panels side by side on one shared time-within-layer axis. */
export const renderTimelinePanels = (panels: ReadonlyArray<TimelinePanel>, opts: TimelinePanelsOptions): string => {
  const P = Math.max(1, panels.length);
  const L = panels.reduce((a, p) => Math.max(a, p.sim.layers.length), 0);
  const G = panels.reduce((a, p) => Math.max(a, ...p.sim.layers.map((l) => l.busy.length)), 0);
  const maxSpan = panels.reduce((a, p) => Math.max(a, ...p.sim.layers.map((l) => l.makespan)), 0);
  const unit = panels[0]?.sim.unit ?? 'token-pairs';
  const { factor, label: unitLabel } = displayUnit(unit, maxSpan);
  const ticks = niceTicks(maxSpan * factor, 5);
  const axisMax = Math.max(ticks[ticks.length - 1]!, 1e-300) / factor;

  const { barH, barGap, groupH, groupGap } = barGeometry(G);
  const left = 64;
  const plotW = 430;
  const colW = 92; // the per-panel makespan · bubble column
  const panelW = plotW + colW;
  const gap = 36;
  const width = left + P * panelW + (P - 1) * gap + 16;
  const top = 176;
  const plotH = L * (groupH + groupGap) - groupGap;
  const height = top + plotH + 58;
  const x0Of = (k: number) => left + k * (panelW + gap);
  const xOf = (k: number, v: number) => x0Of(k) + (plotW * v) / axisMax;

  const out: string[] = [];
  out.push(...svgPrologue(num(width), num(height), opts.title + (opts.synthetic ? ' (SYNTHETIC profile)' : ''), { width, height }));

  out.push(text(left, 28, opts.title, { 'font-size': 18, 'font-weight': 'bold', fill: COLORS.text }));
  if (opts.synthetic) out.push(text(width - 16, 28, 'SYNTHETIC PROFILE', { 'font-size': 13, 'font-weight': 'bold', fill: '#b00020', 'text-anchor': 'end' }));
  out.push(text(left, 50, opts.subtitle, { 'font-size': 12, fill: COLORS.muted }));
  if (opts.note !== undefined) out.push(text(left, 68, opts.note, { 'font-size': 11.5, fill: COLORS.muted }));
  const ly = 90;
  out.push(...timelineLegend(left, ly));
  out.push(text(left, ly + 20, `Each layer: one bar per GPU (gpu0 at the top, gpu${Math.max(0, G - 1)} at the bottom); layers run one after another, GPUs in parallel. Both panels share one time axis.`, { 'font-size': 11, fill: COLORS.muted }));

  panels.forEach((p, k) => {
    const x0 = x0Of(k);
    const [name, numbers] = panelHeading(p, panels[0]!.sim, factor, unitLabel);
    out.push(`<g class="panel" data-label="${esc(p.label)}" data-latency="${num(p.sim.latency * factor)}">`);
    out.push(text(x0, top - 44, name, { 'font-size': 14, 'font-weight': 'bold', fill: COLORS.text }));
    out.push(text(x0, top - 28, numbers, { 'font-size': 11.5, fill: COLORS.text }));
    for (const t of ticks) {
      const x = xOf(k, t / factor);
      out.push(el('line', { x1: x, y1: top - 6, x2: x, y2: top + plotH + 4, stroke: COLORS.grid, 'stroke-width': 1 }));
      out.push(text(x, top - 10, tickLabel(t), { 'font-size': 10, fill: COLORS.axis, 'text-anchor': 'middle' }));
      out.push(text(x, top + plotH + 18, tickLabel(t), { 'font-size': 10, fill: COLORS.axis, 'text-anchor': 'middle' }));
    }
    out.push(el('line', { x1: x0, y1: top + plotH + 4, x2: x0 + plotW, y2: top + plotH + 4, stroke: COLORS.axis, 'stroke-width': 1 }));
    out.push(text(x0 + plotW / 2, top + plotH + 40, `time within the layer (${unitLabel})`, { 'font-size': 12, fill: COLORS.text, 'text-anchor': 'middle' }));
    out.push(text(x0 + plotW + 8, top - 10, 'makespan · bubble', { 'font-size': 9.5, fill: COLORS.axis }));
    p.sim.layers.forEach((lt, l) => {
      const y0 = top + l * (groupH + groupGap);
      if (k === 0) out.push(text(left - 8, y0 + groupH / 2 + 4, `L${l}`, { 'font-size': 11, fill: COLORS.text, 'text-anchor': 'end' }));
      out.push(...layerBars(lt, y0, x0, (v) => xOf(k, v), barH, barGap));
      const bubble = layerBubble(lt);
      out.push(text(x0 + plotW + 8, y0 + groupH / 2 + 4, `${tickLabel(lt.makespan * factor)} · ${(bubble * 100).toFixed(1)}%`, { 'font-size': 10, fill: COLORS.muted }));
    });
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
};

/** A table row as `comparisonSvg` needs it. */
export interface PanelRow {
  readonly ok: boolean;
  readonly name: string;
  readonly run?: { readonly spec: { readonly solver: string; readonly name: string }; readonly sim: Simulation };
}

/**
 * plan.svg of a comparison: the first row placed contiguously (the engines' split, "before") and the written row
 * ("after") side by side on one time axis. Undefined when there is no such pair (no contiguous row, or it is the
 * written one): draw the written plan alone then.
 */
export const comparisonPanels = (rows: ReadonlyArray<PanelRow>, chosen: number): TimelinePanel[] | undefined => {
  const after = rows[chosen];
  const before = rows.find((r, i) => i !== chosen && r.ok && r.run?.spec.solver === 'contiguous');
  if (!after?.ok || after.run === undefined || before?.run === undefined) return undefined;
  return [
    { label: before.name, sim: before.run.sim },
    { label: after.name, sim: after.run.sim },
  ];
};

/** What `comparisonSvg` draws from: a comparison's rows, the written row, its outcome and profile (a `Comparison` or a main job). */
export interface ComparisonChart {
  readonly rows: ReadonlyArray<PanelRow>;
  readonly chosen: number;
  readonly outcome: PlanOutcome;
  readonly profile: LoadedProfile;
  /** A line under the subtitle (e.g. which numbers are published). */
  readonly chartNote?: string;
}

/**
 * plan.svg of `hplb plan`: the engines' contiguous split and the written plan side by side on one time axis, each
 * panel labelled with its pipeline and latency (`comparisonPanels`); the written plan alone when there is no
 * contiguous row to compare with. Deterministic text.
 */
export const comparisonSvg = (c: ComparisonChart): string => {
  const mine = c.outcome;
  const panels = comparisonPanels(c.rows, c.chosen);
  if (panels === undefined) return planTimelineSvg({ spec: mine.pipeline, plan: mine.plan, sim: mine.simulation, ...(mine.recovery ? { recovery: mine.recovery } : {}) }, mine.settings, c.profile);
  const d = mine.settings.devices.length;
  const [before, after] = [panels[0]!.sim, panels[1]!.sim];
  return renderTimelinePanels(panels, {
    title: `hplb plan: before and after (${latencyText(before.latency, after.unit)} → ${latencyText(after.latency, after.unit)})`,
    subtitle: `${c.profile.short} · N = ${mine.settings.contextLength} · ${d} GPU${d === 1 ? '' : 's'} · written plan: ${panels[1]!.label} (policy ${mine.pipeline.policy}, solver ${mine.plan.solver.name})`,
    ...(c.chartNote !== undefined ? { note: c.chartNote } : {}),
    synthetic: c.profile.synthetic,
  });
};
