import * as P from '../../src/prob/prob';
import type { WeightReleaseScheme } from '../../src/scheme';
import { ToyTask, ToyWeights, runToy, sameToyOutputs, sameToyWeights, sampleToyInput, trainToy } from './mlp';
import { markAudited } from '../../src/cost/audit';

export type OpenReleaseScheme = WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, undefined, ToyWeights>;

/**
 * openRelease: W′ = W, no key, Run′ = Run. Correct, and no protection at all: the copy
 * adversary wins WRec with advantage 1. The baseline every other scheme is measured against.
 */
export function openRelease(): OpenReleaseScheme {
  return markAudited({
    name: 'openRelease',
    train: trainToy,
    run: (weights, input) => () => runToy(weights, input),
    kgen: () => P.of({ pk: undefined, sk: undefined }),
    release: (_sk, weights) => P.of(weights),
    runReleased: (_pk, released, input) => () => runToy(released, input),
    sampleInput: sampleToyInput,
    same: { weights: sameToyWeights, outputs: sameToyOutputs },
  });
}
