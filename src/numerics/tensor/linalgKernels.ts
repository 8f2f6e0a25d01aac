import { WeightgamesError } from '../../kernel/errors';
import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Dense linear least squares, charging exactly what the loops do under the cost model of
 * src/numerics/tensor/flopModel.ts (+ − × ÷ 1, sqrt SPECIAL_FLOPS).
 */

/** The system has a zero column after elimination: no unique least-squares solution. */
export class RankDeficientError extends WeightgamesError {
  override readonly name = 'RankDeficientError';
  readonly kind = 'fault' as const;
}

/**
 * X = argmin ‖A X − B‖₂ for A [m, n] (m ≥ n, full column rank) and B [m, k], by Householder QR
 * applied to A and B together, then back substitution. Inputs are not modified. Returns X [n, k].
 *
 * FLOPs: for column j (L = m − j rows below and at j): ‖·‖² 2L + sqrt, v_j 1, vᵀv 2L, and for each
 * of the (n − 1 − j) + k columns it reflects: vᵀa 2L, the factor 2, the update 2L; then back
 * substitution n² per column of B.
 */
export function leastSquares(a: FloatArray, m: number, n: number, b: FloatArray, k: number): Float64Array {
  if (a.length !== m * n || b.length !== m * k) throw new ShapeError(`leastSquares: A has ${a.length} (want ${m}·${n}), B has ${b.length} (want ${m}·${k})`);
  if (m < n) throw new ShapeError(`leastSquares: ${m} equations for ${n} unknowns`);
  const A = Float64Array.from(a);
  const B = Float64Array.from(b);
  const v = new Float64Array(m);
  let flops = 0;
  for (let j = 0; j < n; j++) {
    const L = m - j;
    let s = 0;
    for (let i = j; i < m; i++) s += A[i * n + j] * A[i * n + j];
    const norm = Math.sqrt(s);
    flops += 2 * L + SPECIAL_FLOPS;
    if (norm === 0) {
      chargeFlops(flops);
      throw new RankDeficientError(`leastSquares: column ${j} is zero after elimination (rank < ${n})`);
    }
    const ajj = A[j * n + j];
    const alpha = ajj > 0 ? -norm : norm;
    v[j] = ajj - alpha;
    for (let i = j + 1; i < m; i++) v[i] = A[i * n + j];
    let vtv = 0;
    for (let i = j; i < m; i++) vtv += v[i] * v[i];
    flops += 1 + 2 * L;
    A[j * n + j] = alpha;
    for (let i = j + 1; i < m; i++) A[i * n + j] = 0;
    for (let c = j + 1; c < n; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i] * A[i * n + c];
      const f = (2 * dot) / vtv;
      for (let i = j; i < m; i++) A[i * n + c] -= f * v[i];
    }
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i] * B[i * k + c];
      const f = (2 * dot) / vtv;
      for (let i = j; i < m; i++) B[i * k + c] -= f * v[i];
    }
    flops += (n - 1 - j + k) * (4 * L + 2);
  }
  const X = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    for (let i = n - 1; i >= 0; i--) {
      let acc = B[i * k + c];
      for (let p = i + 1; p < n; p++) acc -= A[i * n + p] * X[p * k + c];
      X[i * k + c] = acc / A[i * n + i];
    }
  }
  flops += k * n * n;
  chargeFlops(flops);
  return X;
}

/** x / ‖x‖₂ and ‖x‖₂. 2n + sqrt + n FLOPs. */
export function normalize(x: FloatArray): [Float64Array, number] {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  const norm = Math.sqrt(s);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] / norm;
  chargeFlops(3 * x.length + SPECIAL_FLOPS);
  return [out, norm];
}

/** x scaled by s. n FLOPs. */
export function scale(x: FloatArray, s: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = s * x[i];
  chargeFlops(x.length);
  return out;
}

/** a ⊗ b as a row-major [a.length, b.length] matrix. a.length·b.length FLOPs. */
export function outer(a: FloatArray, b: FloatArray): Float64Array {
  const out = new Float64Array(a.length * b.length);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i * b.length + j] = a[i] * b[j];
  chargeFlops(a.length * b.length);
  return out;
}
