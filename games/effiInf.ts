import { pipe } from 'fp-ts/function';
import * as P from '../src/prob/prob';
import type { Game } from '../src/game';
import type { WeightReleaseScheme } from '../src/scheme';
import type { Same } from '../src/same';
import type { EffiInfAdversary, EffiInfView } from '../src/adversary';
import { CostMeasure, costValue, unmetered } from '../src/cost/meter';
import { call, checkAssumptions, finish } from './trial';

export interface EffiInfOptions<Y> {
  /** Same on outputs; the scheme's default when absent. */
  readonly same?: Same<Y>;
  /**
   * What "cost" means in t < Cost(Run′, (pk, W′, x)): FLOPs counted by the kernels (default:
   * exact and reproducible) or wall-clock milliseconds (real, but noisy and machine-dependent).
   */
  readonly costMeasure?: CostMeasure;
}

/**
 * Game_EffiInf(D, A) (Definition 3.3). A wins only if its answer is Same as Run′'s *and* its
 * metered cost t is below Cost(Run′, (pk, W′, x)) on that input.
 *
 *     W  ←$ Train(D)
 *     (pk, sk) ←$ KGen()
 *     W′ ←$ Release(sk, W)
 *     x  ←$ 𝒳
 *     y′ ←$ Run′(pk, W′, x)
 *     y* ←$ A(pk, W′, x)
 *     return Same(y*, y′) ∧ t < Cost(Run′, (pk, W′, x))
 */
export function effiInfGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: EffiInfAdversary<PK, R, X, Y, W>,
  options: EffiInfOptions<Y> = {},
): Game {
  const same = options.same ?? scheme.same.outputs;
  const costMeasure = options.costMeasure ?? 'flops';
  const play = pipe(
    P.Do,
    P.bind('weights', () => call('train', scheme.train(data))),
    P.bind('keys', () => call('kgen', scheme.kgen())),
    P.bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    P.bind('input', () => call('input', scheme.sampleInput(data))),
    P.bind('reference', ({ keys, released, input }) => P.algorithm('runReleased', scheme.runReleased(keys.pk, released, input))),
    P.bind('answer', ({ keys, released, input }) => P.algorithm('adversary', adversary.infer(keys.pk, released, input))),
    P.chain((s) => (ctx) => {
      const [reference, runReleasedCost] = s.reference;
      const [answer, adversaryCost] = s.answer;
      const sameOutput = same.test(answer, reference);
      const cheaper = costValue(adversaryCost, costMeasure) < costValue(runReleasedCost, costMeasure);
      let original: Y | undefined;
      const view: EffiInfView<W, PK, R, X, Y> = {
        weights: s.weights,
        pk: s.keys.pk,
        released: s.released,
        input: s.input,
        answer,
        reference,
        // An audit: computed only if an assumption asks, on its own stream, charged to no one.
        originalOutput: () => (original ??= unmetered(() => P.streamAt('audit/run', scheme.run(s.weights, s.input))(ctx))),
        adversaryCost,
        runReleasedCost,
        costMeasure,
        notes: ctx.notes,
      };
      const assumptions = checkAssumptions(adversary.assumptions, view);
      return finish('effiinf', sameOutput && cheaper, assumptions, {
        scheme: scheme.name,
        adversary: adversary.name,
        same: same.name,
        sameOutput,
        cheaper,
        costMeasure,
        adversaryCost: costValue(adversaryCost, costMeasure),
        runReleasedCost: costValue(runReleasedCost, costMeasure),
      })(ctx);
    }),
  );
  return { name: `EffiInf[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
