/**
 * A strict XML well-formedness check for the SVG we write (used by the chart tests, and available to anyone checking an
 * SVG without a DOM): one root element, properly nested and closed tags, quoted and unique attributes, no raw `<` or
 * stray `&` in text or attribute values, only the five predefined entities or numeric character references.
 * Returns the element names in document order (for counting), or the first problem with its offset.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export type WellFormed = { readonly ok: true; readonly elements: ReadonlyArray<XmlElement> } | { readonly ok: false; readonly at: number; readonly problem: string };

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

const checkText = (s: string, base: number): WellFormed | undefined => {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '<') return { ok: false, at: base + i, problem: 'raw "<" in text' };
    if (s[i] === '&' && !ENTITY.test(s.slice(i))) return { ok: false, at: base + i, problem: 'a "&" that starts no entity' };
  }
  return undefined;
};

export const checkWellFormed = (xml: string): WellFormed => {
  const elements: XmlElement[] = [];
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) return { ok: false, at: 0, problem: 'unterminated XML declaration' };
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    const txt = xml.slice(i, textEnd);
    if (stack.length === 0 && txt.trim() !== '') return { ok: false, at: i, problem: 'text outside the root element' };
    const bad = checkText(txt, i);
    if (bad) return bad;
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) return { ok: false, at: i, problem: 'unterminated comment' };
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', i)) {
      const m = NAME.exec(xml.slice(i + 2));
      if (!m) return { ok: false, at: i, problem: 'bad closing tag' };
      const close = xml.indexOf('>', i);
      if (close < 0 || xml.slice(i + 2 + m[0].length, close).trim() !== '') return { ok: false, at: i, problem: 'bad closing tag' };
      const open = stack.pop();
      if (open !== m[0]) return { ok: false, at: i, problem: `</${m[0]}> closes <${open ?? 'nothing'}>` };
      i = close + 1;
      continue;
    }
    const m = NAME.exec(xml.slice(i + 1));
    if (!m) return { ok: false, at: i, problem: 'bad tag name' };
    if (stack.length === 0 && ++roots > 1) return { ok: false, at: i, problem: 'more than one root element' };
    let j = i + 1 + m[0].length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(j))![0].length;
      j += ws;
      if (xml.startsWith('/>', j)) {
        elements.push({ name: m[0], attrs });
        j += 2;
        break;
      }
      if (xml[j] === '>') {
        elements.push({ name: m[0], attrs });
        stack.push(m[0]);
        j += 1;
        break;
      }
      if (ws === 0) return { ok: false, at: j, problem: 'attributes must be separated by white space' };
      const an = NAME.exec(xml.slice(j));
      if (!an) return { ok: false, at: j, problem: 'bad attribute name' };
      j += an[0].length;
      if (xml[j] !== '=') return { ok: false, at: j, problem: `attribute ${an[0]} without a value` };
      const q = xml[j + 1];
      if (q !== '"' && q !== "'") return { ok: false, at: j, problem: `unquoted value of ${an[0]}` };
      const end = xml.indexOf(q, j + 2);
      if (end < 0) return { ok: false, at: j, problem: `unterminated value of ${an[0]}` };
      const v = xml.slice(j + 2, end);
      const badV = checkText(v, j + 2);
      if (badV) return badV;
      if (an[0] in attrs) return { ok: false, at: j, problem: `duplicate attribute ${an[0]}` };
      attrs[an[0]] = v;
      j = end + 1;
    }
    i = j;
  }
  if (stack.length > 0) return { ok: false, at: xml.length, problem: `<${stack[stack.length - 1]}> never closed` };
  if (roots !== 1) return { ok: false, at: 0, problem: 'no root element' };
  return { ok: true, elements };
};
