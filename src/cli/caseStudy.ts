import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OPT_125M_MLP, writeSyntheticCheckpoint } from '../models/synthetic';
import { releaseCheckpoint, taylorMlpPretrained } from '../../schemes/taylormlp';
import { attackReleasedFile, compareCheckpoints, consensusAdversary, ErrorMap } from '../../adversaries/taylormlp';
import { SafetensorsFile } from '../io/safetensors';
import { readReleasedBlock, releasedInfo } from '../../schemes/taylormlp/artifact';
import { pairwiseRecoverBlock } from '../../adversaries/taylormlp/pairwise';
import { summarizeRecovery } from '../../adversaries/taylormlp/recovered';
import { findMlpBlocks, loadMlpBlock } from '../models/layouts';
import { activationByName, activations } from '../numerics/activations';
import { wrecGame } from '../../games';
import { estimateAdvantageSync } from '../estimate/estimate';
import { writeFileAtomic } from '../io/atomicWrite';
import { heatmapPng } from '../plot/heatmap';
import { gridPlotSvg } from '../plot/svg';
import { progressBar } from './progress';

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

/**
 * The project's main job: on an OPT-125M-shaped model (generated, seeded: 12 × 768 → 3072 → 768,
 * GELU with biases) and on stories260K where present — release (TaylorMLP, N = 8) → attack →
 * compare → games — writing Table 1 (markdown and JSON) with the paper's figures beside ours,
 * Figure 2 (heat map of log10 relative error per layer, PNG) and Figures 3–4 (derivative-ratio
 * stability of SiLU and GELU, SVG).
 */
export function runCaseStudy(o: CaseStudyOptions): { rows: CaseStudyRow[]; files: string[]; wrec?: { advantage: number; lower: number; upper: number; trials: number } } {
  const log = o.log ?? (() => undefined);
  fs.mkdirSync(o.out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-case-study-'));
  const rows: CaseStudyRow[] = [];
  const files: string[] = [];
  let wrec: { advantage: number; lower: number; upper: number; trials: number } | undefined;
  try {
    // 1. OPT-125M-shaped, bf16 (the paper's models are bfloat16), full expansion.
    const steps = progressBar('case study', 6);
    log('generating the OPT-125M-shaped checkpoint (12 × 768 → 3072 → 768, GELU, biases; seeded)');
    const opt = writeSyntheticCheckpoint(path.join(work, 'opt'), { ...OPT_125M_MLP, seed: o.seed });
    steps.update(1, 'release');
    log('releasing it under TaylorMLP (N = 8, bf16, full expansion)');
    const release = path.join(work, 'opt-released.safetensors');
    releaseCheckpoint({ input: opt, output: release, taylor: { order: 8, dtype: 'bf16' }, calibration: { synthetic: { rows: 64, scale: 1 } }, seed: o.seed, version: o.version });
    steps.update(2, 'attack (consensus)');
    log('attacking the release (consensus; the release is its only input)');
    const recovered = path.join(work, 'opt-recovered.safetensors');
    const attack = attackReleasedFile(release, recovered, 'consensus', o.version);
    steps.update(3, 'compare');
    const errorMap: ErrorMap = [];
    const comparison = compareCheckpoints(opt, recovered, 0.01, errorMap);
    rows.push({
      model: 'OPT-125M-shaped (generated)',
      attack: 'consensus',
      release: 'N = 8, bf16',
      parameters: comparison.total.parameters,
      recovered: comparison.total.recovered,
      ratio: comparison.total.ratio,
      seconds: attack.recoverySeconds,
      unrecoverableUnits: attack.total.unrecoverable,
      medianRelativeError: comparison.total.medianRelativeError,
      biasMaxAbsError: comparison.total.biasMaxAbsError,
    });
    // The paper's pairwise attack on the same release, on its first two layers (it is slower).
    steps.update(4, 'attack (pairwise, 2 layers)');
    log("running the paper's pairwise attack on the first two layers");
    const file = SafetensorsFile.open(release);
    const original = SafetensorsFile.open(opt);
    const info = releasedInfo(file.metadata);
    const locations = findMlpBlocks(original.names);
    let pairwiseWithin = 0;
    let pairwiseTotal = 0;
    let pairwiseSeconds = 0;
    let pairwiseFlagged = 0;
    const pairwiseErrors: ErrorMap = [];
    for (let index = 0; index < 2; index++) {
      const block = readReleasedBlock((n) => file.tensor(n), info.blocks[index], info);
      const t0 = performance.now();
      const result = pairwiseRecoverBlock(block, activationByName(info.activation), { dtype: info.dtype });
      pairwiseFlagged += summarizeRecovery([result]).unrecoverable;
      pairwiseSeconds += (performance.now() - t0) / 1000;
      const w = loadMlpBlock((n) => original.tensor(n), locations[index]).second;
      for (let q = 0; q < w.length; q++) if (Math.abs(result.second[q] - w[q]) < 0.01 * Math.abs(w[q])) pairwiseWithin++;
      pairwiseTotal += w.length;
      const log10 = Float32Array.from(w, (v, q) => Math.log10(Math.max(Math.abs(result.second[q] - v) / Math.abs(v), 1e-12)));
      pairwiseErrors.push({ layer: info.blocks[index].prefix, rows: info.blocks[index].outputDim, cols: info.blocks[index].hiddenDim, log10 });
    }
    file.close();
    original.close();
    rows.push({ model: 'OPT-125M-shaped (generated), layers 0–1', attack: 'pairwise (a, b) = (1, 2), further pairs', release: 'N = 8, bf16', parameters: pairwiseTotal, recovered: pairwiseWithin, ratio: pairwiseWithin / pairwiseTotal, seconds: pairwiseSeconds, unrecoverableUnits: pairwiseFlagged, medianRelativeError: NaN, biasMaxAbsError: null });
    // Figure 2: log10 relative error of W, layers side by side.
    const png = path.join(o.out, 'figure2-heatmap.png');
    writeFileAtomic(png, heatmapPng(errorMap.map((e) => ({ label: e.layer, rows: e.rows, cols: e.cols, values: e.log10 })), { width: 1200, height: 240, min: -6, max: -1 }));
    files.push(png);
    const pairwisePng = path.join(o.out, 'figure2-heatmap-pairwise.png');
    writeFileAtomic(pairwisePng, heatmapPng(pairwiseErrors.map((e) => ({ label: e.layer, rows: e.rows, cols: e.cols, values: e.log10 })), { width: 1200, height: 240, min: -6, max: 1 }));
    files.push(pairwisePng);
    // 2. stories260K, where present: f32, signs on, calibrated on its recorded activations.
    steps.update(5, 'stories260K');
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
      const d = { checkpoint: model, activations: path.join(o.stories, 'activations.safetensors'), block: 0 };
      const scheme = taylorMlpPretrained(d, { taylor: { order: 8, dtype: 'f32', signs: true } });
      const e = estimateAdvantageSync(wrecGame(scheme, d, consensusAdversary('f32', true)), { trials: 20, seed: o.seed });
      wrec = { advantage: e.advantage, lower: e.interval.lower, upper: e.interval.upper, trials: e.trials };
    } else {
      log(`stories260K not found${o.stories ? ` at ${o.stories}` : ''}: skipped`);
    }
    // Figures 3–4: f_{a,b} = Act⁽ᵃ⁾/Act⁽ᵇ⁾ for a, b = 1..5 on [−10, 10].
    steps.update(6, 'figures');
    for (const [name, figure] of [
      ['silu', 'figure3-silu-ratios.svg'],
      ['gelu', 'figure4-gelu-ratios.svg'],
    ] as const) {
      const xs = Float64Array.from({ length: 801 }, (_, i) => -10 + i * 0.025);
      const derivatives = Array.from(xs, (x) => activations[name].derivatives(x, 5));
      const panels = [];
      for (let a = 1; a <= 5; a++) for (let b = 1; b <= 5; b++) panels.push({ title: `f(${a},${b}) = ${name}⁽${a}⁾/${name}⁽${b}⁾`, xs, ys: derivatives.map((d) => d[a] / d[b]) });
      const svg = path.join(o.out, figure);
      writeFileAtomic(svg, gridPlotSvg(`Derivative ratios of ${name.toUpperCase()} (the paper's Figure ${name === 'silu' ? 3 : 4}); y clipped to [−10, 10]`, panels, 5, [-10, 10], [-10, 10]));
      files.push(svg);
    }
    steps.stop();
    const json = path.join(o.out, 'table1.json');
    writeFileAtomic(json, JSON.stringify({ tool: 'weightgames', version: o.version, command: 'case-study', seed: o.seed, paper: PAPER_TABLE_1, ours: rows, wrec }, null, 2) + '\n');
    const md = path.join(o.out, 'table1.md');
    writeFileAtomic(md, table1Markdown(rows, wrec, o.seed));
    files.push(md, json);
    return { rows, files, wrec };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const int = (n: number): string => n.toLocaleString('en-US');

export function table1Markdown(rows: readonly CaseStudyRow[], wrec: { advantage: number; lower: number; upper: number; trials: number } | undefined, seed: string): string {
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
  ].join('\n');
}
