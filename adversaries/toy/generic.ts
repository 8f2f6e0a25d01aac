
import * as P from '../../src/kernel/prob/prob';
import type { WRecAdversary, WindAdversary } from '../../src/kernel/adversary';
import type { ToyTask, ToyWeights } from '../../schemes/toy/mlp';
import type { SharedWeights } from '../../schemes/toy/additiveShares';
import { trainToy } from '../../schemes/toy/mlp';
import { markAudited } from '../../src/kernel/cost/audit';

/** copy: W* = W′. Wins WRec exactly when the release is the weights (openRelease). */
export const copyAdversary = <PK, W>(): WRecAdversary<PK, W, W> =>
  markAudited({
    name: 'copy',
    recover: (_pk: PK, released: W) => P.of(released),
  });

/** What any toy release shows of the architecture: the shapes of its layers (never D). */
export type ToyRelease = ToyWeights | SharedWeights;

/** The toy task's shapes, read off a release: fc1 is [h, in] (or its shares), fc2 is [out, h]. */
export function toyShapesOf(released: ToyRelease): ToyTask {
  const fc1 = 'fc1Shares' in released ? (released.fc1Shares as SharedWeights['fc1Shares'])[0] : (released as ToyWeights)['fc1.weight'];
  const fc2 = 'fc1Shares' in released ? (released as SharedWeights).rest['fc2.weight'] : (released as ToyWeights)['fc2.weight'];
  return { inputDim: fc1.shape[1], hiddenDim: fc1.shape[0], outputDim: fc2.shape[0] };
}

/**
 * random guess (WRec): W* drawn from the weights' prior on its own coins, knowing only the
 * architecture that W′ shows — what an adversary that learns nothing from W′ can do.
 * Advantage ≈ 0 for any sensible Same.
 */
export const randomGuessWRec = <PK, R extends ToyRelease>(): WRecAdversary<PK, R, ToyWeights> => ({
  name: 'random-guess',
  recover: (_pk, released) => trainToy(toyShapesOf(released)),
});

/** random guess (W-IND): b′ ←$ {0, 1}. Advantage 0 exactly, in expectation. */
export const randomGuessWind = <PK, W, R>(): WindAdversary<PK, W, R> => ({
  name: 'random-bit',
  distinguish: () => P.bit,
});

/** A W-IND adversary that always says 0: wins with probability ½, advantage 0. */
export const constantWind = <PK, W, R>(guess: 0 | 1 = 0): WindAdversary<PK, W, R> => ({
  name: `always-${guess}`,
  distinguish: () => P.of(guess),
});

