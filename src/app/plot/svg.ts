/**
 * SVG primitives for the case study's figures, written by hand (no plotting dependency): text
 * escaping, number labels, "nice" tick positions, and axes with ticks and labels. Every figure
 * marks its parts with ids and classes (`title`, `x-axis`, `y-axis`, `tick`, `colorbar`, `legend`)
 * so a test can find them.
 */

/** Escape text for SVG content and attribute values. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Escaped text with subscripts: `f_{a,b}` becomes f with "a,b" lowered and smaller (tspans with
 * dy, which every SVG renderer supports, unlike baseline-shift).
 */
export function rich(s: string): string {
  const parts = s.split(/_\{([^}]*)\}/);
  if (parts.length === 1) return esc(s);
  let out = esc(parts[0]);
  for (let i = 1; i < parts.length; i += 2) {
    out += `<tspan dy="0.3em" font-size="75%">${esc(parts[i])}</tspan>`;
    out += `<tspan dy="-0.3em">${esc(parts[i + 1]) === '' ? '&#8203;' : esc(parts[i + 1])}</tspan>`;
  }
  return out;
}

/** A tick label: at most 4 significant digits, a typographic minus, no trailing zeros. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const s = Math.abs(v) >= 1e4 ? Math.round(v).toString() : Number(v.toPrecision(4)).toString();
  return s.replace('-', '−');
}

/** Coordinates for SVG attributes (one decimal, no "-0"). */
export const px = (v: number): string => {
  const r = Math.round(v * 10) / 10;
  return (r === 0 ? 0 : r).toString();
};

/**
 * Tick positions at 1, 2 or 5 × 10ᵏ steps covering [lo, hi], about `count` of them (Heckbert's
 * "nice numbers"): the step is the nice number nearest (hi − lo)/count.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) throw new RangeError(`niceTicks: need finite lo < hi, got [${lo}, ${hi}]`);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`niceTicks: count must be a positive integer, got ${count}`);
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  let step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
  // Rounding the step up can leave fewer than two ticks inside a short range: then take the next
  // smaller nice step (5 → 2 → 1 → 0.5 …).
  const smaller = (s: number): number => {
    const e = 10 ** Math.floor(Math.log10(s) + 1e-9);
    const m = Math.round(s / e);
    return m === 1 ? 0.5 * e : m === 2 ? e : 2 * e;
  };
  for (;;) {
    const ticks: number[] = [];
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
    if (ticks.length >= Math.min(2, count)) return ticks;
    step = smaller(step);
  }
}

export interface AxisSpec {
  /** Pixel position of the axis line: y for a horizontal (x) axis, x for a vertical (y) axis. */
  readonly at: number;
  /** Pixel extent of the axis along its direction. */
  readonly from: number;
  readonly to: number;
  /** Data value → pixel along the axis. */
  readonly scale: (v: number) => number;
  readonly ticks: readonly number[];
  /** Tick labels (default: tickLabel of the value); '' draws the tick without a label. */
  readonly labels?: readonly string[];
  readonly title?: string;
  /** Offset of the title from the axis line (pixels). */
  readonly titleOffset?: number;
  readonly fontSize?: number;
}

/** A horizontal axis below a plot: line, tick marks, tick labels, title. */
export function xAxis(id: string, a: AxisSpec): string {
  const fs = a.fontSize ?? 10;
  const parts = [`<g id="${esc(id)}" class="x-axis">`, `<line x1="${px(a.from)}" x2="${px(a.to)}" y1="${px(a.at)}" y2="${px(a.at)}" stroke="black"/>`];
  a.ticks.forEach((t, i) => {
    const x = a.scale(t);
    const label = a.labels?.[i] ?? tickLabel(t);
    parts.push(`<g class="tick"><line x1="${px(x)}" x2="${px(x)}" y1="${px(a.at)}" y2="${px(a.at + 4)}" stroke="black"/>${label === '' ? '' : `<text x="${px(x)}" y="${px(a.at + 5 + fs)}" text-anchor="middle" font-size="${fs}">${esc(label)}</text>`}</g>`);
  });
  if (a.title !== undefined) parts.push(`<text class="axis-title" x="${px((a.from + a.to) / 2)}" y="${px(a.at + (a.titleOffset ?? 2 * fs + 12))}" text-anchor="middle" font-size="${fs + 1}">${rich(a.title)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

/** A vertical axis to the left of a plot (or to the right with `side: 'right'`). */
export function yAxis(id: string, a: AxisSpec & { side?: 'left' | 'right' }): string {
  const fs = a.fontSize ?? 10;
  const dir = a.side === 'right' ? 1 : -1;
  const parts = [`<g id="${esc(id)}" class="y-axis">`, `<line x1="${px(a.at)}" x2="${px(a.at)}" y1="${px(a.from)}" y2="${px(a.to)}" stroke="black"/>`];
  a.ticks.forEach((t, i) => {
    const y = a.scale(t);
    const label = a.labels?.[i] ?? tickLabel(t);
    parts.push(
      `<g class="tick"><line x1="${px(a.at)}" x2="${px(a.at + 4 * dir)}" y1="${px(y)}" y2="${px(y)}" stroke="black"/>${label === '' ? '' : `<text x="${px(a.at + 6 * dir)}" y="${px(y + fs * 0.35)}" text-anchor="${dir < 0 ? 'end' : 'start'}" font-size="${fs}">${esc(label)}</text>`}</g>`,
    );
  });
  if (a.title !== undefined) {
    const x = a.at + dir * (a.titleOffset ?? 3 * fs + 10);
    const y = (a.from + a.to) / 2;
    parts.push(`<text class="axis-title" x="${px(x)}" y="${px(y)}" text-anchor="middle" font-size="${fs + 1}" transform="rotate(${dir < 0 ? -90 : 90} ${px(x)} ${px(y)})">${rich(a.title)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

/** The document: white background, a title (and an optional subtitle line) at the top. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[], subtitle?: readonly string[]): string {
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="10">`,
    `<title>${esc(title.replace(/_\{([^}]*)\}/g, '_$1'))}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g id="title"><text x="${px(width / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${rich(title)}</text>${(subtitle ?? []).map((line, i) => `<text class="subtitle" x="${px(width / 2)}" y="${36 + 13 * i}" text-anchor="middle" font-size="10.5" fill="#333">${rich(line)}</text>`).join('')}</g>`,
  ];
  return [...head, ...body, '</svg>'].join('\n') + '\n';
}
