/**
 * pareto.svg: the accuracy–latency figure. Two panels share the latency axis (x): minimum recovery (left) and mean
 * recovery (right) on y. Each pipeline is one coloured line through its density sweep; the skyline (points no other
 * point beats on both latency and that panel's recovery) is drawn as a dashed black staircase with ringed points.
 * Deterministic text output.
 */
import { displayUnit, el, esc, num, rangeTicks, text, tickLabel } from './xml.ts';

/** One point of a Pareto series: the density it ran at, its latency and min / mean recovery. */
export interface ParetoPoint {
  readonly density: number;
  readonly latency: number;
  readonly min: number;
  readonly mean: number;
}

/** One pipeline's points. */
export interface ParetoSeries {
  readonly name: string;
  readonly points: ReadonlyArray<ParetoPoint>;
}

/** Titles, the latency unit and the synthetic mark of a Pareto chart. */
export interface ParetoOptions {
  readonly title: string;
  readonly subtitle: string;
  readonly unit: 'token-pairs' | 'seconds';
  readonly synthetic: boolean;
}

const PALETTE = ['#7f7f7f', '#2ca02c', '#1f77b4', '#d62728', '#9467bd', '#8c564b'];

/** Indices of points on the skyline: no other point has latency ≤ and recovery ≥ with one strict. Sorted by latency. */
export const skyline = (pts: ReadonlyArray<{ latency: number; r: number }>): number[] => {
  const idx = pts.map((_, i) => i).sort((a, b) => pts[a]!.latency - pts[b]!.latency || pts[b]!.r - pts[a]!.r || a - b);
  const out: number[] = [];
  let best = -Infinity;
  for (const i of idx) {
    if (pts[i]!.r > best + 1e-12) {
      out.push(i);
      best = pts[i]!.r;
    }
  }
  return out;
};

/** pareto.svg: latency against min (left) and mean (right) recovery per series, the skylines dashed. */
export const renderPareto = (series: ReadonlyArray<ParetoSeries>, opts: ParetoOptions): string => {
  const all = series.flatMap((s) => s.points);
  const maxLat = Math.max(...all.map((p) => p.latency), 1e-300);
  const minLat = Math.min(...all.map((p) => p.latency));
  const { factor, label } = displayUnit(opts.unit, maxLat);
  const xt = rangeTicks(minLat * factor * 0.95, maxLat * factor * 1.02, 6);
  const x0 = Math.min(xt[0]!, minLat * factor) / factor;
  const x1 = Math.max(xt[xt.length - 1]!, maxLat * factor) / factor;
  const panelW = 470;
  const panelH = 360;
  const left = 70;
  const gap = 90;
  const top = 110;
  const width = left + 2 * panelW + gap + 30;
  const height = top + panelH + 120;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  out.push(`<title>${esc(opts.title + (opts.synthetic ? ' (SYNTHETIC profile)' : ''))}</title>`);
  out.push(el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  out.push(text(left, 28, opts.title, { 'font-size': 18, 'font-weight': 'bold', fill: '#222' }));
  if (opts.synthetic) out.push(text(width - 16, 28, 'SYNTHETIC PROFILE', { 'font-size': 13, 'font-weight': 'bold', fill: '#b00020', 'text-anchor': 'end' }));
  out.push(text(left, 50, opts.subtitle, { 'font-size': 12, fill: '#666' }));
  // Legend.
  let lx = left;
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    out.push(el('line', { x1: lx, y1: 72, x2: lx + 24, y2: 72, stroke: c, 'stroke-width': 2.5 }));
    out.push(el('circle', { cx: lx + 12, cy: 72, r: 3.5, fill: c }));
    out.push(text(lx + 30, 76, s.name, { 'font-size': 12, fill: '#222' }));
    lx += 48 + s.name.length * 6.6;
  });
  out.push(el('line', { x1: lx, y1: 72, x2: lx + 24, y2: 72, stroke: '#000', 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }));
  out.push(el('circle', { cx: lx + 12, cy: 72, r: 6, fill: 'none', stroke: '#000', 'stroke-width': 1.3 }));
  out.push(text(lx + 30, 76, 'skyline (Pareto-optimal)', { 'font-size': 12, fill: '#222' }));

  (['min', 'mean'] as const).forEach((key, panel) => {
    const px = left + panel * (panelW + gap);
    const rs = all.map((p) => p[key]);
    const yt = rangeTicks(Math.max(0, Math.min(...rs) - 0.01), Math.min(1, Math.max(...rs) + 0.005), 6);
    const y0 = Math.min(yt[0]!, Math.min(...rs));
    const y1 = Math.max(yt[yt.length - 1]!, Math.max(...rs));
    const X = (v: number) => px + ((v - x0) / Math.max(x1 - x0, 1e-300)) * panelW;
    const Y = (r: number) => top + panelH - ((r - y0) / Math.max(y1 - y0, 1e-12)) * panelH;
    out.push(el('rect', { x: px, y: top, width: panelW, height: panelH, fill: 'none', stroke: '#444', 'stroke-width': 1 }));
    for (const t of xt) {
      const x = X(t / factor);
      if (x < px - 0.5 || x > px + panelW + 0.5) continue;
      out.push(el('line', { x1: x, y1: top, x2: x, y2: top + panelH, stroke: '#ececec' }));
      out.push(text(x, top + panelH + 16, tickLabel(t), { 'font-size': 10.5, fill: '#444', 'text-anchor': 'middle' }));
    }
    for (const t of yt) {
      const y = Y(t);
      if (y < top - 0.5 || y > top + panelH + 0.5) continue;
      out.push(el('line', { x1: px, y1: y, x2: px + panelW, y2: y, stroke: '#ececec' }));
      out.push(text(px - 6, y + 4, t.toFixed(3), { 'font-size': 10.5, fill: '#444', 'text-anchor': 'end' }));
    }
    out.push(text(px + panelW / 2, top + panelH + 38, `attention latency (${label}), lower is better`, { 'font-size': 12, fill: '#222', 'text-anchor': 'middle' }));
    out.push(text(px + panelW / 2, top - 10, `${key === 'min' ? 'minimum' : 'mean'} recovery over heads (higher is better)`, { 'font-size': 13, 'font-weight': 'bold', fill: '#222', 'text-anchor': 'middle' }));
    out.push(el('text', { x: px - 52, y: top + panelH / 2, 'font-size': 12, fill: '#222', 'text-anchor': 'middle', transform: `rotate(-90 ${num(px - 52)} ${num(top + panelH / 2)})` }, `${key} recovery`));
    series.forEach((s, i) => {
      const c = PALETTE[i % PALETTE.length]!;
      const pts = [...s.points].sort((a, b) => a.density - b.density);
      out.push(el('polyline', { points: pts.map((p) => `${num(X(p.latency))},${num(Y(p[key]))}`).join(' '), fill: 'none', stroke: c, 'stroke-width': 2 }));
      for (const p of pts) out.push(el('circle', { cx: X(p.latency), cy: Y(p[key]), r: 3.5, fill: c }, `<title>${esc(`${s.name}: density ${p.density}, latency ${tickLabel(p.latency * factor)} ${label}, ${key} recovery ${p[key].toFixed(4)}`)}</title>`));
    });
    const flat = series.flatMap((s) => s.points.map((p) => ({ latency: p.latency, r: p[key] })));
    const sky = skyline(flat).map((i) => flat[i]!);
    if (sky.length > 0) {
      let d = `M${num(X(sky[0]!.latency))} ${num(Y(sky[0]!.r))}`;
      for (let i = 1; i < sky.length; i++) d += ` H${num(X(sky[i]!.latency))} V${num(Y(sky[i]!.r))}`;
      out.push(el('path', { d, fill: 'none', stroke: '#000', 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }));
      for (const p of sky) out.push(el('circle', { cx: X(p.latency), cy: Y(p.r), r: 6, fill: 'none', stroke: '#000', 'stroke-width': 1.3 }));
    }
  });
  out.push(text(left, height - 22, 'Each line sweeps the budget density for one pipeline; the skyline joins the points no other point beats on both axes.', { 'font-size': 11, fill: '#666' }));
  out.push('</svg>');
  return out.join('\n') + '\n';
};
