import { chargeFlops } from '../../kernel/cost/meter';
import { FloatArray, ShapeError, Tensor, tensor } from './tensor';
import { SPECIAL_FLOPS } from './flopModel';
import { rangeProductAvailable, rangeProductBulk } from './simd/rangeProduct';

/**
 * Numeric kernels. Each one charges the active cost meter with the floating-point
 * operations it performs (a multiply-add counts 2; the cost model is src/numerics/tensor/flopModel.ts),
 * so costs are counted by the code that does the work, never claimed by the caller.
 */

function matrixDims(a: Tensor, what: string): [number, number] {
  if (a.shape.length !== 2) throw new ShapeError(`${what}: expected a matrix, got shape [${a.shape.join(', ')}]`);
  return [a.shape[0], a.shape[1]];
}

/** y = A x (+ bias), A: [m, n]. 2mn FLOPs (+ m for the bias). */
export function matVec(a: Tensor, x: FloatArray, bias?: FloatArray): Float64Array {
  const [m, n] = matrixDims(a, 'matVec');
  if (x.length !== n) throw new ShapeError(`matVec: matrix is [${m}, ${n}], vector has ${x.length}`);
  if (bias !== undefined && bias.length !== m) throw new ShapeError(`matVec: bias has ${bias.length}, want ${m}`);
  const out = new Float64Array(m);
  const data = a.data;
  for (let i = 0; i < m; i++) {
    let acc = 0;
    const offset = i * n;
    for (let j = 0; j < n; j++) acc += data[offset + j] * x[j];
    out[i] = bias === undefined ? acc : acc + bias[i];
  }
  chargeFlops(2 * m * n + (bias === undefined ? 0 : m));
  return out;
}

/**
 * C = A B, A: [m, k], B: [k, n]. i-k-j loop order so the inner loop streams rows; a zero entry of
 * A skips its row of B. 2n FLOPs per non-zero entry of A (2mkn when A has no zeros).
 */
export function matMul(a: Tensor, b: Tensor): Tensor {
  const [m, k] = matrixDims(a, 'matMul');
  const [k2, n] = matrixDims(b, 'matMul');
  if (k !== k2) throw new ShapeError(`matMul: inner dimensions differ ([${m}, ${k}] × [${k2}, ${n}])`);
  const out = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  let nonZero = 0;
  for (let i = 0; i < m; i++) {
    const outRow = i * n;
    for (let p = 0; p < k; p++) {
      const aip = ad[i * k + p];
      if (aip === 0) continue;
      nonZero++;
      const bRow = p * n;
      for (let j = 0; j < n; j++) out[outRow + j] += aip * bd[bRow + j];
    }
  }
  chargeFlops(2 * n * nonZero);
  return tensor([m, n], out);
}

/** Σ_p a[ai + p]·b[bi + p] with two accumulators (even and odd p), added at the end. */
function dot2(ad: FloatArray, ai: number, bd: FloatArray, bi: number, k: number): number {
  let acc0 = 0;
  let acc1 = 0;
  let p = 0;
  for (; p + 1 < k; p += 2) {
    acc0 += ad[ai + p] * bd[bi + p];
    acc1 += ad[ai + p + 1] * bd[bi + p + 1];
  }
  if (p < k) acc0 += ad[ai + p] * bd[bi + p];
  return acc0 + acc1;
}

/**
 * C = A Bᵀ, A: [m, k], B: [n, k] — the nn.Linear product (X Wᵀ). Both operands are read along
 * rows, so the inner loop is a contiguous dot product. (2k + 1)·mn FLOPs: k multiply-adds per
 * output, spread over two accumulators, and the one addition that joins them.
 */
export function matMulTransposed(a: Tensor, b: Tensor): Tensor {
  const [m, k] = matrixDims(a, 'matMulTransposed');
  const [n, k2] = matrixDims(b, 'matMulTransposed');
  if (k !== k2) throw new ShapeError(`matMulTransposed: inner dimensions differ ([${m}, ${k}] × [${n}, ${k2}]ᵀ)`);
  const out = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  // Every output is the same sum in the same order as the plain loop (two accumulators, even and
  // odd p, added at the end): the 2 × 2 blocks only reuse each loaded operand twice.
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, t00 = 0, s01 = 0, t01 = 0, s10 = 0, t10 = 0, s11 = 0, t11 = 0;
      let p = 0;
      for (; p + 1 < k; p += 2) {
        const x0 = ad[a0 + p], y0 = ad[a0 + p + 1], x1 = ad[a1 + p], y1 = ad[a1 + p + 1];
        const v0 = bd[b0 + p], w0 = bd[b0 + p + 1], v1 = bd[b1 + p], w1 = bd[b1 + p + 1];
        s00 += x0 * v0;
        t00 += y0 * w0;
        s01 += x0 * v1;
        t01 += y0 * w1;
        s10 += x1 * v0;
        t10 += y1 * w0;
        s11 += x1 * v1;
        t11 += y1 * w1;
      }
      if (p < k) {
        s00 += ad[a0 + p] * bd[b0 + p];
        s01 += ad[a0 + p] * bd[b1 + p];
        s10 += ad[a1 + p] * bd[b0 + p];
        s11 += ad[a1 + p] * bd[b1 + p];
      }
      out[i * n + j] = s00 + t00;
      out[i * n + j + 1] = s01 + t01;
      out[(i + 1) * n + j] = s10 + t10;
      out[(i + 1) * n + j + 1] = s11 + t11;
    }
    for (; j < n; j++) {
      out[i * n + j] = dot2(ad, a0, bd, j * k, k);
      out[(i + 1) * n + j] = dot2(ad, a1, bd, j * k, k);
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = dot2(ad, i * k, bd, j * k, k);
  chargeFlops((2 * k + 1) * m * n);
  return tensor([m, n], out);
}

/**
 * The per-column range of C = A Bᵀ without C: min[j] and max[j] over the rows i of
 * Σ_p A[i, p]·B[j, p] — each entry the same sum in the same order as matMulTransposed, rows
 * visited in order (so −0/+0 ties fall as a scan of C would). `min`/`max` hold the starting
 * values (±∞, or 0 for a range that includes zero) and are updated in place. (2k + 1)·m·n FLOPs:
 * 2 per multiply-add and 1 for adding the two accumulators (the comparisons are free).
 */
export function matMulTransposedRange(a: FloatArray, m: number, b: FloatArray, n: number, k: number, min: Float64Array, max: Float64Array): void {
  if (a.length !== m * k || b.length !== n * k || min.length !== n || max.length !== n) throw new ShapeError(`matMulTransposedRange: A ${a.length} (want ${m}·${k}), B ${b.length} (want ${n}·${k}), min/max ${min.length}/${max.length} (want ${n})`);
  // A float64 (calibration inputs) and B float32 (stored weights): the row pairs × column quads by
  // WebAssembly SIMD, the same sums in the same order (./simd/rangeProduct); the rest below.
  const m2 = m - (m % 2);
  const n4 = n - (n % 4);
  const bulk = a instanceof Float64Array && b instanceof Float32Array && m2 > 0 && n4 > 0 && rangeProductAvailable();
  if (bulk) rangeProductBulk(a, m, b, n, k, m2, n4, min, max);
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    let j = bulk ? n4 : 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, t00 = 0, s01 = 0, t01 = 0, s10 = 0, t10 = 0, s11 = 0, t11 = 0;
      let p = 0;
      for (; p + 1 < k; p += 2) {
        const x0 = a[a0 + p], y0 = a[a0 + p + 1], x1 = a[a1 + p], y1 = a[a1 + p + 1];
        const v0 = b[b0 + p], w0 = b[b0 + p + 1], v1 = b[b1 + p], w1 = b[b1 + p + 1];
        s00 += x0 * v0;
        t00 += y0 * w0;
        s01 += x0 * v1;
        t01 += y0 * w1;
        s10 += x1 * v0;
        t10 += y1 * w0;
        s11 += x1 * v1;
        t11 += y1 * w1;
      }
      if (p < k) {
        s00 += a[a0 + p] * b[b0 + p];
        s01 += a[a0 + p] * b[b1 + p];
        s10 += a[a1 + p] * b[b0 + p];
        s11 += a[a1 + p] * b[b1 + p];
      }
      see(min, max, j, s00 + t00);
      see(min, max, j + 1, s01 + t01);
      see(min, max, j, s10 + t10);
      see(min, max, j + 1, s11 + t11);
    }
    for (; j < n; j++) {
      see(min, max, j, dot2(a, a0, b, j * k, k));
      see(min, max, j, dot2(a, a1, b, j * k, k));
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) see(min, max, j, dot2(a, i * k, b, j * k, k));
  chargeFlops((2 * k + 1) * m * n);
}

function see(min: Float64Array, max: Float64Array, j: number, v: number): void {
  if (v < min[j]) min[j] = v;
  if (v > max[j]) max[j] = v;
}

/**
 * The elementwise functions `mapArray` applies, each with its cost in the model: the kernel
 * names the function, so a caller can never pass its own f with a cost of its choosing.
 */
const elementwise = {
  tanh: { f: Math.tanh, flops: SPECIAL_FLOPS },
  exp: { f: Math.exp, flops: SPECIAL_FLOPS },
  sqrt: { f: Math.sqrt, flops: SPECIAL_FLOPS },
  square: { f: (v: number) => v * v, flops: 1 },
  relu: { f: (v: number) => (v > 0 ? v : 0), flops: 0 },
} as const;

export type ElementwiseFunction = keyof typeof elementwise;

/** Elementwise f(x) for a named f (tanh, exp, sqrt, square, relu), charged by the model's cost of f. */
export function mapArray(x: FloatArray, name: ElementwiseFunction): Float64Array {
  const entry = elementwise[name];
  if (entry === undefined) throw new RangeError(`mapArray: unknown elementwise function ${String(name)}; known: ${Object.keys(elementwise).join(', ')}`);
  const out = new Float64Array(x.length);
  const f = entry.f;
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  chargeFlops(entry.flops * x.length);
  return out;
}

/** a + s·b elementwise. 2n FLOPs. */
export function axpy(a: FloatArray, s: number, b: FloatArray): Float64Array {
  if (a.length !== b.length) throw new ShapeError(`axpy: lengths ${a.length} and ${b.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + s * b[i];
  chargeFlops(2 * a.length);
  return out;
}

/** Σ x. n FLOPs. */
export function sum(x: FloatArray): number {
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i];
  chargeFlops(x.length);
  return acc;
}

/** ⟨x, y⟩. 2n FLOPs. */
export function dot(x: FloatArray, y: FloatArray): number {
  if (x.length !== y.length) throw new ShapeError(`dot: lengths ${x.length} and ${y.length}`);
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i] * y[i];
  chargeFlops(2 * x.length);
  return acc;
}

/** a + b elementwise. n FLOPs. */
export function addArrays(a: FloatArray, b: FloatArray): Float64Array {
  if (a.length !== b.length) throw new ShapeError(`addArrays: lengths ${a.length} and ${b.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  chargeFlops(a.length);
  return out;
}

/** a − b elementwise. n FLOPs. */
export function subtractArrays(a: FloatArray, b: FloatArray): Float64Array {
  if (a.length !== b.length) throw new ShapeError(`subtractArrays: lengths ${a.length} and ${b.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  chargeFlops(a.length);
  return out;
}

/** In place: target[r, i] += bias[i] for every row r of target [rows, bias.length]. rows·n FLOPs. */
export function addRowBias(target: FloatArray, bias: FloatArray): void {
  const n = bias.length;
  if (n === 0 ? target.length !== 0 : target.length % n !== 0) throw new ShapeError(`addRowBias: ${target.length} entries are not rows of ${n}`);
  for (let q = 0; q < target.length; q += n) for (let i = 0; i < n; i++) target[q + i] += bias[i];
  chargeFlops(target.length);
}

/** In place: target += x elementwise. n FLOPs. */
export function addInPlace(target: FloatArray, x: FloatArray): void {
  if (target.length !== x.length) throw new ShapeError(`addInPlace: lengths ${target.length} and ${x.length}`);
  for (let q = 0; q < target.length; q++) target[q] += x[q];
  chargeFlops(target.length);
}

/** In place: target ⊙= x elementwise. n FLOPs. */
export function multiplyInPlace(target: FloatArray, x: FloatArray): void {
  if (target.length !== x.length) throw new ShapeError(`multiplyInPlace: lengths ${target.length} and ${x.length}`);
  for (let q = 0; q < target.length; q++) target[q] *= x[q];
  chargeFlops(target.length);
}
