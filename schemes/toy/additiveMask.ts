import { pipe } from 'fp-ts/function';
import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { TensorDict, tensor, sortedNames } from '../../src/numerics/tensor/tensor';
import { addArrays, subtractArrays } from '../../src/numerics/tensor/kernels';
import { ToyTask, ToyWeights, asToyWeights, runToy, sameToyOutputs, sameToyWeights, sampleToyInput, toyShapes, trainToy } from './mlp';
import { markAudited } from '../../src/kernel/cost/audit';

/** The mask K: one Gaussian tensor per weight tensor. */
export type Mask = ToyWeights;

export interface AdditiveMaskOptions {
  /** pk = K (Run′ can unmask: correct, and insecure) or pk = ⊥ (secure, and incorrect). */
  readonly publishKey: boolean;
  /** Standard deviation of the mask entries (default 10). */
  readonly scale?: number;
}

export type AdditiveMaskScheme = WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, Mask | undefined, Mask, ToyWeights>;

/** Apply `op` tensor by tensor (both dicts have the same names and shapes). */
export const combineWeights = (a: ToyWeights, b: ToyWeights, op: typeof addArrays): ToyWeights => {
  const [x, y]: TensorDict[] = [a, b];
  return asToyWeights(Object.fromEntries(sortedNames(x).map((name) => [name, tensor(x[name].shape, op(x[name].data, y[name].data))])));
};

/**
 * additiveMask: W′ = W + K for a secret K ←$ N(0, scale²) of the task's shapes (the scheme's
 * size is its security parameter, fixed by the task, as §3.1 notes). Run′ computes
 * Run(W′ − pk, x): it is correct only if pk = K — and then anyone can unmask. With pk = ⊥, W′
 * is a one-time pad on W (WRec advantage 0 for every adversary), but Run′ runs the masked
 * weights and is wrong. The correctness/security tension in one line.
 */
export function additiveMask(task: ToyTask, options: AdditiveMaskOptions): AdditiveMaskScheme {
  const scale = options.scale ?? 10;
  const shapes = toyShapes(task);
  const drawMask: P.Prob<Mask> = (ctx) =>
    asToyWeights(
      Object.fromEntries(
        Object.keys(shapes)
          .sort()
          .map((name) => [name, tensor(shapes[name], P.normalArray(shapes[name].reduce((a, b) => a * b, 1), scale)(ctx))]),
      ),
    );
  return markAudited({
    name: options.publishKey ? 'additiveMask(pk=K)' : 'additiveMask(pk=⊥)',
    train: trainToy,
    run: (weights, input) => () => runToy(weights, input),
    kgen: () => pipe(drawMask, P.map((mask) => ({ pk: options.publishKey ? mask : undefined, sk: mask }))),
    release: (sk, weights) => () => combineWeights(weights, sk, addArrays),
    runReleased: (pk, released, input) => () => runToy(pk === undefined ? released : combineWeights(released, pk, subtractArrays), input),
    sampleInput: sampleToyInput,
    same: { weights: sameToyWeights, outputs: sameToyOutputs },
  });
}
