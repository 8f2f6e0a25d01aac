
import * as P from '../../src/prob/prob';
import type { WRecAdversary, WindAdversary } from '../../src/adversary';
import type { ToyTask, ToyWeights } from '../../schemes/toy/mlp';
import { trainToy } from '../../schemes/toy/mlp';

/** copy: W* = W′. Wins WRec exactly when the release is the weights (openRelease). */
export const copyAdversary = <PK, W>(): WRecAdversary<PK, W, W> => ({
  name: 'copy',
  recover: (_pk, released) => P.of(released),
});

/**
 * random guess (WRec): W* drawn from the weights' prior, knowing only the task's shapes —
 * what an adversary that learns nothing from W′ can do. Advantage ≈ 0 for any sensible Same.
 */
export const randomGuessWRec = <PK, R>(task: ToyTask): WRecAdversary<PK, R, ToyWeights> => ({
  name: 'random-guess',
  recover: () => trainToy(task),
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

