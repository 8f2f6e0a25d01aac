import { pipe } from 'fp-ts/function';
import type { WRecDetails } from './details';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { WRecAdversary } from '../src/kernel/adversary';
import { Do, bind, call, chain, finish } from './trial';

export interface WRecOptions<W> {
  /** Same on weights; the scheme's default when absent. */
  readonly same?: Same<W>;
}

/**
 * Game_WRec(D, A) (Definition 3.2). Adv^WRec_Σ(D, A) = Pr[Game ⇒ 1].
 *
 *     W  ←$ Train(D)
 *     (pk, sk) ←$ KGen()
 *     W′ ←$ Release(sk, W)
 *     W* ←$ A(pk, W′)
 *     return Same(W*, W)
 */
export function wrecGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: WRecAdversary<PK, R, W>,
  options: WRecOptions<W> = {},
): Game<WRecDetails> {
  const same = options.same ?? scheme.same.weights;
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('recovered', ({ keys, released }) => call('adversary', adversary.recover(keys.pk, released))),
    chain(({ weights, recovered }) =>
      finish('wrec', same.test(recovered, weights), [], {
        scheme: scheme.name,
        adversary: adversary.name,
        same: same.name,
        distance: same.dist.measure(recovered, weights),
      }),
    ),
  );
  return { name: `WRec[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
