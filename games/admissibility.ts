import type { Cost, CostMeasure } from '../src/kernel/cost/meter';
import { costValue } from '../src/kernel/cost/meter';
import { isAudited } from '../src/kernel/cost/audit';

/**
 * Definition 3.3 counts only adversaries that run with cost t < Cost(Run′, (pk, W′, x)). Whether
 * a trial's adversary was one of them:
 * - `admissible`: its metered cost is its whole cost (verified) and below Run′'s metered cost.
 *   Run′'s metered cost is at most its true cost, so this holds whatever Run′ hides.
 * - `inadmissible`: its metered cost — a lower bound on its true cost — already reaches Run′'s,
 *   and Run′'s cost is verified.
 * - `unverified`: the meter cannot decide — the adversary's cost is unverified and its metered
 *   part is below Run′'s, or Run′'s cost is unverified and the adversary's is not below it.
 *   Never counted as admissible.
 */
export type Admissibility = 'admissible' | 'inadmissible' | 'unverified';

/** Whose metered cost the experimenter vouches for (their own code): recorded in every trial. */
export type CostTrust = ReadonlyArray<'scheme' | 'adversary'>;

export interface CostSide {
  readonly cost: number;
  readonly verified: boolean;
}

/** t < Cost(Run′) as far as the meter can tell. */
export function admissibility(adversary: CostSide, runReleased: CostSide): Admissibility {
  if (adversary.cost < runReleased.cost) return adversary.verified ? 'admissible' : 'unverified';
  return runReleased.verified ? 'inadmissible' : 'unverified';
}

/** One side's metered cost, verified when the code is the library's own or the experimenter vouches for it. */
export const costSide = (cost: Cost, measure: CostMeasure, algorithm: object, trusted: boolean): CostSide => ({
  cost: costValue(cost, measure),
  // Wall time sees every instruction, so it needs no audit; FLOPs only see the kernels.
  verified: measure === 'wallMs' || trusted || isAudited(algorithm),
});
