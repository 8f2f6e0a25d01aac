import type { Reader } from 'fp-ts/Reader';
import * as R from 'fp-ts/Reader';
import type { AssumptionOutcome, Details, TrialResult } from '../src/kernel/game';
import type { Assumption } from '../src/kernel/adversary';
import type * as P from '../src/kernel/prob/prob';
import type { Cost } from '../src/kernel/cost/meter';
import { TrialContext, algorithm } from '../src/kernel/prob/challenger';
import { WeightgamesError } from '../src/kernel/errors';

/** One step of a game: a Reader over the challenger's trial context (never given to an algorithm). */
export type Step<A> = Reader<TrialContext, A>;

/** Do-notation for games, so each line of code is a line of the paper's box. */
export const Do: Step<{}> = R.of({});
export const bind = R.bind;
export const chain = R.chain;

/** The value of one algorithm call, its cost recorded in the trial's ledger under `label`. */
export const call = <A>(label: string, prob: P.Prob<A>): Step<A> => (trial) => algorithm(label, prob)(trial)[0];

/** One algorithm call with its cost. */
export const metered = <A>(label: string, prob: P.Prob<A>, streamLabel: string = label): Step<[A, Cost]> => algorithm(label, prob, streamLabel);

/** Close a trial: the win bit, the ledger of costs, assumption outcomes and details. */
export const finish = <D extends Details>(
  game: string,
  win: boolean,
  assumptions: readonly AssumptionOutcome[],
  details: D,
): Step<TrialResult<D>> => (ctx) => ({
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
export class GameRuleError extends WeightgamesError {
  override readonly name: string = 'GameRuleError';
  readonly kind = 'fault' as const;
}

/** The oracle's query budget is spent: the adversary gets this error, never an answer. */
export class QueryBudgetExceededError extends GameRuleError {
  override readonly name = 'QueryBudgetExceededError';
  constructor(readonly oracle: string, readonly budget: number) {
    super(`${oracle} oracle: query budget of ${budget} exhausted; no answer is given past the budget`);
  }
}

/** W-IND could not train two weights that are not Same within the retraining bound. */
export class IndistinctTrainingError extends WeightgamesError {
  override readonly name = 'IndistinctTrainingError';
  readonly kind = 'input' as const;
  constructor(readonly attempts: number, readonly same: string) {
    super(
      `W-IND: Train(D) gave weights Same as W0 (${same}) on all ${attempts} attempts; ` +
        'the game needs ¬Same(W0, W1) — Train is (nearly) deterministic or Same is too coarse',
    );
  }
}
