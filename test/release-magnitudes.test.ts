import fc from 'fast-check';
import { columnMaxima, maxAbs } from '../schemes/taylormlp/finite';

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
