import { PNG } from 'pngjs';

/**
 * A heat map PNG (pngjs: a maintained pure-JS PNG encoder) of values on a grid, each pixel the
 * mean of the cells it covers (a max would paint every pixel with the storage format's worst
 * rounding error and hide the structure the paper's Figure 2 shows).
 */
export interface HeatmapPanel {
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
  readonly values: Float32Array;
}

/** A perceptually ordered colour ramp (dark blue → teal → yellow), t ∈ [0, 1]. */
function ramp(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as [number, number, number];
}

/** Panels side by side (the paper concatenates layers along x); returns PNG bytes. */
export function heatmapPng(panels: readonly HeatmapPanel[], options: { width: number; height: number; min: number; max: number }): Buffer {
  const gap = 2;
  const barHeight = 12;
  const panelWidth = Math.floor((options.width - gap * (panels.length - 1)) / panels.length);
  const png = new PNG({ width: options.width, height: options.height + barHeight + 4 });
  png.data.fill(255);
  panels.forEach((panel, p) => {
    const x0 = p * (panelWidth + gap);
    for (let px = 0; px < panelWidth; px++) {
      const c0 = Math.floor((px * panel.cols) / panelWidth);
      const c1 = Math.max(c0 + 1, Math.floor(((px + 1) * panel.cols) / panelWidth));
      for (let py = 0; py < options.height; py++) {
        const r0 = Math.floor((py * panel.rows) / options.height);
        const r1 = Math.max(r0 + 1, Math.floor(((py + 1) * panel.rows) / options.height));
        let sum = 0;
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) sum += panel.values[r * panel.cols + c];
        const mean = sum / ((r1 - r0) * (c1 - c0));
        const [red, green, blue] = ramp((mean - options.min) / (options.max - options.min));
        const idx = (py * options.width + x0 + px) * 4;
        png.data[idx] = red;
        png.data[idx + 1] = green;
        png.data[idx + 2] = blue;
        png.data[idx + 3] = 255;
      }
    }
  });
  // Colour bar along the bottom: min on the left, max on the right.
  for (let px = 0; px < options.width; px++) {
    const [red, green, blue] = ramp(px / (options.width - 1));
    for (let py = options.height + 4; py < options.height + 4 + barHeight; py++) {
      const idx = (py * options.width + px) * 4;
      png.data[idx] = red;
      png.data[idx + 1] = green;
      png.data[idx + 2] = blue;
      png.data[idx + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
