import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { niceTicks } from '../src/app/plot/svg';
import { binnedScale, viridis } from '../src/app/plot/colormap';
import { downsampleByUnit, HeatmapPanel } from '../src/app/plot/heatmap';
import { signChanges } from '../src/app/plot/gridPlot';
import { crc32, indexedPng } from '../src/app/plot/png';
import { attackInMemory, derivativeRatioSvg, figure2Svg } from '../src/app/cli/caseStudy';
import { attackReleasedFile, compareCheckpoints, ErrorMap } from '../adversaries/taylormlp';
import { writeSyntheticCheckpoint } from '../src/numerics/models/synthetic';
import { releaseCheckpoint } from '../schemes/taylormlp';
import { byClass, byId, byTag, parseSvg, SvgNode, textOf, tickValues } from './helpers/svgDom';
import { temporaryDirectory } from './helpers/temporaryDirectories';

const rsvg = spawnSync('rsvg-convert', ['--version']).status === 0;
if (!rsvg) process.stderr.write('figures.test: rsvg-convert not found (apt-get install librsvg2-bin): rendering checks SKIPPED\n');
const itRendered = rsvg ? it : it.skip;

/** Render an SVG with rsvg-convert and decode the PNG. */
function render(svg: string): PNG {
  const dir = temporaryDirectory('wg-figures-');
  try {
    fs.writeFileSync(path.join(dir, 'f.svg'), svg);
    const r = spawnSync('rsvg-convert', [path.join(dir, 'f.svg'), '-o', path.join(dir, 'f.png')]);
    if (r.status !== 0) throw new Error(`rsvg-convert failed: ${r.stderr.toString()}`);
    return PNG.sync.read(fs.readFileSync(path.join(dir, 'f.png')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const pixel = (png: PNG, x: number, y: number): [number, number, number] => {
  const i = (Math.floor(y) * png.width + Math.floor(x)) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
};
const near = (a: readonly number[], b: readonly number[], tol = 6): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tol);

/** Title, axes with numeric tick labels, everything a figure must have. */
function expectFigureParts(root: SvgNode): void {
  expect(byTag(root, 'title')[0].text.length).toBeGreaterThan(10);
  expect(textOf(byId(root, 'title')!).length).toBeGreaterThan(10);
  expect(root.attrs.width).toMatch(/^\d+$/);
  expect(root.attrs.height).toMatch(/^\d+$/);
}

describe('niceTicks: 1, 2, 5 × 10ᵏ steps inside the range', () => {
  it('known cases', () => {
    expect(niceTicks(0, 768, 4)).toEqual([0, 200, 400, 600]);
    expect(niceTicks(-6, 1, 7)).toEqual([-6, -5, -4, -3, -2, -1, 0, 1]);
    expect(niceTicks(-10, 10, 4)).toEqual([-10, -5, 0, 5, 10]);
  });
  it('property: ticks inside [lo, hi], equally spaced by a nice step, at least 2 for count ≥ 2', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true }), fc.integer({ min: 2, max: 12 }), (lo, span, count) => {
        fc.pre(span > 1e-4 * Math.abs(lo)); // ranges a plot has, not float-precision slivers
        const hi = lo + span;
        const t = niceTicks(lo, hi, count);
        expect(t.length).toBeGreaterThanOrEqual(2);
        const step = t[1] - t[0];
        const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
        expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
        for (const v of t) {
          expect(v).toBeGreaterThanOrEqual(lo - 1e-8 * step);
          expect(v).toBeLessThanOrEqual(hi + 1e-8 * step);
        }
        for (let i = 2; i < t.length; i++) expect(Math.abs(t[i] - t[i - 1] - step)).toBeLessThan(1e-6 * step);
      }),
    );
  });
});

describe('downsampleByUnit: max over hidden units of the mean over output rows', () => {
  /** The definition, computed the slow way. */
  function reference(panels: readonly HeatmapPanel[], width: number, height: number): Float64Array {
    const total = panels.reduce((a, p) => a + p.cols, 0);
    const out = new Float64Array(width * height);
    for (let x = 0; x < width; x++) {
      const c0 = Math.floor((x * total) / width);
      const c1 = Math.max(c0 + 1, Math.floor(((x + 1) * total) / width));
      for (let y = 0; y < height; y++) {
        let best = -Infinity;
        for (let g = c0; g < c1; g++) {
          let offset = 0;
          let p = 0;
          while (g >= offset + panels[p].cols) offset += panels[p++].cols;
          const { rows, cols, values } = panels[p];
          const r0 = Math.floor((y * rows) / height);
          const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * rows) / height));
          let s = 0;
          for (let r = r0; r < r1; r++) s += values[r * cols + (g - offset)];
          best = Math.max(best, s / (r1 - r0));
        }
        out[y * width + x] = best;
      }
    }
    return out;
  }

  it('property: equals the definition on random panels and sizes (fewer and more pixels than entries)', () => {
    const arb = fc
      .record({ rows: fc.integer({ min: 1, max: 9 }), cols: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 12 }), seed: fc.integer() })
      .map(({ rows, cols, width, height, seed }) => {
        let s = seed >>> 0;
        const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 8 - 6;
        return { panels: cols.map((c, i) => ({ label: String(i), rows, cols: c, values: Float32Array.from({ length: rows * c }, next) })), width, height };
      });
    fc.assert(
      fc.property(arb, ({ panels, width, height }) => {
        const got = downsampleByUnit(panels, width, height);
        const want = reference(panels, width, height);
        for (let q = 0; q < want.length; q++) expect(Math.abs(got[q] - want[q])).toBeLessThan(1e-5);
      }),
    );
  });

  it('one failing unit (a whole column of W) shows at every row of its pixel column; one bad entry is averaged away', () => {
    const rows = 30;
    const cols = 100;
    const values = new Float32Array(rows * cols).fill(-3);
    for (let r = 0; r < rows; r++) values[r * cols + 57] = 0; // unit 57 fails
    values[4 * cols + 10] = 0; // a single entry
    const grid = downsampleByUnit([{ label: '0', rows, cols, values }], 10, 10);
    for (let y = 0; y < 10; y++) expect(grid[y * 10 + 5]).toBeCloseTo(0, 6);
    expect(grid[1 * 10 + 1]).toBeCloseTo(-2, 6); // mean of (0, −3, −3)
    expect(grid[0 * 10 + 1]).toBeCloseTo(-3, 6);
  });

  it('NaN shows as the worst value', () => {
    const values = new Float32Array(4).fill(-4);
    values[3] = NaN;
    const grid = downsampleByUnit([{ label: '0', rows: 2, cols: 2, values }], 1, 1);
    expect(binnedScale(-6, 1, 28).bin(grid[0])).toBe(27);
  });
});

describe('Figure 2 (SVG): heat map, axes, ticks, labelled colour bar, title', () => {
  // 3 layers of 24 × 256, error 1e-3 everywhere, unit 100 of layer 1 wrong (error 1).
  const map: ErrorMap = [0, 1, 2].map((l) => {
    const log10 = new Float32Array(24 * 256).fill(-3);
    if (l === 1) for (let r = 0; r < 24; r++) log10[r * 256 + 100] = 0;
    return { layer: `model.decoder.layers.${l}`, rows: 24, cols: 256, log10 };
  });
  const svg = figure2Svg(map, { attack: 'test', model: 'a test model', release: 'N = 8, bf16' });
  const root = parseSvg(svg);

  it('has a title, x and y axes with tick labels and titles, panel (layer) labels', () => {
    expectFigureParts(root);
    expect(textOf(byId(root, 'title')!)).toMatch(/log₁₀/);
    const x = byId(root, 'x-axis')!;
    expect(tickValues(x)).toEqual([0, 256, 512, 768]); // layer boundaries, units concatenated
    expect(textOf(byClass(x, 'axis-title')[0])).toMatch(/hidden unit/);
    const y = byId(root, 'y-axis')!;
    expect(tickValues(y)[0]).toBe(0);
    expect(tickValues(y).length).toBeGreaterThanOrEqual(2);
    expect(textOf(byClass(y, 'axis-title')[0])).toMatch(/output row/);
    expect(textOf(byId(root, 'panel-labels')!)).toMatch(/layer\s*0\s*1\s*2/);
  });

  it('has a colour bar: one cell per quarter decade over [−6, 1], ticks −6…1, a title naming the scale, the 1 % mark', () => {
    const bar = byId(root, 'colorbar')!;
    const cells = byTag(bar, 'rect').filter((r) => r.attrs.fill !== 'none');
    expect(cells).toHaveLength(28);
    expect(tickValues(byId(bar, 'colorbar-axis')!)).toEqual([-6, -5, -4, -3, -2, -1, 0, 1]);
    expect(textOf(byClass(bar, 'axis-title')[0])).toMatch(/log₁₀.*clipped to \[−6, 1\]/);
    expect(textOf(byClass(bar, 'mark')[0])).toBe('1 %');
  });

  it('embeds the heat map as a PNG at the display size, with the failing unit in the top colour', () => {
    const image = byId(root, 'heatmap')!;
    const href = image.attrs.href;
    expect(href.startsWith('data:image/png;base64,')).toBe(true);
    const png = PNG.sync.read(Buffer.from(href.slice('data:image/png;base64,'.length), 'base64'));
    expect(png.width).toBe(Number(image.attrs.width));
    expect(png.width).toBe(768); // ≤ 1152 and ≤ units: one pixel per unit
    expect(png.height).toBe(24); // ≤ 256 and ≤ rows: one pixel per row (displayed stretched)
    expect(Number(image.attrs.height)).toBe(200);
    const scale = binnedScale(-6, 1, 28);
    for (let y = 0; y < png.height; y++) {
      expect(pixel(png, 256 + 100, y)).toEqual(scale.colors[scale.bin(0)]);
      expect(pixel(png, 256 + 99, y)).toEqual(scale.colors[scale.bin(-3)]);
    }
  });

  itRendered('renders (rsvg-convert): the heat map, its failing column and the colour bar ends are where the SVG puts them', () => {
    const png = render(svg);
    expect(png.width).toBe(Number(root.attrs.width));
    const image = byId(root, 'heatmap')!;
    const x0 = Number(image.attrs.x);
    const y0 = Number(image.attrs.y);
    const h = Number(image.attrs.height);
    const scale = binnedScale(-6, 1, 28);
    expect(near(pixel(png, x0 + 356.5, y0 + h / 2), scale.colors[scale.bin(0)])).toBe(true);
    expect(near(pixel(png, x0 + 50.5, y0 + h / 2), scale.colors[scale.bin(-3)])).toBe(true);
    const bar = byTag(byId(root, 'colorbar')!, 'rect').find((r) => r.attrs.fill === 'none')!;
    const bx = Number(bar.attrs.x) + Number(bar.attrs.width) / 2;
    expect(near(pixel(png, bx, Number(bar.attrs.y) + 2), scale.colors[27])).toBe(true);
    expect(near(pixel(png, bx, Number(bar.attrs.y) + Number(bar.attrs.height) - 2), scale.colors[0])).toBe(true);
    // Tick labels are drawn: dark pixels left of the heat map (y tick labels).
    let dark = 0;
    for (let y = y0; y < y0 + h; y++) for (let x = x0 - 40; x < x0 - 6; x++) if (pixel(png, x, y)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(20);
  });
});

describe('Figures 3–4 (SVG): derivative ratios with ticked axes, poles, legend, title', () => {
  for (const name of ['silu', 'gelu'] as const) {
    const svg = derivativeRatioSvg(name);
    const root = parseSvg(svg);
    it(`${name}: 25 panels, each with x and y tick labels −10…10 and a curve; overall axis titles, legend, title`, () => {
      expectFigureParts(root);
      const panels = byClass(root, 'panel');
      expect(panels).toHaveLength(25);
      for (const p of panels) {
        const axes = byClass(p, 'x-axis').concat(byClass(p, 'y-axis'));
        expect(axes).toHaveLength(2);
        for (const a of axes) expect(tickValues(a)).toEqual([-10, -5, 0, 5, 10]);
        expect(byClass(p, 'curve')[0].attrs.d).toMatch(/^M/);
      }
      expect(textOf(byId(root, 'x-axis')!)).toMatch(/expansion point/);
      expect(textOf(byId(root, 'y-axis')!)).toMatch(/clipped/);
      expect(textOf(byId(root, 'legend')!)).toMatch(/pole/);
      expect(textOf(byId(root, 'row-labels')!)).toMatch(/a = 1.*a = 5/);
      expect(textOf(byId(root, 'column-labels')!)).toMatch(/b = 1.*b = 5/);
      expect(svg.length).toBeLessThan(300_000);
    });
  }

  it("GELU: f(1,2)'s poles are the zeros of GELU'' = φ(x)(2 − x²), at ±√2", () => {
    const root = parseSvg(derivativeRatioSvg('gelu'));
    const panel = byClass(root, 'panel')[1];
    expect(textOf(panel)).toMatch(/GELU⁽¹⁾ \/ GELU⁽²⁾/);
    const xAxisLine = byTag(byClass(panel, 'x-axis')[0], 'line')[0];
    const [a, b] = [Number(xAxisLine.attrs.x1), Number(xAxisLine.attrs.x2)];
    const poles = byClass(panel, 'pole').map((l) => -10 + ((Number(l.attrs.x1) - a) / (b - a)) * 20);
    expect(poles).toHaveLength(2);
    expect(poles[0]).toBeCloseTo(-Math.SQRT2, 1);
    expect(poles[1]).toBeCloseTo(Math.SQRT2, 1);
  });

  it('signChanges interpolates the zero crossings', () => {
    const xs = Float64Array.from({ length: 201 }, (_, i) => -2 + i * 0.02);
    const z = signChanges(xs, Array.from(xs, (x) => 2 - x * x));
    expect(z).toHaveLength(2);
    expect(z[0]).toBeCloseTo(-Math.SQRT2, 3);
    expect(z[1]).toBeCloseTo(Math.SQRT2, 3);
  });

  itRendered('renders (rsvg-convert): curves and tick labels are drawn in every panel', () => {
    const svg = derivativeRatioSvg('silu');
    const root = parseSvg(svg);
    const png = render(svg);
    for (const p of byClass(root, 'panel')) {
      const frame = byTag(p, 'rect')[0];
      const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((k) => Number(frame.attrs[k]));
      let blue = 0;
      for (let yy = y + 1; yy < y + h - 1; yy++) for (let xx = x + 1; xx < x + w - 1; xx++) {
        const [r, , b] = pixel(png, xx, yy);
        if (b - r > 50) blue++; // the curve (#1f6fb4), antialiased
      }
      expect(blue).toBeGreaterThan(60);
      let dark = 0;
      for (let yy = y; yy < y + h; yy++) for (let xx = x - 22; xx < x - 5; xx++) if (pixel(png, xx, yy)[0] < 120) dark++;
      expect(dark).toBeGreaterThan(10); // y tick labels
    }
  });
});

describe('indexedPng: an indexed-colour PNG any decoder reads', () => {
  it('CRC-32 test vectors', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
  });
  it('property: pngjs decodes every pixel to its palette colour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 256 }), fc.integer(), (w, h, n, seed) => {
        const palette = Array.from({ length: n }, (_, k) => [(k * 37) & 255, (k * 91 + 7) & 255, (k * 13 + seed) & 255] as [number, number, number]);
        let s = seed >>> 0;
        const indices = Uint8Array.from({ length: w * h }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % n);
        const png = PNG.sync.read(indexedPng(w, h, indices, palette));
        expect([png.width, png.height]).toEqual([w, h]);
        for (let q = 0; q < w * h; q++) expect([png.data[4 * q], png.data[4 * q + 1], png.data[4 * q + 2], png.data[4 * q + 3]]).toEqual([...palette[indices[q]], 255]);
      }),
      { numRuns: 60 },
    );
  });
  it('refuses indices outside the palette', () => {
    expect(() => indexedPng(2, 1, Uint8Array.from([0, 3]), [[0, 0, 0]])).toThrow(RangeError);
  });
});

describe('viridis', () => {
  it('ends and monotone lightness', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    const lum = (c: number[]): number => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    for (let t = 0.05; t <= 1; t += 0.05) expect(lum(viridis(t))).toBeGreaterThan(lum(viridis(t - 0.05)));
  });
});

describe("the case study's one-pass attack scores what attack + compare report", () => {
  it('both methods, bf16 release with GELU units past ±√2: same counts, median, bias error, flagged units and error maps', () => {
    const home = temporaryDirectory('wg-case-pass-');
    try {
      const original = writeSyntheticCheckpoint(path.join(home, 'original'), { layout: 'fc', layers: 2, inputDim: 24, hiddenDim: 96, seed: 'pass', activation: 'gelu', biasScale: 2, biasMean: -0.5 });
      const release = path.join(home, 'released.safetensors');
      releaseCheckpoint({ input: original, output: release, taylor: { order: 8, dtype: 'bf16' }, calibration: { synthetic: { rows: 32, scale: 1 } }, seed: 'pass', version: 'test' });
      const inMemory = attackInMemory(release, original, ['consensus', 'pairwise']);
      for (const a of inMemory) {
        const out = path.join(home, `recovered-${a.method}.safetensors`);
        const summary = attackReleasedFile(release, out, a.method, 'test');
        const map: ErrorMap = [];
        const c = compareCheckpoints(original, out, 0.01, map);
        expect(a.parameters).toBe(c.total.parameters);
        expect(a.recovered).toBe(c.total.recovered);
        expect(a.medianRelativeError).toBe(c.total.medianRelativeError);
        expect(a.biasMaxAbsError).toBe(c.total.biasMaxAbsError);
        expect(a.unrecoverableUnits).toBe(summary.total.unrecoverable);
        expect(a.errors.map((e) => [e.layer, e.rows, e.cols])).toEqual(map.map((e) => [e.layer.replace(/\.$/, ''), e.rows, e.cols]));
        a.errors.forEach((e, i) => expect(e.log10).toEqual(map[i].log10));
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('docs/case-study: the generated figures and the numbers quoted', () => {
  const dir = path.join(__dirname, '..', 'docs', 'case-study');
  const figures = ['figure2-consensus.svg', 'figure2-pairwise.svg', 'figure3-silu-ratios.svg', 'figure4-gelu-ratios.svg'];
  it.each(figures)('%s: present, < 300 kB, well-formed, with title and axes', (f) => {
    const svg = fs.readFileSync(path.join(dir, f), 'utf8');
    expect(svg.length).toBeLessThan(300_000);
    const root = parseSvg(svg);
    expectFigureParts(root);
    if (f.startsWith('figure2')) {
      expect(byId(root, 'colorbar')).toBeDefined();
      expect(tickValues(byId(root, 'x-axis')!).length).toBeGreaterThanOrEqual(2);
      expect(byId(root, 'heatmap')!.attrs.href).toMatch(/^data:image\/png;base64,/);
    } else {
      expect(byClass(root, 'panel')).toHaveLength(25);
    }
  });
  it('docs/case-study.md quotes table1.md (the command output) verbatim', () => {
    const generated = fs.readFileSync(path.join(dir, 'table1.md'), 'utf8');
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'case-study.md'), 'utf8');
    const body = generated.split('\n').slice(2).join('\n').trim(); // without its H1
    expect(doc).toContain(body);
  });
});
