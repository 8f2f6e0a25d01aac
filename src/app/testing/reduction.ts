import fc from 'fast-check';
import type { Game, TrialResult } from '../../kernel/game';
import type { WeightReleaseScheme } from '../../kernel/scheme';
import type { EffiInfAdversary, WRecAdversary, WindAdversary } from '../../kernel/adversary';
import { effiInfFromWRec, windFromWRec } from '../../kernel/reductions';
import { trialContext } from '../../kernel/prob/challenger';
import { AdvantageEstimate, summarize } from '../../kernel/estimate/estimate';
import { wrecGame } from '../../../games/wrec';
import { effiInfGame } from '../../../games/effiInf';
import type { CostTrust } from '../../../games/admissibility';
import { windGame } from '../../../games/wind';

export type ReductionTarget = 'effiinf' | 'wind';

export interface ReductionCheckConfig<D, W, X, Y, PK, SK, R> {
  readonly scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>;
  readonly data: D;
  /** A, the WRec adversary the reduction is built from. */
  readonly adversary: WRecAdversary<PK, R, W>;
  readonly target: ReductionTarget;
  /** The reduction under test; the library's B_A when absent. Pass your own (or a broken one) to test it. */
  readonly build?: (
    scheme: WeightReleaseScheme<D, W, X, Y, PK, SK, R>,
    adversary: WRecAdversary<PK, R, W>,
  ) => EffiInfAdversary<PK, R, X, Y, W> | WindAdversary<PK, W, R>;
  /**
   * When A wins but one of B_A's stated assumptions fails, the reduction promises nothing:
   * with `requireAssumptions` (default true) that is reported as a failure, so a scheme that
   * violates an assumption (e.g. the cost condition) fails the check visibly.
   */
  readonly requireAssumptions?: boolean;
  /** Whose metered cost you vouch for in the EffiInf game (e.g. your own adversary, written over the metered kernels). */
  readonly trustCost?: CostTrust;
}

export interface ReductionFailure {
  readonly trial: number;
  readonly kind: 'implication' | 'assumption' | 'coupling' | 'advantage';
  readonly message: string;
}

export interface ReductionReport {
  readonly trials: number;
  readonly wrec: AdvantageEstimate;
  readonly reduced: AdvantageEstimate;
  readonly failures: readonly ReductionFailure[];
  readonly ok: boolean;
}

function games<D, W, X, Y, PK, SK, R>(config: ReductionCheckConfig<D, W, X, Y, PK, SK, R>): { wrec: Game; reduced: Game } {
  const wrec = wrecGame(config.scheme, config.data, config.adversary);
  if (config.target === 'effiinf') {
    const b = (config.build ?? effiInfFromWRec)(config.scheme, config.adversary) as EffiInfAdversary<PK, R, X, Y, W>;
    return { wrec, reduced: effiInfGame(config.scheme, config.data, b, { trustCost: config.trustCost ?? [] }) };
  }
  const b = (config.build ?? windFromWRec)(config.scheme, config.adversary) as WindAdversary<PK, W, R>;
  return { wrec, reduced: windGame(config.scheme, config.data, b) };
}

/**
 * The per-trial obligations of a reduction on one coupled trial (same seed and trial index in
 * both games, so Train, KGen and Release — and A's own draws — are identical):
 * - EffiInf: A wins WRec ⇒ (its assumptions hold ⇒) B_A wins EffiInf.
 * - W-IND: on trials with b = 0 (W′ is then the very release A attacked in WRec), A wins WRec ⇒
 *   B_A wins; on every trial, B_A's in-trial assumptions (A valid on W_b, ¬Same(W*, W_{1−b}))
 *   all holding ⇒ B_A wins.
 */
export function reductionTrialFailures(wrecResult: TrialResult, reducedResult: TrialResult, target: ReductionTarget, requireAssumptions: boolean): ReductionFailure[] {
  const trial = wrecResult.trial;
  const failures: ReductionFailure[] = [];
  const violated = reducedResult.assumptions.filter((a) => !a.held);
  const coupled = target === 'effiinf' || reducedResult.details.b === 0;
  if (coupled && wrecResult.win) {
    const valid = reducedResult.assumptions.find((a) => a.name === 'A valid');
    if (valid !== undefined && !valid.held) {
      failures.push({ trial, kind: 'coupling', message: `A won WRec on trial ${trial} but did not recover the weights inside B_A: the reduction changed A's inputs or randomness` });
    } else if (violated.length > 0) {
      if (requireAssumptions) {
        failures.push({ trial, kind: 'assumption', message: `A won WRec on trial ${trial} but B_A's assumption(s) failed: ${violated.map((a) => `${a.name} (${a.statement})`).join('; ')}` });
      }
    } else if (!reducedResult.win) {
      failures.push({ trial, kind: 'implication', message: `A won WRec on trial ${trial} but B_A lost ${target === 'effiinf' ? 'EffiInf' : 'W-IND'}` });
    }
  }
  if (target === 'wind' && !reducedResult.win && reducedResult.assumptions.length > 0 && violated.length === 0) {
    failures.push({ trial, kind: 'implication', message: `B_A's assumptions all held on W-IND trial ${trial} (b = ${reducedResult.details.b}) but it lost` });
  }
  return failures;
}

/** Play one coupled trial of both games and return the reduction's failures on it. */
export function checkReductionTrial<D, W, X, Y, PK, SK, R>(config: ReductionCheckConfig<D, W, X, Y, PK, SK, R>, seed: string, trial: number): ReductionFailure[] {
  const { wrec, reduced } = games(config);
  return reductionTrialFailures(wrec.play(trialContext(seed, trial)), reduced.play(trialContext(seed, trial)), config.target, config.requireAssumptions ?? true);
}

/**
 * Check a reduction on `trials` coupled trials: every per-trial obligation, and
 * Adv_WRec(A) ≤ Adv(B_A) within the intervals (the WRec interval's lower end is at most the
 * reduction's upper end).
 */
export function checkReduction<D, W, X, Y, PK, SK, R>(
  config: ReductionCheckConfig<D, W, X, Y, PK, SK, R>,
  options: { readonly trials: number; readonly seed: string | number; readonly confidence?: number },
): ReductionReport {
  const seed = String(options.seed);
  const confidence = options.confidence ?? 0.95;
  const { wrec, reduced } = games(config);
  const wrecResults: TrialResult[] = [];
  const reducedResults: TrialResult[] = [];
  const failures: ReductionFailure[] = [];
  for (let trial = 0; trial < options.trials; trial++) {
    const a = wrec.play(trialContext(seed, trial));
    const b = reduced.play(trialContext(seed, trial));
    wrecResults.push(a);
    reducedResults.push(b);
    failures.push(...reductionTrialFailures(a, b, config.target, config.requireAssumptions ?? true));
  }
  const summaryOptions = { seed, confidence, method: 'clopper-pearson' as const, firstTrial: 0, stoppedEarly: false, keepTrials: false };
  const wrecEstimate = summarize(wrec, wrecResults, summaryOptions);
  const reducedEstimate = summarize(reduced, reducedResults, summaryOptions);
  if (wrecEstimate.interval.lower > reducedEstimate.interval.upper) {
    failures.push({
      trial: -1,
      kind: 'advantage',
      message: `Adv_WRec(A) ∈ [${wrecEstimate.interval.lower.toFixed(4)}, ${wrecEstimate.interval.upper.toFixed(4)}] exceeds Adv(B_A) ∈ [${reducedEstimate.interval.lower.toFixed(4)}, ${reducedEstimate.interval.upper.toFixed(4)}]`,
    });
  }
  return { trials: options.trials, wrec: wrecEstimate, reduced: reducedEstimate, failures, ok: failures.length === 0 };
}

/**
 * The reduction as a fast-check property over (seed, trial): use it as
 * `fc.assert(reductionProperty({ scheme, data, adversary, target: 'effiinf' }))`.
 */
export function reductionProperty<D, W, X, Y, PK, SK, R>(config: ReductionCheckConfig<D, W, X, Y, PK, SK, R>) {
  return fc.property(fc.string({ maxLength: 12 }), fc.nat({ max: 1_000_000 }), (seed, trial) => {
    const failures = checkReductionTrial(config, seed, trial);
    if (failures.length > 0) throw new Error(failures.map((f) => f.message).join('\n'));
  });
}
