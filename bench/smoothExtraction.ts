/**
 * The generic smooth extraction's figures (docs/generic-attacks.md, "Smooth activations"):
 *
 * 1. Trained one-hidden-layer MLPs with tanh, GELU, SiLU and sigmoid hidden units released under
 *    openRelease, API access only: WRec-API up to the activation's hidden-unit symmetries
 *    (δ = 1e-6) with its interval, queries, the adversary's FLOPs, the worst row error of W₁, the
 *    worst output error on fresh inputs, the polish's misfit, seconds per trial.
 * 2. TaylorMLP (the catalogue's configuration) under API access only: what the same extraction,
 *    told Run is a GELU MLP, recovers of W from Run′ — the directions of W₁'s rows, the rows and
 *    W₂'s entries up to permutation, its outputs against Run.
 *
 * `npm run bench:smooth-extraction` (SMOOTH_TRIALS, default 10; SMOOTH_SIZES="8x16,16x32";
 * SMOOTH_ACTIVATIONS="tanh,gelu,silu,sigmoid"; SMOOTH_TAYLOR_SIZES="8x32,8x16,16x32";
 * SMOOTH_TAYLOR_SPREADS="1,3"; SMOOTH_PART=1, 2 or 3 runs one part).
 * 3. Where it stops: widths past in(in − 1)/2, GELU signs past out·in, narrow inputs (SMOOTH_LIMIT_TRIALS, default 3).
 */
import * as P from '../src/kernel/prob/prob';
import { trialContext } from '../src/kernel/prob/challenger';
import { clopperPearson } from '../src/kernel/estimate/intervals';
import { wrecApiGame } from '../games';
import { openRelease, ToyTask, runToy, taylorMlp } from '../schemes';
import type { ToyActivation, ToyWeights } from '../schemes/toy/mlp';
import { smoothExtraction, toyFormat, trainedMlpFormat, alignHiddenUnits, sameUpToHiddenSymmetry, symmetryOf } from '../adversaries/generic';
import type { Game } from '../src/kernel/game';
import type { RegressionTask, TrainedMlp } from '../src/numerics/models/train';
import { runMlp } from '../src/numerics/models/mlp';
import { trainerActivation } from '../src/numerics/models/pointwise';
import { tensor } from '../src/numerics/tensor/tensor';
import { isolatedMeter } from '../src/kernel/cost/meter';

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

/**
 * TaylorMLP with the catalogue's configuration (N = 12, f32, signs, inputs at 0.1 × the training
 * spread) on trained GELU MLPs of three shapes — the catalogue's 8 → 32 → 4 and, within the
 * method's range (hidden ≤ in(in − 1)/2), 8 → 16 → 4 and 16 → 32 → 4 — under API access only.
 */
function taylor(): void {
  const shapes = (process.env.SMOOTH_TAYLOR_SIZES ?? '8x32,8x16,16x32').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const spreads = (process.env.SMOOTH_TAYLOR_SPREADS ?? '1,3').split(',').map(Number);
  const format = trainedMlpFormat<TrainedMlp['activation']>('gelu');
  const gelu = trainerActivation('gelu');
  const run = (w: TrainedMlp, x: Float64Array) => isolatedMeter(() => runMlp(w.block, gelu, tensor([1, x.length], x)).data)[0];
  process.stdout.write(`\nTaylorMLP (N = 12, f32, signs; x ←$ 𝒳 at 0.1 × the training spread) on trained GELU MLPs, API access only: smooth-extraction with a GELU format (it models Run′ as a GELU MLP), ${trials} trials per row, seed smooth-taylor; rows of W₁ compared up to permutation (GELU has no sign symmetry)\n\n`);
  process.stdout.write('| subject | extraction inputs | WRec wins at δ = 1e-2 | queries (mean) | adversary FLOPs (mean) | units found | direction error of W₁\'s rows after step 2 (median, max) | relative error of W₁\'s rows (median, max) | distance up to permutation (median) | W₂ entries within 1 % (median share) | output error vs Run, x ←$ 𝒳 (max) | polish misfit vs Run′ (median) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const [inputDim, hiddenDim] of shapes) {
    const task: RegressionTask = { dataSeed: 'evaluate', samples: 128, inputDim, hiddenDim, outputDim: 4, activation: 'gelu', steps: 100 };
    const near = probes(inputDim, 0.1);
    for (const spread of spreads) {
      const scheme = taylorMlp(task, { taylor: { order: 12, dtype: 'f32', signs: true }, inputSpread: 0.1, outputThreshold: 1e-2 });
      const report = (recovered: TrainedMlp, weights: TrainedMlp) => {
        const R = recovered.block;
        const W = weights.block;
        const h = W.hiddenDim;
        const a = alignHiddenUnits(R, W, 'permutation');
        let close = 0;
        if (a !== null) for (let i = 0; i < W.outputDim; i++) for (let j = 0; j < h; j++) if (Math.abs(R.second[i * h + a.match[j]] - W.second[i * h + j]) <= 0.01 * Math.abs(W.second[i * h + j])) close++;
        const rowErrors = a === null ? [Infinity] : [...a.rowErrors];
        return {
          units: R.hiddenDim,
          maxRowError: maxOf(rowErrors),
          medianRowError: median(rowErrors),
          share: a === null ? 0 : close / (W.outputDim * h),
          outputError: maxOf(near.map((x) => relativeError(run(recovered, x), run(weights, x)))),
          rows: JSON.stringify(Array.from(W.first)),
        };
      };
      const game = wrecApiGame(scheme, task, smoothExtraction(format, { spread }), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format, 1e-2), report });
      const { wins, results } = play(game, 'smooth-taylor');
      const d = (key: string) => results.map((r) => Number(r.details[key]));
      // Step 2's directions (from the notes) against the original rows: each original row's angle to the nearest one, up to sign.
      const directionErrors: number[][] = [];
      for (const r of results) {
        const found = (r.notes.directions ?? []) as number[][];
        if (found.length === 0) continue; // stopped before step 2
        const W = JSON.parse(String(r.details.rows)) as number[];
        directionErrors.push(
          Array.from({ length: hiddenDim }, (_, j) => {
            const a = W.slice(j * inputDim, (j + 1) * inputDim);
            const best = Math.max(0, ...found.map((b) => Math.abs(a.reduce((acc, v, i) => acc + v * b[i], 0)) / Math.hypot(...a)));
            return Math.sqrt(Math.max(0, 2 - 2 * best));
          }),
        );
      }
      process.stdout.write(
        `| ${inputDim} → ${hiddenDim} → 4 | ${spread} × 𝒳 | ${wins}/${trials} | ${mean(d('queries')).toFixed(0)} | ${(mean(results.map((r) => r.adversaryFlops)) / 1e6).toFixed(0)}M | ${[...new Set(d('units'))].join(', ')} | ${directionErrors.length === 0 ? '—' : `${fmt(median(directionErrors.map(median)))}, ${fmt(maxOf(directionErrors.map(maxOf)))}`} | ${fmt(median(d('medianRowError')))}, ${fmt(maxOf(d('maxRowError')))} | ${fmt(median(d('distance')))} | ${median(d('share')).toFixed(3)} | ${fmt(maxOf(d('outputError')))} | ${fmt(median(results.map((r) => Number(r.notes.misfit ?? NaN))))} |\n`,
      );
      const failures = results.map((r) => r.notes.failed).filter((f) => f !== undefined);
      for (const f of new Set(failures)) process.stdout.write(`  failed (${failures.filter((g) => g === f).length}×): ${String(f)}\n`);
    }
  }
}

/**
 * Where it stops: the width past n(n − 1)/2 (n = 8: 28), the GELU sign system past out·in, and
 * narrow inputs (the task's draws scaled by 0.1), on openRelease with trained toys.
 */
function limits(): void {
  const limitTrials = Number(process.env.SMOOTH_LIMIT_TRIALS ?? 3);
  process.stdout.write(`\nwhere smooth-extraction stops, openRelease, API access only: ${limitTrials} trials per row, seed smooth-limits, WRec-API up to the hidden-unit symmetries (δ = 1e-6)\n\n`);
  process.stdout.write('| subject (in → hidden → out) | activation | extraction inputs | WRec wins | units found (per trial) | max row error of W₁ | why it stopped (notes) |\n|---|---|---|---|---|---|---|\n');
  const rows: [number, number, number, ToyActivation, number][] = [
    [8, 24, 4, 'gelu', 1],
    [8, 28, 4, 'gelu', 1],
    [8, 29, 4, 'gelu', 1],
    [8, 32, 4, 'gelu', 1],
    [4, 5, 1, 'gelu', 1],
    [4, 5, 1, 'tanh', 1],
    [16, 32, 4, 'gelu', 0.1],
    [16, 32, 4, 'tanh', 0.1],
  ];
  for (const [inputDim, hiddenDim, outputDim, act, spread] of rows) {
    const format = toyFormat(act);
    const task: ToyTask = { inputDim, hiddenDim, outputDim, activation: act, training: { dataSeed: `smooth-${inputDim}`, samples: 256, steps: 100 } };
    const report = (recovered: ToyWeights, weights: ToyWeights) => ({
      maxRowError: alignHiddenUnits(format.block(recovered), format.block(weights), symmetryOf(act))?.maxRowError ?? Infinity,
      units: format.block(recovered).hiddenDim,
    });
    const game = wrecApiGame(openRelease({ activation: act }), task, smoothExtraction(format, { spread }), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format), report });
    let wins = 0;
    const units: number[] = [];
    const rowErrors: number[] = [];
    const reasons = new Set<string>();
    for (let i = 0; i < limitTrials; i++) {
      const ctx = trialContext('smooth-limits', i);
      const r = game.play(ctx);
      if (r.win) wins++;
      units.push(Number(r.details.units));
      rowErrors.push(Number(r.details.maxRowError));
      const note = (ctx.noteBook.get('smooth-extraction') ?? {}) as Record<string, unknown>;
      if (note.failed !== undefined) reasons.add(String(note.failed).replace(/^smooth-extraction: /, ''));
      else if (!r.win) reasons.add(`fit not exact: polish misfit ${fmt(Number(note.misfit))}, profile misfit ${fmt(Number(note.profileMisfit))}, flip deviation ${fmt(Number(note.flipDeviation))}`);
    }
    process.stdout.write(`| ${inputDim} → ${hiddenDim} → ${outputDim} | ${act} | ${spread} × 𝒳 | ${wins}/${limitTrials} | ${units.join(', ')} | ${fmt(maxOf(rowErrors))} | ${[...reasons].join('; ') || '—'} |\n`);
  }
}

if (part === undefined || part === '1') toys();
if (part === undefined || part === '2') taylor();
if (part === undefined || part === '3') limits();
