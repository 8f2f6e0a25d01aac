/** Minimal SVG line plots, written by hand: a grid of small panels with axes and one curve each. */
export interface Curve {
  readonly title: string;
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function gridPlotSvg(title: string, panels: readonly Curve[], columns: number, yRange: [number, number], xRange: [number, number]): string {
  const cell = 170;
  const pad = 28;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * cell + pad;
  const height = rows * cell + pad + 24;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const x0 = pad + (index % columns) * cell;
    const y0 = 24 + Math.floor(index / columns) * cell;
    const w = cell - 16;
    const h = cell - 30;
    const sx = (x: number) => x0 + ((x - xRange[0]) / (xRange[1] - xRange[0])) * w;
    const sy = (y: number) => y0 + 14 + h - ((Math.min(yRange[1], Math.max(yRange[0], y)) - yRange[0]) / (yRange[1] - yRange[0])) * h;
    parts.push(`<rect x="${x0}" y="${y0 + 14}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${x0 + w / 2}" y="${y0 + 10}" text-anchor="middle">${esc(panel.title)}</text>`);
    if (yRange[0] < 0 && yRange[1] > 0) parts.push(`<line x1="${x0}" x2="${x0 + w}" y1="${sy(0)}" y2="${sy(0)}" stroke="#ddd"/>`);
    // Break the line where it leaves the range (poles), so asymptotes are not drawn as lines.
    let path = '';
    let pen = false;
    for (let i = 0; i < panel.xs.length; i++) {
      const y = panel.ys[i];
      const inside = Number.isFinite(y) && y >= yRange[0] && y <= yRange[1];
      if (!inside) {
        pen = false;
        continue;
      }
      path += `${pen ? 'L' : 'M'}${sx(panel.xs[i]).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
    }
    parts.push(`<path d="${path}" fill="none" stroke="#1f6fb4" stroke-width="1"/>`);
    parts.push(`<text x="${x0}" y="${y0 + h + 26}" font-size="8">${xRange[0]}</text><text x="${x0 + w}" y="${y0 + h + 26}" font-size="8" text-anchor="end">${xRange[1]}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
