import { pipe } from 'fp-ts/function';
import * as P from '../src/prob/prob';
import type { Game } from '../src/game';
import type { WeightReleaseScheme } from '../src/scheme';
import type { Same } from '../src/same';
import type { StatefulEffiInfAdversary } from '../src/adversary';
import { CostMeasure, costValue } from '../src/cost/meter';
import { call, finish } from './trial';

export interface QInputEffiInfOptions<Y> {
  /** q: how many inputs the adversary answers. */
  readonly inputs: number;
  readonly same?: Same<Y>;
  readonly costMeasure?: CostMeasure;
}

/**
 * q-input EffiInf: the adversary prepares once from (pk, W′) and answers x_1..x_q; it wins at q
 * if every answer is Same as Run′'s and its total cost, prepare + Σ answers, is below Σ_k
 * Cost(Run′, (pk, W′, x_k)). The trial reports the break-even: the smallest k ≤ q at which it
 * would have won (all answers so far Same, cumulative cost below), or null.
 *
 *     W ←$ Train(D); (pk, sk) ←$ KGen(); W′ ←$ Release(sk, W)
 *     s ←$ A.prepare(pk, W′)
 *     for k = 1..q: x_k ←$ 𝒳; y′_k ←$ Run′(pk, W′, x_k); y*_k ←$ A.answer(s, x_k)
 *     return ∀k Same(y*_k, y′_k) ∧ Cost(A) < Σ_k Cost(Run′, x_k)
 */
export function effiInfQInputGame<D, W, X, Y, PK, SK, R, S>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: StatefulEffiInfAdversary<PK, R, X, Y, S>,
  options: QInputEffiInfOptions<Y>,
): Game {
  const q = options.inputs;
  if (!Number.isInteger(q) || q < 1) throw new RangeError(`q-input EffiInf needs q ≥ 1 inputs, got ${q}`);
  const same = options.same ?? scheme.same.outputs;
  const measure = options.costMeasure ?? 'flops';
  const play = pipe(
    P.Do,
    P.bind('weights', () => call('train', scheme.train(data))),
    P.bind('keys', () => call('kgen', scheme.kgen())),
    P.bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    P.bind('prepared', ({ keys, released }) => P.algorithm('adversary', adversary.prepare(keys.pk, released), 'adversary/prepare')),
    P.chain(({ keys, released, prepared }) => (ctx) => {
      const [state, prepareCost] = prepared;
      let adversaryTotal = costValue(prepareCost, measure);
      let runReleasedTotal = 0;
      let allSame = true;
      let breakEven: number | null = null;
      let costBreakEven: number | null = null;
      let sameCount = 0;
      for (let k = 1; k <= q; k++) {
        const input = P.algorithm('input', scheme.sampleInput(data), `input/${k}`)(ctx)[0];
        const [reference, runCost] = P.algorithm('runReleased', scheme.runReleased(keys.pk, released, input), `runReleased/${k}`)(ctx);
        const [answer, answerCost] = P.algorithm('adversary', adversary.answer(state, input), `adversary/answer/${k}`)(ctx);
        const sameHere = same.test(answer, reference);
        if (sameHere) sameCount++;
        allSame = allSame && sameHere;
        adversaryTotal += costValue(answerCost, measure);
        runReleasedTotal += costValue(runCost, measure);
        if (breakEven === null && allSame && adversaryTotal < runReleasedTotal) breakEven = k;
        if (costBreakEven === null && adversaryTotal < runReleasedTotal) costBreakEven = k;
      }
      return finish('effiinf-q', allSame && adversaryTotal < runReleasedTotal, [], {
        scheme: scheme.name,
        adversary: adversary.name,
        inputs: q,
        allSame,
        costMeasure: measure,
        adversaryTotal,
        runReleasedTotal,
        breakEven,
        costBreakEven,
        sameShare: sameCount / q,
      })(ctx);
    }),
  );
  return { name: `EffiInf×${q}[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
