import { WeightgamesError } from '../../kernel/errors';
/**
 * A dense, row-major tensor over a typed array. Views share their parent's buffer
 * (`subarray`), so slicing rows or reshaping never copies.
 */
import type { FloatArray } from '../../kernel/same';
export type { FloatArray };
export type FloatDType = 'f32' | 'f64';

export interface Tensor {
  readonly dtype: FloatDType;
  readonly shape: readonly number[];
  readonly data: FloatArray;
}

export class ShapeError extends WeightgamesError {
  override readonly name = 'ShapeError';
  readonly kind = 'fault';
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function tensor(shape: readonly number[], data: FloatArray): Tensor {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`invalid shape [${shape.join(', ')}]`);
  if (sizeOf(shape) !== data.length) {
    throw new ShapeError(`shape [${shape.join(', ')}] needs ${sizeOf(shape)} elements, data has ${data.length}`);
  }
  return { dtype: data instanceof Float32Array ? 'f32' : 'f64', shape: [...shape], data };
}

export const zeros = (shape: readonly number[], dtype: FloatDType = 'f64'): Tensor =>
  tensor(shape, dtype === 'f32' ? new Float32Array(sizeOf(shape)) : new Float64Array(sizeOf(shape)));

/** Same buffer, new shape. */
export const reshape = (t: Tensor, shape: readonly number[]): Tensor => tensor(shape, t.data);

/** Row i of a matrix (or the i-th slice along the first axis), as a view. */
export function row(t: Tensor, i: number): Tensor {
  if (t.shape.length === 0) throw new ShapeError('row() of a scalar');
  const [n, ...rest] = t.shape;
  if (!(i >= 0 && i < n)) throw new ShapeError(`row ${i} out of range [0, ${n})`);
  const width = sizeOf(rest);
  return tensor(rest, t.data.subarray(i * width, (i + 1) * width));
}

export const clone = (t: Tensor): Tensor => tensor(t.shape, t.data.slice());

/** A named set of tensors: a checkpoint's state dict. */
export type TensorDict = Readonly<Record<string, Tensor>>;

/** The names of a dict in a fixed order (sorted), so that flattening is deterministic. */
export const sortedNames = (dict: TensorDict): string[] => Object.keys(dict).sort();

/** The transpose of a row-major [rows, cols] matrix (e.g. a GPT-2 Conv1D weight stored [in, out]). */
export function transposeMatrix(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}
