import { pipe } from 'fp-ts/function';
import * as P from '../../src/prob/prob';
import { TensorDict, tensor } from '../../src/tensor/tensor';
import { mapArray, matVec } from '../../src/tensor/kernels';
import { SPECIAL_FLOPS } from '../../src/tensor/flopModel';
import { Same, normDistance, sameWithin, tensorDictView } from '../../src/same';

/**
 * The toy schemes' task: a two-layer MLP y = W₂ tanh(W₁ x + b₁) + b₂ of the given shape.
 * "Training" draws the weights from their initialisation distribution (W ~ N(0, 1/fan_in)):
 * what the games need from Train is its randomness, and toys keep trials fast.
 */
export interface ToyTask {
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
}

/** Tensors named as in a checkpoint: fc1.weight [h, in], fc1.bias [h], fc2.weight [out, h], fc2.bias [out]. */
export type ToyWeights = TensorDict;

export const defaultToyTask: ToyTask = { inputDim: 8, hiddenDim: 16, outputDim: 4 };

export const toyShapes = (task: ToyTask): Record<string, number[]> => ({
  'fc1.weight': [task.hiddenDim, task.inputDim],
  'fc1.bias': [task.hiddenDim],
  'fc2.weight': [task.outputDim, task.hiddenDim],
  'fc2.bias': [task.outputDim],
});

/** W ←$ Train(D): Gaussian weights with variance 1/fan_in, biases N(0, 0.1²). */
export const trainToy = (task: ToyTask): P.Prob<ToyWeights> =>
  pipe(
    P.Do,
    P.bind('w1', () => P.normalArray(task.hiddenDim * task.inputDim, 1 / Math.sqrt(task.inputDim))),
    P.bind('b1', () => P.normalArray(task.hiddenDim, 0.1)),
    P.bind('w2', () => P.normalArray(task.outputDim * task.hiddenDim, 1 / Math.sqrt(task.hiddenDim))),
    P.bind('b2', () => P.normalArray(task.outputDim, 0.1)),
    P.map(({ w1, b1, w2, b2 }) => ({
      'fc1.weight': tensor([task.hiddenDim, task.inputDim], w1),
      'fc1.bias': tensor([task.hiddenDim], b1),
      'fc2.weight': tensor([task.outputDim, task.hiddenDim], w2),
      'fc2.bias': tensor([task.outputDim], b2),
    })),
  );

/** tanh is one special-function call in the kernel cost model (src/tensor/flopModel.ts). */
export const TANH_FLOPS = SPECIAL_FLOPS;

/** Run(W, x) = W₂ tanh(W₁ x + b₁) + b₂, on the project's kernels (so every FLOP is metered). */
export function runToy(weights: ToyWeights, input: Float64Array): Float64Array {
  const pre = matVec(weights['fc1.weight'], input, weights['fc1.bias'].data);
  const hidden = mapArray(pre, 'tanh');
  return matVec(weights['fc2.weight'], hidden, weights['fc2.bias'].data);
}

/** x ←$ 𝒳: x ~ N(0, I). */
export const sampleToyInput = (task: ToyTask): P.Prob<Float64Array> => P.normalArray(task.inputDim);

const vectorView = (v: Float64Array) => [v];

/** Default Same on toy outputs: relative L2 distance ≤ 1e-9 (float summation order may differ). */
export const sameToyOutputs: Same<Float64Array> = sameWithin(normDistance(vectorView, { relative: true }), 1e-9);

/** Default Same on toy weights: relative L2 distance ≤ 1e-6. */
export const sameToyWeights: Same<ToyWeights> = sameWithin(normDistance(tensorDictView, { relative: true }), 1e-6);
