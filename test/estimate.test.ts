import Decimal from 'decimal.js';
import { clopperPearson, wilson, distinguishingInterval } from '../src/kernel/estimate/intervals';
import { estimateAdvantage, estimateAdvantageSync, EstimateOptionsError } from '../src/kernel/estimate/estimate';
import { bernoulliGame } from '../src/app/testing';

/** P[X = k] for X ~ Binomial(n, p), in high precision (independent of the code under test). */
function binomialPmf(n: number, k: number, p: number): number {
  let c = new Decimal(1);
  for (let i = 0; i < k; i++) c = c.mul(n - i).div(i + 1);
  return c.mul(new Decimal(p).pow(k)).mul(new Decimal(1 - p).pow(n - k)).toNumber();
}

describe('Clopper–Pearson', () => {
  it('matches closed forms at k = 0 and k = n', () => {
    // k = 0: upper = 1 − (α/2)^(1/n); k = n: lower = (α/2)^(1/n).
    for (const n of [1, 5, 10, 40]) {
      expect(clopperPearson(0, n).upper).toBeCloseTo(1 - Math.pow(0.025, 1 / n), 10);
      expect(clopperPearson(n, n).lower).toBeCloseTo(Math.pow(0.025, 1 / n), 10);
      expect(clopperPearson(0, n).lower).toBe(0);
      expect(clopperPearson(n, n).upper).toBe(1);
    }
  });

  it('its ends solve the binomial tail equations', () => {
    const n = 30;
    for (const k of [1, 7, 15, 29]) {
      const { lower, upper } = clopperPearson(k, n, 0.9);
      let upperTail = 0; // P[X ≥ k | p = lower] = α/2
      let lowerTail = 0; // P[X ≤ k | p = upper] = α/2
      for (let j = 0; j <= n; j++) {
        if (j >= k) upperTail += binomialPmf(n, j, lower);
        if (j <= k) lowerTail += binomialPmf(n, j, upper);
      }
      expect(upperTail).toBeCloseTo(0.05, 8);
      expect(lowerTail).toBeCloseTo(0.05, 8);
    }
  });

  it('has exact coverage ≥ 95 % for every p (computed, not sampled)', () => {
    for (const n of [10, 12, 50]) {
      const intervals = Array.from({ length: n + 1 }, (_, k) => clopperPearson(k, n));
      for (let i = 1; i < 200; i++) {
        const p = i / 200;
        let coverage = 0;
        for (let k = 0; k <= n; k++) if (intervals[k].lower <= p && p <= intervals[k].upper) coverage += binomialPmf(n, k, p);
        expect(coverage).toBeGreaterThanOrEqual(0.95);
      }
    }
  });

  it('Wilson is inside [0, 1], contains p̂ and is no wider than Clopper–Pearson', () => {
    for (const [k, n] of [[0, 10], [3, 10], [50, 100], [99, 100]]) {
      const w = wilson(k, n);
      const cp = clopperPearson(k, n);
      expect(w.lower).toBeGreaterThanOrEqual(0);
      expect(w.upper).toBeLessThanOrEqual(1);
      expect(w.lower).toBeLessThanOrEqual(k / n);
      expect(w.upper).toBeGreaterThanOrEqual(k / n);
      expect(w.upper - w.lower).toBeLessThanOrEqual(cp.upper - cp.lower + 1e-12);
    }
  });

  it('maps the W-IND interval through 2|p − ½|', () => {
    expect(distinguishingInterval({ lower: 0.4, upper: 0.7 })).toEqual({ lower: 0, upper: expect.closeTo(0.4, 12) });
    expect(distinguishingInterval({ lower: 0.8, upper: 0.9 })).toEqual({ lower: expect.closeTo(0.6, 12), upper: expect.closeTo(0.8, 12) });
    expect(distinguishingInterval({ lower: 0.05, upper: 0.2 })).toEqual({ lower: expect.closeTo(0.6, 12), upper: expect.closeTo(0.9, 12) });
  });
});

describe('estimator coverage on Bernoulli(p) games', () => {
  // Design: p = i/21 (i = 1..20) and 12 trials per repetition. There the exact coverage of the
  // interval is at least 0.9735 at every p (checked in the test above for other n), so a sampled
  // coverage of 1,000 repetitions falls below 0.95 only by a 3.4-standard-error accident.
  it('the 95 % Clopper–Pearson interval covers p in ≥ 95 % of 1,000 repetitions, for 20 values of p', () => {
    const trials = 12;
    const report: Array<[number, number]> = [];
    for (let i = 0; i < 20; i++) {
      const p = (i + 1) / 21;
      const game = bernoulliGame(p);
      let covered = 0;
      for (let rep = 0; rep < 1000; rep++) {
        // Disjoint trial ranges of one seed: the 1,000 repetitions are independent.
        const e = estimateAdvantageSync(game, { trials, seed: `coverage-${i}`, firstTrial: rep * trials });
        if (e.interval.lower <= p && p <= e.interval.upper) covered++;
      }
      report.push([p, covered / 1000]);
    }
    for (const [, coverage] of report) expect(coverage).toBeGreaterThanOrEqual(0.95);
  });
});

describe('estimateAdvantage', () => {
  it('returns the documented fields, and W-IND advantage 2|p − ½|', () => {
    const e = estimateAdvantageSync(bernoulliGame(0.8, 'distinguishing'), { trials: 500, seed: 7 });
    expect(e).toMatchObject({ trials: 500, method: 'clopper-pearson', confidence: 0.95, seed: '7', kind: 'distinguishing' });
    expect(e.advantage).toBeCloseTo(2 * Math.abs(e.p - 0.5), 12);
    expect(e.interval).toEqual(distinguishingInterval(e.pInterval));
    expect(e.interval.lower).toBeLessThan(0.6);
    expect(e.interval.upper).toBeGreaterThan(0.6);
  });

  it('same seed, same estimate; another seed, another sample', () => {
    const game = bernoulliGame(0.37);
    const a = estimateAdvantageSync(game, { trials: 300, seed: 'x' });
    const b = estimateAdvantageSync(game, { trials: 300, seed: 'x' });
    const c = estimateAdvantageSync(game, { trials: 300, seed: 'y' });
    expect(b).toEqual(a);
    expect(c.successes).not.toBe(a.successes);
  });

  it('is identical with 1, 2 and 4 workers', async () => {
    const game = bernoulliGame(0.42);
    const strip = (e: Awaited<ReturnType<typeof estimateAdvantage>>) => ({ ...e, results: e.results?.map(({ costs, ...r }) => r) });
    const one = await estimateAdvantage(game, { trials: 400, seed: 'w', keepTrials: true });
    for (const workers of [2, 4]) expect(strip(await estimateAdvantage(game, { trials: 400, seed: 'w', workers, keepTrials: true, autoThreads: false }))).toEqual(strip(one));
  });

  it('sequential mode stops once the half-width reaches ε, at the same trial for any worker count', async () => {
    const game = bernoulliGame(0.95);
    const e1 = await estimateAdvantage(game, { trials: 5000, seed: 's', sequential: { halfWidth: 0.03, batch: 25 } });
    const e2 = await estimateAdvantage(game, { trials: 5000, seed: 's', workers: 2, autoThreads: false, sequential: { halfWidth: 0.03, batch: 25 } });
    expect(e1.stoppedEarly).toBe(true);
    expect((e1.interval.upper - e1.interval.lower) / 2).toBeLessThanOrEqual(0.03);
    // Looks after 25, 50, 100, 200, … trials.
    expect(Math.log2(e1.trials / 25) % 1).toBe(0);
    expect(e1.trials).toBeLessThan(5000);
    expect(e1.intervalLevel).toBeCloseTo(1 - (0.05 * 6) / (Math.PI ** 2 * e1.looks! ** 2), 12);
    // The look before did not reach it.
    const before = await estimateAdvantage(game, { trials: e1.trials / 2, seed: 's', sequential: { halfWidth: 0.03, batch: 25 } });
    expect(before.stoppedEarly).toBe(false);
    expect((before.interval.upper - before.interval.lower) / 2).toBeGreaterThan(0.03);
    expect(e2).toEqual(e1);
  });

  it('the sequential stopping rule keeps its stated coverage (simulation: 5 values of p, 400 runs each)', () => {
    for (const p of [0.05, 0.3, 0.5, 0.7, 0.95]) {
      let covered = 0;
      for (let run = 0; run < 400; run++) {
        const e = estimateAdvantageSync(bernoulliGame(p), { trials: 1600, seed: `sequential-${p}`, firstTrial: run * 1600, sequential: { halfWidth: 0.05, batch: 25 } });
        if (e.interval.lower <= p && p <= e.interval.upper) covered++;
      }
      expect(covered / 400).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('rejects bad options with a typed error', () => {
    const game = bernoulliGame(0.5);
    expect(() => estimateAdvantageSync(game, { trials: 0, seed: 1 })).toThrow(EstimateOptionsError);
    expect(() => estimateAdvantageSync(game, { trials: 10, seed: 1, confidence: 1.5 })).toThrow(/confidence/);
    expect(() => estimateAdvantageSync(game, { trials: 10, seed: 1, sequential: { halfWidth: 0 } })).toThrow(/halfWidth/);
    return expect(estimateAdvantage({ ...game, ref: undefined }, { trials: 10, seed: 1, workers: 2 })).rejects.toThrow(/no ref/);
  });
});
