import { pipe } from 'fp-ts/function';
import type { EffiInfDetails } from './details';
import type { Game } from '../src/kernel/game';
import type { WeightReleaseScheme } from '../src/kernel/scheme';
import type { Same } from '../src/kernel/same';
import type { EffiInfAdversary, EffiInfView } from '../src/kernel/adversary';
import { CostMeasure, costValue, isolatedMeter } from '../src/kernel/cost/meter';
import { onStream } from '../src/kernel/prob/challenger';
import { Do, bind, call, chain, checkAssumptions, finish, metered } from './trial';
import { CostTrust, admissibility, costSide } from './admissibility';

export interface EffiInfOptions<Y> {
  /** Same on outputs; the scheme's default when absent. */
  readonly same?: Same<Y>;
  /**
   * What "cost" means in t < Cost(Run′, (pk, W′, x)): FLOPs counted by the kernels (default:
   * exact and reproducible) or wall-clock milliseconds (real, but noisy and machine-dependent).
   */
  readonly costMeasure?: CostMeasure;
  /**
   * Code whose metered FLOPs you, the experimenter, vouch for as its whole cost (your own scheme
   * or adversary, written over the metered kernels). The library's own code needs no vouching.
   */
  readonly trustCost?: CostTrust;
}

/**
 * Game_EffiInf(D, A) (Definition 3.3). Adv^EffiInf_Σ(D, A) = Pr[Game ⇒ 1].
 *
 *     W  ←$ Train(D)
 *     (pk, sk) ←$ KGen()
 *     W′ ←$ Release(sk, W)
 *     x  ←$ 𝒳
 *     y′ ←$ Run′(pk, W′, x)
 *     y* ←$ A(pk, W′, x)
 *     return Same(y*, y′)
 *
 * Definition 3.3 quantifies over adversaries with cost t < Cost(Run′, (pk, W′, x)); that is a
 * restriction on A, not part of the game's output. Each trial records both: the win bit
 * Same(y*, y′) and whether A was admissible on it (`details.admissibility`: admissible,
 * inadmissible, or unverified when the meter cannot see all of A's work). `estimateAdvantage`
 * reports Pr[Same] and the admissibility counts separately.
 */
export function effiInfGame<D, W, X, Y, PK, SK, R>(
  scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
  data: D,
  adversary: EffiInfAdversary<PK, R, X, Y, W>,
  options: EffiInfOptions<Y> = {},
): Game<EffiInfDetails> {
  const same = options.same ?? scheme.same.outputs;
  const costMeasure = options.costMeasure ?? 'flops';
  const trust = options.trustCost ?? [];
  const play = pipe(
    Do,
    bind('weights', () => call('train', scheme.train(data))),
    bind('keys', () => call('kgen', scheme.kgen())),
    bind('released', ({ keys, weights }) => call('release', scheme.release(keys.sk, weights))),
    bind('input', () => call('input', scheme.sampleInput(data))),
    bind('reference', ({ keys, released, input }) => metered('runReleased', scheme.runReleased(keys.pk, released, input))),
    bind('answer', ({ keys, released, input }) => metered('adversary', adversary.infer(keys.pk, released, input))),
    chain((s) => (ctx) => {
      const [reference, runReleasedCost] = s.reference;
      const [answer, adversaryCost] = s.answer;
      const sameOutput = same.test(answer, reference);
      const adversarySide = costSide(adversaryCost, costMeasure, adversary, trust.includes('adversary'));
      const runReleasedSide = costSide(runReleasedCost, costMeasure, scheme, trust.includes('scheme'));
      let original: Y | undefined;
      const view: EffiInfView<W, PK, R, X, Y> = {
        weights: s.weights,
        pk: s.keys.pk,
        released: s.released,
        input: s.input,
        answer,
        reference,
        // An audit: computed only if an assumption asks, on its own stream, charged to no one.
        originalOutput: () => (original ??= isolatedMeter(() => onStream(ctx, 'audit/run', scheme.run(s.weights, s.input)))[0]),
        runOn: (weights) => isolatedMeter(() => onStream(ctx, 'audit/run-other', scheme.run(weights, s.input)))[0],
        adversaryCost,
        runReleasedCost,
        costMeasure,
        adversaryCostVerified: adversarySide.verified,
        notes: ctx.noteBook,
      };
      const assumptions = checkAssumptions(adversary.assumptions, view);
      return finish('effiinf', sameOutput, assumptions, {
        scheme: scheme.name,
        adversary: adversary.name,
        same: same.name,
        sameOutput,
        admissibility: admissibility(adversarySide, runReleasedSide),
        costMeasure,
        adversaryCost: costValue(adversaryCost, costMeasure),
        adversaryCostVerified: adversarySide.verified,
        runReleasedCost: costValue(runReleasedCost, costMeasure),
        runReleasedCostVerified: runReleasedSide.verified,
      })(ctx);
    }),
  );
  return { name: `EffiInf[${scheme.name}, ${adversary.name}]`, kind: 'probability', play };
}
