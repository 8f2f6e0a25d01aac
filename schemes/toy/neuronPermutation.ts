import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { Same, normDistance, sameWithin } from '../../src/kernel/same';
import { tensorDictView } from '../../src/numerics/tensor/tensorSame';
import { tensor } from '../../src/numerics/tensor/tensor';
import { ToyTask, ToyWeights, checkToyActivation, runToy, sameToyOutputs, sameToyWeights, sampleToyInput, trainToy } from './mlp';
import { markAudited } from '../../src/kernel/cost/audit';

export type NeuronPermutationScheme = WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, Int32Array, ToyWeights>;

/**
 * Permute the hidden units: unit j of the result is unit π[j] of the input — rows of fc1.weight
 * and fc1.bias, columns of fc2.weight.
 */
export function permuteHiddenUnits(weights: ToyWeights, pi: Int32Array): ToyWeights {
  const w1 = weights['fc1.weight'];
  const w2 = weights['fc2.weight'];
  const [h, n] = w1.shape;
  const out = w2.shape[0];
  const w1p = new Float64Array(h * n);
  const b1p = new Float64Array(h);
  const w2p = new Float64Array(out * h);
  for (let j = 0; j < h; j++) {
    const src = pi[j];
    for (let k = 0; k < n; k++) w1p[j * n + k] = w1.data[src * n + k];
    b1p[j] = weights['fc1.bias'].data[src];
    for (let i = 0; i < out; i++) w2p[i * h + j] = w2.data[i * h + src];
  }
  return {
    'fc1.weight': tensor([h, n], w1p),
    'fc1.bias': tensor([h], b1p),
    'fc2.weight': tensor([out, h], w2p),
    'fc2.bias': tensor(weights['fc2.bias'].shape, Float64Array.from(weights['fc2.bias'].data)),
  };
}

/**
 * The canonical order of the hidden units: sorted by (b₁_j, then W₁ row j lexicographically).
 * Two weights that differ only by a hidden-unit permutation have the same canonical form.
 */
export function canonicalOrder(weights: ToyWeights): Int32Array {
  const w1 = weights['fc1.weight'];
  const b1 = weights['fc1.bias'].data;
  const [h, n] = w1.shape;
  const units = Array.from({ length: h }, (_, j) => j);
  units.sort((a, b) => {
    if (b1[a] !== b1[b]) return b1[a] - b1[b];
    for (let k = 0; k < n; k++) if (w1.data[a * n + k] !== w1.data[b * n + k]) return w1.data[a * n + k] - w1.data[b * n + k];
    return 0;
  });
  return Int32Array.from(units);
}

export const canonicalize = (weights: ToyWeights): ToyWeights => permuteHiddenUnits(weights, canonicalOrder(weights));

/**
 * Same on weights up to a permutation of the hidden units: relative L2 distance ≤ δ between the
 * canonical forms. The canonical form sorts by b₁, so it is robust only while recovered biases are
 * ordered like the originals — fine for exact recovery, which is what it is for.
 */
export const samePermutationInvariant = (threshold = 1e-6): Same<ToyWeights> => {
  const base = normDistance(tensorDictView, { relative: true });
  return sameWithin({ name: 'relative L2 distance up to hidden-unit permutation', measure: (a, b) => base.measure(canonicalize(a), canonicalize(b)) }, threshold);
};

/**
 * neuronPermutation: W′ = π(W) for a secret permutation π of the hidden units. An MLP computes
 * the same function whatever the order of its hidden units, so Run′ = Run with no key: correct.
 * W′ reveals W up to π: under an elementwise Same the copy adversary loses, under a
 * permutation-invariant Same it wins — the scheme's "security" is an artefact of Same.
 */
export function neuronPermutation(task: ToyTask, options: { readonly same?: 'elementwise' | 'permutation-invariant' } = {}): NeuronPermutationScheme {
  const act = task.activation ?? 'tanh';
  return markAudited({
    name: `neuronPermutation(${options.same ?? 'elementwise'}${act === 'tanh' ? '' : `, ${act}`})`,
    train: (data) => (checkToyActivation(act, data), trainToy(data)),
    run: (weights, input) => () => runToy(weights, input, act),
    kgen: () => (ctx) => ({ pk: undefined, sk: P.permutation(task.hiddenDim)(ctx) }),
    release: (sk, weights) => () => permuteHiddenUnits(weights, sk),
    runReleased: (_pk, released, input) => () => runToy(released, input, act),
    sampleInput: sampleToyInput,
    same: { weights: options.same === 'permutation-invariant' ? samePermutationInvariant() : sameToyWeights, outputs: sameToyOutputs },
  });
}
