/**
 * Diagnostics for the ReLU extraction's failures (not a figure of the docs): runs WRec-API trials
 * and, for each lost trial, says which units were missed, which are extra, which have a flipped sign.
 * `node dist/bench/reluDiagnose.js` (RELU_TRIALS, RELU_SIZES as in bench/reluExtraction.ts, RELU_SCHEMES=open,perm,shares).
 */
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { wrecApiGame } from '../games';
import { additiveShares, neuronPermutation, openRelease, ToyTask } from '../schemes';
import type { AnyScheme } from '../src/kernel/scheme';
import { reluExtraction, toyFormat, sameUpToHiddenSymmetry } from '../adversaries/generic';
import type { ToyWeights } from '../schemes/toy/mlp';

const trials = Number(process.env.RELU_TRIALS ?? 50);
const sizes = (process.env.RELU_SIZES ?? '16x32').split(',').map((s) => {
  const [inputDim, hiddenDim, outputDim = 4] = s.split('x').map(Number);
  return [inputDim, hiddenDim, outputDim] as const;
});
const which = (process.env.RELU_SCHEMES ?? 'open,perm,shares').split(',');
const format = toyFormat('relu');

function units(w: ToyWeights): Float64Array[] {
  const b = format.block(w);
  const out: Float64Array[] = [];
  for (let j = 0; j < b.hiddenDim; j++) {
    const u = new Float64Array(b.inputDim + 1);
    u.set(b.first.subarray(j * b.inputDim, (j + 1) * b.inputDim));
    u[b.inputDim] = b.firstBias?.[j] ?? 0;
    const n = Math.hypot(...u);
    out.push(u.map((v) => v / n));
  }
  return out;
}
const dist = (a: Float64Array, b: Float64Array, s = 1) => Math.sqrt(a.reduce((acc, v, i) => acc + (v - s * b[i]) ** 2, 0));

function diagnose(recovered: ToyWeights, weights: ToyWeights) {
  const r = units(recovered);
  const t = units(weights);
  const tb = format.block(weights);
  const missed: string[] = [];
  const flipped: string[] = [];
  const used = new Set<number>();
  t.forEach((u, j) => {
    let best = Infinity;
    let bestK = -1;
    let sign = 1;
    r.forEach((v, k) => {
      for (const s of [1, -1]) {
        const d = dist(u, v, s);
        if (d < best) [best, bestK, sign] = [d, k, s];
      }
    });
    const col = Math.hypot(...Array.from({ length: tb.outputDim }, (_, c) => tb.second[c * tb.hiddenDim + j]));
    if (best > 1e-4) missed.push(`${j}(d=${best.toExponential(1)},|W2|=${col.toExponential(1)})`);
    else {
      used.add(bestK);
      if (sign === -1) flipped.push(`${j}`);
    }
  });
  const extra = r.map((_, k) => k).filter((k) => !used.has(k));
  for (const k of extra) {
    const n = tb.inputDim;
    let best = 0, bj = -1;
    t.forEach((u, j) => { const c = Math.abs(u.subarray(0, n).reduce((a, v, i) => a + v * r[k][i], 0)) / Math.hypot(...u.subarray(0, n)) / Math.hypot(...r[k].subarray(0, n)); if (c > best) [best, bj] = [c, j]; });
    if (bj >= 0) console.error('extra', k, 'best cos', best, 'true', bj, Array.from(t[bj]).slice(-3), Array.from(r[k]).slice(-3));
  }
  return { found: r.length, hidden: t.length, missed: missed.join(' '), flipped: flipped.join(' '), extra: extra.length };
}

for (const [inputDim, hiddenDim, outputDim] of sizes) {
  const task: ToyTask = { inputDim, hiddenDim, outputDim, activation: 'relu', training: { dataSeed: `relu-${inputDim}`, samples: 256, steps: 100 } };
  const all: Record<string, AnyScheme> = { open: openRelease({ activation: 'relu' }), perm: neuronPermutation(task), shares: additiveShares({ shares: 3, activation: 'relu' }) };
  for (const key of which) {
    const scheme = all[key];
    const t0 = Date.now();
    const game = wrecApiGame(scheme, task, reluExtraction(format), { queries: 1_000_000, same: sameUpToHiddenSymmetry(format), report: diagnose });
    const e = estimateAdvantageSync(game, { trials, firstTrial: Number(process.env.RELU_FIRST ?? 0), seed: process.env.RELU_SEED ?? 'relu-bench', keepTrials: true });
    process.stdout.write(`${inputDim}x${hiddenDim} ${scheme.name}: ${e.successes}/${e.trials} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    (e.results ?? []).forEach((r, i) => {
      if (!r.win) process.stdout.write(`  trial ${i + Number(process.env.RELU_FIRST ?? 0)}: ${JSON.stringify(r.details)}\n`);
    });
  }
}
