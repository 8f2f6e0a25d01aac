/**
 * The generic ReLU extraction's figures (docs/generic-attacks.md): on trained one-hidden-layer
 * ReLU MLPs released under openRelease, neuronPermutation and additiveShares, API access only —
 * WRec (up to permutation and positive scaling) advantage with its interval, queries, the
 * adversary's FLOPs, the worst row error of W₁ and the worst output error on fresh inputs.
 * `npm run bench:relu-extraction` (RELU_TRIALS, RELU_SIZES="16x32,32x64,64x128": in×hidden, or
 * in×hidden×out; the output width is 4 unless given; RELU_SCHEMES=open,perm,shares picks rows, so
 * that rows can run as separate processes: every trial is seed-addressed, a row's figures do not
 * depend on which other rows ran).
 */
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import * as P from '../src/kernel/prob/prob';
import { wrecApiGame } from '../games';
import { additiveShares, neuronPermutation, openRelease, ToyTask, runToy } from '../schemes';
import type { AnyScheme } from '../src/kernel/scheme';
import { reluExtraction, toyFormat, alignHiddenUnits, sameUpToHiddenSymmetry } from '../adversaries/generic';
import type { ToyWeights } from '../schemes/toy/mlp';

const trials = Number(process.env.RELU_TRIALS ?? 100);
const sizes = (process.env.RELU_SIZES ?? '16x32,32x64,64x128').split(',').map((s) => {
  const [inputDim, hiddenDim, outputDim = 4] = s.split('x').map(Number);
  return [inputDim, hiddenDim, outputDim] as const;
});
const which = (process.env.RELU_SCHEMES ?? 'open,perm,shares').split(',');
const format = toyFormat('relu');

/** Fresh inputs N(0, I), fixed by a seed of their own (never the game's streams). */
const probes = (n: number): Float64Array[] => Array.from({ length: 200 }, (_, i) => P.sampleWith(P.normalArray(n), `probe/${i}`));

function report(inputDim: number) {
  const xs = probes(inputDim);
  return (recovered: ToyWeights, weights: ToyWeights) => {
    const alignment = alignHiddenUnits(format.block(recovered), format.block(weights), 'positive-scale');
    let worst = 0;
    for (const x of xs) {
      const a = runToy(recovered, x, 'relu');
      const b = runToy(weights, x, 'relu');
      let d = 0;
      let r = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] - b[i]) ** 2;
        r += b[i] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(d / r));
    }
    return { maxRowError: alignment?.maxRowError ?? Infinity, maxOutputError: worst, units: format.block(recovered).hiddenDim };
  };
}

const fmt = (x: number) => x.toExponential(1);

function main(): void {
  process.stdout.write(`relu-extraction, API access only: ${trials} trials per row, seed relu-bench, Clopper–Pearson 95 %\n`);
  process.stdout.write('| subject (in → hidden → out) | scheme | WRec wins | advantage [95 % CI] | queries (mean, max) | adversary FLOPs (mean) | max row error of W₁ | max output error | wall s / trial |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const [inputDim, hiddenDim, outputDim] of sizes) {
    const task: ToyTask = { inputDim, hiddenDim, outputDim, activation: 'relu', training: { dataSeed: `relu-${inputDim}`, samples: 256, steps: 100 } };
    const rows: Array<[string, AnyScheme]> = [
      ['open', openRelease({ activation: 'relu' })],
      ['perm', neuronPermutation(task)],
      ['shares', additiveShares({ shares: 3, activation: 'relu' })],
    ];
    for (const [key, scheme] of rows) {
      if (!which.includes(key)) continue;
      const game = wrecApiGame(scheme, task, reluExtraction(format), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format), report: report(inputDim) });
      const started = Date.now();
      const e = estimateAdvantageSync(game, { trials, seed: 'relu-bench', keepTrials: true });
      const wall = (Date.now() - started) / 1000 / trials;
      const rs = e.results ?? [];
      const q = rs.map((r) => Number(r.details.queries));
      const rowErr = Math.max(...rs.map((r) => Number(r.details.maxRowError)));
      const outErr = Math.max(...rs.map((r) => Number(r.details.maxOutputError)));
      const flops = rs.reduce((acc, r) => acc + (r.costs['adversary']?.flops ?? 0), 0) / rs.length;
      process.stdout.write(
        `| ${inputDim} → ${hiddenDim} → ${outputDim} | ${scheme.name} | ${e.successes}/${e.trials} | ${e.advantage.toFixed(3)} [${e.interval.lower.toFixed(3)}, ${e.interval.upper.toFixed(3)}] | ${(q.reduce((a, b) => a + b, 0) / q.length).toFixed(0)}, ${Math.max(...q)} | ${(flops / 1e6).toFixed(1)}M | ${fmt(rowErr)} | ${fmt(outErr)} | ${wall.toFixed(2)} |\n`,
      );
    }
  }
}

main();
