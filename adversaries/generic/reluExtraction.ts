import { WeightgamesError } from '../../src/kernel/errors';
import * as P from '../../src/kernel/prob/prob';
import type { ProbContext } from '../../src/kernel/prob/prob';
import type { ApiWRecAdversary } from '../../src/kernel/adversary';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { tensor } from '../../src/numerics/tensor/tensor';
import { axpy, dot, mapArray, matVec } from '../../src/numerics/tensor/kernels';
import { RankDeficientError, leastSquares, normalize, outer, scale } from '../../src/numerics/tensor/linalgKernels';
import { LatticeRangeError, zeroOneCombination } from '../../src/numerics/tensor/latticeKernels';
import { affine, chordDeviation, lineIntersection, linspace, maxAbs, maxAbsDifference, midpoint, quotient, secant, shiftCoordinate } from '../../src/numerics/tensor/lineKernels';
import { markAudited } from '../../src/kernel/cost/audit';
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
 * 3. Signs, then the rest. A_j, the coefficient of relu(ŵ_j·x + b̂_j), is the jump measured in
 *    step 2; the linear term M of f = Σ_j A_j relu(ẑ_j) + M x + m is a Jacobian minus the active
 *    units' A_j ŵ_jᵀ, measured on two pieces. A unit recovered with the wrong sign contributes
 *    A_j relu(−ẑ) = A_j relu(ẑ) − A_j ẑ and the original has no linear term, so
 *    M = −Σ_{j flipped} A_j ŵ_jᵀ: out·in linear equations for the 0/1 flip indicators. With
 *    out·in ≥ hidden, least squares solves them; with fewer, finding the 0/1 solution is a
 *    low-density subset sum, solved by LLL on a CJLOSS embedding (src/numerics/tensor/latticeKernels.ts).
 *    Flip those units and fit W₂, b₂ by least squares; if the units do not explain f exactly,
 *    look for more on new lines.
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
  /** Searches for units at most, each with twice the patience of the last, while the units found do not explain f (default 4). */
  readonly rounds?: number;
}

/** A hidden unit found so far: the direction of its row and its bias, both divided by ‖w_j‖ (sign unknown). */
interface Unit {
  readonly row: Float64Array;
  readonly bias: number;
  /** The critical point it was found at. */
  readonly at: Float64Array;
  /**
   * Its output weights up to the unit's scale: the coefficient A_j of relu(ŵ_j·x + b̂_j) in f. The
   * Jacobian jumps by A_j ŵ_jᵀ across the hyperplane in the direction of ŵ_j whichever sign ŵ_j
   * has (a·relu(z) = a·relu(−z) + a·z), so A_j is measured where the unit was found.
   */
  readonly out: Float64Array;
  /** Measured again head-on, far from the other known hyperplanes (`refineUnits`). */
  readonly refined?: boolean;
}

/** Why an extraction did not produce a network. */
export class ExtractionError extends WeightgamesError {
  override readonly name = 'ExtractionError';
  readonly kind = 'fault' as const;
}

export function reluExtraction<W, X, Y, PK = unknown>(format: OneHiddenLayerFormat<W, X, Y>, options: ReluExtractionOptions = {}): ApiWRecAdversary<PK, X, Y, W> {
  if (format.activation !== 'relu') throw new RangeError(`reluExtraction needs a ReLU network, the format's Run uses ${format.activation}`);
  return markAudited({
    name: 'relu-extraction',
    recover: (_pk: PK, oracle) => (ctx: ProbContext) => {
      const box = blackBox(oracle, format, ctx);
      try {
        // Look for units until `patience` lines in a row add none; if they do not explain f (the
        // linear term differs between pieces, the signs are not 0/1, or the fit is not exact),
        // look on with twice the patience, up to `rounds` times.
        const units: Unit[] = [];
        const rounds = options.rounds ?? 4;
        for (let round = 0; ; round++) {
          findUnits(box, ctx, options, units, (options.patience ?? 4) << round);
          refineUnits(box, ctx, units);
          try {
            const block = solveOuterLayers(box, ctx, units, options.oversampling ?? 2);
            ctx.notes.write('relu-extraction', { units: units.length, rounds: round + 1, queries: box.queries() });
            return format.weights(block);
          } catch (error) {
            if (!(error instanceof Inconsistent) || round + 1 >= rounds) throw error;
          }
        }
      } catch (error) {
        if (!(error instanceof ExtractionError || error instanceof RankDeficientError || error instanceof Inconsistent || error instanceof LatticeRangeError)) throw error;
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

/** Add to `units` the units found on new lines, until `patience` lines in a row add none. */
function findUnits(box: BlackBox, ctx: ProbContext, options: ReluExtractionOptions, units: Unit[], patience: number): Unit[] {
  const segments = options.segments ?? 32;
  const maxLines = options.maxLines ?? 400;
  const reach = options.reach ?? 4;
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
      if (unit === null || !confirmed(box, ctx, unit)) continue;
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
  return measureUnit(box, x, u, delta, affine(0, 1e-2, delta));
}

/**
 * The unit switching at x, from forward-difference Jacobians (step h) at x ± δu: its row up to
 * scale and sign, or null if the Jacobian's jump is not rank one (a step crossed another unit).
 */
function measureUnit(box: BlackBox, x: Float64Array, u: Float64Array, delta: number, h: number): Unit | null {
  const xPlus = axpy(x, delta, u);
  const xMinus = axpy(x, -delta, u);
  const plus = jacobian(box, xPlus, h);
  const minus = jacobian(box, xMinus, h);
  const jumps = plus.rows.map((row, i) => axpy(row, -1, minus.rows[i]));
  const norms = jumps.map((row) => normalize(row)[1]);
  const best = norms.indexOf(Math.max(...norms));
  if (!(norms[best] > 0)) return null;
  const [row] = normalize(jumps[best]);
  // Rank one: every row of the jump is a multiple of the best one, to 1e-5 of the best row — the
  // jump's own scale. (Not of each row's: a unit with a W₂ entry ~1e-6 of its largest has a row
  // that small, whose finite-difference noise alone is more than 1e-5 of it; measured: trial 349 of
  // 64 → 128 → 4 under additiveShares lost a unit with W₂ column (1.9e-7, −0.15, 0.12, −0.012) that
  // way, 55 times in a row.)
  for (let i = 0; i < jumps.length; i++) {
    const residual = axpy(jumps[i], -dot(jumps[i], row), row);
    if (normalize(residual)[1] > affine(0, 1e-5, norms[best])) return null;
  }
  // The two affine pieces differ by c·(ŵ·x + b̂) with c = ΔJ·ŵ: b̂ = ⟨Δoffset, c⟩/‖c‖². From the
  // Jacobians, so as precise for a unit crossed at a grazing angle as for one crossed head-on
  // (−ŵ·x* is not: x* is only as precise as the kink's location along the line).
  const c = Float64Array.from(jumps, (jump) => dot(jump, row));
  const shift = axpy(offset(plus, xPlus), -1, offset(minus, xMinus));
  // The jump was taken along u: it is A_j ŵᵀ if u points to ŵ's side, −A_j ŵᵀ if not.
  return { row, bias: quotient(dot(shift, c), dot(c, c)), at: x, out: dot(u, row) > 0 ? c : scale(c, -1) };
}

/** The units' hyperplanes stacked: rows ŵ_j as an [H, n] array and biases b̂_j. */
function hyperplanes(units: readonly Unit[]): { readonly rows: Float64Array; readonly biases: Float64Array } {
  const n = units[0].row.length;
  const rows = new Float64Array(units.length * n);
  const biases = new Float64Array(units.length);
  units.forEach((unit, j) => {
    rows.set(unit.row, j * n);
    biases[j] = unit.bias;
  });
  return { rows, biases };
}

/**
 * Measure each unit not yet refined again, head-on: at the point of its hyperplane farthest from
 * the other known hyperplanes among four (its critical point projected onto it, and three
 * points ρ = ‖x*‖/10 away along random directions in it), crossing along ŵ_j itself, with
 * δ = half that distance and steps h = a quarter of it. The first measurement had only the room
 * along its line to go by (δ a quarter of the room to the next kink on the line, h = δ/100), and
 * a hyperplane crossing the line at a grazing angle can sit much closer than that room: rows came
 * out to ~1e-6 there (measured: 2.4e-6 on one of 460 × 128 units at 16 → 128 → 4), where on a
 * linear piece forward differences are exact but for rounding, ~ε|f|/h. Kept only if it is the
 * same unit (directions within 1e-4) with a rank-one jump; else the first measurement stays.
 */
function refineUnits(box: BlackBox, ctx: ProbContext, units: Unit[]): void {
  const H = units.length;
  const n = units[0].row.length;
  const { rows, biases } = hyperplanes(units);
  const planes = tensor([H, n], rows);
  units.forEach((unit, j) => {
    if (unit.refined) return;
    const onPlane = (x: Float64Array) => axpy(x, -affine(dot(unit.row, x), 1, unit.bias), unit.row);
    const rho = affine(0, 0.1, normalize(unit.at)[1]);
    const candidates = [onPlane(unit.at)];
    for (let c = 0; c < 3; c++) {
      const r = P.normalArray(n)(ctx);
      const [v] = normalize(axpy(r, -dot(r, unit.row), unit.row));
      candidates.push(onPlane(axpy(unit.at, rho, v)));
    }
    let best = candidates[0];
    let margin = -1;
    for (const p of candidates) {
      const z = matVec(planes, p, biases);
      let m = Infinity;
      for (let k = 0; k < H; k++) if (k !== j) m = Math.min(m, Math.abs(z[k]));
      if (m > margin) [best, margin] = [p, m];
    }
    if (!(margin > 0) || margin === Infinity) {
      units[j] = { ...unit, refined: true };
      return;
    }
    const again = measureUnit(box, best, unit.row, affine(0, 0.5, margin), affine(0, 0.25, margin));
    const cos = again === null ? 0 : dot(again.row, unit.row);
    if (again === null || Math.abs(affine(Math.abs(cos), -1, 1)) > 1e-4) {
      units[j] = { ...unit, refined: true };
      return;
    }
    units[j] = cos > 0 ? { ...again, refined: true } : { row: scale(again.row, -1), bias: -again.bias, at: again.at, out: again.out, refined: true };
  });
}

/**
 * Is there a kink of f all along the unit's hyperplane, of the size its A_j says? At random points
 * p on the hyperplane away from x* (x* + ρ·v, v ⊥ ŵ, ρ = ‖x*‖/10), the second difference
 * f(p + εŵ) + f(p − εŵ) − 2 f(p) must be ε·A_j (ε = 1e-3·(1 + ‖x*‖)) to 1e-4 relative. A kink
 * measured wrongly (two units switching close together on the line, a finite difference that
 * crossed a third) fails at every p; a true one fails only if another hyperplane passes within ε
 * of p, so it must pass at two of three points.
 */
function confirmed(box: BlackBox, ctx: ProbContext, unit: Unit): boolean {
  const n = unit.row.length;
  const size = normalize(unit.at)[1];
  const rho = affine(0, 0.1, size);
  const eps = affine(1e-3, 1e-3, size);
  const expected = scale(unit.out, eps);
  const slack = affine(0, 1e-4, maxAbs(expected));
  let passed = 0;
  for (let attempt = 0; attempt < 3 && passed < 2 && passed + 3 - attempt >= 2; attempt++) {
    const r = P.normalArray(n)(ctx);
    const [v] = normalize(axpy(r, -dot(r, unit.row), unit.row));
    const q = axpy(unit.at, rho, v);
    const p = axpy(q, -affine(dot(unit.row, q), 1, unit.bias), unit.row);
    const f0 = box.f(p);
    const second = axpy(axpy(box.f(axpy(p, eps, unit.row)), 1, box.f(axpy(p, -eps, unit.row))), -2, f0);
    if (maxAbsDifference(second, expected) <= affine(slack, 1, tolerance(f0))) passed++;
  }
  return passed >= 2;
}

// ---- 3: signs and the outer layer ---------------------------------------------------------

/** Features relu(Ŵ x + b̂) of the units at x. */
const hiddenOf = (rows: Float64Array, biases: Float64Array, H: number, x: Float64Array): Float64Array => mapArray(matVec(tensor([H, x.length], rows), x, biases), 'relu');

/** Why a set of units does not explain f (so the search for units goes on). */
class Inconsistent extends WeightgamesError {
  override readonly name = 'Inconsistent';
  readonly kind = 'fault' as const;
}

/**
 * The linear term M of f(x) = Σ_j A_j relu(ŵ_j·x + b̂_j) + M x + m, measured at x: the Jacobian of
 * f at x (steps a quarter of the distance from x to the nearest known hyperplane, so exact on the
 * piece) minus Σ_{ŵ_j·x + b̂_j > 0} A_j ŵ_jᵀ. Row-major [out, in]. The same M at every x if and
 * only if the units and their A_j are those of f (a missed or spurious unit changes it from piece
 * to piece).
 */
function linearTerm(box: BlackBox, units: readonly Unit[], rows: Float64Array, biases: Float64Array, x: Float64Array): Float64Array {
  const H = units.length;
  const n = x.length;
  const z = matVec(tensor([H, n], rows), x, biases);
  let margin = Infinity;
  for (let j = 0; j < H; j++) margin = Math.min(margin, Math.abs(z[j]));
  const piece = jacobian(box, x, affine(0, 0.25, margin));
  const o = piece.rows.length;
  let M: Float64Array = new Float64Array(o * n);
  piece.rows.forEach((row, c) => M.set(row, c * n));
  units.forEach((unit, j) => {
    if (z[j] > 0) M = axpy(M, -1, outer(unit.out, unit.row));
  });
  return M;
}

/**
 * Signs, then W₂ and b₂. A unit recovered with the wrong sign contributes A_j relu(−ẑ_j) =
 * A_j relu(ẑ_j) − A_j ẑ_j, and the original has no linear term, so M = −Σ_{j flipped} A_j ŵ_jᵀ:
 * a linear system for the 0/1 flip indicators with out·in equations and hidden unknowns (A_j and
 * M both measured from Jacobians, not fitted). Its solution must be 0/1 to rounding; then W₂ and
 * b₂ are fitted by least squares and the network must reproduce f exactly on the points.
 * `Inconsistent` when M differs between two pieces or the fit is not exact: the units are wrong.
 */
function solveOuterLayers(box: BlackBox, ctx: ProbContext, units: Unit[], oversampling: number): MlpBlock {
  const H = units.length;
  const n = units[0].row.length;
  const o = units[0].out.length;
  const { rows, biases } = hyperplanes(units);
  const equations = o * n;
  const M = linearTerm(box, units, rows, biases, box.sample());
  const again = linearTerm(box, units, rows, biases, box.sample());
  const scaleOfA = Math.max(...units.map((unit) => maxAbs(unit.out)));
  const agree = affine(0, 1e-6, scaleOfA);
  if (maxAbsDifference(M, again) > agree) throw new Inconsistent(`linear term differs by ${maxAbsDifference(M, again)} between two pieces`);
  // Flip indicators δ: Σ_j δ_j A_j ⊗ ŵ_j = −M.
  const system = new Float64Array(equations * H);
  units.forEach((unit, j) => {
    const column = outer(unit.out, unit.row);
    for (let e = 0; e < equations; e++) system[e * H + j] = column[e];
  });
  const flips = signFlips(system, equations, H, scale(M, -1), scaleOfA);
  const signs = Array.from(flips, (v) => (v > 0.5 ? -1 : 1));
  const first = new Float64Array(H * n);
  const firstBias = new Float64Array(H);
  units.forEach((unit, j) => {
    first.set(signs[j] === 1 ? unit.row : scale(unit.row, -1), j * n);
    firstBias[j] = signs[j] === 1 ? unit.bias : -unit.bias;
  });
  // W₂, b₂ by least squares on points around every critical point — two on each side of each
  // hyperplane (x* ± σ·ŵ + N(0, (σ/2)²I), σ = ‖x*‖/50), so no unit looks affine on the points —
  // and fresh inputs, at least `oversampling` points per unknown.
  const xs: Float64Array[] = [];
  for (const unit of units) {
    const sigma = affine(0, 0.02, normalize(unit.at)[1]);
    for (const side of [1, -1, 1, -1]) xs.push(axpy(axpy(unit.at, affine(0, side, sigma), unit.row), affine(0, 0.5, sigma), P.normalArray(n)(ctx)));
  }
  const count = Math.max(oversampling * (H + 1), xs.length + oversampling * (n + 1));
  while (xs.length < count) xs.push(box.sample());
  const targets = new Float64Array(count * o);
  xs.forEach((x, r) => targets.set(box.f(x), r * o));
  const fitted = fitOuter(xs, targets, first, firstBias, H, n, o);
  // "Exact" to finite-difference precision: the rows come out to ~1e-8, so the network misses f
  // by up to ~2e-8·(1 + |f|) on the points when the units are right (measured); a wrong sign or a
  // missed unit crossing the points misses it by ~|A_j|·|ẑ_j|, orders of magnitude more.
  const exact = affine(1e-7, 1e-7, maxAbs(targets));
  const misfit = Math.max(...xs.map((x, r) => maxAbsDifference(matVec(tensor([o, H], fitted.second), hiddenOf(first, firstBias, H, x), fitted.secondBias!), targets.subarray(r * o, (r + 1) * o))));
  if (misfit > exact) throw new Inconsistent(`the network misses f by ${misfit} on the points`);
  return fitted;
}

/**
 * The 0/1 flip indicators δ of Σ_j δ_j A_j ⊗ ŵ_j = −M (`system` [equations, H], `target` = −M).
 * With out·in ≥ hidden equations, least squares: the solution must be 0/1 to 1e-3. With fewer,
 * the real solutions form an affine space of dimension hidden − out·in and the 0/1 point in it —
 * unique for generic weights, since another would be a small integer relation among the
 * measured A_j ⊗ ŵ_j — is a real, low-density subset sum: a lattice reduction finds it
 * (`zeroOneCombination`: CJLOSS embedding, resolution raised ×16 a stage up to 2^40 of
 * max|A_j ⊗ ŵ_j| and stopped at the first stage that yields it; refined units give A_j ⊗ ŵ_j to
 * ~1e-11 of it), accepted if it meets the equations to 1e-5·max|A|.
 */
function signFlips(system: Float64Array, equations: number, H: number, target: Float64Array, scaleOfA: number): Float64Array {
  if (equations >= H) {
    const flips = leastSquares(system, equations, H, target, 1);
    for (const v of flips) if (Math.min(Math.abs(v), Math.abs(affine(v, -1, 1))) > 1e-3) throw new Inconsistent(`flip indicator ${v} is not 0 or 1`);
    return flips;
  }
  const flips = zeroOneCombination(system, equations, H, target, 2 ** 40, affine(0, 1e-5, scaleOfA));
  if (flips === null) throw new Inconsistent(`no 0/1 solution of the ${equations} sign equations for ${H} units`);
  return flips;
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
