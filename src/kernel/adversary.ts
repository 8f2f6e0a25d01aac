import type { Cost } from './cost/meter';
import type { Prob } from './prob/prob';

/**
 * An assumption a (reduction) adversary needs, checked by the game after each trial with
 * everything the trial knows (including its secrets), and reported per trial.
 */
export interface Assumption<View> {
  readonly name: string;
  /** The assumption in words, as a proof would state it. */
  readonly statement: string;
  readonly check: (view: View) => boolean;
}

/** WRec: W* ←$ A(pk, W′). */
export interface WRecAdversary<PK, R, W> {
  readonly name: string;
  readonly recover: (pk: PK, released: R) => Prob<W>;
}

/** EffiInf: y* ←$ A(pk, W′, x). */
export interface EffiInfAdversary<PK, R, X, Y, W = unknown> {
  readonly name: string;
  readonly infer: (pk: PK, released: R, input: X) => Prob<Y>;
  readonly assumptions?: ReadonlyArray<Assumption<EffiInfView<W, PK, R, X, Y>>>;
}

/**
 * An EffiInf adversary that answers many inputs: it prepares once (e.g. recovers W) and then
 * answers each input. Its cost over q inputs is prepare + q answers (q-input EffiInf).
 */
export interface StatefulEffiInfAdversary<PK, R, X, Y, S> {
  readonly name: string;
  readonly prepare: (pk: PK, released: R) => Prob<S>;
  readonly answer: (state: S, input: X) => Prob<Y>;
}

/** W-IND: b′ ←$ A(pk, W0, W1, W′). */
export interface WindAdversary<PK, W, R> {
  readonly name: string;
  readonly distinguish: (pk: PK, w0: W, w1: W, released: R) => Prob<0 | 1>;
  readonly assumptions?: ReadonlyArray<Assumption<WindView<W, PK, R>>>;
}

/** What an EffiInf trial knows, for checking assumptions. */
export interface EffiInfView<W, PK, R, X, Y> {
  readonly weights: W;
  readonly pk: PK;
  readonly released: R;
  readonly input: X;
  /** y* — the adversary's answer. */
  readonly answer: Y;
  /** y′ = Run′(pk, W′, x). */
  readonly reference: Y;
  /** Run(W, x), computed by the game for audits only (not charged to anyone). */
  readonly originalOutput: () => Y;
  /** Run(W̃, x) for any weights W̃ (e.g. the W* a reduction recovered), computed by the game for audits only (not charged to anyone). */
  // Method syntax (bivariant parameter): an adversary typed with W = unknown still fits a game of any W.
  runOn(weights: W): Y;
  readonly adversaryCost: Cost;
  readonly runReleasedCost: Cost;
  readonly costMeasure: 'flops' | 'wallMs';
  /** Is the adversary's metered cost its whole cost (library code, or vouched for by the experimenter)? */
  readonly adversaryCostVerified: boolean;
  readonly notes: ReadonlyMap<string, unknown>;
}

/** What a W-IND trial knows, for checking assumptions. */
export interface WindView<W, PK, R> {
  readonly b: 0 | 1;
  readonly w0: W;
  readonly w1: W;
  readonly pk: PK;
  readonly released: R;
  readonly guess: 0 | 1;
  readonly notes: ReadonlyMap<string, unknown>;
}

/** The Release oracle of multi-query games: each call is a fresh Release(sk, W); at most `budget` calls. */
export interface ReleaseOracle<R> {
  readonly budget: number;
  readonly query: () => Prob<R>;
}

/** Multi-query WRec: W* ←$ A^{Release(sk, W)}(pk). */
export interface MultiQueryWRecAdversary<PK, R, W> {
  readonly name: string;
  readonly recover: (pk: PK, oracle: ReleaseOracle<R>) => Prob<W>;
}

/** Multi-query W-IND: each query returns a fresh (W0, W1, Release(sk, W_b)) for the one hidden b. */
export interface WindOracle<W, R> {
  readonly budget: number;
  readonly query: () => Prob<{ readonly w0: W; readonly w1: W; readonly released: R }>;
}

export interface MultiQueryWindAdversary<PK, W, R> {
  readonly name: string;
  readonly distinguish: (pk: PK, oracle: WindOracle<W, R>) => Prob<0 | 1>;
}

/**
 * API access (the paper's Figure 1, b1): Run′(pk, W′, ·) behind an interface, at most `budget`
 * queries. The oracle holds the trial in its closure; the adversary gets only these functions.
 */
export interface RunReleasedOracle<X, Y> {
  readonly budget: number;
  /** y′ = Run′(pk, W′, x). Past the budget it throws `QueryBudgetExceededError` and answers nothing. */
  readonly query: (input: X) => Prob<Y>;
  /**
   * x ←$ 𝒳: a fresh input from the task's input distribution, drawn by the challenger on a stream
   * of its own — the inputs an API user has, never D itself. Not a query of Run′; counted apart.
   */
  readonly sampleInput: () => Prob<X>;
}

/** WRec with API access only: W* ←$ A^{Run′(pk, W′, ·)}(pk) — no W′, only queries. */
export interface ApiWRecAdversary<PK, X, Y, W> {
  readonly name: string;
  readonly recover: (pk: PK, oracle: RunReleasedOracle<X, Y>) => Prob<W>;
}

/**
 * q-input EffiInf for an adversary that uses Run′ as a labelling oracle (distillation): it holds
 * W′ as in EffiInf, and its queries of Run′(pk, W′, ·) are its own work — charged to it.
 */
export interface ApiEffiInfAdversary<PK, R, X, Y, S> {
  readonly name: string;
  readonly prepare: (pk: PK, released: R, oracle: RunReleasedOracle<X, Y>) => Prob<S>;
  readonly answer: (state: S, input: X) => Prob<Y>;
}
