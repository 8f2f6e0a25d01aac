import fc from 'fast-check';
import { pipe } from 'fp-ts/function';
import * as P from '../src/kernel/prob/prob';
import { openRelease, additiveShares, additiveMask, ToyWeights, SharedWeights, mapToyWeights } from '../schemes';
import { copyAdversary, sumSharesAdversary, unmaskAdversary, effiInfFromWRec } from '../adversaries';
import { checkReduction, reductionProperty, withSuccessRate, scaleWeights, successRateArb } from '../src/app/testing';
import type { EffiInfAdversary, WindAdversary, WRecAdversary } from '../src/kernel/adversary';

const task = { inputDim: 5, hiddenDim: 8, outputDim: 3 };

/** Run a property expecting it to fail; return the failing check's message ('' if it passed). */
function failureOf(property: fc.IPropertyWithHooks<any>, numRuns: number): string {
  const details = fc.check(property, { numRuns });
  return details.failed ? String((details.errorInstance as Error).message) : '';
}

describe('reductions, property-tested on coupled trials', () => {
  it('EffiInf: whenever A wins WRec, B_A wins EffiInf (additiveShares, A = sum-shares at any success rate)', () => {
    const scheme = additiveShares({ shares: 3 });
    fc.assert(
      fc.property(successRateArb, (rate) => {
        const adversary = withSuccessRate(sumSharesAdversary, rate, scaleWeights(1.5));
        fc.assert(reductionProperty({ scheme, data: task, adversary, target: 'effiinf', trustCost: ['adversary'] }), { numRuns: 10 });
      }),
      { numRuns: 10 },
    );
  });

  it('W-IND: whenever A wins WRec, B_A wins W-IND (openRelease and additiveShares, any success rate)', () => {
    fc.assert(
      fc.property(successRateArb, fc.boolean(), (rate, shares) => {
        if (shares) {
          const adversary = withSuccessRate(sumSharesAdversary, rate, scaleWeights(1.5));
          fc.assert(reductionProperty({ scheme: additiveShares({ shares: 2 }), data: task, adversary, target: 'wind' }), { numRuns: 10 });
        } else {
          const adversary = withSuccessRate(copyAdversary<undefined, ToyWeights>(), rate, scaleWeights(1.5));
          fc.assert(reductionProperty({ scheme: openRelease(), data: task, adversary, target: 'wind' }), { numRuns: 10 });
        }
      }),
      { numRuns: 12 },
    );
  });

  it('estimated advantages satisfy Adv_WRec(A) ≤ Adv(B_A) within the intervals', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom<'effiinf' | 'wind'>('effiinf', 'wind'), (rate, target) => {
        const scheme = additiveShares({ shares: 3 });
        const adversary = withSuccessRate(sumSharesAdversary, rate, scaleWeights(1.5));
        const report = checkReduction({ scheme, data: task, adversary, target, trustCost: ['adversary'] }, { trials: 120, seed: `adv-${rate}` });
        expect(report.failures).toEqual([]);
        expect(report.wrec.interval.lower).toBeLessThanOrEqual(report.reduced.interval.upper);
        // The WRec rate is the adversary's success rate.
        expect(report.wrec.interval.lower).toBeLessThanOrEqual(rate);
        expect(report.wrec.interval.upper).toBeGreaterThanOrEqual(rate);
      }),
      { numRuns: 8 },
    );
  });
});

describe('the reduction checks can fail', () => {
  it('a broken EffiInf reduction (runs Run on the masked weights, ignoring A) fails the property', () => {
    const scheme = additiveMask(task, { publishKey: true });
    const broken = (s: typeof scheme, _a: WRecAdversary<any, ToyWeights, ToyWeights>): EffiInfAdversary<any, ToyWeights, Float64Array, Float64Array, ToyWeights> => ({
      name: 'broken',
      infer: (_pk, released, x) => s.run(released, x),
    });
    expect(failureOf(reductionProperty({ scheme, data: task, adversary: unmaskAdversary, target: 'effiinf', build: broken }), 5)).toMatch(/B_A lost EffiInf/);
    const report = checkReduction({ scheme, data: task, adversary: unmaskAdversary, target: 'effiinf', build: broken }, { trials: 40, seed: 1 });
    expect(report.ok).toBe(false);
    expect(report.failures.some((f) => f.kind === 'advantage')).toBe(true);
  });

  it('a broken W-IND reduction (answers 1 when Same(W*, W0)) fails the property', () => {
    const scheme = openRelease();
    const flipped = (s: typeof scheme, a: WRecAdversary<undefined, ToyWeights, ToyWeights>): WindAdversary<undefined, ToyWeights, ToyWeights> => ({
      name: 'flipped',
      distinguish: (pk, w0, _w1, released) => pipe(a.recover(pk, released), P.map((w) => (s.same.weights.test(w, w0) ? 1 : 0))),
    });
    expect(failureOf(reductionProperty({ scheme, data: task, adversary: copyAdversary<undefined, ToyWeights>(), target: 'wind', build: flipped }), 20)).toMatch(/lost W-IND/);
  });

  it('a reduction that re-randomises A breaks the coupling and is caught', () => {
    const scheme = additiveShares({ shares: 2 });
    const adversary = withSuccessRate(sumSharesAdversary, 0.5, scaleWeights(1.5));
    const rerandomised = (s: typeof scheme, a: WRecAdversary<undefined, SharedWeights, ToyWeights>) => {
      const honest = effiInfFromWRec(s, a);
      return { ...honest, infer: (pk: undefined, r: SharedWeights, x: Float64Array) => P.stream('elsewhere', honest.infer(pk, r, x)) };
    };
    const report = checkReduction({ scheme, data: task, adversary, target: 'effiinf', build: rerandomised }, { trials: 60, seed: 2 });
    expect(report.failures.some((f) => f.kind === 'coupling')).toBe(true);
  });

  it('a violated assumption (openRelease: Run′ is no dearer than Run, so the cost condition fails) fails the check', () => {
    const scheme = openRelease();
    expect(failureOf(reductionProperty({ scheme, data: task, adversary: copyAdversary<undefined, ToyWeights>(), target: 'effiinf' }), 5)).toMatch(/assumption\(s\) failed: cost/);
    // Without requiring assumptions the implication is vacuous there, and the check passes.
    fc.assert(reductionProperty({ scheme, data: task, adversary: copyAdversary<undefined, ToyWeights>(), target: 'effiinf', requireAssumptions: false }), { numRuns: 5 });
  });
});

describe('a correct reduction is never made to look broken', () => {
  it('low-rank noise within Same_W: the trials B_A loses are reported as the Same_W ⇒ Same_out assumption failing, never as the implication', () => {
    // W′ = (W + ε·uvᵀ, ε·uvᵀ); Run′ removes the noise (correct); A returns the noisy weights, which
    // are Same_W as W (relative distance ~5e-7 ≤ 1e-6) but whose outputs are not Same_out (δ = 1e-9).
    type Noisy = { readonly noisy: ToyWeights; readonly noise: ToyWeights };
    const open = openRelease();
    const zero = (w: ToyWeights): ToyWeights => mapToyWeights(w, (t) => ({ ...t, data: new Float64Array(t.data.length) }));
    const scheme = {
      ...open,
      name: 'lowRankNoise',
      release: (_sk: undefined, w: ToyWeights): P.Prob<Noisy> => (ctx) => {
        const fc1 = w['fc1.weight'];
        const [h, n] = fc1.shape;
        const u = P.normalArray(h)(ctx);
        const v = P.normalArray(n)(ctx);
        let norm = 0;
        for (const x of fc1.data) norm += x * x;
        const scale = (5e-7 * Math.sqrt(norm)) / Math.sqrt(u.reduce((a, x) => a + x * x, 0) * v.reduce((a, x) => a + x * x, 0));
        const noise = { ...zero(w), 'fc1.weight': { ...fc1, data: Float64Array.from({ length: h * n }, (_, q) => scale * u[Math.floor(q / n)] * v[q % n]) } };
        return { noisy: { ...w, 'fc1.weight': { ...fc1, data: fc1.data.map((x, q) => x + noise['fc1.weight'].data[q]) } }, noise };
      },
      runReleased: (_pk: undefined, r: Noisy, x: Float64Array) =>
        open.run({ ...r.noisy, 'fc1.weight': { ...r.noisy['fc1.weight'], data: r.noisy['fc1.weight'].data.map((y, q) => y - r.noise['fc1.weight'].data[q]) } }, x),
    };
    const takeNoisy: WRecAdversary<undefined, Noisy, ToyWeights> = { name: 'take-noisy', recover: (_pk, r) => P.of(r.noisy) };
    const report = checkReduction({ scheme, data: task, adversary: takeNoisy, target: 'effiinf', trustCost: ['scheme', 'adversary'] }, { trials: 100, seed: 'low-rank' });
    expect(report.wrec.successes).toBe(100); // A is valid on every trial…
    expect(report.reduced.successes).toBeLessThan(100); // …yet B_A's answer is not Same as Run′'s on some…
    expect(report.failures.filter((f) => f.kind === 'implication')).toEqual([]); // …and that is never blamed on the reduction:
    const assumption = report.failures.filter((f) => f.kind === 'assumption');
    expect(assumption.length).toBe(100 - report.reduced.successes);
    for (const f of assumption) expect(f.message).toMatch(/Same_W ⇒ Same_out/);
  });
});
