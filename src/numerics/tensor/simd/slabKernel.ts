import { chargeFlops } from '../../../kernel/cost/meter';
import { ShapeError } from '../tensor';
import { WasmFunction, op } from './wasmModule';
import { WasmHost } from './wasmHost';
import { roundUp } from './webAssembly';
import { MEMORY_ALIGN } from '../../io/directWrites';

/**
 * Θ's order slabs with WebAssembly SIMD: Θ[n, i, k] = fround(W[i, k]·scale[n·K + k]) (Algorithm 1
 * line 5, every unit expanded in order), two products at a time — f32 widened to f64 exactly,
 * multiplied in f64, narrowed to f32 nearest-even — stored as float32, or as bfloat16 bits rounded
 * from those float32s nearest-even: the same operations, so the same bits, as
 * seriesCoefficientSlab's JavaScript loops (a test compares them bit for bit; NaN products excepted,
 * whose payload neither language pins down — a NaN is refused by the guard either way). The
 * finiteness guard runs in the same pass (any stored exponent all ones).
 *
 * A chunk of W's rows, the coefficients and two slab buffers live in one WebAssembly memory per
 * thread (a kernel reads only its own memory): W's rows are read from the file straight into it,
 * and a slab is placed so that its bytes sit on the same offset within a page as their place in the
 * file — so their page-aligned middle can be written directly (O_DIRECT, ../../io/directWrites)
 * with no staging copy.
 */

/** Slabs sit on their file position's offset modulo this (what O_DIRECT needs of memory; see ../../io/directWrites). */
const PAGE = MEMORY_ALIGN;

/** The two kernels (f32 and bf16 slabs), assembled once per thread (WasmHost). */
function slabFunctions(): WasmFunction[] {
  /**
   * Both kernels' locals: the parameters (w, scale, out, rows, K: byte offsets and counts), then the
   * loop's (sp: the scale's row pointer, k: units left in the row, acc: the vector guard, flag: the
   * scalar guard), then each kernel's own from `first`.
   */
  const [w, scale, out, rows, K, sp, k, acc, flag] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const LOOP_LOCALS = ['i32', 'i32', 'v128', 'i32'] as const;
  const first = 9;

  /** Two float32 products into the low half of `into`: W's f32 pair at w + wOff widened, times the f64 pair at sp + sOff, narrowed nearest-even. */
  const products = (wOff: number, sOff: number, into: number): number[] => [
    ...op.get(w), ...op.v128Load64Zero(wOff), ...op.f64x2PromoteLowF32x4,
    ...op.get(sp), ...op.v128Load(sOff),
    ...op.f64x2Mul, ...op.f32x4DemoteF64x2Zero, ...op.set(into),
  ];

  /** One float32 product on the stack (the row's last K mod 4). */
  const product = [...op.get(w), ...op.f32Load(), ...op.f64PromoteF32, ...op.get(sp), ...op.f64Load(), ...op.f64Mul, ...op.f32DemoteF64];

  /** local += by. */
  const advance = (local: number, by: number): number[] => [...op.get(local), ...op.i32(by), ...op.i32Add, ...op.set(local)];

  /**
   * A slab kernel: for each of `rows` rows, K products four at a time (`four`: stores them and ORs
   * the vector guard into acc), then the rest one at a time (`one`: stores it and ORs the scalar guard
   * into flag); `width` bytes per stored value. Answers any_true(acc) | flag.
   */
  function slabKernelFunction(name: string, locals: readonly ('i32' | 'v128')[], prelude: readonly number[], four: readonly number[], one: readonly number[], width: number): WasmFunction {
    // prettier-ignore
    const body = [
      ...prelude,
      ...op.block,
        ...op.loop, // one row of Θ's slab per turn
          ...op.get(rows), ...op.i32Eqz, ...op.brIf(1),
          ...op.get(scale), ...op.set(sp),
          ...op.get(K), ...op.set(k),
          ...op.block,
            ...op.loop, // four products per turn
              ...op.get(k), ...op.i32(4), ...op.i32LtU, ...op.brIf(1),
              ...four,
              ...advance(w, 16), ...advance(out, 4 * width), ...advance(sp, 32),
              ...op.get(k), ...op.i32(4), ...op.i32Sub, ...op.set(k),
              ...op.br(0),
            ...op.end,
          ...op.end,
          ...op.block,
            ...op.loop, // the row's last K mod 4, one at a time
              ...op.get(k), ...op.i32Eqz, ...op.brIf(1),
              ...one,
              ...advance(w, 4), ...advance(out, width), ...advance(sp, 8),
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
    return { name, params: ['i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'], locals: [...LOOP_LOCALS, ...locals], body };
  }

  /** slab(w, scale, out, rows, K) → 1 if a stored value is NaN or ±∞, else 0. Pointers are byte offsets. */
  function slabFunction(): WasmFunction {
    const [mask, d] = [first, first + 1];
    const EXPONENT = 0x7f800000;
    /** Two products into d, stored at out + wOff; acc |= lanes whose exponent is all ones. */
    // prettier-ignore
    const pair = (wOff: number, sOff: number) => [
      ...products(wOff, sOff, d),
      ...op.get(out), ...op.get(d), ...op.v128Store64Lane0(wOff),
      ...op.get(acc), ...op.get(d), ...op.get(mask), ...op.v128And, ...op.get(mask), ...op.i32x4Eq, ...op.v128Or, ...op.set(acc),
    ];
    // prettier-ignore
    const one = [
      ...op.get(out), ...product, ...op.f32Store(),
      ...op.get(flag), ...op.get(out), ...op.i32Load(), ...op.i32(EXPONENT), ...op.i32And, ...op.i32(EXPONENT), ...op.i32Eq, ...op.i32Or, ...op.set(flag),
    ];
    return slabKernelFunction('slab', ['v128', 'v128'], [...op.i32(EXPONENT), ...op.i32x4Splat, ...op.set(mask)], [...pair(0, 0), ...pair(8, 16)], one, 4);
  }

  /**
   * slabBf16(w, scale, out, rows, K) → 1 if a stored value is NaN or ±∞: the float32 products as
   * slab's, then their bits to bfloat16 nearest-even as bf16FromFloat32Bits does it (a NaN kept quiet:
   * (x >>> 16) | 0x40; else (x + 0x7fff + ((x >>> 16) & 1)) >>> 16, wrapping as a uint32), four at a
   * time; the guard looks at the bfloat16 exponent (rounding can overflow a finite float32 to ∞).
   */
  function slabBf16Function(): WasmFunction {
    const [d, lo, x, b, bits] = [first, first + 1, first + 2, first + 3, first + 4];
    const splat = (value: number) => [...op.i32(value), ...op.i32x4Splat];
    // prettier-ignore
    const four = [
      ...products(0, 0, lo),
      ...products(8, 16, d),
      // x = the four float32s' bits (lanes 0, 1 of lo, then of d).
      ...op.get(lo), ...op.get(d), ...op.i8x16Shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]), ...op.set(x),
      // b = NaN ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16
      ...op.get(x), ...op.i32(16), ...op.i32x4ShrU, ...splat(0x40), ...op.v128Or,
      ...op.get(x), ...splat(0x7fff), ...op.i32x4Add, ...op.get(x), ...op.i32(16), ...op.i32x4ShrU, ...splat(1), ...op.v128And, ...op.i32x4Add, ...op.i32(16), ...op.i32x4ShrU,
      ...op.get(x), ...splat(0x7fffffff), ...op.v128And, ...splat(0x7f800000), ...op.i32x4GtU,
      ...op.v128Bitselect, ...op.set(b),
      ...op.get(out), ...op.get(b), ...op.get(b), ...op.i16x8NarrowI32x4U, ...op.v128Store64Lane0(0),
      ...op.get(acc), ...op.get(b), ...splat(0x7f80), ...op.v128And, ...splat(0x7f80), ...op.i32x4Eq, ...op.v128Or, ...op.set(acc),
    ];
    // prettier-ignore
    const one = [
      ...product, ...op.i32ReinterpretF32, ...op.set(bits),
      ...op.get(out),
      ...op.get(bits), ...op.i32(16), ...op.i32ShrU, ...op.i32(0x40), ...op.i32Or,
      ...op.get(bits), ...op.i32(0x7fff), ...op.i32Add, ...op.get(bits), ...op.i32(16), ...op.i32ShrU, ...op.i32(1), ...op.i32And, ...op.i32Add, ...op.i32(16), ...op.i32ShrU,
      ...op.get(bits), ...op.i32(0x7fffffff), ...op.i32And, ...op.i32(0x7f800000), ...op.i32GtU,
      ...op.select, ...op.i32Store16(),
      ...op.get(flag), ...op.get(out), ...op.i32Load16U(), ...op.i32(0x7f80), ...op.i32And, ...op.i32(0x7f80), ...op.i32Eq, ...op.i32Or, ...op.set(flag),
    ];
    return slabKernelFunction('slabBf16', ['v128', 'v128', 'v128', 'v128', 'i32'], [], four, one, 2);
  }

  return [slabFunction(), slabBf16Function()];
}

const host = new WasmHost(slabFunctions);

/** Bytes of W a chunk holds: with its two slabs, the kernel's memory stays near 3× this, whatever the layer (and far below a 32-bit WebAssembly memory's 4 GiB). */
export const SLAB_CHUNK_BYTES = 16 * 2 ** 20;

/** Where one block's data sits in the kernel's memory (byte offsets). */
interface Layout {
  readonly w: number;
  readonly scale: number;
  readonly slabs: readonly [number, number];
}


/**
 * One thread's slab kernel: `prepare` a block (sizes the memory, answers views to fill W and the
 * coefficients in place), then `slab` per order. Views are valid until the next `prepare`.
 */
export class SlabKernel {
  /** This thread's kernel (one memory per thread: a second instance would share it, so there is none). */
  static readonly thread = new SlabKernel();
  private constructor() {}

  /** Rows of W per chunk for rows of K units: about SLAB_CHUNK_BYTES of W (WEIGHTGAMES_SLAB_CHUNK_BYTES: tests), at least one row. */
  static chunkRows(K: number): number {
    const asked = Number(process.env.WEIGHTGAMES_SLAB_CHUNK_BYTES);
    const bytes = Number.isSafeInteger(asked) && asked > 0 ? asked : SLAB_CHUNK_BYTES;
    return Math.max(1, Math.floor(bytes / Math.max(1, K * 4)));
  }

  private run: ((w: number, scale: number, out: number, rows: number, K: number) => number) | null = null;
  private layout: Layout | null = null;
  private shape = { o: 0, K: 0, orders: 0, width: 4 };

  /** Whether this runtime runs the kernel (WebAssembly with SIMD). */
  static get available(): boolean {
    return host.available;
  }

  /**
   * Room for `rows` rows of W [rows, K] (float32), scale [(N+1)·K] (float64) and two slabs of as many
   * rows stored as `dtype` (float32, or bfloat16 bits); answers W's bytes and the scale's values to
   * fill. A block bigger than that goes through in chunks of rows (each row of Θ depends on its row
   * of W alone), so the kernel's memory stays bounded whatever the layer.
   */
  prepare(rows: number, K: number, orders: number, dtype: 'f32' | 'bf16' = 'f32'): { wBytes: Uint8Array; w: Float32Array; scale: Float64Array } {
    const width = dtype === 'f32' ? 4 : 2;
    const wBytes = rows * K * 4;
    const w = 0;
    const scale = roundUp(w + wBytes, PAGE);
    const slabRegion = roundUp(rows * K * width, PAGE) + PAGE; // a slab shifted by up to a page less one byte
    const first = roundUp(scale + orders * K * 8, PAGE);
    const { exports, buffer } = host.claim(first + 2 * slabRegion);
    this.run = (dtype === 'f32' ? exports.slab : exports.slabBf16) as (w: number, scale: number, out: number, rows: number, K: number) => number;
    this.layout = { w, scale, slabs: [first, first + slabRegion] };
    this.shape = { o: rows, K, orders, width };
    return { wBytes: new Uint8Array(buffer, w, wBytes), w: new Float32Array(buffer, w, rows * K), scale: new Float64Array(buffer, scale, orders * K) };
  }

  /**
   * Slab buffer `which` (0 or 1) for `rows` rows (at most those prepared), placed for a write at file
   * `position`: on the same offset within a page (`pageCongruent`) where that offset is a multiple
   * of the value's width, as typed values need; unfilled. Values are float32, or bfloat16 bits.
   */
  slabView(which: 0 | 1, position: number, rows = this.shape.o): { bytes: Uint8Array; values: Float32Array | Uint16Array; pageCongruent: boolean } {
    const { layout, shape } = this.ready();
    if (!(Number.isInteger(rows) && rows >= 0 && rows <= shape.o)) throw new ShapeError(`SlabKernel.slabView: ${rows} rows of ${shape.o} prepared`);
    const within = position % PAGE;
    const at = layout.slabs[which] + within - (within % shape.width);
    const buffer = host.buffer;
    const count = rows * shape.K;
    return { bytes: new Uint8Array(buffer, at, count * shape.width), values: shape.width === 4 ? new Float32Array(buffer, at, count) : new Uint16Array(buffer, at, count), pageCongruent: within % shape.width === 0 };
  }

  /**
   * Order n's slab (its first rows of W, as many as `view` holds) into `view` (from slabView):
   * Θ[n, i, k] = fround(W[i, k]·scale[n·K + k]), then to bfloat16 for a bf16 slab. Answers whether
   * a stored value is not finite. rows·K FLOPs, charged as seriesCoefficientSlab charges them.
   */
  slab(view: { bytes: Uint8Array }, n: number): boolean {
    const { layout, shape } = this.ready();
    if (!(Number.isInteger(n) && n >= 0 && n < shape.orders)) throw new ShapeError(`SlabKernel.slab: order ${n} of ${shape.orders}`);
    const rows = view.bytes.length / (shape.K * shape.width);
    if (view.bytes.buffer !== host.buffer || !(Number.isInteger(rows) && rows <= shape.o)) throw new ShapeError('SlabKernel.slab: not a view from slabView');
    const bad = this.run!(layout.w, layout.scale + n * shape.K * 8, view.bytes.byteOffset, rows, shape.K);
    chargeFlops(rows * shape.K);
    return bad !== 0;
  }

  /** Let the memory go soon (see WasmHost). */
  dropSoon(): void {
    this.layout = null;
    host.dropSoon();
  }

  private ready(): { layout: Layout; shape: { o: number; K: number; orders: number; width: number } } {
    if (this.layout === null) throw new Error('SlabKernel: prepare a block first');
    return { layout: this.layout, shape: this.shape };
  }
}

/** This thread's kernel. */
export const slabKernel = SlabKernel.thread;
