/**
 * Distillation's curve (docs/results.md): Pr[Same] on a fresh input against the number q of
 * Run′ queries it trained on, on trained one-hidden-layer ReLU MLPs (16 → 32 → 4) released under
 * openRelease, neuronPermutation and additiveShares, and on TaylorMLP (GELU 8 → 32 → 4, N = 12) —
 * with the surrogate's inference cost against Run′'s and the break-even number of inputs.
 * `npm run bench:distillation` (DISTILL_TRIALS, DISTILL_QS="16,64,256,1024,4096").
 */
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { clopperPearson } from '../src/kernel/estimate/intervals';
import { effiInfApiGame } from '../games';
import { additiveShares, neuronPermutation, openRelease, taylorMlp, ToyTask } from '../schemes';
import type { AnyScheme } from '../src/kernel/scheme';
import { distillation, toyFormat, trainedMlpFormat, OneHiddenLayerFormat } from '../adversaries/generic';
import { defaultTaylorTask } from '../adversaries/taylormlp/entry';

const trials = Number(process.env.DISTILL_TRIALS ?? 40);
const qs = (process.env.DISTILL_QS ?? '16,64,256,1024,4096').split(',').map(Number);
/** DISTILL_SUBJECTS: a comma-separated list of label prefixes to run (default: all). */
const only = process.env.DISTILL_SUBJECTS?.split(',');
const thresholds = [1e-1, 1e-2, 1e-3];

const toyTask: ToyTask = { inputDim: 16, hiddenDim: 32, outputDim: 4, activation: 'relu', training: { dataSeed: 'relu-16', samples: 256, steps: 100 } };

interface Subject {
  readonly label: string;
  readonly scheme: AnyScheme;
  readonly data: unknown;
  readonly format: OneHiddenLayerFormat<any, any, any>;
  readonly hiddenDim: number;
}

const subjects: Subject[] = [
  { label: 'openRelease(relu) 16→32→4', scheme: openRelease({ activation: 'relu' }), data: toyTask, format: toyFormat('relu'), hiddenDim: 32 },
  { label: 'neuronPermutation(relu) 16→32→4', scheme: neuronPermutation(toyTask), data: toyTask, format: toyFormat('relu'), hiddenDim: 32 },
  { label: 'additiveShares(m=3, relu) 16→32→4', scheme: additiveShares({ shares: 3, activation: 'relu' }), data: toyTask, format: toyFormat('relu'), hiddenDim: 32 },
  {
    label: 'taylormlp (GELU 8→32→4, N=12)',
    scheme: taylorMlp(defaultTaylorTask, { taylor: { order: 12, dtype: 'f32', signs: true }, inputSpread: 0.1, outputThreshold: 1e-2 }),
    data: defaultTaylorTask,
    format: trainedMlpFormat('gelu'),
    hiddenDim: 32,
  },
];

const ci = (wins: number, n: number): string => {
  const i = clopperPearson(wins, n, 0.95);
  return `${(wins / n).toFixed(2)} [${i.lower.toFixed(2)}, ${i.upper.toFixed(2)}]`;
};

function main(): void {
  process.stdout.write(`distillation (EffiInf with a Run′ oracle charged to the adversary, one fresh input per trial): ${trials} trials per row, seed distill, Clopper–Pearson 95 %; Same = relative L2 distance of the outputs ≤ δ\n\n`);
  process.stdout.write(`| subject | q | ${thresholds.map((d) => `Pr[Same], δ = ${d}`).join(' | ')} | median rel. error | surrogate FLOPs / answer | Run′ FLOPs | preparation FLOPs | break-even inputs |\n|${'---|'.repeat(8 + thresholds.length - 1)}\n`);
  for (const s of subjects.filter((x) => only === undefined || only.some((prefix) => x.label.startsWith(prefix)))) {
    for (const q of qs) {
      const adversary = distillation(s.format, { queries: q, hiddenDim: s.hiddenDim });
      const game = effiInfApiGame(s.scheme, s.data, adversary, { queries: q, inputs: 1 });
      const e = estimateAdvantageSync(game, { trials, seed: 'distill', keepTrials: true });
      const rs = e.results ?? [];
      const dist = rs.map((r) => Number(r.details.maxDistance)).sort((a, b) => a - b);
      const mean = (key: 'answerFlops' | 'runReleasedFlops' | 'prepareFlops') => rs.reduce((acc, r) => acc + r.details[key], 0) / rs.length;
      const breakEvens = rs.map((r) => r.details.costBreakEven);
      const be = breakEvens.every((b) => b === null) ? 'never (surrogate not cheaper)' : String(Math.round(breakEvens.filter((b): b is number => typeof b === 'number').reduce((a, b) => a + b, 0) / breakEvens.length));
      const cells = thresholds.map((d) => ci(dist.filter((x) => x <= d).length, dist.length));
      process.stdout.write(
        `| ${s.label} | ${q} | ${cells.join(' | ')} | ${dist[Math.floor((dist.length - 1) / 2)].toExponential(1)} | ${mean('answerFlops').toFixed(0)} | ${mean('runReleasedFlops').toFixed(0)} | ${(mean('prepareFlops') / 1e6).toFixed(1)}M | ${be} |\n`,
      );
    }
  }
}

main();
