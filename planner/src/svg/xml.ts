/**
 * Small helpers for writing SVG as text: escaping, number formatting (fixed decimals, so output is byte-identical for
 * the same inputs), "nice" axis ticks and unit scaling. Used by the timeline (plan.svg) and Pareto (pareto.svg) charts.
 */

/**
 * Characters XML 1.0 cannot hold at all, not even as a character reference: C0 controls other than tab, line feed and
 * carriage return, lone surrogates, U+FFFE and U+FFFF. `esc` writes them as visible `\uXXXX` text instead.
 */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text for an SVG/XML text node or attribute value: `& < > "` as entities, and characters XML cannot hold (control
 * characters such as \u0001 or ESC, lone surrogates) as the visible text `\u0001`, so any name gives well-formed XML.
 */
export const esc = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(NOT_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A coordinate with at most 2 decimals, no trailing zeros. */
export const num = (x: number): string => {
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
};

/** Attribute list from an object, in key order. */
export const attrs = (a: Record<string, string | number | undefined>): string =>
  Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v!)}"`)
    .join('');

export const el = (name: string, a: Record<string, string | number | undefined>, body?: string): string =>
  body === undefined ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${body}</${name}>`;

export const text = (x: number, y: number, s: string, a: Record<string, string | number | undefined> = {}): string => el('text', { x, y, ...a }, esc(s));

/** About `count` round tick values from 0 to the first one ≥ max. */
export const niceTicks = (max: number, count = 6): number[] => {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const last = Math.ceil(max / step - 1e-9);
  for (let i = 0; i <= last; i++) out.push(i * step);
  return out;
};

/** Ticks covering [lo, hi] (not necessarily from 0). */
export const rangeTicks = (lo: number, hi: number, count = 6): number[] => {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi * (1 + 1e-9) + 1e-12; v += step) out.push(Math.round(v / step) * step);
  return out;
};

/** Scale a quantity for display: token pairs in G/T (10^9/10^12), seconds in ms/µs. */
export const displayUnit = (unit: 'token-pairs' | 'seconds', max: number): { factor: number; label: string } => {
  if (unit === 'seconds') return max >= 1 ? { factor: 1, label: 's' } : max >= 1e-3 ? { factor: 1e3, label: 'ms' } : { factor: 1e6, label: 'µs' };
  return max >= 1e12 ? { factor: 1e-12, label: '10¹² token pairs' } : max >= 1e9 ? { factor: 1e-9, label: '10⁹ token pairs' } : max >= 1e6 ? { factor: 1e-6, label: '10⁶ token pairs' } : { factor: 1, label: 'token pairs' };
};

/** A tick label: up to 3 significant decimals, trailing zeros dropped. */
export const tickLabel = (v: number): string => {
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
};
