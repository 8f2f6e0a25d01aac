import fc from 'fast-check';
import { withMeter } from '../src/kernel/cost/meter';
import { activations, ActivationName, GELU_DIRECT_LOG_PHI } from '../src/numerics/activations';
import { SPECIAL_FLOPS as S } from '../src/numerics/tensor/flopModel';
import { activationDerivatives, taylorCoefficients } from '../src/numerics/tensor/derivativeKernels';

/**
 * The derivative kernels' charges against counts derived independently, by hand, from the
 * recurrences in src/numerics/activations.ts (per order: the two Horner evaluations of σ⁽ⁿ⁾, the
 * Hermite step of GELU, the Taylor-mode convolution of GELU-tanh), with the data-dependent parts
 * (σ's side, exact zeros skipped by the log-space products) read off the inputs and outputs.
 */
const sum = (from: number, to: number, f: (i: number) => number): number => {
  let acc = 0;
  for (let i = from; i <= to; i++) acc += f(i);
  return acc;
};

const sigmoidScaled = (x: number, N: number): number => 2 * S + 4 + (x > 0 ? 2 : 0) + sum(1, N, (n) => 4 * (n + 1) + 4 * (n + 2) + 4);
const sigmoidDerivatives = (x: number, N: number): number => sigmoidScaled(x, N) + N;
const nonZero = (out: Float64Array, n: number): number => (out[n] !== 0 ? 1 : 0);
/** He_n(x) − He_{n−2}(x) by the probabilists' recurrence (GELU's exact zeros are where it vanishes, not where φ underflows). */
const hermiteDifference = (x: number, n: number): number => {
  const he = [1, x];
  for (let k = 2; k <= n; k++) he.push(x * he[k - 1] - (k - 1) * he[k - 2]);
  return he[n] - he[n - 2];
};

const expected: Record<ActivationName, (x: number, N: number, out: Float64Array) => number> = {
  sigmoid: sigmoidDerivatives,
  silu: (x, N) => sigmoidDerivatives(x, N) + 1 + 3 * N,
  // Per order n ≥ 2 with He_n − He_{n−2} ≠ 0: φ(x) normal, the product φ·poly directly (1); beyond, in log space (exp, log, +, the sign).
  gelu: (x, N) => S + 3 + (N >= 1 ? 3 + S + 2 + sum(2, N, (n) => 5 + (hermiteDifference(x, n) !== 0 ? (-0.5 * x * x - 0.5 * Math.log(2 * Math.PI) > GELU_DIRECT_LOG_PHI ? 1 : 2 * S + 2) : 0)) : 0),
  gelu_tanh: (_x, N, out) =>
    6 + 14 + S + 2 +
    sum(0, N - 1, (m) => sum(0, Math.min(2, m), (k) => 2 * (m - k + 1) + 4) + 2) +
    2 * N + 3 + (N >= 1 ? 3 : 0) +
    sum(2, N, (n) => 3 + nonZero(out, n) * (2 * S + 2)),
};

describe('derivativeKernels charge the recurrences’ exact counts', () => {
  it.each(Object.keys(expected) as ActivationName[])('%s: activationDerivatives and taylorCoefficients', (name) => {
    const act = activations[name];
    fc.assert(
      // GELU also past |x| ≈ 37.4, where φ is no longer a normal number and the products go to log space.
      fc.property(name === 'gelu' ? fc.oneof(fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: -45, max: 45, noNaN: true })) : fc.double({ min: -8, max: 8, noNaN: true }), fc.integer({ min: 0, max: 24 }), fc.constantFrom(1, -1), (x, N, sign) => {
        const [out, cost] = withMeter(() => activationDerivatives(act, x, N, new Float64Array(N + 1)));
        expect(Array.from(out)).toEqual(Array.from(act.derivatives(x, N))); // the same numbers as the uncounted path
        expect(cost.flops).toBe(expected[name](x, N, out));
        const [coefficients, scaledCost] = withMeter(() => taylorCoefficients(act, x, N, sign, new Float64Array(N + 1)));
        expect(scaledCost.flops).toBe(expected[name](x, N, out) + N + 2 * (N + 1));
        let factorial = 1;
        for (let n = 0; n <= N; n++) {
          if (n > 0) factorial *= n;
          expect(coefficients[n]).toBe((out[n] / factorial) * (n % 2 === 1 ? sign : 1));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('exact zeros are skipped and not charged (GELU at the roots of He_n − He_{n−2})', () => {
    // He_2 − He_0 = x² − 2 vanishes at x = √2 only up to rounding; x = 0 zeroes every even order's polynomial exactly.
    const [out, cost] = withMeter(() => activationDerivatives(activations.gelu, 0, 6, new Float64Array(7)));
    const zeros = Array.from(out).slice(2).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expect(cost.flops).toBe(expected.gelu(0, 6, out));
  });
});
