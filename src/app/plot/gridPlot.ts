import { esc, niceTicks, px, rich, svgDocument, xAxis, yAxis } from './svg';

/**
 * A grid of small line plots sharing x and y ranges (the paper's Figures 3–4: one panel per
 * derivative ratio f_{a,b}), each with its own ticked axes, row and column headers, overall axis
 * titles, a legend and a title. Curves are cut where they leave the y range (no line is drawn
 * across a pole), and poles are drawn as dashed verticals.
 */
export interface Curve {
  readonly title: string;
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
  /** x positions of poles (the denominator's zeros), drawn as dashed verticals. */
  readonly poles?: readonly number[];
}

export interface GridPlotOptions {
  readonly title: string;
  readonly subtitle?: readonly string[];
  readonly columns: number;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Headers left of each row and above each column. */
  readonly rowLabels?: readonly string[];
  readonly columnLabels?: readonly string[];
  readonly legend: { readonly curve: string; readonly pole?: string; readonly note?: string };
}

const CURVE = '#1f6fb4';
const POLE = '#c0392b';

/** x positions where ys changes sign between samples, linearly interpolated (for poles). */
export function signChanges(xs: ArrayLike<number>, ys: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 1; i < xs.length; i++) {
    const a = ys[i - 1];
    const b = ys[i];
    if (a === 0 && i > 1) continue;
    if (b === 0) out.push(xs[i]);
    else if ((a < 0 && b > 0) || (a > 0 && b < 0)) out.push(xs[i - 1] + ((xs[i] - xs[i - 1]) * a) / (a - b));
  }
  return out;
}

export function gridPlotSvg(panels: readonly Curve[], o: GridPlotOptions): string {
  if (panels.length === 0) throw new RangeError('gridPlotSvg: no panels');
  if (!(Number.isInteger(o.columns) && o.columns > 0)) throw new RangeError(`gridPlotSvg: columns ${o.columns}`);
  const [x0, x1] = o.xRange;
  const [y0, y1] = o.yRange;
  if (!(x1 > x0 && y1 > y0)) throw new RangeError('gridPlotSvg: empty range');
  const rows = Math.ceil(panels.length / o.columns);
  const subtitle = o.subtitle ?? [];
  const w = 136;
  const h = 96;
  const cellW = w + 40;
  const cellH = h + 52;
  const left = 96;
  const top = 44 + 13 * subtitle.length + 22;
  const width = left + o.columns * cellW + 10;
  const legendY = top + rows * cellH + 30;
  const height = legendY + 30;
  const xTicks = niceTicks(x0, x1, 4);
  const yTicks = niceTicks(y0, y1, 4);
  const body: string[] = [];
  panels.forEach((panel, index) => {
    const col = index % o.columns;
    const row = Math.floor(index / o.columns);
    const left0 = left + col * cellW;
    const top0 = top + row * cellH + 16;
    const sx = (x: number): number => left0 + ((x - x0) / (x1 - x0)) * w;
    const sy = (y: number): number => top0 + h - ((y - y0) / (y1 - y0)) * h;
    const parts = [`<g class="panel">`, `<text class="panel-title" x="${px(left0 + w / 2)}" y="${px(top0 - 5)}" text-anchor="middle" font-size="10">${rich(panel.title)}</text>`];
    parts.push(`<rect x="${px(left0)}" y="${px(top0)}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
    if (y0 < 0 && y1 > 0) parts.push(`<line x1="${px(left0)}" x2="${px(left0 + w)}" y1="${px(sy(0))}" y2="${px(sy(0))}" stroke="#ccc"/>`);
    for (const p of panel.poles ?? []) if (p > x0 && p < x1) parts.push(`<line class="pole" x1="${px(sx(p))}" x2="${px(sx(p))}" y1="${px(top0)}" y2="${px(top0 + h)}" stroke="${POLE}" stroke-width="0.8" stroke-dasharray="3,2"/>`);
    // The curve, cut where it leaves the y range (poles, extreme values); a point closer than
    // half a pixel to the last one drawn is skipped unless the curve is cut after it.
    let path = '';
    let last: [number, number] | null = null;
    const inside = (i: number): boolean => {
      const y = panel.ys[i];
      const x = panel.xs[i];
      return Number.isFinite(y) && y >= y0 && y <= y1 && x >= x0 && x <= x1;
    };
    for (let i = 0; i < panel.xs.length; i++) {
      if (!inside(i)) {
        last = null;
        continue;
      }
      const X = sx(panel.xs[i]);
      const Y = sy(panel.ys[i]);
      const end = i + 1 === panel.xs.length || !inside(i + 1);
      if (last !== null && !end && Math.abs(X - last[0]) < 0.5 && Math.abs(Y - last[1]) < 0.5) continue;
      path += `${last === null ? 'M' : 'L'}${px(X)},${px(Y)}`;
      last = [X, Y];
    }
    parts.push(`<path class="curve" d="${path}" fill="none" stroke="${CURVE}" stroke-width="1.2"/>`);
    parts.push(xAxis(`x-axis-${index}`, { at: top0 + h, from: left0, to: left0 + w, scale: sx, ticks: xTicks, fontSize: 8 }));
    parts.push(yAxis(`y-axis-${index}`, { at: left0, from: top0, to: top0 + h, scale: sy, ticks: yTicks, fontSize: 8 }));
    parts.push('</g>');
    body.push(parts.join(''));
  });
  const gridLeft = left;
  const gridRight = left + o.columns * cellW - 40;
  const gridTop = top + 16;
  const gridBottom = top + rows * cellH - 36;
  if (o.columnLabels !== undefined)
    body.push(`<g id="column-labels">${o.columnLabels.map((l, c) => `<text x="${px(left + c * cellW + w / 2)}" y="${top - 2}" text-anchor="middle" font-size="11" font-weight="bold">${esc(l)}</text>`).join('')}</g>`);
  if (o.rowLabels !== undefined)
    body.push(`<g id="row-labels">${o.rowLabels.map((l, r) => `<text x="${left - 30}" y="${px(top + r * cellH + 16 + h / 2 + 4)}" text-anchor="end" font-size="11" font-weight="bold">${esc(l)}</text>`).join('')}</g>`);
  body.push(`<g id="x-axis"><text class="axis-title" x="${px((gridLeft + gridRight) / 2)}" y="${px(gridBottom + 34)}" text-anchor="middle" font-size="12">${rich(o.xLabel)}</text></g>`);
  const yx = 16;
  const yy = (gridTop + gridBottom) / 2;
  body.push(`<g id="y-axis"><text class="axis-title" x="${yx}" y="${px(yy)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${yx} ${px(yy)})">${rich(o.yLabel)}</text></g>`);
  // Legend, centred under the grid.
  const items: string[] = [];
  let lx = gridLeft;
  items.push(`<line x1="${lx}" x2="${lx + 24}" y1="${legendY}" y2="${legendY}" stroke="${CURVE}" stroke-width="1.5"/><text x="${lx + 30}" y="${legendY + 4}" font-size="10">${rich(o.legend.curve)}</text>`);
  lx += 40 + 6.2 * o.legend.curve.length;
  if (o.legend.pole !== undefined) {
    items.push(`<line x1="${lx + 12}" x2="${lx + 12}" y1="${legendY - 8}" y2="${legendY + 8}" stroke="${POLE}" stroke-dasharray="3,2"/><text x="${lx + 22}" y="${legendY + 4}" font-size="10">${rich(o.legend.pole)}</text>`);
    lx += 40 + 6.2 * o.legend.pole.length;
  }
  if (o.legend.note !== undefined) items.push(`<text x="${lx}" y="${legendY + 4}" font-size="10" fill="#333">${rich(o.legend.note)}</text>`);
  body.push(`<g id="legend"><rect x="${gridLeft - 8}" y="${legendY - 14}" width="${px(gridRight - gridLeft + 16)}" height="28" fill="none" stroke="#bbb"/>${items.join('')}</g>`);
  return svgDocument(width, height, o.title, body, subtitle);
}
