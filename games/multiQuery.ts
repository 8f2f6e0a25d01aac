import { pipe } from 'fp-ts/function';
import type { WRecMultiQueryDetails, WindMultiQueryDetails } from './details';
import * as P from '../src/kernel/prob/prob';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { MultiQueryWRecAdversary, MultiQueryWindAdversary, ReleaseOracle, WindOracle } from '../src/kernel/adversary';
import { TrialContext, oracleCall } from '../src/kernel/prob/challenger';
import { isolatedMeter } from '../src/kernel/cost/meter';
import { Do, QueryBudgetExceededError, bind, call, chain, finish } from './trial';
import { trainDistinct } from './wind';

/**
 * A Release(sk, W) oracle with a budget; query i runs on the challenger's stream
 * `release/query/i`. The oracle holds the trial (its streams and ledger) in its closure: the
 * adversary gets only `budget` and `query`, and each answer's cost is recorded once, under
 * `release`, never charged to the adversary.
 */
function releaseOracle<W, SK, R>(trial: TrialContext, release: (sk: SK, w: W) => P.Prob<R>, sk: SK, weights: W, budget: number): ReleaseOracle<R> & { used: () => number } {
  let used = 0;
  return {
    budget,
    used: () => used,
    query: () => () => {
      if (used >= budget) throw new QueryBudgetExceededError('Release', budget);
      const index = used++;
      return oracleCall(trial, 'release', release(sk, weights), `release/query/${index}`);
    },
  };
}

const checkBudget = (budget: number): void => {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`query budget must be a positive integer, got ${budget}`);
};

/**
 * Multi-query WRec (the stronger variant after Definition 3.2): A may ask Release(sk, W) for up
 * to q fresh releases of the same weights.
 *
 *     W  ←$ Train(D)
 *     (pk, sk) ←$ KGen()
 *     W* ←$ A^{Release(sk, W)}(pk)     — at most q queries
 *     return Same(W*, W)
 */
export function wrecMultiQueryGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: MultiQueryWRecAdversary<PK, R, W>,
  options: { readonly queries: number; readonly same?: Same<W> },
): Game<WRecMultiQueryDetails> {
  checkBudget(options.queries);
  const same = options.same ?? scheme.same.weights;
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('oracle', ({ keys, weights }) => (trial: TrialContext) => releaseOracle(trial, scheme.release, keys.sk, weights, options.queries)),
    bind('recovered', ({ keys, oracle }) => call('adversary', adversary.recover(keys.pk, oracle))),
    chain(({ weights, recovered, oracle }) =>
      finish('wrec-multi', same.test(recovered, weights), [], {
        scheme: scheme.name,
        adversary: adversary.name,
        queries: oracle.used(),
        budget: options.queries,
        distance: same.dist.measure(recovered, weights),
      }),
    ),
  );
  return { name: `WRec^${options.queries}[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}

/**
 * Multi-query W-IND (the stronger variant after Definition 3.4): one hidden b; each query trains
 * a fresh pair (W0, W1) with ¬Same(W0, W1) and returns it with Release(sk, W_b).
 *
 *     b ←$ {0, 1}; (pk, sk) ←$ KGen()
 *     b′ ←$ A^{LR}(pk), LR() = { W0 ←$ Train(D); W1 ←$ Train(D) until ¬Same; return (W0, W1, Release(sk, W_b)) }
 *     return b = b′
 *
 * Every Train and Release an LR query runs is recorded once in the ledger (under `train` and
 * `release`) and none of it is charged to the adversary.
 */
export function windMultiQueryGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: MultiQueryWindAdversary<PK, W, R>,
  options: { readonly queries: number; readonly same?: Same<W>; readonly maxRetrain?: number },
): Game<WindMultiQueryDetails> {
  checkBudget(options.queries);
  const same = options.same ?? scheme.same.weights;
  const maxRetrain = options.maxRetrain ?? 16;
  const makeOracle = (trial: TrialContext, b: 0 | 1, sk: SK): WindOracle<W, R> & { used: () => number } => {
    let used = 0;
    return {
      budget: options.queries,
      used: () => used,
      query: () => () => {
        if (used >= options.queries) throw new QueryBudgetExceededError('W-IND left-or-right', options.queries);
        const index = used++;
        // Keep the oracle's work off the adversary's meter while it runs, whatever it does.
        const [answer] = isolatedMeter(() => {
          const trainOn = (stream: string): W => oracleCall(trial, 'train', scheme.train(data), stream);
          const w0 = trainOn(`train/query/${index}`);
          const twin = trainDistinct(trainOn, w0, same, maxRetrain, `train/query/${index}/twin`);
          const released = oracleCall(trial, 'release', scheme.release(sk, b === 0 ? w0 : twin.weights), `release/query/${index}`);
          return { w0, w1: twin.weights, released };
        });
        return answer;
      },
    };
  };
  const play = pipe(
    Do,
    bind('b', () => call('challenge', P.bit)),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('oracle', ({ b, keys }) => (trial: TrialContext) => makeOracle(trial, b, keys.sk)),
    bind('guess', ({ keys, oracle }) => call('adversary', adversary.distinguish(keys.pk, oracle))),
    chain(({ b, guess, oracle }) =>
      finish('wind-multi', b === guess, [], { scheme: scheme.name, adversary: adversary.name, b, guess, queries: oracle.used(), budget: options.queries }),
    ),
  );
  return { name: `W-IND^${options.queries}[${scheme.name}, ${adversary.name}]`, kind: 'distinguishing', play };
}
