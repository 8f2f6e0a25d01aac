import { chargeFlops } from '../../kernel/cost/meter';
import { WeightgamesError } from '../../kernel/errors';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Lattice reduction for the generic extraction's sign step (adversaries/generic/reluExtraction.ts),
 * charging exactly what its loops do under the cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ 1;
 * Math.round, comparisons and swaps 0, as Math.abs).
 */

/** A lattice basis whose Gram matrix leaves the integers float64 holds exactly (|·| > 2^52), or an LLL that does not terminate. */
export class LatticeRangeError extends WeightgamesError {
  override readonly name = 'LatticeRangeError';
  readonly kind = 'fault' as const;
}

/** Largest magnitude of an exact integer kept in float64 here. */
const EXACT = 2 ** 52;

/**
 * LLL reduction (Lenstra, Lenstra, Lovász, "Factoring polynomials with rational coefficients",
 * Math. Ann. 1982) of the rows b_0 … b_{r−1} of an integer basis B [rows, cols] (rows linearly
 * independent, entries integers held in float64), with the Lovász parameter δ (default 0.99).
 * Returns the reduced basis [rows, cols]: a basis of the same lattice (rows changed only by
 * integer row operations and swaps) with |μ_kj| ≤ 0.51 (½ up to rounding) and
 * ‖b*_k‖² ≥ (δ − μ²_{k,k−1}) ‖b*_{k−1}‖².
 *
 * Floating-point LLL in the manner of Schnorr and Euchner ("Lattice basis reduction: improved
 * practical algorithms…", Math. Programming 1994) with Householder orthogonalisation as in
 * Morel, Stehlé and Villard's H-LLL (2009): the basis stays exact (integers below 2^52, else
 * {@link LatticeRangeError}); each time row k is visited, and again after every pass of size
 * reduction that changed it, its row of R (B = R Q, μ_kj = R_kj/R_jj, ‖b*_k‖ = |R_kk|) is
 * recomputed from the exact b_k by the Householder reflections of the rows above, so rounding
 * never accumulates across steps and its error is relative to ‖b_k‖, not ‖b_k‖² (a Gram-matrix
 * Gram–Schmidt loses the small ‖b*_k‖ of a knapsack lattice to cancellation).
 *
 * FLOPs, counted where they run: row k of R, per reflection i < k 4(cols − i) + 2, then the new
 * reflection 2(cols − k) + sqrt + 2(cols − k) + 2, and μ_kj 1 per j < k; a size-reduction step by
 * q = round(μ_kj), 2·cols (b_k) + 2j + 1 (μ); the Lovász test, 4.
 */
export function lllReduce(basis: FloatArray, rows: number, cols: number, delta = 0.99): Float64Array {
  if (basis.length !== rows * cols) throw new ShapeError(`lllReduce: basis has ${basis.length} entries, want ${rows}·${cols}`);
  if (rows > cols) throw new ShapeError(`lllReduce: ${rows} rows in ${cols} dimensions are not independent`);
  if (!(delta > 0.25 && delta < 1)) throw new RangeError(`lllReduce: δ must be in (1/4, 1), got ${delta}`);
  const b = Float64Array.from(basis);
  for (const v of b) if (!Number.isInteger(v) || Math.abs(v) > EXACT) throw new LatticeRangeError(`lllReduce: entry ${v} is not an integer below 2^52`);
  let flops = 0;
  /** Householder vectors v_i (entries i … cols − 1 used), their squared norms. */
  const v = new Float64Array(rows * cols);
  const vtv = new Float64Array(rows);
  /** R's rows: R_kj for j ≤ k. */
  const R = new Float64Array(rows * rows);
  const mu = new Float64Array(rows * rows);
  const norms = new Float64Array(rows);
  const work = new Float64Array(cols);
  const fail = (message: string): never => {
    chargeFlops(flops);
    throw new LatticeRangeError(`lllReduce: ${message}`);
  };

  /** Row k of R and μ from the exact b_k (reflections 0 … k − 1 must be those of the current rows). */
  const rowOfR = (k: number): void => {
    for (let c = 0; c < cols; c++) work[c] = b[k * cols + c];
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let c = i; c < cols; c++) s += v[i * cols + c] * work[c];
      const f = (2 * s) / vtv[i];
      for (let c = i; c < cols; c++) work[c] -= f * v[i * cols + c];
      flops += 4 * (cols - i) + 2;
    }
    for (let j = 0; j < k; j++) {
      R[k * rows + j] = work[j];
      mu[k * rows + j] = work[j] / R[j * rows + j];
    }
    flops += k;
  };

  /** The reflection of row k from its tail (after rowOfR(k)): R_kk and ‖b*_k‖². */
  const reflect = (k: number): void => {
    let s = 0;
    for (let c = k; c < cols; c++) s += work[c] * work[c];
    const norm = Math.sqrt(s);
    if (!(norm > 0)) fail(`row ${k} depends on the rows above it`);
    const alpha = work[k] > 0 ? -norm : norm;
    for (let c = k; c < cols; c++) v[k * cols + c] = work[c];
    v[k * cols + k] = work[k] - alpha;
    let t = 0;
    for (let c = k; c < cols; c++) t += v[k * cols + c] * v[k * cols + c];
    vtv[k] = t;
    R[k * rows + k] = alpha;
    norms[k] = s;
    flops += 2 * (cols - k) + SPECIAL_FLOPS + 1 + 2 * (cols - k) + 1;
  };

  /** b_k ← b_k − q·b_j, μ_k· in step. */
  const reduce = (k: number, j: number, q: number): void => {
    for (let c = 0; c < cols; c++) {
      const x = b[k * cols + c] - q * b[j * cols + c];
      if (!(Math.abs(x) <= EXACT)) fail(`an entry of row ${k} leaves the exact integers (q = ${q})`);
      b[k * cols + c] = x;
    }
    for (let i = 0; i < j; i++) mu[k * rows + i] -= q * mu[j * rows + i];
    mu[k * rows + j] -= q;
    flops += 2 * cols + 2 * j + 1;
  };

  const swap = (k: number): void => {
    for (let c = 0; c < cols; c++) {
      const t = b[k * cols + c];
      b[k * cols + c] = b[(k - 1) * cols + c];
      b[(k - 1) * cols + c] = t;
    }
  };

  /** Visit row k: size-reduce it against the rows above, then its reflection. */
  const visit = (k: number): void => {
    for (let pass = 0; ; pass++) {
      rowOfR(k);
      let changed = false;
      for (let j = k - 1; j >= 0; j--) {
        const m = mu[k * rows + j];
        if (Math.abs(m) > 0.51) {
          reduce(k, j, Math.round(m));
          changed = true;
        }
      }
      if (!changed) break;
      if (pass >= 100) fail(`size reduction of row ${k} does not settle`);
    }
    reflect(k);
  };

  if (rows === 0) return b;
  visit(0);
  const limit = 1000 * rows * rows + 10_000;
  let steps = 0;
  let k = 1;
  while (k < rows) {
    if (++steps > limit) fail(`no reduced basis after ${limit} steps`);
    visit(k);
    const m = mu[k * rows + k - 1];
    flops += 4;
    if (delta * norms[k - 1] > norms[k] + m * m * norms[k - 1]) {
      swap(k);
      k = Math.max(1, k - 1);
      if (k === 1) visit(0);
    } else {
      k++;
    }
  }
  chargeFlops(flops);
  return b;
}

/**
 * A 0/1 vector δ with ‖C δ − t‖_∞ ≤ tolerance (C [equations, unknowns] row-major, t
 * [equations]) found by lattice reduction, or null: the subset-sum embedding of Lagarias and
 * Odlyzko ("Solving low-density subset sum problems", J. ACM 1985) in the form of Coster, Joux,
 * LaMacchia, Odlyzko, Schnorr and Stern (CJLOSS, Comput. Complexity 1992), one block of columns
 * per equation, with Kannan's extra coordinate for the target row. With s = max|C| and, at
 * resolution ρ, the integer equations Ĉ = round(ρ·C/s), t̂ = round(ρ·t/s), the basis rows are
 *   b_j = (2K e_j, Ĉ_{·j}, 0)   for each unknown j,   b_u = (K, …, K, t̂, 1),
 * and Σ_j δ_j b_j − b_u = (K(2δ − 1), Ĉδ − t̂, −1): entries ±K, then only rounding (~0.3·√(#δ)
 * an equation) and the measurement's error — a short vector when C's columns have no small
 * integer relation (a real, low-density subset sum). K = 4 shortens it relative to the rest of
 * the lattice (the rounding term weighs less).
 *
 * The resolution is raised gradually, ×16 a stage from 16 up to `resolution`: each stage's basis
 * is the last stage's integer combination U (read off its first and last columns) applied to the
 * new stage's rows, so every LLL starts from a nearly reduced basis. After each stage the rows
 * whose combination has U_{iu} = ∓1 and U_{ij} ∈ {0, ±1} of one sign give the candidates
 * δ_j = ∓U_{iu}·U_{ij}, and the first that meets the tolerance on the real C and t is returned
 * (so no more resolution is spent than the instance needs). The stages reduce with δ = 3/4 (far
 * fewer swaps; the next stage's resolution makes up for the weaker reduction); if the last stage
 * has no solution, its basis is reduced once more with δ = 0.99. `resolution` should keep the
 * measured error of C δ − t, times resolution/s, below 1.
 *
 * FLOPs: 1/s 1; per stage, the scaling 2 per entry of C and t, U·(Ĉ; t̂) 2·equations per non-zero
 * entry of U, the identity block 3 per entry and reading it back 3 per entry, {@link lllReduce},
 * and equations·(2·unknowns + 1) per candidate checked.
 */
export function zeroOneCombination(c: FloatArray, equations: number, unknowns: number, t: FloatArray, resolution: number, tolerance: number): Float64Array | null {
  if (c.length !== equations * unknowns || t.length !== equations) throw new ShapeError(`zeroOneCombination: C has ${c.length} (want ${equations}·${unknowns}), t has ${t.length} (want ${equations})`);
  if (!(resolution >= 2)) throw new RangeError(`zeroOneCombination: resolution must be at least 2, got ${resolution}`);
  let s = 0;
  for (const v of c) s = Math.max(s, Math.abs(v));
  if (!(s > 0)) return null;
  const K = 4;
  const unit = 1 / s;
  let flops = 1;
  const rows = unknowns + 1;
  const cols = unknowns + equations + 1;
  const last = cols - 1;
  const tried = new Set<string>();

  /** The first candidate of a reduced basis that meets the tolerance. */
  const solution = (reduced: Float64Array): Float64Array | null => {
    for (let i = 0; i < rows; i++) {
      const ui = reduced[i * cols + last];
      if (ui !== 1 && ui !== -1) continue;
      // Row i's identity block is K(2U_ij + U_iu): with U_iu = ±1, U_ij = 0 reads K·U_iu (δ_j = 0), U_ij = −U_iu reads −K·U_iu (δ_j = 1).
      const delta = new Float64Array(unknowns);
      let ok = true;
      for (let j = 0; j < unknowns && ok; j++) {
        const entry = reduced[i * cols + j];
        if (entry === ui * K) delta[j] = 0;
        else if (entry === -ui * K) delta[j] = 1;
        else ok = false;
      }
      if (!ok) continue;
      const key = delta.join('');
      if (tried.has(key)) continue;
      tried.add(key);
      let worst = 0;
      for (let e = 0; e < equations; e++) {
        let acc = -t[e];
        for (let j = 0; j < unknowns; j++) acc += c[e * unknowns + j] * delta[j];
        worst = Math.max(worst, Math.abs(acc));
      }
      flops += equations * (2 * unknowns + 1);
      if (worst <= tolerance) return delta;
    }
    return null;
  };

  // U: row i of the current basis is Σ_k U_ik (row k of the stage's initial basis).
  let U = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) U[i * rows + i] = 1;
  const ladder: number[] = [];
  for (let rho = 16; rho < resolution; rho *= 16) ladder.push(rho);
  ladder.push(resolution);
  let reduced: Float64Array = new Float64Array(0);
  for (const rho of ladder) {
    // The stage's equations, rows k of (Ĉ; t̂): [rows, equations].
    const factor = rho * unit;
    const eq = new Float64Array(rows * equations);
    for (let j = 0; j < unknowns; j++) for (let e = 0; e < equations; e++) eq[j * equations + e] = Math.round(factor * c[e * unknowns + j]);
    for (let e = 0; e < equations; e++) eq[unknowns * equations + e] = Math.round(factor * t[e]);
    flops += 1 + c.length + t.length;
    const basis = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const ui = U[i * rows + unknowns];
      for (let j = 0; j < unknowns; j++) basis[i * cols + j] = K * (2 * U[i * rows + j] + ui);
      basis[i * cols + last] = ui;
      for (let k = 0; k < rows; k++) {
        const uik = U[i * rows + k];
        if (uik === 0) continue;
        for (let e = 0; e < equations; e++) basis[i * cols + unknowns + e] += uik * eq[k * equations + e];
        flops += 2 * equations;
      }
    }
    flops += 3 * rows * unknowns;
    chargeFlops(flops);
    flops = 0;
    reduced = lllReduce(basis, rows, cols, 0.75);
    const found = solution(reduced);
    if (found !== null) {
      chargeFlops(flops);
      return found;
    }
    U = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) {
      const ui = reduced[i * cols + last];
      U[i * rows + unknowns] = ui;
      for (let j = 0; j < unknowns; j++) U[i * rows + j] = (reduced[i * cols + j] / K - ui) / 2;
    }
    flops += 3 * rows * unknowns;
  }
  chargeFlops(flops);
  flops = 0;
  const found = solution(lllReduce(reduced, rows, cols, 0.99));
  chargeFlops(flops);
  return found;
}
