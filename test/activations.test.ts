import { activations, activationByName, ActivationError, MAX_ORDER } from '../src/numerics/activations';
import { D, normalCdf as refCdf, referenceDerivatives, RefName } from './helpers/highPrecision';

const names: RefName[] = ['silu', 'gelu', 'gelu_tanh', 'sigmoid'];
const MAX_TESTED = 16;

/**
 * 201 points on [−40, 40] (both ends included), 100 more in [−4, 4] where the values vary most,
 * and 150 in [−12, 12], where GELU's and GELU-tanh's derivatives are above 1e-280.
 */
const points = [
  ...Array.from({ length: 201 }, (_, i) => -40 + 0.4 * i),
  ...Array.from({ length: 100 }, (_, i) => -4 + 0.0808 * i + 0.0123),
  ...Array.from({ length: 150 }, (_, i) => -12 + 0.161 * i + 0.0071),
];

describe('the arbitrary-precision reference is itself right', () => {
  it('Φ by series and by continued fraction agree where both apply', () => {
    for (const x of ['-5', '-6.5', '-4.999']) {
      const viaCf = refCdf(new D(x));
      // Φ(x) at |x| ≥ 5 by the continued fraction; recompute by brute-force series with more terms.
      let term = new D(x);
      let sum = new D(x);
      const x2 = new D(x).times(x);
      for (let k = 1; k < 2000; k++) {
        term = term.times(x2).div(2 * k + 1);
        sum = sum.plus(term);
      }
      const viaSeries = new D(0.5).plus(D.exp(x2.div(-2)).div(D.sqrt(new D(2).times(D.acos(-1)))).times(sum));
      expect(viaCf.minus(viaSeries).abs().div(viaSeries).toNumber()).toBeLessThan(1e-30);
    }
  });

  it('σ′ = σ(1 − σ) and gelu′(0) = ½ hold in the reference', () => {
    const s = referenceDerivatives('sigmoid', 0.7, 1);
    expect(s[1].minus(s[0].times(new D(1).minus(s[0]))).abs().toNumber()).toBeLessThan(1e-50);
    expect(referenceDerivatives('gelu', 0, 1)[1].minus(0.5).abs().toNumber()).toBeLessThan(1e-50);
  });
});

describe.each(names)('%s derivatives', (name) => {
  const act = activations[name];

  it(`match the reference to 1e-9 relative for n ≤ ${MAX_TESTED} at ${points.length} points per order (|value| ≥ 1e-280, ≥ 1e-3 from a zero)`, () => {
    let compared = 0;
    let worst = 0;
    const perOrder = new Array(MAX_TESTED + 1).fill(0);
    for (const x of points) {
      const ours = act.derivatives(x, MAX_TESTED);
      const ref = referenceDerivatives(name, x, MAX_TESTED);
      const left = referenceDerivatives(name, x - 1e-3, MAX_TESTED);
      const right = referenceDerivatives(name, x + 1e-3, MAX_TESTED);
      for (let n = 0; n <= MAX_TESTED; n++) {
        const r = ref[n];
        if (r.abs().lt('1e-280')) continue;
        // A zero within 1e-3 shows as a sign change across [x − 1e-3, x + 1e-3].
        if (left[n].isNeg() !== r.isNeg() || right[n].isNeg() !== r.isNeg() || left[n].isZero() || right[n].isZero()) continue;
        const err = new D(ours[n]).minus(r).abs().div(r.abs()).toNumber();
        worst = Math.max(worst, err);
        perOrder[n]++;
        compared++;
        if (!(err <= 1e-9)) throw new Error(`${name}⁽${n}⁾(${x}): ours ${ours[n]}, reference ${r.toSignificantDigits(17).toString()}, relative error ${err}`);
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-9);
    // Every order is compared at ≥ 200 points (those excluded: below 1e-280, or next to a zero).
    for (let n = 0; n <= MAX_TESTED; n++) expect(perOrder[n]).toBeGreaterThanOrEqual(200);
    expect(compared).toBeGreaterThan(0);
  });

  it('value(x) and slope(x) agree with derivatives(x, 1)', () => {
    for (const x of points) {
      const d = act.derivatives(x, 1);
      expect(Math.abs(act.value(x) - d[0])).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(x)));
      expect(Math.abs(act.slope(x) - d[1])).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(x)));
    }
  });

  it(`are finite (no NaN, no overflow) for every order ≤ ${MAX_ORDER} on [−40, 40]`, () => {
    for (let i = 0; i <= 800; i++) {
      const x = -40 + 0.1 * i;
      const d = act.derivatives(x, MAX_ORDER);
      for (let n = 0; n <= MAX_ORDER; n++) if (!Number.isFinite(d[n])) throw new Error(`${name}⁽${n}⁾(${x}) = ${d[n]}`);
    }
  });
});

describe('tails', () => {
  it('σ(40) is not computed as 1 − σ(−40): its derivatives keep full relative accuracy', () => {
    const d = activations.sigmoid.derivatives(40, 3);
    const e = Math.exp(-40);
    expect(d[1] / e).toBeCloseTo(1, 12);
    expect(d[2] / -e).toBeCloseTo(1, 12);
  });

  it('activation names from configs', () => {
    expect(activationByName('gelu_new').name).toBe('gelu_tanh');
    expect(activationByName('gelu_pytorch_tanh').name).toBe('gelu_tanh');
    expect(activationByName('silu').name).toBe('silu');
    expect(() => activationByName('relu')).toThrow(ActivationError);
    expect(() => activations.silu.derivatives(0, MAX_ORDER + 1)).toThrow(/order/);
  });
});
