import { pipe } from 'fp-ts/function';
import type { QInputEffiInfDetails } from './details';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { StatefulEffiInfAdversary } from '../src/kernel/adversary';
import { CostMeasure, addCost, zeroCost } from '../src/kernel/cost/meter';
import { algorithm } from '../src/kernel/prob/challenger';
import { Do, bind, call, chain, finish, metered } from './trial';
import { CostTrust, admissibility, costSide } from './admissibility';

export interface QInputEffiInfOptions<Y> {
  /** q: how many inputs the adversary answers. */
  readonly inputs: number;
  readonly same?: Same<Y>;
  readonly costMeasure?: CostMeasure;
  /** Code whose metered FLOPs you vouch for as its whole cost (see EffiInfOptions.trustCost). */
  readonly trustCost?: CostTrust;
}

/**
 * q-input EffiInf — this project's extension, not Definition 3.3 (which has one input). The
 * adversary prepares once from (pk, W′) and answers x_1..x_q. The game's output is whether every
 * answer is Same as Run′'s; admissibility (the cost restriction, as in Definition 3.3) is
 * whether its total cost, prepare + Σ answers, is below Σ_k Cost(Run′, (pk, W′, x_k)), recorded
 * apart from the output. The trial also reports the break-even: the smallest k ≤ q at which
 * all answers so far were Same and the cumulative cost was below Run′'s, or null.
 *
 *     W ←$ Train(D); (pk, sk) ←$ KGen(); W′ ←$ Release(sk, W)
 *     s ←$ A.prepare(pk, W′)
 *     for k = 1..q: x_k ←$ 𝒳; y′_k ←$ Run′(pk, W′, x_k); y*_k ←$ A.answer(s, x_k)
 *     return ∀k Same(y*_k, y′_k)          — admissible iff Cost(A) < Σ_k Cost(Run′, x_k)
 */
export function effiInfQInputGame<D, W, X, Y, PK, SK, R, S>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: StatefulEffiInfAdversary<PK, R, X, Y, S>,
  options: QInputEffiInfOptions<Y>,
): Game<QInputEffiInfDetails> {
  const q = options.inputs;
  if (!Number.isInteger(q) || q < 1) throw new RangeError(`q-input EffiInf needs q ≥ 1 inputs, got ${q}`);
  const same = options.same ?? scheme.same.outputs;
  const measure = options.costMeasure ?? 'flops';
  const trust = options.trustCost ?? [];
  const side = (cost: typeof zeroCost, who: 'adversary' | 'scheme') =>
    costSide(cost, measure, who === 'adversary' ? adversary : scheme, trust.includes(who));
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('prepared', ({ keys, released }) => metered('adversary', adversary.prepare(keys.pk, released), 'adversary/prepare')),
    chain(({ keys, released, prepared }) => (ctx) => {
      const [state, prepareCost] = prepared;
      let adversaryTotal = prepareCost;
      let runReleasedTotal = zeroCost;
      let allSame = true;
      let breakEven: number | null = null;
      let costBreakEven: number | null = null;
      let sameCount = 0;
      for (let k = 1; k <= q; k++) {
        const input = algorithm('input', scheme.sampleInput(data), `input/${k}`)(ctx)[0];
        const [reference, runCost] = algorithm('runReleased', scheme.runReleased(keys.pk, released, input), `runReleased/${k}`)(ctx);
        const [answer, answerCost] = algorithm('adversary', adversary.answer(state, input), `adversary/answer/${k}`)(ctx);
        const sameHere = same.test(answer, reference);
        if (sameHere) sameCount++;
        allSame = allSame && sameHere;
        adversaryTotal = addCost(adversaryTotal, answerCost);
        runReleasedTotal = addCost(runReleasedTotal, runCost);
        const admissibleSoFar = admissibility(side(adversaryTotal, 'adversary'), side(runReleasedTotal, 'scheme')) === 'admissible';
        if (breakEven === null && allSame && admissibleSoFar) breakEven = k;
        if (costBreakEven === null && admissibleSoFar) costBreakEven = k;
      }
      const adversarySide = side(adversaryTotal, 'adversary');
      const runReleasedSide = side(runReleasedTotal, 'scheme');
      return finish('effiinf-q', allSame, [], {
        scheme: scheme.name,
        adversary: adversary.name,
        inputs: q,
        allSame,
        admissibility: admissibility(adversarySide, runReleasedSide),
        costMeasure: measure,
        adversaryTotal: adversarySide.cost,
        adversaryCostVerified: adversarySide.verified,
        runReleasedTotal: runReleasedSide.cost,
        runReleasedCostVerified: runReleasedSide.verified,
        breakEven,
        costBreakEven,
        sameShare: sameCount / q,
      })(ctx);
    }),
  );
  return { name: `EffiInf×${q}[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
