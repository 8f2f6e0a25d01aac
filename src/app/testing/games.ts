import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import * as P from '../../kernel/prob/prob';
import type { Game, TrialResult } from '../../kernel/game';
import { TrialContext, onStream } from '../../kernel/prob/challenger';

/**
 * A game that outputs 1 with probability p, drawn on its own stream: the reference game for
 * testing estimators (its true advantage is known exactly).
 */
export function bernoulliGame(p: number, kind: Game['kind'] = 'probability'): Game {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulliGame needs p in [0, 1], got ${p}`);
  const play = (ctx: TrialContext): TrialResult => {
    const win = onStream(ctx, 'coin', P.bernoulli(p));
    return { game: 'bernoulli', seed: ctx.seed, trial: ctx.trial, win, costs: {}, assumptions: [], details: { p } };
  };
  return { name: `Bernoulli(${p})`, kind, play, ref: { module: __filename, exportName: 'bernoulliGameFromArgs', args: { p, kind } } };
}

const BernoulliArgs = t.type({ p: t.number, kind: t.keyof({ probability: null, distinguishing: null }) });

/** Worker-thread entry: rebuild a Bernoulli game from its JSON arguments. */
export function bernoulliGameFromArgs(args: unknown): Game {
  const decoded = BernoulliArgs.decode(args);
  if (isLeft(decoded)) throw new TypeError('bernoulliGameFromArgs: expected { p: number, kind }');
  return bernoulliGame(decoded.right.p, decoded.right.kind);
}
