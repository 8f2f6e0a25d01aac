import { Cost, addCost, isolatedMeter, withMeter } from '../cost/meter';
import type { ProbContext, Prob } from './prob';
import { Rng, streamRng } from './rng';

/**
 * The challenger's side of a trial: its address (seed, trial), the ledger of what each algorithm
 * cost and the notebook. Only games hold one. Every algorithm a game runs gets a fresh
 * `ProbContext` for its own stream (`algorithmContext`), never this object, so no scheme or
 * adversary code can read the seed or the trial or address another stream.
 *
 * It is also a `ProbContext` on the trial's root stream, so tests can run an algorithm directly
 * on a trial's coins; no game ever passes it to an algorithm.
 */
export interface TrialContext extends ProbContext {
  readonly seed: string;
  readonly trial: number;
  readonly ledger: CostLedger;
  readonly noteBook: Map<string, unknown>;
}

/** Cost per algorithm label, summed over the calls the trial made. */
export type CostLedger = Map<string, Cost>;

/** A fresh context for trial `trial` of seed `seed`. Internal: not part of the public exports. */
export function trialContext(seed: string, trial: number): TrialContext {
  const noteBook = new Map<string, unknown>();
  let root: Rng | undefined;
  return {
    seed,
    trial,
    // The root stream is made only if someone draws from it (games never do): seeding a stream costs.
    get rng(): Rng {
      return (root ??= streamRng({ seed, trial, label: '' }));
    },
    ledger: new Map(),
    noteBook,
    notes: noteWriter(noteBook),
  };
}

const noteWriter = (book: Map<string, unknown>) => Object.freeze({ write: (key: string, value: unknown): void => void book.set(key, value) });

/** What an algorithm run on stream `label` of this trial receives: its coins and a write-only notebook. Nothing else. */
export function algorithmContext(trial: TrialContext, label: string): ProbContext {
  return { rng: streamRng({ seed: trial.seed, trial: trial.trial, label }), notes: trial.notes };
}

/** Run `prob` on the trial's absolute stream `label` (the challenger's own draws, e.g. an audit). */
export const onStream = <A>(trial: TrialContext, label: string, prob: Prob<A>): A => prob(algorithmContext(trial, label));

/**
 * One algorithm call of a game: on stream `label`, metered, its cost added to the trial's
 * ledger under `label`. Returns the value and the cost of this call.
 */
export const algorithm = <A>(label: string, prob: Prob<A>, streamLabel: string = label) => (trial: TrialContext): [A, Cost] => {
  const [value, cost] = withMeter(() => prob(algorithmContext(trial, streamLabel)));
  record(trial.ledger, label, cost);
  return [value, cost];
};

/**
 * An oracle answering an adversary's query: `prob` runs on the challenger's stream `streamLabel`
 * under a meter of its own, its cost recorded once in the ledger under `label` and never passed
 * on to the adversary's meter — the oracle's work is the game's, not the adversary's.
 */
export const oracleCall = <A>(trial: TrialContext, label: string, prob: Prob<A>, streamLabel: string): A => {
  const [value, cost] = isolatedMeter(() => prob(algorithmContext(trial, streamLabel)));
  record(trial.ledger, label, cost);
  return value;
};

/** Add `cost` to the ledger under `label`. */
export function record(ledger: CostLedger, label: string, cost: Cost): void {
  const before = ledger.get(label);
  ledger.set(label, before === undefined ? cost : addCost(before, cost));
}

/**
 * The stream (seed, 0, label) outside any game: the library's own seeded generation of data and
 * checkpoints (synthetic models, datasets, calibration in the CLI). Internal.
 */
export const seededStream = <A>(seed: string, label: string, prob: Prob<A>): A => prob(algorithmContext(trialContext(seed, 0), label));
