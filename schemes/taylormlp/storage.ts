import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits } from '../../src/io/halfPrecision';

/** Storage precision of released tensors: what the file holds, and what Run′ computes with. */
export type StorageDType = 'f64' | 'f32' | 'bf16' | 'f16';

export const SAFETENSORS_DTYPE = { f64: 'F64', f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

/** Round every entry to the storage dtype (round to nearest-even), in place; returns the array. */
export function roundToStorage(values: Float64Array, dtype: StorageDType): Float64Array {
  switch (dtype) {
    case 'f64':
      return values;
    case 'f32':
      for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]);
      return values;
    case 'bf16':
      for (let i = 0; i < values.length; i++) values[i] = bf16BitsToFloat32(float32ToBf16Bits(values[i]));
      return values;
    case 'f16':
      for (let i = 0; i < values.length; i++) values[i] = f16BitsToFloat32(float32ToF16Bits(values[i]));
      return values;
  }
}
