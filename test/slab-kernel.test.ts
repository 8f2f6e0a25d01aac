import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { SlabKernel, slabKernel } from '../src/numerics/tensor/simd/slabKernel';
import { seriesCoefficientSlab } from '../src/numerics/tensor/seriesKernels';
import { uleb, sleb } from '../src/numerics/tensor/simd/wasmModule';
import { DirectFile } from '../src/numerics/io/directWrites';
import { rangeProductBulk } from '../src/numerics/tensor/simd/rangeProduct';
import { withMeter } from '../src/kernel/cost/meter';
import { temporaryDirectory } from './helpers/temporaryDirectories';
import { directPossible } from './helpers/directIo';

/**
 * The WebAssembly SIMD slab kernel (src/numerics/tensor/simd/slabKernel.ts) against the JavaScript
 * loop it replaces on the release's common path: the same bits for every value (finite, subnormal,
 * overflowing), the same finiteness verdict, the same charge; and its slabs placed so that a
 * direct write needs no staging copy.
 */

/** A float32 from its bits. */
const fromBits = (bits: number): number => new Float32Array(Uint32Array.of(bits >>> 0).buffer)[0];
/** Finite float32s, and ones whose low 16 bits sit at bfloat16's rounding ties (0x7fff, 0x8000, 0x8001: nearest-even decides). */
const float32 = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x7fff, 0x8000, 0x8001)).map(([high, low]) => fromBits((high << 16) | low)).filter(Number.isFinite),
);
/** Coefficients, with 1 among them often, so that a product is its float32 exactly (and the ties above reach the rounding). */
const float64 = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), fc.constantFrom(1, 1, 1, 0, -0, 1e-310, 1e300, -1e300, 2 ** -149));

describe('SIMD slab kernel', () => {
  it('LEB128 encoders: the bytes the WebAssembly spec gives', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(0x7f800000)).toEqual([0x80, 0x80, 0x80, 0xfc, 0x07]);
  });

  it('is available on Node 20 (WebAssembly SIMD)', () => {
    expect(SlabKernel.available).toBe(true);
  });

  it.each(['f32', 'bf16'] as const)('%s, every order: the same stored bits, finiteness verdict and FLOP charge as seriesCoefficientSlab (any o, K, including K mod 4 ≠ 0)', (dtype) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 ** 30 }), (o, K, orders, seed) => {
        const kernel = slabKernel;
        const room = kernel.prepare(o, K, orders, dtype);
        const w = fc.sample(float32, { numRuns: o * K, seed });
        const s = fc.sample(float64, { numRuns: orders * K, seed: seed + 1 });
        room.w.set(w);
        room.scale.set(s);
        const units = Int32Array.from({ length: K }, (_, k) => k);
        for (let n = 0; n < orders; n++) {
          const expected = dtype === 'f32' ? new Float32Array(o * K) : new Uint16Array(o * K);
          const [jsBad, jsCost] = withMeter(() => seriesCoefficientSlab(expected, Float32Array.from(w), Float64Array.from(s), units, n, o, K, null));
          const view = kernel.slabView((n % 2) as 0 | 1, 4 * n);
          const [simdBad, simdCost] = withMeter(() => kernel.slab(view, n));
          expect(Buffer.from(view.bytes).equals(Buffer.from(expected.buffer))).toBe(true);
          expect(simdBad).toBe(jsBad >= 0);
          expect(simdCost.flops).toBe(jsCost.flops);
        }
      }),
      { numRuns: 60, seed: 20261130 },
    );
  });

  it('bf16: a float32 product that rounds up to ∞ in bfloat16 is flagged, in a vector lane and in the scalar tail', () => {
    const kernel = slabKernel;
    const room = kernel.prepare(1, 5, 1, 'bf16');
    room.w.fill(1);
    room.scale.fill(1);
    expect(kernel.slab(kernel.slabView(0, 0), 0)).toBe(false);
    room.scale[2] = 3.4e38; // finite in float32, ∞ once rounded to bfloat16
    expect(kernel.slab(kernel.slabView(0, 0), 0)).toBe(true);
    room.scale[2] = 1;
    room.scale[4] = -3.4e38;
    expect(kernel.slab(kernel.slabView(1, 0), 0)).toBe(true);
  });

  it('a product that overflows float32 is flagged; one that does not, is not', () => {
    const kernel = slabKernel;
    const room = kernel.prepare(2, 5, 1);
    room.w.fill(1e-3);
    room.scale.fill(1);
    expect(kernel.slab(kernel.slabView(0, 0), 0)).toBe(false);
    room.scale[4] = 1e300; // the scalar tail's lane (K mod 4 = 1)
    expect(kernel.slab(kernel.slabView(0, 0), 0)).toBe(true);
    room.scale[4] = 1;
    room.scale[1] = -1e300; // a vector lane
    expect(kernel.slab(kernel.slabView(1, 0), 0)).toBe(true);
  });

  it('places a slab on the same offset within a page as its file position, so a direct write takes it as it is', () => {
    const kernel = slabKernel;
    const o = 128;
    const K = 1000; // 512 kB: big enough to be written directly
    const room = kernel.prepare(o, K, 1);
    room.w.fill(0.5);
    room.scale.fill(3);
    const dir = temporaryDirectory('wg-slab-');
    const file = path.join(dir, 'slab.bin');
    const position = 3 * 4096 + 1236;
    const view = kernel.slabView(1, position);
    expect(view.pageCongruent).toBe(true);
    expect(view.bytes.byteOffset % 4096).toBe(position % 4096);
    kernel.slab(view, 0);
    const fd = fs.openSync(file, 'w+');
    try {
      fs.ftruncateSync(fd, position + view.bytes.length);
      const writer = DirectFile.open(fd);
      writer.writeSync(view.bytes, position, true);
      writer.close();
      const back = fs.readFileSync(file).subarray(position);
      expect(new Float32Array(back.buffer.slice(back.byteOffset, back.byteOffset + back.length)).every((v) => v === 1.5)).toBe(true);
      expect(writer.stats.direct + writer.stats.buffered).toBe(view.bytes.length);
      // Written directly from the kernel's own memory (a wrong placement would be refused, EINVAL, and fall back).
      if (directPossible(dir)) expect(writer.stats.direct).toBeGreaterThan(0);
    } finally {
      fs.closeSync(fd);
    }
    // A position off a multiple of 4 cannot be matched by float32 values: said so, not faked.
    expect(kernel.slabView(0, position + 2).pageCongruent).toBe(false);
  });

  it('the range product in column chunks (big layers) gives the bits of one pass', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 2 ** 30 }), (pairs, quads, k, seed) => {
        const [m, n] = [2 * pairs, 4 * quads];
        const a = Float64Array.from(fc.sample(float64, { numRuns: m * k, seed }));
        const b = Float32Array.from(fc.sample(float32, { numRuns: n * k, seed: seed + 1 }));
        const run = (chunkBytes?: number) => {
          const min = new Float64Array(n).fill(Infinity);
          const max = new Float64Array(n).fill(-Infinity);
          rangeProductBulk(a, m, b, n, k, m, n, min, max, chunkBytes);
          return [...min, ...max];
        };
        expect(run(4 * k * 4)).toEqual(run()); // four columns per chunk against all at once
      }),
      { numRuns: 40, seed: 20261130 },
    );
  });
});

