/**
 * The pieces every timeline chart shares (plan.svg's single timeline and its before/after panels): colours, the SVG
 * prologue with the hatched idle pattern, the legend, and one layer's bars (busy, idle hatched, critical GPU marked).
 */
import type { LayerTimeline } from '@hplb/core';
import { el, esc, num, text } from './xml.ts';

export const TIMELINE_COLORS = { busy: '#3b7dd8', critical: '#e0662b', idle: '#d9d9d9', idleStroke: '#b0b0b0', axis: '#444', grid: '#e6e6e6', text: '#222', muted: '#666' };
const COLORS = TIMELINE_COLORS;

/** Bar geometry for G GPUs per layer group: bar height and gap (thinner with more GPUs), group height and gap. */
export const barGeometry = (G: number): { barH: number; barGap: number; groupH: number; groupGap: number } => {
  const barH = Math.max(1.5, Math.min(6, 30 / Math.max(G, 1)));
  const barGap = barH >= 3 ? 1 : 0.5;
  return { barH, barGap, groupH: G * (barH + barGap), groupGap: 7 };
};

/** XML declaration, `<svg>` (width and height as they are to be printed), title, the idle pattern, white background. */
export const svgPrologue = (width: string, height: string, title: string, background: { width: number; height: number }): string[] => [
  `<?xml version="1.0" encoding="UTF-8"?>`,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
  `<title>${esc(title)}</title>`,
  '<defs><pattern id="idle" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    + el('rect', { width: 6, height: 6, fill: COLORS.idle }) + el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: COLORS.idleStroke, 'stroke-width': 2 }) + '</pattern></defs>',
  el('rect', { x: 0, y: 0, width: background.width, height: background.height, fill: '#ffffff' }),
];

/** The legend (busy, critical GPU, idle) on the baseline `ly`, from `left`. */
export const timelineLegend = (left: number, ly: number): string[] => {
  const out: string[] = [];
  const legend: Array<[string, string]> = [['busy (computing)', COLORS.busy], ['critical GPU (sets the layer makespan)', COLORS.critical], ['idle (bubble)', 'url(#idle)']];
  let lx = left;
  for (const [name, fill] of legend) {
    out.push(el('rect', { x: lx, y: ly - 10, width: 22, height: 11, fill, stroke: fill.startsWith('url') ? COLORS.idleStroke : 'none' }));
    out.push(text(lx + 28, ly, name, { 'font-size': 12, fill: COLORS.text }));
    lx += 40 + name.length * 6.6;
  }
  return out;
};

/** One layer's bars: a bar per GPU from `x0` (busy, then hatched idle up to the makespan; the critical GPU marked). */
export const layerBars = (lt: LayerTimeline, y0: number, x0: number, xOf: (v: number) => number, barH: number, barGap: number): string[] => {
  const out: string[] = [];
  const crit = new Set(lt.critical);
  lt.busy.forEach((busy, d) => {
    const y = y0 + d * (barH + barGap);
    const xb = xOf(busy);
    const xm = xOf(lt.makespan);
    out.push(el('rect', { x: x0, y, width: Math.max(0, xb - x0), height: barH, fill: crit.has(d) ? COLORS.critical : COLORS.busy }));
    if (xm - xb > 0.05) out.push(el('rect', { x: xb, y, width: xm - xb, height: barH, fill: 'url(#idle)' }));
    if (crit.has(d)) out.push(el('path', { d: `M${num(xm + 2)} ${num(y + barH / 2)} l5 -3 l0 6 z`, fill: COLORS.critical }));
  });
  return out;
};

/** A layer's bubble: idle time over makespan × GPUs. */
export const layerBubble = (lt: LayerTimeline): number => {
  const idle = lt.idle.reduce((a, b) => a + b, 0);
  return lt.makespan > 0 ? idle / (lt.makespan * lt.busy.length) : 0;
};
