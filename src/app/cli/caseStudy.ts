import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OPT_125M_MLP, writeSyntheticCheckpoint } from '../../numerics/models/synthetic';
import { releaseCheckpoint, taylorMlpPretrained } from '../../../schemes/taylormlp';
import { AttackMethod, attackReleasedFile, compareCheckpoints, consensusAdversary, ErrorMap, recoverBlock, UnitStatus } from '../../../adversaries/taylormlp';
import { SafetensorsFile } from '../../numerics/io/safetensors';
import { readReleasedBlock, releasedInfo } from '../../../schemes/taylormlp/artifact';
import { findMlpBlocks, loadMlpBlock } from '../../numerics/models/layouts';
import { activationByName, activations } from '../../numerics/activations';
import { wrecGame } from '../../../games';
import { estimateAdvantageSync } from '../../kernel/estimate/estimate';
import { writeFileAtomic } from '../../numerics/io/atomicWrite';
import { heatmapSvg } from '../plot/heatmap';
import { Curve, gridPlotSvg, signChanges } from '../plot/gridPlot';
import { progressBar } from './progress';
import { groupDigits } from './groupDigits';

/** The paper's Table 1 (its figures, for comparison; numpy/scipy on a 20-core CPU, bfloat16 models). */
export const PAPER_TABLE_1 = [
  { model: 'OPT-125M', parameters: 28_311_552, recovered: 28_310_784, ratio: 0.9999, seconds: 19.7 },
  { model: 'OPT-1.3B', parameters: 402_653_184, recovered: 401_649_665, ratio: 0.9976, seconds: 116.79 },
  { model: 'OPT-2.7B', parameters: 838_860_800, recovered: 837_347_840, ratio: 0.9982, seconds: 187.88 },
  { model: 'OPT-6.7B', parameters: 2_147_483_648, recovered: 2_144_915_459, ratio: 0.9988, seconds: 417.92 },
  { model: 'Llama2-7B', parameters: 1_442_840_576, recovered: 1_442_840_576, ratio: 1, seconds: 318.6 },
  { model: 'Llama2-13B', parameters: 2_831_155_200, recovered: 2_831_155_200, ratio: 1, seconds: 571.05 },
];

export interface CaseStudyRow {
  readonly model: string;
  readonly attack: string;
  readonly release: string;
  readonly parameters: number;
  readonly recovered: number;
  readonly ratio: number;
  readonly seconds: number;
  readonly unrecoverableUnits: number;
  readonly medianRelativeError: number;
  readonly biasMaxAbsError: number | null;
}

export interface CaseStudyOptions {
  readonly out: string;
  readonly seed: string;
  readonly stories?: string;
  readonly version: string;
  readonly log?: (line: string) => void;
}

/** Per-layer log10 relative errors of W (rows × cols) and the units with an entry off by ≥ tol. */
interface AttackErrors {
  readonly map: ErrorMap;
  /** Hidden units (columns of W) with at least one entry whose relative error is ≥ tol, as [layer, unit]. */
  readonly failing: ReadonlyArray<readonly [number, number]>;
}

/** Columns of a rows × cols log10 map with an entry ≥ log10(tol) (NaN counts as failing). */
function failingColumns(log10: Float32Array, rows: number, cols: number, tol: number): number[] {
  const bad = new Uint8Array(cols);
  const t = Math.log10(tol);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) if (!(log10[row + c] < t)) bad[c] = 1;
  }
  const out: number[] = [];
  bad.forEach((b, c) => b === 1 && out.push(c));
  return out;
}

const attackErrors = (map: ErrorMap, tol: number): AttackErrors => ({ map, failing: map.flatMap((e, layer) => failingColumns(e.log10, e.rows, e.cols, tol).map((c) => [layer, c] as const)) });

/** One attack's result on a whole release, scored against the original (Table 1's columns). */
export interface InMemoryAttack {
  readonly method: AttackMethod;
  readonly parameters: number;
  /** Entries of W with relative error < tol. */
  readonly recovered: number;
  /** Median relative error of W over an even subsample (every ⌊n/20000⌋-th entry of each layer, as compare takes it). */
  readonly medianRelativeError: number;
  /** max |b − b*| over hidden units (null: no first-layer bias). */
  readonly biasMaxAbsError: number | null;
  readonly unrecoverableUnits: number;
  /** The units flagged unrecoverable, as [layer, unit]. */
  readonly flagged: ReadonlyArray<readonly [number, number]>;
  /** Wall time of the recovery alone. */
  readonly recoverySeconds: number;
  /** Per layer: log10 of each entry's relative error (floored at 1e-12), W as [output, hidden]. */
  readonly errors: ErrorMap;
}

/**
 * Both attacks on every block of a release in one pass: each released block is read once and
 * recovered by each method, and each recovered W is scored against the original's W (read once)
 * with compare's definitions (relative error |Ŵ − W|/|W|, 0 where equal; recovered: < tol; the
 * median over the same subsample; max |b − b*|). The release is the attacks' only input; the
 * original is read only to score them. Recovered values are scored as the attack's checkpoint
 * stores them (float32). Checked against attack + compare in test/figures.test.ts.
 */
export function attackInMemory(releasePath: string, originalPath: string, methods: readonly AttackMethod[], tol = 0.01): InMemoryAttack[] {
  const file = SafetensorsFile.open(releasePath);
  const original = SafetensorsFile.open(originalPath);
  try {
    const info = releasedInfo(file.metadata);
    const act = activationByName(info.activation);
    let signs: boolean;
    try {
      signs = (JSON.parse(info.metadata.options ?? '{}') as { signs?: boolean }).signs === true;
    } catch {
      signs = true;
    }
    const locations = new Map(findMlpBlocks(original.names).map((l) => [l.prefix, l]));
    const acc = methods.map((method) => ({ method, parameters: 0, recovered: 0, sample: [] as number[], bias: null as number | null, flagged: [] as Array<readonly [number, number]>, seconds: 0, errors: [] as ErrorMap }));
    for (const [layer, meta] of info.blocks.entries()) {
      const location = locations.get(meta.prefix);
      if (location === undefined) throw new Error(`the original has no MLP block ${meta.prefix}`);
      const released = readReleasedBlock((n) => file.tensor(n), meta, info);
      const truth = loadMlpBlock((n) => original.tensor(n), location);
      const w = truth.second;
      const stride = Math.max(1, Math.floor(w.length / 20000));
      for (const a of acc) {
        const t0 = performance.now();
        const rec = recoverBlock(a.method, released, act, info.dtype, { signs });
        a.seconds += (performance.now() - t0) / 1000;
        rec.status.forEach((code, j) => code === UnitStatus.unrecoverable && a.flagged.push([layer, j]));
        const log10 = new Float32Array(w.length);
        for (let q = 0; q < w.length; q++) {
          const r = Math.fround(rec.second[q]); // as the recovered checkpoint stores it (F32)
          const e = r === w[q] ? 0 : w[q] === 0 ? Infinity : Math.abs(r - w[q]) / Math.abs(w[q]);
          if (e < tol) a.recovered++;
          if (q % stride === 0) a.sample.push(e);
          log10[q] = Math.log10(Math.max(e, 1e-12));
        }
        a.parameters += w.length;
        if (truth.firstBias !== null && rec.firstBias !== null) {
          let m = a.bias ?? 0;
          for (let j = 0; j < meta.hiddenDim; j++) m = Math.max(m, Math.abs(truth.firstBias[j] - Math.fround(rec.firstBias[j])));
          a.bias = m;
        }
        a.errors.push({ layer: meta.prefix, rows: meta.outputDim, cols: meta.hiddenDim, log10 });
      }
    }
    return acc.map((a) => {
      const sorted = Float64Array.from(a.sample).sort();
      return { method: a.method, parameters: a.parameters, recovered: a.recovered, medianRelativeError: sorted[Math.floor(sorted.length / 2)], biasMaxAbsError: a.bias, unrecoverableUnits: a.flagged.length, flagged: a.flagged, recoverySeconds: a.seconds, errors: a.errors };
    });
  } finally {
    file.close();
    original.close();
  }
}

/** The figure-2 heat map of one attack: layers concatenated along x, log10 relative error as colour. */
export function figure2Svg(errors: ErrorMap, o: { attack: string; model: string; release: string }): string {
  const total = errors.reduce((a, e) => a + e.cols, 0);
  const width = Math.min(1152, total);
  const height = Math.min(256, errors[0].rows);
  const unitsPerPixel = total / width;
  const rowsPerPixel = errors[0].rows / height;
  const per = (n: number, what: string): string => (Number.isInteger(n) ? `${n} ${what}${n === 1 ? '' : 's'}` : `~${n.toFixed(1)} ${what}s`);
  return heatmapSvg(
    errors.map((e, i) => ({ label: errors.length <= 24 ? String(i) : e.layer, rows: e.rows, cols: e.cols, values: e.log10 })),
    {
      title: `Relative error of the recovered second-layer weights W (log₁₀) — ${o.attack} attack`,
      subtitle: [
        `${o.model}, released under TaylorMLP (${o.release}); layers ${errors.length === 1 ? '0' : `0–${errors.length - 1}`} side by side along x.`,
        `Each pixel: the largest, over the ${per(unitsPerPixel, 'hidden unit')} it covers, of the mean over the ${per(rowsPerPixel, 'output row')} it covers; quarter-decade colour steps.`,
      ],
      xLabel: `hidden unit j (column of W), layers concatenated — ${errors[0].cols} per layer`,
      yLabel: 'output row i of W',
      colorLabel: 'log₁₀ |Ŵᵢⱼ − Wᵢⱼ| / |Wᵢⱼ|  (clipped to [−6, 1])',
      min: -6,
      max: 1,
      width,
      height,
      mark: { value: -2, label: '1 %' },
      panelCaption: 'layer',
    },
  );
}

const SUPERSCRIPT = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/** Figures 3–4: f_{a,b} = Act⁽ᵃ⁾/Act⁽ᵇ⁾ for a, b = 1..5 on [−10, 10], y clipped to [−10, 10]. */
export function derivativeRatioSvg(name: 'silu' | 'gelu'): string {
  const label = name === 'silu' ? 'SiLU' : 'GELU';
  const xs = Float64Array.from({ length: 2001 }, (_, i) => -10 + i * 0.01);
  const derivatives = Array.from(xs, (x) => activations[name].derivatives(x, 5));
  const panels: Curve[] = [];
  for (let a = 1; a <= 5; a++)
    for (let b = 1; b <= 5; b++) {
      const denominator = derivatives.map((d) => d[b]);
      panels.push({ title: `${label}${'⁽' + SUPERSCRIPT[a] + '⁾'} / ${label}${'⁽' + SUPERSCRIPT[b] + '⁾'}`, xs, ys: derivatives.map((d) => d[a] / d[b]), poles: a === b ? [] : signChanges(xs, denominator) });
    }
  return gridPlotSvg(panels, {
    title: `Derivative ratios f_{a,b}(x) = ${label}⁽ᵃ⁾(x) / ${label}⁽ᵇ⁾(x), a, b = 1…5`,
    subtitle: [`The equations of the paper's pairwise attack (§4.2, Appendix A): row a, column b; evaluated in float64 at 2,001 points of [−10, 10].`],
    columns: 5,
    xRange: [-10, 10],
    yRange: [-10, 10],
    xLabel: 'x (the expansion point u = z0 + bias of a hidden unit)',
    yLabel: 'f_{a,b}(x), clipped to [−10, 10]',
    rowLabels: [1, 2, 3, 4, 5].map((a) => `a = ${a}`),
    columnLabels: [1, 2, 3, 4, 5].map((b) => `b = ${b}`),
    legend: { curve: 'f_{a,b}(x)', pole: `pole: ${label}⁽ᵇ⁾(x) = 0`, note: 'the curve is cut where |f| > 10' },
  });
}

/** What a Figure-2 heat map shows, in numbers. */
export interface FigureFacts {
  readonly layers: number;
  readonly units: number;
  /** Hidden units with an entry of W off by ≥ 1 %. */
  readonly failingUnits: number;
  /** The first 20 of them, as "layer:unit". */
  readonly failingListed: readonly string[];
  /** Hidden units the attack flagged unrecoverable. */
  readonly flaggedUnits: number;
  /** The first 20 of them, as "layer:unit". */
  readonly flaggedListed: readonly string[];
}

export interface CaseStudyFigures {
  readonly consensus: FigureFacts;
  readonly pairwise: FigureFacts;
}

/**
 * The project's main job: on an OPT-125M-shaped model (generated, seeded: 12 × 768 → 3072 → 768,
 * GELU with biases) and on stories260K where present — release (TaylorMLP, N = 8) → attack →
 * compare → games — writing Table 1 (markdown and JSON) with the paper's figures beside ours,
 * Figure 2 for both attacks (log10 relative error of W, layers concatenated, SVG) and Figures 3–4
 * (derivative ratios of SiLU and GELU, SVG). Each release is made once; each release block is read
 * once per attack; the original's W is read once per attack.
 */
export function runCaseStudy(o: CaseStudyOptions): { rows: CaseStudyRow[]; files: string[]; wrec?: { advantage: number; lower: number; upper: number; trials: number }; figures: CaseStudyFigures; phases: Record<string, number> } {
  const log = o.log ?? (() => undefined);
  fs.mkdirSync(o.out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-case-study-'));
  const rows: CaseStudyRow[] = [];
  const files: string[] = [];
  const phases: Record<string, number> = {};
  let clock = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Number(((now - clock) / 1000).toFixed(2));
    clock = now;
  };
  let wrec: { advantage: number; lower: number; upper: number; trials: number } | undefined;
  try {
    // 1. OPT-125M-shaped, bf16 (the paper's models are bfloat16), full expansion.
    const steps = progressBar('case study', 6);
    log('generating the OPT-125M-shaped checkpoint (12 × 768 → 3072 → 768, GELU, biases; seeded)');
    const opt = writeSyntheticCheckpoint(path.join(work, 'opt'), { ...OPT_125M_MLP, seed: o.seed });
    phase('generate');
    steps.update(1, 'release');
    log('releasing it under TaylorMLP (N = 8, bf16, full expansion)');
    const release = path.join(work, 'opt-released.safetensors');
    releaseCheckpoint({ input: opt, output: release, taylor: { order: 8, dtype: 'bf16' }, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: o.seed, version: o.version });
    phase('release');
    steps.update(2, 'attacks');
    log('attacking the release (consensus and pairwise, one pass over its blocks; the release is their only input)');
    const [consensus, pairwise] = attackInMemory(release, opt, ['consensus', 'pairwise']);
    phase('attacks and scoring');
    for (const a of [consensus, pairwise])
      rows.push({
        model: 'OPT-125M-shaped (generated)',
        attack: a.method === 'consensus' ? 'consensus' : 'pairwise (a, b) = (1, 2), further pairs',
        release: 'N = 8, bf16',
        parameters: a.parameters,
        recovered: a.recovered,
        ratio: a.recovered / a.parameters,
        seconds: a.recoverySeconds,
        unrecoverableUnits: a.unrecoverableUnits,
        medianRelativeError: a.medianRelativeError,
        biasMaxAbsError: a.biasMaxAbsError,
      });
    const consensusErrors = attackErrors(consensus.errors, 0.01);
    const pairwiseErrors = attackErrors(pairwise.errors, 0.01);
    // Figure 2, one per attack.
    steps.update(3, 'figure 2');
    const figureModel = 'OPT-125M-shaped synthetic model (12 layers, W: 768 × 3072)';
    for (const [name, errors, attackName] of [
      ['figure2-consensus.svg', consensusErrors, 'consensus'],
      ['figure2-pairwise.svg', pairwiseErrors, "the paper's pairwise"],
    ] as const) {
      const target = path.join(o.out, name);
      writeFileAtomic(target, figure2Svg(errors.map, { attack: attackName, model: figureModel, release: 'N = 8, bf16' }));
      files.push(target);
    }
    const figures: CaseStudyFigures = {
      consensus: { layers: consensus.errors.length, units: consensus.errors.reduce((a, e) => a + e.cols, 0), failingUnits: consensusErrors.failing.length, failingListed: consensusErrors.failing.slice(0, 20).map(([l, u]) => `${l}:${u}`), flaggedUnits: consensus.unrecoverableUnits, flaggedListed: consensus.flagged.slice(0, 20).map(([l, u]) => `${l}:${u}`) },
      pairwise: { layers: pairwise.errors.length, units: pairwise.errors.reduce((a, e) => a + e.cols, 0), failingUnits: pairwiseErrors.failing.length, failingListed: pairwiseErrors.failing.slice(0, 20).map(([l, u]) => `${l}:${u}`), flaggedUnits: pairwise.unrecoverableUnits, flaggedListed: pairwise.flagged.slice(0, 20).map(([l, u]) => `${l}:${u}`) },
    };
    phase('figure 2');
    // 2. stories260K, where present: f32, signs on, calibrated on its recorded activations.
    steps.update(4, 'stories260K');
    if (o.stories !== undefined && fs.existsSync(path.join(o.stories, 'model.safetensors'))) {
      log('stories260K: release (N = 8, f32, signs) → attack → compare → WRec game');
      const model = path.join(o.stories, 'model.safetensors');
      const storiesRelease = path.join(work, 'stories-released.safetensors');
      releaseCheckpoint({ input: model, output: storiesRelease, taylor: { order: 8, dtype: 'f32', signs: true }, calibration: { file: path.join(o.stories, 'activations.safetensors') }, seed: o.seed, version: o.version });
      for (const method of ['consensus', 'pairwise'] as const) {
        const storiesRecovered = path.join(work, `stories-recovered-${method}.safetensors`);
        const a = attackReleasedFile(storiesRelease, storiesRecovered, method, o.version);
        const c = compareCheckpoints(model, storiesRecovered);
        rows.push({ model: 'stories260K', attack: method, release: 'N = 8, f32, signs', parameters: c.total.parameters, recovered: c.total.recovered, ratio: c.total.ratio, seconds: a.recoverySeconds, unrecoverableUnits: a.total.unrecoverable, medianRelativeError: c.total.medianRelativeError, biasMaxAbsError: c.total.biasMaxAbsError });
      }
      phase('stories260K');
      const d = { checkpoint: model, activations: path.join(o.stories, 'activations.safetensors'), block: 0 };
      const scheme = taylorMlpPretrained(d, { taylor: { order: 8, dtype: 'f32', signs: true } });
      const e = estimateAdvantageSync(wrecGame(scheme, d, consensusAdversary('f32', true)), { trials: 20, seed: o.seed });
      wrec = { advantage: e.advantage, lower: e.interval.lower, upper: e.interval.upper, trials: e.trials };
      phase('WRec game');
    } else {
      log(`stories260K not found${o.stories ? ` at ${o.stories}` : ''}: skipped`);
    }
    // Figures 3–4.
    steps.update(5, 'figures 3–4');
    for (const [name, figure] of [
      ['silu', 'figure3-silu-ratios.svg'],
      ['gelu', 'figure4-gelu-ratios.svg'],
    ] as const) {
      const svg = path.join(o.out, figure);
      writeFileAtomic(svg, derivativeRatioSvg(name));
      files.push(svg);
    }
    phase('figures 3–4');
    steps.stop();
    const json = path.join(o.out, 'table1.json');
    writeFileAtomic(json, JSON.stringify({ tool: 'weightgames', version: o.version, command: 'case-study', seed: o.seed, paper: PAPER_TABLE_1, ours: rows, wrec, figures, phaseSeconds: phases }, null, 2) + '\n');
    const md = path.join(o.out, 'table1.md');
    writeFileAtomic(md, table1Markdown(rows, wrec, o.seed, figures));
    files.push(md, json);
    return { rows, files, wrec, figures, phases };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const int = (n: number): string => groupDigits(n);
const listed = (items: readonly string[], total: number): string => (items.length === 0 ? '—' : items.join(', ') + (total > items.length ? ', …' : ''));

export function table1Markdown(rows: readonly CaseStudyRow[], wrec: { advantage: number; lower: number; upper: number; trials: number } | undefined, seed: string, figures?: CaseStudyFigures): string {
  return [
    `# Table 1, reproduced and extended`,
    '',
    `Produced by \`npm run case-study\` (seed \`${seed}\`). "Recovered": relative error < 1 %, as in the paper.`,
    '',
    '## The paper (numpy/scipy, 20-core CPU, bfloat16 models)',
    '',
    '| model | TaylorMLP parameters | recovered | ratio | time |',
    '| --- | --- | --- | --- | --- |',
    ...PAPER_TABLE_1.map((r) => `| ${r.model} | ${int(r.parameters)} | ${int(r.recovered)} | ${(100 * r.ratio).toFixed(2)} % | ${r.seconds} s |`),
    '',
    '## Ours (this machine: 2 cores, Node 20)',
    '',
    '| model | release | attack | parameters | recovered | ratio | recovery time | units flagged unrecoverable | median rel. err. | max abs. err. of b |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.release} | ${r.attack} | ${int(r.parameters)} | ${int(r.recovered)} | ${(100 * r.ratio).toFixed(4)} % | ${r.seconds.toFixed(2)} s | ${r.unrecoverableUnits} | ${Number.isNaN(r.medianRelativeError) ? '—' : r.medianRelativeError.toExponential(2)} | ${r.biasMaxAbsError === null ? '—' : r.biasMaxAbsError.toExponential(2)} |`,
    ),
    '',
    wrec === undefined ? '' : `WRec game on stories260K's block 0 (Train loads the checkpoint; KGen draws fresh signs every trial): consensus advantage ${wrec.advantage.toFixed(3)}, 95 % Clopper–Pearson interval [${wrec.lower.toFixed(3)}, ${wrec.upper.toFixed(3)}] over ${wrec.trials} trials.`,
    '',
    ...(figures === undefined
      ? []
      : [
          '## Figure 2 (ours): failing hidden units in the heat maps',
          '',
          'A hidden unit counts as failing when some entry of its column of W is off by ≥ 1 %. Both attacks recover W one hidden unit (column) at a time, so a unit recovered with the wrong u or written as 0 shows in the heat map as a vertical stripe in the top colours.',
          '',
          '| figure | attack | layers | hidden units | failing units | failing (layer:unit) | units flagged by the attack | flagged (layer:unit) |',
          '| --- | --- | --- | --- | --- | --- | --- | --- |',
          ...(['consensus', 'pairwise'] as const).map(
            (k) =>
              `| figure2-${k}.svg | ${k} | ${figures[k].layers} | ${int(figures[k].units)} | ${int(figures[k].failingUnits)} | ${listed(figures[k].failingListed, figures[k].failingUnits)} | ${int(figures[k].flaggedUnits)} | ${listed(figures[k].flaggedListed, figures[k].flaggedUnits)} |`,
          ),
          '',
        ]),
  ].join('\n');
}
