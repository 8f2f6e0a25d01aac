import * as P from '../../src/prob/prob';
import type { ProbContext } from '../../src/prob/prob';
import type { ApiWRecAdversary } from '../../src/adversary';
import type { MlpBlock } from '../../src/models/mlp';
import { tensor } from '../../src/tensor/tensor';
import { axpy, dot, mapArray, matVec } from '../../src/tensor/kernels';
import { RankDeficientError, leastSquares, normalize, outer, scale } from '../../src/tensor/linalgKernels';
import { affine, chordDeviation, lineIntersection, linspace, maxAbs, maxAbsDifference, midpoint, quotient, secant, shiftCoordinate } from '../../src/tensor/lineKernels';
import { markAudited } from '../../src/cost/audit';
import type { OneHiddenLayerFormat } from './format';
import { BlackBox, blackBox } from './blackBox';

/**
 * Black-box extraction of a one-hidden-layer ReLU network f(x) = W₂ relu(W₁ x + b₁) + b₂ from
 * queries alone: the critical-point ("differential") method of Carlini, Jagielski and Mironov,
 * "Cryptanalytic Extraction of Neural Network Models" (CRYPTO 2020), for one hidden layer.
 *
 * 1. Critical points. Along a random line t ↦ x₀ + t·u, f is piecewise linear; its kinks are where
 *    some hidden unit switches (w_j·x + b_j = 0). A segment whose midpoint is off the chord holds a
 *    kink; the two end slopes meet at it (the paper's line intersection), checked by one query
 *    there, else the segment is halved.
 * 2. Rows of W₁ up to scale. Across unit j's hyperplane the Jacobian jumps by ±W₂[:, j]·w_jᵀ (rank
 *    one): finite differences on either side of the critical point x* (exact on linear pieces, up
 *    to rounding) give w_j/‖w_j‖ up to sign, and b_j/‖w_j‖ = −ŵ_j·x*. A kink on a known hyperplane
 *    is recognised by ŵ·x* + b̂ ≈ 0 and skipped.
 * 3. The rest by least squares. Fit f(x) = Σ_j A_j relu(ŵ_j·x + b̂_j) + M x + m on fresh queries.
 *    A unit recovered with the wrong sign contributes a_j relu(−ẑ) = a_j relu(ẑ) − a_j ẑ, so
 *    (M, m) = −Σ_{j flipped} A_j ⊗ (ŵ_j, b̂_j): a linear system for the flip indicators (unique
 *    when out·(in + 1) ≥ hidden and generic). Flip those units and refit W₂, b₂ by least squares.
 *
 * The output equals the original up to permutation and positive scaling of the hidden units (the
 * symmetries of a ReLU network): unit j comes out with ‖w_j‖ = 1. It stops looking for units after
 * `patience` lines in a row found no new one. All arithmetic goes through metered kernels.
 */
export interface ReluExtractionOptions {
  /** Segments of the first grid on each line (default 32). */
  readonly segments?: number;
  /** Stop after this many lines in a row with no new unit (default 4). */
  readonly patience?: number;
  /** Lines at most (default 400). */
  readonly maxLines?: number;
  /** Half-length of each line, in multiples of the norm of its base point (default 4). */
  readonly reach?: number;
  /** Least-squares points per unknown of the final fits (default 2). */
  readonly oversampling?: number;
}

/** A hidden unit found so far: the direction of its row and its bias, both divided by ‖w_j‖ (sign unknown). */
interface Unit {
  readonly row: Float64Array;
  readonly bias: number;
  /** The critical point it was found at. */
  readonly at: Float64Array;
}

/** Why an extraction did not produce a network. */
export class ExtractionError extends Error {
  override readonly name = 'ExtractionError';
}

export function reluExtraction<W, X, Y, PK = unknown>(format: OneHiddenLayerFormat<W, X, Y>, options: ReluExtractionOptions = {}): ApiWRecAdversary<PK, X, Y, W> {
  if (format.activation !== 'relu') throw new RangeError(`reluExtraction needs a ReLU network, the format's Run uses ${format.activation}`);
  return markAudited({
    name: 'relu-extraction',
    recover: (_pk: PK, oracle) => (ctx: ProbContext) => {
      const box = blackBox(oracle, format, ctx);
      try {
        const units = findUnits(box, ctx, options);
        const block = solveOuterLayers(box, ctx, units, options.oversampling ?? 2);
        ctx.notes.write('relu-extraction', { units: units.length, queries: box.queries() });
        return format.weights(block);
      } catch (error) {
        if (!(error instanceof ExtractionError || error instanceof RankDeficientError)) throw error;
        // No network: answer the all-zero one of the input's and output's size (it loses), with the reason noted.
        ctx.notes.write('relu-extraction', { failed: error.message, queries: box.queries() });
        const x = box.sample();
        const o = box.f(x).length;
        return format.weights({ kind: 'plain', inputDim: x.length, hiddenDim: 1, outputDim: o, first: new Float64Array(x.length), firstBias: new Float64Array(1), up: null, second: new Float64Array(o), secondBias: new Float64Array(o) });
      }
    },
  });
}

// ---- 1–2: critical points and rows -------------------------------------------------------

interface Kink {
  readonly t: number;
  /** The segment around t known to hold no other kink. */
  readonly a: number;
  readonly b: number;
}

function findUnits(box: BlackBox, ctx: ProbContext, options: ReluExtractionOptions): Unit[] {
  const segments = options.segments ?? 32;
  const patience = options.patience ?? 4;
  const maxLines = options.maxLines ?? 400;
  const reach = options.reach ?? 4;
  const units: Unit[] = [];
  let idle = 0;
  for (let line = 0; line < maxLines && idle < patience; line++) {
    const x0 = box.sample();
    const n = x0.length;
    const [u] = normalize(P.normalArray(n)(ctx));
    const length = affine(0, reach, normalize(x0)[1]);
    const at = (t: number) => axpy(x0, t, u);
    const g = (t: number) => box.f(at(t));
    const grid = linspace(-length, length, segments);
    const values = grid.map(g);
    const kinks: Kink[] = [];
    for (let i = 0; i < segments; i++) searchSegment(g, grid[i], values[i], grid[i + 1], values[i + 1], 0, kinks);
    let found = 0;
    // Room around each kink: half-way to its neighbours found on the line (wider than the
    // segment the search verified, so finite differences can take larger steps); the verified
    // segment is the fall-back.
    kinks.sort((p, q) => p.t - q.t);
    const rooms = kinks.map((kink, i) => ({
      t: kink.t,
      a: i === 0 ? -length : midpoint(kinks[i - 1].t, kink.t),
      b: i === kinks.length - 1 ? length : midpoint(kink.t, kinks[i + 1].t),
    }));
    for (const [i, kink] of kinks.entries()) {
      const x = at(kink.t);
      const near = affine(1e-5, 1e-5, maxAbs(x));
      if (units.some((unit) => Math.abs(affine(dot(unit.row, x), 1, unit.bias)) <= near)) continue;
      const unit = unitAt(box, x, u, rooms[i]) ?? unitAt(box, x, u, kink);
      if (unit === null) continue;
      // The same hyperplane seen again (the test above can miss it by rounding): directions within 1e-6.
      if (units.some((known) => Math.abs(affine(Math.abs(dot(known.row, unit.row)), -1, 1)) <= 1e-6)) continue;
      units.push(unit);
      found++;
    }
    idle = found === 0 ? idle + 1 : 0;
  }
  if (units.length === 0) throw new ExtractionError('relu-extraction: no critical point found (is the network piecewise linear?)');
  return units;
}

/** Absolute tolerance of "on the chord / on the line" for outputs of size ~|f|. */
const tolerance = (...fs: Float64Array[]): number => affine(1e-9, 1e-9, Math.max(...fs.map(maxAbs)));

/** Push the kinks of g on [a, b] (f-values fa, fb) to `out`: chord test, line intersection, bisection. */
function searchSegment(g: (t: number) => Float64Array, a: number, fa: Float64Array, b: number, fb: Float64Array, depth: number, out: Kink[]): void {
  if (depth > 40) return;
  const m = midpoint(a, b);
  const fm = g(m);
  const tol = tolerance(fa, fb);
  if (chordDeviation(fa, fm, fb) <= tol) return;
  const eps = affine(0, 1e-3, affine(b, -1, a));
  const sa = secant(g(affine(a, 1, eps)), fa, eps);
  const sb = secant(fb, g(affine(b, -1, eps)), eps);
  const fromA = lineIntersection(a, fa, sa, b, fb, sb);
  const t = fromA.t;
  if (t > affine(a, 1, eps) && t < affine(b, -1, eps)) {
    const ft = g(t);
    const fromB = lineIntersection(b, fb, sb, a, fa, sa);
    if (maxAbsDifference(ft, fromA.value) <= tol && maxAbsDifference(ft, fromB.value) <= tol) {
      out.push({ t, a, b });
      return;
    }
  }
  searchSegment(g, a, fa, m, fm, depth + 1, out);
  searchSegment(g, m, fm, b, fb, depth + 1, out);
}

/** f(x) and the Jacobian of f at x by forward differences with step h (its rows, [out][in]). */
function jacobian(box: BlackBox, x: Float64Array, h: number): { value: Float64Array; rows: Float64Array[] } {
  const fx = box.f(x);
  const columns: Float64Array[] = [];
  for (let k = 0; k < x.length; k++) columns.push(secant(box.f(shiftCoordinate(x, k, h)), fx, h));
  return { value: fx, rows: Array.from({ length: fx.length }, (_, i) => Float64Array.from(columns, (c) => c[i])) };
}

/** The offset of the affine piece through x with this Jacobian: f(x) − J x. */
const offset = (piece: { value: Float64Array; rows: Float64Array[] }, x: Float64Array): Float64Array => axpy(piece.value, -1, Float64Array.from(piece.rows, (row) => dot(row, x)));

/**
 * The unit switching at x (a kink of the line along u, alone in [kink.a, kink.b]): its row up to
 * scale and sign, or null if the Jacobian's jump is not rank one (a step crossed another unit).
 * Steps: δ = a quarter of the room along the line, finite differences of δ/100.
 */
function unitAt(box: BlackBox, x: Float64Array, u: Float64Array, kink: Kink): Unit | null {
  const delta = affine(0, 0.25, Math.min(affine(kink.t, -1, kink.a), affine(kink.b, -1, kink.t)));
  const h = affine(0, 1e-2, delta);
  const xPlus = axpy(x, delta, u);
  const xMinus = axpy(x, -delta, u);
  const plus = jacobian(box, xPlus, h);
  const minus = jacobian(box, xMinus, h);
  const jumps = plus.rows.map((row, i) => axpy(row, -1, minus.rows[i]));
  const norms = jumps.map((row) => normalize(row)[1]);
  const best = norms.indexOf(Math.max(...norms));
  if (!(norms[best] > 0)) return null;
  const [row] = normalize(jumps[best]);
  // Rank one: every row of the jump is a multiple of the best one.
  for (let i = 0; i < jumps.length; i++) {
    if (norms[i] <= affine(0, 1e-6, norms[best])) continue;
    const residual = axpy(jumps[i], -dot(jumps[i], row), row);
    if (normalize(residual)[1] > affine(0, 1e-5, norms[i])) return null;
  }
  // The two affine pieces differ by c·(ŵ·x + b̂) with c = ΔJ·ŵ: b̂ = ⟨Δoffset, c⟩/‖c‖². From the
  // Jacobians, so as precise for a unit crossed at a grazing angle as for one crossed head-on
  // (−ŵ·x* is not: x* is only as precise as the kink's location along the line).
  const c = Float64Array.from(jumps, (jump) => dot(jump, row));
  const shift = axpy(offset(plus, xPlus), -1, offset(minus, xMinus));
  return { row, bias: quotient(dot(shift, c), dot(c, c)), at: x };
}

// ---- 3: signs and the outer layer by least squares ----------------------------------------

/** Features relu(Ŵ x + b̂) of the units at x. */
const hiddenOf = (rows: Float64Array, biases: Float64Array, H: number, x: Float64Array): Float64Array => mapArray(matVec(tensor([H, x.length], rows), x, biases), 'relu');

/**
 * Least-squares points: four near each unit's critical point x*, two on each side of its
 * hyperplane (x* ± σ·ŵ + N(0, (σ/2)²I), σ = ‖x*‖/50), so every unit is seen switching — even one
 * whose hyperplane misses the task's inputs, whose feature would otherwise be affine on the points
 * and confused with the linear term — then fresh inputs from the task's distribution, at least
 * `oversampling` points per unknown in all.
 */
function solveOuterLayers(box: BlackBox, ctx: ProbContext, units: Unit[], oversampling: number): MlpBlock {
  const H = units.length;
  const n = units[0].row.length;
  const rows = new Float64Array(H * n);
  const biases = new Float64Array(H);
  units.forEach((unit, j) => {
    rows.set(unit.row, j * n);
    biases[j] = unit.bias;
  });
  // f(x) = Σ_j A_j relu(ẑ_j) + M x + m: H + n + 1 unknowns per output.
  const unknowns = H + n + 1;
  const xs: Float64Array[] = [];
  for (const unit of units) {
    const sigma = affine(0, 0.02, normalize(unit.at)[1]);
    for (const side of [1, -1, 1, -1]) xs.push(axpy(axpy(unit.at, affine(0, side, sigma), unit.row), affine(0, 0.5, sigma), P.normalArray(n)(ctx)));
  }
  const count = Math.max(oversampling * unknowns, xs.length + oversampling * (n + 1));
  while (xs.length < count) xs.push(box.sample());
  const ys = xs.map((x) => box.f(x));
  const o = ys[0].length;
  const features = new Float64Array(count * unknowns);
  const targets = new Float64Array(count * o);
  xs.forEach((x, r) => {
    features.set(hiddenOf(rows, biases, H, x), r * unknowns);
    features.set(x, r * unknowns + H);
    features[r * unknowns + H + n] = 1;
    targets.set(ys[r], r * o);
  });
  const coefficients = leastSquares(features, count, unknowns, targets, o);
  // Flip indicators δ: Σ_j δ_j A_j ⊗ (ŵ_j, b̂_j) = −(M, m), o·(n + 1) equations in H unknowns.
  const equations = o * (n + 1);
  if (equations < H) throw new ExtractionError(`relu-extraction: ${H} units but only ${equations} sign equations (out·(in + 1)); the signs are not determined by this method`);
  const system = new Float64Array(equations * H);
  const rhs = new Float64Array(equations);
  for (let j = 0; j < H; j++) {
    const a = coefficients.subarray(j * o, (j + 1) * o);
    const unitRow = new Float64Array(n + 1);
    unitRow.set(units[j].row);
    unitRow[n] = units[j].bias;
    const column = outer(a, unitRow);
    for (let e = 0; e < equations; e++) system[e * H + j] = column[e];
  }
  for (let c = 0; c < o; c++) {
    for (let k = 0; k < n; k++) rhs[c * (n + 1) + k] = -coefficients[(H + k) * o + c];
    rhs[c * (n + 1) + n] = -coefficients[(H + n) * o + c];
  }
  const flips = leastSquares(system, equations, H, rhs, 1);
  const signs: number[] = Array.from(flips, (v) => (v > 0.5 ? -1 : 1));
  const signed = (signs: readonly number[]) => {
    const first = new Float64Array(H * n);
    const firstBias = new Float64Array(H);
    units.forEach((unit, j) => {
      first.set(signs[j] === 1 ? unit.row : scale(unit.row, -1), j * n);
      firstBias[j] = signs[j] === 1 ? unit.bias : -unit.bias;
    });
    return { first, firstBias };
  };
  // The flip system can be ill-conditioned (nearly dependent A_j ⊗ (ŵ_j, b̂_j)): its rounded
  // solution is then repaired by flipping the least certain units one at a time, keeping a flip
  // when the refitted network's worst error on the points falls; a right sign set fits exactly.
  const misfit = (signs: readonly number[]): number => {
    const { first, firstBias } = signed(signs);
    const block = fitOuter(xs, targets, first, firstBias, H, n, o);
    return Math.max(...xs.map((x, r) => maxAbsDifference(matVec(tensor([o, H], block.second), hiddenOf(first, firstBias, H, x), block.secondBias!), targets.subarray(r * o, (r + 1) * o))));
  };
  const exact = affine(1e-9, 1e-9, maxAbs(targets));
  const doubt = Array.from(flips, (v, j) => [Math.abs(affine(v, -1, 0.5)), j] as const)
    .filter(([d]) => d < 0.45)
    .sort((p, q) => p[0] - q[0])
    .map(([, j]) => j);
  let best = doubt.length === 0 ? 0 : misfit(signs);
  for (let pass = 0; pass < 3 && best > exact && doubt.length > 0; pass++) {
    let improved = false;
    for (const j of doubt) {
      signs[j] = -signs[j];
      const value = misfit(signs);
      if (value < best) {
        best = value;
        improved = true;
        if (best <= exact) break;
      } else signs[j] = -signs[j];
    }
    if (!improved) break;
  }
  const { first, firstBias } = signed(signs);
  const fitted = fitOuter(xs, targets, first, firstBias, H, n, o);
  const weight = Array.from({ length: H }, (_, j) => normalize(Float64Array.from({ length: o }, (_, c) => fitted.second[c * H + j]))[1]);
  const floor = affine(0, 1e-6, Math.max(...weight));
  const keep = weight.map((w, j) => (w > floor ? j : -1)).filter((j) => j >= 0);
  if (keep.length === H) return fitted;
  const kept = keep.length;
  const keptFirst = new Float64Array(kept * n);
  const keptBias = new Float64Array(kept);
  keep.forEach((j, r) => {
    keptFirst.set(first.subarray(j * n, (j + 1) * n), r * n);
    keptBias[r] = firstBias[j];
  });
  return fitOuter(xs, targets, keptFirst, keptBias, kept, n, o);
}

/** The block with these first-layer units and W₂, b₂ fitted by least squares to the targets at xs. */
function fitOuter(xs: Float64Array[], targets: Float64Array, first: Float64Array, firstBias: Float64Array, H: number, n: number, o: number): MlpBlock {
  const count = xs.length;
  const width = H + 1;
  const finalFeatures = new Float64Array(count * width);
  xs.forEach((x, r) => {
    finalFeatures.set(hiddenOf(first, firstBias, H, x), r * width);
    finalFeatures[r * width + H] = 1;
  });
  const outer2 = leastSquares(finalFeatures, count, width, targets, o);
  const second = new Float64Array(o * H);
  const secondBias = new Float64Array(o);
  for (let c = 0; c < o; c++) {
    for (let j = 0; j < H; j++) second[c * H + j] = outer2[j * o + c];
    secondBias[c] = outer2[H * o + c];
  }
  return { kind: 'plain', inputDim: n, hiddenDim: H, outputDim: o, first, firstBias, up: null, second, secondBias };
}
