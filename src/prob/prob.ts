import type { Monad1 } from 'fp-ts/Monad';
import { bind as chainBind } from 'fp-ts/Chain';
import { bindTo as functorBindTo, let as functorLet } from 'fp-ts/Functor';
import type { Reader } from 'fp-ts/Reader';
import { Cost, addCost, isolatedMeter, withMeter } from '../cost/meter';
import { Rng, streamRng } from './rng';

/**
 * What a probabilistic algorithm reads: the trial's address, the generator of its current
 * stream, a ledger of costs per algorithm and a notebook for values an adversary wants the
 * game to see (e.g. the weights a reduction recovered on the way).
 */
export interface ProbContext {
  readonly seed: string;
  readonly trial: number;
  /** The current stream's label, e.g. `train`, `adversary`, `train/twin/1`. */
  readonly label: string;
  readonly rng: Rng;
  readonly ledger: CostLedger;
  readonly notes: Map<string, unknown>;
}

/** Cost per algorithm label, summed over the calls the trial made. */
export type CostLedger = Map<string, Cost>;

/**
 * `Prob<A>`: a probabilistic algorithm returning A — an fp-ts Reader over the randomness and
 * cost context. `x ←$ F(…)` in the paper is `bind('x', () => F(…))` here.
 */
export type Prob<A> = Reader<ProbContext, A>;

export const URI = 'weightgames/Prob';
export type URI = typeof URI;

declare module 'fp-ts/HKT' {
  interface URItoKind<A> {
    readonly [URI]: Prob<A>;
  }
}

export const of = <A>(a: A): Prob<A> => () => a;
export const map = <A, B>(f: (a: A) => B) => (fa: Prob<A>): Prob<B> => (ctx) => f(fa(ctx));
export const chain = <A, B>(f: (a: A) => Prob<B>) => (fa: Prob<A>): Prob<B> => (ctx) => f(fa(ctx))(ctx);
export const ap = <A>(fa: Prob<A>) => <B>(fab: Prob<(a: A) => B>): Prob<B> => (ctx) => {
  const f = fab(ctx);
  return f(fa(ctx));
};

/** The Monad instance: Prob composes like any fp-ts effect. */
export const Monad: Monad1<URI> = {
  URI,
  map: (fa, f) => map(f)(fa),
  of,
  ap: (fab, fa) => ap(fa)(fab),
  chain: (fa, f) => chain(f)(fa),
};

/** Do-notation, so a game reads like the paper's box. */
export const Do: Prob<{}> = of({});
export const bindTo = functorBindTo(Monad);
export const bind = chainBind(Monad);
const letImpl = functorLet(Monad);
export { letImpl as let };

/** Run a Prob under an explicit context. */
export const runProb = <A>(prob: Prob<A>, ctx: ProbContext): A => prob(ctx);

/** A fresh context for trial `trial` of seed `seed`, on the root stream. */
export function trialContext(seed: string, trial: number): ProbContext {
  return { seed, trial, label: '', rng: streamRng({ seed, trial, label: '' }), ledger: new Map(), notes: new Map() };
}

/**
 * Run `prob` on its own named sub-stream of the trial: the stream is a function of
 * (seed, trial, label) only, so what happens on other streams can never change its draws.
 * Labels nest with `/`.
 */
export const stream = <A>(label: string, prob: Prob<A>): Prob<A> => (ctx) => {
  const full = ctx.label === '' ? label : `${ctx.label}/${label}`;
  return prob({ ...ctx, label: full, rng: streamRng({ seed: ctx.seed, trial: ctx.trial, label: full }) });
};

/** Run `prob` on the absolute stream `label`, whatever stream the caller is on. */
export const streamAt = <A>(label: string, prob: Prob<A>): Prob<A> => (ctx) =>
  prob({ ...ctx, label, rng: streamRng({ seed: ctx.seed, trial: ctx.trial, label }) });

/** Run `prob` and return its value with what it cost (FLOPs counted by the kernels, wall time). */
export const measured = <A>(prob: Prob<A>): Prob<[A, Cost]> => (ctx) => withMeter(() => prob(ctx));

/**
 * One algorithm call of a game: on stream `label`, metered, its cost added to the trial's
 * ledger under `label`. Returns the value and the cost of this call.
 */
export const algorithm = <A>(label: string, prob: Prob<A>, streamLabel: string = label): Prob<[A, Cost]> => (ctx) => {
  const [value, cost] = measured(streamAt(streamLabel, prob))(ctx);
  record(ctx.ledger, label, cost);
  return [value, cost];
};

/**
 * Like `algorithm`, but the cost is not passed on to the caller's meter: an oracle run by the
 * game on an adversary's request is the game's work, not the adversary's.
 */
export const oracleCall = <A>(label: string, prob: Prob<A>, streamLabel: string): Prob<A> => (ctx) => {
  const [value, cost] = isolatedMeter(() => streamAt(streamLabel, prob)(ctx));
  record(ctx.ledger, label, cost);
  return value;
};

function record(ledger: CostLedger, label: string, cost: Cost): void {
  const before = ledger.get(label);
  ledger.set(label, before === undefined ? cost : addCost(before, cost));
}

/** Leave a value in the trial's notebook (e.g. a reduction's intermediate recovered weights). */
export const note = (key: string, value: unknown): Prob<void> => (ctx) => {
  ctx.notes.set(key, value);
};

// ---- primitive draws -------------------------------------------------------------------

export const uniform: Prob<number> = (ctx) => ctx.rng.uniform();
export const normal: Prob<number> = (ctx) => ctx.rng.normal();
/** b ←$ {0,1} */
export const bit: Prob<0 | 1> = (ctx) => (ctx.rng.uniform() < 0.5 ? 0 : 1);
export const bernoulli = (p: number): Prob<boolean> => (ctx) => ctx.rng.uniform() < p;
export const uniformInt = (n: number): Prob<number> => (ctx) => ctx.rng.int(n);

/** n independent N(0, σ²) draws. */
export const normalArray = (n: number, sigma = 1): Prob<Float64Array> => (ctx) => {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sigma * ctx.rng.normal();
  return out;
};

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
export const permutation = (n: number): Prob<Int32Array> => (ctx) => {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = ctx.rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
};

/** Sequence an array of Probs left to right. */
export const sequenceArray = <A>(probs: ReadonlyArray<Prob<A>>): Prob<A[]> => (ctx) => probs.map((p) => p(ctx));
