import * as P from '../../src/kernel/prob/prob';
import type { WeightReleaseScheme } from '../../src/kernel/scheme';
import { ToyActivation, ToyTask, ToyWeights, checkToyActivation, runToy, sameToyOutputs, sameToyWeights, sampleToyInput, trainToy } from './mlp';
import { markAudited } from '../../src/kernel/cost/audit';

export type OpenReleaseScheme = WeightReleaseScheme<ToyTask, ToyWeights, Float64Array, Float64Array, undefined, undefined, ToyWeights>;

/**
 * openRelease: W′ = W, no key, Run′ = Run. Correct, and no protection at all: the copy
 * adversary wins WRec with advantage 1. The baseline every other scheme is measured against.
 * `activation` (default tanh) is the MLP's hidden activation; its tasks must name the same.
 */
export function openRelease(options: { readonly activation?: ToyActivation } = {}): OpenReleaseScheme {
  const act = options.activation ?? 'tanh';
  return markAudited({
    name: act === 'tanh' ? 'openRelease' : `openRelease(${act})`,
    train: (task) => (checkToyActivation(act, task), trainToy(task)),
    run: (weights, input) => () => runToy(weights, input, act),
    kgen: () => P.of({ pk: undefined, sk: undefined }),
    release: (_sk, weights) => P.of(weights),
    runReleased: (_pk, released, input) => () => runToy(released, input, act),
    sampleInput: sampleToyInput,
    same: { weights: sameToyWeights, outputs: sameToyOutputs },
  });
}
