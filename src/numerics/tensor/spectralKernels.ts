import { chargeFlops } from '../../kernel/cost/meter';
import { WeightgamesError } from '../../kernel/errors';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Symmetric eigendecomposition and symmetric positive definite solves, charging exactly what the
 * loops do under the cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ 1, sqrt SPECIAL_FLOPS,
 * comparisons and absolute values 0).
 */

/** The matrix is not (numerically) positive definite: a pivot of the Cholesky factorisation was ≤ 0. */
export class NotPositiveDefiniteError extends WeightgamesError {
  override readonly name = 'NotPositiveDefiniteError';
  readonly kind = 'fault' as const;
}

/** What `symmetricEigen` returns. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** Eigenvectors as rows, in the order of `values`: vectors[k·n + i] is component i of the k-th. */
  readonly vectors: Float64Array;
  /** Sweeps whose off-diagonal mass was measured (the last one found it small enough, unless the cap was hit). */
  readonly sweeps: number;
  /** Plane rotations applied. */
  readonly rotations: number;
}

/** FLOPs of one Jacobi rotation of an n × n matrix (with its eigenvector update): 12n + 3 + 2 sqrt. */
export const jacobiRotationFlops = (n: number): number => 12 * n + 3 + 2 * SPECIAL_FLOPS;

/**
 * A = V Λ Vᵀ for a symmetric A [n, n] (row-major; only symmetric input makes sense, it is not
 * checked) by the cyclic Jacobi method (Jacobi 1846; the rotation as in Golub & Van Loan,
 * "Matrix Computations", §8.5): sweep over the pairs p < q, zeroing a_pq by a plane rotation,
 * until the off-diagonal mass Σ_{p<q} a_pq² is at most `tolerance`²·‖A‖²_F (default 1e-15) or
 * `maxSweeps` (default 60) sweeps were made. Accurate to rounding in every eigenvalue relative to
 * ‖A‖ and in the eigenvectors of well-separated eigenvalues. The input is not modified.
 *
 * FLOPs: ‖A‖²_F 2n² and the threshold 2; per sweep the off-diagonal mass n(n − 1); per rotation
 * (pairs with a_pq = 0 are skipped) `jacobiRotationFlops(n)`: θ = (a_qq − a_pp)/(2a_pq) 3,
 * t = sgn θ/(|θ| + √(θ² + 1)) 4 + sqrt, c = 1/√(t² + 1) 3 + sqrt, s = t·c 1, a_pp and a_qq 4, the
 * other rows 6(n − 2), the eigenvectors 6n.
 */
export function symmetricEigen(a: FloatArray, n: number, options: { readonly tolerance?: number; readonly maxSweeps?: number } = {}): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new ShapeError(`symmetricEigen: ${a.length} entries for a ${n} × ${n} matrix`);
  const tolerance = options.tolerance ?? 1e-15;
  const maxSweeps = options.maxSweeps ?? 60;
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let frobenius = 0;
  for (let i = 0; i < n * n; i++) frobenius += A[i] * A[i];
  const limit = tolerance * tolerance * frobenius;
  let flops = 2 * n * n + 2;
  let sweeps = 0;
  let rotations = 0;
  while (sweeps < maxSweeps) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    flops += n * (n - 1);
    sweeps++;
    if (off <= limit) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        A[p * n + p] -= t * apq;
        A[q * n + q] += t * apq;
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = A[r * n + p];
          const arq = A[r * n + q];
          const np = c * arp - s * arq;
          const nq = s * arp + c * arq;
          A[r * n + p] = np;
          A[p * n + r] = np;
          A[r * n + q] = nq;
          A[q * n + r] = nq;
        }
        for (let r = 0; r < n; r++) {
          const vrp = V[r * n + p];
          const vrq = V[r * n + q];
          V[r * n + p] = c * vrp - s * vrq;
          V[r * n + q] = s * vrp + c * vrq;
        }
        rotations++;
      }
    }
  }
  flops += rotations * jacobiRotationFlops(n);
  chargeFlops(flops);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j] - A[i * n + i]);
  const values = Float64Array.from(order, (i) => A[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, k) => {
    for (let i = 0; i < n; i++) vectors[k * n + i] = V[i * n + col];
  });
  return { values, vectors, sweeps, rotations };
}

/**
 * X = A⁻¹ B for a symmetric positive definite A [n, n] and B [n, k] (row-major), by the Cholesky
 * factorisation A = L Lᵀ and two triangular solves per column of B. Only the lower triangle of A
 * is read; the inputs are not modified. `NotPositiveDefiniteError` when a pivot is ≤ 0 (charged
 * up to there).
 *
 * FLOPs: column j of L: its pivot 2j + sqrt, each of the n − 1 − j entries
 * below it 2j + 1; then per column of B, forward and back substitution, 2i + 1 for the row with i
 * entries before (after) the diagonal: 2n² per column.
 */
export function choleskySolve(a: FloatArray, n: number, b: FloatArray, k: number): Float64Array {
  if (a.length !== n * n || b.length !== n * k) throw new ShapeError(`choleskySolve: A has ${a.length} (want ${n}·${n}), B has ${b.length} (want ${n}·${k})`);
  const L = new Float64Array(n * n);
  let flops = 0;
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let p = 0; p < j; p++) s -= L[j * n + p] * L[j * n + p];
    flops += 2 * j;
    if (!(s > 0)) {
      chargeFlops(flops);
      throw new NotPositiveDefiniteError(`choleskySolve: pivot ${j} is ${s} (the matrix is not positive definite)`);
    }
    const d = Math.sqrt(s);
    L[j * n + j] = d;
    flops += SPECIAL_FLOPS;
    for (let i = j + 1; i < n; i++) {
      let v = a[i * n + j];
      for (let p = 0; p < j; p++) v -= L[i * n + p] * L[j * n + p];
      L[i * n + j] = v / d;
    }
    flops += (n - 1 - j) * (2 * j + 1);
  }
  const X = new Float64Array(n * k);
  const y = new Float64Array(n);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let v = b[i * k + c];
      for (let p = 0; p < i; p++) v -= L[i * n + p] * y[p];
      y[i] = v / L[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = y[i];
      for (let p = i + 1; p < n; p++) v -= L[p * n + i] * X[p * k + c];
      X[i * k + c] = v / L[i * n + i];
    }
  }
  flops += k * 2 * n * n;
  chargeFlops(flops);
  return X;
}

/** A copy of the symmetric A [n, n] with each diagonal entry a_ii replaced by a_ii·(1 + μ) (Marquardt's damping). 2n FLOPs. */
export function dampDiagonal(a: FloatArray, n: number, mu: number): Float64Array {
  if (a.length !== n * n) throw new ShapeError(`dampDiagonal: ${a.length} entries for a ${n} × ${n} matrix`);
  const out = Float64Array.from(a);
  for (let i = 0; i < n; i++) out[i * n + i] = a[i * n + i] * (1 + mu);
  chargeFlops(2 * n);
  return out;
}
