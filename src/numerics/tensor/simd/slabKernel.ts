import { chargeFlops } from '../../../kernel/cost/meter';
import { ShapeError } from '../tensor';
import { WasmFunction, op } from './wasmModule';
import { WasmHost } from './wasmHost';

/**
 * Θ's order slabs in float32 with WebAssembly SIMD: Θ[n, i, k] = fround(W[i, k]·scale[n·K + k])
 * (Algorithm 1 line 5, every unit expanded in order), two products at a time — f32 widened to f64
 * exactly, multiplied in f64, narrowed to f32 nearest-even: the same operations, so the same bits,
 * as seriesCoefficientSlab's JavaScript loop (a test compares them bit for bit). The finiteness
 * guard runs in the same pass (any stored exponent all ones).
 *
 * W, the coefficients and two slab buffers live in one WebAssembly memory per thread (a kernel
 * reads only its own memory): W is read from the file straight into it, and a slab is placed so
 * that its bytes sit on the same offset within a page as its place in the file — so its page-aligned
 * middle can be written directly (O_DIRECT, ../../io/directWrites) with no staging copy.
 */

const PAGE = 4096;

/** slab(w, scale, out, rows, K) → 1 if a stored value is NaN or ±∞, else 0. Pointers are byte offsets. */
function slabFunction(): WasmFunction {
  const [w, scale, out, rows, K, sp, k, acc, mask, d, flag] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const EXPONENT = 0x7f800000;
  /** d = two products (f32 W at w+wOff, f64 scale at sp+sOff), stored at out+wOff; acc |= lanes whose exponent is all ones. */
  const pair = (wOff: number, sOff: number) => [
    ...op.get(w), ...op.v128Load64Zero(wOff), ...op.f64x2PromoteLowF32x4,
    ...op.get(sp), ...op.v128Load(sOff),
    ...op.f64x2Mul, ...op.f32x4DemoteF64x2Zero, ...op.set(d),
    ...op.get(out), ...op.get(d), ...op.v128Store64Lane0(wOff),
    ...op.get(acc), ...op.get(d), ...op.get(mask), ...op.v128And, ...op.get(mask), ...op.i32x4Eq, ...op.v128Or, ...op.set(acc),
  ];
  const advance = (local: number, by: number) => [...op.get(local), ...op.i32(by), ...op.i32Add, ...op.set(local)];
  // prettier-ignore
  const body = [
    ...op.i32(EXPONENT), ...op.i32x4Splat, ...op.set(mask),
    ...op.block,
      ...op.loop, // one row of Θ's slab per turn
        ...op.get(rows), ...op.i32Eqz, ...op.brIf(1),
        ...op.get(scale), ...op.set(sp),
        ...op.get(K), ...op.set(k),
        ...op.block,
          ...op.loop, // four products per turn
            ...op.get(k), ...op.i32(4), ...op.i32LtU, ...op.brIf(1),
            ...pair(0, 0),
            ...pair(8, 16),
            ...advance(w, 16), ...advance(out, 16), ...advance(sp, 32),
            ...op.get(k), ...op.i32(4), ...op.i32Sub, ...op.set(k),
            ...op.br(0),
          ...op.end,
        ...op.end,
        ...op.block,
          ...op.loop, // the row's last K mod 4, one at a time
            ...op.get(k), ...op.i32Eqz, ...op.brIf(1),
            ...op.get(out), ...op.get(w), ...op.f32Load(), ...op.f64PromoteF32, ...op.get(sp), ...op.f64Load(), ...op.f64Mul, ...op.f32DemoteF64, ...op.f32Store(),
            ...op.get(flag), ...op.get(out), ...op.i32Load(), ...op.i32(EXPONENT), ...op.i32And, ...op.i32(EXPONENT), ...op.i32Eq, ...op.i32Or, ...op.set(flag),
            ...advance(w, 4), ...advance(out, 4), ...advance(sp, 8),
            ...op.get(k), ...op.i32(1), ...op.i32Sub, ...op.set(k),
            ...op.br(0),
          ...op.end,
        ...op.end,
        ...op.get(rows), ...op.i32(1), ...op.i32Sub, ...op.set(rows),
        ...op.br(0),
      ...op.end,
    ...op.end,
    ...op.get(acc), ...op.v128AnyTrue, ...op.get(flag), ...op.i32Or,
  ];
  return { name: 'slab', params: ['i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'], locals: ['i32', 'i32', 'v128', 'v128', 'v128', 'i32'], body };
}

const host = new WasmHost(() => [slabFunction()]);

/** Where one block's data sits in the kernel's memory (byte offsets). */
interface Layout {
  readonly w: number;
  readonly scale: number;
  readonly slabs: readonly [number, number];
  readonly slabRegion: number;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * One thread's slab kernel: `prepare` a block (sizes the memory, answers views to fill W and the
 * coefficients in place), then `slab` per order. Views are valid until the next `prepare`.
 */
export class SlabKernel {
  private run: ((w: number, scale: number, out: number, rows: number, K: number) => number) | null = null;
  private layout: Layout | null = null;
  private shape = { o: 0, K: 0, orders: 0 };

  /** Whether this runtime runs the kernel (WebAssembly with SIMD). */
  static get available(): boolean {
    return host.available;
  }

  /** Room for W [o, K] (float32), scale [(N+1)·K] (float64) and two slabs; answers W's bytes and the scale's values to fill. */
  prepare(o: number, K: number, orders: number): { wBytes: Uint8Array; w: Float32Array; scale: Float64Array } {
    const slabBytes = o * K * 4;
    const w = 0;
    const scale = roundUp(w + slabBytes, PAGE);
    const slabRegion = roundUp(slabBytes, PAGE) + PAGE; // a slab shifted by up to a page less one byte
    const first = roundUp(scale + orders * K * 8, PAGE);
    const { exports, buffer } = host.claim(first + 2 * slabRegion);
    this.run = exports.slab as (w: number, scale: number, out: number, rows: number, K: number) => number;
    this.layout = { w, scale, slabs: [first, first + slabRegion], slabRegion };
    this.shape = { o, K, orders };
    return { wBytes: new Uint8Array(buffer, w, slabBytes), w: new Float32Array(buffer, w, o * K), scale: new Float64Array(buffer, scale, orders * K) };
  }

  /**
   * Slab buffer `which` (0 or 1), placed for a write at file `position`: on the same offset within a
   * page (`pageCongruent`) where that offset is a multiple of 4, as float32 values need; unfilled.
   */
  slabView(which: 0 | 1, position: number): { bytes: Uint8Array; values: Float32Array; pageCongruent: boolean } {
    const { layout, shape } = this.ready();
    const within = position % PAGE;
    const at = layout.slabs[which] + within - (within % 4);
    const buffer = host.buffer;
    return { bytes: new Uint8Array(buffer, at, shape.o * shape.K * 4), values: new Float32Array(buffer, at, shape.o * shape.K), pageCongruent: within % 4 === 0 };
  }

  /**
   * Order n's slab into `view` (from slabView): Θ[n, i, k] = fround(W[i, k]·scale[n·K + k]). Answers
   * whether a stored value is not finite. o·K FLOPs, charged as seriesCoefficientSlab charges them.
   */
  slab(view: { bytes: Uint8Array }, n: number): boolean {
    const { layout, shape } = this.ready();
    if (!(Number.isInteger(n) && n >= 0 && n < shape.orders)) throw new ShapeError(`SlabKernel.slab: order ${n} of ${shape.orders}`);
    if (view.bytes.buffer !== host.buffer || view.bytes.length !== shape.o * shape.K * 4) throw new ShapeError('SlabKernel.slab: not a view from slabView');
    const bad = this.run!(layout.w, layout.scale + n * shape.K * 8, view.bytes.byteOffset, shape.o, shape.K);
    chargeFlops(shape.o * shape.K);
    return bad !== 0;
  }

  /** Let the memory go soon (see WasmHost). */
  dropSoon(): void {
    this.layout = null;
    host.dropSoon();
  }

  private ready(): { layout: Layout; shape: { o: number; K: number; orders: number } } {
    if (this.layout === null) throw new Error('SlabKernel: prepare a block first');
    return { layout: this.layout, shape: this.shape };
  }
}

/** This thread's kernel. */
export const slabKernel = new SlabKernel();
