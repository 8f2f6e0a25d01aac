import * as P from '../prob/prob';
import { Activation, activations, ActivationName } from '../numerics/activations';
import { Tensor, tensor } from '../tensor/tensor';
import { matMulTransposed } from '../tensor/kernels';
import { chargeFlops } from '../cost/meter';
import { MlpBlock, runMlp } from './mlp';
import { seededStream } from '../prob/challenger';

/**
 * D for the trainer: a seeded regression task. The data seed fixes the inputs and the teacher
 * network that labels them; Train's own randomness (initialisation) comes from its stream, so
 * two Train(D) runs give different weights for the same D, as the W-IND game needs.
 */
export interface RegressionTask {
  readonly dataSeed: string;
  readonly samples: number;
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  readonly activation: ActivationName;
  /** Adam steps on the full batch. */
  readonly steps: number;
  readonly learningRate?: number;
  /** Std of input features (default 1). */
  readonly inputScale?: number;
}

export interface TrainedMlp {
  readonly activation: ActivationName;
  readonly block: MlpBlock;
}

/** The task's data: X ~ N(0, scale²) and Y = teacher(X) + 0.01·noise, from the data seed only. */
export function regressionData(task: RegressionTask): { inputs: Tensor; targets: Tensor } {
  const scale = task.inputScale ?? 1;
  const inputs = tensor([task.samples, task.inputDim], seededStream(`data:${task.dataSeed}`, 'inputs', P.normalArray(task.samples * task.inputDim, scale)));
  const teacher = seededStream(`data:${task.dataSeed}`, 'teacher', initialMlp(task));
  const clean = runMlp(teacher, activations[task.activation], inputs);
  const noise = seededStream(`data:${task.dataSeed}`, 'noise', P.normalArray(clean.data.length, 0.01));
  return { inputs, targets: tensor(clean.shape, clean.data.map((v, i) => v + noise[i])) };
}

/** He-style initialisation with small random biases (trained models have non-zero b and c). */
const initialMlp = (task: RegressionTask): P.Prob<MlpBlock> => (ctx) => ({
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
export const trainMlp = (task: RegressionTask): P.Prob<TrainedMlp> => (ctx) => {
  const act: Activation = activations[task.activation];
  const { inputs, targets } = regressionData(task);
  const start = initialMlp(task)(ctx);
  const params = [Float64Array.from(start.first), Float64Array.from(start.firstBias!), Float64Array.from(start.second), Float64Array.from(start.secondBias!)];
  const [V, b, W, c] = params;
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const lr = task.learningRate ?? 0.01;
  const { samples: T, inputDim: d, hiddenDim: h, outputDim: o } = task;
  const grads = params.map((p) => new Float64Array(p.length));
  for (let step = 1; step <= task.steps; step++) {
    const z = matMulTransposed(inputs, tensor([h, d], V)).data;
    const hidden = new Float64Array(T * h);
    const slope = new Float64Array(T * h);
    for (let q = 0; q < T * h; q++) {
      const pre = z[q] + b[q % h];
      hidden[q] = act.value(pre);
      slope[q] = act.slope(pre);
    }
    const y = matMulTransposed(tensor([T, h], hidden), tensor([o, h], W)).data;
    const dy = new Float64Array(T * o);
    for (let t = 0; t < T; t++) for (let i = 0; i < o; i++) dy[t * o + i] = (2 * (y[t * o + i] + c[i] - targets.data[t * o + i])) / (T * o);
    grads.forEach((g) => g.fill(0));
    const [gV, gb, gW, gc] = grads;
    // dW = dyᵀ·hidden, dc = Σ dy, dH = dy·W, dZ = dH ⊙ Act′, dV = dZᵀ·X, db = Σ dZ
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < o; i++) {
        const g = dy[t * o + i];
        gc[i] += g;
        for (let j = 0; j < h; j++) gW[i * h + j] += g * hidden[t * h + j];
      }
      for (let j = 0; j < h; j++) {
        let dh = 0;
        for (let i = 0; i < o; i++) dh += dy[t * o + i] * W[i * h + j];
        const dz = dh * slope[t * h + j];
        gb[j] += dz;
        for (let k = 0; k < d; k++) gV[j * d + k] += dz * inputs.data[t * d + k];
      }
    }
    chargeFlops(T * (4 * o * h + 2 * h * d + 3 * h) + 24 * T * h);
    params.forEach((p, index) => {
      const g = grads[index];
      for (let q = 0; q < p.length; q++) {
        m[index][q] = 0.9 * m[index][q] + 0.1 * g[q];
        v[index][q] = 0.999 * v[index][q] + 0.001 * g[q] * g[q];
        const mHat = m[index][q] / (1 - Math.pow(0.9, step));
        const vHat = v[index][q] / (1 - Math.pow(0.999, step));
        p[q] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
      chargeFlops(10 * p.length);
    });
  }
  return { activation: task.activation, block: { kind: 'plain', inputDim: d, hiddenDim: h, outputDim: o, first: V, firstBias: b, up: null, second: W, secondBias: c } };
};

/** Mean squared error of a block on the task's data (for checking that training trains). */
export function taskLoss(task: RegressionTask, block: MlpBlock): number {
  const { inputs, targets } = regressionData(task);
  const y = runMlp(block, activations[task.activation], inputs).data;
  let acc = 0;
  for (let q = 0; q < y.length; q++) acc += (y[q] - targets.data[q]) ** 2;
  return acc / y.length;
}
