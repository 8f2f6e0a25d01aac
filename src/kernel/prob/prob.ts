import type { Monad1 } from 'fp-ts/Monad';
import { bind as chainBind } from 'fp-ts/Chain';
import { bindTo as functorBindTo, let as functorLet } from 'fp-ts/Functor';
import type { Reader } from 'fp-ts/Reader';
import { Cost, withMeter } from '../cost/meter';
import { Rng, keyedRng } from './rng';

/**
 * What a probabilistic algorithm reads — and all it reads: the coins of its own stream, and a
 * notebook it can write to (e.g. the weights a reduction recovered on the way, for the game's
 * assumption checks). It carries no seed, no trial number, no ledger and no way to address
 * another algorithm's stream: `rng` can only split into sub-streams of its own.
 */
export interface ProbContext {
  readonly rng: Rng;
  readonly notes: NoteWriter;
}

/** Write-only access to the trial's notebook. */
export interface NoteWriter {
  readonly write: (key: string, value: unknown) => void;
}

/**
 * `Prob<A>`: a probabilistic algorithm returning A — an fp-ts Reader over its coins.
 * `x ←$ F(…)` in the paper is `bind('x', () => F(…))` here.
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

/** Do-notation, so an algorithm reads like the paper's box. */
export const Do: Prob<{}> = of({});
export const bindTo = functorBindTo(Monad);
export const bind = chainBind(Monad);
const letImpl = functorLet(Monad);
export { letImpl as let };

/** Run a Prob under an explicit context. */
export const runProb = <A>(prob: Prob<A>, ctx: ProbContext): A => prob(ctx);

/**
 * Run `prob` on its own named sub-stream of the caller's stream: the stream is a function of the
 * caller's stream and `label` only, so what happens on other streams can never change its draws.
 */
export const stream = <A>(label: string, prob: Prob<A>): Prob<A> => (ctx) => prob({ ...ctx, rng: ctx.rng.split(label) });

/** Run `prob` and return its value with what it cost (FLOPs counted by the kernels, wall time). The cost still counts for the caller. */
export const measured = <A>(prob: Prob<A>): Prob<[A, Cost]> => (ctx) => withMeter(() => prob(ctx));

/** Leave a value in the trial's notebook (e.g. a reduction's intermediate recovered weights). */
export const note = (key: string, value: unknown): Prob<void> => (ctx) => {
  ctx.notes.write(key, value);
};

/**
 * Run an algorithm outside any game, on coins derived from `seed` alone (in a namespace of its
 * own: no game's stream is ever reproduced this way). For a user's own experiments and tests.
 */
export const sampleWith = <A>(prob: Prob<A>, seed: string): A => prob({ rng: keyedRng(`user:${seed}`), notes: { write: () => undefined } });

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

/**
 * n independent N(0, σ²) draws as float32, fast (for generating big synthetic checkpoints): the
 * stream's coins seed four 32-bit words of a local xoshiro128** generator (128 bits drawn from
 * ctx.rng, so the draws are a function of the stream alone), whose outputs pair into normals by
 * Marsaglia's polar method (32-bit uniforms on [−1, 1)², rejected outside the unit disc). Several times faster than normalArray,
 * and a different sequence.
 */
export const normalFloat32Array = (n: number, sigma = 1): Prob<Float32Array> => (ctx) => {
  const fill = normalFloat32Source(sigma)(ctx);
  const out = new Float32Array(n);
  fill(out);
  return out;
};

/**
 * normalFloat32Array's draws a piece at a time, for tensors too big to hold (or to fault in anew)
 * at once: the answer `fill(out)` writes the next out.length draws into `out`. Pieces of even
 * length (the last excepted) keep each polar pair in one piece, so that the pieces in order are
 * normalFloat32Array(n, σ)'s values on the same stream, bit for bit; an odd piece drops its pair's
 * second draw, as normalFloat32Array does at an odd n.
 */
export const normalFloat32Source = (sigma = 1): Prob<(out: Float32Array) => void> => (ctx) => {
  const word = (): number => Math.floor(ctx.rng.uniform() * 4294967296) >>> 0;
  let a = word();
  let b = word();
  let c = word();
  let d = word();
  if ((a | b | c | d) === 0) a = 1; // xoshiro's one forbidden state
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return (out: Float32Array): void => {
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      let x = 0;
      let y = 0;
      let r = 0;
      do {
        x = next() / 2147483648 - 1;
        y = next() / 2147483648 - 1;
        r = x * x + y * y;
      } while (r >= 1 || r === 0);
      const f = sigma * Math.sqrt((-2 * Math.log(r)) / r);
      out[i] = x * f;
      if (i + 1 < n) out[i + 1] = y * f;
    }
  };
};
const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

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
