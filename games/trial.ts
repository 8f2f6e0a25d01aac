import { AssumptionOutcome, TrialResult } from '../src/game';
import type { Assumption } from '../src/adversary';
import * as P from '../src/prob/prob';
import type { Cost } from '../src/cost/meter';

/** The value of one algorithm call, its cost recorded in the trial's ledger under `label`. */
export const call = <A>(label: string, prob: P.Prob<A>): P.Prob<A> => P.map(([value]: [A, Cost]) => value)(P.algorithm(label, prob));

/** Close a trial: the win bit, the ledger of costs, assumption outcomes and details. */
export const finish = (
  game: string,
  win: boolean,
  assumptions: readonly AssumptionOutcome[],
  details: TrialResult['details'],
): P.Prob<TrialResult> => (ctx) => ({
  game,
  seed: ctx.seed,
  trial: ctx.trial,
  win,
  costs: Object.fromEntries([...ctx.ledger.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  assumptions,
  details,
});

/** Check each assumption against the trial's view. */
export const checkAssumptions = <V>(assumptions: ReadonlyArray<Assumption<V>> | undefined, view: V): AssumptionOutcome[] =>
  (assumptions ?? []).map((a) => ({ name: a.name, statement: a.statement, held: a.check(view) }));

/** An adversary broke the rules of its game (e.g. queried an oracle past its budget). */
export class GameRuleError extends Error {
  override readonly name: string = 'GameRuleError';
}

/** The oracle's query budget is spent: the adversary gets this error, never an answer. */
export class QueryBudgetExceededError extends GameRuleError {
  override readonly name = 'QueryBudgetExceededError';
  constructor(readonly oracle: string, readonly budget: number) {
    super(`${oracle} oracle: query budget of ${budget} exhausted; no answer is given past the budget`);
  }
}

/** W-IND could not train two weights that are not Same within the retraining bound. */
export class IndistinctTrainingError extends Error {
  override readonly name = 'IndistinctTrainingError';
  constructor(readonly attempts: number, readonly same: string) {
    super(
      `W-IND: Train(D) gave weights Same as W0 (${same}) on all ${attempts} attempts; ` +
        'the game needs ¬Same(W0, W1) — Train is (nearly) deterministic or Same is too coarse',
    );
  }
}
