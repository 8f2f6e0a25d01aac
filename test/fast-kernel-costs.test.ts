import fc from 'fast-check';
import { withMeter } from '../src/kernel/cost/meter';
import { bf16BitsToFloat32, float32ToBf16Bits, widenBf16Into } from '../src/numerics/io/halfPrecision';
import { matMulTransposedRange } from '../src/numerics/tensor/kernels';
import { fillSeriesCoefficients, foldBiasIntoOrderZero, seriesCoefficientSlab } from '../src/numerics/tensor/seriesKernels';
import { gridMisfits, MisfitGrid } from '../src/numerics/tensor/attackKernels';
import { MisfitGridKernel } from '../src/numerics/tensor/simd/misfitGrid';
import { SweepKernel } from '../src/numerics/tensor/simd/sweepKernel';
import { derivativeGrid } from '../src/numerics/tensor/derivativeKernels';
import { activationByName } from '../src/numerics/activations';
import { accumulateOrder, combinedDisagreement, inverseOrderScale, orderDisagreement, orderScaleDeviation, precisionWeights } from '../src/numerics/tensor/fastAttackKernels';
import { Ops, refGridMisfits, refMisfit } from './helpers/countingOps';

/**
 * The kernels the performance work added (issue 11), against an independent count as in
 * test/kernel-costs.test.ts: each reference is the plain loop written through the counter (`Ops`,
 * which knows only src/tensor/flopModel.ts); it must give the kernel's output bit for bit and its
 * charge count for count.
 */

const charged = <A>(thunk: () => A): [A, number] => {
  const [value, cost] = withMeter(thunk);
  return [value, cost.flops];
};
const bits = (x: ArrayLike<number>): number[] => Array.from(x);
const runs = { numRuns: 60 };

/** The one arbitrary of this file: n float64 entries in [−r, r], with zeros, signed zeros and (when `huge`) values that overflow float32 once multiplied. */
const vec = (n: number, r = 4, huge = false): fc.Arbitrary<Float64Array> =>
  fc
    .array(fc.oneof(fc.double({ min: -r, max: r, noNaN: true }), fc.constantFrom(0, -0, ...(huge ? [3e38, -2e38] : [r]))), { minLength: n, maxLength: n })
    .map((a) => Float64Array.from(a));

// ---- seriesCoefficientSlab ----------------------------------------------------------------------

describe('seriesCoefficientSlab (one order of Θ in its storage form)', () => {
  const shape = fc.record({ o: fc.integer({ min: 1, max: 5 }), K: fc.integer({ min: 1, max: 4 }), extra: fc.integer({ min: 0, max: 2 }), N: fc.integer({ min: 0, max: 3 }), seed: fc.nat(), withBias: fc.boolean(), bf16: fc.boolean() });
  const problem = shape.chain((s) => fc.tuple(fc.constant(s), vec(s.o * (s.K + s.extra), 4, true), vec((s.N + 1) * s.K, 10), vec(s.o, 4, true), fc.integer({ min: 0, max: s.N })));

  it('matches the reference (float32 rounding, the bias folded in, bf16 nearest-even), the first non-finite index, and the count', () => {
    fc.assert(
      fc.property(problem, ([{ o, K, extra, N, seed, withBias, bf16 }, second, scale, bias, n]) => {
        const width = K + extra;
        // K distinct units out of width, in a seeded order.
        const units = Int32Array.from(Array.from({ length: width }, (_, j) => j).sort((a, b) => ((a * 7 + seed) % width) - ((b * 7 + seed) % width)).slice(0, K));
        const ops = new Ops();
        const ref32 = new Float32Array(o * K);
        for (let i = 0; i < o; i++) {
          for (let k = 0; k < K; k++) {
            let x = Math.fround(ops.mul(second[i * width + units[k]], scale[n * K + k]));
            if (withBias) x = Math.fround(ops.add(x, ops.div(bias[i], K)));
            ref32[i * K + k] = x;
          }
        }
        const stored = bf16 ? Uint16Array.from(ref32, (v) => float32ToBf16Bits(v)) : ref32;
        const value = (q: number): number => (bf16 ? bf16BitsToFloat32(stored[q]) : stored[q]);
        let firstBad = -1;
        for (let q = 0; q < o * K && firstBad < 0; q++) if (!Number.isFinite(value(q))) firstBad = q;

        const out = bf16 ? new Uint16Array(o * K) : new Float32Array(o * K);
        const [bad, cost] = charged(() => seriesCoefficientSlab(out, second, scale, units, n, o, width, withBias ? bias : null));
        expect(bits(out)).toEqual(bits(stored));
        expect(bad).toBe(firstBad);
        expect(cost).toBe(ops.n);

        // And it is what fillSeriesCoefficients then foldBiasIntoOrderZero store in a float32 Θ (order n's slab).
        const theta = new Float32Array((N + 1) * o * K);
        withMeter(() => {
          fillSeriesCoefficients(theta, second, scale, units, N, o, width);
          if (withBias && n === 0) foldBiasIntoOrderZero(theta, bias, K);
        });
        if (!withBias || n === 0) expect(bits(theta.subarray(n * o * K, (n + 1) * o * K))).toEqual(bits(ref32));
      }),
      { numRuns: 150 },
    );
  });
});

// ---- matMulTransposedRange ----------------------------------------------------------------------

describe('matMulTransposedRange (the per-column range of A Bᵀ without A Bᵀ)', () => {
  // B as stored weights (float32) takes the WebAssembly SIMD path for its row pairs × column quads
  // (src/numerics/tensor/simd/rangeProduct.ts): shapes up to 7 × 11 leave rows and columns over.
  const problem = fc
    .record({ m: fc.integer({ min: 1, max: 7 }), n: fc.integer({ min: 1, max: 11 }), k: fc.integer({ min: 0, max: 7 }), zero: fc.boolean(), float32: fc.boolean() })
    .chain((s) => fc.tuple(fc.constant(s), vec(s.m * s.k), vec(s.n * s.k).map((b) => (s.float32 ? Float32Array.from(b) : b))));

  it('matches the reference (two accumulators, even and odd p, added at the end; rows in order) and the count, B float64 or float32', () => {
    fc.assert(
      fc.property(problem, ([{ m, n, k, zero }, a, b]) => {
        const ops = new Ops();
        const min = new Float64Array(n).fill(zero ? 0 : Infinity);
        const max = new Float64Array(n).fill(zero ? 0 : -Infinity);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let acc0 = 0;
            let acc1 = 0;
            for (let p = 0; p < k; p++) {
              if (p % 2 === 0) acc0 = ops.add(acc0, ops.mul(a[i * k + p], b[j * k + p]));
              else acc1 = ops.add(acc1, ops.mul(a[i * k + p], b[j * k + p]));
            }
            const v = ops.add(acc0, acc1);
            if (v < min[j]) min[j] = v;
            if (v > max[j]) max[j] = v;
          }
        }
        const gotMin = new Float64Array(n).fill(zero ? 0 : Infinity);
        const gotMax = new Float64Array(n).fill(zero ? 0 : -Infinity);
        const [, cost] = charged(() => matMulTransposedRange(a, m, b, n, k, gotMin, gotMax));
        expect(bits(gotMin)).toEqual(bits(min));
        expect(bits(gotMax)).toEqual(bits(max));
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });
});

// ---- gridMisfits --------------------------------------------------------------------------------

describe('gridMisfits (weightedMisfit at every grid point)', () => {
  const problem = fc
    .record({ N: fc.integer({ min: 1, max: 6 }), points: fc.integer({ min: 0, max: 11 }), from: fc.integer({ min: 0, max: 3 }), span: fc.integer({ min: -1, max: 5 }), negative: fc.boolean(), zeroPoint: fc.integer({ min: -1, max: 4 }) })
    .chain((s) => fc.tuple(fc.constant(s), vec(s.N + 1), vec(s.N + 1, 100), vec(s.points * (s.N + 2))));

  it('matches refMisfit point by point, bit for bit, residuals and scales λ (a zero profile: λ = 0, no ÷), four points at a time and the rest; counts ω·g once, then each point', () => {
    fc.assert(
      fc.property(problem, fc.boolean(), ([{ N, points, from, span, negative, zeroPoint }, g, w, p], withScales) => {
        const width = N + 2;
        const to = Math.min(N, from + span);
        const weights = w.map(Math.abs);
        if (zeroPoint >= 0 && zeroPoint < points) p.fill(0, zeroPoint * width, (zeroPoint + 1) * width);
        const ref = Array.from({ length: points }, (_, q) => refMisfit(new Ops(), g, weights, p, q * width, from, to, negative));
        const ops = new Ops();
        const grid = refGridMisfits(ops, g, weights, p, width, points, from, to, negative);
        expect(bits(Float64Array.from(grid, (r) => r[0]))).toEqual(bits(Float64Array.from(ref, (r) => r[0])));
        const out = new Float64Array(points);
        const scales = withScales ? new Float64Array(points) : undefined;
        const [, cost] = charged(() => gridMisfits(g, weights, p, width, points, from, to, negative, out, scales));
        expect(bits(out)).toEqual(bits(Float64Array.from(ref, (r) => r[0])));
        if (scales !== undefined) expect(bits(scales)).toEqual(bits(Float64Array.from(ref, (r) => r[1])));
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });
});

describe('MisfitGrid (gridMisfits on one grid for many profiles; the quads in WebAssembly SIMD)', () => {
  it('runs its SIMD kernel on Node 20, which itself gives the quads\' points (4·⌊points/4⌋ of them) as gridMisfits does, and the ÷ count', () => {
    expect(MisfitGridKernel.available).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 23 }), fc.integer({ min: 0, max: 2 ** 30 }), fc.boolean(), (points, seed, negative) => {
        const N = 6;
        const width = N + 2;
        const [p, g, w] = [fc.sample(vec(points * width, 6), { numRuns: 1, seed })[0], fc.sample(vec(width), { numRuns: 1, seed: seed + 1 })[0], fc.sample(vec(width, 100), { numRuns: 1, seed: seed + 2 })[0].map(Math.abs)];
        const quads = 4 * Math.floor(points / 4);
        const expected = new Float64Array(quads);
        const expectedScales = new Float64Array(quads);
        // gridMisfits on the quads' points alone: its charge is N (ω·g) + 10·N a point + the ÷ count.
        const [, cost] = charged(() => gridMisfits(g, w, p, width, quads, 1, N, negative, expected, expectedScales));
        const gs = g.map((x, n) => (negative && n % 2 === 1 ? -x : x));
        const wg = w.map((x, n) => x * gs[n]);
        const kernel = new MisfitGridKernel(p, width, points);
        try {
          const out = new Float64Array(quads);
          const scales = new Float64Array(quads);
          const divisions = kernel.misfits(gs, w, wg, 1, N, out, scales);
          expect(bits(out)).toEqual(bits(expected));
          expect(bits(scales)).toEqual(bits(expectedScales));
          expect(divisions).toBe(cost - N - quads * 10 * N);
        } finally {
          kernel.close();
        }
      }),
      runs,
    );
  });

  // Two grids (a second one places its table in the same kernel memory between the first's calls), several profiles each.
  const problem = fc
    .record({ N: fc.integer({ min: 1, max: 9 }), points: fc.array(fc.integer({ min: 0, max: 23 }), { minLength: 2, maxLength: 2 }), calls: fc.integer({ min: 1, max: 4 }) })
    .chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.tuple(vec(s.points[0] * (s.N + 2), 6), vec(s.points[1] * (s.N + 2), 6)),
        fc.array(fc.record({ grid: fc.integer({ min: 0, max: 1 }), g: vec(s.N + 1), w: vec(s.N + 1, 100), from: fc.integer({ min: 0, max: 3 }), span: fc.integer({ min: -1, max: 9 }), negative: fc.boolean(), zeroPoint: fc.integer({ min: -1, max: 6 }), withScales: fc.boolean() }), { minLength: s.calls, maxLength: s.calls * 2 }),
      ),
    );

  it('every profile: the residuals and scales λ of gridMisfits bit for bit, and its charge', () => {
    fc.assert(
      fc.property(problem, ([{ N, points }, tables, calls]) => {
        const width = N + 2;
        for (const call of calls) if (call.zeroPoint >= 0 && call.zeroPoint < points[call.grid]) tables[call.grid].fill(0, call.zeroPoint * width, (call.zeroPoint + 1) * width);
        const grids = [0, 1].map((i) => new MisfitGrid(tables[i], width, points[i]));
        try {
          for (const { grid, g, w, from, span, negative, withScales } of calls) {
            const to = Math.min(N, from + span);
            const weights = w.map(Math.abs);
            const n = points[grid];
            const expected = new Float64Array(n);
            const expectedScales = new Float64Array(n);
            const [, expectedCost] = charged(() => gridMisfits(g, weights, tables[grid], width, n, from, to, negative, expected, expectedScales));
            const out = new Float64Array(n).fill(NaN);
            const scales = withScales ? new Float64Array(n).fill(NaN) : undefined;
            const [, cost] = charged(() => grids[grid].misfits(g, weights, from, to, negative, out, scales));
            expect(bits(out)).toEqual(bits(expected));
            if (scales !== undefined) expect(bits(scales)).toEqual(bits(expectedScales));
            expect(cost).toBe(expectedCost);
          }
        } finally {
          grids.forEach((grid) => grid.close());
        }
      }),
      runs,
    );
  });

  it('the grid the fit uses (GELU and SiLU derivative tables, 321 points, N = 8): the same bits as gridMisfits for profiles of real units', () => {
    for (const name of ['gelu', 'silu'] as const) {
      const table = derivativeGrid(activationByName(name), 40, 0.25, 9);
      const grid = new MisfitGrid(table.p, table.width, table.u.length);
      try {
        fc.assert(
          fc.property(fc.integer({ min: 0, max: table.u.length - 1 }), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.boolean(), vec(9, 1e-3), (q, lambda, negative, noise) => {
            // A unit's profile: λ·sⁿpₙ(u) at a grid point, with noise, and the fit's weights 1/(g²ε² + τ²).
            const g = Float64Array.from({ length: 9 }, (_, n) => lambda * (negative && n % 2 === 1 ? -1 : 1) * table.p[q * table.width + n] + noise[n]);
            const w = g.map((x) => 1 / (x * x * 2 ** -16 + 1e-12));
            const expected = new Float64Array(table.u.length);
            const expectedScales = new Float64Array(table.u.length);
            const [, expectedCost] = charged(() => gridMisfits(g, w, table.p, table.width, table.u.length, 1, 8, negative, expected, expectedScales));
            const out = new Float64Array(table.u.length);
            const scales = new Float64Array(table.u.length);
            const [, cost] = charged(() => grid.misfits(g, w, 1, 8, negative, out, scales));
            expect(bits(out)).toEqual(bits(expected));
            expect(bits(scales)).toEqual(bits(expectedScales));
            expect(cost).toBe(expectedCost);
          }),
          { numRuns: 40 },
        );
      } finally {
        grid.close();
      }
    }
  });
});

describe('SweepKernel (the sampled attack\'s sweep in WebAssembly SIMD)', () => {
  it('runs on Node 20', () => {
    expect(SweepKernel.available).toBe(true);
  });

  /** Stored values: finite float32s (bf16: their top halves), zeros of both signs, subnormals. */
  const stored = fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), fc.constantFrom(0, -0, 1e-40, -3e-39));
  const problem = fc
    .record({ dtype: fc.constantFrom('F32' as const, 'BF16' as const), K: fc.integer({ min: 1, max: 13 }), maxRows: fc.integer({ min: 1, max: 5 }), orders: fc.integer({ min: 1, max: 3 }) })
    .chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.array(fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(0, -0)), { minLength: s.K, maxLength: s.K }), { minLength: s.orders, maxLength: s.orders }),
        fc.array(fc.record({ order: fc.integer({ min: 0, max: s.orders - 1 }), rows: fc.integer({ min: 0, max: s.maxRows }), values: fc.array(stored, { minLength: s.maxRows * s.K, maxLength: s.maxRows * s.K }) }), { minLength: 1, maxLength: 4 }),
      ),
    );
  /** The stored bytes of `values` (bf16: each float32's top half, as widenBf16Into reads them back). */
  const bytesOf = (dtype: 'F32' | 'BF16', values: readonly number[]): Uint8Array => {
    const f32 = Float32Array.from(values);
    if (dtype === 'F32') return new Uint8Array(f32.buffer);
    return new Uint8Array(Uint16Array.from(new Uint32Array(f32.buffer), (x) => x >>> 16).buffer);
  };

  it('acc += Θ·coefficient bit for bit as floatsInto then accumulateOrder (zero coefficients, odd K), and its charge', () => {
    fc.assert(
      fc.property(problem, ([{ dtype, K, maxRows }, coefficients, steps]) => {
        const orders = coefficients.map((c) => Float64Array.from(c));
        const kernel = new SweepKernel(dtype, K, maxRows, orders);
        try {
          const expected = new Float64Array(maxRows * K);
          kernel.acc.fill(0);
          for (const { order, rows, values } of steps) {
            const bytes = bytesOf(dtype, values);
            kernel.raw.set(bytes.subarray(0, rows * K * (dtype === 'BF16' ? 2 : 4)));
            const widened = new Float32Array(maxRows * K);
            if (dtype === 'F32') widened.set(new Float32Array(bytes.buffer));
            else widenBf16Into(bytes, widened);
            const [, expectedCost] = charged(() => accumulateOrder(widened.subarray(0, rows * K), orders[order], rows, K, expected));
            const [nonFinite, cost] = charged(() => kernel.accumulate(order, rows));
            expect(nonFinite).toBe(false);
            expect(bits(kernel.acc)).toEqual(bits(expected));
            expect(cost).toBe(expectedCost);
          }
        } finally {
          kernel.close();
        }
      }),
      runs,
    );
  });

  it.each(['F32', 'BF16'] as const)('%s: a NaN or ±∞ anywhere in the rows read (pairs and an odd K\'s last entry) is reported; entries past the rows are not read', (dtype) => {
    for (const K of [4, 5]) {
      const kernel = new SweepKernel(dtype, K, 3, [new Float64Array(K).fill(1)]);
      try {
        for (const bad of [NaN, Infinity, -Infinity]) {
          for (let at = 0; at < 3 * K; at++) {
            const values = new Array<number>(3 * K).fill(1);
            values[at] = bad;
            kernel.raw.set(bytesOf(dtype, values));
            const rows = Math.floor(at / K) + 1;
            expect(kernel.accumulate(0, rows)).toBe(true);
            if (rows > 1) expect(kernel.accumulate(0, rows - 1)).toBe(false);
          }
        }
      } finally {
        kernel.close();
      }
    }
  });

  it('refuses a block\'s kernel once another block has prepared the memory', () => {
    const first = new SweepKernel('F32', 4, 2, [new Float64Array(4)]);
    try {
      const second = new SweepKernel('BF16', 6, 2, [new Float64Array(6)]);
      try {
        expect(() => first.accumulate(0, 1)).toThrow(/another block/);
        expect(second.accumulate(0, 1)).toBe(false);
      } finally {
        second.close();
      }
    } finally {
      first.close();
    }
  });
});

// ---- fastAttackKernels --------------------------------------------------------------------------

describe('fastAttackKernels (the sampled attack)', () => {
  it('accumulateOrder adds chunk·coefficient into the columns with a nonzero coefficient, and counts 2 per row per such column', () => {
    const problem = fc.record({ rows: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 1, max: 5 }), zeros: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }) }).chain((s) => fc.tuple(fc.constant(s), vec(s.rows * s.K), vec(s.K), vec(s.rows * s.K)));
    fc.assert(
      fc.property(problem, ([{ rows, K, zeros }, chunk64, coefficient, start]) => {
        const chunk = Float32Array.from(chunk64);
        for (let k = 0; k < K; k++) if (zeros[k]) coefficient[k] = 0;
        const ops = new Ops();
        const ref = Float64Array.from(start);
        for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) if (coefficient[k] !== 0) ref[i * K + k] = ops.add(ref[i * K + k], ops.mul(chunk[i * K + k], coefficient[k]));
        const out = Float64Array.from(start);
        const [, cost] = charged(() => accumulateOrder(chunk, coefficient, rows, K, out));
        expect(bits(out)).toEqual(bits(ref));
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });

  it('orderScaleDeviation: |Σ(Θₙ·c)·W / ΣW² − 1| (∞ for a zero column or a NaN), and the count', () => {
    const problem = fc.record({ S: fc.integer({ min: 1, max: 5 }), K: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 4 }), N: fc.integer({ min: 0, max: 3 }), zeroColumn: fc.boolean(), nan: fc.boolean() }).chain((s) =>
      fc.tuple(fc.constant(s), vec((s.N + 1) * s.S * s.K), vec(s.S * s.h), fc.integer({ min: 0, max: s.N }), fc.integer({ min: 0, max: s.K - 1 }), fc.integer({ min: 0, max: s.h - 1 }), fc.double({ min: -3, max: 3, noNaN: true })),
    );
    fc.assert(
      fc.property(problem, ([{ S, K, h, zeroColumn, nan }, theta64, second, n, k, j, coefficient]) => {
        const theta = Float32Array.from(theta64);
        if (zeroColumn) for (let i = 0; i < S; i++) second[i * h + j] = 0;
        if (nan) theta[(n * S + S - 1) * K + k] = NaN;
        const ops = new Ops();
        let cross = 0;
        let norm = 0;
        for (let i = 0; i < S; i++) {
          const w = second[i * h + j];
          cross = ops.add(cross, ops.mul(ops.mul(theta[(n * S + i) * K + k], coefficient), w));
          norm = ops.add(norm, ops.mul(w, w));
        }
        const ref = !(norm > 0) ? Infinity : Number.isNaN(ops.div(cross, norm)) ? (ops.n++, Infinity) : Math.abs(ops.sub(cross / norm, 1));
        const [got, cost] = charged(() => orderScaleDeviation(theta, n, k, coefficient, second, j, S, K, h));
        expect(got).toBe(ref);
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });

  it('combinedDisagreement: max |Σₙ Θₙ·cₙ − W| / max |W| over the orders with cₙ ≠ 0 (∞ for a zero column or a NaN), and the count', () => {
    const problem = fc.record({ S: fc.integer({ min: 1, max: 5 }), K: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 4 }), N: fc.integer({ min: 1, max: 3 }), zeroColumn: fc.boolean(), nan: fc.boolean(), zeros: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) }).chain((s) =>
      fc.tuple(fc.constant(s), vec((s.N + 1) * s.S * s.K), vec(s.S * s.h), vec((s.N + 1) * s.K), fc.integer({ min: 0, max: s.K - 1 }), fc.integer({ min: 0, max: s.h - 1 })),
    );
    fc.assert(
      fc.property(problem, ([{ S, K, h, N, zeroColumn, nan, zeros }, theta64, second, coefficients, k, j]) => {
        const theta = Float32Array.from(theta64);
        for (let n = 0; n <= N; n++) if (zeros[n]) coefficients[n * K + k] = 0;
        if (zeroColumn) for (let i = 0; i < S; i++) second[i * h + j] = 0;
        if (nan) theta[(1 * S + S - 1) * K + k] = NaN;
        const ops = new Ops();
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < S; i++) {
          let acc = 0;
          for (let n = 1; n <= N; n++) if (coefficients[n * K + k] !== 0) acc = ops.add(acc, ops.mul(theta[(n * S + i) * K + k], coefficients[n * K + k]));
          const w = second[i * h + j];
          const diff = Math.abs(ops.sub(acc, w));
          if (Number.isNaN(diff)) worst = Infinity;
          else if (diff > worst) worst = diff;
          scale = Math.max(scale, Math.abs(w));
        }
        const ref = scale > 0 ? ops.div(worst, scale) : Infinity;
        const [got, cost] = charged(() => combinedDisagreement(theta, coefficients, N, k, second, j, S, K, h));
        expect(got).toBe(ref);
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });

  it('precisionWeights: c·ω/Σω with ω = 1/(noise² + δ²) over the orders with δ ≤ limit, Σω answered, and the count', () => {
    const problem = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.double({ min: 1e-6, max: 1e-2, noNaN: true }), fc.double({ min: 0, max: 0.01, noNaN: true })).chain(([m, noise, limit]) =>
      fc.tuple(fc.constant({ m, noise, limit }), vec(m), fc.array(fc.oneof(fc.double({ min: 0, max: 0.02, noNaN: true }), fc.constant(Infinity)), { minLength: m, maxLength: m })),
    );
    fc.assert(
      fc.property(problem, ([{ m, noise, limit }, coefficient, deviations]) => {
        const deviation = Float64Array.from(deviations);
        const ops = new Ops();
        const rounding = ops.mul(noise, noise);
        const omega = new Float64Array(m);
        let total = 0;
        let count = 0;
        for (let q = 0; q < m; q++) {
          if (!(deviation[q] <= limit)) continue;
          omega[q] = ops.div(1, ops.add(rounding, ops.mul(deviation[q], deviation[q])));
          total = count === 0 ? omega[q] : ops.add(total, omega[q]);
          count++;
        }
        const ref = new Float64Array(m);
        if (total > 0) for (let q = 0; q < m; q++) if (omega[q] !== 0) ref[q] = ops.div(ops.mul(coefficient[q], omega[q]), total);
        const out = new Float64Array(m).fill(7);
        const [sum, cost] = charged(() => precisionWeights(coefficient, deviation, noise, limit, out));
        expect(bits(out)).toEqual(bits(ref));
        expect(sum).toBe(total > 0 ? total : 0);
        expect(cost).toBe(ops.n);
      }),
      { numRuns: 100 },
    );
  });

  it('orderDisagreement: max |Θₙ·c − W| / max |W| (∞ for a zero column or a NaN), and the count', () => {
    const problem = fc.record({ S: fc.integer({ min: 1, max: 5 }), K: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 4 }), N: fc.integer({ min: 0, max: 3 }), zeroColumn: fc.boolean(), nan: fc.boolean() }).chain((s) =>
      fc.tuple(fc.constant(s), vec((s.N + 1) * s.S * s.K), vec(s.S * s.h), fc.integer({ min: 0, max: s.N }), fc.integer({ min: 0, max: s.K - 1 }), fc.integer({ min: 0, max: s.h - 1 }), fc.double({ min: -3, max: 3, noNaN: true })),
    );
    fc.assert(
      fc.property(problem, ([{ S, K, h, zeroColumn, nan }, theta64, second, n, k, j, coefficient]) => {
        const theta = Float32Array.from(theta64);
        if (zeroColumn) for (let i = 0; i < S; i++) second[i * h + j] = 0;
        if (nan) theta[(n * S + S - 1) * K + k] = NaN;
        const ops = new Ops();
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < S; i++) {
          const w = second[i * h + j];
          const diff = Math.abs(ops.sub(ops.mul(theta[(n * S + i) * K + k], coefficient), w));
          if (Number.isNaN(diff)) worst = Infinity;
          else if (diff > worst) worst = diff;
          scale = Math.max(scale, Math.abs(w));
        }
        const ref = scale > 0 ? ops.div(worst, scale) : Infinity;
        const [got, cost] = charged(() => orderDisagreement(theta, n, k, coefficient, second, j, S, K, h));
        expect(got).toBe(ref);
        expect(cost).toBe(ops.n);
      }),
      runs,
    );
  });

  it('inverseOrderScale: 1/(sⁿ·p), one ÷', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.constantFrom(1, -1), fc.integer({ min: 0, max: 12 }), (p, s, n) => {
        const ops = new Ops();
        const ref = ops.div(n % 2 === 1 && s < 0 ? -1 : 1, p);
        expect(charged(() => inverseOrderScale(p, s, n))).toEqual([ref, ops.n]);
      }),
      { numRuns: 100 },
    );
  });
});
