import fc from 'fast-check';
import { columnMaxima, largestOrderZero, maxAbs } from '../schemes/taylormlp/finite';

/**
 * The release's pass-1 magnitude scan (schemes/taylormlp/finite.ts) must give what folding
 * Math.max(m, Math.abs(v)) from 0 gives — the largest magnitude, NaN as soon as one value is NaN —
 * over whole tensors, picked entries, and per column of W.
 */
const fold = (values: readonly number[]): number => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const same = (a: number, b: number): boolean => Object.is(a, b) || (a === 0 && b === 0);
const value = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, -3, 3));

describe('release magnitudes: max |v| with NaN propagating', () => {
  it('maxAbs over a tensor and over picked entries', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 6 }), (values, picks) => {
        expect(same(maxAbs(Float64Array.from(values)), fold(values))).toBe(true);
        expect(same(maxAbs(Float32Array.from(values)), fold(Array.from(Float32Array.from(values))))).toBe(true);
        const pick = values.length === 0 ? [] : picks.map((q) => q % values.length);
        expect(same(maxAbs(Float64Array.from(values), Int32Array.from(pick)), fold(pick.map((q) => values[q])))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('columnMaxima: per column of an o × h matrix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(value, { minLength: 16, maxLength: 16 }), (o, h, pool) => {
        const second = Float64Array.from({ length: o * h }, (_, q) => pool[q % pool.length]);
        const out = new Float64Array(h);
        columnMaxima(second, o, h, out);
        for (let j = 0; j < h; j++) expect(same(out[j], fold(Array.from({ length: o }, (_, i) => second[i * h + j])))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('largestOrderZero: Θ[0]’s largest magnitude and where (the release’s overflow report)', () => {
  it('is what the unit-by-unit, output-by-output scan finds — value and first place, ties and NaN included', () => {
    const entry = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom(0, -0, NaN, 1e308), fc.double({ min: -4, max: 4, noNaN: true }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.array(entry, { minLength: 40, maxLength: 40 }), fc.boolean(), (o, h, pool, withBias) => {
        const second = Float64Array.from({ length: o * h }, (_, q) => pool[q % 40]);
        const bias = withBias ? Float64Array.from({ length: o }, (_, i) => pool[(39 - i) % 40]) : null;
        const expanded = Int32Array.from({ length: h }, (_, q) => (q * 3) % h).filter((j, q, a) => a.indexOf(j) === q);
        const K = expanded.length;
        const act0 = Float64Array.from({ length: K }, (_, k) => pool[(k * 7 + 3) % 40]);
        let value = 0;
        let at = { k: -1, i: -1 };
        for (let k = 0; k < K; k++) {
          for (let i = 0; i < o; i++) {
            const product = second[i * h + expanded[k]] * act0[k];
            const v = Math.max(Math.abs(product), Math.abs(product + (bias === null ? 0 : bias[i] / K)));
            if (!(v <= value)) [value, at] = [v, { k, i }];
          }
        }
        const got = largestOrderZero(second, bias, expanded, act0, o, h);
        expect(Object.is(got.value, value) || (got.value === 0 && value === 0)).toBe(true);
        expect({ k: got.k, i: got.i }).toEqual(at);
      }),
      { numRuns: 2000 },
    );
  });
});
