import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits } from '../../src/numerics/io/halfPrecision';

/** Storage precision of released tensors: what the file holds, and what Run′ computes with. */
export type StorageDType = 'f64' | 'f32' | 'bf16' | 'f16';

export const SAFETENSORS_DTYPE = { f64: 'F64', f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

import type { FloatArray } from '../../src/numerics/tensor/tensor';

/** An array for `n` values of the storage dtype: float64 for f64, float32 otherwise (bf16/f16 values are exact in float32). */
export const storageArray = (dtype: StorageDType, n: number): FloatArray => (dtype === 'f64' ? new Float64Array(n) : new Float32Array(n));

/**
 * The values as stored: float64 for f64; float32 for f32 (round to nearest-even on assignment);
 * bf16/f16 rounded to nearest-even and held exactly in float32. (From float64 to bf16/f16 this
 * rounds twice, through float32 — as a float32 model converted to bf16 would.)
 */
export function roundToStorage(values: FloatArray, dtype: StorageDType): FloatArray {
  if (dtype === 'f64') return values instanceof Float64Array ? values : new Float64Array(values);
  const out = values instanceof Float32Array ? values : new Float32Array(values); // the typed-array constructor converts natively
  if (dtype === 'bf16') for (let i = 0; i < out.length; i++) out[i] = bf16BitsToFloat32(float32ToBf16Bits(out[i]));
  if (dtype === 'f16') for (let i = 0; i < out.length; i++) out[i] = f16BitsToFloat32(float32ToF16Bits(out[i]));
  return out;
}
