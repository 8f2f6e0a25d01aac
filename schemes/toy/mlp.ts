import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import * as P from '../../src/kernel/prob/prob';
import { ShapeError, Tensor, TensorDict, tensor } from '../../src/numerics/tensor/tensor';
import { mapArray, matVec } from '../../src/numerics/tensor/kernels';
import { SPECIAL_FLOPS } from '../../src/numerics/tensor/flopModel';
import { Same, normDistance, sameWithin } from '../../src/kernel/same';
import { tensorDictView } from '../../src/numerics/tensor/tensorSame';
import { trainMlp } from '../../src/numerics/models/train';
import { TrainerActivationName, trainerActivation } from '../../src/numerics/models/pointwise';
import { activateUnits } from '../../src/numerics/tensor/activationKernels';

/**
 * The toy schemes' task: a two-layer MLP y = W₂ act(W₁ x + b₁) + b₂ of the given shape, act =
 * tanh unless `activation` says otherwise. Without `training`, "training" draws the weights from their
 * initialisation distribution (W ~ N(0, 1/fan_in)): what the games need from Train is its
 * randomness, and toys keep trials fast. With `training`, Train(D) is the project's trainer
 * (`trainMlp`: full-batch Adam on a seeded regression task of this shape) — trained subjects,
 * e.g. the ReLU networks the generic extraction attacks are measured on.
 */
export interface ToyTask {
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  /** The hidden activation (default tanh); the scheme built for the task must use the same. */
  readonly activation?: ToyActivation;
  /** Train by gradient descent on a seeded regression task instead of drawing the initialisation. */
  readonly training?: ToyTraining;
}

/**
 * The toy MLPs' hidden activations: tanh (the default), ReLU, and the trainer's smooth ones
 * (GELU, its tanh approximation, SiLU, sigmoid), which the generic smooth extraction is measured on.
 */
export type ToyActivation = TrainerActivationName;

/** D of a trained toy task: the regression data's seed and size, and the optimiser's steps. */
export interface ToyTraining {
  readonly dataSeed: string;
  readonly samples: number;
  readonly steps: number;
  readonly learningRate?: number;
}

/**
 * Tensors named as in a checkpoint: fc1.weight [h, in], fc1.bias [h], fc2.weight [out, h],
 * fc2.bias [out]. Named keys, so every lookup is a Tensor even under `noUncheckedIndexedAccess`;
 * still a TensorDict wherever one is expected.
 */
export type ToyWeights = {
  readonly 'fc1.weight': Tensor;
  readonly 'fc1.bias': Tensor;
  readonly 'fc2.weight': Tensor;
  readonly 'fc2.bias': Tensor;
};

/** The toy weights' tensor names, in checkpoint order. */
export const TOY_WEIGHT_NAMES = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] as const;

/**
 * A TensorDict as ToyWeights, checked: it must hold the four tensors (any order of keys is kept,
 * so code that iterates the dict sees what it saw before).
 */
export function asToyWeights(dict: TensorDict): ToyWeights {
  const missing = TOY_WEIGHT_NAMES.filter((name) => dict[name] === undefined);
  if (missing.length > 0) throw new ShapeError(`toy weights need ${TOY_WEIGHT_NAMES.join(', ')}; missing ${missing.join(', ')}`);
  return dict as ToyWeights;
}

/** A new ToyWeights with `f` applied to each tensor (named, so the result is ToyWeights again). */
export const mapToyWeights = (weights: ToyWeights, f: (tensor: Tensor, name: keyof ToyWeights) => Tensor): ToyWeights => ({
  'fc1.weight': f(weights['fc1.weight'], 'fc1.weight'),
  'fc1.bias': f(weights['fc1.bias'], 'fc1.bias'),
  'fc2.weight': f(weights['fc2.weight'], 'fc2.weight'),
  'fc2.bias': f(weights['fc2.bias'], 'fc2.bias'),
});

export const defaultToyTask: ToyTask = { inputDim: 8, hiddenDim: 16, outputDim: 4 };

/** D's codec for the toy schemes (the registry decodes `--data` and worker arguments with it). */
export const ToyTaskCodec: t.Type<ToyTask, unknown, unknown> = t.intersection([
  t.type({ inputDim: t.number, hiddenDim: t.number, outputDim: t.number }),
  t.partial({
    activation: t.keyof({ tanh: null, relu: null, gelu: null, gelu_tanh: null, silu: null, sigmoid: null }),
    training: t.intersection([t.type({ dataSeed: t.string, samples: t.number, steps: t.number }), t.partial({ learningRate: t.number })]),
  }),
]);

export const toyShapes = (task: ToyTask): Record<string, number[]> => ({
  'fc1.weight': [task.hiddenDim, task.inputDim],
  'fc1.bias': [task.hiddenDim],
  'fc2.weight': [task.outputDim, task.hiddenDim],
  'fc2.bias': [task.outputDim],
});

/**
 * W ←$ Train(D): Gaussian weights with variance 1/fan_in, biases N(0, 0.1²) — or, when the task
 * has `training`, the trainer's weights (Adam from a random initialisation on Train's stream).
 */
export const trainToy = (task: ToyTask): P.Prob<ToyWeights> => (task.training === undefined ? drawToy(task) : trainToyMlp(task, task.training));

const drawToy = (task: ToyTask): P.Prob<ToyWeights> =>
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

const trainToyMlp = (task: ToyTask, training: ToyTraining): P.Prob<ToyWeights> =>
  pipe(
    trainMlp({ ...training, inputDim: task.inputDim, hiddenDim: task.hiddenDim, outputDim: task.outputDim, activation: task.activation ?? 'tanh' }),
    P.map(({ block }) => ({
      'fc1.weight': tensor([task.hiddenDim, task.inputDim], block.first),
      'fc1.bias': tensor([task.hiddenDim], block.firstBias!),
      'fc2.weight': tensor([task.outputDim, task.hiddenDim], block.second),
      'fc2.bias': tensor([task.outputDim], block.secondBias!),
    })),
  );

/** A scheme built for one activation refuses a task of another (Run would not compute Train's network). */
export function checkToyActivation(scheme: ToyActivation, task: ToyTask): void {
  const wanted = task.activation ?? 'tanh';
  if (wanted !== scheme) throw new RangeError(`the task's activation is ${wanted} but the scheme runs ${scheme}`);
}

/** tanh is one special-function call in the kernel cost model (src/numerics/tensor/flopModel.ts). */
export const TANH_FLOPS = SPECIAL_FLOPS;

/**
 * act elementwise on the pre-activations: tanh and ReLU by `mapArray`, the other activations by
 * `activateUnits` (which charges each unit's value and 1 for its add of a zero bias).
 */
export function activateToy(pre: Float64Array, activation: ToyActivation): Float64Array {
  return activation === 'tanh' || activation === 'relu' ? mapArray(pre, activation) : activateUnits(trainerActivation(activation), pre, pre.length, 1, null, null, null);
}

/** Run(W, x) = W₂ act(W₁ x + b₁) + b₂ (act = tanh by default), on the project's kernels (so every FLOP is metered). */
export function runToy(weights: ToyWeights, input: Float64Array, activation: ToyActivation = 'tanh'): Float64Array {
  const pre = matVec(weights['fc1.weight'], input, weights['fc1.bias'].data);
  const hidden = activateToy(pre, activation);
  return matVec(weights['fc2.weight'], hidden, weights['fc2.bias'].data);
}

/** x ←$ 𝒳: x ~ N(0, I). */
export const sampleToyInput = (task: ToyTask): P.Prob<Float64Array> => P.normalArray(task.inputDim);

const vectorView = (v: Float64Array) => [v];

/** Default Same on toy outputs: relative L2 distance ≤ 1e-9 (float summation order may differ). */
export const sameToyOutputs: Same<Float64Array> = sameWithin(normDistance(vectorView, { relative: true }), 1e-9);

/** Default Same on toy weights: relative L2 distance ≤ 1e-6. */
export const sameToyWeights: Same<ToyWeights> = sameWithin(normDistance(tensorDictView, { relative: true }), 1e-6);
