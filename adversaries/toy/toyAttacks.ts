import type { MultiQueryWRecAdversary, WRecAdversary, WindAdversary } from '../../src/kernel/adversary';
import { ToyWeights, asToyWeights } from '../../schemes/toy/mlp';
import type { TensorDict } from '../../src/numerics/tensor/tensor';
import { combineWeights, Mask } from '../../schemes/toy/additiveMask';
import { subtractArrays } from '../../src/numerics/tensor/kernels';
import { SharedWeights, sumShares } from '../../schemes/toy/additiveShares';
import { canonicalize } from '../../schemes/toy/neuronPermutation';
import { normDistance } from '../../src/kernel/same';
import { tensorDictView } from '../../src/numerics/tensor/tensorSame';
import { markAudited } from '../../src/kernel/cost/audit';

/** additiveMask: W* = W′ − pk when the key is published, W′ otherwise (the best one can do). */
export const unmaskAdversary: WRecAdversary<Mask | undefined, ToyWeights, ToyWeights> = markAudited({
  name: 'unmask',
  recover: (pk, released) => () => (pk === undefined ? released : combineWeights(released, pk, subtractArrays)),
});

/** additiveShares: W* = (Σ_k S_k, the rest). */
export const sumSharesAdversary: WRecAdversary<undefined, SharedWeights, ToyWeights> = markAudited({
  name: 'sum-shares',
  recover: (_pk, released) => () => sumShares(released),
});

/**
 * permutation matching (W-IND on neuronPermutation): bring W0, W1 and W′ to their canonical
 * hidden-unit order and answer the closer one. π hides the order, not the units.
 */
export const permutationMatching: WindAdversary<undefined, ToyWeights, ToyWeights> = {
  name: 'permutation-matching',
  distinguish: (_pk, w0, w1, released) => () => {
    const dist = normDistance(tensorDictView, { relative: true });
    const target = canonicalize(released);
    return dist.measure(target, canonicalize(w0)) <= dist.measure(target, canonicalize(w1)) ? 0 : 1;
  },
};

/**
 * Averaging (multi-query WRec on additiveMask with pk = ⊥): each release is W + K with one fixed
 * K, so averaging q releases does not help — a demonstration that the oracle is honest. It asks
 * for `queries` releases and returns their mean.
 */
export const averagingAdversary = (queries: number): MultiQueryWRecAdversary<unknown, ToyWeights, ToyWeights> => ({
  name: `average-${queries}`,
  recover: (_pk, oracle) => (ctx) => {
    const releases: ToyWeights[] = [];
    for (let q = 0; q < queries; q++) releases.push(oracle.query()(ctx));
    const first: TensorDict = releases[0];
    return asToyWeights(
      Object.fromEntries(
        Object.keys(first).map((name) => {
          const acc = new Float64Array(first[name].data.length);
          for (const r of releases as TensorDict[]) for (let i = 0; i < acc.length; i++) acc[i] += r[name].data[i] / releases.length;
          return [name, { ...first[name], dtype: 'f64' as const, data: acc }];
        }),
      ),
    );
  },
});

