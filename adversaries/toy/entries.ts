import { defineScheme, PackedSchemeEntry, ApiRows } from '../../src/kernel/registry';
import { ToyTask, ToyTaskCodec, ToyWeights, defaultToyTask } from '../../schemes/toy/mlp';
import { openRelease } from '../../schemes/toy/openRelease';
import { additiveMask } from '../../schemes/toy/additiveMask';
import { additiveShares } from '../../schemes/toy/additiveShares';
import { neuronPermutation } from '../../schemes/toy/neuronPermutation';
import { copyAdversary, randomGuessWRec, randomGuessWind } from './generic';
import { permutationMatching, sumSharesAdversary, unmaskAdversary } from './toyAttacks';
import { genericAttacks } from '../generic/rows';
import { toyFormat } from '../generic/format';

/**
 * The toy schemes' registry entries (schemes/toy): each with the attacks that apply to it. Both
 * reductions of §3.3 apply to every toy scheme — the games check their assumptions trial by trial.
 */

const bothReductions = { effiInfFromWRec: true, windFromWRec: true } as const;

/** The generic attacks' subjects: trained one-hidden-layer ReLU MLPs 16 → 32 → 4. */
export const defaultReluTask: ToyTask = { inputDim: 16, hiddenDim: 32, outputDim: 4, activation: 'relu', training: { dataSeed: 'evaluate', samples: 128, steps: 100 } };

/** The API rows of the ReLU subjects: critical-point extraction and distillation (q = 256) into Run's architecture. */
const reluApi = <PK, R>(): ApiRows<ToyWeights, Float64Array, Float64Array, PK, R> => genericAttacks(toyFormat('relu'), { hiddenDim: 32 });

/** The smooth-activation subject: trained one-hidden-layer GELU MLPs 8 → 16 → 4 (within the curvature extraction's reach, hidden ≤ in(in − 1)/2). */
export const defaultGeluTask: ToyTask = { inputDim: 8, hiddenDim: 16, outputDim: 4, activation: 'gelu', training: { dataSeed: 'evaluate', samples: 128, steps: 100 } };

export const openReleaseEntry = defineScheme({
  name: 'open-release',
  describe: 'W′ = W (no protection)',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: () => openRelease(),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
});

export const additiveMaskEntry = defineScheme({
  name: 'additive-mask',
  describe: 'W′ = W + K, pk = ⊥ (secure, incorrect)',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: (task) => additiveMask(task, { publishKey: false }),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec(), unmask: () => unmaskAdversary },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
});

export const additiveMaskPublicEntry = defineScheme({
  name: 'additive-mask-public',
  describe: 'W′ = W + K, pk = K (correct, insecure)',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: (task) => additiveMask(task, { publishKey: true }),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec(), unmask: () => unmaskAdversary },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
});

export const additiveSharesEntry = defineScheme({
  name: 'additive-shares',
  describe: 'first layer as 3 additive shares (correct, 3× slower Run′)',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: () => additiveShares({ shares: 3 }),
}).attacks({
  wrec: { 'random-guess': () => randomGuessWRec(), 'sum-shares': () => sumSharesAdversary },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
});

export const neuronPermutationEntry = defineScheme({
  name: 'neuron-permutation',
  describe: 'hidden units secretly permuted; elementwise Same',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: (task) => neuronPermutation(task),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind(), 'permutation-matching': () => permutationMatching },
});

export const neuronPermutationInvariantEntry = defineScheme({
  name: 'neuron-permutation-invariant',
  describe: 'hidden units secretly permuted; permutation-invariant Same',
  data: ToyTaskCodec,
  defaultData: defaultToyTask,
  build: (task) => neuronPermutation(task, { same: 'permutation-invariant' }),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind(), 'permutation-matching': () => permutationMatching },
});

export const openReleaseReluEntry = defineScheme({
  name: 'open-release-relu',
  describe: 'W′ = W on trained 16 → 32 → 4 ReLU MLPs (generic attacks\' subject)',
  data: ToyTaskCodec,
  defaultData: defaultReluTask,
  build: () => openRelease({ activation: 'relu' }),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
  api: reluApi(),
});

export const neuronPermutationReluEntry = defineScheme({
  name: 'neuron-permutation-relu',
  describe: 'hidden units of trained 16 → 32 → 4 ReLU MLPs secretly permuted',
  data: ToyTaskCodec,
  defaultData: defaultReluTask,
  build: (task) => neuronPermutation(task),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind(), 'permutation-matching': () => permutationMatching },
  api: reluApi(),
});

export const additiveSharesReluEntry = defineScheme({
  name: 'additive-shares-relu',
  describe: 'first layer of trained 16 → 32 → 4 ReLU MLPs as 3 additive shares',
  data: ToyTaskCodec,
  defaultData: defaultReluTask,
  build: () => additiveShares({ shares: 3, activation: 'relu' }),
}).attacks({
  wrec: { 'random-guess': () => randomGuessWRec(), 'sum-shares': () => sumSharesAdversary },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
  api: reluApi(),
});

export const openReleaseGeluEntry = defineScheme({
  name: 'open-release-gelu',
  describe: 'W′ = W on trained 8 → 16 → 4 GELU MLPs (the smooth extraction\'s subject)',
  data: ToyTaskCodec,
  defaultData: defaultGeluTask,
  build: () => openRelease({ activation: 'gelu' }),
}).attacks({
  wrec: { copy: () => copyAdversary(), 'random-guess': () => randomGuessWRec() },
  reductions: bothReductions,
  wind: { 'random-bit': () => randomGuessWind() },
  api: genericAttacks(toyFormat('gelu'), { hiddenDim: 16 }),
});

export const toyEntries: readonly PackedSchemeEntry[] = [
  openReleaseEntry,
  additiveMaskEntry,
  additiveMaskPublicEntry,
  additiveSharesEntry,
  neuronPermutationEntry,
  neuronPermutationInvariantEntry,
  openReleaseReluEntry,
  neuronPermutationReluEntry,
  additiveSharesReluEntry,
  openReleaseGeluEntry,
];
