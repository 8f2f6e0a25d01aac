import { pipe } from 'fp-ts/function';
import * as P from '../src/kernel/prob/prob';
import { estimateAdvantageSync } from '../src/kernel/estimate/estimate';
import { correctnessGame, wrecGame, windGame, effiInfGame, effiInfQInputGame, wrecMultiQueryGame, windMultiQueryGame, QueryBudgetExceededError, IndistinctTrainingError } from '../games';
import { openRelease, additiveMask, additiveShares, neuronPermutation, permuteHiddenUnits, ToyWeights } from '../schemes';
import { copyAdversary, randomGuessWRec, randomGuessWind, unmaskAdversary, sumSharesAdversary, permutationMatching, averagingAdversary, effiInfFromWRec, windFromWRec } from '../adversaries';
import type { MultiQueryWRecAdversary } from '../src/kernel/adversary';
import { withSame } from '../src/kernel/scheme';
import { sameExactly } from '../src/kernel/same';
import { trialContext } from '../src/kernel/prob/challenger';

const task = { inputDim: 6, hiddenDim: 10, outputDim: 3 };
const estimate = (game: Parameters<typeof estimateAdvantageSync>[0], trials = 200) => estimateAdvantageSync(game, { trials, seed: 'games' });

describe('theory matches estimates on the toy schemes', () => {
  it('copy on openRelease: WRec advantage 1', () => {
    const e = estimate(wrecGame(openRelease(), task, copyAdversary()));
    expect(e.successes).toBe(e.trials);
    expect(e.interval.lower).toBeGreaterThan(0.98);
  });

  it('random guess on W-IND: the interval contains 0', () => {
    const e = estimate(windGame(openRelease(), task, randomGuessWind()), 400);
    expect(e.interval.lower).toBe(0);
    expect(e.interval.upper).toBeLessThan(0.2);
  });

  it('additiveMask without the key: WRec advantage 0 for copy, unmask and random guess; Run′ incorrect', () => {
    const scheme = additiveMask(task, { publishKey: false });
    for (const adversary of [copyAdversary<undefined, ToyWeights>(), unmaskAdversary, randomGuessWRec<undefined, ToyWeights>()]) {
      const e = estimate(wrecGame(scheme, task, adversary as any));
      expect(e.successes).toBe(0);
      expect(e.interval.upper).toBeLessThan(0.02);
    }
    expect(estimate(correctnessGame(scheme, task)).successes).toBe(0);
  });

  it('additiveMask with the key: correct, and unmask recovers W', () => {
    const scheme = additiveMask(task, { publishKey: true });
    expect(estimate(correctnessGame(scheme, task)).p).toBe(1);
    expect(estimate(wrecGame(scheme, task, unmaskAdversary)).p).toBe(1);
    expect(estimate(wrecGame(scheme, task, copyAdversary() as any)).p).toBe(0);
  });

  it('neuronPermutation: correct with no key; copy loses under elementwise Same, wins up to permutation', () => {
    const elementwise = neuronPermutation(task);
    const invariant = neuronPermutation(task, { same: 'permutation-invariant' });
    expect(estimate(correctnessGame(elementwise, task)).p).toBe(1);
    // π is the identity with probability 1/10! — never in 200 trials.
    expect(estimate(wrecGame(elementwise, task, copyAdversary())).successes).toBe(0);
    expect(estimate(wrecGame(invariant, task, copyAdversary())).p).toBe(1);
    const wind = estimate(windGame(elementwise, task, permutationMatching));
    expect(wind.advantage).toBe(1);
  });

  it('permuting hidden units leaves Run unchanged up to rounding', () => {
    const ctx = trialContext('perm', 0);
    const scheme = openRelease();
    const w = scheme.train(task)(ctx);
    const pi = P.permutation(task.hiddenDim)(ctx);
    const x = scheme.sampleInput(task)(ctx);
    expect(scheme.same.outputs.test(scheme.run(permuteHiddenUnits(w, pi), x)(ctx), scheme.run(w, x)(ctx))).toBe(true);
  });

  it('additiveShares: correct, Run′ dearer than Run, and every game falls', () => {
    const scheme = additiveShares({ shares: 3 });
    expect(estimate(correctnessGame(scheme, task)).p).toBe(1);
    expect(estimate(wrecGame(scheme, task, sumSharesAdversary)).p).toBe(1);
    const effi = estimate(effiInfGame(scheme, task, effiInfFromWRec(scheme, sumSharesAdversary)));
    expect(effi.p).toBe(1);
    expect(effi.meanCosts['adversary'].flops).toBeLessThan(effi.meanCosts['runReleased'].flops);
    expect(estimate(windGame(scheme, task, windFromWRec(scheme, sumSharesAdversary))).advantage).toBe(1);
  });
});

describe('EffiInf: Pr[Same] and Definition 3.3 admissibility, apart', () => {
  it('an adversary that just runs Run′ gives the same output but is not cheaper: Same every time, inadmissible every time', () => {
    const scheme = additiveShares({ shares: 2 });
    const honest = { name: 'run-released', infer: (pk: undefined, released: any, x: Float64Array) => scheme.runReleased(pk, released, x) };
    const e = estimate(effiInfGame(scheme, task, honest), 50);
    expect(e.successes).toBe(50);
    expect(e.admissibility).toEqual({ admissible: 0, inadmissible: 50, unverified: 0, verdict: 'inadmissible' });
  });

  it('on openRelease, B[copy] outputs the right answer but costs as much as Run′: inadmissible, and the cost assumption is reported violated', () => {
    const scheme = openRelease();
    const e = estimate(effiInfGame(scheme, task, effiInfFromWRec(scheme, copyAdversary())), 50);
    expect(e.successes).toBe(50);
    expect(e.admissibility?.verdict).toBe('inadmissible');
    const cost = e.assumptions.find((a) => a.name === 'cost');
    expect(cost).toMatchObject({ held: 0, violated: 50 });
    expect(e.assumptions.find((a) => a.name === 'A valid')).toMatchObject({ held: 50 });
    expect(e.assumptions.find((a) => a.name === 'correctness')).toMatchObject({ held: 50 });
  });

  it('on additiveShares, B[sum-shares] (library code, fully metered) is admissible on every trial', () => {
    const scheme = additiveShares({ shares: 3 });
    const e = estimate(effiInfGame(scheme, task, effiInfFromWRec(scheme, sumSharesAdversary)), 50);
    expect(e.successes).toBe(50);
    expect(e.admissibility).toEqual({ admissible: 50, inadmissible: 0, unverified: 0, verdict: 'admissible' });
  });

  it('q-input EffiInf reports the break-even number of queries', () => {
    const scheme = additiveShares({ shares: 2 });
    // A deliberately wasteful recovery: sum the shares, then burn extra FLOPs once.
    const wasteful = effiInfFromWRec(scheme, {
      name: 'sum-shares-slowly',
      recover: (pk, released) => (ctx) => {
        const w = sumSharesAdversary.recover(pk, released)(ctx);
        for (let i = 0; i < 5; i++) sumSharesAdversary.recover(pk, released)(ctx);
        return w;
      },
    });
    // The experimenter vouches for this adversary's metering (it only calls the library's sum-shares).
    const game = effiInfQInputGame(scheme, task, wasteful, { inputs: 40, trustCost: ['adversary'] });
    const e = estimateAdvantageSync(game, { trials: 5, seed: 'q', keepTrials: true });
    const breakEvens = e.results!.map((r) => r.details.breakEven);
    // Run′ costs 2·(2hn) + h + … per input, B: 6·hn once + (2hn + …) per input.
    const h = task.hiddenDim, n = task.inputDim, o = task.outputDim;
    const runReleased = 2 * (2 * h * n) + h + h + 8 * h + 2 * o * h + o;
    const answer = 2 * h * n + h + 8 * h + 2 * o * h + o;
    const expected = Math.floor((6 * h * n) / (runReleased - answer)) + 1;
    expect(breakEvens).toEqual(Array(5).fill(expected));
    expect(e.p).toBe(1);
    expect(e.admissibility?.verdict).toBe('admissible');
    // Unvouched, the same user-written adversary's cost is unverified: no break-even is claimed.
    const unvouched = estimateAdvantageSync(effiInfQInputGame(scheme, task, wasteful, { inputs: 40 }), { trials: 5, seed: 'q', keepTrials: true });
    expect(unvouched.results!.map((r) => r.details.breakEven)).toEqual(Array(5).fill(null));
    expect(unvouched.admissibility?.verdict).toBe('cost unverified');
  });
});

describe('W-IND', () => {
  it('retrains W1 until ¬Same(W0, W1), and gives up with a clear error', () => {
    const deterministic = { ...openRelease(), train: () => P.of(openRelease().train(task)(trialContext('fixed', 0))) };
    expect(() => windGame(deterministic, task, randomGuessWind(), { maxRetrain: 3 }).play(trialContext('x', 0))).toThrow(IndistinctTrainingError);
    // With an "everything is Same" relation no W1 qualifies either.
    const coarse = withSame(openRelease(), { weights: sameExactly(() => true) });
    expect(() => windGame(coarse, task, randomGuessWind(), { maxRetrain: 2 }).play(trialContext('x', 0))).toThrow(/¬Same/);
  });
});

describe('multi-query games', () => {
  const greedy = (queries: number): MultiQueryWRecAdversary<unknown, ToyWeights, ToyWeights> => ({
    name: `greedy-${queries}`,
    recover: (_pk, oracle) => (ctx) => {
      let last: ToyWeights | undefined;
      for (let i = 0; i < queries; i++) last = oracle.query()(ctx);
      return last!;
    },
  });

  it('an adversary within budget gets answers; past it, a clear error and never an answer', () => {
    const scheme = openRelease();
    expect(estimate(wrecMultiQueryGame(scheme, task, greedy(3), { queries: 3 }), 20).p).toBe(1);
    const play = () => wrecMultiQueryGame(scheme, task, greedy(4), { queries: 3 }).play(trialContext('mq', 0));
    expect(play).toThrow(QueryBudgetExceededError);
    expect(play).toThrow(/budget of 3 exhausted/);
  });

  it('queries are fresh releases: averaging many releases of additiveMask(pk=⊥) still fails (one K)', () => {
    expect(estimate(wrecMultiQueryGame(additiveMask(task, { publishKey: false }), task, averagingAdversary(5), { queries: 5 }), 50).successes).toBe(0);
  });

  it('multi-query W-IND: each query gives a fresh pair; budget enforced', () => {
    const scheme = neuronPermutation(task);
    const matchAll = {
      name: 'match-all',
      distinguish: (pk: undefined, oracle: any) => (ctx: P.ProbContext) => {
        const votes = [0, 0];
        for (let q = 0; q < oracle.budget; q++) {
          const { w0, w1, released } = oracle.query()(ctx);
          votes[permutationMatching.distinguish(pk, w0, w1, released)(ctx)]++;
        }
        return (votes[0] >= votes[1] ? 0 : 1) as 0 | 1;
      },
    };
    expect(estimate(windMultiQueryGame(scheme, task, matchAll, { queries: 3 }), 50).advantage).toBe(1);
    const overdraw = { name: 'overdraw', distinguish: (_pk: undefined, oracle: any) => (ctx: P.ProbContext) => (oracle.query()(ctx), oracle.query()(ctx), 0 as const) };
    expect(() => windMultiQueryGame(scheme, task, overdraw, { queries: 1 }).play(trialContext('o', 0))).toThrow(QueryBudgetExceededError);
  });
});

describe('trial results', () => {
  it('carry the seed, trial, win bit and a cost for every algorithm run', () => {
    const scheme = additiveShares({ shares: 2 });
    const r = effiInfGame(scheme, task, effiInfFromWRec(scheme, sumSharesAdversary)).play(trialContext('r', 3));
    expect(r).toMatchObject({ seed: 'r', trial: 3, win: true });
    expect(Object.keys(r.costs).sort()).toEqual(['adversary', 'input', 'kgen', 'release', 'runReleased', 'train']);
    expect(r.costs.runReleased.flops).toBeGreaterThan(0);
    const c = correctnessGame(scheme, task).play(trialContext('r', 3));
    expect(Object.keys(c.costs).sort()).toEqual(['input', 'kgen', 'release', 'run', 'runReleased', 'train']);
  });

  it('a game is a pure function of (seed, trial)', () => {
    const game = pipe(openRelease(), (s) => windGame(s, task, randomGuessWind()));
    const strip = ({ costs, ...rest }: any) => rest;
    expect(strip(game.play(trialContext('p', 9)))).toEqual(strip(game.play(trialContext('p', 9))));
  });
});
