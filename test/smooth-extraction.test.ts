import * as P from '../src/kernel/prob/prob';
import { withMeter } from '../src/kernel/cost/meter';
import { isAudited } from '../src/kernel/cost/audit';
import { trialContext } from '../src/kernel/prob/challenger';
import { wrecApiGame, QueryBudgetExceededError } from '../games';
import { openRelease, ToyTask, trainToy } from '../schemes';
import type { ToyActivation } from '../schemes/toy/mlp';
import { alignHiddenUnits, genericAttacks, sameUpToHiddenSymmetry, smoothExtraction, symmetryOf, toyFormat } from '../adversaries/generic';
import { builtinSchemes } from '../adversaries/catalog';
import { adversaryLabel, scorecardGame, scorecardRows } from '../games/scorecard';
import { SPECIAL_FLOPS } from '../src/numerics/tensor/flopModel';
import { activations } from '../src/numerics/activations';
import { choleskySolve, dampDiagonal, symmetricEigen } from '../src/numerics/tensor/spectralKernels';
import {
  activationDerivativeTable,
  hessianFromStencil,
  hessianStencil,
  mlpNormalEquations,
  profileAmplitudes,
  profileJacobian,
  stencilSize,
  svecLength,
  svecOuter,
  svecOuterJacobian,
  svecTimes,
} from '../src/numerics/tensor/curvatureKernels';

const tiny = (activation: ToyActivation, inputDim = 4, hiddenDim = 3, outputDim = 2): ToyTask => ({ inputDim, hiddenDim, outputDim, activation, training: { dataSeed: 'tiny', samples: 64, steps: 30 } });

describe('smooth-extraction (API access only)', () => {
  it.each(['tanh', 'gelu', 'sigmoid'] as const)('recovers trained 4 → 3 → 2 %s MLPs up to their hidden-unit symmetries: every row of W₁ within 1e-6', (act) => {
    const format = toyFormat(act);
    const report = (recovered: any, weights: any) => ({ maxRowError: alignHiddenUnits(format.block(recovered), format.block(weights), symmetryOf(act))?.maxRowError ?? Infinity });
    const game = wrecApiGame(openRelease({ activation: act }), tiny(act), smoothExtraction(format), { queries: 10_000, same: sameUpToHiddenSymmetry(format), report });
    for (let i = 0; i < (act === 'tanh' ? 2 : 1); i++) {
      const r = game.play(trialContext('smooth', i));
      expect(r.win).toBe(true);
      expect(r.details.maxRowError).toBeLessThan(1e-6);
      // Hessians at a few points (33 queries each) and the fits' points: well under the budget.
      expect(r.details.queries).toBeGreaterThan(4 * 33);
      expect(r.details.queries).toBeLessThan(1000);
      expect(r.costs['runReleased/oracle'].flops).toBe(r.details.oracleFlops);
    }
    expect(isAudited(smoothExtraction(format))).toBe(true);
  });

  it('where the signs of a GELU network are not determined (out·in < hidden): it answers no network, and loses', () => {
    const format = toyFormat('gelu');
    const report = (recovered: any) => ({ units: format.block(recovered).hiddenDim });
    const game = wrecApiGame(openRelease({ activation: 'gelu' }), tiny('gelu', 4, 5, 1), smoothExtraction(format), { queries: 10_000, same: sameUpToHiddenSymmetry(format), report });
    const ctx = trialContext('smooth', 0);
    const r = game.play(ctx);
    expect(r.win).toBe(false);
    expect(r.details.units).toBe(1);
    expect(String((ctx.noteBook.get('smooth-extraction') as { failed: string }).failed)).toMatch(/sign equations/);
  });

  it('refuses a width past in(in − 1)/2, where the curvature subspace holds rank-one matrices other than the units\' (3 → 4 → 2: 4 > 3)', () => {
    const format = toyFormat('tanh');
    const report = (recovered: any) => ({ units: format.block(recovered).hiddenDim });
    const game = wrecApiGame(openRelease(), tiny('tanh', 3, 4, 2), smoothExtraction(format), { queries: 10_000, same: sameUpToHiddenSymmetry(format), report });
    const ctx = trialContext('smooth', 0);
    const r = game.play(ctx);
    expect(r.win).toBe(false);
    expect(r.details.units).toBe(1);
    expect(String((ctx.noteBook.get('smooth-extraction') as { failed: string }).failed)).toMatch(/4 units > n\(n − 1\)\/2 = 3/);
  });

  it('gets no answer past its budget: the game’s error, never a network', () => {
    const format = toyFormat('tanh');
    expect(() => wrecApiGame(openRelease(), tiny('tanh'), smoothExtraction(format), { queries: 40 }).play(trialContext('b', 0))).toThrow(QueryBudgetExceededError);
    expect(() => smoothExtraction(toyFormat('relu'))).toThrow(RangeError);
  });

  it('Same up to the smooth symmetries: tanh allows a sign flip but no rescaling; the sigmoid a sign flip with b₂ compensating', () => {
    const w = trainToy(tiny('tanh'))(trialContext('s', 0));
    const tanh = toyFormat('tanh');
    const b = tanh.block(w);
    const n = b.inputDim;
    const h = b.hiddenDim;
    const negated = { ...b, first: b.first.map((v, i) => (i < n ? -v : v)), firstBias: b.firstBias!.map((v, j) => (j === 0 ? -v : v)), second: b.second.map((v, i) => (i % h === 0 ? -v : v)) };
    const rescaled = { ...b, first: b.first.map((v, i) => (i < n ? 2 * v : v)), firstBias: b.firstBias!.map((v, j) => (j === 0 ? 2 * v : v)), second: b.second.map((v, i) => (i % h === 0 ? v / 2 : v)) };
    expect(sameUpToHiddenSymmetry(tanh).test(tanh.weights(negated), w)).toBe(true);
    expect(sameUpToHiddenSymmetry(tanh).test(tanh.weights(rescaled), w)).toBe(false);
    const sigmoid = toyFormat('sigmoid');
    const compensated = { ...negated, secondBias: b.secondBias!.map((v, i) => v + b.second[i * h]) };
    expect(sameUpToHiddenSymmetry(sigmoid).test(sigmoid.weights(compensated), w)).toBe(true);
    expect(sameUpToHiddenSymmetry(sigmoid).test(sigmoid.weights(negated), w)).toBe(false);
    // The compensated copy computes the same function: σ(−z) = 1 − σ(z).
    const x = P.sampleWith(P.normalArray(n), 'x');
    const run = (block: typeof b) => Array.from({ length: b.outputDim }, (_, i) => (block.secondBias![i] as number) + Array.from({ length: h }, (_, j) => block.second[i * h + j] * activations.sigmoid.value(block.first.slice(j * n, (j + 1) * n).reduce((acc, v, k) => acc + v * x[k], block.firstBias![j]))).reduce((p, q) => p + q, 0));
    run(compensated).forEach((v, i) => expect(v).toBeCloseTo(run(b)[i], 12));
  });
});

describe('kernels of the smooth extraction', () => {
  const symmetric = (n: number, seed: string): Float64Array => {
    const r = P.sampleWith(P.normalArray(n * n), seed);
    return Float64Array.from({ length: n * n }, (_, q) => r[q] + r[(q % n) * n + Math.floor(q / n)]);
  };

  it('symmetricEigen: A V = V Λ with orthonormal V; a 2 × 2 by hand and the count in general', () => {
    const n = 6;
    const a = symmetric(n, 'eig');
    const [e, cost] = withMeter(() => symmetricEigen(a, n));
    for (let k = 0; k < n; k++) {
      const v = e.vectors.subarray(k * n, (k + 1) * n);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j] * v[j];
        expect(av).toBeCloseTo(e.values[k] * v[i], 12);
      }
      for (let l = 0; l < n; l++) expect(v.reduce((acc, x, i) => acc + x * e.vectors[l * n + i], 0)).toBeCloseTo(k === l ? 1 : 0, 12);
      if (k > 0) expect(e.values[k]).toBeLessThanOrEqual(e.values[k - 1]);
    }
    // ‖A‖² and the threshold, the off-diagonal mass per sweep, 12n + 3 + 2 sqrt per rotation.
    expect(cost.flops).toBe(2 * n * n + 2 + e.sweeps * n * (n - 1) + e.rotations * (12 * n + 3 + 2 * SPECIAL_FLOPS));
    // [[2, 1], [1, 2]]: one rotation diagonalises it; the second sweep finds nothing off the diagonal.
    const [two, twoCost] = withMeter(() => symmetricEigen(Float64Array.of(2, 1, 1, 2), 2));
    expect(Array.from(two.values)).toEqual([3, 1]);
    expect([two.sweeps, two.rotations]).toEqual([2, 1]);
    expect(twoCost.flops).toBe(8 + 2 + 2 * 2 + (3 + 4 + 3 + 1 + 4 + 0 + 12) + 2 * SPECIAL_FLOPS);
  });

  it('choleskySolve solves SPD systems and charges its loops; dampDiagonal scales the diagonal', () => {
    const n = 5;
    const k = 2;
    const r = P.sampleWith(P.normalArray(n * n), 'spd');
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < n; p++) a[i * n + j] += r[i * n + p] * r[j * n + p] + (i === j && p === 0 ? 1 : 0);
    const xTrue = Float64Array.from({ length: n * k }, (_, i) => i - 4);
    const b = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) for (let p = 0; p < n; p++) b[i * k + c] += a[i * n + p] * xTrue[p * k + c];
    const [x, cost] = withMeter(() => choleskySolve(a, n, b, k));
    x.forEach((v, i) => expect(v).toBeCloseTo(xTrue[i], 10));
    let expected = 0;
    for (let j = 0; j < n; j++) {
      expected += 2 * j + SPECIAL_FLOPS; // pivot
      for (let i = j + 1; i < n; i++) expected += 2 * j + 1; // entries below it
    }
    for (let c = 0; c < k; c++) for (let i = 0; i < n; i++) expected += 2 * i + 1 + 2 * (n - 1 - i) + 1; // forward and back substitution
    expect(cost.flops).toBe(expected);
    expect(() => choleskySolve(Float64Array.of(1, 2, 2, 1), 2, Float64Array.of(1, 1), 1)).toThrow(/not positive definite/);
    const [damped, dampCost] = withMeter(() => dampDiagonal(Float64Array.of(2, 1, 1, 4), 2, 0.5));
    expect(Array.from(damped)).toEqual([3, 1, 1, 6]);
    expect(dampCost.flops).toBe(4);
  });

  it('Hessians by central differences: exact on quadratics; the stencil and the differences charge their closed forms', () => {
    const n = 3;
    const q = Float64Array.of(2, 1, 0, 1, 3, -1, 0, -1, 1);
    const f = (x: Float64Array) => {
      let quad = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) quad += x[i] * q[i * n + j] * x[j];
      return Float64Array.of(quad / 2, x[0] * x[1] + x[2]);
    };
    const x = Float64Array.of(0.3, -0.2, 0.5);
    const [points, stencilCost] = withMeter(() => hessianStencil(x, 1e-2));
    expect(points.length).toBe(stencilSize(n));
    expect(stencilCost.flops).toBe(2 * n + 8 * ((n * (n - 1)) / 2));
    const [h, cost] = withMeter(() => hessianFromStencil(points.map(f), n, 1e-2));
    expect(cost.flops).toBe(2 + 2 * (4 * n + (5 * n * (n - 1)) / 2));
    const N = svecLength(n);
    // svec: the upper triangle row by row, off-diagonal entries × √2.
    const expected = [2, Math.SQRT2 * 1, 0, 3, Math.SQRT2 * -1, 1, 0, Math.SQRT2, 0, 0, 0, 0];
    for (let i = 0; i < 2 * N; i++) expect(h[i]).toBeCloseTo(expected[i], 8);
  });

  it('svec algebra: ⟨svec(w wᵀ), svec M⟩ = wᵀ M w, the Jacobian of svec(w wᵀ), svecTimes = M w, with their counts', () => {
    const n = 4;
    const m = symmetric(n, 'm');
    const w = P.sampleWith(P.normalArray(n), 'w');
    const sm = new Float64Array(svecLength(n));
    let s = 0;
    for (let a = 0; a < n; a++) for (let b = a; b < n; b++) sm[s++] = (a === b ? 1 : Math.SQRT2) * m[a * n + b];
    const [sw, outerCost] = withMeter(() => svecOuter(w));
    expect(outerCost.flops).toBe(n * n);
    let quadratic = 0;
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) quadratic += w[a] * m[a * n + b] * w[b];
    expect(sw.reduce((acc, v, i) => acc + v * sm[i], 0)).toBeCloseTo(quadratic, 12);
    // The Jacobian of svec(w wᵀ): (svec((w + δ)(w + δ)ᵀ) − svec(w wᵀ))/δ → its column k.
    const [jac, jacCost] = withMeter(() => svecOuterJacobian(w));
    expect(jacCost.flops).toBe(n * n);
    for (let k = 0; k < n; k++) {
      const shifted = Float64Array.from(w);
      shifted[k] += 1e-7;
      const a = svecOuter(shifted);
      for (let e = 0; e < svecLength(n); e++) expect(jac[e * n + k]).toBeCloseTo((a[e] - sw[e]) / 1e-7, 5);
    }
    const [mw, timesCost] = withMeter(() => svecTimes(sm, w));
    expect(timesCost.flops).toBe(2 * n + (5 * n * (n - 1)) / 2);
    for (let a = 0; a < n; a++) expect(mw[a]).toBeCloseTo(m.subarray(a * n, (a + 1) * n).reduce((acc, v, b) => acc + v * w[b], 0), 12);
  });

  it('activationDerivativeTable: tanh by its closed forms, GELU by its own recurrence; counts as tallied', () => {
    const z = Float64Array.of(-2, -0.3, 0, 0.7, 3);
    const [table, cost] = withMeter(() => activationDerivativeTable('tanh', z, 3));
    z.forEach((x, q) => {
      const t = Math.tanh(x);
      expect(table[q * 4]).toBeCloseTo(t, 14);
      expect(table[q * 4 + 1]).toBeCloseTo(1 - t * t, 14);
      expect(table[q * 4 + 2]).toBeCloseTo(-2 * t * (1 - t * t), 14);
      expect(table[q * 4 + 3]).toBeCloseTo(-2 * (1 - t * t) * (1 - 3 * t * t), 13);
    });
    let sigmoidFlops = 0;
    for (const x of z) {
      sigmoidFlops += activations.sigmoid.derivativesCounted(2 * x, 3, new Float64Array(4));
    }
    expect(cost.flops).toBe(3 + z.length * (1 + SPECIAL_FLOPS + 3) + sigmoidFlops);
    const [gelu, geluCost] = withMeter(() => activationDerivativeTable('gelu', z, 2));
    let geluFlops = 0;
    z.forEach((x, q) => {
      const d = new Float64Array(3);
      geluFlops += activations.gelu.derivativesCounted(x, 2, d);
      for (let k = 0; k <= 2; k++) expect(gelu[q * 3 + k]).toBe(d[k]);
    });
    expect(geluCost.flops).toBe(geluFlops);
    expect(() => activationDerivativeTable('relu', z, 2)).toThrow(RangeError);
  });

  it('profile kernels: amplitudes and misfit, the Gauss–Newton Jacobian, and their counts', () => {
    const g = Float64Array.of(1, 2, -1);
    const c = Float64Array.of(2, 1, 4, 0, -2, 3); // [P = 3, o = 2]
    const [fit, cost] = withMeter(() => profileAmplitudes(g, c, 2));
    expect(Array.from(fit.amplitudes)).toEqual([12 / 6, (1 - 3) / 6]);
    expect(fit.explained).toBeCloseTo(144 / 6 + 4 / 6, 14);
    expect(cost.flops).toBe(2 * 3 + 2 * (2 * 3 + 3));
    const t = Float64Array.of(0.5, -1, 2);
    const [jac, jacCost] = withMeter(() => profileJacobian(t, g, Float64Array.of(3, 1, 0.5), Float64Array.of(2, -1), c));
    expect(jacCost.flops).toBe(4 * 3 * 2);
    // Row (p = 1, i = 0): ∂s = α₀·act‴·t = 2·1·(−1), ∂b = 2, ∂α₀ = act″ = 2, ∂α₁ = 0; residual 2·2 − 4.
    expect(Array.from(jac.jacobian.subarray(2 * 4, 3 * 4))).toEqual([-2, 2, 2, 0]);
    expect(jac.residual[2]).toBe(0);
  });

  it('mlpNormalEquations: JᵀJ and Jᵀr of an explicit Jacobian, with the count over its non-zero entries', () => {
    const [m, n, h, o] = [3, 2, 2, 2];
    const first = Float64Array.of(0.5, -1, 1.5, 0.25);
    const firstBias = Float64Array.of(0.1, -0.2);
    const second = Float64Array.of(1, -2, 0.5, 3);
    const secondBias = Float64Array.of(0.3, -0.1);
    const X = Float64Array.of(1, 2, -0.5, 0.7, 0.2, -1.1);
    const Y = Float64Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6);
    const values = new Float64Array(m * h);
    const slopes = new Float64Array(m * h);
    for (let q = 0; q < m; q++) {
      for (let j = 0; j < h; j++) {
        const z = first[j * n] * X[q * n] + first[j * n + 1] * X[q * n + 1] + firstBias[j];
        values[q * h + j] = Math.tanh(z);
        slopes[q * h + j] = 1 - Math.tanh(z) ** 2;
      }
    }
    const [ne, cost] = withMeter(() => mlpNormalEquations(first, second, secondBias, values, slopes, X, Y, m, n, h, o));
    const p = h * n + h + o * h + o;
    const J: number[][] = [];
    const r: number[] = [];
    for (let q = 0; q < m; q++) {
      for (let i = 0; i < o; i++) {
        const row = new Array(p).fill(0);
        for (let j = 0; j < h; j++) {
          const g = second[i * h + j] * slopes[q * h + j];
          for (let k = 0; k < n; k++) row[j * n + k] = g * X[q * n + k];
          row[h * n + j] = g;
          row[h * n + h + i * h + j] = values[q * h + j];
        }
        row[h * n + h + o * h + i] = 1;
        J.push(row);
        r.push(secondBias[i] + second[i * h] * values[q * h] + second[i * h + 1] * values[q * h + 1] - Y[q * o + i]);
      }
    }
    for (let a = 0; a < p; a++) {
      expect(ne.gradient[a]).toBeCloseTo(J.reduce((acc, row, k) => acc + row[a] * r[k], 0), 12);
      for (let b = 0; b < p; b++) expect(ne.gram[a * p + b]).toBeCloseTo(J.reduce((acc, row) => acc + row[a] * row[b], 0), 12);
    }
    expect(ne.squaredResidual).toBeCloseTo(r.reduce((acc, v) => acc + v * v, 0), 12);
    // No zero entries here: ν = hn + 2h + 1 per row.
    const nu = h * n + 2 * h + 1;
    expect(cost.flops).toBe(m * o * (2 * h + 3 + h + h * n + nu * (nu + 1) + 2 * nu));
  });
});

describe('the generic attacks in a registry entry', () => {
  it('genericAttacks gives critical-point extraction for ReLU, curvature extraction for smooth activations, and distillation', () => {
    const relu = genericAttacks(toyFormat('relu'), { hiddenDim: 32 });
    const gelu = genericAttacks(toyFormat('gelu'), { hiddenDim: 16, distillQueries: 64 });
    expect([Object.keys(relu.wrec ?? {}), Object.keys(relu.effiinf ?? {})]).toEqual([['relu-extraction'], ['distill-q256']]);
    expect([Object.keys(gelu.wrec ?? {}), Object.keys(gelu.effiinf ?? {})]).toEqual([['smooth-extraction'], ['distill-q64']]);
  });

  it('the catalogue plays the smooth extraction on its GELU subject and wins, and on TaylorMLP (8 → 32 → 4, beyond its reach) loses', () => {
    const gelu = builtinSchemes['open-release-gelu']!;
    const row = scorecardRows(gelu).find((r) => r.game === 'wrec-api')!;
    expect(adversaryLabel(row)).toBe('smooth-extraction');
    const won = scorecardGame(gelu, row).play(trialContext('catalogue', 0));
    expect(won.win).toBe(true);
    const taylor = builtinSchemes['taylormlp']!;
    const taylorRow = scorecardRows(taylor).find((r) => r.game === 'wrec-api')!;
    expect([adversaryLabel(taylorRow), taylorRow.game === 'wrec-api' ? taylorRow.queries : 0]).toEqual(['smooth-extraction', 1_000_000]);
    expect(scorecardGame(taylor, taylorRow).play(trialContext('catalogue', 0)).win).toBe(false);
  });
});
