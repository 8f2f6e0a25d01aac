import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import erfc from '@stdlib/math-base-special-erfc';
import { withMeter } from '../src/kernel/cost/meter';
import { activations, ActivationName } from '../src/numerics/activations';
import { addInPlace, addRowBias, matMul, matMulTransposed, multiplyInPlace } from '../src/numerics/tensor/kernels';
import { tensor } from '../src/numerics/tensor/tensor';
import { sampleSoftmax } from '../src/numerics/tensor/samplingKernels';
import { layerNorm, rmsNorm } from '../src/numerics/tensor/normKernels';
import { cachedAttention } from '../src/numerics/tensor/attentionKernels';
import { rotateHalf } from '../src/numerics/tensor/ropeKernels';
import { activateUnits, activateWithSlope } from '../src/numerics/tensor/activationKernels';
import { collapsedSeriesUnits, expansionOffsets, fillSeriesCoefficients, foldBiasIntoOrderZero, seriesTerms, SeriesMask } from '../src/numerics/tensor/seriesKernels';
import { mlpGradients, mseOutputGradient } from '../src/numerics/tensor/backpropKernels';
import { adamStep } from '../src/numerics/tensor/optimizerKernels';
import { combineOrders, orderNorms, profileDots, weightedMisfit } from '../src/numerics/tensor/attackKernels';
import { affine, chordDeviation, lerp, lineIntersection, linspace, maxAbs, maxAbsDifference, midpoint, quotient, secant, shiftCoordinate } from '../src/numerics/tensor/lineKernels';
import { leastSquares, normalize, outer, scale } from '../src/numerics/tensor/linalgKernels';
import { Ops, refMisfit } from './helpers/countingOps';

/**
 * Every kernel's charge against an independent count: a reference implementation written here,
 * operation by operation through a counter (`Ops`), that must produce the kernel's output bit for
 * bit (so it does the same operations) and count exactly what the kernel charged. The counter
 * knows only the cost model (src/numerics/tensor/flopModel.ts), never a kernel's formula.
 */

const charged = (thunk: () => unknown): number => withMeter(thunk)[1].flops;
const bits = (x: ArrayLike<number>): number[] => Array.from(x);
const runs = { numRuns: 60 };

/** The one arbitrary of this file: a float64 vector of length n with entries in [−r, r] (zeros and signed zeros included). */
const vec = (n: number, r = 4): fc.Arbitrary<Float64Array> =>
  fc.array(fc.double({ min: -r, max: r, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));

// ---- activations, counted by hand from the formulas in src/numerics/activations.ts -------------

const TANH_C = Math.sqrt(2 / Math.PI);
const TANH_A = 0.044715;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

function refSigmoid(o: Ops, x: number): number {
  if (x >= 0) return o.div(1, o.add(1, o.special(Math.exp, -x)));
  return o.div(o.special(Math.exp, x), o.add(1, o.special(Math.exp, x)));
}
const refCdf = (o: Ops, x: number): number => o.mul(0.5, o.special(erfc, o.div(-x, Math.SQRT2)));
const refTanhArg = (o: Ops, x: number): number => o.mul(o.mul(2, TANH_C), o.add(x, o.mul(o.mul(o.mul(TANH_A, x), x), x)));

const refValue: Record<ActivationName, (o: Ops, x: number) => number> = {
  silu: (o, x) => o.mul(x, refSigmoid(o, x)),
  gelu: (o, x) => o.mul(x, refCdf(o, x)),
  gelu_tanh: (o, x) => o.mul(x, refSigmoid(o, refTanhArg(o, x))),
  sigmoid: refSigmoid,
};
const refSlope: Record<ActivationName, (o: Ops, x: number) => number> = {
  silu: (o, x) => {
    const s = refSigmoid(o, x);
    return o.add(s, o.mul(o.mul(x, s), o.sub(1, s)));
  },
  gelu: (o, x) => o.add(refCdf(o, x), o.mul(x, o.special(Math.exp, o.sub(o.mul(o.mul(-0.5, x), x), LOG_SQRT_2PI)))),
  gelu_tanh: (o, x) => {
    const s = refSigmoid(o, refTanhArg(o, x));
    const inner = o.add(1, o.mul(o.mul(o.mul(3, TANH_A), x), x));
    return o.add(s, o.mul(o.mul(o.mul(o.mul(o.mul(x, s), o.sub(1, s)), 2), TANH_C), inner));
  },
  sigmoid: (o, x) => {
    const s = refSigmoid(o, x);
    return o.mul(s, o.sub(1, s));
  },
};
const names = Object.keys(activations) as ActivationName[];

describe('activation costs (valueFlops, slopeFlops) are what value and slope do', () => {
  it('on both branches of σ, for every activation', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.constantFrom(0, -0, NaN, Infinity, -Infinity)), (name, x) => {
        const act = activations[name];
        const o = new Ops();
        expect(refValue[name](o, x)).toBe(act.value(x));
        expect(act.valueFlops(x)).toBe(o.n);
        const s = new Ops();
        expect(refSlope[name](s, x)).toBe(act.slope(x));
        expect(act.slopeFlops(x)).toBe(s.n);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- normalisation ------------------------------------------------------------------------------

describe('normKernels', () => {
  it('layerNorm charges its count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(vec(n), vec(n), vec(n), fc.double({ min: 1e-6, max: 1e-2, noNaN: true }))), ([x, w, b, eps]) => {
        const o = new Ops();
        const n = x.length;
        let mean = 0;
        for (let i = 0; i < n; i++) mean = o.add(mean, o.div(x[i], n));
        let variance = 0;
        for (let i = 0; i < n; i++) {
          const c = o.sub(x[i], mean);
          variance = o.add(variance, o.div(o.mul(c, c), n));
        }
        const scale = o.div(1, o.special(Math.sqrt, o.add(variance, eps)));
        const ref = Float64Array.from(x, (v, i) => o.add(o.mul(o.mul(o.sub(v, mean), scale), w[i]), b[i]));
        let out: Float64Array = new Float64Array(0);
        expect(charged(() => (out = layerNorm(x, w, b, eps)))).toBe(o.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });

  it('rmsNorm charges its count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(vec(n), vec(n))), ([x, w]) => {
        const o = new Ops();
        let ss = 0;
        for (let i = 0; i < x.length; i++) ss = o.add(ss, o.mul(x[i], x[i]));
        const scale = o.div(1, o.special(Math.sqrt, o.add(o.div(ss, x.length), 1e-5)));
        const ref = Float64Array.from(x, (v, i) => o.mul(o.mul(v, scale), w[i]));
        let out: Float64Array = new Float64Array(0);
        expect(charged(() => (out = rmsNorm(x, w, 1e-5)))).toBe(o.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });
});

// ---- attention and RoPE ----------------------------------------------------------------------------

describe('attentionKernels', () => {
  it('cachedAttention charges its count (grouped heads, any cache length)', () => {
    const shape = fc.record({ kvHeads: fc.integer({ min: 1, max: 3 }), group: fc.integer({ min: 1, max: 3 }), headDim: fc.integer({ min: 1, max: 5 }), T: fc.integer({ min: 1, max: 5 }) });
    fc.assert(
      fc.property(
        shape.chain((s) => fc.tuple(fc.constant(s), vec(s.kvHeads * s.group * s.headDim), fc.array(vec(s.kvHeads * s.headDim), { minLength: s.T, maxLength: s.T }), fc.array(vec(s.kvHeads * s.headDim), { minLength: s.T, maxLength: s.T }))),
        ([{ kvHeads, group, headDim, T }, q, keys, values]) => {
          const heads = kvHeads * group;
          const o = new Ops();
          const ref = new Float64Array(heads * headDim);
          const norm = o.special(Math.sqrt, headDim);
          for (let h = 0; h < heads; h++) {
            const kv = Math.floor(h / group) * headDim;
            const scores: number[] = [];
            for (let s = 0; s < T; s++) {
              let dot = 0;
              for (let i = 0; i < headDim; i++) dot = o.add(dot, o.mul(q[h * headDim + i], keys[s][kv + i]));
              scores.push(o.div(dot, norm));
            }
            const max = Math.max(...scores);
            let sum = 0;
            const e = scores.map((v) => o.special(Math.exp, o.sub(v, max)));
            for (const v of e) sum = o.add(sum, v);
            for (let s = 0; s < T; s++) {
              const weight = o.div(e[s], sum);
              for (let i = 0; i < headDim; i++) ref[h * headDim + i] = o.add(ref[h * headDim + i], o.mul(weight, values[s][kv + i]));
            }
          }
          let out: Float64Array = new Float64Array(0);
          expect(charged(() => (out = cachedAttention(q, keys, values, heads, kvHeads, headDim)))).toBe(o.n);
          expect(bits(out)).toEqual(bits(ref));
        },
      ),
      runs,
    );
  });

  it('rotateHalf charges its count', () => {
    const shape = fc.record({ count: fc.integer({ min: 1, max: 3 }), half: fc.integer({ min: 1, max: 4 }), pos: fc.integer({ min: 0, max: 50 }) });
    fc.assert(
      fc.property(shape.chain((s) => fc.tuple(fc.constant(s), vec(s.count * 2 * s.half))), ([{ count, half, pos }, x]) => {
        const headDim = 2 * half;
        const o = new Ops();
        const ref = x.slice();
        for (let h = 0; h < count; h++) {
          for (let i = 0; i < half; i++) {
            const frequency = o.div(1, o.pow(10000, o.div(o.mul(2, i), headDim)));
            const angle = o.mul(pos, frequency);
            const cos = o.special(Math.cos, angle);
            const sin = o.special(Math.sin, angle);
            const a = ref[h * headDim + i];
            const b = ref[h * headDim + i + half];
            ref[h * headDim + i] = o.sub(o.mul(a, cos), o.mul(b, sin));
            ref[h * headDim + i + half] = o.add(o.mul(b, cos), o.mul(a, sin));
          }
        }
        const out = x.slice();
        expect(charged(() => rotateHalf(out, count, headDim, pos, 10000))).toBe(o.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });
});

// ---- hidden-layer activations ----------------------------------------------------------------------

describe('activationKernels', () => {
  it('activateUnits charges its count (all units or a subset, with or without bias and gate)', () => {
    const shape = fc.record({ name: fc.constantFrom(...names), tokens: fc.integer({ min: 0, max: 3 }), width: fc.integer({ min: 1, max: 6 }), subset: fc.boolean(), bias: fc.boolean(), gate: fc.boolean() });
    fc.assert(
      fc.property(
        shape.chain((s) =>
          fc.tuple(fc.constant(s), vec(s.tokens * s.width, 8), vec(s.tokens * s.width), fc.subarray(Array.from({ length: s.width }, (_, j) => j)), vec(s.width)),
        ),
        ([{ name, tokens, width, subset, bias, gate }, z, up, chosen, b]) => {
          const act = activations[name];
          const units = subset ? Int32Array.from(chosen) : null;
          const count = units === null ? width : units.length;
          const biasArr = bias ? b.subarray(0, count) : null;
          const o = new Ops();
          const ref = new Float64Array(tokens * count);
          for (let t = 0; t < tokens; t++) {
            for (let m = 0; m < count; m++) {
              const j = units === null ? m : units[m];
              const pre = o.add(z[t * width + j], biasArr === null ? 0 : biasArr[m]);
              const a = refValue[name](o, pre);
              ref[t * count + m] = gate ? o.mul(a, up[t * width + j]) : a;
            }
          }
          let out: Float64Array = new Float64Array(0);
          expect(charged(() => (out = activateUnits(act, z, width, tokens, units, biasArr, gate ? up : null)))).toBe(o.n);
          expect(bits(out)).toEqual(bits(ref));
        },
      ),
      runs,
    );
  });

  it('activateWithSlope charges its count', () => {
    const shape = fc.record({ name: fc.constantFrom(...names), tokens: fc.integer({ min: 1, max: 3 }), width: fc.integer({ min: 1, max: 5 }) });
    fc.assert(
      fc.property(shape.chain((s) => fc.tuple(fc.constant(s), vec(s.tokens * s.width, 8), vec(s.width))), ([{ name, width }, z, b]) => {
        const o = new Ops();
        const value = new Float64Array(z.length);
        const slope = new Float64Array(z.length);
        for (let q = 0; q < z.length; q++) {
          const pre = o.add(z[q], b[q % width]);
          value[q] = refValue[name](o, pre);
          slope[q] = refSlope[name](o, pre);
        }
        let out: Float64Array[] = [];
        expect(charged(() => (out = activateWithSlope(activations[name], z, width, b)))).toBe(o.n);
        expect(out.map(bits)).toEqual([bits(value), bits(slope)]);
      }),
      runs,
    );
  });
});

// ---- Taylor series ------------------------------------------------------------------------------------

const maskArb: fc.Arbitrary<SeriesMask | null> = fc.option(fc.record({ minOrder: fc.integer({ min: 0, max: 3 }), threshold: fc.double({ min: 0.25, max: 2, noNaN: true }) }));
const isMasked = (mask: SeriesMask | null, n: number, delta: number): boolean => mask !== null && n > mask.minOrder && Math.abs(delta) > mask.threshold;

describe('seriesKernels', () => {
  const shape = fc.record({ tokens: fc.integer({ min: 1, max: 3 }), width: fc.integer({ min: 1, max: 6 }), o: fc.integer({ min: 1, max: 3 }), N: fc.integer({ min: 0, max: 5 }) });
  const withUnits = shape.chain((s) => fc.tuple(fc.constant(s), fc.subarray(Array.from({ length: s.width }, (_, j) => j), { minLength: 1 }).map((u) => Int32Array.from(u))));

  it('expansionOffsets charges its count', () => {
    fc.assert(
      fc.property(withUnits.chain(([s, units]) => fc.tuple(fc.constant(s), fc.constant(units), vec(s.tokens * s.width), vec(units.length))), ([{ tokens, width }, units, z, z0]) => {
        const o = new Ops();
        const ref = new Float64Array(tokens * units.length);
        for (let t = 0; t < tokens; t++) for (let k = 0; k < units.length; k++) ref[t * units.length + k] = o.sub(z[t * width + units[k]], z0[k]);
        let out: Float64Array = new Float64Array(0);
        expect(charged(() => (out = expansionOffsets(z, width, tokens, units, z0)))).toBe(o.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });

  it('seriesTerms counts only the gated terms the mask keeps (data-dependent)', () => {
    fc.assert(
      fc.property(
        withUnits.chain(([s, units]) => fc.tuple(fc.constant(s), fc.constant(units), vec(s.tokens * units.length, 3), vec(s.tokens * s.width), maskArb, fc.boolean(), fc.integer({ min: 0, max: 6 }))),
        ([{ tokens, width }, units, delta, up, mask, gate, n]) => {
          const K = units.length;
          const power = delta.map((d) => d ** n);
          const o = new Ops();
          const ref = new Float64Array(tokens * K);
          let kept = 0;
          for (let t = 0; t < tokens; t++) {
            for (let k = 0; k < K; k++) {
              const q = t * K + k;
              if (isMasked(mask, n, delta[q])) continue;
              kept++;
              ref[q] = gate ? o.mul(power[q], up[t * width + units[k]]) : power[q];
            }
          }
          const term = new Float64Array(tokens * K).fill(NaN);
          expect(charged(() => seriesTerms(power, delta, n, mask, gate ? up : null, width, units, term))).toBe(o.n);
          expect(bits(term)).toEqual(bits(ref));
          if (gate) expect(o.n).toBe(kept);
        },
      ),
      runs,
    );
  });

  it('fillSeriesCoefficients (f32 and f64 Θ) and foldBiasIntoOrderZero charge their counts', () => {
    fc.assert(
      fc.property(
        withUnits.chain(([s, units]) => fc.tuple(fc.constant(s), fc.constant(units), vec(s.o * s.width), vec((s.N + 1) * units.length), vec(s.o), fc.boolean())),
        ([{ width, o: rows, N }, units, second, scale, bias, f32]) => {
          const K = units.length;
          const ops = new Ops();
          const ref = f32 ? new Float32Array((N + 1) * rows * K) : new Float64Array((N + 1) * rows * K);
          for (let n = 0; n <= N; n++) for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) ref[(n * rows + i) * K + k] = ops.mul(second[i * width + units[k]], scale[n * K + k]);
          const fillCount = ops.n;
          for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) ref[i * K + k] = ops.add(ref[i * K + k], ops.div(bias[i], K));
          const theta = f32 ? new Float32Array(ref.length) : new Float64Array(ref.length);
          expect(charged(() => fillSeriesCoefficients(theta, second, scale, units, N, rows, width))).toBe(fillCount);
          expect(charged(() => foldBiasIntoOrderZero(theta, bias, K))).toBe(ops.n - fillCount);
          expect(bits(theta)).toEqual(bits(ref));
        },
      ),
      runs,
    );
  });

  it('collapsedSeriesUnits counts the kept orders, the powers and the activations it evaluates (data-dependent)', () => {
    const unitShape = fc.record({ name: fc.constantFrom(...names), h: fc.integer({ min: 1, max: 6 }), order: fc.integer({ min: 0, max: 6 }), bias: fc.boolean(), gate: fc.boolean() });
    fc.assert(
      fc.property(
        unitShape.chain((s) => fc.tuple(fc.constant(s), vec(s.h, 3), vec(s.h), vec(s.h), fc.array(fc.boolean(), { minLength: s.h, maxLength: s.h }), vec(s.h, 2), vec(s.h * (s.order + 1), 1), maskArb)),
        ([{ name, h, order, bias, gate }, z, b, up, series, point, coefficients, mask]) => {
          const bySeries = Uint8Array.from(series, (v) => (v ? 1 : 0));
          const o = new Ops();
          const ref = new Float64Array(h);
          for (let j = 0; j < h; j++) {
            const pre = o.add(z[j], bias ? b[j] : 0);
            let value: number;
            if (series[j]) {
              const delta = o.sub(pre, point[j]);
              value = 0;
              let power = 1;
              for (let n = 0; n <= order; n++) {
                if (!isMasked(mask, n, delta)) value = o.add(value, o.mul(coefficients[j * (order + 1) + n], power));
                power = o.mul(power, delta);
              }
            } else value = refValue[name](o, pre);
            ref[j] = gate ? o.mul(value, up[j]) : value;
          }
          let out: Float64Array = new Float64Array(0);
          expect(charged(() => (out = collapsedSeriesUnits(activations[name], z, bias ? b : null, gate ? up : null, bySeries, point, coefficients, order, mask)))).toBe(o.n);
          expect(bits(out)).toEqual(bits(ref));
        },
      ),
      runs,
    );
  });
});

// ---- training ---------------------------------------------------------------------------------------------

describe('backpropKernels and optimizerKernels', () => {
  const shape = fc.record({ T: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 4 }), h: fc.integer({ min: 1, max: 4 }), o: fc.integer({ min: 1, max: 3 }) });

  it('mseOutputGradient charges its count', () => {
    fc.assert(
      fc.property(shape.chain((s) => fc.tuple(fc.constant(s), vec(s.T * s.o), vec(s.o), vec(s.T * s.o))), ([{ T, o }, y, c, target]) => {
        const ops = new Ops();
        const ref = new Float64Array(T * o);
        for (let t = 0; t < T; t++) for (let i = 0; i < o; i++) ref[t * o + i] = ops.div(ops.mul(2, ops.sub(ops.add(y[t * o + i], c[i]), target[t * o + i])), T * o);
        let out: Float64Array = new Float64Array(0);
        expect(charged(() => (out = mseOutputGradient(y, c, target)))).toBe(ops.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });

  it('mlpGradients charges its count', () => {
    fc.assert(
      fc.property(shape.chain((s) => fc.tuple(fc.constant(s), vec(s.T * s.o), vec(s.T * s.h), vec(s.T * s.h), vec(s.o * s.h), vec(s.T * s.d))), ([{ T, d, h, o }, dy, hidden, slope, W, X]) => {
        const ops = new Ops();
        const ref = { first: new Float64Array(h * d), firstBias: new Float64Array(h), second: new Float64Array(o * h), secondBias: new Float64Array(o) };
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < o; i++) {
            ref.secondBias[i] = ops.add(ref.secondBias[i], dy[t * o + i]);
            for (let j = 0; j < h; j++) ref.second[i * h + j] = ops.add(ref.second[i * h + j], ops.mul(dy[t * o + i], hidden[t * h + j]));
          }
          for (let j = 0; j < h; j++) {
            let dh = 0;
            for (let i = 0; i < o; i++) dh = ops.add(dh, ops.mul(dy[t * o + i], W[i * h + j]));
            const dz = ops.mul(dh, slope[t * h + j]);
            ref.firstBias[j] = ops.add(ref.firstBias[j], dz);
            for (let k = 0; k < d; k++) ref.first[j * d + k] = ops.add(ref.first[j * d + k], ops.mul(dz, X[t * d + k]));
          }
        }
        const grads = { first: new Float64Array(h * d).fill(7), firstBias: new Float64Array(h), second: new Float64Array(o * h), secondBias: new Float64Array(o) };
        expect(charged(() => mlpGradients(dy, hidden, slope, W, X, T, d, h, o, grads))).toBe(ops.n);
        expect(Object.values(grads).map(bits)).toEqual(Object.values(ref).map(bits));
      }),
      runs,
    );
  });

  it('adamStep charges its count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(vec(n), vec(n), vec(n), vec(n, 1).map((v) => v.map(Math.abs)), fc.integer({ min: 1, max: 50 }), fc.double({ min: 1e-4, max: 0.1, noNaN: true }))),
        ([p, g, m, v, step, lr]) => {
          const ops = new Ops();
          const [rp, rm, rv] = [p.slice(), m.slice(), v.slice()];
          const c1 = ops.sub(1, ops.pow(0.9, step));
          const c2 = ops.sub(1, ops.pow(0.999, step));
          for (let q = 0; q < p.length; q++) {
            rm[q] = ops.add(ops.mul(0.9, rm[q]), ops.mul(0.1, g[q]));
            rv[q] = ops.add(ops.mul(0.999, rv[q]), ops.mul(ops.mul(0.001, g[q]), g[q]));
            const mHat = ops.div(rm[q], c1);
            const vHat = ops.div(rv[q], c2);
            rp[q] = ops.sub(rp[q], ops.div(ops.mul(lr, mHat), ops.add(ops.special(Math.sqrt, vHat), 1e-8)));
          }
          expect(charged(() => adamStep(p, g, m, v, step, lr))).toBe(ops.n);
          expect([p, m, v].map(bits)).toEqual([rp, rm, rv].map(bits));
        },
      ),
      runs,
    );
  });
});

// ---- the small in-place kernels -----------------------------------------------------------------------

describe('in-place kernels (kernels.ts)', () => {
  it('addRowBias, addInPlace and multiplyInPlace charge their counts', () => {
    fc.assert(
      fc.property(fc.record({ rows: fc.integer({ min: 0, max: 4 }), n: fc.integer({ min: 1, max: 5 }) }).chain((s) => fc.tuple(fc.constant(s), vec(s.rows * s.n), vec(s.n), vec(s.rows * s.n))), ([{ rows, n }, x, bias, y]) => {
        const ops = new Ops();
        const ref = x.slice();
        for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) ref[r * n + i] = ops.add(ref[r * n + i], bias[i]);
        const biasCount = ops.n;
        for (let q = 0; q < ref.length; q++) ref[q] = ops.add(ref[q], y[q]);
        const addCount = ops.n - biasCount;
        for (let q = 0; q < ref.length; q++) ref[q] = ops.mul(ref[q], y[q]);
        const out = x.slice();
        expect(charged(() => addRowBias(out, bias))).toBe(biasCount);
        expect(charged(() => addInPlace(out, y))).toBe(addCount);
        expect(charged(() => multiplyInPlace(out, y))).toBe(ops.n - biasCount - addCount);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });
});

describe('matMul counts the rows it skips for zero entries (data-dependent)', () => {
  it('charges 2 per multiply-add it does', () => {
    const sparse = (n: number) => fc.array(fc.oneof(fc.constant(0), fc.double({ min: -4, max: 4, noNaN: true })), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));
    fc.assert(
      fc.property(fc.record({ m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }) }).chain((s) => fc.tuple(fc.constant(s), sparse(s.m * s.k), vec(s.k * s.n))), ([{ m, k, n }, a, b]) => {
        const ops = new Ops();
        const ref = new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) if (a[i * k + p] !== 0) for (let j = 0; j < n; j++) ref[i * n + j] = ops.add(ref[i * n + j], ops.mul(a[i * k + p], b[p * n + j]));
        let out: ArrayLike<number> = [];
        expect(charged(() => (out = matMul(tensor([m, k], a), tensor([k, n], b)).data))).toBe(ops.n);
        expect(bits(out)).toEqual(bits(ref));
      }),
      runs,
    );
  });
});

describe('samplingKernels', () => {
  it('sampleSoftmax counts the steps of the walk it takes (data-dependent)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(vec(n, 6), fc.double({ min: 0.1, max: 2, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))), ([logits, temperature, u]) => {
        const ops = new Ops();
        const max = Math.max(...logits);
        const w = Array.from(logits, (v) => ops.special(Math.exp, ops.div(ops.sub(v, max), temperature)));
        let total = 0;
        for (const v of w) total = ops.add(total, v);
        let r = ops.mul(u, total);
        let ref = w.length - 1;
        for (let i = 0; i < w.length; i++) {
          r = ops.sub(r, w[i]);
          if (r <= 0) {
            ref = i;
            break;
          }
        }
        let next = -1;
        expect(charged(() => (next = sampleSoftmax(logits, temperature, u)))).toBe(ops.n);
        expect(next).toBe(ref);
      }),
      runs,
    );
  });
});

describe('attackKernels (the attacks on TaylorMLP)', () => {
  // Θ of N+1 orders, o rows, K units; entries in [−4, 4] with zeros.
  const shape = fc.record({ N: fc.integer({ min: 1, max: 4 }), o: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1000 }) });
  const fill = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, (_, q) => ((q * 7 + seed) % 5 === 0 ? 0 : Math.sin(q * 1.7 + seed) * 4));

  it('orderNorms, profileDots and combineOrders: outputs and charges match an operation-by-operation reference', () => {
    fc.assert(
      fc.property(shape, ({ N, o, K, seed }) => {
        const theta = fill((N + 1) * o * K, seed);
        const at = (n: number, i: number, k: number): number => theta[(n * o + i) * K + k];
        // orderNorms
        const norms = new Float64Array((N + 1) * K);
        const cost = charged(() => orderNorms(theta, norms, N, o, K));
        const ops = new Ops();
        const refNorms = new Float64Array((N + 1) * K);
        for (let n = 1; n <= N; n++) for (let i = 0; i < o; i++) for (let k = 0; k < K; k++) refNorms[n * K + k] = ops.add(refNorms[n * K + k], ops.mul(at(n, i, k), at(n, i, k)));
        expect(bits(norms)).toEqual(bits(refNorms));
        expect(cost).toBe(ops.n);
        // profileDots
        const reference = Int32Array.from({ length: K }, (_, k) => 1 + ((k + seed) % N));
        const dots = new Float64Array((N + 1) * K);
        const fourth = new Float64Array(K);
        const dotCost = charged(() => profileDots(theta, reference, dots, fourth, N, o, K));
        const ops2 = new Ops();
        const refDots = new Float64Array((N + 1) * K);
        const refFourth = new Float64Array(K);
        for (let i = 0; i < o; i++) {
          for (let k = 0; k < K; k++) {
            const v = at(reference[k], i, k);
            refFourth[k] = ops2.add(refFourth[k], ops2.mul(ops2.mul(ops2.mul(v, v), v), v));
          }
          for (let n = 1; n <= N; n++) for (let k = 0; k < K; k++) refDots[n * K + k] = ops2.add(refDots[n * K + k], ops2.mul(at(n, i, k), at(reference[k], i, k)));
        }
        expect(bits(dots)).toEqual(bits(refDots));
        expect(bits(fourth)).toEqual(bits(refFourth));
        expect(dotCost).toBe(ops2.n);
        // combineOrders
        const h = K + 2;
        const expanded = Int32Array.from({ length: K }, (_, k) => k + 1);
        const selected = Uint8Array.from({ length: K }, (_, k) => (k + seed) % 3 === 0 ? 0 : 1);
        const coefficients = fill((N + 1) * K, seed + 1);
        const second = new Float64Array(o * h);
        const combineCost = charged(() => combineOrders(theta, coefficients, selected, expanded, second, N, o, K, h));
        const ops3 = new Ops();
        const refSecond = new Float64Array(o * h);
        for (let i = 0; i < o; i++) {
          for (let k = 0; k < K; k++) {
            let acc = 0;
            for (let n = 1; n <= N; n++) acc = ops3.add(acc, ops3.mul(at(n, i, k), coefficients[n * K + k]));
            if (selected[k]) refSecond[i * h + expanded[k]] = acc;
          }
        }
        expect(bits(second)).toEqual(bits(refSecond));
        expect(combineCost).toBe(ops3.n);
      }),
      runs,
    );
  });

  it('weightedMisfit: [residual, λ] and its charge match a reference (zero profiles, both signs, any order range)', () => {
    fc.assert(
      fc.property(vec(8), vec(8, 1), vec(12), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (g, wRaw, p, offset, from, span, negative) => {
        const w = wRaw.map(Math.abs);
        const to = Math.min(7, from + span);
        const [result, meter] = withMeter(() => weightedMisfit(g, w, p, offset, from, to, negative));
        const cost = meter.flops;
        const o = new Ops();
        const [residual, lambda] = refMisfit(o, g, w, p, offset, from, to, negative);
        expect(bits(result)).toEqual([residual, lambda]);
        expect(cost).toBe(o.n);
      }),
      runs,
    );
  });
});

describe('lineKernels and linalgKernels (the generic extraction attacks)', () => {
  const scalar = fc.double({ min: -8, max: 8, noNaN: true });

  it('scalar kernels: midpoint, lerp, affine, quotient match a reference bit for bit and charge its count', () => {
    fc.assert(
      fc.property(scalar, scalar, scalar, (a, b, s) => {
        const cases: [() => number, (o: Ops) => number][] = [
          [() => midpoint(a, b), (o) => o.div(o.add(a, b), 2)],
          [() => lerp(a, b, s), (o) => o.add(a, o.mul(s, o.sub(b, a)))],
          [() => affine(a, s, b), (o) => o.add(a, o.mul(s, b))],
          [() => quotient(a, b === 0 ? 1 : b), (o) => o.div(a, b === 0 ? 1 : b)],
        ];
        for (const [kernel, reference] of cases) {
          const [value, meter] = withMeter(kernel);
          const o = new Ops();
          expect(Object.is(value, reference(o))).toBe(true);
          expect(meter.flops).toBe(o.n);
        }
      }),
      runs,
    );
  });

  it('vector kernels: chordDeviation, secant, maxAbsDifference, maxAbs, shiftCoordinate, scale, outer, normalize, linspace', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(vec(n), vec(n), vec(n), fc.integer({ min: 0, max: n - 1 }))), scalar, fc.integer({ min: 1, max: 9 }), ([fa, fm, fb, k], h, count) => {
        const n = fa.length;
        const step = h === 0 ? 0.5 : h;
        // chordDeviation
        let o = new Ops();
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(o.sub(fm[i], o.div(o.add(fa[i], fb[i]), 2))));
        let [value, meter] = withMeter(() => chordDeviation(fa, fm, fb));
        expect(value).toBe(worst);
        expect(meter.flops).toBe(o.n);
        // secant
        o = new Ops();
        const slope = Float64Array.from(fa, (v, i) => o.div(o.sub(v, fb[i]), step));
        const [s, sm] = withMeter(() => secant(fa, fb, step));
        expect(bits(s)).toEqual(bits(slope));
        expect(sm.flops).toBe(o.n);
        // maxAbsDifference
        o = new Ops();
        worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(o.sub(fa[i], fb[i])));
        [value, meter] = withMeter(() => maxAbsDifference(fa, fb));
        expect(value).toBe(worst);
        expect(meter.flops).toBe(o.n);
        // maxAbs: comparisons only
        [value, meter] = withMeter(() => maxAbs(fm));
        expect(value).toBe(Math.max(0, ...Array.from(fm, Math.abs)));
        expect(meter.flops).toBe(0);
        // shiftCoordinate
        o = new Ops();
        const shifted = Float64Array.from(fa);
        shifted[k] = o.add(shifted[k], step);
        const [sh, shm] = withMeter(() => shiftCoordinate(fa, k, step));
        expect(bits(sh)).toEqual(bits(shifted));
        expect(shm.flops).toBe(o.n);
        // scale
        o = new Ops();
        const scaled = Float64Array.from(fa, (v) => o.mul(step, v));
        const [sc, scm] = withMeter(() => scale(fa, step));
        expect(bits(sc)).toEqual(bits(scaled));
        expect(scm.flops).toBe(o.n);
        // outer
        o = new Ops();
        const product: number[] = [];
        for (const a of fa) for (const b of fm) product.push(o.mul(a, b));
        const [op, opm] = withMeter(() => outer(fa, fm));
        expect(bits(op)).toEqual(product);
        expect(opm.flops).toBe(o.n);
        // normalize
        o = new Ops();
        let ss = 0;
        for (const v of fb) ss = o.add(ss, o.mul(v, v));
        const norm = o.special(Math.sqrt, ss);
        const unit = Float64Array.from(fb, (v) => o.div(v, norm));
        const [[nv, nn], nm] = withMeter(() => normalize(fb));
        expect(bits(nv)).toEqual(bits(unit));
        expect(nn).toBe(norm);
        expect(nm.flops).toBe(o.n);
        // linspace: one step, then lo + i·step for each point
        o = new Ops();
        const width = o.div(o.sub(step, -1), count);
        const points = Array.from({ length: count + 1 }, (_, i) => o.add(-1, o.mul(i, width)));
        const [ls, lsm] = withMeter(() => linspace(-1, step, count));
        expect(ls).toEqual(points);
        expect(lsm.flops).toBe(o.n);
      }),
      runs,
    );
  });

  it('lineIntersection: t* and the value there match a reference bit for bit, with its count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(vec(n), vec(n), vec(n), vec(n))), scalar, scalar, ([fa, sa, fb, sb], ta, tb) => {
        const o = new Ops();
        let num = 0;
        let den = 0;
        for (let i = 0; i < fa.length; i++) {
          const ds = o.sub(sa[i], sb[i]);
          const r = o.sub(o.add(o.sub(fb[i], fa[i]), o.mul(sa[i], ta)), o.mul(sb[i], tb));
          num = o.add(num, o.mul(ds, r));
          den = o.add(den, o.mul(ds, ds));
        }
        const t = o.div(num, den);
        const dt = o.sub(t, ta);
        const value = Float64Array.from(fa, (v, i) => o.add(v, o.mul(sa[i], dt)));
        const [hit, meter] = withMeter(() => lineIntersection(ta, fa, sa, tb, fb, sb));
        expect(Object.is(hit.t, t) || (Number.isNaN(hit.t) && Number.isNaN(t))).toBe(true);
        expect(bits(hit.value)).toEqual(bits(value));
        expect(meter.flops).toBe(o.n);
      }),
      runs,
    );
  });

  it('leastSquares: the solution of a reference Householder QR bit for bit, and its count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: n, max: n + 3 }), fc.integer({ min: 1, max: 2 }))), fc.integer({ min: 0, max: 1000 }), ([n, m, k], seed) => {
        const a = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.3 + seed) + (i % (n + 1) === 0 ? 3 : 0));
        const b = Float64Array.from({ length: m * k }, (_, i) => Math.cos(i * 0.7 + seed));
        const o = new Ops();
        const A = Float64Array.from(a);
        const B = Float64Array.from(b);
        const v = new Float64Array(m);
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = j; i < m; i++) s = o.add(s, o.mul(A[i * n + j], A[i * n + j]));
          const norm = o.special(Math.sqrt, s);
          const alpha = A[j * n + j] > 0 ? -norm : norm;
          v[j] = o.sub(A[j * n + j], alpha);
          for (let i = j + 1; i < m; i++) v[i] = A[i * n + j];
          let vtv = 0;
          for (let i = j; i < m; i++) vtv = o.add(vtv, o.mul(v[i], v[i]));
          A[j * n + j] = alpha;
          for (let i = j + 1; i < m; i++) A[i * n + j] = 0;
          const reflect = (M: Float64Array, width: number, c: number): void => {
            let d = 0;
            for (let i = j; i < m; i++) d = o.add(d, o.mul(v[i], M[i * width + c]));
            const f = o.div(o.mul(2, d), vtv);
            for (let i = j; i < m; i++) M[i * width + c] = o.sub(M[i * width + c], o.mul(f, v[i]));
          };
          for (let c = j + 1; c < n; c++) reflect(A, n, c);
          for (let c = 0; c < k; c++) reflect(B, k, c);
        }
        const X = new Float64Array(n * k);
        for (let c = 0; c < k; c++) {
          for (let i = n - 1; i >= 0; i--) {
            let acc = B[i * k + c];
            for (let p = i + 1; p < n; p++) acc = o.sub(acc, o.mul(A[i * n + p], X[p * k + c]));
            X[i * k + c] = o.div(acc, A[i * n + i]);
          }
        }
        const [x, meter] = withMeter(() => leastSquares(a, m, n, b, k));
        expect(bits(x)).toEqual(bits(X));
        // The kernel charges n² per column for back substitution (its closed form); the reference
        // does n(n − 1) multiply-subtracts and n divisions, n² in all.
        expect(meter.flops).toBe(o.n);
      }),
      runs,
    );
  });
});

// ---- no hand-written charges outside the kernels ---------------------------------------------------------

describe('chargeFlops is called only by kernels', () => {
  it('no call outside src/tensor, src/numerics/activations.ts and the meter itself', () => {
    const root = path.resolve(__dirname, '..');
    const allowed = (file: string): boolean => file.startsWith('src/numerics/tensor/') || file === 'src/numerics/activations.ts' || file === 'src/kernel/cost/meter.ts';
    const pending = new Set<string>();
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(rel);
        else if (rel.endsWith('.ts') && !allowed(rel) && !pending.has(rel) && /\bchargeFlops\s*\(/.test(fs.readFileSync(path.join(root, rel), 'utf8'))) offenders.push(rel);
      }
    };
    for (const dir of ['src', 'games', 'schemes', 'adversaries', 'bench']) walk(dir);
    expect(offenders).toEqual([]);
  });
});

describe('matMulTransposed counts every output’s two-accumulator dot product and the add that joins them', () => {
  it('charges (2k + 1)·mn, bit for bit with a reference through Ops', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1000 }), (m, k, n, salt) => {
        const a = Float64Array.from({ length: m * k }, (_, q) => Math.sin(q + salt));
        const b = Float64Array.from({ length: n * k }, (_, q) => Math.cos(2 * q + salt));
        const [result, cost] = withMeter(() => matMulTransposed(tensor([m, k], a), tensor([n, k], b)));
        const o = new Ops();
        const expected: number[] = [];
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let acc0 = 0;
            let acc1 = 0;
            let p = 0;
            for (; p + 1 < k; p += 2) {
              acc0 = o.add(acc0, o.mul(a[i * k + p], b[j * k + p]));
              acc1 = o.add(acc1, o.mul(a[i * k + p + 1], b[j * k + p + 1]));
            }
            if (p < k) acc0 = o.add(acc0, o.mul(a[i * k + p], b[j * k + p]));
            expected.push(o.add(acc0, acc1));
          }
        }
        expect(bits(result.data)).toEqual(expected);
        expect(cost.flops).toBe(o.n);
      }),
      runs,
    );
  });
});
