import * as P from '../../src/kernel/prob/prob';
import type { ProbContext } from '../../src/kernel/prob/prob';
import type { ApiWRecAdversary } from '../../src/kernel/adversary';
import { WeightgamesError } from '../../src/kernel/errors';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { TrainerActivationName, trainerActivation } from '../../src/numerics/models/pointwise';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import { addRowBias, axpy, dot, mapArray, matMul, matMulTransposed, matVec } from '../../src/numerics/tensor/kernels';
import { activateUnits, activateWithSlope } from '../../src/numerics/tensor/activationKernels';
import { RankDeficientError, leastSquares, normalize, outer, scale } from '../../src/numerics/tensor/linalgKernels';
import { affine, linspace, maxAbs, maxAbsDifference, quotient } from '../../src/numerics/tensor/lineKernels';
import { NotPositiveDefiniteError, choleskySolve, dampDiagonal, symmetricEigen } from '../../src/numerics/tensor/spectralKernels';
import {
  activationDerivativeTable,
  hessianFromStencil,
  hessianStencil,
  mlpNormalEquations,
  profileAmplitudes,
  profileJacobian,
  svecLength,
  svecOuter,
  svecOuterJacobian,
  svecTimes,
} from '../../src/numerics/tensor/curvatureKernels';
import { withMeter } from '../../src/kernel/cost/meter';
import { markAudited } from '../../src/kernel/cost/audit';
import type { OneHiddenLayerFormat } from './format';
import { BlackBox, blackBox } from './blackBox';

/**
 * Black-box extraction of a one-hidden-layer network f(x) = W₂ act(W₁x + b₁) + b₂ with a smooth
 * activation (tanh, sigmoid, GELU, its tanh form, SiLU) from Run′ queries alone. The pipeline is
 * that of Fornasier, Klock, Mondelli and Rauchensteiner, "Efficient identification of wide shallow
 * neural networks with biases" (Applied and Computational Harmonic Analysis 77, 2025): directions
 * from second-order information, then signs, then biases and the rest by fitting; the first two
 * steps follow Fornasier, Vybíral and Daubechies, "Identification of shallow neural networks by
 * fewest samples" (arXiv:1804.01592, 2018).
 *
 * 1. Curvature subspace. The Hessian of output i at x is Σ_j W₂[i, j]·act″(w_j·x + b_j)·w_j w_jᵀ:
 *    every Hessian lies in S = span{w_j w_jᵀ}, of dimension h (the hidden width) when the w_j w_jᵀ
 *    are independent. Central-difference Hessians at inputs x ←$ 𝒳 (2n² + 1 queries each) are
 *    added until `patience` points in a row add no new dimension (Gram–Schmidt, relative tolerance
 *    `rankTolerance`), there are twice as many Hessians as dimensions and at least `minPoints`
 *    points; an orthonormal basis of S is the leading eigenvectors of their Gram matrix (Jacobi),
 *    h the number of eigenvalues above `rankTolerance`² of the largest — the width is discovered,
 *    not given.
 * 2. Rows of W₁ up to scale. The rank-one matrices of S are the ±w_j w_jᵀ, for generic W₁, when
 *    h ≤ n(n − 1)/2 — by a dimension count: in the projective space of symmetric matrices
 *    (dimension N − 1, N = n(n + 1)/2), S (dimension h − 1) meets the rank-one matrices (dimension
 *    n − 1) in further points only when (h − 1) + (n − 1) ≥ N − 1. Measured: 8 → 28 recovered;
 *    at 8 → 29 the search returned 29 "directions", some of them spurious — so a width past
 *    n(n − 1)/2 is refused before this step.
 *    Found by the subspace power method of Kileel and Pereira ("Subspace power method for
 *    symmetric tensor decomposition", arXiv:1912.04007, 2019): from a random unit w, iterate
 *    w ← P_S(w wᵀ)·w/‖·‖, then finish with Gauss–Newton on the part of svec(w wᵀ) outside S (the
 *    power method stalls where S is flat around its fixed point); a point with ‖P_S(w wᵀ)‖²_F
 *    within 1e-8 of 1 is a direction ŵ_j; restarts until h distinct ones are found. Unlike
 *    simultaneous diagonalisation (Jennrich), this works past h = n (8 → 16, 16 → 32).
 * 3. Scale and bias of each row. Writing each Hessian in the basis ŵ_j ŵ_jᵀ (least squares) gives
 *    per unit and point c_j(x) = W₂[:, j]·s_j²·act″(s_j·ŵ_j·x + b_j): a one-dimensional profile in
 *    t = ŵ_j·x, fitted for (s_j, b_j) by a grid search, then damped Gauss–Newton from the grid's
 *    local minima and from the mirror (s, −b) of each end point.
 * 4. Signs and the output layer. GELU and SiLU satisfy act(z) − act(−z) = z, so act″ is even and
 *    the profile leaves the sign of (s_j, b_j) open; a negated unit adds the linear term
 *    −W₂[:, j]·w_jᵀx. Fitting f by least squares on features act(ẑ_j), x and 1 measures that linear
 *    term M; the original has none, so Σ_j δ_j W₂[:, j] ⊗ ŵ_j = −M (out·in equations) gives the
 *    0/1 flip indicators δ, as in the ReLU extraction (`reluExtraction`). tanh and the sigmoid
 *    need none: their sign is a symmetry of the network. Then W₂, b₂ by least squares.
 * 5. Polish. All parameters by Levenberg–Marquardt (Marquardt, "An algorithm for least-squares
 *    estimation of nonlinear parameters", SIAM J. Appl. Math. 1963: damped normal equations,
 *    Cholesky solves) on the squared error of queried outputs, `oversampling` outputs per
 *    parameter: from step 3's estimates (errors ~1e-7) it converges to rounding in a few steps.
 *
 * The output equals the original up to permutation of the hidden units and, for tanh, the sign
 * of a unit (for the sigmoid the sign with b₂ compensating) — the symmetries of these networks
 * (Sussmann, "Uniqueness of the weights for minimal feedforward nets with a given input-output
 * map", Neural Networks 1992, for tanh); `sameUpToHiddenSymmetry` judges it. It stops (the reason
 * noted, the all-zero network answered) when the Hessians span more than n(n − 1)/2 dimensions
 * (h > n(n − 1)/2: checked before step 2), when it cannot find h rank-one directions, or, for GELU
 * and SiLU, when out·in < h (the flips are not determined). A unit whose act″ is negligible on the sampled inputs (saturated, or
 * nearly linear there) is invisible to step 1; the polish then fits the rest and the notes say the
 * fit is not exact. All arithmetic is in metered kernels.
 */
export interface SmoothExtractionOptions {
  /** Finite-difference step of the Hessians, in multiples of the largest |coordinate| of the first input (default 2e-4). */
  readonly step?: number;
  /** Hessian points in a row that add no dimension before the subspace is taken as complete (default 2). */
  readonly patience?: number;
  /** Hessian points at least (default 8): each unit's curvature profile (step 3) is fitted to its values at these points. */
  readonly minPoints?: number;
  /** Hessian points at most (default 64). */
  readonly maxPoints?: number;
  /** Relative singular value below which a direction of the Hessians is noise (default 1e-5). */
  readonly rankTolerance?: number;
  /** Starts of the subspace power method at most, per dimension of the subspace (default 30). */
  readonly restarts?: number;
  /** Levenberg–Marquardt steps at most (default 30). */
  readonly polishSteps?: number;
  /** Queried outputs per parameter in the polish (default 1.5). */
  readonly oversampling?: number;
  /** Inputs are the task's draws times this factor (default 1): wider inputs see more of act″'s shape. */
  readonly spread?: number;
}

/** Why a smooth extraction produced no network (caught inside the adversary, noted, never thrown out of it). */
export class SmoothExtractionError extends WeightgamesError {
  override readonly name = 'SmoothExtractionError';
  readonly kind = 'fault' as const;
}

/** What the extraction measured on the way, written to the trial's notes under `smooth-extraction`. */
export interface SmoothExtractionReport {
  readonly units: number;
  readonly hessianPoints: number;
  readonly queries: number;
  /** The largest relative RMS misfit of a unit's curvature profile (step 3). */
  readonly profileMisfit: number;
  /** How far the flip indicators were from 0/1 (GELU, SiLU; 0 otherwise). */
  readonly flipDeviation: number;
  /** Relative RMS misfit of the polished network on the polish points: ‖f̂ − f‖/‖f‖. */
  readonly misfit: number;
  readonly polishSteps: number;
  /** FLOPs of each step (1 curvature, 2 directions, 3 profiles, 4 output layer, 5 polish). */
  readonly stageFlops: readonly number[];
  /** Step 2's unit directions ŵ_j (‖ŵ_j‖ = 1, sign arbitrary), before steps 3–5: what the Hessians alone give. */
  readonly directions: readonly (readonly number[])[];
}

/** Activations with act(z) − act(−z) = z: the sign of a unit shows only in f's linear part. */
const linearAntisymmetric = (act: TrainerActivationName): boolean => act === 'gelu' || act === 'gelu_tanh' || act === 'silu';

export function smoothExtraction<W, X, Y, PK = unknown>(format: OneHiddenLayerFormat<W, X, Y>, options: SmoothExtractionOptions = {}): ApiWRecAdversary<PK, X, Y, W> {
  if (format.activation === 'relu') throw new RangeError('smoothExtraction needs a smooth activation; the format says ReLU (use reluExtraction)');
  return markAudited({
    name: 'smooth-extraction',
    recover: (_pk: PK, oracle) => (ctx: ProbContext) => {
      const box = blackBox(oracle, format, ctx);
      try {
        const { block, report } = extract(box, ctx, format.activation, options);
        ctx.notes.write('smooth-extraction', { ...report });
        return format.weights(block);
      } catch (error) {
        if (!(error instanceof SmoothExtractionError || error instanceof RankDeficientError || error instanceof NotPositiveDefiniteError)) throw error;
        ctx.notes.write('smooth-extraction', { failed: error.message, queries: box.queries() });
        const x = box.sample();
        const o = box.f(x).length;
        return format.weights({ kind: 'plain', inputDim: x.length, hiddenDim: 1, outputDim: o, first: new Float64Array(x.length), firstBias: new Float64Array(1), up: null, second: new Float64Array(o), secondBias: new Float64Array(o) });
      }
    },
  });
}

/** The five steps; throws `SmoothExtractionError` where the method stops. */
function extract(box: BlackBox, ctx: ProbContext, act: TrainerActivationName, options: SmoothExtractionOptions): { block: MlpBlock; report: SmoothExtractionReport } {
  const spread = options.spread ?? 1;
  const draw = (): Float64Array => (spread === 1 ? box.sample() : scale(box.sample(), spread));
  const stageFlops: number[] = [];
  // Each step under a meter of its own: nested meters add up to the adversary's, also for a step
  // that stops with an error (withMeter charges the enclosing meter either way).
  const stage = <A>(thunk: () => A): A => {
    let flops = 0;
    try {
      const [value, cost] = withMeter(thunk);
      flops = cost.flops;
      return value;
    } finally {
      stageFlops.push(flops);
    }
  };
  const curvature = stage(() => curvatureSubspace(box, draw, options));
  const rows = stage(() => rankOneDirections(curvature.basis, curvature.n, ctx, options.restarts ?? 30));
  const units = stage(() => unitProfiles(curvature, rows, act));
  const start = stage(() => outputLayer(box, draw, act, units, curvature.n, curvature.o));
  const polished = stage(() => polish(box, draw, act, start.block, options));
  return {
    block: polished.block,
    report: {
      units: rows.length,
      hessianPoints: curvature.points.length,
      queries: box.queries(),
      profileMisfit: units.worstMisfit,
      flipDeviation: start.flipDeviation,
      misfit: polished.misfit,
      polishSteps: polished.steps,
      stageFlops,
      directions: rows.map((w) => Array.from(w)),
    },
  };
}

// ---- 1: the curvature subspace ------------------------------------------------------------

interface Curvature {
  readonly n: number;
  readonly o: number;
  /** The Hessian points. */
  readonly points: Float64Array[];
  /** svec of each Hessian, [points·o, N], point-major. */
  readonly hessians: Float64Array;
  /** An orthonormal basis of their span, [h, N]. */
  readonly basis: Float64Array;
}

function curvatureSubspace(box: BlackBox, draw: () => Float64Array, options: SmoothExtractionOptions): Curvature {
  const tolerance = options.rankTolerance ?? 1e-5;
  const patience = options.patience ?? 2;
  const maxPoints = options.maxPoints ?? 64;
  const minPoints = Math.min(maxPoints, options.minPoints ?? 8);
  const first = draw();
  const n = first.length;
  const N = svecLength(n);
  const eps = affine(0, options.step ?? 2e-4, maxAbs(first));
  const points: Float64Array[] = [];
  const vectors: Float64Array[] = [];
  const chosen: Float64Array[] = [];
  let o = 0;
  let largest = 0;
  let idle = 0;
  while (points.length < maxPoints) {
    const x = points.length === 0 ? first : draw();
    points.push(x);
    const values = hessianStencil(x, eps).map(box.f);
    o = values[0].length;
    const hessians = hessianFromStencil(values, n, eps);
    let grew = false;
    for (let i = 0; i < o; i++) {
      const v = hessians.slice(i * N, (i + 1) * N);
      vectors.push(v);
      largest = Math.max(largest, normalize(v)[1]);
      // Gram–Schmidt, twice (the second pass removes what rounding left of the first).
      let r: Float64Array = v;
      for (let pass = 0; pass < 2; pass++) for (const q of chosen) r = axpy(r, -dot(q, r), q);
      const [direction, size] = normalize(r);
      if (size > affine(0, tolerance, largest)) {
        chosen.push(direction);
        grew = true;
      }
    }
    if (chosen.length >= N) throw new SmoothExtractionError(`smooth-extraction: the Hessians span all ${N} dimensions of symmetric ${n} × ${n} matrices (hidden ≥ n(n + 1)/2): no rank-one structure to find`);
    idle = grew ? 0 : idle + 1;
    if (idle >= patience && vectors.length >= 2 * chosen.length && points.length >= minPoints) break;
  }
  const m = vectors.length;
  const stacked = new Float64Array(m * N);
  vectors.forEach((v, k) => stacked.set(v, k * N));
  // The Gram matrix Σ_k v_k v_kᵀ [N, N] of the Hessians, from their transpose [N, m].
  const transposed = new Float64Array(N * m);
  for (let k = 0; k < m; k++) for (let a = 0; a < N; a++) transposed[a * m + k] = stacked[k * N + a];
  const gram = matMulTransposed(tensor([N, m], transposed), tensor([N, m], transposed)).data;
  const eigen = symmetricEigen(gram, N);
  const floor = affine(0, tolerance * tolerance, eigen.values[0]);
  let h = 0;
  while (h < N && eigen.values[h] > floor) h++;
  if (h === 0) throw new SmoothExtractionError('smooth-extraction: f has no curvature (is it affine?)');
  if (h >= N) throw new SmoothExtractionError(`smooth-extraction: the Hessians span all ${N} dimensions of symmetric ${n} × ${n} matrices`);
  // Past n(n − 1)/2 the curvature subspace holds rank-one matrices other than the units' (step 2's
  // dimension count): whatever the search found would not be the rows of W₁.
  if (h > (n * (n - 1)) / 2) throw new SmoothExtractionError(`smooth-extraction: ${h} units > n(n − 1)/2 = ${(n * (n - 1)) / 2} for n = ${n} inputs: the curvature subspace holds other rank-one matrices than the units' (a dimension count), so the rows of W₁ are not determined by this method`);
  return { n, o, points, hessians: stacked, basis: eigen.vectors.slice(0, h * N) };
}

// ---- 2: rank-one directions (subspace power method) ----------------------------------------

function rankOneDirections(basis: Float64Array, n: number, ctx: ProbContext, restarts: number): Float64Array[] {
  const N = svecLength(n);
  const h = basis.length / N;
  const U = tensor([h, N], basis);
  const transposed = new Float64Array(N * h);
  for (let k = 0; k < h; k++) for (let a = 0; a < N; a++) transposed[a * h + k] = basis[k * N + a];
  const Ut = tensor([N, h], transposed);
  const found: Float64Array[] = [];
  for (let attempt = 0; attempt < restarts * h && found.length < h; attempt++) {
    let [w] = normalize(P.normalArray(n)(ctx));
    for (let iteration = 0; iteration < 2000; iteration++) {
      const [next] = normalize(svecTimes(matVec(Ut, matVec(U, svecOuter(w))), w));
      const moved = maxAbsDifference(next, w);
      w = next;
      if (moved <= 1e-10) break;
    }
    // The power method converges linearly, slowly where S is flat around its fixed point: finish
    // with Gauss–Newton on the part of svec(w wᵀ) outside S (and ‖w‖² − 1), quadratically.
    w = rankOneNewton(U, Ut, w);
    // ‖P_S(w wᵀ)‖²_F = 1 − (what lies outside S): rank one in S only if ≈ 1.
    const coordinates = matVec(U, svecOuter(w));
    if (affine(1, -1, dot(coordinates, coordinates)) > 1e-8) continue;
    if (found.some((u) => Math.abs(dot(u, w)) > 0.9999)) continue;
    found.push(w);
  }
  if (found.length < h) throw new SmoothExtractionError(`smooth-extraction: found ${found.length} of ${h} rank-one directions in ${restarts * h} starts`);
  return found;
}

/** Gauss–Newton on r(w) = (svec(w wᵀ) − Uᵀ U svec(w wᵀ), ‖w‖² − 1) from w (‖w‖ = 1), at most 30 steps, each halved until ‖r‖ decreases. */
function rankOneNewton(U: Tensor, Ut: Tensor, start: Float64Array): Float64Array {
  const N = U.shape[1];
  const n = start.length;
  const residual = (w: Float64Array): Float64Array => {
    const s = svecOuter(w);
    const outside = axpy(s, -1, matVec(Ut, matVec(U, s)));
    const r = new Float64Array(N + 1);
    r.set(outside);
    r[N] = affine(dot(w, w), -1, 1);
    return r;
  };
  let w = start;
  let r = residual(w);
  let size = dot(r, r);
  for (let step = 0; step < 30 && size > 0; step++) {
    // J = [(I − UᵀU)·∂svec(w wᵀ)/∂w; 2wᵀ], [N + 1, n].
    const d = svecOuterJacobian(w);
    const projected = matMul(Ut, matMul(U, tensor([N, n], d))).data;
    const J = new Float64Array((N + 1) * n);
    J.set(axpy(d, -1, projected));
    J.set(scale(w, 2), N * n);
    let delta: Float64Array;
    try {
      delta = leastSquares(J, N + 1, n, scale(r, -1), 1);
    } catch (error) {
      if (error instanceof RankDeficientError) break;
      throw error;
    }
    let accepted = false;
    for (let halving = 0; halving < 30 && !accepted; halving++) {
      const next = axpy(w, 1, delta);
      const rNext = residual(next);
      const sizeNext = dot(rNext, rNext);
      if (sizeNext < size) {
        [w, r, size, accepted] = [next, rNext, sizeNext, true];
      } else delta = scale(delta, 0.5);
    }
    if (!accepted) break;
  }
  return normalize(w)[0];
}

// ---- 3: scale and bias of each unit from its curvature profile ------------------------------

/** Step 3's grid: scales 10^(−1.5 … 1.5)/max|t| (log-spaced), biases −10 … 10 (step 0.25). */
const gridScales = 49;
const gridBiases = 81;
/** Local minima of the grid step 3's Gauss–Newton starts from at most, best first. */
const profileStarts = 24;

interface Units {
  readonly first: Float64Array;
  readonly firstBias: Float64Array;
  readonly worstMisfit: number;
}

function unitProfiles(curvature: Curvature, rows: Float64Array[], act: TrainerActivationName): Units {
  const { n, o, points, hessians } = curvature;
  const N = svecLength(n);
  const h = rows.length;
  const m = hessians.length / N;
  const Pn = points.length;
  // Each Hessian in the basis ŵ_j ŵ_jᵀ: R [N, h] c = svec(H), for all Hessians at once.
  const R = new Float64Array(N * h);
  rows.forEach((w, j) => {
    const column = svecOuter(w);
    for (let a = 0; a < N; a++) R[a * h + j] = column[a];
  });
  const targets = new Float64Array(N * m);
  for (let k = 0; k < m; k++) for (let a = 0; a < N; a++) targets[a * m + k] = hessians[k * N + a];
  const coefficients = leastSquares(R, N, h, targets, m); // [h, m], column k = point k/o, output k%o
  const scales = mapArray(scale(Float64Array.from(linspace(-1.5, 1.5, gridScales - 1)), Math.LN10), 'exp');
  const biases = linspace(-10, 10, gridBiases - 1);
  const first = new Float64Array(h * n);
  const firstBias = new Float64Array(h);
  let worstMisfit = 0;
  for (let j = 0; j < h; j++) {
    const t = Float64Array.from(points, (x) => dot(rows[j], x));
    const c = coefficients.slice(j * m, (j + 1) * m); // [Pn, o]
    const total = dot(c, c);
    const reach = maxAbs(t);
    // misfit[a·B + β]: the profile's misfit at scale a, bias β, the amplitudes by least squares.
    const misfit = new Float64Array(gridScales * gridBiases);
    const scaleAt = new Float64Array(gridScales);
    scales.forEach((s0, a) => {
      scaleAt[a] = quotient(s0, reach);
      biases.forEach((b, beta) => {
        const g = secondDerivative(act, axpy(new Float64Array(Pn).fill(b), scaleAt[a], t));
        misfit[a * gridBiases + beta] = affine(total, -1, profileAmplitudes(g, c, o).explained);
      });
    });
    // Gauss–Newton from the grid's local minima, best first, until one fits to rounding: the
    // profile has local minima (act″ seen at a few points fits several shifted, rescaled bumps).
    const starts: { misfit: number; s: number; b: number }[] = [];
    for (let a = 0; a < gridScales; a++) {
      for (let beta = 0; beta < gridBiases; beta++) {
        const here = misfit[a * gridBiases + beta];
        let lowest = true;
        for (let da = -1; da <= 1 && lowest; da++) {
          for (let db = -1; db <= 1; db++) {
            const [a2, b2] = [a + da, beta + db];
            if ((da !== 0 || db !== 0) && a2 >= 0 && a2 < gridScales && b2 >= 0 && b2 < gridBiases && misfit[a2 * gridBiases + b2] < here) lowest = false;
          }
        }
        if (lowest) starts.push({ misfit: here, s: scaleAt[a], b: biases[beta] });
      }
    }
    starts.sort((p, q) => p.misfit - q.misfit);
    let fitted = { s: 1, b: 0, misfit: Infinity };
    for (const start of starts.slice(0, profileStarts)) {
      const candidate = refineProfile(act, t, c, o, start.s, start.b);
      if (candidate.misfit < fitted.misfit) fitted = candidate;
      if (fitted.misfit <= affine(0, 1e-12, total)) break;
    }
    const relative = mapArray(Float64Array.of(quotient(fitted.misfit, total)), 'sqrt')[0];
    worstMisfit = Math.max(worstMisfit, relative);
    first.set(scale(rows[j], fitted.s), j * n);
    firstBias[j] = fitted.b;
  }
  return { first, firstBias, worstMisfit };
}

/** act″ at each z. */
function secondDerivative(act: TrainerActivationName, z: Float64Array): Float64Array {
  const table = activationDerivativeTable(act, z, 2);
  return Float64Array.from(z, (_, p) => table[p * 3 + 2]);
}

/**
 * Gauss–Newton on c[p, i] ≈ α_i·act″(s·t_p + b) from (s, b), the α by least squares — and again
 * from the mirror (s, −b) of where it ends: act″(s·t − b) = ±act″(−s·t + b) is the profile with t
 * reversed, which fits almost as well when the points' t are spread nearly symmetrically. Steps
 * are halved until the misfit decreases, and damped by √λ·I rows (λ = 1e-12·‖J‖²_F/p) so that a
 * parameter the profile hardly depends on (a unit far in act's tail) stays put instead of ending
 * the fit.
 */
function refineProfile(act: TrainerActivationName, t: Float64Array, c: Float64Array, o: number, s0: number, b0: number): { s: number; b: number; misfit: number } {
  const first = gaussNewtonProfile(act, t, c, o, s0, b0);
  const mirror = gaussNewtonProfile(act, t, c, o, first.s, -first.b);
  return mirror.misfit < first.misfit ? mirror : first;
}

function gaussNewtonProfile(act: TrainerActivationName, t: Float64Array, c: Float64Array, o: number, s0: number, b0: number): { s: number; b: number; misfit: number } {
  const Pn = t.length;
  const lead = 2;
  const curves = (params: Float64Array): { d2: Float64Array; d3: Float64Array } => {
    const z = axpy(new Float64Array(Pn).fill(params[1]), params[0], t);
    const table = activationDerivativeTable(act, z, 3);
    return { d2: Float64Array.from(z, (_, p) => table[p * 4 + 2]), d3: Float64Array.from(z, (_, p) => table[p * 4 + 3]) };
  };
  const evaluate = (params: Float64Array) => {
    const { d2, d3 } = curves(params);
    const fit = profileJacobian(t, d2, d3, params.subarray(lead), c);
    return { ...fit, misfit: dot(fit.residual, fit.residual) };
  };
  const width = lead + o;
  const rows = Pn * o;
  let params: Float64Array = new Float64Array(width);
  params[0] = s0;
  params[1] = b0;
  params.set(profileAmplitudes(curves(params).d2, c, o).amplitudes, lead);
  let current = evaluate(params);
  for (let iteration = 0; iteration < 50; iteration++) {
    const lambda = affine(0, 1e-12, quotient(dot(current.jacobian, current.jacobian), width));
    const damped = new Float64Array((rows + width) * width);
    damped.set(current.jacobian);
    const root = mapArray(Float64Array.of(lambda), 'sqrt')[0];
    for (let k = 0; k < width; k++) damped[(rows + k) * width + k] = root;
    const target = new Float64Array(rows + width);
    target.set(scale(current.residual, -1));
    let step: Float64Array;
    try {
      step = leastSquares(damped, rows + width, width, target, 1);
    } catch (error) {
      if (error instanceof RankDeficientError) break; // J = 0: nothing to fit
      throw error;
    }
    let accepted = false;
    for (let halving = 0; halving < 30 && !accepted; halving++) {
      const trialParams = axpy(params, 1, step);
      const trial = evaluate(trialParams);
      if (trial.misfit < current.misfit) {
        params = trialParams;
        current = trial;
        accepted = true;
      } else step = scale(step, 0.5);
    }
    if (!accepted || maxAbs(step) <= affine(0, 1e-13, affine(1, 1, maxAbs(params)))) break;
  }
  return { s: params[0], b: params[1], misfit: current.misfit };
}

// ---- 4: signs and the output layer ----------------------------------------------------------

/** Hidden features act(W₁x + b₁) [count, h] of the inputs X [count, n]. */
function features(act: TrainerActivationName, X: Float64Array, count: number, first: Float64Array, firstBias: Float64Array, n: number, h: number): Float64Array {
  const z = matMulTransposed(tensor([count, n], X), tensor([h, n], first)).data;
  return activateUnits(trainerActivation(act), z, h, count, null, firstBias, null);
}

/** Least squares of targets Y [count, o] on the columns [blocks…, 1]: the solution [width, o]. */
function fitColumns(blocks: { data: Float64Array; width: number }[], Y: Float64Array, count: number, o: number): Float64Array {
  const width = blocks.reduce((acc, b) => acc + b.width, 0) + 1;
  const A = new Float64Array(count * width);
  for (let r = 0; r < count; r++) {
    let offset = 0;
    for (const b of blocks) {
      A.set(b.data.subarray(r * b.width, (r + 1) * b.width), r * width + offset);
      offset += b.width;
    }
    A[r * width + offset] = 1;
  }
  return leastSquares(A, count, width, Y, o);
}

function queryMany(box: BlackBox, draw: () => Float64Array, count: number, n: number, o: number): { X: Float64Array; Y: Float64Array } {
  const X = new Float64Array(count * n);
  const Y = new Float64Array(count * o);
  for (let r = 0; r < count; r++) {
    const x = draw();
    X.set(x, r * n);
    Y.set(box.f(x), r * o);
  }
  return { X, Y };
}

function outputLayer(box: BlackBox, draw: () => Float64Array, act: TrainerActivationName, units: Units, n: number, o: number): { block: MlpBlock; flipDeviation: number } {
  const { first, firstBias } = units;
  const h = firstBias.length;
  const count = 2 * (h + n + 1);
  const { X, Y } = queryMany(box, draw, count, n, o);
  let flipDeviation = 0;
  if (linearAntisymmetric(act)) {
    if (o * n < h) throw new SmoothExtractionError(`smooth-extraction: ${h} units but only ${o * n} sign equations (out·in); the signs of a ${act} network are not determined by this method`);
    const solution = fitColumns([{ data: features(act, X, count, first, firstBias, n, h), width: h }, { data: X, width: n }], Y, count, o);
    // Column j of W₂ is row j of the solution; the linear term M [o, n] is rows h … h + n − 1, transposed.
    const system = new Float64Array(o * n * h);
    for (let j = 0; j < h; j++) {
      const column = outer(solution.subarray(j * o, (j + 1) * o), first.subarray(j * n, (j + 1) * n));
      for (let e = 0; e < o * n; e++) system[e * h + j] = column[e];
    }
    const minusM = new Float64Array(o * n);
    for (let i = 0; i < o; i++) for (let k = 0; k < n; k++) minusM[i * n + k] = -solution[(h + k) * o + i];
    const flips = leastSquares(system, o * n, h, minusM, 1);
    for (let j = 0; j < h; j++) {
      flipDeviation = Math.max(flipDeviation, Math.min(Math.abs(flips[j]), Math.abs(affine(flips[j], -1, 1))));
      if (flips[j] > 0.5) {
        first.set(scale(first.subarray(j * n, (j + 1) * n), -1), j * n);
        firstBias[j] = -firstBias[j];
      }
    }
  }
  const solution = fitColumns([{ data: features(act, X, count, first, firstBias, n, h), width: h }], Y, count, o);
  const second = new Float64Array(o * h);
  const secondBias = new Float64Array(o);
  for (let i = 0; i < o; i++) {
    for (let j = 0; j < h; j++) second[i * h + j] = solution[j * o + i];
    secondBias[i] = solution[h * o + i];
  }
  return { block: { kind: 'plain', inputDim: n, hiddenDim: h, outputDim: o, first, firstBias, up: null, second, secondBias }, flipDeviation };
}

// ---- 5: polish ------------------------------------------------------------------------------

/** θ = (W₁, b₁, W₂, b₂) as one vector, in the order of `mlpNormalEquations`. */
const flatten = (b: MlpBlock): Float64Array => {
  const out = new Float64Array(b.first.length + b.hiddenDim + b.second.length + b.outputDim);
  out.set(b.first, 0);
  out.set(b.firstBias!, b.first.length);
  out.set(b.second, b.first.length + b.hiddenDim);
  out.set(b.secondBias!, b.first.length + b.hiddenDim + b.second.length);
  return out;
};

const unflatten = (theta: Float64Array, n: number, h: number, o: number): MlpBlock => ({
  kind: 'plain',
  inputDim: n,
  hiddenDim: h,
  outputDim: o,
  first: theta.slice(0, h * n),
  firstBias: theta.slice(h * n, h * n + h),
  up: null,
  second: theta.slice(h * n + h, h * n + h + o * h),
  secondBias: theta.slice(h * n + h + o * h),
});

/** ‖f̂(X) − Y‖² of a block. */
function squaredMisfit(act: TrainerActivationName, block: MlpBlock, X: Float64Array, Y: Float64Array, count: number): number {
  const { inputDim: n, hiddenDim: h, outputDim: o } = block;
  const hidden = features(act, X, count, block.first, block.firstBias!, n, h);
  const out = matMulTransposed(tensor([count, h], hidden), tensor([o, h], block.second)).data;
  addRowBias(out, block.secondBias!);
  const r = axpy(out, -1, Y);
  return dot(r, r);
}

function polish(box: BlackBox, draw: () => Float64Array, act: TrainerActivationName, start: MlpBlock, options: SmoothExtractionOptions): { block: MlpBlock; misfit: number; steps: number } {
  const { inputDim: n, hiddenDim: h, outputDim: o } = start;
  const p = h * n + h + o * h + o;
  const count = Math.ceil(((options.oversampling ?? 1.5) * p) / o);
  const { X, Y } = queryMany(box, draw, count, n, o);
  const scaleOfY = dot(Y, Y);
  const slopeOf = trainerActivation(act);
  const normalEquations = (theta: Float64Array) => {
    const block = unflatten(theta, n, h, o);
    const z = matMulTransposed(tensor([count, n], X), tensor([h, n], block.first)).data;
    const [values, slopes] = activateWithSlope(slopeOf, z, h, block.firstBias!);
    return mlpNormalEquations(block.first, block.second, block.secondBias!, values, slopes, X, Y, count, n, h, o);
  };
  let theta = flatten(start);
  let current = normalEquations(theta);
  let mu = 1e-3;
  let steps = 0;
  for (; steps < (options.polishSteps ?? 30); steps++) {
    if (current.squaredResidual <= affine(0, 1e-30, scaleOfY)) break;
    let delta: Float64Array;
    try {
      delta = choleskySolve(dampDiagonal(current.gram, p, mu), p, scale(current.gradient, -1), 1);
    } catch (error) {
      if (!(error instanceof NotPositiveDefiniteError)) throw error;
      mu = affine(0, 10, mu);
      continue;
    }
    const trial = axpy(theta, 1, delta);
    const trialMisfit = squaredMisfit(act, unflatten(trial, n, h, o), X, Y, count);
    if (trialMisfit < current.squaredResidual) {
      theta = trial;
      current = normalEquations(theta);
      mu = Math.max(1e-15, quotient(mu, 10));
      if (maxAbs(delta) <= affine(0, 1e-14, affine(1, 1, maxAbs(theta)))) break;
    } else {
      mu = affine(0, 10, mu);
      if (mu > 1e12) break;
    }
  }
  const misfit = mapArray(Float64Array.of(quotient(current.squaredResidual, scaleOfY)), 'sqrt')[0];
  return { block: unflatten(theta, n, h, o), misfit, steps };
}
