import * as t from 'io-ts';
import * as P from '../../kernel/prob/prob';
import type { ActivationName } from '../activations';
import { Tensor, tensor } from '../tensor/tensor';
import { addArrays, matMulTransposed } from '../tensor/kernels';
import { activateWithSlope } from '../tensor/activationKernels';
import { mlpGradients, mseOutputGradient } from '../tensor/backpropKernels';
import { adamStep } from '../tensor/optimizerKernels';
import { MlpBlock, runMlp } from './mlp';
import { seededStream } from '../../kernel/prob/challenger';
import { PointwiseActivation, TrainerActivationName, trainerActivation } from './pointwise';

/**
 * D for the trainer: a seeded regression task. The data seed fixes the inputs and the teacher
 * network that labels them; Train's own randomness (initialisation) comes from its stream, so
 * two Train(D) runs give different weights for the same D, as the W-IND game needs.
 */
export interface RegressionTask<A extends TrainerActivationName = ActivationName> {
  readonly dataSeed: string;
  readonly samples: number;
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  /** The hidden layer's activation: a smooth one TaylorMLP expands (the default type), or `relu` / `tanh`. */
  readonly activation: A;
  /** Adam steps on the full batch. */
  readonly steps: number;
  readonly learningRate?: number;
  /** Std of input features (default 1). */
  readonly inputScale?: number;
}

/** D's codec for a regression task with a smooth activation (the TaylorMLP games' D). */
export const RegressionTaskCodec: t.Type<RegressionTask, unknown, unknown> = t.intersection([
  t.type({
    dataSeed: t.string,
    samples: t.number,
    inputDim: t.number,
    hiddenDim: t.number,
    outputDim: t.number,
    activation: t.keyof({ silu: null, gelu: null, gelu_tanh: null, sigmoid: null }),
    steps: t.number,
  }),
  t.partial({ learningRate: t.number, inputScale: t.number }),
]);

export interface TrainedMlp<A extends TrainerActivationName = ActivationName> {
  readonly activation: A;
  readonly block: MlpBlock;
}

/** The task's data: X ~ N(0, scale²) and Y = teacher(X) + 0.01·noise, from the data seed only. */
export function regressionData(task: RegressionTask<TrainerActivationName>): { inputs: Tensor; targets: Tensor } {
  const scale = task.inputScale ?? 1;
  const inputs = tensor([task.samples, task.inputDim], seededStream(`data:${task.dataSeed}`, 'inputs', P.normalArray(task.samples * task.inputDim, scale)));
  const teacher = seededStream(`data:${task.dataSeed}`, 'teacher', initialMlp(task));
  const clean = runMlp(teacher, trainerActivation(task.activation), inputs);
  const noise = seededStream(`data:${task.dataSeed}`, 'noise', P.normalArray(clean.data.length, 0.01));
  return { inputs, targets: tensor(clean.shape, addArrays(clean.data, noise)) };
}

/** He-style initialisation with small random biases (trained models have non-zero b and c). */
const initialMlp = (task: { readonly inputDim: number; readonly hiddenDim: number; readonly outputDim: number }): P.Prob<MlpBlock> => (ctx) => ({
  kind: 'plain',
  inputDim: task.inputDim,
  hiddenDim: task.hiddenDim,
  outputDim: task.outputDim,
  first: P.normalArray(task.hiddenDim * task.inputDim, Math.sqrt(2 / task.inputDim))(ctx),
  firstBias: P.normalArray(task.hiddenDim, 0.5)(ctx),
  up: null,
  second: P.normalArray(task.outputDim * task.hiddenDim, Math.sqrt(1 / task.hiddenDim))(ctx),
  secondBias: P.normalArray(task.outputDim, 0.1)(ctx),
});

/**
 * Train(D): full-batch Adam on the mean squared error, from a random initialisation drawn on the
 * caller's stream. Gradients by hand on the project's kernels (every FLOP metered).
 */
export const trainMlp = <A extends TrainerActivationName = ActivationName>(task: RegressionTask<A>): P.Prob<TrainedMlp<A>> => (ctx) => {
  const { inputs, targets } = regressionData(task);
  return fitMlp(inputs, targets, task)(ctx);
};

/** How `fitMlp` trains: the hidden layer's width and activation, and the optimiser. */
export interface FitOptions<A extends TrainerActivationName> {
  readonly hiddenDim: number;
  readonly activation: A;
  /** Adam steps on the full batch. */
  readonly steps: number;
  readonly learningRate?: number;
}

/**
 * The trainer on given data: a one-hidden-layer MLP fitted to targets [T, out] from inputs
 * [T, in] by full-batch Adam on the mean squared error, from the initialisation `trainMlp` uses
 * (drawn on the caller's stream). What a distiller trains its surrogate with.
 */
export const fitMlp = <A extends TrainerActivationName>(inputs: Tensor, targets: Tensor, options: FitOptions<A>): P.Prob<TrainedMlp<A>> => (ctx) => {
  const act: PointwiseActivation = trainerActivation(options.activation);
  const [T, d] = inputs.shape;
  const o = targets.shape[1];
  const h = options.hiddenDim;
  if (targets.shape[0] !== T) throw new RangeError(`fitMlp: ${T} inputs but ${targets.shape[0]} targets`);
  const start = initialMlp({ inputDim: d, hiddenDim: h, outputDim: o })(ctx);
  const params = [Float64Array.from(start.first), Float64Array.from(start.firstBias!), Float64Array.from(start.second), Float64Array.from(start.secondBias!)];
  const [V, b, W, c] = params;
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const lr = options.learningRate ?? 0.01;
  const grads = { first: new Float64Array(V.length), firstBias: new Float64Array(b.length), second: new Float64Array(W.length), secondBias: new Float64Array(c.length) };
  const gradList = [grads.first, grads.firstBias, grads.second, grads.secondBias];
  for (let step = 1; step <= options.steps; step++) {
    const z = matMulTransposed(inputs, tensor([h, d], V)).data;
    const [hidden, slope] = activateWithSlope(act, z, h, b);
    const y = matMulTransposed(tensor([T, h], hidden), tensor([o, h], W)).data;
    const dy = mseOutputGradient(y, c, targets.data);
    mlpGradients(dy, hidden, slope, W, inputs.data, T, d, h, o, grads);
    params.forEach((p, index) => adamStep(p, gradList[index], m[index], v[index], step, lr));
  }
  return { activation: options.activation, block: { kind: 'plain', inputDim: d, hiddenDim: h, outputDim: o, first: V, firstBias: b, up: null, second: W, secondBias: c } };
};

/** Mean squared error of a block on the task's data (for checking that training trains). */
export function taskLoss(task: RegressionTask<TrainerActivationName>, block: MlpBlock): number {
  const { inputs, targets } = regressionData(task);
  const y = runMlp(block, trainerActivation(task.activation), inputs).data;
  let acc = 0;
  for (let q = 0; q < y.length; q++) acc += (y[q] - targets.data[q]) ** 2;
  return acc / y.length;
}
