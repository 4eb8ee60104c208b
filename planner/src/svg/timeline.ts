/**
 * plan.svg: the per-layer timeline of a plan. One row group per layer, one horizontal bar per GPU inside it: the busy
 * part (computing its heads) and the idle part up to the layer's makespan (the bubble, hatched). GPUs that set the
 * layer's makespan (critical) are drawn in a distinct colour and marked with a triangle. A shared time axis in display
 * units (10⁹ token pairs, or ms with a seconds cost model) runs along the top and bottom; the right column gives each
 * layer's makespan and bubble. The title says which profile (SYNTHETIC when it is) and the summary line gives the
 * latency, balance efficiency, bubble fraction and recovery. Output is deterministic text (fixed decimals).
 */
import type { Simulation } from '@hplb/core';
import { displayUnit, el, niceTicks, num, text, tickLabel } from './xml.ts';
import { TIMELINE_COLORS as COLORS, barGeometry, layerBars, layerBubble, svgPrologue, timelineLegend } from './chart.ts';

/** Titles and the synthetic mark of a timeline chart. */
export interface TimelineOptions {
  readonly title: string;
  /** Second title line: profile, context, devices, policy, solver. */
  readonly subtitle: string;
  /** One line of headline numbers. */
  readonly summary: string;
  readonly synthetic: boolean;
}

/** plan.svg: one row per layer, one bar per GPU (busy, idle hatched, critical GPU marked), legend and units. */
export const renderTimeline = (sim: Simulation, opts: TimelineOptions): string => {
  const L = sim.layers.length;
  const G = sim.layers.reduce((a, l) => Math.max(a, l.busy.length), 0);
  const maxSpan = sim.layers.reduce((a, l) => Math.max(a, l.makespan), 0);
  const { factor, label: unitLabel } = displayUnit(sim.unit, maxSpan);
  const ticks = niceTicks(maxSpan * factor, 6);
  const axisMax = Math.max(ticks[ticks.length - 1]!, 1e-300) / factor;

  const { barH, barGap, groupH, groupGap } = barGeometry(G);
  const left = 64;
  const plotW = 760;
  const right = 190;
  const width = left + plotW + right;
  const top = 150;
  const plotH = L * (groupH + groupGap) - groupGap;
  const height = top + plotH + 58;
  const xOf = (v: number) => left + (plotW * v) / axisMax;

  const out: string[] = [];
  out.push(...svgPrologue(String(width), num(height), opts.title + (opts.synthetic ? ' (SYNTHETIC profile)' : ''), { width, height }));

  // Titles, summary, legend.
  out.push(text(left, 28, opts.title, { 'font-size': 18, 'font-weight': 'bold', fill: COLORS.text }));
  if (opts.synthetic) out.push(text(width - 16, 28, 'SYNTHETIC PROFILE', { 'font-size': 13, 'font-weight': 'bold', fill: '#b00020', 'text-anchor': 'end' }));
  out.push(text(left, 50, opts.subtitle, { 'font-size': 12, fill: COLORS.muted }));
  out.push(text(left, 70, opts.summary, { 'font-size': 12.5, fill: COLORS.text }));
  const ly = 92;
  out.push(...timelineLegend(left, ly));
  out.push(text(left, ly + 22, `Each layer: one bar per GPU (gpu0 at the top, gpu${G - 1} at the bottom); layers run one after another, GPUs in parallel.`, { 'font-size': 11, fill: COLORS.muted }));

  // Grid and axes.
  for (const t of ticks) {
    const x = xOf(t / factor);
    out.push(el('line', { x1: x, y1: top - 6, x2: x, y2: top + plotH + 4, stroke: COLORS.grid, 'stroke-width': 1 }));
    out.push(text(x, top - 10, tickLabel(t), { 'font-size': 10.5, fill: COLORS.axis, 'text-anchor': 'middle' }));
    out.push(text(x, top + plotH + 18, tickLabel(t), { 'font-size': 10.5, fill: COLORS.axis, 'text-anchor': 'middle' }));
  }
  out.push(el('line', { x1: left, y1: top + plotH + 4, x2: left + plotW, y2: top + plotH + 4, stroke: COLORS.axis, 'stroke-width': 1 }));
  out.push(text(left + plotW / 2, top + plotH + 40, `time within the layer (${unitLabel})`, { 'font-size': 12.5, fill: COLORS.text, 'text-anchor': 'middle' }));
  out.push(text(left + plotW + 12, top - 22, 'makespan · bubble', { 'font-size': 10.5, fill: COLORS.axis }));
  out.push(text(left + plotW + 12, top - 10, `(${unitLabel} · % idle)`, { 'font-size': 10, fill: COLORS.axis }));

  // Bars.
  sim.layers.forEach((lt, l) => {
    const y0 = top + l * (groupH + groupGap);
    out.push(text(left - 8, y0 + groupH / 2 + 4, `L${l}`, { 'font-size': 11, fill: COLORS.text, 'text-anchor': 'end' }));
    out.push(...layerBars(lt, y0, left, xOf, barH, barGap));
    const bubble = layerBubble(lt);
    out.push(text(left + plotW + 12, y0 + groupH / 2 + 4, `${tickLabel(lt.makespan * factor)} · ${(bubble * 100).toFixed(1)}%`, { 'font-size': 10.5, fill: COLORS.muted }));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
};
