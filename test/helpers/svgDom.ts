/**
 * A minimal XML reader for the SVGs the project writes (elements, attributes, text; comments and
 * declarations skipped). Throws on mismatched or unclosed tags, so parsing is a well-formedness
 * check; the queries below find figure parts by id, class and tag.
 */
export interface SvgNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: SvgNode[];
  text: string;
}

const unescape = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');

export function parseSvg(source: string): SvgNode {
  const root: SvgNode = { tag: '#document', attrs: {}, children: [], text: '' };
  const stack: SvgNode[] = [root];
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/([A-Za-z][\w:-]*)\s*>|<([A-Za-z][\w:-]*)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(source)) !== null) {
    if (m.index !== consumed) throw new Error(`svg: unparsable text at offset ${consumed}: ${source.slice(consumed, consumed + 40)}`);
    consumed = token.lastIndex;
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) {
      if (top.tag !== m[1]) throw new Error(`svg: </${m[1]}> closes <${top.tag}>`);
      stack.pop();
    } else if (m[2] !== undefined) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
      const node: SvgNode = { tag: m[2], attrs, children: [], text: '' };
      top.children.push(node);
      if (m[4] !== '/') stack.push(node);
    } else if (m[5] !== undefined) {
      top.text += unescape(m[5]);
    }
  }
  if (consumed !== source.length) throw new Error(`svg: unparsable text at offset ${consumed}`);
  if (stack.length !== 1) throw new Error(`svg: <${stack[stack.length - 1].tag}> not closed`);
  const svg = root.children.filter((c) => c.tag === 'svg');
  if (svg.length !== 1) throw new Error('svg: no single <svg> root');
  return svg[0];
}

/** Every node under n (n included), depth first. */
export function* walk(n: SvgNode): Generator<SvgNode> {
  yield n;
  for (const c of n.children) yield* walk(c);
}

export const byId = (n: SvgNode, id: string): SvgNode | undefined => [...walk(n)].find((x) => x.attrs.id === id);
export const byClass = (n: SvgNode, cls: string): SvgNode[] => [...walk(n)].filter((x) => (x.attrs.class ?? '').split(/\s+/).includes(cls));
export const byTag = (n: SvgNode, tag: string): SvgNode[] => [...walk(n)].filter((x) => x.tag === tag);

/** The text of n and its descendants, concatenated. */
export const textOf = (n: SvgNode): string => n.text + n.children.map(textOf).join('');

/** Tick labels of an axis group, as numbers (typographic minus read as '-'). */
export const tickValues = (axis: SvgNode): number[] => byClass(axis, 'tick').map((t) => Number(textOf(t).replace(/−/g, '-').replace(/,/g, '')));
