import { chargeFlops } from '../cost/meter';
import { FloatArray, ShapeError, Tensor, tensor } from './tensor';
import { SPECIAL_FLOPS } from './flopModel';

/**
 * Numeric kernels. Each one charges the active cost meter with the floating-point
 * operations it performs (a multiply-add counts 2; the cost model is src/tensor/flopModel.ts),
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

/**
 * C = A Bᵀ, A: [m, k], B: [n, k] — the nn.Linear product (X Wᵀ). Both operands are read along
 * rows, so the inner loop is a contiguous dot product. 2mkn FLOPs.
 */
export function matMulTransposed(a: Tensor, b: Tensor): Tensor {
  const [m, k] = matrixDims(a, 'matMulTransposed');
  const [n, k2] = matrixDims(b, 'matMulTransposed');
  if (k !== k2) throw new ShapeError(`matMulTransposed: inner dimensions differ ([${m}, ${k}] × [${n}, ${k2}]ᵀ)`);
  const out = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < m; i++) {
    const aRow = i * k;
    for (let j = 0; j < n; j++) {
      const bRow = j * k;
      let acc0 = 0;
      let acc1 = 0;
      let p = 0;
      for (; p + 1 < k; p += 2) {
        acc0 += ad[aRow + p] * bd[bRow + p];
        acc1 += ad[aRow + p + 1] * bd[bRow + p + 1];
      }
      if (p < k) acc0 += ad[aRow + p] * bd[bRow + p];
      out[i * n + j] = acc0 + acc1;
    }
  }
  chargeFlops(2 * m * k * n);
  return tensor([m, n], out);
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
