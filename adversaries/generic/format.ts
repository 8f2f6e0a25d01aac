import type { MlpBlock } from '../../src/numerics/models/mlp';
import type { TrainerActivationName } from '../../src/numerics/models/pointwise';
import type { TrainedMlp } from '../../src/numerics/models/train';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import type { ToyActivation, ToyWeights } from '../../schemes/toy/mlp';

/**
 * What the generic adversaries know of a scheme whose Run is a one-hidden-layer MLP
 * y = W₂ act(W₁ x + b₁) + b₂: public knowledge — the scheme's Run is public code — never D or a
 * secret. It says how an input vector becomes the scheme's X, how its Y reads as output vectors,
 * and how plain MLP weights are laid out in its W. A user's scheme gets the generic attacks by
 * writing one of these for its types.
 */
export interface OneHiddenLayerFormat<W, X, Y> {
  readonly name: string;
  /** Run's hidden activation. */
  readonly activation: TrainerActivationName;
  /** An x holding one input vector. */
  readonly input: (vector: Float64Array) => X;
  /** The input vectors an x holds (one row per token for a batch). */
  readonly inputRows: (input: X) => Float64Array[];
  /** The output vectors a y holds, in the order of the input rows. */
  readonly outputRows: (output: Y) => Float64Array[];
  /** A y of these output vectors. */
  readonly output: (rows: Float64Array[]) => Y;
  /** Plain MLP weights (V = W₁, b, W = W₂, c) as the scheme's W. */
  readonly weights: (block: MlpBlock) => W;
  /** The scheme's W as plain MLP weights. */
  readonly block: (weights: W) => MlpBlock;
}

/** The toy schemes' W (fc1/fc2 tensors), X = Float64Array, Y = Float64Array. */
export function toyFormat(activation: ToyActivation = 'tanh'): OneHiddenLayerFormat<ToyWeights, Float64Array, Float64Array> {
  return Object.freeze({
    name: `toy(${activation})`,
    activation,
    input: (v: Float64Array) => v,
    inputRows: (x: Float64Array) => [x],
    outputRows: (y: Float64Array) => [y],
    output: (rows: Float64Array[]) => rows[0],
    weights: (b: MlpBlock): ToyWeights => ({
      'fc1.weight': tensor([b.hiddenDim, b.inputDim], b.first),
      'fc1.bias': tensor([b.hiddenDim], b.firstBias ?? new Float64Array(b.hiddenDim)),
      'fc2.weight': tensor([b.outputDim, b.hiddenDim], b.second),
      'fc2.bias': tensor([b.outputDim], b.secondBias ?? new Float64Array(b.outputDim)),
    }),
    block: (w: ToyWeights): MlpBlock => {
      const [h, d] = w['fc1.weight'].shape;
      return {
        kind: 'plain',
        inputDim: d,
        hiddenDim: h,
        outputDim: w['fc2.weight'].shape[0],
        first: Float64Array.from(w['fc1.weight'].data),
        firstBias: Float64Array.from(w['fc1.bias'].data),
        up: null,
        second: Float64Array.from(w['fc2.weight'].data),
        secondBias: Float64Array.from(w['fc2.bias'].data),
      };
    },
  });
}

const rowsOf = (t: Tensor): Float64Array[] => {
  const [rows, cols] = t.shape;
  return Array.from({ length: rows }, (_, r) => Float64Array.from(t.data.subarray(r * cols, (r + 1) * cols)));
};

const stack = (rows: Float64Array[]): Tensor => {
  const cols = rows[0].length;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return tensor([rows.length, cols], data);
};

/** The trainer's W (`TrainedMlp`: TaylorMLP's Train), X = Tensor [rows, in], Y = Tensor [rows, out]. */
export function trainedMlpFormat<A extends TrainerActivationName>(activation: A): OneHiddenLayerFormat<TrainedMlp<A>, Tensor, Tensor> {
  return Object.freeze({
    name: `trained-mlp(${activation})`,
    activation,
    input: (v: Float64Array) => tensor([1, v.length], v),
    inputRows: rowsOf,
    outputRows: rowsOf,
    output: stack,
    weights: (block: MlpBlock): TrainedMlp<A> => ({ activation, block }),
    block: (w: TrainedMlp<A>) => w.block,
  });
}
