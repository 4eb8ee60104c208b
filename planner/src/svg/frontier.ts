/**
 * frontier.svg: the candidate plans of a workload in the serving step. Whole-step prefill (ms) on x, decode per output
 * token (ms) on y, each plan a disc whose area grows with the KV bytes on its busiest GPU. Points no other point beats on
 * both axes are ringed (the frontier, joined by a dashed staircase); contiguous, LPT, the engine layout and the written
 * plan are marked by name. Modelled figures: the subtitle names the hardware preset. Deterministic text output.
 */
import { el, esc, num, rangeTicks, text, tickLabel } from './xml.ts';

/** One candidate plan on the frontier chart. */
export interface FrontierPoint {
  readonly name: string;
  readonly prefillMs: number;
  readonly decodeMsPerToken: number;
  /** KV bytes on the busiest GPU (the disc's area). */
  readonly kvMaxBytes: number;
  readonly fits: boolean;
  /** What the point is marked as. */
  readonly role?: 'contiguous' | 'lpt' | 'engine' | 'written';
}

/** Titles of the frontier chart. */
export interface FrontierOptions {
  readonly title: string;
  readonly subtitle: string;
}

/** Indices of the points no other point beats on both prefill and decode (≤ both, < one), sorted by prefill. */
export const servingFrontier = (pts: ReadonlyArray<Pick<FrontierPoint, 'prefillMs' | 'decodeMsPerToken'>>): number[] => {
  const idx = pts.map((_, i) => i).sort((a, b) => pts[a]!.prefillMs - pts[b]!.prefillMs || pts[a]!.decodeMsPerToken - pts[b]!.decodeMsPerToken || a - b);
  const out: number[] = [];
  let best = Infinity;
  for (const i of idx) {
    if (pts[i]!.decodeMsPerToken < best - 1e-12) {
      out.push(i);
      best = pts[i]!.decodeMsPerToken;
    }
  }
  return out;
};

const ROLE_COLOUR: Record<NonNullable<FrontierPoint['role']>, string> = { contiguous: '#7f7f7f', lpt: '#1f77b4', engine: '#9467bd', written: '#d62728' };
const ROLE_LABEL: Record<NonNullable<FrontierPoint['role']>, string> = { contiguous: 'contiguous', lpt: 'LPT', engine: 'engine layout', written: 'written plan' };

/** frontier.svg of the candidates (see the module comment). */
export const renderServingFrontier = (points: ReadonlyArray<FrontierPoint>, opts: FrontierOptions): string => {
  const W = 1040;
  const H = 560;
  const left = 80;
  const top = 100;
  const pw = 820;
  const ph = 380;
  const xs = points.map((p) => p.prefillMs);
  const ys = points.map((p) => p.decodeMsPerToken);
  const pad = (lo: number, hi: number) => (hi - lo > 0 ? (hi - lo) * 0.08 : Math.max(hi * 0.05, 1e-6));
  const xt = rangeTicks(Math.min(...xs) - pad(Math.min(...xs), Math.max(...xs)), Math.max(...xs) + pad(Math.min(...xs), Math.max(...xs)), 6);
  const yt = rangeTicks(Math.min(...ys) - pad(Math.min(...ys), Math.max(...ys)), Math.max(...ys) + pad(Math.min(...ys), Math.max(...ys)), 6);
  const x0 = Math.min(xt[0]!, ...xs);
  const x1 = Math.max(xt[xt.length - 1]!, ...xs);
  const y0 = Math.min(yt[0]!, ...ys);
  const y1 = Math.max(yt[yt.length - 1]!, ...ys);
  const X = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const Y = (v: number) => top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const kvMax = Math.max(...points.map((p) => p.kvMaxBytes), 1);
  const R = (kv: number) => 4 + 14 * Math.sqrt(kv / kvMax);
  const parts: string[] = [];
  parts.push(el('rect', { x: 0, y: 0, width: W, height: H, fill: 'white' }));
  parts.push(text(left, 32, opts.title, { 'font-size': 18, 'font-weight': 'bold' }));
  parts.push(text(left, 54, opts.subtitle, { 'font-size': 12, fill: '#444' }));
  parts.push(text(left, 74, `disc area ∝ KV bytes on the busiest GPU (largest: ${(kvMax / 1e9).toFixed(2)} GB); ringed: the frontier (no plan is faster on both axes); hollow: does not fit`, { 'font-size': 11, fill: '#444' }));
  parts.push(el('rect', { x: left, y: top, width: pw, height: ph, fill: 'none', stroke: '#999' }));
  for (const v of xt) {
    if (v < x0 || v > x1) continue;
    parts.push(el('line', { x1: X(v), y1: top, x2: X(v), y2: top + ph, stroke: '#eee' }));
    parts.push(text(X(v), top + ph + 16, tickLabel(v), { 'font-size': 11, 'text-anchor': 'middle' }));
  }
  for (const v of yt) {
    if (v < y0 || v > y1) continue;
    parts.push(el('line', { x1: left, y1: Y(v), x2: left + pw, y2: Y(v), stroke: '#eee' }));
    parts.push(text(left - 6, Y(v) + 4, tickLabel(v), { 'font-size': 11, 'text-anchor': 'end' }));
  }
  parts.push(text(left + pw / 2, top + ph + 38, 'prefill, whole step (ms)', { 'font-size': 12, 'text-anchor': 'middle' }));
  parts.push(text(20, top + ph / 2, 'decode per output token (ms)', { 'font-size': 12, 'text-anchor': 'middle', transform: `rotate(-90 20 ${num(top + ph / 2)})` }));
  const front = servingFrontier(points);
  if (front.length > 1) {
    let d = `M ${num(X(points[front[0]!]!.prefillMs))} ${num(Y(points[front[0]!]!.decodeMsPerToken))}`;
    for (let k = 1; k < front.length; k++) {
      const p = points[front[k]!]!;
      d += ` H ${num(X(p.prefillMs))} V ${num(Y(p.decodeMsPerToken))}`;
    }
    parts.push(el('path', { d, fill: 'none', stroke: '#000', 'stroke-dasharray': '4 3' }));
  }
  const onFront = new Set(front);
  // Larger discs first, so small ones stay visible on top.
  const order = points.map((_, i) => i).sort((a, b) => points[b]!.kvMaxBytes - points[a]!.kvMaxBytes || a - b);
  for (const i of order) {
    const p = points[i]!;
    const colour = p.role ? ROLE_COLOUR[p.role] : '#2ca02c';
    parts.push(el('circle', { cx: X(p.prefillMs), cy: Y(p.decodeMsPerToken), r: R(p.kvMaxBytes), fill: p.fits ? colour : 'none', 'fill-opacity': 0.45, stroke: colour, 'stroke-width': 1.5 }, `<title>${esc(`${p.name}: prefill ${p.prefillMs.toFixed(1)} ms, decode ${p.decodeMsPerToken.toFixed(3)} ms/token, KV ${(p.kvMaxBytes / 1e9).toFixed(2)} GB on the busiest GPU`)}</title>`));
    if (onFront.has(i)) parts.push(el('circle', { cx: X(p.prefillMs), cy: Y(p.decodeMsPerToken), r: R(p.kvMaxBytes) + 3, fill: 'none', stroke: '#000' }));
  }
  // Labels: marked roles by their role, the rest by name; stacked so coincident points stay readable.
  const used = new Map<string, number>();
  points.forEach((p) => {
    const key = `${Math.round(X(p.prefillMs) / 8)},${Math.round(Y(p.decodeMsPerToken) / 8)}`;
    const k = used.get(key) ?? 0;
    used.set(key, k + 1);
    const label = p.role ? `${ROLE_LABEL[p.role]}: ${p.name}` : p.name;
    parts.push(text(X(p.prefillMs) + R(p.kvMaxBytes) + 4, Y(p.decodeMsPerToken) + 4 + 13 * k, label, { 'font-size': 10, fill: p.role ? ROLE_COLOUR[p.role] : '#333' }));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
};
