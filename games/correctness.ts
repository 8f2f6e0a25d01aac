import { pipe } from 'fp-ts/function';
import type { CorrectnessDetails } from './details';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import { Do, bind, call, chain, finish } from './trial';

export interface CorrectnessOptions<Y> {
  /** Same on outputs; the scheme's default when absent. */
  readonly same?: Same<Y>;
}

/**
 * Game_Correctness(D) (Definition 3.1). Σ is correct if Pr[Game ⇒ 1] = 1.
 *
 *     (pk, sk) ←$ KGen()
 *     W  ←$ Train(D)
 *     W′ ←$ Release(sk, W)
 *     x  ←$ 𝒳
 *     y  ←$ Run(W, x)
 *     y′ ←$ Run′(pk, W′, x)
 *     return Same(y′, y)
 */
export function correctnessGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  options: CorrectnessOptions<Y> = {},
): Game<CorrectnessDetails> {
  const same = options.same ?? scheme.same.outputs;
  const play = pipe(
    Do,
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('weights', () => call('train', scheme.train(data))),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('input', () => call('input', scheme.sampleInput(data))),
    bind('output', ({ weights, input }) => call('run', scheme.run(weights, input))),
    bind('releasedOutput', ({ keys, released, input }) => call('runReleased', scheme.runReleased(keys.pk, released, input))),
    chain(({ output, releasedOutput }) =>
      finish('correctness', same.test(releasedOutput, output), [], {
        scheme: scheme.name,
        same: same.name,
        distance: same.dist.measure(releasedOutput, output),
      }),
    ),
  );
  return { name: `Correctness[${scheme.name}]`, kind: 'probability', play };
}
