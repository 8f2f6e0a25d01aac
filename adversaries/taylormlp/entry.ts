import { apiEffiInf, defineScheme, directEffiInf } from '../../src/kernel/registry';
import { RegressionTask, RegressionTaskCodec } from '../../src/numerics/models/train';
import type { ActivationName } from '../../src/numerics/activations';
import { taylorMlp } from '../../schemes/taylormlp/scheme';
import { randomGuessWind } from '../toy/generic';
import { consensusAdversary, pairwiseAdversary } from './attack';
import { publishedLayerDistinguisher, truncatedOrders } from './inference';
import { distillation } from '../generic/distillation';
import { trainedMlpFormat } from '../generic/format';
import { smoothExtraction } from '../generic/smoothExtraction';
import { sameUpToHiddenSymmetry } from '../generic/symmetry';

/** The TaylorMLP games' task: small trained GELU MLPs with biases (fresh weights every trial). */
export const defaultTaylorTask: RegressionTask = { dataSeed: 'evaluate', samples: 128, inputDim: 8, hiddenDim: 32, outputDim: 4, activation: 'gelu', steps: 100 };

/** What the generic adversaries know of TaylorMLP's Run: a GELU MLP on the trainer's weights (W's activation type is the scheme's). */
const geluFormat = trainedMlpFormat<ActivationName>('gelu');

/** TaylorMLP's registry entry (schemes/taylormlp) with the attacks of §4 and the generic ones. */
export const taylorMlpEntry = defineScheme({
  name: 'taylormlp',
  describe: 'TaylorMLP (Algorithm 1) on trained 8 → 32 → 4 GELU MLPs, N = 12, f32, full expansion, signs; inputs near z0, Same within 1 %',
  data: RegressionTaskCodec,
  defaultData: defaultTaylorTask,
  build: (task) => taylorMlp(task, { taylor: { order: 12, dtype: 'f32', signs: true }, inputSpread: 0.1, outputThreshold: 1e-2 }),
}).attacks({
  wrec: { consensus: () => consensusAdversary('f32', true), pairwise: () => pairwiseAdversary },
  reductions: { effiInfFromWRec: true, windFromWRec: true },
  wind: { 'random-bit': () => randomGuessWind(), 'published-first-layer': () => publishedLayerDistinguisher },
  effiinf: { 'truncate-to-4': () => directEffiInf(truncatedOrders(4)) },
  // Exactly metered, consensus recovery costs ~3 MFLOPs ≈ 700 Run′ calls (docs/results.md, the TaylorMLP scorecard): q must exceed the break-even.
  inputs: 4000,
  api: {
    queries: 256,
    // The curvature extraction models Run′ as a GELU MLP; judged at Table 1's 1 % up to permutation.
    // At 8 → 32 → 4 it refuses (hidden > in(in − 1)/2 = 28): the row shows where it stops.
    wrec: { 'smooth-extraction': { adversary: () => smoothExtraction(geluFormat), same: () => sameUpToHiddenSymmetry(geluFormat, 1e-2), queries: 1_000_000 } },
    effiinf: { 'distill-q256': () => apiEffiInf(distillation(trainedMlpFormat('gelu'), { queries: 256, hiddenDim: 32 })) },
  },
});
