import { Activation, ActivationName, activations } from '../activations';
import { SPECIAL_FLOPS } from '../tensor/flopModel';

/**
 * What the trainer and the plain forward need of an activation: its value and slope, with the
 * FLOPs each performs (cost model of src/numerics/tensor/flopModel.ts). Every `Activation` is one; so are
 * the two non-smooth-or-not-expanded ones the toy and generic-attack subjects use, ReLU and tanh,
 * which TaylorMLP never expands (they have no entry in `activations`).
 */
export interface PointwiseActivation {
  readonly name: string;
  readonly value: (x: number) => number;
  readonly slope: (x: number) => number;
  readonly valueFlops: (x: number) => number;
  readonly slopeFlops: (x: number) => number;
}

/** ReLU: max(x, 0), slope 1[x > 0] (0 at the kink). A comparison: 0 FLOPs either way. */
export const relu: PointwiseActivation = Object.freeze({
  name: 'relu',
  value: (x: number) => (x > 0 ? x : 0),
  slope: (x: number) => (x > 0 ? 1 : 0),
  valueFlops: () => 0,
  slopeFlops: () => 0,
});

/** tanh, slope 1 − tanh²: one special call, and one special call + 2 for the slope. */
export const tanh: PointwiseActivation = Object.freeze({
  name: 'tanh',
  value: Math.tanh,
  slope: (x: number) => {
    const t = Math.tanh(x);
    return 1 - t * t;
  },
  valueFlops: () => SPECIAL_FLOPS,
  slopeFlops: () => SPECIAL_FLOPS + 2,
});

/** The activations the trainer takes: the smooth ones TaylorMLP expands, and ReLU and tanh. */
export type TrainerActivationName = ActivationName | 'relu' | 'tanh';

const pointwise: Readonly<Record<'relu' | 'tanh', PointwiseActivation>> = { relu, tanh };

/** The activation of a name (a smooth `Activation` when TaylorMLP knows it). */
export function trainerActivation(name: TrainerActivationName): PointwiseActivation {
  if (name === 'relu' || name === 'tanh') return pointwise[name];
  const act: Activation | undefined = activations[name];
  if (act === undefined) throw new RangeError(`unknown activation "${String(name)}"; known: relu, tanh, ${Object.keys(activations).join(', ')}`);
  return act;
}
