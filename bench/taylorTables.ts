/**
 * Produces docs/taylormlp-results.md: `npm run docs:taylormlp`.
 * 1. stories260K (when ../shared is present): block-output error and Run′/Run cost for
 *    N ∈ {2, 4, 6, 8, 12} × expanded ∈ {25, 50, 100} %, order mask on and off, calibrated on
 *    the recorded calibration inputs and measured on the evaluation inputs.
 * 2. The Correctness game on trained MLPs: Pr[Same] by N and by how far inputs fall from z0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile } from '../src/numerics/io/safetensors';
import { findMlpBlocks, loadMlpBlock } from '../src/numerics/models/layouts';
import { runMlp } from '../src/numerics/models/mlp';
import { activations } from '../src/numerics/activations';
import { withMeter } from '../src/kernel/cost/meter';
import { calibrationRange, releaseBlock, runReleasedBlock, calibrationInputs, taylorMlp } from '../schemes/taylormlp';
import { correctnessGame } from '../games';
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { writeFileAtomic } from '../src/numerics/io/atomicWrite';
import type { Tensor } from '../src/numerics/tensor/tensor';
import type { RegressionTask } from '../src/numerics/models/train';

const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
const stories = path.resolve(root, '../shared/models/stories260K');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(f: () => void, repeats = 5): number {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function storiesTable(): string {
  if (!fs.existsSync(path.join(stories, 'model.safetensors'))) return `_stories260K not found at ${stories}; this table was not produced._\n`;
  const model = SafetensorsFile.open(path.join(stories, 'model.safetensors'));
  const recorded = SafetensorsFile.open(path.join(stories, 'activations.safetensors'));
  const act = activations.silu;
  const layers = findMlpBlocks(model.names).map((location) => {
    const block = loadMlpBlock((n) => model.tensor(n), location);
    const calibration = calibrationInputs(recorded, location, block.inputDim);
    const evaluation = evaluationInputs(recorded, location.layer);
    return { block, range: calibrationRange(block, calibration), evaluation, exact: runMlp(block, act, evaluation) };
  });
  const runFlops = layers.reduce((a, l) => a + withMeter(() => runMlp(l.block, act, l.evaluation))[1].flops, 0);
  const runMs = timeIt(() => layers.forEach((l) => runMlp(l.block, act, l.evaluation)));
  const rows: string[] = [];
  for (const masked of [false, true]) {
    for (const fraction of [0.25, 0.5, 1]) {
      for (const N of [2, 4, 6, 8, 12]) {
        const options = { order: N, expand: { fraction }, dtype: 'f32' as const, mask: masked ? { minOrder: 4, threshold: 2.5 } : null };
        const released = layers.map((l) => releaseBlock(l.block, act, l.range, options, null));
        let num = 0;
        let den = 0;
        let worstLayer = 0;
        let flops = 0;
        layers.forEach((l, i) => {
          const [y, cost] = withMeter(() => runReleasedBlock(released[i], act, l.evaluation));
          flops += cost.flops;
          let ln = 0;
          let ld = 0;
          for (let q = 0; q < y.data.length; q++) {
            ln += (y.data[q] - l.exact.data[q]) ** 2;
            ld += l.exact.data[q] ** 2;
          }
          num += ln;
          den += ld;
          worstLayer = Math.max(worstLayer, Math.sqrt(ln / ld));
        });
        const ms = timeIt(() => layers.forEach((l, i) => runReleasedBlock(released[i], act, l.evaluation)));
        rows.push(`| ${masked ? 'on' : 'off'} | ${fraction * 100} % | ${N} | ${fmt(Math.sqrt(num / den))} | ${fmt(worstLayer)} | ${(flops / runFlops).toFixed(2)} | ${(ms / runMs).toFixed(2)} |`);
      }
    }
  }
  const rangeStats = layers.map((l) => {
    const widths = Array.from(l.range.max, (mx, j) => mx - l.range.min[j]).sort((a, b) => a - b);
    return `${widths[0].toFixed(2)} / ${median(widths).toFixed(2)} / ${widths[widths.length - 1].toFixed(2)}`;
  });
  model.close();
  recorded.close();
  return [
    `Calibration: the 1,280 recorded \`calibration\` rows per layer; measurement: the 640 \`evaluation\` rows (other stories). f32 storage.`,
    `Error: ‖Run′ − Run‖₂/‖Run‖₂ over all five MLP blocks' outputs ("worst layer": the largest per-layer value).`,
    `Cost: Run′/Run in FLOPs counted by the kernels, and in wall time (median of 5 runs over all layers; Run takes ${runMs.toFixed(2)} ms, ${(runFlops / 1e6).toFixed(2)} MFLOP).`,
    `Mask "on": orders above 4 only where |z − z0| ≤ 2.5 (the authors' setting).`,
    '',
    `Calibration range width (z_max − z_min) per layer, min / median / max: ${rangeStats.join('; ')}.`,
    '',
    '| mask | expanded | N | relative error | worst layer | FLOPs Run′/Run | time Run′/Run |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function evaluationInputs(file: SafetensorsFile, layer: number): Tensor {
  const stored = file.tensor(`evaluation.layers.${layer}.mlp_input`);
  return { dtype: 'f64', shape: stored.shape, data: Float64Array.from(new Float32Array(stored.bytes.buffer, stored.bytes.byteOffset, stored.bytes.length / 4)) };
}

const fmt = (x: number): string => (x === 0 ? '0' : x < 1e-3 || x >= 1e3 ? x.toExponential(2) : x.toPrecision(3));

function correctnessTable(trials: number): string {
  const rows: string[] = [];
  for (const activation of ['gelu', 'silu'] as const) {
    const task: RegressionTask = { dataSeed: 'docs', samples: 128, inputDim: 8, hiddenDim: 32, outputDim: 4, activation, steps: 100 };
    for (const N of [2, 4, 8, 12]) {
      const cells = [0.25, 0.5, 1].map((spread) => {
        const e = estimateAdvantageSync(correctnessGame(taylorMlp(task, { taylor: { order: N, dtype: 'f64' }, inputSpread: spread }), task), { trials, seed: 'docs' });
        return `${e.p.toFixed(2)} [${e.interval.lower.toFixed(2)}, ${e.interval.upper.toFixed(2)}]`;
      });
      rows.push(`| ${activation} | ${N} | ${cells.join(' | ')} |`);
    }
  }
  return [
    `Trained MLPs (8 → 32 → 4, biases, ${'`trainMlp`'}: 100 full-batch Adam steps on a seeded regression task, fresh weights every trial), full expansion, f64 storage, z0 from 256 synthetic calibration inputs drawn like the training inputs (N(0, I)). Same on outputs: relative L2 distance ≤ 1e-3. Pr[Same] with its 95 % Clopper–Pearson interval, ${trials} trials each, seed \`docs\`. "Spread" scales the test inputs x ←$ N(0, spread²·I) relative to the calibration inputs: the smaller it is, the closer z falls to z0.`,
    '',
    '| activation | N | spread 0.25 | spread 0.5 | spread 1 |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function main(): void {
  const trials = Number(process.env.TRIALS ?? 100);
  const out = path.join(root, 'docs/taylormlp-results.md');
  const text = [
    '# TaylorMLP: measured',
    '',
    'Generated by `npm run docs:taylormlp` (bench/taylorTables.ts). Do not edit by hand.',
    '',
    '## stories260K: block-output error and cost of Run′',
    '',
    storiesTable(),
    '## The Correctness game on trained MLPs',
    '',
    correctnessTable(trials),
  ].join('\n');
  writeFileAtomic(out, text);
  process.stdout.write(text);
}

main();
