/**
 * A minimal WebAssembly binary encoder: just what this project's SIMD kernels use (i32 and float
 * scalars, 128-bit vectors, blocks and loops, one imported memory). Kernels are written as
 * instruction lists in TypeScript (./slabKernel) and assembled at load: no toolchain, no binary
 * blob in the repository, and each opcode named where it is used.
 */

export type ValueType = 'i32' | 'f32' | 'f64' | 'v128';
const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`uleb: ${n}`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  if (!(Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31)) throw new RangeError(`sleb: ${n}`);
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vec = (items: readonly number[][]): number[] => [...uleb(items.length), ...items.flat()];
const text = (s: string): number[] => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Instructions, as byte lists (a function body is their concatenation). */
const memarg = (alignLog2: number, offset: number): number[] => [...uleb(alignLog2), ...uleb(offset)];
const simd = (op: number, ...rest: number[]): number[] => [0xfd, ...uleb(op), ...rest];
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Mul: [0x6c],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Or: [0x72],
  i32And: [0x71],
  i32ShrU: [0x76],
  i32Shl: [0x74],
  i32GtU: [0x4b],
  i32Store16: (offset = 0) => [0x3b, ...memarg(1, offset)],
  i32Load16U: (offset = 0) => [0x2f, ...memarg(1, offset)],
  i32Load: (offset = 0) => [0x28, ...memarg(2, offset)],
  f32Load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f64Load: (offset = 0) => [0x2b, ...memarg(3, offset)],
  f32Store: (offset = 0) => [0x38, ...memarg(2, offset)],
  f64Mul: [0xa2],
  f64Add: [0xa0],
  f64Lt: [0x63],
  f64Gt: [0x64],
  select: [0x1b],
  f64: (value: number) => [0x44, ...new Uint8Array(Float64Array.of(value).buffer)],
  f64Store: (offset = 0) => [0x39, ...memarg(3, offset)],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  i32ReinterpretF32: [0xbc],
  f32ReinterpretI32: [0xbe],
  /** v128.load of two f64 (8-byte aligned). */
  v128Load: (offset = 0) => simd(0x00, ...memarg(3, offset)),
  /** v128.load32_zero: 4 bytes into lane 0, the rest zero. */
  v128Load32Zero: (offset = 0) => simd(0x5c, ...memarg(2, offset)),
  /** v128.load64_zero: 8 bytes into the low half, the high half zero. */
  v128Load64Zero: (offset = 0) => simd(0x5d, ...memarg(3, offset)),
  /** v128.store64_lane: the low (lane 0) 8 bytes. */
  v128Store64Lane0: (offset = 0) => simd(0x5b, ...memarg(3, offset), 0),
  /** Two f32 of the low half to f64 (exact). */
  f64x2PromoteLowF32x4: simd(0x5f),
  /** Two f64 to f32, nearest-even, into the low half (the high half zero). */
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2Mul: simd(0xf2),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Div: simd(0xf3),
  /** Lanewise ==: all ones where equal (−0 = +0; NaN never). */
  f64x2Eq: simd(0x47),
  /** v128.store of two f64 (8-byte aligned). */
  v128Store: (offset = 0) => simd(0x0b, ...memarg(3, offset)),
  f64x2Splat: simd(0x14),
  f64x2ExtractLane: (lane: number) => simd(0x21, lane),
  f64x2ReplaceLane: (lane: number) => simd(0x22, lane),
  v128Or: simd(0x50),
  v128And: simd(0x4e),
  i32x4ExtractLane: (lane: number) => simd(0x1b, lane),
  i32x4Splat: simd(0x11),
  i32x4Eq: simd(0x37),
  i32x4GtU: simd(0x3c),
  i32x4Add: simd(0xae),
  i32x4ShrU: simd(0xad),
  i16x8NarrowI32x4U: simd(0x86),
  v128Bitselect: simd(0x52),
  /** i8x16.shuffle: byte lanes of (a, b), 0–15 from a, 16–31 from b. */
  i8x16Shuffle: (lanes: readonly number[]) => simd(0x0d, ...lanes),
  v128AnyTrue: simd(0x53),
} as const;

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
  /** Locals after the parameters, in order. */
  readonly locals: readonly ValueType[];
  readonly body: readonly number[];
}

/** A module importing `env.memory` and exporting each function under its name. */
export function wasmModule(functions: readonly WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [VALUE_TYPE[t]])), ...vec(f.results.map((t) => [VALUE_TYPE[t]]))]);
  const imports = vec([[...text('env'), ...text('memory'), 0x02, 0x00, ...uleb(1)]]);
  const code = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [...uleb(1), VALUE_TYPE[t]]));
    const body = [...locals, ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(functions.map((_, index) => uleb(index)))),
    ...section(7, vec(functions.map((f, index) => [...text(f.name), 0x00, ...uleb(index)]))),
    ...section(10, vec(code)),
  ]);
}
