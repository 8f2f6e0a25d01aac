import * as P from '../src/kernel/prob/prob';
import type { WindDetails } from './details';
import { pipe } from 'fp-ts/function';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { WindAdversary, WindView } from '../src/kernel/adversary';
import { Do, IndistinctTrainingError, Step, bind, call, chain, checkAssumptions, finish } from './trial';
import { algorithm } from '../src/kernel/prob/challenger';

export interface WindOptions<W> {
  /** Same on weights, for the ¬Same(W0, W1) condition; the scheme's default when absent. */
  readonly same?: Same<W>;
  /** How many times W1 may be re-trained before the game gives up (IndistinctTrainingError). */
  readonly maxRetrain?: number;
}

/**
 * W1 ←$ Train(D) until ¬Same(W0, W1). `trainOn(stream)` runs one Train(D) on the challenger's
 * stream `stream` and accounts for its cost (in a game: the `train` ledger entry; in an oracle:
 * the oracle's entry, once). Attempt k runs on stream `${streamPrefix}/k`.
 * Throws IndistinctTrainingError after `maxRetrain` attempts.
 */
export function trainDistinct<W>(
  trainOn: (stream: string) => W,
  w0: W,
  same: Same<W>,
  maxRetrain: number,
  streamPrefix = 'train/twin',
): { readonly weights: W; readonly attempts: number } {
  for (let attempt = 0; attempt < maxRetrain; attempt++) {
    const w1 = trainOn(`${streamPrefix}/${attempt}`);
    if (!same.test(w0, w1)) return { weights: w1, attempts: attempt + 1 };
  }
  throw new IndistinctTrainingError(maxRetrain, same.name);
}

/**
 * Game_W-IND(D, A) (Definition 3.4). Adv = 2|Pr[Game ⇒ 1] − ½|.
 *
 *     b ←$ {0, 1}
 *     (pk, sk) ←$ KGen()
 *     W0 ←$ Train(D)
 *     W1 ←$ Train(D) until ¬Same(W0, W1)
 *     W′ ←$ Release(sk, W_b)
 *     b′ ←$ A(pk, W0, W1, W′)
 *     return b = b′
 *
 * W0 is drawn from the `train` stream, the same one WRec and EffiInf use, so trials with b = 0
 * are coupled with those games' trials (the reductions' tests rely on it).
 */
export function windGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: WindAdversary<PK, W, R>,
  options: WindOptions<W> = {},
): Game<WindDetails> {
  const same = options.same ?? scheme.same.weights;
  const maxRetrain = options.maxRetrain ?? 16;
  const play = pipe(
    Do,
    bind('b', () => call('challenge', P.bit)),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('w0', () => call('train', scheme.train(data))),
    bind('twin', ({ w0 }): Step<{ readonly weights: W; readonly attempts: number }> => (ctx) =>
      trainDistinct((stream) => algorithm('train', scheme.train(data), stream)(ctx)[0], w0, same, maxRetrain)),
    bind('released', ({ keys, b, w0, twin }) => call('release', scheme.release(keys.sk, b === 0 ? w0 : twin.weights))),
    bind('guess', ({ keys, w0, twin, released }) => call('adversary', adversary.distinguish(keys.pk, w0, twin.weights, released))),
    chain((s) => (ctx) => {
      const view: WindView<W, PK, R> = {
        b: s.b,
        w0: s.w0,
        w1: s.twin.weights,
        pk: s.keys.pk,
        released: s.released,
        guess: s.guess,
        notes: ctx.noteBook,
      };
      return finish('wind', s.b === s.guess, checkAssumptions(adversary.assumptions, view), {
        scheme: scheme.name,
        adversary: adversary.name,
        b: s.b,
        guess: s.guess,
        trainAttempts: s.twin.attempts,
      })(ctx);
    }),
  );
  return { name: `W-IND[${scheme.name}, ${adversary.name}]`, kind: 'distinguishing', play };
}
