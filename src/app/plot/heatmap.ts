import { binnedScale, hex } from './colormap';
import { indexedPng } from './png';
import { esc, niceTicks, px, svgDocument, tickLabel, xAxis, yAxis } from './svg';

/**
 * Figure 2 of the paper, drawn the way the paper draws it: the second-layer weights W of every
 * layer side by side along x (hidden units = columns of W, layers concatenated), output rows
 * along y, the log₁₀ relative error of each recovered entry as colour, with axes, ticks, a
 * labelled colour bar and a title — an SVG whose heat map is an embedded (indexed) PNG at the
 * display resolution, so the file stays small whatever the model's size.
 */
export interface HeatmapPanel {
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
  /** rows × cols, row-major. */
  readonly values: ArrayLike<number>;
}

function checkPanels(panels: readonly HeatmapPanel[]): void {
  if (panels.length === 0) throw new RangeError('heatmap: no panels');
  for (const p of panels) {
    if (!(Number.isInteger(p.rows) && p.rows > 0 && Number.isInteger(p.cols) && p.cols > 0)) throw new RangeError(`heatmap: panel ${p.label} has shape ${p.rows} × ${p.cols}`);
    if (p.values.length !== p.rows * p.cols) throw new RangeError(`heatmap: panel ${p.label} has ${p.values.length} values for ${p.rows} × ${p.cols}`);
  }
}

/**
 * The panels' columns concatenated and reduced to a width × height grid (row-major, y down):
 * pixel (x, y) is the **largest, over the columns (hidden units) it covers, of the mean over the
 * rows it covers**. The mean over rows keeps one entry's rounding error from colouring a pixel;
 * the max over units keeps a single failing unit (a whole column of W wrong, as the attacks fail)
 * visible however many units share its pixel. NaN (and +∞) propagate: they show as the worst.
 */
export function downsampleByUnit(panels: readonly HeatmapPanel[], width: number, height: number): Float32Array {
  checkPanels(panels);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new RangeError(`heatmap: size ${width} × ${height}`);
  const total = panels.reduce((a, p) => a + p.cols, 0);
  const out = new Float32Array(width * height).fill(-Infinity);
  let offset = 0;
  for (const panel of panels) {
    const { rows, cols, values } = panel;
    // Mean over each pixel row's band of matrix rows [r0, r1), per column (bands overlap only
    // when there are fewer matrix rows than pixel rows: each pixel row then shows its nearest).
    const means = new Float64Array(height * cols);
    for (let y = 0; y < height; y++) {
      const r0 = Math.floor((y * rows) / height);
      const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * rows) / height));
      const base = y * cols;
      for (let r = r0; r < r1; r++) {
        const row = r * cols;
        for (let c = 0; c < cols; c++) means[base + c] += values[row + c];
      }
      for (let c = 0; c < cols; c++) means[base + c] /= r1 - r0;
    }
    for (let x = 0; x < width; x++) {
      const c0 = Math.floor((x * total) / width);
      const c1 = Math.max(c0 + 1, Math.floor(((x + 1) * total) / width));
      const lo = Math.max(c0, offset) - offset;
      const hi = Math.min(c1, offset + cols) - offset;
      for (let c = lo; c < hi; c++) {
        for (let y = 0; y < height; y++) {
          const v = means[y * cols + c];
          const q = y * width + x;
          if (v > out[q] || Number.isNaN(v)) out[q] = v;
        }
      }
    }
    offset += cols;
  }
  return out;
}

export interface HeatmapOptions {
  readonly title: string;
  /** Lines under the title (what the figure is, how pixels are reduced). */
  readonly subtitle?: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly colorLabel: string;
  /** The colour scale's range; values outside take the end colours. */
  readonly min: number;
  readonly max: number;
  /** Colour bins per unit of value (4: quarter decades on a log₁₀ scale). */
  readonly binsPerUnit?: number;
  /** Size of the heat map's PNG, in pixels (displayed 1:1, or stretched to 200 px if shorter). */
  readonly width: number;
  readonly height: number;
  /** What the labels above the panels are (e.g. "layer"). */
  readonly panelCaption?: string;
  /** A value marked on the colour bar (e.g. the 1 % threshold, −2), with its label. */
  readonly mark?: { readonly value: number; readonly label: string };
}

/** Indexed PNG bytes of a binned grid. */
function gridPng(grid: Float32Array, width: number, height: number, bin: (v: number) => number, colors: ReadonlyArray<[number, number, number]>): Buffer {
  const indices = new Uint8Array(grid.length);
  for (let q = 0; q < grid.length; q++) indices[q] = bin(grid[q]);
  return indexedPng(width, height, indices, colors);
}

/** Figure 2 as an SVG document (see the module comment). */
export function heatmapSvg(panels: readonly HeatmapPanel[], o: HeatmapOptions): string {
  checkPanels(panels);
  const bins = Math.round((o.max - o.min) * (o.binsPerUnit ?? 4));
  const scale = binnedScale(o.min, o.max, bins);
  const grid = downsampleByUnit(panels, o.width, o.height);
  const png = gridPng(grid, o.width, o.height, scale.bin, scale.colors);
  const subtitle = o.subtitle ?? [];
  // Displayed at least 200 px tall (the PNG keeps its own rows; a short map is stretched, pixelated).
  const H = Math.max(o.height, 200);
  const left = 72;
  const top = 44 + 13 * subtitle.length + 20;
  const barX = left + o.width + 24;
  const barW = 16;
  const width = barX + barW + 78;
  const height = top + H + 56;
  const total = panels.reduce((a, p) => a + p.cols, 0);
  const rows = panels[0].rows;
  const sx = (c: number): number => left + (c / total) * o.width;
  const sy = (r: number): number => top + (r / rows) * H;
  const body: string[] = [];
  body.push(`<image id="heatmap" x="${left}" y="${top}" width="${o.width}" height="${H}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,${png.toString('base64')}"/>`);
  body.push(`<rect x="${left}" y="${top}" width="${o.width}" height="${H}" fill="none" stroke="black"/>`);
  // Layers: a tick at every boundary (top edge) and the layer's label centred over it.
  const bounds = [0];
  for (const p of panels) bounds.push(bounds[bounds.length - 1] + p.cols);
  const labels = panels.map((p, i) => `<text x="${px((sx(bounds[i]) + sx(bounds[i + 1])) / 2)}" y="${top - 9}" text-anchor="middle" font-size="9">${esc(p.label)}</text>`);
  const marks = bounds.map((b) => `<line x1="${px(sx(b))}" x2="${px(sx(b))}" y1="${top - 4}" y2="${top}" stroke="black"/>`);
  const caption = o.panelCaption === undefined ? '' : `<text x="${left - 6}" y="${top - 9}" text-anchor="end" font-size="9">${esc(o.panelCaption)}</text>`;
  body.push(`<g id="panel-labels">${caption}${marks.join('')}${panels.length <= 24 ? labels.join('') : ''}</g>`);
  const xTicks = panels.length <= 16 ? bounds : niceTicks(0, total, 8);
  body.push(xAxis('x-axis', { at: top + H, from: left, to: left + o.width, scale: sx, ticks: xTicks, labels: xTicks.map((t) => t.toString()), title: o.xLabel, titleOffset: 34 }));
  const yTicks = niceTicks(0, rows, 4);
  body.push(yAxis('y-axis', { at: left, from: top, to: top + H, scale: sy, ticks: yTicks, labels: yTicks.map((t) => t.toString()), title: o.yLabel, titleOffset: 44 }));
  // Colour bar: one rect per bin, min at the bottom; its own axis on the right.
  const cb = (v: number): number => top + H - ((v - o.min) / (o.max - o.min)) * H;
  const cells = scale.colors.map((c, k) => {
    const y1 = cb(o.min + ((k + 1) * (o.max - o.min)) / bins);
    const y0 = cb(o.min + (k * (o.max - o.min)) / bins);
    return `<rect x="${barX}" y="${px(y1)}" width="${barW}" height="${px(y0 - y1 + 0.3)}" fill="${hex(c)}"/>`;
  });
  const cbTicks = niceTicks(o.min, o.max, Math.min(10, Math.round(o.max - o.min)));
  const mark =
    o.mark === undefined
      ? ''
      : `<g class="mark"><line x1="${barX - 4}" x2="${barX + barW}" y1="${px(cb(o.mark.value))}" y2="${px(cb(o.mark.value))}" stroke="white" stroke-width="1.5" stroke-dasharray="3,2"/><text x="${barX - 6}" y="${px(cb(o.mark.value) + 3.5)}" text-anchor="end" font-size="9">${esc(o.mark.label)}</text></g>`;
  body.push(
    `<g id="colorbar">${cells.join('')}<rect x="${barX}" y="${top}" width="${barW}" height="${H}" fill="none" stroke="black"/>${mark}${yAxis('colorbar-axis', { at: barX + barW, from: top, to: top + H, scale: cb, ticks: cbTicks, labels: cbTicks.map(tickLabel), title: o.colorLabel, titleOffset: 40, side: 'right' })}</g>`,
  );
  return svgDocument(width, height, o.title, body, subtitle);
}
