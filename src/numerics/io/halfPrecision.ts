/** IEEE half (F16) and bfloat16 (BF16) conversions: widening is exact; narrowing rounds to nearest-even. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, round to nearest-even; NaN stays a (quiet) NaN. */
export function float32ToBf16Bits(value: number): number {
  f32[0] = value;
  return bf16FromFloat32Bits(u32[0]);
}

/** The same from a float32's bits (uint32): for loops that hold whole rows as bits (the release's slabs). */
export function bf16FromFloat32Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** float32 → IEEE half bits, round to nearest-even, with subnormals, overflow to ±∞ and NaN. */
export function float32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // rounds to ±0
    mantissa |= 0x800000; // the implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1) === 1)) result++;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  let result = (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result++;
  return sign | result; // a carry into the exponent is correct rounding (up to ∞)
}

export function f16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * `out.length` stored bf16 values (little-endian `bytes`) widened into `out` — exactly: a bf16 is
 * the top half of a float32 — answering whether any is NaN or ±∞ (all-ones exponent) in the same
 * pass, without a branch per value. Where `bytes` is 4-byte aligned, two values per 32-bit word.
 */
export function widenBf16Into(bytes: Uint8Array, out: Float32Array): boolean {
  const n = out.length;
  const bits = new Int32Array(out.buffer, out.byteOffset, n);
  let exponents = 0; // OR of (exponent + 1): bit 8 set iff some exponent is 255
  let q = 0;
  if (bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 1);
    for (let w = 0; w < words.length; w++) {
      const x = words[w];
      bits[2 * w] = x << 16;
      bits[2 * w + 1] = x & 0xffff0000;
      exponents |= (((x >>> 7) & 0xff) + 1) | (((x >>> 23) & 0xff) + 1);
    }
    q = 2 * words.length;
  }
  if (q < n) {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    for (; q < n; q++) {
      const x = halves[q];
      bits[q] = x << 16;
      exponents |= ((x >>> 7) & 0xff) + 1;
    }
  }
  return (exponents & 0x100) !== 0;
}
