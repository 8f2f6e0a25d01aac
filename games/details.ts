import type { Admissibility } from './admissibility';
import type { CostMeasure } from '../src/kernel/cost/meter';
import type { DetailValue } from '../src/kernel/game';

/**
 * Each game's per-trial figures (`TrialResult<D>['details']`), typed: `estimateAdvantage(game,
 * { keepTrials: true }).results` carries them, so code reading a trial's distance, hidden bit or
 * break-even q is checked by the compiler. Type aliases, not interfaces: each is a `Details`.
 */

/** Correctness: Same(Run′(pk, W′, x), Run(W, x)). */
export type CorrectnessDetails = {
  readonly scheme: string;
  readonly same: string;
  /** Dist(y′, y), the Same's own distance. */
  readonly distance: number;
};

/** WRec: Same(W*, W). */
export type WRecDetails = {
  readonly scheme: string;
  readonly adversary: string;
  readonly same: string;
  /** Dist(W*, W). */
  readonly distance: number;
};

/** The cost side of an EffiInf trial, as Definition 3.3 compares it. */
type EffiInfCosts = {
  readonly admissibility: Admissibility;
  readonly costMeasure: CostMeasure;
  readonly adversaryCostVerified: boolean;
  readonly runReleasedCostVerified: boolean;
};

/** EffiInf: Same(y*, y′), and t against Cost(Run′). */
export type EffiInfDetails = EffiInfCosts & {
  readonly scheme: string;
  readonly adversary: string;
  readonly same: string;
  readonly sameOutput: boolean;
  readonly adversaryCost: number;
  readonly runReleasedCost: number;
};

/** q-input EffiInf (this project's extension): all q answers Same, and when the adversary broke even. */
export type QInputEffiInfDetails = EffiInfCosts & {
  readonly scheme: string;
  readonly adversary: string;
  readonly inputs: number;
  readonly allSame: boolean;
  readonly adversaryTotal: number;
  readonly runReleasedTotal: number;
  /** The smallest k ≤ q after which every answer so far was Same and the adversary admissible (null: never). */
  readonly breakEven: number | null;
  /** The smallest k at which prepare + k answers cost less than k Run′s (null: never within q). */
  readonly costBreakEven: number | null;
  readonly sameShare: number;
};

/** W-IND: b′ = b. */
export type WindDetails = {
  readonly scheme: string;
  readonly adversary: string;
  readonly b: 0 | 1;
  readonly guess: 0 | 1;
  /** Train calls until W1 was not Same as W0. */
  readonly trainAttempts: number;
};

/** Multi-query WRec (Release oracle). */
export type WRecMultiQueryDetails = {
  readonly scheme: string;
  readonly adversary: string;
  readonly queries: number;
  readonly budget: number;
  readonly distance: number;
};

/** Multi-query W-IND. */
export type WindMultiQueryDetails = {
  readonly scheme: string;
  readonly adversary: string;
  readonly b: 0 | 1;
  readonly guess: 0 | 1;
  readonly queries: number;
  readonly budget: number;
};

/** WRec with API access only; `report`'s extra figures join these (`WRecApiOptions.report`). */
export type WRecApiDetails = WRecDetails & {
  readonly queries: number;
  readonly budget: number;
  readonly inputsDrawn: number;
  readonly oracleFlops: number;
} & Readonly<Record<string, DetailValue>>;

/** EffiInf with a Run′ oracle charged to the adversary (distillation). */
export type EffiInfApiDetails = EffiInfCosts & {
  readonly scheme: string;
  readonly adversary: string;
  readonly inputs: number;
  readonly queries: number;
  readonly budget: number;
  readonly inputsDrawn: number;
  readonly allSame: boolean;
  readonly sameShare: number;
  /** Dist(y*, y′) of the worst answer, so other thresholds δ can be read off the same trials. */
  readonly maxDistance: number;
  readonly adversaryTotal: number;
  readonly runReleasedTotal: number;
  readonly prepareFlops: number;
  readonly oracleFlops: number;
  readonly answerFlops: number;
  readonly runReleasedFlops: number;
  readonly breakEven: number | null;
  readonly costBreakEven: number | null;
};
