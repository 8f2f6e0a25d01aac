import { Tensor, tensor } from '../tensor/tensor';
import { addRowBias, matMulTransposed } from '../tensor/kernels';
import { ElementwiseActivation, activateUnits } from '../tensor/activationKernels';

/**
 * An MLP block in canonical orientation (row-major, [out, in] like nn.Linear), float64:
 * - plain:  y = W·Act(V x + b) + c          (OPT/Phi fc1/fc2, GPT-2 c_fc/c_proj)
 * - swiglu: y = W·(Act(G x) ⊙ (U x))        (Llama/Mistral gate/up/down; Act = SiLU)
 * `first` is V (plain) or G (swiglu): the layer whose pre-activation z = first·x TaylorMLP expands.
 */
export interface MlpBlock {
  readonly kind: 'plain' | 'swiglu';
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  /** V or G: [hidden, input] */
  readonly first: Float64Array;
  /** b: [hidden], null when the layer has no bias */
  readonly firstBias: Float64Array | null;
  /** U (swiglu only): [hidden, input] */
  readonly up: Float64Array | null;
  /** W: [output, hidden] */
  readonly second: Float64Array;
  /** c: [output], null when the layer has no bias */
  readonly secondBias: Float64Array | null;
}

const matrix = (data: Float64Array, rows: number, cols: number): Tensor => tensor([rows, cols], data);

/** Pre-activations z = X·firstᵀ for a batch X [T, input] → [T, hidden] (no bias). */
export function preActivations(block: MlpBlock, inputs: Tensor): Tensor {
  return matMulTransposed(inputs, matrix(block.first, block.hiddenDim, block.inputDim));
}

/**
 * Run: the block's outputs for a batch of inputs X [T, input] → Y [T, output], on the
 * project's kernels (every FLOP metered by the kernel that does it).
 */
export function runMlp(block: MlpBlock, act: ElementwiseActivation, inputs: Tensor): Tensor {
  const tokens = inputs.shape[0];
  const z = preActivations(block, inputs).data;
  const up = block.kind === 'swiglu' ? matMulTransposed(inputs, matrix(block.up!, block.hiddenDim, block.inputDim)).data : null;
  const hidden = activateUnits(act, z, block.hiddenDim, tokens, null, block.firstBias, up);
  const y = matMulTransposed(matrix(hidden, tokens, block.hiddenDim), matrix(block.second, block.outputDim, block.hiddenDim));
  if (block.secondBias !== null) addRowBias(y.data, block.secondBias);
  return y;
}
