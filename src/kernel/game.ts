import type { Cost } from './cost/meter';
import type { TrialContext } from './prob/challenger';

/** Did an assumption hold on this trial? */
export interface AssumptionOutcome {
  readonly name: string;
  readonly statement: string;
  readonly held: boolean;
}

/** A value a trial reports beside its bit: plain data, so it crosses worker threads unchanged. */
export type DetailValue = number | string | boolean | null;

/** A game's per-trial figures. Each game names its own (games/details.ts): distances, the hidden bit, break-even q, … */
export type Details = Readonly<Record<string, DetailValue>>;

/** One play of a game. Plain data, so it crosses worker threads unchanged. */
export interface TrialResult<D extends Details = Details> {
  readonly game: string;
  readonly seed: string;
  readonly trial: number;
  /** The game's output bit (Game ⇒ 1). */
  readonly win: boolean;
  /** Cost of every algorithm the trial ran, by label (train, kgen, release, run, runReleased, adversary, …). */
  readonly costs: Readonly<Record<string, Cost>>;
  readonly assumptions: readonly AssumptionOutcome[];
  /** Game-specific figures (distances, the hidden bit, break-even q, …). */
  readonly details: D;
}

/**
 * How the advantage follows from Pr[Game ⇒ 1]: `probability` (Adv = p: Correctness, WRec,
 * EffiInf) or `distinguishing` (Adv = 2|p − ½|: W-IND).
 */
export type AdvantageKind = 'probability' | 'distinguishing';

/** Where a worker thread can rebuild a game: `require(module)[exportName](args)` returns it. */
export interface GameRef {
  readonly module: string;
  readonly exportName: string;
  readonly args?: unknown;
}

export interface Game<D extends Details = Details> {
  readonly name: string;
  readonly kind: AdvantageKind;
  /**
   * One trial, played by the challenger on the trial's context; every algorithm it runs gets
   * only its own stream's coins. Its randomness comes only from the trial's streams.
   */
  readonly play: (trial: TrialContext) => TrialResult<D>;
  /** Needed to run on worker threads (closures cannot cross threads). */
  readonly ref?: GameRef;
}

/** Attach a worker-thread reference to a game. */
export const withRef = <D extends Details>(game: Game<D>, ref: GameRef): Game<D> => ({ ...game, ref });
