import { chargeFlops } from '../../kernel/cost/meter';
import { activations } from '../activations';
import type { TrainerActivationName } from '../models/pointwise';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Kernels for extracting a network with a smooth activation from its values (the generic smooth
 * extraction attack): Hessians by central differences, symmetric matrices as vectors, the
 * activation's derivatives, and the normal equations of a least-squares fit of a one-hidden-layer
 * MLP. Each charges exactly what its loops do under the cost model of src/numerics/tensor/flopModel.ts.
 *
 * Symmetric n × n matrices are handled as vectors of length n(n + 1)/2 — svec(M): the upper
 * triangle row by row, off-diagonal entries times √2 — so that ⟨svec M, svec N⟩ = tr(MN) (the
 * Frobenius inner product). √2 is a constant, not an operation.
 */

/** n(n + 1)/2: the length of svec of an n × n symmetric matrix. */
export const svecLength = (n: number): number => (n * (n + 1)) / 2;

/** The number of points `hessianStencil` returns for an n-dimensional x: 2n² + 1. */
export const stencilSize = (n: number): number => 2 * n * n + 1;

/**
 * The points at which `hessianFromStencil` needs f to form the central-difference Hessian at x
 * with step ε: x; x + εe_k, x − εe_k (k = 0..n−1, in that order); then for each pair k < l
 * (row by row) x + εe_k + εe_l, x + εe_k − εe_l, x − εe_k + εe_l, x − εe_k − εe_l.
 * FLOPs: 1 per shifted coordinate — 2n + 8·n(n − 1)/2.
 */
export function hessianStencil(x: FloatArray, eps: number): Float64Array[] {
  const n = x.length;
  const points: Float64Array[] = [Float64Array.from(x)];
  for (let k = 0; k < n; k++) {
    for (const sk of [eps, -eps]) {
      const p = Float64Array.from(x);
      p[k] += sk;
      points.push(p);
    }
  }
  for (let k = 0; k < n; k++) {
    for (let l = k + 1; l < n; l++) {
      for (const [sk, sl] of [[eps, eps], [eps, -eps], [-eps, eps], [-eps, -eps]]) {
        const p = Float64Array.from(x);
        p[k] += sk;
        p[l] += sl;
        points.push(p);
      }
    }
  }
  chargeFlops(2 * n + 4 * n * (n - 1));
  return points;
}

/**
 * The Hessians of the o outputs of f at x from f at `hessianStencil(x, ε)` (values in that order),
 * as svec rows [o, n(n + 1)/2]:
 *   ∂²f/∂x_k² ≈ (f(x + εe_k) − 2f(x) + f(x − εe_k))/ε²,
 *   ∂²f/∂x_k∂x_l ≈ (f(x + εe_k + εe_l) − f(x + εe_k − εe_l) − f(x − εe_k + εe_l) + f(x − εe_k − εe_l))/(4ε²),
 * both with error O(ε²) (plus rounding ~ u·|f|/ε²).
 * FLOPs: ε² and 4ε² 2; per output, each diagonal entry 4, each off-diagonal entry 5 (three
 * additions, the division, the √2): 2 + o·(4n + 5·n(n − 1)/2).
 */
export function hessianFromStencil(values: readonly FloatArray[], n: number, eps: number): Float64Array {
  if (values.length !== stencilSize(n)) throw new ShapeError(`hessianFromStencil: ${values.length} values for the ${stencilSize(n)} points of an ${n}-dimensional stencil`);
  const o = values[0].length;
  for (const v of values) if (v.length !== o) throw new ShapeError(`hessianFromStencil: outputs of lengths ${o} and ${v.length}`);
  const N = svecLength(n);
  const out = new Float64Array(o * N);
  const e2 = eps * eps;
  const e4 = 4 * e2;
  const f0 = values[0];
  for (let i = 0; i < o; i++) {
    let pair = 1 + 2 * n;
    let s = 0;
    for (let k = 0; k < n; k++) {
      out[i * N + s++] = (values[1 + 2 * k][i] + values[2 + 2 * k][i] - 2 * f0[i]) / e2;
      for (let l = k + 1; l < n; l++) {
        const v = (values[pair][i] - values[pair + 1][i] - values[pair + 2][i] + values[pair + 3][i]) / e4;
        out[i * N + s++] = Math.SQRT2 * v;
        pair += 4;
      }
    }
  }
  chargeFlops(2 + o * (4 * n + (5 * n * (n - 1)) / 2));
  return out;
}

/** svec(w wᵀ): w_a² on the diagonal, √2·w_a·w_b off it. n² FLOPs (1 per diagonal entry, 2 per off-diagonal one). */
export function svecOuter(w: FloatArray): Float64Array {
  const n = w.length;
  const out = new Float64Array(svecLength(n));
  let s = 0;
  for (let a = 0; a < n; a++) {
    out[s++] = w[a] * w[a];
    for (let b = a + 1; b < n; b++) out[s++] = Math.SQRT2 * w[a] * w[b];
  }
  chargeFlops(n * n);
  return out;
}

/**
 * The Jacobian of w ↦ svec(w wᵀ), [n(n + 1)/2, n] row-major: the diagonal entry (a, a) has 2w_a in
 * column a, the off-diagonal entry (a, b) √2·w_b in column a and √2·w_a in column b. n² FLOPs (1
 * per diagonal entry, 2 per off-diagonal one).
 */
export function svecOuterJacobian(w: FloatArray): Float64Array {
  const n = w.length;
  const out = new Float64Array(svecLength(n) * n);
  let s = 0;
  for (let a = 0; a < n; a++) {
    out[s * n + a] = 2 * w[a];
    s++;
    for (let b = a + 1; b < n; b++) {
      out[s * n + a] = Math.SQRT2 * w[b];
      out[s * n + b] = Math.SQRT2 * w[a];
      s++;
    }
  }
  chargeFlops(n * n);
  return out;
}

/**
 * M w for the symmetric M with svec(M) = m. FLOPs: per diagonal entry 2, per off-diagonal entry 5
 * (M_ab = m/√2, then both products into y_a and y_b): 2n + 5·n(n − 1)/2.
 */
export function svecTimes(m: FloatArray, w: FloatArray): Float64Array {
  const n = w.length;
  if (m.length !== svecLength(n)) throw new ShapeError(`svecTimes: svec of length ${m.length} for a vector of ${n}`);
  const y = new Float64Array(n);
  let s = 0;
  for (let a = 0; a < n; a++) {
    y[a] += m[s++] * w[a];
    for (let b = a + 1; b < n; b++) {
      const v = m[s++] / Math.SQRT2;
      y[a] += v * w[b];
      y[b] += v * w[a];
    }
  }
  chargeFlops(2 * n + (5 * n * (n - 1)) / 2);
  return y;
}

/**
 * out[q·(order + 1) + k] = act⁽ᵏ⁾(z[q]) for k = 0..order: the derivatives of a smooth hidden
 * activation. The smooth activations TaylorMLP expands use their own recurrences (charged as they
 * tally, src/numerics/activations.ts); tanh uses tanh(x) = 2σ(2x) − 1, so tanh⁽ᵏ⁾(x) = 2ᵏ⁺¹σ⁽ᵏ⁾(2x)
 * for k ≥ 1: the powers 2ᵏ⁺¹ `order`, then per point 2x 1, tanh SPECIAL_FLOPS, σ's recurrence as
 * tallied, the `order` scalings. ReLU has no derivatives to give: RangeError.
 */
export function activationDerivativeTable(name: TrainerActivationName, z: FloatArray, order: number): Float64Array {
  if (name === 'relu') throw new RangeError('activationDerivativeTable: ReLU is not smooth');
  const width = order + 1;
  const out = new Float64Array(z.length * width);
  let flops = 0;
  const scratch = new Float64Array(width);
  if (name === 'tanh') {
    const sigmoid = activations.sigmoid;
    const powers = new Float64Array(width);
    powers[0] = 2;
    for (let k = 1; k <= order; k++) powers[k] = 2 * powers[k - 1];
    for (let q = 0; q < z.length; q++) {
      flops += sigmoid.derivativesCounted(2 * z[q], order, scratch);
      out[q * width] = Math.tanh(z[q]);
      for (let k = 1; k <= order; k++) out[q * width + k] = powers[k] * scratch[k];
    }
    flops += order + z.length * (1 + SPECIAL_FLOPS + order);
  } else {
    const act = activations[name];
    for (let q = 0; q < z.length; q++) {
      flops += act.derivativesCounted(z[q], order, scratch);
      out.set(scratch, q * width);
    }
  }
  chargeFlops(flops);
  return out;
}

/**
 * Least-squares amplitudes of a profile g [P] against the columns of c [P, o]:
 * α_i = ⟨g, c_i⟩/⟨g, g⟩, and the squared norm they explain, Σ_i α_i·⟨g, c_i⟩ (what is left of
 * Σ_i ‖c_i‖² is the misfit). FLOPs: ⟨g, g⟩ 2P; per column ⟨g, c_i⟩ 2P, α_i 1, its share 2.
 */
export function profileAmplitudes(g: FloatArray, c: FloatArray, o: number): { amplitudes: Float64Array; explained: number } {
  const P = g.length;
  if (c.length !== P * o) throw new ShapeError(`profileAmplitudes: ${c.length} entries for ${P} points × ${o} columns`);
  let gg = 0;
  for (let p = 0; p < P; p++) gg += g[p] * g[p];
  const amplitudes = new Float64Array(o);
  let explained = 0;
  for (let i = 0; i < o; i++) {
    let gc = 0;
    for (let p = 0; p < P; p++) gc += g[p] * c[p * o + i];
    amplitudes[i] = gc / gg;
    explained += amplitudes[i] * gc;
  }
  chargeFlops(2 * P + o * (2 * P + 3));
  return { amplitudes, explained };
}

/**
 * Residuals and Jacobian of the profile model c[p, i] ≈ α_i·act″(s·t_p + b) in the unknowns
 * (s, b, α_1..α_o), for the Gauss–Newton step of a unit's profile fit. `d2`, `d3`: act″ and
 * act‴ at z_p = s·t_p + b. Rows (p, i) p-major; the Jacobian [P·o, 2 + o] row-major:
 * ∂/∂s = α_i·act‴·t_p, ∂/∂b = α_i·act‴, ∂/∂α_k = [k = i]·act″; the residual α_i·act″ − c[p, i].
 * FLOPs: per row 4 (α·act‴ 1, ·t 1, the residual 2; the α-columns are copies).
 */
export function profileJacobian(t: FloatArray, d2: FloatArray, d3: FloatArray, alpha: FloatArray, c: FloatArray): { residual: Float64Array; jacobian: Float64Array } {
  const P = t.length;
  const o = alpha.length;
  if (d2.length !== P || d3.length !== P || c.length !== P * o) throw new ShapeError(`profileJacobian: ${P} points, act″ ${d2.length}, act‴ ${d3.length}, targets ${c.length} for ${o} outputs`);
  const width = 2 + o;
  const residual = new Float64Array(P * o);
  const jacobian = new Float64Array(P * o * width);
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < o; i++) {
      const row = p * o + i;
      const slope = alpha[i] * d3[p];
      jacobian[row * width] = slope * t[p];
      jacobian[row * width + 1] = slope;
      jacobian[row * width + 2 + i] = d2[p];
      residual[row] = alpha[i] * d2[p] - c[row];
    }
  }
  chargeFlops(4 * P * o);
  return { residual, jacobian };
}

/** What `mlpNormalEquations` returns for parameters θ = (W₁, b₁, W₂, b₂). */
export interface NormalEquations {
  /** JᵀJ [p, p], p = h·n + h + o·h + o (both triangles filled). */
  readonly gram: Float64Array;
  /** Jᵀr [p]. */
  readonly gradient: Float64Array;
  /** ‖r‖². */
  readonly squaredResidual: number;
}

/**
 * The normal equations of the least-squares fit of y ≈ W₂ act(W₁x + b₁) + b₂ to targets Y [m, o]
 * at inputs X [m, n], at the current parameters: residual r = f(x) − y per (point, output), and the
 * Jacobian's row for (x, i) — ∂/∂W₁[j, k] = W₂[i, j]·act′(z_j)·x_k, ∂/∂b₁[j] = W₂[i, j]·act′(z_j),
 * ∂/∂W₂[i, j] = act(z_j), ∂/∂b₂[i] = 1 — accumulated into JᵀJ and Jᵀr over its non-zero entries.
 * Parameters in the order W₁ (row-major), b₁, W₂ (row-major), b₂. `values`, `slopes`: act and act′
 * at z = W₁x + b₁ [m, h], from the caller's forward pass.
 *
 * FLOPs, per row (x, i): the output b₂[i] + Σ_j W₂[i, j]·act(z_j) 2h, its residual 1, ‖r‖² 2,
 * W₂[i, j]·act′(z_j) h and its products with x h·n, then over the row's ν non-zero entries the
 * upper triangle of JᵀJ ν(ν + 1) and Jᵀr 2ν. (The lower triangle is a copy.)
 */
export function mlpNormalEquations(first: FloatArray, second: FloatArray, secondBias: FloatArray, values: FloatArray, slopes: FloatArray, X: FloatArray, Y: FloatArray, m: number, n: number, h: number, o: number): NormalEquations {
  if (first.length !== h * n || second.length !== o * h || secondBias.length !== o || values.length !== m * h || slopes.length !== m * h || X.length !== m * n || Y.length !== m * o) {
    throw new ShapeError(`mlpNormalEquations: shapes do not match ${m} points of ${n} → ${h} → ${o}`);
  }
  const p = h * n + h + o * h + o;
  const gram = new Float64Array(p * p);
  const gradient = new Float64Array(p);
  const index = new Int32Array(p);
  const entry = new Float64Array(p);
  const g = new Float64Array(h);
  let squaredResidual = 0;
  let flops = 0;
  for (let q = 0; q < m; q++) {
    const x = X.subarray(q * n, (q + 1) * n);
    const v = values.subarray(q * h, (q + 1) * h);
    const d = slopes.subarray(q * h, (q + 1) * h);
    for (let i = 0; i < o; i++) {
      let y = secondBias[i];
      for (let j = 0; j < h; j++) y += second[i * h + j] * v[j];
      const r = y - Y[q * o + i];
      squaredResidual += r * r;
      flops += 2 * h + 3;
      // The row's non-zero entries in increasing parameter order: W₁, b₁, W₂'s row i, b₂[i].
      for (let j = 0; j < h; j++) g[j] = second[i * h + j] * d[j];
      let nu = 0;
      for (let j = 0; j < h; j++) {
        for (let k = 0; k < n; k++) {
          const e = g[j] * x[k];
          if (e !== 0) {
            index[nu] = j * n + k;
            entry[nu++] = e;
          }
        }
      }
      for (let j = 0; j < h; j++) {
        if (g[j] !== 0) {
          index[nu] = h * n + j;
          entry[nu++] = g[j];
        }
      }
      flops += h + h * n;
      for (let j = 0; j < h; j++) {
        if (v[j] !== 0) {
          index[nu] = h * n + h + i * h + j;
          entry[nu++] = v[j];
        }
      }
      index[nu] = h * n + h + o * h + i;
      entry[nu++] = 1;
      for (let a = 0; a < nu; a++) {
        const ia = index[a];
        const ea = entry[a];
        gradient[ia] += ea * r;
        const rowA = ia * p;
        for (let b = a; b < nu; b++) gram[rowA + index[b]] += ea * entry[b];
      }
      flops += nu * (nu + 1) + 2 * nu;
    }
  }
  for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) gram[b * p + a] = gram[a * p + b];
  chargeFlops(flops);
  return { gram, gradient, squaredResidual };
}
