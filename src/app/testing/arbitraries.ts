import fc from 'fast-check';
import { pipe } from 'fp-ts/function';
import * as P from '../../kernel/prob/prob';
import type { WRecAdversary } from '../../kernel/adversary';
import { TensorDict, tensor } from '../../numerics/tensor/tensor';
import { ToyTask, ToyWeights, asToyWeights, toyShapes } from '../../../schemes/toy/mlp';
import { openRelease } from '../../../schemes/toy/openRelease';
import { additiveMask } from '../../../schemes/toy/additiveMask';
import { additiveShares } from '../../../schemes/toy/additiveShares';
import { neuronPermutation } from '../../../schemes/toy/neuronPermutation';

/** Small MLP shapes: 1–8 inputs, 1–12 hidden units, 1–4 outputs. */
export const toyTaskArb: fc.Arbitrary<ToyTask> = fc.record({
  inputDim: fc.integer({ min: 1, max: 8 }),
  hiddenDim: fc.integer({ min: 1, max: 12 }),
  outputDim: fc.integer({ min: 1, max: 4 }),
});

/** Finite weights of the task's shapes, entries in [−bound, bound]. */
export function toyWeightsArb(task: ToyTask, bound = 4): fc.Arbitrary<ToyWeights> {
  const shapes = toyShapes(task);
  const names = Object.keys(shapes).sort();
  return fc
    .tuple(
      ...names.map((name) =>
        fc.float64Array({ min: -bound, max: bound, noDefaultInfinity: true, noNaN: true, minLength: shapes[name].reduce((a, b) => a * b, 1), maxLength: shapes[name].reduce((a, b) => a * b, 1) }),
      ),
    )
    .map((arrays) => asToyWeights(Object.fromEntries(names.map((name, i) => [name, tensor(shapes[name], arrays[i])]))));
}

/** Any toy weights: a task, then weights of its shapes. */
export const anyToyWeightsArb: fc.Arbitrary<{ task: ToyTask; weights: ToyWeights }> = toyTaskArb.chain((task) => toyWeightsArb(task).map((weights) => ({ task, weights })));

/** The names of the toy schemes, for arbitraries and the CLI. */
export const toySchemeNames = ['openRelease', 'additiveMask(pk=K)', 'additiveMask(pk=⊥)', 'additiveShares', 'neuronPermutation'] as const;
export type ToySchemeName = (typeof toySchemeNames)[number];

export function toyScheme(name: ToySchemeName, task: ToyTask) {
  switch (name) {
    case 'openRelease':
      return openRelease();
    case 'additiveMask(pk=K)':
      return additiveMask(task, { publishKey: true });
    case 'additiveMask(pk=⊥)':
      return additiveMask(task, { publishKey: false });
    case 'additiveShares':
      return additiveShares({ shares: 3 });
    case 'neuronPermutation':
      return neuronPermutation(task);
  }
}

/** A toy scheme on a toy task. */
export const toySchemeArb = fc.record({ name: fc.constantFrom(...toySchemeNames), task: toyTaskArb }).map(({ name, task }) => ({ name, task, scheme: toyScheme(name, task) }));

/** Scale every entry: the default corruption of `withSuccessRate` (never Same under a relative Same). */
export const scaleWeights =
  (factor: number) =>
  <W extends TensorDict>(w: W): W =>
    // The same names as w, each scaled: a W again (ToyWeights stays ToyWeights).
    Object.fromEntries(Object.entries(w).map(([name, t]) => [name, tensor(t.shape, Float64Array.from(t.data, (v) => v * factor))])) as W;

/**
 * An adversary that succeeds with a given rate: on its own coin (drawn after the base adversary,
 * on the adversary stream) it returns the base adversary's output with probability p and a
 * corrupted copy otherwise. With copy on openRelease, its WRec advantage is exactly p.
 */
export function withSuccessRate<PK, R, W>(base: WRecAdversary<PK, R, W>, p: number, corrupt: (w: W) => W): WRecAdversary<PK, R, W> {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`success rate must be in [0, 1], got ${p}`);
  return {
    name: `${base.name}@${p}`,
    recover: (pk, released) =>
      pipe(
        base.recover(pk, released),
        P.chain((w) => pipe(P.bernoulli(p), P.map((keep) => (keep ? w : corrupt(w))))),
      ),
  };
}

/** Success rates in [0, 1] with the ends included. */
export const successRateArb = fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }));
