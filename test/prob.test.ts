import fc from 'fast-check';
import { pipe } from 'fp-ts/function';
import * as P from '../src/kernel/prob/prob';
import { streamRng } from '../src/kernel/prob/rng';
import { wrecGame } from '../games';
import { openRelease, trainToy, ToyWeights } from '../schemes';
import type { WRecAdversary } from '../src/kernel/adversary';
import { copyAdversary, randomGuessWRec } from '../adversaries';
import { withSuccessRate, scaleWeights } from '../src/app/testing';
import { onStream, trialContext } from '../src/kernel/prob/challenger';

const task = { inputDim: 4, hiddenDim: 6, outputDim: 2 };

describe('seeded streams', () => {
  it('the same address gives the same draws, a different one different draws', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.string(), (seed, trial, label) => {
        const a = streamRng({ seed, trial, label });
        const b = streamRng({ seed, trial, label });
        const c = streamRng({ seed, trial: trial + 1, label });
        const xs = [a.uniform(), a.normal(), a.uniform()];
        expect([b.uniform(), b.normal(), b.uniform()]).toEqual(xs);
        expect(c.uniform()).not.toEqual(xs[0]);
      }),
    );
  });

  it('an adversary never changes the trained weights of a trial (stream isolation)', () => {
    // Record W through the notebook: a wrapper adversary leaves it there, whatever it draws.
    const trained = (adversary: WRecAdversary<undefined, ToyWeights, ToyWeights>, seed: string, trial: number) => {
      const ctx = trialContext(seed, trial);
      const scheme = openRelease();
      const game = wrecGame(scheme, task, {
        name: adversary.name,
        recover: (pk, released) => pipe(adversary.recover(pk, released), P.chain((w) => pipe(P.note('released', released), P.map(() => w)))),
      });
      game.play(ctx);
      return ctx.noteBook.get('released');
    };
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.nat({ max: 1000 }), (seed, trial) => {
        const w1 = trained(copyAdversary<undefined, ToyWeights>(), seed, trial);
        const w2 = trained(randomGuessWRec<undefined, ToyWeights>(), seed, trial);
        const w3 = trained(withSuccessRate(copyAdversary<undefined, ToyWeights>(), 0.3, scaleWeights(2)), seed, trial);
        expect(w2).toEqual(w1);
        expect(w3).toEqual(w1);
      }),
      { numRuns: 50 },
    );
  });

  it('stream labels nest, and an algorithm runs on the stream its game gives it', () => {
    const ctx = trialContext('s', 0);
    const nested = P.stream('a', P.stream('b', P.uniform))(ctx);
    const absolute = onStream(ctx, 'a/b', P.uniform);
    expect(nested).toBe(absolute);
    expect(onStream(ctx, 'train', trainToy(task))).toEqual(onStream(trialContext('s', 0), 'train', trainToy(task)));
  });

  it('permutation draws a permutation', () => {
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.nat(), (n, trial) => {
        const pi = P.permutation(n)(trialContext('p', trial));
        expect([...pi].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
    );
  });
});

describe('normalFloat32Array (the fast seeded normal stream for big synthetic checkpoints)', () => {
  const draw = (seed: string, label: string, n: number, sigma = 1): Float32Array => P.stream(label, P.normalFloat32Array(n, sigma))(trialContext(seed, 0));

  it('is a function of the stream: the same address the same draws, another address others', () => {
    expect(Array.from(draw('s', 'a', 101))).toEqual(Array.from(draw('s', 'a', 101)));
    expect(Array.from(draw('s', 'a', 101))).not.toEqual(Array.from(draw('s', 'b', 101)));
    expect(Array.from(draw('s', 'a', 101))).not.toEqual(Array.from(draw('t', 'a', 101)));
  });

  it('has N(0, σ²) moments: mean, variance, fourth moment 3σ⁴, and the normal tail mass', () => {
    const n = 400_000;
    const sigma = 0.5;
    const x = draw('moments', 'x', n, sigma);
    let [m1, m2, m4, tail] = [0, 0, 0, 0];
    for (const v of x) {
      m1 += v;
      m2 += v * v;
      m4 += v ** 4;
      if (Math.abs(v) > 2 * sigma) tail++;
    }
    [m1, m2, m4, tail] = [m1 / n, m2 / n, m4 / n, tail / n];
    // Standard errors: mean σ/√n, variance σ²√(2/n), fourth moment ≈ σ⁴√(96/n); P(|Z| > 2) = 0.0455.
    expect(Math.abs(m1)).toBeLessThan(5 * (sigma / Math.sqrt(n)));
    expect(Math.abs(m2 - sigma ** 2)).toBeLessThan(5 * sigma ** 2 * Math.sqrt(2 / n));
    expect(Math.abs(m4 - 3 * sigma ** 4)).toBeLessThan(5 * sigma ** 4 * Math.sqrt(96 / n));
    expect(Math.abs(tail - 0.0455)).toBeLessThan(5 * Math.sqrt((0.0455 * 0.9545) / n));
    expect(x.length).toBe(n);
    expect(draw('odd', 'x', 7).length).toBe(7);
  });

  it('normalFloat32Source: pieces of even length, in order, are normalFloat32Array bit for bit', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 40 }), { maxLength: 6 }), fc.nat({ max: 9 }), fc.double({ min: 0.01, max: 4, noNaN: true }), (halves, last, sigma) => {
        const pieces = [...halves.map((k) => 2 * k), last];
        const n = pieces.reduce((x, y) => x + y, 0);
        const whole = draw('pieces', 'w', n, sigma);
        const fill = P.stream('w', P.normalFloat32Source(sigma))(trialContext('pieces', 0));
        const buffer = new Float32Array(100);
        const got: number[] = [];
        for (const length of pieces) {
          const view = buffer.subarray(0, length);
          fill(view);
          got.push(...view);
        }
        expect(new Uint32Array(Float32Array.from(got).buffer)).toEqual(new Uint32Array(whole.buffer));
      }),
      { numRuns: 100 },
    );
  });
});

describe('Prob is a lawful monad (on observed values)', () => {
  const run = <A>(p: P.Prob<A>, trial: number) => p(trialContext('laws', trial));
  const f = (x: number): P.Prob<number> => pipe(P.uniform, P.map((u) => u + x));
  const g = (x: number): P.Prob<number> => pipe(P.normal, P.map((v) => v * x));
  it('left identity, right identity, associativity', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.nat(), (a, trial) => {
        expect(run(P.chain(f)(P.of(a)), trial)).toBe(run(f(a), trial));
        expect(run(P.chain(P.of)(f(a)), trial)).toBe(run(f(a), trial));
        expect(run(P.chain(g)(P.chain(f)(P.of(a))), trial)).toBe(run(P.chain((x: number) => P.chain(g)(f(x)))(P.of(a)), trial));
      }),
    );
  });
});
