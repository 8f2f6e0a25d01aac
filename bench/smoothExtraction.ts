/**
 * The generic smooth extraction's figures (docs/generic-attacks.md, "Smooth activations"):
 *
 * 1. Trained one-hidden-layer MLPs with tanh, GELU, SiLU and sigmoid hidden units released under
 *    openRelease, API access only: WRec-API up to the activation's hidden-unit symmetries
 *    (δ = 1e-6) with its interval, queries, the adversary's FLOPs, the worst row error of W₁, the
 *    worst output error on fresh inputs, the polish's misfit, seconds per trial.
 * 2. TaylorMLP (the catalogue's configuration) under API access only: what the same extraction,
 *    told Run is a GELU MLP, recovers of W from Run′ — W₁'s rows up to permutation, W's entries
 *    against Table 1's rule after aligning the units, its outputs against Run and Run′.
 *
 * `npm run bench:smooth-extraction` (SMOOTH_TRIALS, default 10; SMOOTH_SIZES="8x16,16x32";
 * SMOOTH_ACTIVATIONS="tanh,gelu,silu,sigmoid"; SMOOTH_TAYLOR=0 skips part 2; SMOOTH_PART=1|2 runs one).
 */
import * as P from '../src/prob/prob';
import { trialContext } from '../src/prob/challenger';
import { clopperPearson } from '../src/estimate/intervals';
import { wrecApiGame } from '../games';
import { openRelease, ToyTask, runToy, taylorMlp } from '../schemes';
import type { ToyActivation, ToyWeights } from '../schemes/toy/mlp';
import { smoothExtraction, toyFormat, trainedMlpFormat, alignHiddenUnits, sameUpToHiddenSymmetry, symmetryOf } from '../adversaries/generic';
import type { SmoothExtractionOptions } from '../adversaries/generic';
import type { Game } from '../src/game';
import type { RegressionTask, TrainedMlp } from '../src/models/train';
import { runMlp } from '../src/models/mlp';
import { trainerActivation } from '../src/models/pointwise';
import { tensor } from '../src/tensor/tensor';
import { isolatedMeter } from '../src/cost/meter';

const trials = Number(process.env.SMOOTH_TRIALS ?? 10);
const sizes = (process.env.SMOOTH_SIZES ?? '8x16,16x32').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const activationsToRun = (process.env.SMOOTH_ACTIVATIONS ?? 'tanh,gelu,silu,sigmoid').split(',') as ToyActivation[];
const part = process.env.SMOOTH_PART;

/** Fresh inputs N(0, I), fixed by a seed of their own (never the game's streams). */
const probes = (n: number, spread = 1): Float64Array[] => Array.from({ length: 200 }, (_, i) => P.sampleWith(P.normalArray(n, spread), `probe/${i}`));

const relativeError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    r += b[i] ** 2;
  }
  return Math.sqrt(d / r);
};

interface Row {
  readonly wins: number;
  readonly results: { details: Record<string, unknown>; adversaryFlops: number; notes: Record<string, unknown>; seconds: number }[];
}

/** Play `trials` trials one by one (so each one's notes and time are at hand). */
function play(game: Game, seed: string): Row {
  const results: Row['results'] = [];
  let wins = 0;
  for (let i = 0; i < trials; i++) {
    const ctx = trialContext(seed, i);
    const start = process.hrtime.bigint();
    const r = game.play(ctx);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.win) wins++;
    results.push({ details: r.details as Record<string, unknown>, adversaryFlops: r.costs['adversary']?.flops ?? 0, notes: (ctx.noteBook.get('smooth-extraction') ?? {}) as Record<string, unknown>, seconds });
  }
  return { wins, results };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const maxOf = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const interval = (wins: number) => {
  const ci = clopperPearson(wins, trials);
  return `${(wins / trials).toFixed(3)} [${ci.lower.toFixed(3)}, ${ci.upper.toFixed(3)}]`;
};

function toys(): void {
  process.stdout.write(`\nsmooth-extraction on openRelease, API access only: ${trials} trials per row, seed smooth-bench, WRec-API up to the hidden-unit symmetries (δ = 1e-6), Clopper–Pearson 95 %\n\n`);
  process.stdout.write('| subject (in → hidden → out) | activation | WRec wins | advantage [95 % CI] | queries (mean, max) | adversary FLOPs (mean) | max row error of W₁ (median) | max output error | polish misfit (max) | s / trial |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const [inputDim, hiddenDim] of sizes) {
    for (const act of activationsToRun) {
      const format = toyFormat(act);
      const task: ToyTask = { inputDim, hiddenDim, outputDim: 4, activation: act, training: { dataSeed: `smooth-${inputDim}`, samples: 256, steps: 100 } };
      const xs = probes(inputDim);
      const report = (recovered: ToyWeights, weights: ToyWeights) => {
        const alignment = alignHiddenUnits(format.block(recovered), format.block(weights), symmetryOf(act));
        const worst = Math.max(...xs.map((x) => relativeError(runToy(recovered, x, act), runToy(weights, x, act))));
        return { maxRowError: alignment?.maxRowError ?? Infinity, maxOutputError: worst, units: format.block(recovered).hiddenDim };
      };
      const game = wrecApiGame(openRelease({ activation: act }), task, smoothExtraction(format), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format), report });
      const { wins, results } = play(game, 'smooth-bench');
      const q = results.map((r) => Number(r.details.queries));
      const rowErrors = results.map((r) => Number(r.details.maxRowError));
      const failures = results.map((r) => r.notes.failed).filter((f) => f !== undefined);
      process.stdout.write(
        `| ${inputDim} → ${hiddenDim} → 4 | ${act} | ${wins}/${trials} | ${interval(wins)} | ${mean(q).toFixed(0)}, ${maxOf(q)} | ${(mean(results.map((r) => r.adversaryFlops)) / 1e6).toFixed(0)}M | ${fmt(maxOf(rowErrors))} (${fmt(median(rowErrors))}) | ${fmt(maxOf(results.map((r) => Number(r.details.maxOutputError))))} | ${fmt(maxOf(results.map((r) => Number(r.notes.misfit ?? NaN))))} | ${mean(results.map((r) => r.seconds)).toFixed(1)} |\n`,
      );
      for (const f of new Set(failures)) process.stdout.write(`  failed (${failures.filter((g) => g === f).length}×): ${String(f)}\n`);
    }
  }
}

/** TaylorMLP as the catalogue builds it (trained GELU 8 → 32 → 4, N = 12, f32, signs; inputs at 0.1 × the training spread). */
function taylor(): void {
  const task: RegressionTask = { dataSeed: 'evaluate', samples: 128, inputDim: 8, hiddenDim: 32, outputDim: 4, activation: 'gelu', steps: 100 };
  const format = trainedMlpFormat<TrainedMlp['activation']>('gelu');
  const gelu = trainerActivation('gelu');
  const run = (w: TrainedMlp, x: Float64Array) => isolatedMeter(() => runMlp(w.block, gelu, tensor([1, x.length], x)).data)[0];
  process.stdout.write(`\nTaylorMLP (catalogue: trained GELU 8 → 32 → 4, N = 12, f32, signs, inputs at 0.1 × spread) under API access only: smooth-extraction with a GELU format, ${trials} trials, seed smooth-taylor\n\n`);
  process.stdout.write('| extraction inputs | queries (mean) | adversary FLOPs (mean) | units found | W₁ row error up to permutation (median, max) | W entries within 1 % (min share) | output error vs Run at 1 × / 0.1 × spread (max) | polish misfit vs Run′ (median) |\n|---|---|---|---|---|---|---|---|\n');
  for (const spread of [1, 10]) {
    const options: SmoothExtractionOptions = { spread };
    const scheme = taylorMlp(task, { taylor: { order: 12, dtype: 'f32', signs: true }, inputSpread: 0.1, outputThreshold: 1e-2 });
    const wide = probes(8, 1);
    const near = probes(8, 0.1);
    const report = (recovered: TrainedMlp, weights: TrainedMlp) => {
      const a = alignHiddenUnits(recovered.block, weights.block, 'permutation');
      let share = 0;
      if (a !== null) {
        const { hiddenDim: h, outputDim: o } = weights.block;
        let close = 0;
        for (let i = 0; i < o; i++) for (let j = 0; j < h; j++) if (Math.abs(recovered.block.second[i * h + a.match[j]] - weights.block.second[i * h + j]) <= 0.01 * Math.abs(weights.block.second[i * h + j])) close++;
        share = close / (o * h);
      }
      const rowErrors = a === null ? [Infinity] : [...a.rowErrors];
      return {
        units: recovered.block.hiddenDim,
        maxRowError: maxOf(rowErrors),
        medianRowError: median(rowErrors),
        share,
        wideError: maxOf(wide.map((x) => relativeError(run(recovered, x), run(weights, x)))),
        nearError: maxOf(near.map((x) => relativeError(run(recovered, x), run(weights, x)))),
      };
    };
    const game = wrecApiGame(scheme, task, smoothExtraction(format, options), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format, 1e-2), report });
    const { results } = play(game, 'smooth-taylor');
    const d = (key: string) => results.map((r) => Number(r.details[key]));
    process.stdout.write(
      `| ${spread} × 𝒳 | ${mean(d('queries')).toFixed(0)} | ${(mean(results.map((r) => r.adversaryFlops)) / 1e6).toFixed(0)}M | ${[...new Set(d('units'))].join(', ')} | ${fmt(median(d('medianRowError')))}, ${fmt(maxOf(d('maxRowError')))} | ${Math.min(...d('share')).toFixed(3)} | ${fmt(maxOf(d('wideError')))} / ${fmt(maxOf(d('nearError')))} | ${fmt(median(results.map((r) => Number(r.notes.misfit ?? NaN))))} |\n`,
    );
    const failures = results.map((r) => r.notes.failed).filter((f) => f !== undefined);
    for (const f of new Set(failures)) process.stdout.write(`  failed (${failures.filter((g) => g === f).length}×): ${String(f)}\n`);
  }
}

if (part !== '2') toys();
if (part !== '1' && process.env.SMOOTH_TAYLOR !== '0') taylor();
